//! Rate limits shared by every gateway replica through Redis: a sliding window made of
//! two fixed windows (the previous one weighted by how much of it still overlaps), one
//! Lua script and one round trip per decision, on Redis's clock. When Redis cannot be
//! reached, each replica keeps the same windows in memory and tries Redis again a few
//! seconds later; a request is never failed, or let through unlimited, for its sake.
//!
//! A client that keeps a replica busy does not cost a round trip per request: the script
//! can grant a small lease of counts at once (counted in Redis when granted, so every
//! replica sees them), which this replica then spends without asking. A lease starts at
//! one count, doubles while each one runs low quickly, never exceeds a 64th of what is
//! left of the limit (so the last counts are always decided one by one), and lapses
//! after a second or at the end of the window. Leases only move counting earlier; they
//! can leave a few counts unspent, never admit more than the limit.
//!
//! A lease is renewed before it runs out: the request that takes it down to a quarter
//! starts one refill in the background. Requests that find it empty while a refill is on
//! its way wait for that refill instead of each asking Redis for themselves.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use actix_web::{
    Error, HttpResponse, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method, StatusCode,
        header::{HeaderName, HeaderValue},
    },
    middleware::Next,
    web,
};
use flowsvault_proto::ErrorCode;
use redis::{Script, aio::MultiplexedConnection};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::{
    auth::{Credential, Via},
    metrics::{DecisionLabels, Outcome, RateLimitMetrics, Store},
    problem::ApiError,
    startup::AppState,
};

/// How long Redis is left alone after it failed, before it is tried again.
const REDIS_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Longest wait for a new connection to Redis, or for a PING, before Redis counts as
/// unreachable and decisions fall back to memory.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// Longest wait for the answer to a decision before Redis counts as unreachable. Longer
/// than a connection's: under a burst the answer waits for this replica's own workers.
const REDIS_ANSWER_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait for a free pooled connection. A wait is this replica being busy, not
/// Redis being gone, so it does not switch to memory (only that one decision is taken
/// there).
const POOL_WAIT: Duration = Duration::from_secs(2);
/// Pooled connections to Redis per replica.
const POOL_SIZE: usize = 32;
/// Most identifiers the in-memory fallback tracks before it forgets idle ones.
const MAX_MEMORY_ENTRIES: usize = 100_000;
/// How long an upload pass ([`upload_pass`]) lasts unused: long enough to span a
/// resumable upload's pauses.
const UPLOAD_PASS_IDLE: Duration = Duration::from_secs(3600);
/// Most upload passes one replica keeps (32 bytes each).
const MAX_UPLOAD_PASSES: u64 = 100_000;
/// Largest lease of counts taken from Redis at once.
const MAX_LEASE: u64 = 1024;
/// A lease never holds more than this fraction of what is left of the limit, so a limit
/// below it is always decided one request at a time, and what leases can leave unspent
/// stays a small share.
const LEASE_SHARE: u64 = 64;
/// A lease lapses after this long, spent or not.
const LEASE_LIFETIME: Duration = Duration::from_secs(1);
/// A lease that runs low within this time makes the next one twice as large.
const LEASE_QUICK: Duration = Duration::from_millis(250);
/// How many refills in flight a request waits for before it asks Redis itself.
const MAX_LEASE_WAITS: u32 = 4;

/// `limit` requests per `window`, e.g. `50/5m`, `200/1m`, `10/30s`; `off` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    pub limit: u64,
    pub window: Duration,
}

impl RateSpec {
    pub fn parse(text: &str) -> Result<Option<Self>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let invalid = || format!("{text:?} is not like 50/5m, 200/1m, 10/30s or off");
        let (limit, window) = text.split_once('/').ok_or_else(invalid)?;
        let limit: u64 = limit.trim().parse().map_err(|_| invalid())?;
        let window = window.trim();
        let (amount, unit) = window.split_at(window.len().saturating_sub(1));
        let amount: u64 = if amount.is_empty() {
            1
        } else {
            amount.parse().map_err(|_| invalid())?
        };
        let seconds = match unit {
            "s" => amount,
            "m" => amount * 60,
            "h" => amount * 3600,
            _ => return Err(invalid()),
        };
        if limit == 0 || seconds == 0 {
            return Err(invalid());
        }
        Ok(Some(Self {
            limit,
            window: Duration::from_secs(seconds),
        }))
    }
}

