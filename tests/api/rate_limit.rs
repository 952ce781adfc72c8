//! `[rate_limit]`: the per-source limit on the unauthenticated issue routes (a keystone-rs
//! option; off by default like Keystone, which has none).

use crate::support::{Response, TestServer};
use serde_json::json;

fn wrong_login(s: &TestServer, forwarded_for: Option<&str>) -> Response {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "wrong"}}}}})
    .to_string();
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(xff) = forwarded_for {
        headers.push(("X-Forwarded-For", xff));
    }
    s.request("POST", "/v3/auth/tokens", &headers, Some(body.as_bytes()))
}

fn assert_limited(r: &Response) {
    assert_eq!(r.status, 429, "{}", r.body);
    let retry: u64 = r
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let body = r.json();
    assert_eq!(body["error"]["code"], 429);
    assert_eq!(body["error"]["title"], "Too Many Requests");
    assert_eq!(
        body["error"]["message"],
        format!("Too many requests from this source. Retry after {retry} second(s).")
    );
    assert!(r.header("x-openstack-request-id").is_some());
}

#[test]
fn issue_routes_are_limited_per_source() {
    let s = TestServer::start_with("[rate_limit]\nissue_requests_per_minute = 3\n");
    // Taken before the limit is used up: other routes are not limited.
    let admin = s.admin_token();
    for _ in 0..2 {
        assert_eq!(wrong_login(&s, None).status, 401);
    }
    assert_limited(&wrong_login(&s, None));
    // Also the right password, and the other unauthenticated issue routes (one bucket),
    // whatever the trailing slash.
    assert_limited(&s.password_auth(None));
    let r = s.request("POST", "/v3/OS-OAUTH1/request_token/", &[], Some(b""));
    assert_limited(&r);
    assert_limited(&s.request("POST", "/v3/OS-OAUTH1/access_token", &[], Some(b"")));
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let body = b"grant_type=client_credentials";
    assert_limited(&s.request("POST", "/v3/OS-OAUTH2/token", &form, Some(body)));
    assert_limited(&s.request("POST", "/v3/OS-OAUTH2/introspect", &form, Some(b"token=x")));
    // Not a client's own address to choose: without trusted proxies the header is ignored.
    assert_limited(&wrong_login(&s, Some("198.51.100.1")));
    // Token validation and everything else carries on.
    let r = s.tokens("GET", "", &admin, &admin);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.get("/v3/users", Some(&admin)).status, 200);
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let s = TestServer::start_with(
        "[rate_limit]\nissue_requests_per_minute = 2\ntrusted_proxies = 127.0.0.1, 10.0.0.0/8\n",
    );
    // Each client behind the trusted proxy has its own bucket; a spoofed left-hand entry
    // does not buy a fresh one.
    for client in ["198.51.100.1", "198.51.100.2"] {
        for _ in 0..2 {
            assert_eq!(
                wrong_login(&s, Some(&format!("203.0.113.50, {client}"))).status,
                401
            );
        }
        assert_limited(&wrong_login(
            &s,
            Some(&format!("203.0.113.{}, {client}", rand_octet())),
        ));
    }
    // A trusted hop in the chain is skipped; the client before it is counted.
    assert_limited(&wrong_login(&s, Some("198.51.100.1, 10.2.3.4")));
    // Requests without the header count against the proxy's own address.
    assert_eq!(wrong_login(&s, None).status, 401);
    assert_eq!(s.password_auth(None).status, 201);
    assert_limited(&wrong_login(&s, None));
}

#[test]
fn no_limit_unless_configured() {
    let s = TestServer::start();
    for _ in 0..30 {
        assert_eq!(wrong_login(&s, None).status, 401);
    }
    assert_eq!(s.password_auth(None).status, 201);
}

fn rand_octet() -> u8 {
    (uuid::Uuid::new_v4().as_bytes()[0] % 200) + 1
}
