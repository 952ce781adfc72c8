//! Prometheus metrics (`GET /metrics`): requests by route pattern and status, token issue
//! and validation counts, cache hits and misses, password checks running and waiting,
//! database pool usage.
//!
//! Labels are bounded: the route is actix's match pattern (`/v3/users/{user_id}`), never
//! the raw path, and requests that match no route share one label. The process-wide
//! registry is what one server exposes; the pool gauges are read from that server's pool
//! when it is scraped.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::LazyLock;

/// The label of requests that matched no route (kept apart from real routes, one series).
pub const UNMATCHED_ROUTE: &str = "unmatched";

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub tokens_issued: IntCounterVec,
    pub token_validations: IntCounterVec,
    pub cache_lookups: IntCounterVec,
    pub password_checks: IntGaugeVec,
}

/// Buckets from 100 µs (a cached validation) to 5 s (a slow bcrypt or a stuck database).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

fn build() -> prometheus::Result<Metrics> {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new(
            "keystone_http_requests_total",
            "HTTP requests answered, by method, route pattern and status.",
        ),
        &["method", "route", "status"],
    )?;
    let request_seconds = HistogramVec::new(
        HistogramOpts::new(
            "keystone_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route pattern and status.",
        )
        .buckets(LATENCY_BUCKETS.to_vec()),
        &["method", "route", "status"],
    )?;
    let tokens_issued = IntCounterVec::new(
        Opts::new(
            "keystone_tokens_issued_total",
            "Tokens issued, by scope (project, domain, system, unscoped).",
        ),
        &["scope"],
    )?;
    let token_validations = IntCounterVec::new(
        Opts::new(
            "keystone_token_validations_total",
            "Token validations (callers' and subject tokens), by result (valid, invalid).",
        ),
        &["result"],
    )?;
    let cache_lookups = IntCounterVec::new(
        Opts::new(
            "keystone_cache_lookups_total",
            "Lookups in the validation caches, by cache and result (hit, miss); the hit \
             ratio is hit / (hit + miss).",
        ),
        &["cache", "result"],
    )?;
    let password_checks = IntGaugeVec::new(
        Opts::new(
            "keystone_password_checks",
            "Password and secret hash verifications of logins, by state: running (at most \
             one per core) and waiting for their turn.",
        ),
        &["state"],
    )?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(request_seconds.clone()))?;
    registry.register(Box::new(tokens_issued.clone()))?;
    registry.register(Box::new(token_validations.clone()))?;
    registry.register(Box::new(cache_lookups.clone()))?;
    registry.register(Box::new(password_checks.clone()))?;
    for state in ["running", "waiting"] {
        password_checks.with_label_values(&[state]).set(0);
    }
    Ok(Metrics {
        registry,
        requests,
        request_seconds,
        tokens_issued,
        token_validations,
        cache_lookups,
        password_checks,
    })
}

/// The process's metrics. The names and labels are constants, so building cannot fail.
pub static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| build().expect("metric names and labels are valid"));

/// Count one answered request.
pub fn observe_request(method: &str, route: &str, status: u16, seconds: f64) {
    // Extension methods are client-chosen strings: one label for all of them.
    const KNOWN: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let method = if KNOWN.contains(&method) {
        method
    } else {
        "OTHER"
    };
    let status = status.to_string();
    let labels = [method, route, status.as_str()];
    METRICS.requests.with_label_values(&labels).inc();
    METRICS
        .request_seconds
        .with_label_values(&labels)
        .observe(seconds);
}

/// The hit and miss counters of one cache, resolved once: a validation looks up ten caches,
/// and finding a labelled counter hashes its labels each time.
pub fn cache_lookup_counters(cache: &str) -> [prometheus::IntCounter; 2] {
    ["hit", "miss"].map(|result| METRICS.cache_lookups.with_label_values(&[cache, result]))
}

pub fn token_validated(valid: bool) {
    METRICS
        .token_validations
        .with_label_values(&[if valid { "valid" } else { "invalid" }])
        .inc();
}

/// Counts a login in `state` ("running" or "waiting") for as long as the guard lives.
pub fn password_check(state: &'static str) -> GaugeGuard {
    let gauge = METRICS.password_checks.with_label_values(&[state]);
    gauge.inc();
    GaugeGuard(gauge)
}

/// Takes its one back from a gauge when dropped (also when the request is abandoned).
pub struct GaugeGuard(prometheus::IntGauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

pub fn token_issued(scope: &str) {
    METRICS.tokens_issued.with_label_values(&[scope]).inc();
}

/// This server's pool, as gauges built at scrape time.
fn pool_families(db: &crate::db::Db) -> prometheus::Result<Vec<prometheus::proto::MetricFamily>> {
    let registry = Registry::new();
    let gauges = IntGaugeVec::new(
        Opts::new(
            "keystone_db_pool_connections",
            "Database pool connections, by state: open (idle + in use), idle, in_use, max.",
        ),
        &["state"],
    )?;
    registry.register(Box::new(gauges.clone()))?;
    let pool = db.pool_state();
    let open = i64::from(pool.connections);
    let idle = i64::from(pool.idle_connections);
    gauges.with_label_values(&["open"]).set(open);
    gauges.with_label_values(&["idle"]).set(idle);
    gauges.with_label_values(&["in_use"]).set(open - idle);
    gauges
        .with_label_values(&["max"])
        .set(i64::from(db.max_size()));
    Ok(registry.gather())
}

/// Everything registered plus this server's pool, in the Prometheus text format
/// (0.0.4); the content type to serve it with.
pub fn render(db: &crate::db::Db) -> prometheus::Result<(Vec<u8>, String)> {
    let mut families = METRICS.registry.gather();
    families.extend(pool_families(db)?);
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    encoder.encode(&families, &mut body)?;
    Ok((body, encoder.format_type().to_string()))
}
