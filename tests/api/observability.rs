//! `/healthcheck` (oslo.middleware's) and `/metrics` (Prometheus).

use crate::support::TestServer;

#[test]
fn healthcheck_answers_ok_in_text_json_and_head() {
    let s = TestServer::start();
    let r = s.get("/healthcheck", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "OK");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
    let r = s.request(
        "GET",
        "/healthcheck",
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert_eq!(
        r.json(),
        serde_json::json!({"detailed": false, "reasons": ["OK"]})
    );
    let r = s.request("GET", "/healthcheck", &[("Accept", "text/html")], None);
    assert!(r.body.contains("<TD>OK</TD>"), "{}", r.body);
    // No acceptable type: text/plain rather than a 406 (oslo's choice).
    let r = s.request("GET", "/healthcheck", &[("Accept", "image/png")], None);
    assert_eq!((r.status, r.body.as_str()), (200, "OK"));
    let r = s.request("HEAD", "/healthcheck", &[], None);
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
}

#[test]
fn healthcheck_disable_by_file_drains_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("disabled");
    let s = TestServer::start_with(&format!(
        "[healthcheck]\nbackends = disable_by_file\ndisable_by_file_path = {}\ndetailed = true\n",
        flag.display()
    ));
    assert_eq!(s.get("/healthcheck", None).body, "OK\nOK");
    std::fs::write(&flag, b"").expect("flag file");
    let r = s.get("/healthcheck", None);
    assert_eq!((r.status, r.body.as_str()), (503, "OK\nDISABLED BY FILE"));
    assert_eq!(s.request("HEAD", "/healthcheck", &[], None).status, 503);
    let r = s.request(
        "GET",
        "/healthcheck",
        &[("Accept", "application/json")],
        None,
    );
    assert_eq!(r.status, 503);
    let body = r.json();
    assert_eq!(body["detailed"], true);
    assert_eq!(body["reasons"][0]["class"], "DatabaseHealthcheck");
    assert_eq!(body["reasons"][1]["reason"], "DISABLED BY FILE");
    std::fs::remove_file(&flag).expect("remove flag");
    assert_eq!(s.get("/healthcheck", None).status, 200);
}

/// The value of one sample line (`name{labels} value`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_count_routes_by_pattern_tokens_caches_and_the_pool() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let user = s.make_user("metrics-user", "default", "metrics-pass-1");
    assert_eq!(
        s.get(&format!("/v3/users/{user}"), Some(&admin)).status,
        200
    );
    for _ in 0..3 {
        assert_eq!(s.tokens("GET", "", &admin, &admin).status, 200);
    }
    assert_eq!(s.get("/no/such/route", None).status, 404);
    let r = s.get("/metrics", None);
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        r.header("content-type")
    );
    let m = &r.body;
    // Route patterns, never raw paths (bounded label values).
    assert!(
        sample(
            m,
            r#"keystone_http_requests_total{method="GET",route="/v3/users/{user_id}",status="200"}"#
        )
        .is_some_and(|v| v >= 1.0),
        "{m}"
    );
    assert!(!m.contains(&user), "a raw path leaked into a label");
    assert!(
        sample(
            m,
            r#"keystone_http_requests_total{method="GET",route="unmatched",status="404"}"#
        )
        .is_some_and(|v| v >= 1.0)
    );
    assert!(m.contains(
        r#"keystone_http_request_duration_seconds_bucket{method="GET",route="/v3/auth/tokens",status="200",le="#
    ));
    assert!(
        sample(m, r#"keystone_tokens_issued_total{scope="project"}"#).is_some_and(|v| v >= 1.0)
    );
    assert!(
        sample(m, r#"keystone_token_validations_total{result="valid"}"#).is_some_and(|v| v >= 6.0)
    );
    assert!(
        sample(
            m,
            r#"keystone_cache_lookups_total{cache="user",result="hit"}"#
        )
        .is_some_and(|v| v >= 1.0),
        "{m}"
    );
    assert!(sample(m, r#"keystone_db_pool_connections{state="max"}"#).is_some_and(|v| v >= 1.0));
    assert!(sample(m, r#"keystone_db_pool_connections{state="open"}"#).is_some());
}

#[test]
fn metrics_can_be_switched_off() {
    let s = TestServer::start_with("[metrics]\nenabled = false\n");
    assert_eq!(s.get("/metrics", None).status, 404);
    assert_eq!(s.get("/healthcheck", None).status, 200);
}
