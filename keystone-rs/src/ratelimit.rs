//! A per-source rate limit on the routes that take credentials without a token (token
//! issue, OAuth1 request and access tokens): the lockout protects one account, this keeps
//! one client from trying passwords across many accounts or from burning the CPU on
//! password hashing. Keystone has no such limit (operators put one in their proxy), so it
//! is off unless `[rate_limit] issue_requests_per_minute` is set; it is a keystone-rs
//! option. Each node counts on its own: behind a load balancer a client gets up to the
//! limit from every node.
//!
//! The source is the connection's peer address. `X-Forwarded-For` is believed only when
//! that peer is one of `[rate_limit] trusted_proxies`; the source is then the right-most
//! address in the header that is not itself a trusted proxy (the left part of the header
//! is whatever the client wrote).

use crate::config::{Network, RateLimitSection};
use crate::error::Error;
use actix_web::HttpResponse;
use actix_web::dev::ServiceRequest;
use actix_web::http::{Method, StatusCode};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// The routes limited: every unauthenticated way to obtain a credential, and the OAuth 2.0
/// introspection endpoint, whose client authentication would otherwise let secrets be guessed.
const LIMITED: [&str; 5] = [
    "/v3/auth/tokens",
    "/v3/OS-OAUTH1/request_token",
    "/v3/OS-OAUTH1/access_token",
    "/v3/OS-OAUTH2/token",
    "/v3/OS-OAUTH2/introspect",
];

/// Above this many tracked sources, the ones whose buckets have refilled are forgotten,
/// so a flood of spoofed or distinct addresses cannot grow the table without bound.
const MAX_TRACKED: usize = 100_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    /// Requests a source may make in a burst; refilled at `capacity` per minute.
    capacity: f64,
    trusted: Vec<Network>,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `None` when the limit is off.
    pub fn from_config(section: &RateLimitSection) -> Option<RateLimiter> {
        let per_minute = section.issue_requests_per_minute.filter(|n| *n > 0)?;
        Some(RateLimiter {
            capacity: f64::from(per_minute),
            trusted: section.trusted_proxies.clone(),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(ip))
    }

    /// Who is asking: the peer, or what a trusted proxy says the client was.
    pub fn source(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusted(peer) {
            return Some(peer);
        }
        let mut source = peer;
        // Several headers are one list, in order (RFC 9110 §5.3).
        let hops = forwarded_for.iter().flat_map(|h| h.split(','));
        for hop in hops.collect::<Vec<_>>().into_iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // Garbage from beyond the last trusted proxy: stop at what we know.
                break;
            };
            source = ip;
            if !self.trusted(ip) {
                break;
            }
        }
        Some(source)
    }

    /// Take one request from `source`'s bucket: `Err(seconds until one is available)`.
    pub fn take(&self, source: IpAddr, now: Instant) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            // A panic elsewhere poisoned the table: fail open rather than refuse logins.
            return Ok(());
        };
        let rate = self.capacity / 60.0;
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&source) {
            let capacity = self.capacity;
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < capacity
            });
        }
        let bucket = buckets.entry(source).or_insert(Bucket {
            tokens: self.capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(self.capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            // Whole seconds, rounded up (less a rounding error's worth), and never 0:
            // "retry now" would be a lie.
            let wait = (1.0 - bucket.tokens) / rate - 1e-6;
            Err((wait.ceil() as u64).max(1))
        }
    }

    /// The 429 for a request over the limit, or `None` to let it through.
    pub fn check(&self, req: &ServiceRequest) -> Option<HttpResponse> {
        if req.method() != Method::POST || !LIMITED.contains(&req.path()) {
            return None;
        }
        let peer = req.peer_addr().map(|a| a.ip());
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        let source = self.source(peer, &forwarded)?;
        let retry_after = self.take(source, Instant::now()).err()?;
        tracing::warn!(source = %source, path = req.path(), "rate limit exceeded");
        let mut response =
            actix_web::ResponseError::error_response(&too_many_requests(retry_after));
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&retry_after.to_string()) {
            response
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
        Some(response)
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    // Proxies may write `[v6]`, `[v6]:port` or `v4:port`.
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    hop.parse().ok().or_else(|| {
        let (addr, port) = hop.rsplit_once(':')?;
        port.parse::<u16>().ok()?;
        addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    })
}

/// Keystone's error JSON for 429 (its title is Python's reason phrase).
pub fn too_many_requests(retry_after: u64) -> Error {
    Error::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("Too many requests from this source. Retry after {retry_after} second(s)."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(per_minute: u32, trusted: &[&str]) -> RateLimiter {
        RateLimiter::from_config(&RateLimitSection {
            issue_requests_per_minute: Some(per_minute),
            trusted_proxies: trusted.iter().map(|t| Network::parse(t).unwrap()).collect(),
        })
        .unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bucket_refills_at_the_configured_rate() {
        let l = limiter(2, &[]);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        assert!(l.take(a, t0).is_ok());
        assert!(l.take(a, t0).is_ok());
        assert_eq!(l.take(a, t0), Err(30));
        // Another source has its own bucket.
        assert!(l.take(ip("192.0.2.2"), t0).is_ok());
        assert_eq!(l.take(a, t0 + Duration::from_secs(20)), Err(10));
        assert!(l.take(a, t0 + Duration::from_secs(31)).is_ok());
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let l = limiter(5, &["10.0.0.0/8", "::1"]);
        let client = ip("198.51.100.7");
        // Untrusted peer: the header is the client's own words.
        assert_eq!(
            l.source(Some(ip("203.0.113.9")), &["198.51.100.7"]),
            Some(ip("203.0.113.9"))
        );
        // Trusted: right-most untrusted hop; a spoofed left part is ignored.
        assert_eq!(
            l.source(Some(ip("10.1.2.3")), &["1.2.3.4, 198.51.100.7, 10.9.9.9"]),
            Some(client)
        );
        assert_eq!(
            l.source(Some(ip("::1")), &["1.2.3.4", "198.51.100.7:5555"]),
            Some(client)
        );
        // Nothing usable in the header: the proxy itself is the source.
        assert_eq!(
            l.source(Some(ip("10.1.2.3")), &["garbage"]),
            Some(ip("10.1.2.3"))
        );
        assert_eq!(
            l.source(Some(ip("10.1.2.3")), &["[2001:db8::1]:443"]),
            Some(ip("2001:db8::1"))
        );
    }

    #[test]
    fn networks_parse_and_match() {
        assert!(Network::parse("10.0.0.0/33").is_none());
        assert!(Network::parse("nonsense").is_none());
        let n = Network::parse("192.168.0.0/16").unwrap();
        assert!(n.contains(ip("192.168.44.1")));
        assert!(n.contains(ip("::ffff:192.168.1.1")));
        assert!(!n.contains(ip("192.169.0.1")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(
            !Network::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
    }
}