/// What kind of request is being limited; each class has its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Upload,
    Download,
    Api,
    /// Attempts at a share link's password, per link and per client address; checked by
    /// the share handlers, never by the middleware.
    SharePassword,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Upload => "upload",
            Class::Download => "download",
            Class::Api => "api",
            Class::SharePassword => "share_password",
        }
    }

    /// The class of a request, or `None` for the few paths never limited. `path` must be
    /// the decoded path the router matches (so `/%61pi/upload` is `/api/upload`); every
    /// path not exempt is limited, known or not.
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        if path == "/api/health" || path == "/api/ready" || path == "/api/openapi.json" {
            return None;
        }
        // The web UI's own files: static and cheap.
        if !path.starts_with("/api/") && !path.starts_with("/s/") {
            return None;
        }
        if method == Method::POST && (path == "/api/upload" || path == "/api/uploads") {
            return Some(Class::Upload);
        }
        // The bytes of a resumable upload and its progress: its creation counted (the
        // middleware still counts callers that are not moving an upload of their own).
        if Self::moves_an_upload(method, path) {
            return None;
        }
        let share_download = (path.starts_with("/api/s/") && path.ends_with("/download"))
            || (method == Method::POST && path.starts_with("/s/"));
        if path.starts_with("/api/download/") || path.starts_with("/api/preview/") || share_download
        {
            return Some(Class::Download);
        }
        Some(Class::Api)
    }

    /// A resumable upload's bytes and progress (PATCH, HEAD, OPTIONS on
    /// `/api/uploads/{id}`, and POST there: a PATCH with `X-HTTP-Method-Override`).
    pub fn moves_an_upload(method: &Method, path: &str) -> bool {
        path.starts_with("/api/uploads/")
            && matches!(
                *method,
                Method::PATCH | Method::HEAD | Method::OPTIONS | Method::POST
            )
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub upload: Option<RateSpec>,
    pub download: Option<RateSpec>,
    pub api: Option<RateSpec>,
    pub share_password: Option<RateSpec>,
}

