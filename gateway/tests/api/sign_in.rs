#![allow(
    clippy::unwrap_used,
    reason = "helpers of tests fail the test they serve; clippy sees only #[test] bodies"
)]

//! Signing in through the real OpenID provider, sessions, sign-out, hostile callbacks,
//! the development sign-in and the CSRF rule for cookie-authenticated changes.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, problem, session_token, spawn_app, spawn_app_with};

/// A browser that does not follow redirects, with its own cookie jar.
fn manual_browser() -> (reqwest::Client, std::sync::Arc<reqwest::cookie::Jar>) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    (client, jar)
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Starts a sign-in in `browser` and follows the provider until it redirects back to our
/// callback; returns that callback URL (not fetched). `tamper` may edit the provider's URL.
async fn callback_url(
    app: &TestApp,
    browser: &reqwest::Client,
    callback: &str,
    tamper: impl FnOnce(String) -> String,
) -> String {
    let started = browser
        .get(app.url(&format!("/api/auth/signin/local?callbackUrl={callback}")))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::FOUND);
    assert_eq!(started.headers()[header::CACHE_CONTROL], "no-store");
    let cookie = started.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("fv_signin="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let mut next = tamper(location(&started));
    for _ in 0..10 {
        if next.starts_with(&app.address) {
            return next;
        }
        let hop = browser.get(&next).send().await.unwrap();
        let base = reqwest::Url::parse(&next).unwrap();
        next = base.join(&location(&hop)).unwrap().to_string();
    }
    panic!("the provider never redirected back");
}

