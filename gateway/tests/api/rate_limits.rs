use reqwest::StatusCode;

use crate::helpers::{problem, spawn_app_with};

#[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_limited_response_carries_the_headers_and_the_excess_is_429() {
    let app = spawn_app_with(|config| config.rate_limit_api = "3/1m".into()).await;
    let key = app.api_key("vera@example.com").await;
    for remaining in ["2", "1", "0"] {
        let response = app.get(&key, "/api/files").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-limit"), "3");
        assert_eq!(header(&response, "x-ratelimit-remaining"), remaining);
        let reset: u64 = header(&response, "x-ratelimit-reset").parse().unwrap();
        assert!((1..=60).contains(&reset));
    }
    let refused = app.get(&key, "/api/files").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(problem(refused).await["code"], "rate_limited");
    // Health checks are never limited.
    let health = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(!health.headers().contains_key("x-ratelimit-limit"));
}

#[tokio::test]
async fn replicas_share_one_limit_through_redis() {
    let app = spawn_app_with(|config| config.rate_limit_api = "4/1m".into()).await;
    let key = app.api_key("walt@example.com").await;
    let replica = app.spawn_replica().await;
    let mut statuses = Vec::new();
    for turn in 0..6 {
        let base = if turn % 2 == 0 {
            &app.address
        } else {
            &replica
        };
        let response = app
            .client
            .get(format!("{base}/api/files"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn without_redis_each_replica_still_limits_in_memory() {
    let app = spawn_app_with(|config| {
        // Nothing listens on port 1.
        config.redis_url = Some("redis://127.0.0.1:1".into());
        config.rate_limit_api = "2/1m".into();
    })
    .await;
    let key = app.api_key("xena@example.com").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.get(&key, "/api/files").await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let trusted = spawn_app_with(|config| {
        config.rate_limit_api = "2/1m".into();
        config.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let from = |app: &crate::helpers::TestApp, client: &'static str| {
        let request = app
            .client
            .get(app.url("/api/files"))
            .header("X-Forwarded-For", client);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // Unauthenticated: limited by address first, then refused with 401.
    assert_eq!(from(&trusted, "198.51.100.1").await, 401);
    assert_eq!(from(&trusted, "198.51.100.1").await, 401);
    assert_eq!(from(&trusted, "198.51.100.1").await, 429);
    assert_eq!(from(&trusted, "198.51.100.2").await, 401);
    // The proxy appends to X-Forwarded-For and passes a client's `Forwarded` through:
    // a fresh `Forwarded` does not make 198.51.100.1 someone new.
    let spoofed = trusted
        .client
        .get(trusted.url("/api/files"))
        .header("X-Forwarded-For", "198.51.100.1")
        .header("Forwarded", "for=203.0.113.1")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 429);

    let untrusted = spawn_app_with(|config| config.rate_limit_api = "2/1m".into()).await;
    assert_eq!(from(&untrusted, "198.51.100.1").await, 401);
    assert_eq!(from(&untrusted, "198.51.100.2").await, 401);
    // A new forwarded address does not buy a spoofing client a new window.
    assert_eq!(from(&untrusted, "198.51.100.3").await, 429);
}

#[tokio::test]
async fn an_encoded_path_is_limited_as_the_route_it_reaches() {
    let app = spawn_app_with(|config| config.rate_limit_uploads = "1/1m".into()).await;
    let key = app.api_key("zoe@example.com").await;
    let mut statuses = Vec::new();
    for path in ["/%61pi/upload", "/api/%75pload", "/api/upload"] {
        let response = app
            .client
            .post(format!("{}{path}", app.address))
            .bearer_auth(&key)
            .multipart(reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
            ))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [201, 429, 429]);
}

#[tokio::test]
async fn the_spelling_of_bearer_does_not_make_a_new_identifier() {
    let app = spawn_app_with(|config| {
        config.rate_limit_api = "2/1m".into();
        // Only the credential can tell these requests apart: all come from 127.0.0.1,
        // which the test exempts by trusting it and forwarding a new address each time.
        config.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let key = app.api_key("ada@example.com").await;
    let mut statuses = Vec::new();
    for (index, scheme) in ["Bearer", "bearer", "BEARER"].into_iter().enumerate() {
        let response = app
            .client
            .get(app.url("/api/files"))
            .header("Authorization", format!("{scheme}  {key}"))
            .header("X-Forwarded-For", format!("198.51.100.{}", index + 10))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}

/// A redis-server of the test's own on a free port, so that the test can kill it and
/// start it again (the shared Redis of the other tests must stay up).
struct PrivateRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    #[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.restart().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    #[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
    async fn restart(&mut self) {
        let server = std::env::var("FLOWSVAULT_TEST_REDIS_SERVER")
            .unwrap_or_else(|_| "redis-server".to_owned());
        let child = std::process::Command::new(&server)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("starting {server} (set FLOWSVAULT_TEST_REDIS_SERVER): {error}")
            });
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .is_ok()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not answer", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The value of the metric sample `name` (with its labels, if any) at `/metrics`.
async fn metric(app: &crate::helpers::TestApp, name: &str) -> f64 {
    metric_at(app, &app.address, name).await
}

/// The same, of the gateway at `base` (a replica).
#[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
async fn metric_at(app: &crate::helpers::TestApp, base: &str, name: &str) -> f64 {
    let text = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// `clients` clients at once, spread over the gateways at `bases`, each sending
/// `requests` requests to `/api/limits` one after the other; every status they got.
#[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
async fn hammer(
    app: &crate::helpers::TestApp,
    bases: &[String],
    clients: usize,
    requests: usize,
) -> Vec<u16> {
    let clients: Vec<_> = (0..clients)
        .map(|n| {
            let base = bases[n % bases.len()].clone();
            let client = app.client.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..requests {
                    let response = client
                        .get(format!("{base}/api/limits"))
                        .send()
                        .await
                        .unwrap();
                    statuses.push(response.status().as_u16());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for client in clients {
        statuses.extend(client.await.unwrap());
    }
    statuses
}

/// Requests from `workers` clients at once until `stop`; the statuses they got.
fn load(
    app: &crate::helpers::TestApp,
    key: &str,
    workers: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<u16>>> {
    (0..workers)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/api/files");
            let key = key.to_owned();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let request = client
                        .get(&url)
                        .bearer_auth(&key)
                        .header("x-forwarded-for", "203.0.113.7");
                    if let Ok(response) = request.send().await {
                        statuses.push(response.status().as_u16());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                statuses
            })
        })
        .collect()
}

#[tokio::test]
async fn losing_redis_under_load_falls_back_to_memory_and_comes_back_within_10_s() {
    let mut redis = PrivateRedis::start().await;
    // Far above what the load sends before Redis dies (about 60 requests in 300 ms), so
    // the client is not refused here already, and below what it sends in the 2 s after.
    let limit = 100;
    let app = spawn_app_with(|config| {
        config.redis_url = Some(redis.url());
        config.rate_limit_api = format!("{limit}/1m");
        // The load comes "through a proxy" from one address, the last request from another.
        config.trusted_proxies = "127.0.0.1/32".into();
    })
    .await;
    let key = app.api_key("yara@example.com").await;
    assert_eq!(app.get(&key, "/api/files").await.status(), StatusCode::OK);
    assert_eq!(
        metric(&app, "flowsvault_gateway_rate_limit_redis_up").await,
        1.0
    );
    let redis_decisions =
        r#"flowsvault_gateway_rate_limit_decisions_total{store="redis",outcome="allowed"}"#;
    assert_eq!(metric(&app, redis_decisions).await, 1.0);

    // Under load from four clients, Redis dies.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers = load(&app, &key, 4, stop.clone());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    redis.kill();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut statuses = Vec::new();
    for worker in workers {
        statuses.extend(worker.await.unwrap());
    }
    assert!(
        statuses
            .iter()
            .all(|status| *status == 200 || *status == 429),
        "only 200 and 429, never a 5xx: {statuses:?}"
    );
    assert!(
        statuses.contains(&429),
        "the limit still holds: {statuses:?}"
    );
    let allowed_in_memory = metric(
        &app,
        r#"flowsvault_gateway_rate_limit_decisions_total{store="memory",outcome="allowed"}"#,
    )
    .await;
    assert!(
        (1.0..=f64::from(limit)).contains(&allowed_in_memory),
        "in memory, the replica admits at most the limit: {allowed_in_memory}"
    );
    assert_eq!(
        metric(&app, "flowsvault_gateway_rate_limit_redis_up").await,
        0.0
    );
    assert_eq!(
        metric(&app, "flowsvault_gateway_rate_limit_redis_fallbacks_total").await,
        1.0
    );

    // Redis returns: decisions are taken there again within 10 s.
    redis.restart().await;
    let returned = std::time::Instant::now();
    loop {
        let status = app.get(&key, "/api/files").await.status();
        assert!(status == StatusCode::OK || status == StatusCode::TOO_MANY_REQUESTS);
        if metric(&app, "flowsvault_gateway_rate_limit_redis_up").await == 1.0 {
            break;
        }
        assert!(
            returned.elapsed() < std::time::Duration::from_secs(10),
            "the gateway did not go back to Redis within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The loaded address and key stay refused here until their window ends; a client
    // that is not over its limit is decided in Redis again.
    let other_key = app.api_key("yann@example.com").await;
    let before = metric(&app, redis_decisions).await;
    let fresh = app
        .client
        .get(app.url("/api/files"))
        .bearer_auth(&other_key)
        .header("x-forwarded-for", "203.0.113.8")
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(metric(&app, redis_decisions).await, before + 1.0);
}

#[tokio::test]
async fn the_metrics_count_requests_by_route_never_by_path() {
    let app = spawn_app_with(|_| {}).await;
    let key = app.api_key("zoe@example.com").await;
    let missing = format!("/api/files/{}", uuid::Uuid::new_v4());
    assert_eq!(
        app.get(&key, &missing).await.status(),
        StatusCode::NOT_FOUND
    );
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        header(&response, "content-type").starts_with("application/openmetrics-text"),
        "{}",
        header(&response, "content-type")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"flowsvault_gateway_http_requests_total{method="GET",route="/api/files/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(!text.contains(&missing[11..]), "no id in a label: {text}");
}

#[tokio::test]
async fn a_metrics_token_keeps_the_metrics_private() {
    let app = spawn_app_with(|config| config.metrics_token = Some("scrape-secret".into())).await;
    let anonymous = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem(anonymous).await["code"], "unauthenticated");
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secreT")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let scraper = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(scraper.status(), StatusCode::OK);
}

#[tokio::test]
async fn all_keys_of_one_user_share_one_limit() {
    let app = spawn_app_with(|config| {
        config.rate_limit_api = "6/1m".into();
        // Each request comes "through a proxy" from an address of its own, so only the
        // credential's limit can refuse.
        config.trusted_proxies = "127.0.0.1/32".into();
    })
    .await;
    let first = app.api_key("wanda@example.com").await;
    let second = app.api_key("wanda@example.com").await;
    let other = app.api_key("xavier@example.com").await;
    let mut turn = 0;
    let mut status = async |key: &str| {
        turn += 1;
        app.client
            .get(app.url("/api/files"))
            .bearer_auth(key)
            .header("x-forwarded-for", format!("203.0.113.{turn}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    // The first request of each key counts under the key (it is not verified yet); from
    // then on this replica knows the user, and both keys count under it.
    assert_eq!(status(&first).await, 200);
    assert_eq!(status(&second).await, 200);
    let mut statuses = Vec::new();
    for round in 0..8 {
        let key = if round % 2 == 0 { &first } else { &second };
        statuses.push(status(key).await);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
    // Another user is not affected.
    assert_eq!(status(&other).await, 200);
}

#[tokio::test]
async fn a_busy_client_is_counted_in_leases_and_never_past_the_limit() {
    let limit = 2000;
    let app = spawn_app_with(|config| config.rate_limit_api = format!("{limit}/1m")).await;
    let replica = app.spawn_replica().await;
    // Eight clients, four on each replica, 300 requests each as fast as they are
    // answered: 2,400 requests from one address against a limit of 2,000.
    let statuses = hammer(&app, &[app.address.clone(), replica.clone()], 8, 300).await;
    assert!(
        statuses
            .iter()
            .all(|status| *status == 200 || *status == 429)
    );
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    assert!(
        admitted <= limit,
        "{admitted} admitted past a limit of {limit}"
    );
    // A lease holds at most a 64th of what is left: little can stay unspent.
    assert!(
        admitted >= limit * 95 / 100,
        "{admitted} admitted: leases left too many counts unspent"
    );
    let leased =
        r#"flowsvault_gateway_rate_limit_decisions_total{store="lease",outcome="allowed"}"#;
    let from_leases =
        metric_at(&app, &app.address, leased).await + metric_at(&app, &replica, leased).await;
    assert!(
        from_leases >= (limit / 2) as f64,
        "only {from_leases} of {admitted} decisions came from leases"
    );
}

/// Requests that find their lease empty while its refill is on its way wait for that
/// refill, and a lease is renewed before it runs out: a busy client costs Redis a few
/// round trips in the background, not one per request whenever a lease runs out.
#[tokio::test]
async fn concurrent_requests_share_one_lease_refill() {
    let app = spawn_app_with(|config| config.rate_limit_api = "1000000/1m".to_owned()).await;
    let decided = |store: &str| {
        format!(
            r#"flowsvault_gateway_rate_limit_decisions_total{{store="{store}",outcome="allowed"}}"#
        )
    };
    // One client alone first: its leases grow from one count to 1,024.
    let warm_up = hammer(&app, std::slice::from_ref(&app.address), 1, 200).await;
    assert!(warm_up.iter().all(|status| *status == 200));
    let redis_before = metric_at(&app, &app.address, &decided("redis")).await;
    let leases_before = metric_at(&app, &app.address, &decided("lease")).await;

    let statuses = hammer(&app, std::slice::from_ref(&app.address), 50, 100).await;
    assert!(statuses.iter().all(|status| *status == 200));
    let from_redis = metric_at(&app, &app.address, &decided("redis")).await - redis_before;
    let from_leases = metric_at(&app, &app.address, &decided("lease")).await - leases_before;
    assert!(
        from_leases >= 4900.0,
        "only {from_leases} of 5,000 decisions came from leases"
    );
    // Refills are asked for ahead of need, by a task of their own. Without the waiting,
    // each lease running out sent every client to Redis at once.
    assert!(
        from_redis <= 25.0,
        "{from_redis} requests went to Redis themselves"
    );
}

/// How many times Redis ran `command`, from its `INFO commandstats`.
#[allow(clippy::unwrap_used, reason = "test helper: a panic is a failed test")]
async fn redis_calls(redis: &PrivateRedis, command: &str) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut connection)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

#[tokio::test]
async fn a_decision_in_redis_is_one_round_trip() {
    let redis = PrivateRedis::start().await;
    let app = spawn_app_with(|config| {
        config.redis_url = Some(redis.url());
        config.rate_limit_api = "1000/1m".into();
    })
    .await;
    // Warm up: the first decision takes a connection from the pool.
    let first = app.get("fv_warm-up", "/api/files").await;
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let pings = redis_calls(&redis, "ping").await;
    let unwatches = redis_calls(&redis, "unwatch").await;
    let scripts = redis_calls(&redis, "evalsha").await + redis_calls(&redis, "eval").await;
    // Keys nobody has seen: each request is a new set of identifiers, decided in Redis.
    for turn in 0..20 {
        let response = app.get(&format!("fv_unknown-{turn}"), "/api/files").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key("x-ratelimit-limit"));
    }
    let scripts_run =
        redis_calls(&redis, "evalsha").await + redis_calls(&redis, "eval").await - scripts;
    assert!(scripts_run >= 20, "{scripts_run} scripts for 20 decisions");
    // Nothing else: no PING (nor UNWATCH) before each decision.
    assert_eq!(redis_calls(&redis, "ping").await - pings, 0);
    assert_eq!(redis_calls(&redis, "unwatch").await - unwatches, 0);
}