impl RateLimits {
    fn of(&self, class: Class) -> Option<RateSpec> {
        match class {
            Class::Upload => self.upload,
            Class::SharePassword => self.share_password,
            Class::Download => self.download,
            Class::Api => self.api,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    pub reset: Duration,
}

impl Decision {
    fn refused(spec: RateSpec) -> Self {
        Self {
            allowed: false,
            limit: spec.limit,
            remaining: 0,
            reset: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct MemoryWindow {
    index: u64,
    current: u64,
    previous: u64,
}

/// Counts granted by Redis ahead of time to one set of identifiers, spent by this replica.
#[derive(Debug)]
struct Lease {
    /// Requests this replica may still admit without asking Redis.
    left: u64,
    /// The highest count Redis held for these identifiers when it granted the lease,
    /// the lease included.
    used: u64,
    granted_at: Instant,
    /// When the window the counts belong to ends.
    window_ends: Instant,
    /// How many counts the next request to Redis asks for.
    next: u64,
    /// Since when a refill is on its way (others wait for it rather than ask Redis).
    /// Forgotten after a lease's lifetime, in case that request was dropped.
    refilling: Option<Instant>,
    /// Woken whenever an answer from Redis for these identifiers arrives.
    refilled: Arc<Notify>,
}

impl Lease {
    fn usable(&self, now: Instant) -> bool {
        self.left > 0 && self.current(now)
    }

    /// Whether counts granted now still belong to the lease's window and lifetime.
    fn current(&self, now: Instant) -> bool {
        now < self.window_ends && now < self.granted_at + LEASE_LIFETIME
    }

    fn refill_in_flight(&self) -> bool {
        self.refilling
            .is_some_and(|since| since.elapsed() <= LEASE_LIFETIME)
    }

    /// Runs low: time to ask for the next lease while this one still admits requests.
    fn low(&self) -> bool {
        self.left <= self.next / 4
    }
}

/// What a request found in its lease.
enum Spend {
    /// A count was spent; the request that took the lease down to its low mark also
    /// carries the size of the refill it is to start.
    Spent(Decision, Option<u64>),
    /// No count left; when a refill is on its way, the wait for it.
    Empty(Option<tokio::sync::futures::OwnedNotified>),
}

pub struct Limiter {
    limits: RateLimits,
    prefix: String,
    redis: Option<deadpool_redis::Pool>,
    /// The connection every decision shares (a multiplexed connection carries many
    /// requests at once). Taken from the pool, which checks a connection with a PING each
    /// time it hands one out, only when there is none: a decision is one round trip.
    connection: Mutex<Option<MultiplexedConnection>>,
    /// Hashed once; sent by hash, and in full only when Redis does not know it yet.
    script: Script,
    redis_failed_at: Mutex<Option<Instant>>,
    memory: Mutex<HashMap<String, MemoryWindow>>,
    /// Identifiers known to be over their limit, refused here until their window resets.
    refused_until: moka::sync::Cache<String, Instant>,
    /// Leases by [`Limiter::lease_of`] the class and identifiers of a request.
    leases: Mutex<HashMap<u64, Lease>>,
    /// Keyed afresh by each replica, so that nobody can pick identifiers whose leases
    /// collide.
    lease_hasher: RandomState,
    /// Upload passes ([`upload_pass`]) this replica granted.
    passes: moka::sync::Cache<[u8; 32], ()>,
    degraded: AtomicBool,
    metrics: RateLimitMetrics,
    /// The counter of decisions taken from leases, kept at hand: most requests of a busy
    /// client add to it.
    leased: prometheus_client::metrics::counter::Counter,
}

// KEYS: the identifiers; ARGV: limit, window in ms, counts wanted. Answers
// {allowed, highest count, ms to the window's end, 1-based identifier over, counts granted}.
const SCRIPT: &str = r"
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local index = math.floor(now / window)
local elapsed = now - index * window
local weight = (window - elapsed) / window
local reset = window - elapsed
local carried = {}
for i, id in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', id .. ':' .. index) or '0')
  local previous = tonumber(redis.call('GET', id .. ':' .. (index - 1)) or '0')
  carried[i] = previous * weight
  local room = limit - carried[i] - current
  if room < 1 then
    return {0, limit, reset, i, 0}
  end
  want = math.min(want, math.floor(room))
end
local highest = 0
for i, id in ipairs(KEYS) do
  local key = id .. ':' .. index
  local current = redis.call('INCRBY', key, want)
  if current == want then
    redis.call('PEXPIRE', key, window * 2)
  end
  highest = math.max(highest, math.ceil(carried[i] + current))
end
return {1, highest, reset, 0, want}
";

impl Limiter {
    pub fn new(
        limits: RateLimits,
        redis_url: Option<&str>,
        prefix: &str,
        metrics: RateLimitMetrics,
    ) -> anyhow::Result<Self> {
        let redis = match redis_url.filter(|url| !url.is_empty()) {
            Some(url) => {
                let mut config = deadpool_redis::Config::from_url(url);
                let mut pool = deadpool_redis::PoolConfig::new(POOL_SIZE);
                pool.timeouts.wait = Some(POOL_WAIT);
                pool.timeouts.create = Some(REDIS_TIMEOUT);
                pool.timeouts.recycle = Some(REDIS_TIMEOUT);
                config.pool = Some(pool);
                Some(config.create_pool(Some(deadpool_redis::Runtime::Tokio1))?)
            }
            None => {
                tracing::warn!("no FLOWSVAULT_REDIS_URL: rate limits are per replica, in memory");
                None
            }
        };
        metrics.redis_up.set(i64::from(redis.is_some()));
        let leased = metrics
            .decisions
            .get_or_create(&DecisionLabels {
                store: Store::Lease,
                outcome: Outcome::Allowed,
            })
            .clone();
        Ok(Self {
            limits,
            prefix: prefix.to_owned(),
            redis,
            connection: Mutex::new(None),
            script: Script::new(SCRIPT),
            redis_failed_at: Mutex::new(None),
            memory: Mutex::new(HashMap::new()),
            refused_until: moka::sync::Cache::builder()
                .max_capacity(MAX_MEMORY_ENTRIES as u64)
                .time_to_live(Duration::from_secs(24 * 3600))
                .build(),
            leases: Mutex::new(HashMap::new()),
            lease_hasher: RandomState::new(),
            passes: moka::sync::Cache::builder()
                .max_capacity(MAX_UPLOAD_PASSES)
                .time_to_idle(UPLOAD_PASS_IDLE)
                .build(),
            degraded: AtomicBool::new(false),
            metrics,
            leased,
        })
    }

    /// Whether requests of `class` are limited at all.
    pub fn limits(&self, class: Class) -> bool {
        self.limits.of(class).is_some()
    }

    /// Counts one request of `class` against every identifier; refused when any of them
    /// is over its limit (and then none is counted).
    pub async fn check(
        self: &Arc<Self>,
        class: Class,
        identifiers: &[Identifier],
    ) -> Option<Decision> {
        let spec = self.limits.of(class)?;
        self.probe_redis_if_degraded().await;
        // Most requests of a busy client are decided from its lease, with no key built.
        let leased = self.lease_of(class, identifiers);
        let mut keys = None;
        let mut waits = 0;
        loop {
            // Counts already granted are spent first: Redis counted them, and an
            // identifier refused meanwhile (by a request that found the lease empty) must
            // not strand them.
            let now = Instant::now();
            let pending = match self.spend_lease(leased, spec, now) {
                Spend::Spent(decision, refill) => {
                    if let Some(want) = refill {
                        let keys = keys.unwrap_or_else(|| self.keys(class, identifiers));
                        self.refill_in_background(spec, keys, leased, want);
                    }
                    self.leased.inc();
                    return Some(decision);
                }
                Spend::Empty(pending) => pending,
            };
            let keys = keys.get_or_insert_with(|| self.keys(class, identifiers));
            if let Some(refused) = self.refused_here(spec, keys, now) {
                self.count(Store::Local, false);
                return Some(refused);
            }
            match pending {
                Some(refilled) if waits < MAX_LEASE_WAITS => {
                    waits += 1;
                    // A refill that never answers is dropped after its own timeout.
                    let _ = tokio::time::timeout(REDIS_ANSWER_TIMEOUT, refilled).await;
                }
                _ => break,
            }
        }
        let keys = keys.unwrap_or_else(|| self.keys(class, identifiers));
        let now = Instant::now();
        let want = self.lease_size(leased);
        let (decision, over) = match self.check_in_redis(spec, &keys, want).await {
            Some((decision, over, granted)) => {
                self.keep_lease(leased, want, granted, 1, &decision);
                // Refused, while a lease granted meanwhile still holds counts: those were
                // counted already, so this request spends one rather than strand it.
                if !decision.allowed
                    && let Spend::Spent(leased_decision, _) =
                        self.spend_lease(leased, spec, Instant::now())
                {
                    self.count(Store::Lease, true);
                    return Some(leased_decision);
                }
                self.count(Store::Redis, decision.allowed);
                (decision, over)
            }
            None => {
                self.keep_lease(leased, want, 0, 1, &Decision::refused(spec));
                let result = self.check_in_memory(spec, &keys);
                self.count(Store::Memory, result.0.allowed);
                result
            }
        };
        if let Some(index) = over
            && let Some(key) = keys.get(index)
        {
            self.refused_until.insert(key.clone(), now + decision.reset);
        }
        Some(decision)
    }

    /// The lease of `class` for these identifiers: a 64-bit hash, so that spending from
    /// it builds no string. (Two sets of identifiers would have to collide among the
    /// leases one replica keeps for their counts to mix.)
    fn lease_of(&self, class: Class, identifiers: &[Identifier]) -> u64 {
        self.lease_hasher.hash_one((class.name(), identifiers))
    }

    /// Where `class`'s windows of these identifiers are kept.
    fn keys(&self, class: Class, identifiers: &[Identifier]) -> Vec<String> {
        identifiers
            .iter()
            .map(|id| format!("{}:rl:{}:{id}", self.prefix, class.name()))
            .collect()
    }

    /// A refusal when one of the identifiers is known to be over its limit.
    fn refused_here(&self, spec: RateSpec, keys: &[String], now: Instant) -> Option<Decision> {
        for key in keys {
            if let Some(until) = self.refused_until.get(key) {
                if until > now {
                    return Some(Decision {
                        allowed: false,
                        limit: spec.limit,
                        remaining: 0,
                        reset: until - now,
                    });
                }
                self.refused_until.invalidate(key);
            }
        }
        None
    }

    /// Asks Redis for the next lease while the requests go on spending this one. The
    /// counts granted all go to the lease: no request is waiting on this answer.
    fn refill_in_background(
        self: &Arc<Self>,
        spec: RateSpec,
        keys: Vec<String>,
        leased: u64,
        want: u64,
    ) {
        let limiter = Arc::clone(self);
        tokio::spawn(async move {
            match limiter.check_in_redis(spec, &keys, want).await {
                Some((decision, over, granted)) => {
                    limiter.keep_lease(leased, want, granted, 0, &decision);
                    if let Some(index) = over
                        && let Some(key) = keys.get(index)
                    {
                        limiter
                            .refused_until
                            .insert(key.clone(), Instant::now() + decision.reset);
                    }
                }
                None => limiter.keep_lease(leased, want, 0, 0, &Decision::refused(spec)),
            }
        });
    }

    /// One count from this replica's lease for these identifiers, when it has one left.
    fn spend_lease(&self, leased: u64, spec: RateSpec, now: Instant) -> Spend {
        let Ok(mut leases) = self.leases.lock() else {
            return Spend::Empty(None);
        };
        let Some(lease) = leases.get_mut(&leased) else {
            return Spend::Empty(None);
        };
        if !lease.usable(now) {
            let pending = (lease.next > 1 && lease.refill_in_flight())
                .then(|| Arc::clone(&lease.refilled).notified_owned());
            return Spend::Empty(pending);
        }
        lease.left -= 1;
        let refill = (lease.next > 1 && lease.low() && !lease.refill_in_flight()).then(|| {
            lease.refilling = Some(now);
            lease.next
        });
        Spend::Spent(
            Decision {
                allowed: true,
                limit: spec.limit,
                // The counts still unspent here are not used yet.
                remaining: spec
                    .limit
                    .saturating_sub(lease.used.saturating_sub(lease.left)),
                reset: lease.window_ends.saturating_duration_since(now),
            },
            refill,
        )
    }

    /// How many counts to ask Redis for: one, unless these identifiers spent their last
    /// lease quickly and no other request is already asking for more.
    fn lease_size(&self, leased: u64) -> u64 {
        let Ok(mut leases) = self.leases.lock() else {
            return 1;
        };
        match leases.get_mut(&leased) {
            Some(lease) if lease.next > 1 && !lease.refill_in_flight() => {
                lease.refilling = Some(Instant::now());
                lease.next
            }
            _ => 1,
        }
    }

    /// Keeps what Redis granted beyond the counts `taken` by the request that asked,
    /// sizes the next lease by how quickly the last one ran low, and wakes the requests
    /// waiting for it.
    fn keep_lease(&self, leased: u64, wanted: u64, granted: u64, taken: u64, decision: &Decision) {
        let Ok(mut leases) = self.leases.lock() else {
            return;
        };
        let now = Instant::now();
        if leases.len() > MAX_MEMORY_ENTRIES {
            leases.retain(|_, lease| now < lease.granted_at + LEASE_LIFETIME * 10);
            if leases.len() > MAX_MEMORY_ENTRIES {
                leases.clear();
            }
        }
        let lease = leases.entry(leased).or_insert_with(|| Lease {
            left: 0,
            used: 0,
            // Long enough ago that a first request does not count as a lease run low.
            granted_at: now.checked_sub(LEASE_QUICK).unwrap_or(now),
            window_ends: now,
            next: 1,
            refilling: None,
            refilled: Arc::new(Notify::new()),
        });
        if wanted > 1 {
            lease.refilling = None;
        }
        // Whatever the answer, the requests waiting look at the lease again.
        lease.refilled.notify_waiters();
        if granted == 0 {
            // Counts still leased were counted in Redis: they stay to be spent.
            lease.next = 1;
            return;
        }
        let still_usable = lease.usable(now);
        // Replies to requests that went to Redis while a lease was being refilled do not
        // resize it: only a lease run low quickly grows it, and only one that lapsed
        // with counts unspent shrinks it.
        let next = if lease.low() && now < lease.granted_at + LEASE_QUICK {
            (lease.next * 2).min(MAX_LEASE)
        } else if !still_usable && lease.left > 0 {
            (lease.next / 2).max(1)
        } else {
            lease.next
        };
        let window_ends = now + decision.reset;
        // Counts of an earlier window are not carried into a new one.
        let carried = if still_usable && window_ends <= lease.window_ends + LEASE_QUICK {
            lease.left
        } else {
            0
        };
        lease.left = granted.saturating_sub(taken) + carried;
        lease.used = decision.limit - decision.remaining;
        lease.granted_at = now;
        lease.window_ends = window_ends;
        lease.next = next.min(decision.remaining / LEASE_SHARE).max(1);
    }

    /// The decision, the identifier over its limit if refused, and the counts granted.
    async fn check_in_redis(
        &self,
        spec: RateSpec,
        keys: &[String],
        want: u64,
    ) -> Option<(Decision, Option<usize>, u64)> {
        let pool = self.redis.as_ref()?;
        if let Ok(failed_at) = self.redis_failed_at.lock()
            && failed_at.is_some_and(|at| at.elapsed() < REDIS_RETRY_AFTER)
        {
            return None;
        }
        let window_ms = u64::try_from(spec.window.as_millis()).unwrap_or(u64::MAX);
        let mut connection = match self.connection(pool).await {
            Ok(connection) => connection,
            Err(deadpool_redis::PoolError::Timeout(deadpool_redis::TimeoutType::Wait)) => {
                tracing::warn!("every redis connection stayed busy: one decision in memory");
                return None;
            }
            Err(error) => {
                self.redis_unreachable(&error.to_string());
                return None;
            }
        };
        let attempt = async {
            let mut invocation = self.script.prepare_invoke();
            for key in keys {
                invocation.key(key);
            }
            invocation.arg(spec.limit).arg(window_ms).arg(want);
            invocation
                .invoke_async::<Vec<i64>>(&mut connection)
                .await
                .map_err(|error| error.to_string())
        };
        let outcome = tokio::time::timeout(REDIS_ANSWER_TIMEOUT, attempt)
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()));
        match outcome {
            Ok(reply) if reply.len() == 5 => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis is back: rate limits are shared again");
                }
                self.metrics.redis_up.set(1);
                let allowed = reply[0] == 1;
                let used = u64::try_from(reply[1]).unwrap_or(0);
                let reset = Duration::from_millis(u64::try_from(reply[2]).unwrap_or(0));
                let over = usize::try_from(reply[3])
                    .ok()
                    .filter(|i| *i > 0)
                    .map(|i| i - 1);
                let granted = u64::try_from(reply[4]).unwrap_or(0).min(want);
                Some((
                    Decision {
                        allowed,
                        limit: spec.limit,
                        remaining: spec.limit.saturating_sub(used),
                        reset,
                    },
                    over,
                    granted,
                ))
            }
            Ok(reply) => {
                tracing::error!(?reply, "unexpected rate-limit script reply");
                self.mark_redis_failed();
                None
            }
            Err(error) => {
                self.redis_unreachable(&error);
                None
            }
        }
    }

    /// The shared connection, or a new one from the pool when there is none.
    async fn connection(
        &self,
        pool: &deadpool_redis::Pool,
    ) -> Result<MultiplexedConnection, deadpool_redis::PoolError> {
        if let Some(connection) = self
            .connection
            .lock()
            .ok()
            .and_then(|shared| shared.clone())
        {
            return Ok(connection);
        }
        let connection = MultiplexedConnection::clone(&*pool.get().await?);
        if let Ok(mut shared) = self.connection.lock() {
            *shared = Some(connection.clone());
        }
        Ok(connection)
    }

    /// Decisions move to memory until Redis answers a probe again.
    fn redis_unreachable(&self, error: &str) {
        // The next decision takes a connection the pool has checked.
        if let Ok(mut shared) = self.connection.lock() {
            *shared = None;
        }
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "redis unreachable: rate limits fall back to memory");
            self.metrics.redis_fallbacks.inc();
        }
        self.metrics.redis_up.set(0);
        self.mark_redis_failed();
    }

    fn count(&self, store: Store, allowed: bool) {
        let outcome = if allowed {
            Outcome::Allowed
        } else {
            Outcome::Refused
        };
        self.metrics
            .decisions
            .get_or_create(&DecisionLabels { store, outcome })
            .inc();
    }

    /// While Redis is down, one request per retry interval asks it for a PING, so that
    /// decisions go back to Redis even when every identifier in sight is refused here.
    async fn probe_redis_if_degraded(&self) {
        if !self.degraded.load(Ordering::Relaxed) {
            return;
        }
        let Some(pool) = &self.redis else {
            return;
        };
        // Claims this interval's probe: the others see a fresh failure time.
        {
            let Ok(mut failed_at) = self.redis_failed_at.lock() else {
                return;
            };
            if failed_at.is_some_and(|at| at.elapsed() < REDIS_RETRY_AFTER) {
                return;
            }
            *failed_at = Some(Instant::now());
        }
        let ping = async {
            let mut connection = pool.get().await.map_err(|error| error.to_string())?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
                .map_err(|error| error.to_string())
        };
        if let Ok(Ok(_)) = tokio::time::timeout(REDIS_TIMEOUT * 2, ping).await {
            if let Ok(mut failed_at) = self.redis_failed_at.lock() {
                *failed_at = None;
            }
            if self.degraded.swap(false, Ordering::Relaxed) {
                tracing::info!("redis is back: rate limits are shared again");
            }
            self.metrics.redis_up.set(1);
        }
    }

    fn mark_redis_failed(&self) {
        if let Ok(mut failed_at) = self.redis_failed_at.lock() {
            *failed_at = Some(Instant::now());
        }
    }

    /// The same windows as the script, kept by this replica alone.
    fn check_in_memory(&self, spec: RateSpec, keys: &[String]) -> (Decision, Option<usize>) {
        let window_ms = u64::try_from(spec.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        let index = now_ms / window_ms;
        let elapsed = now_ms - index * window_ms;
        let weight = (window_ms - elapsed) as f64 / window_ms as f64;
        let reset = Duration::from_millis(window_ms - elapsed);
        let Ok(mut memory) = self.memory.lock() else {
            // A poisoned lock means a panic elsewhere; refuse rather than run unlimited.
            let refused = Decision {
                allowed: false,
                limit: spec.limit,
                remaining: 0,
                reset,
            };
            return (refused, None);
        };
        if memory.len() > MAX_MEMORY_ENTRIES {
            memory.retain(|_, window| window.index + 1 >= index);
            if memory.len() > MAX_MEMORY_ENTRIES {
                // A flood of distinct identifiers: forget them all rather than grow without
                // bound or scan the map on every request.
                tracing::warn!("in-memory rate-limit table full; starting it afresh");
                memory.clear();
            }
        }
        let mut carried = Vec::with_capacity(keys.len());
        for (position, key) in keys.iter().enumerate() {
            let window = rolled(memory.get(key).copied(), index);
            let carry = window.previous as f64 * weight;
            if carry + window.current as f64 + 1.0 > spec.limit as f64 {
                let refused = Decision {
                    allowed: false,
                    limit: spec.limit,
                    remaining: 0,
                    reset,
                };
                return (refused, Some(position));
            }
            carried.push(carry);
        }
        let mut highest: u64 = 0;
        for (key, carry) in keys.iter().zip(carried) {
            let mut window = rolled(memory.get(key).copied(), index);
            window.current += 1;
            highest = highest.max((carry + window.current as f64).ceil() as u64);
            memory.insert(key.clone(), window);
        }
        let allowed = Decision {
            allowed: true,
            limit: spec.limit,
            remaining: spec.limit.saturating_sub(highest),
            reset,
        };
        (allowed, None)
    }
}