/// `url` with each query parameter passed through `edit` (`None` drops it).
fn edit_query(url: &str, edit: impl Fn(&str, String) -> Option<String>) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(key, value)| {
            edit(&key, value.into_owned()).map(|value| (key.into_owned(), value))
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

async fn session_status(app: &TestApp, browser: &reqwest::Client) -> StatusCode {
    browser
        .get(app.url("/api/auth/session"))
        .send()
        .await
        .unwrap()
        .status()
}

async fn assert_refused(app: &TestApp, browser: &reqwest::Client, callback: &str) {
    let response = browser.get(callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(
        location(&response).starts_with("/signin?error="),
        "{}",
        location(&response)
    );
    let cookies: Vec<&str> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert!(
        !cookies
            .iter()
            .any(|cookie| cookie.starts_with("fv_session=") && !cookie.starts_with("fv_session=;")),
        "no session cookie may be set: {cookies:?}"
    );
    assert_eq!(session_status(app, browser).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_in_through_the_provider_opens_a_session_that_sign_out_ends() {
    let app = spawn_app().await;
    let providers: Value = app
        .client
        .get(app.url("/api/auth/providers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        providers,
        json!([{"id": "local", "name": "Test provider", "kind": "oidc"}])
    );

    let (browser, token) = app.sign_in().await;
    let session = browser
        .get(app.url("/api/auth/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    assert_eq!(session.headers()[header::CACHE_CONTROL], "no-store");
    let session: Value = session.json().await.unwrap();
    assert_eq!(session["user"]["email"], "alice@example.test");
    assert_eq!(session["user"]["name"], "Alice");
    assert!(session["expiresAt"].as_str().unwrap().ends_with('Z'));
    // The session works for the API like a key does.
    let files = browser.get(app.url("/api/files")).send().await.unwrap();
    assert_eq!(files.status(), StatusCode::OK);

    let signed_out = browser
        .post(app.url("/api/auth/signout"))
        .header("Origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        session_status(&app, &browser).await,
        StatusCode::UNAUTHORIZED
    );
    // The old cookie, presented again by anyone, is refused: the session is revoked.
    let replayed = app
        .client
        .get(app.url("/api/files"))
        .header(header::COOKIE, format!("fv_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem(replayed).await["code"], "unauthenticated");
}

#[tokio::test]
async fn the_session_cookie_has_the_safe_flags() {
    let app = spawn_app().await;
    let (browser, jar) = manual_browser();
    let callback = callback_url(&app, &browser, "/", |url| url).await;
    let response = browser.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/");
    let session_cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|cookie| cookie.starts_with("fv_session="))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=259"] {
        assert!(session_cookie.contains(flag), "{flag} in {session_cookie}");
    }
    let token = session_token(&jar, &app.address).unwrap();
    assert_eq!(token.len(), 64, "256 random bits");
}

#[tokio::test]
async fn a_callback_without_a_matching_state_creates_no_session() {
    let app = spawn_app().await;

    // State missing.
    let (browser, _) = manual_browser();
    let callback = callback_url(&app, &browser, "/", |url| url).await;
    let without_state = edit_query(&callback, |key, value| (key != "state").then_some(value));
    assert_refused(&app, &browser, &without_state).await;

    // A state this browser did not start: another browser's callback delivered here.
    let (victim, _) = manual_browser();
    let (attacker, _) = manual_browser();
    callback_url(&app, &victim, "/", |url| url).await;
    let attackers_callback = callback_url(&app, &attacker, "/", |url| url).await;
    assert_refused(&app, &victim, &attackers_callback).await;

    // A browser with no sign-in cookie at all.
    let (stranger, _) = manual_browser();
    assert_refused(&app, &stranger, &attackers_callback).await;
}

#[tokio::test]
async fn a_replayed_callback_creates_no_second_session() {
    let app = spawn_app().await;
    let (browser, jar) = manual_browser();
    let callback = callback_url(&app, &browser, "/", |url| url).await;
    let state = reqwest::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "state")
        .unwrap()
        .1
        .into_owned();
    let first = browser.get(&callback).send().await.unwrap();
    assert_eq!(location(&first), "/");
    let first_token = session_token(&jar, &app.address).unwrap();

    // The same callback again, even with the sign-in cookie put back by hand.
    let (replayer, _) = manual_browser();
    let replayed = replayer
        .get(&callback)
        .header(header::COOKIE, format!("fv_signin={state}"))
        .send()
        .await
        .unwrap();
    assert!(location(&replayed).starts_with("/signin?error="));
    assert_eq!(
        session_status(&app, &replayer).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(session_token(&jar, &app.address).unwrap(), first_token);
}

#[tokio::test]
async fn an_id_token_with_a_forged_nonce_creates_no_session() {
    let app = spawn_app().await;
    let (browser, _) = manual_browser();
    let callback = callback_url(&app, &browser, "/", |url| {
        edit_query(&url, |key, value| {
            Some(if key == "nonce" {
                "forged".to_owned()
            } else {
                value
            })
        })
    })
    .await;
    assert_refused(&app, &browser, &callback).await;
}

#[tokio::test]
async fn a_foreign_callback_url_ends_on_our_origin() {
    let app = spawn_app().await;
    for hostile in ["//evil.example", "https://evil.example", "/\\evil.example"] {
        let (browser, _) = manual_browser();
        let encoded: String = url::form_urlencoded::byte_serialize(hostile.as_bytes()).collect();
        let callback = callback_url(&app, &browser, &encoded, |url| url).await;
        let response = browser.get(&callback).send().await.unwrap();
        assert_eq!(location(&response), "/", "{hostile}");
        assert_eq!(session_status(&app, &browser).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn an_unknown_provider_is_404() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/auth/signin/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem(response).await["code"], "not_found");
}

#[tokio::test]
async fn cookie_changes_must_come_from_our_origin_while_api_keys_need_no_check() {
    let app = spawn_app().await;
    let (browser, _) = app.sign_in().await;
    let create = |origin: Option<&str>, site: Option<&str>| {
        let mut request = browser
            .post(app.url("/api/keys"))
            .json(&json!({"name": "k"}));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(site) = site {
            request = request.header("Sec-Fetch-Site", site);
        }
        request.send()
    };
    for (origin, site) in [
        (Some("https://evil.example"), None),
        (None, Some("cross-site")),
        (Some(app.address.as_str()), Some("cross-site")),
        (None, None),
    ] {
        let refused = create(origin, site).await.unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::FORBIDDEN,
            "{origin:?} {site:?}"
        );
        assert_eq!(problem(refused).await["code"], "cross_origin_request");
    }
    let same_origin = create(Some(app.address.as_str()), None).await.unwrap();
    assert_eq!(same_origin.status(), StatusCode::CREATED);
    let fetch_metadata = create(None, Some("same-origin")).await.unwrap();
    assert_eq!(fetch_metadata.status(), StatusCode::CREATED);
    // Reading needs no check.
    let listed = browser.get(app.url("/api/keys")).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);

    // The same cross-origin request with an API key works: programs are not browsers.
    let key = app.api_key("alice@example.test").await;
    let with_key = app
        .client
        .post(app.url("/api/keys"))
        .bearer_auth(&key)
        .header("Origin", "https://evil.example")
        .json(&json!({"name": "from a script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), StatusCode::CREATED);
    let cross_origin_signout = browser
        .post(app.url("/api/auth/signout"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_origin_signout.status(), StatusCode::FORBIDDEN);
    assert_eq!(session_status(&app, &browser).await, StatusCode::OK);
}

#[tokio::test]
async fn the_development_sign_in_is_offered_only_when_enabled() {
    let app = spawn_app().await;
    let refused = app
        .client
        .post(app.url("/api/auth/signin/dev"))
        .header("Origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    let app = spawn_app_with(|config| config.dev_signin = true).await;
    let providers: Value = app
        .client
        .get(app.url("/api/auth/providers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(providers[1]["kind"], "dev");
    let (browser, jar) = manual_browser();
    let cross_site = browser
        .post(app.url("/api/auth/signin/dev"))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let signed_in = browser
        .post(app.url("/api/auth/signin/dev"))
        .header("Origin", &app.address)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("callbackUrl=%2Fkeys")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/keys");
    assert!(session_token(&jar, &app.address).is_some());
    let session: Value = browser
        .get(app.url("/api/auth/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["name"], "Developer");
}

#[tokio::test]
async fn the_gateway_refuses_the_development_sign_in_off_loopback() {
    let mut config = spawn_app().await.gateway_config;
    config.dev_signin = true;
    config.listen_addr = "0.0.0.0:0".into();
    let refused = flowsvault_gateway::startup::Application::build(config).await;
    let message = refused.err().expect("must refuse to start").to_string();
    assert!(message.contains("loopback"), "{message}");
}