/// A stored window moved forward to window `index`.
fn rolled(stored: Option<MemoryWindow>, index: u64) -> MemoryWindow {
    match stored {
        Some(window) if window.index == index => window,
        Some(window) if window.index + 1 == index => MemoryWindow {
            index,
            current: 0,
            previous: window.current,
        },
        _ => MemoryWindow {
            index,
            current: 0,
            previous: 0,
        },
    }
}

/// What a request is counted against. Written out (`ip:…`, `key:…`) only to name its
/// windows; a request decided from a lease never builds the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    /// The client's address.
    Ip(IpAddr),
    /// The first 12 bytes of the SHA-256 of an API key.
    Key([u8; 12]),
    /// The first 12 bytes of the SHA-256 of a session token.
    Session([u8; 12]),
    /// The first 12 bytes of the SHA-256 of a share link's token.
    Link([u8; 12]),
    /// The user behind a credential.
    User(String),
}

impl Identifier {
    /// The first 12 bytes of a digest: enough to tell credentials apart, without keeping
    /// what could be looked up.
    pub fn prefix(digest: &[u8]) -> [u8; 12] {
        let mut prefix = [0; 12];
        prefix.copy_from_slice(&digest[..12]);
        prefix
    }
}

impl std::fmt::Display for Identifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ip(address) => write!(formatter, "ip:{address}"),
            Self::Key(prefix) => write!(formatter, "key:{}", hex::encode(prefix)),
            Self::Session(prefix) => write!(formatter, "session:{}", hex::encode(prefix)),
            Self::Link(prefix) => write!(formatter, "link:{}", hex::encode(prefix)),
            Self::User(user) => write!(formatter, "user:{user}"),
        }
    }
}

/// Who a request comes from, as rate limiting sees it before authentication.
struct Caller {
    /// The identifiers it is counted against.
    ids: Vec<Identifier>,
    /// The SHA-256 of the credential it presents (API key or session token), if any.
    credential: Option<[u8; 32]>,
}

/// The identifiers a request is counted against: its client address, the credential it
/// presents (hashed; not verified yet, so limiting comes before bcrypt or any gRPC call),
/// and the user behind that credential when this replica verified it lately, so that all
/// of one user's keys and sessions also share one limit.
fn caller(request: &ServiceRequest, state: &AppState, client: Option<IpAddr>) -> Caller {
    let mut ids = Vec::with_capacity(3);
    if let Some(address) = client {
        ids.push(Identifier::Ip(address));
    }
    // The credential as authentication reads it, so `bearer`, `BEARER` and extra spaces
    // do not make one key into several identifiers.
    let credential = Credential::of(request.request(), state);
    if let Some(credential) = credential.as_deref() {
        let prefix = Identifier::prefix(&credential.digest);
        ids.push(match credential.via {
            Via::ApiKey => Identifier::Key(prefix),
            Via::Session => Identifier::Session(prefix),
        });
        if let Some(user) = &credential.user {
            ids.push(Identifier::User(user.clone()));
        }
    }
    Caller {
        ids,
        credential: credential.map(|credential| credential.digest),
    }
}

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

fn insert_headers(headers: &mut actix_web::http::header::HeaderMap, decision: &Decision) {
    let reset_secs = decision.reset.as_secs() + u64::from(decision.reset.subsec_nanos() > 0);
    headers.insert(LIMIT, HeaderValue::from(decision.limit));
    headers.insert(REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(RESET, HeaderValue::from(reset_secs));
    if !decision.allowed {
        headers.insert(
            actix_web::http::header::RETRY_AFTER,
            HeaderValue::from(reset_secs.max(1)),
        );
    }
}

/// Decides before anything expensive (authentication, gRPC) runs.
pub async fn middleware(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let routed_path = request.match_info().as_str();
    let class = Class::of(request.method(), routed_path);
    // The path of an upload being moved, which its pass is for.
    let upload_path =
        Class::moves_an_upload(request.method(), routed_path).then(|| routed_path.to_owned());
    let moves_an_upload = upload_path.is_some();
    if class.is_none() && !moves_an_upload {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    if class.is_some_and(|class| !state.limiter.limits(class)) {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let client = state.proxies.client_ip(request.request());
    let caller = caller(&request, &state, client);
    let Some(class) = class else {
        let path = upload_path.unwrap_or_default();
        return moving_an_upload(request, next, &state, &caller, &path).await;
    };
    let Some(decision) = state.limiter.check(class, &caller.ids).await else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    if !decision.allowed {
        let response = refusal(class, &decision, routed_path);
        return Ok(request.into_response(response).map_into_right_body());
    }
    let mut response = next.call(request).await?;
    insert_headers(response.headers_mut(), &decision);
    Ok(response.map_into_left_body())
}

/// An upload's bytes and progress are not counted: an upload is counted once, when it is
/// created. What must still be counted is the work done for a caller that is not moving
/// an upload of its own: verifying a credential nobody issued (bcrypt, gRPC), looking up
/// uploads that are not there. So a request goes on uncounted only with a pass: the
/// credential it presents moved this very upload through this replica before, and the
/// pass was used within the hour (a paused upload keeps it). Any other request is counted
/// as an API call up front, refused with 429 past the limit, and granted the pass when it
/// succeeds. A request whose pass no longer holds, because it fails with 401, 403, 404 or
/// 410 (the credential revoked, the upload gone), is counted afterwards and loses the
/// pass: a pass buys at most one uncounted failure, and passes are only won by counted
/// successes.
async fn moving_an_upload<B: MessageBody + 'static>(
    request: ServiceRequest,
    next: Next<B>,
    state: &AppState,
    caller: &Caller,
    path: &str,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let pass = caller
        .credential
        .map(|credential| upload_pass(&credential, path));
    // `get`, not `contains_key`: only a read keeps an idle entry alive.
    if let Some(pass) = pass.filter(|pass| state.limiter.passes.get(pass).is_some()) {
        let response = next.call(request).await?;
        let status = response.status();
        if [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
            StatusCode::GONE,
        ]
        .contains(&status)
        {
            state.limiter.passes.invalidate(&pass);
            // Counted for what it cost; the answer stays what it is.
            let _ = state.limiter.check(Class::Api, &caller.ids).await;
        }
        return Ok(response.map_into_left_body());
    }
    let decision = state.limiter.check(Class::Api, &caller.ids).await;
    if let Some(decision) = decision.filter(|decision| !decision.allowed) {
        let response = refusal(Class::Api, &decision, path);
        return Ok(request.into_response(response).map_into_right_body());
    }
    let mut response = next.call(request).await?;
    if let Some(decision) = &decision {
        insert_headers(response.headers_mut(), decision);
    }
    if let Some(pass) = pass.filter(|_| response.status().is_success()) {
        state.limiter.passes.insert(pass, ());
    }
    Ok(response.map_into_left_body())
}

/// What lets `credential` move the upload at `path` uncounted (see [`moving_an_upload`]).
fn upload_pass(credential: &[u8; 32], path: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(credential);
    hasher.update(path.as_bytes());
    hasher.finalize().into()
}

fn refusal(class: Class, decision: &Decision, path: &str) -> HttpResponse {
    let error = ApiError::new(
        ErrorCode::RateLimited,
        format!("too many {} requests; try again later", class.name()),
    );
    let mut response = error.error_response();
    insert_headers(response.headers_mut(), decision);
    crate::routes::tus::mark_answer(path, response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_limiter(spec: &str) -> Arc<Limiter> {
        let spec = RateSpec::parse(spec).unwrap();
        let limiter = Limiter::new(
            RateLimits {
                upload: spec,
                download: spec,
                api: spec,
                share_password: spec,
            },
            None,
            "test",
            RateLimitMetrics::default(),
        )
        .unwrap();
        Arc::new(limiter)
    }

    #[test]
    fn a_pass_is_for_one_credential_on_one_upload() {
        let path = "/api/uploads/0b7c1f52-5f0e-4e39-9a43-0c0f7a2d4d11";
        let pass = upload_pass(&[1; 32], path);
        assert_eq!(pass, upload_pass(&[1; 32], path));
        assert_ne!(pass, upload_pass(&[2; 32], path));
        assert_ne!(
            pass,
            upload_pass(
                &[1; 32],
                "/api/uploads/5d1b0a3e-1c77-4a53-8f6e-2a7f3c9b8e20"
            )
        );
    }

    #[test]
    fn specs_parse_and_bad_ones_are_refused() {
        assert_eq!(
            RateSpec::parse("50/5m").unwrap(),
            Some(RateSpec {
                limit: 50,
                window: Duration::from_secs(300)
            })
        );
        assert_eq!(RateSpec::parse("off").unwrap(), None);
        assert_eq!(
            RateSpec::parse("10/s").unwrap().unwrap().window,
            Duration::from_secs(1)
        );
        for bad in ["", "50", "0/1m", "5/0m", "5/1d", "x/1m", "5/xm"] {
            assert!(RateSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_are_classified_by_route() {
        assert_eq!(Class::of(&Method::POST, "/api/upload"), Some(Class::Upload));
        assert_eq!(
            Class::of(&Method::GET, "/api/download/x"),
            Some(Class::Download)
        );
        assert_eq!(
            Class::of(&Method::GET, "/api/preview/x"),
            Some(Class::Download)
        );
        assert_eq!(Class::of(&Method::GET, "/api/files"), Some(Class::Api));
        assert_eq!(Class::of(&Method::GET, "/api/health"), None);
        assert_eq!(Class::of(&Method::GET, "/api/ready"), None);
        assert_eq!(Class::of(&Method::GET, "/api/openapi.json"), None);
    }

    #[tokio::test]
    async fn memory_windows_refuse_past_the_limit_per_identifier() {
        let limiter = memory_limiter("3/1h");
        let alice = vec![Identifier::User("alice".to_owned())];
        for expected_remaining in [2, 1, 0] {
            let decision = limiter.check(Class::Api, &alice).await.unwrap();
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected_remaining);
        }
        let refused = limiter.check(Class::Api, &alice).await.unwrap();
        assert!(!refused.allowed);
        assert!(refused.reset > Duration::ZERO);
        // Another identifier and another class have their own windows.
        assert!(
            limiter
                .check(Class::Api, &[Identifier::User("bob".to_owned())])
                .await
                .unwrap()
                .allowed
        );
        assert!(limiter.check(Class::Upload, &alice).await.unwrap().allowed);
    }

    #[test]
    fn a_window_rolls_into_the_previous_one() {
        let stored = MemoryWindow {
            index: 7,
            current: 5,
            previous: 1,
        };
        let next = rolled(Some(stored), 8);
        assert_eq!((next.current, next.previous), (0, 5));
        let later = rolled(Some(stored), 10);
        assert_eq!((later.current, later.previous), (0, 0));
    }
}
