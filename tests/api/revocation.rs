//! DELETE /v3/auth/tokens and the events it writes.

use crate::support::TestServer;
use serde_json::json;

#[test]
fn revoked_token_fails_validation_and_cascades_to_rescoped_children() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let parent = s.password_auth(Some(json!("unscoped"))).subject_token();
    let child = s
        .post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": parent}},
                     "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
        )
        .subject_token();
    assert_eq!(s.tokens("GET", "", &admin, &child).status, 200);
    let r = s.tokens("DELETE", "", &admin, &parent);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.body.is_empty());
    for t in [&parent, &child] {
        let v = s.tokens("GET", "", &admin, t);
        assert_eq!(v.status, 404);
        assert_eq!(v.json()["error"]["message"], "Failed to validate token");
    }
    // Revoking again: the subject is validated first.
    assert_eq!(s.tokens("DELETE", "", &admin, &parent).status, 404);

    let events = s.get("/v3/OS-REVOKE/events", Some(&admin));
    assert_eq!(events.status, 200, "{}", events.body);
    assert!(events.body.ends_with('\n'));
    let list = events.json()["events"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "audit id and audit chain events: {list:?}");
    assert!(list[0].get("audit_id").is_some() && list[1].get("audit_chain_id").is_some());
    let ts = list[0]["issued_before"].as_str().unwrap();
    assert!(ts.ends_with(".000000Z"), "{ts}");
}

#[test]
fn cascade_false_keeps_children() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let parent = s.password_auth(Some(json!("unscoped"))).subject_token();
    let child = s
        .post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": parent}},
                     "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
        )
        .subject_token();
    assert_eq!(
        s.tokens("DELETE", "?cascade=false", &admin, &parent).status,
        204
    );
    assert_eq!(s.tokens("GET", "", &admin, &parent).status, 404);
    assert_eq!(s.tokens("GET", "", &admin, &child).status, 200);
}

#[test]
fn revoke_events_since_filter_and_bad_date() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = s.get("/v3/OS-REVOKE/events?since=not-a-date", Some(&admin));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "invalidate date format not-a-date"
    );
    let r = s.get(
        "/v3/OS-REVOKE/events?since=2000-01-01T00:00:00Z",
        Some(&admin),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["events"], json!([]));
}

/// Two nodes sharing the database, with the given `[validation_cache]` options.
fn two_nodes(cache_conf: &str) -> (TestServer, TestServer) {
    let a = TestServer::start_with(&format!("[validation_cache]\n{cache_conf}\n"));
    let b = a.second_node();
    (a, b)
}

#[test]
fn a_revocation_on_one_node_is_honoured_on_another_within_the_sync_interval() {
    // The documented default bound.
    let bound = std::time::Duration::from_millis(1000);
    let (a, b) = two_nodes("enabled = true");
    let admin = a.admin_token();
    let subject = a.admin_token();
    // Node b validates (and caches) both tokens first.
    for _ in 0..3 {
        assert_eq!(b.tokens("GET", "", &admin, &subject).status, 200);
    }
    let revoked_at = std::time::Instant::now();
    assert_eq!(a.tokens("DELETE", "", &admin, &subject).status, 204);
    // The writing node drops its caches with the commit.
    assert_eq!(a.tokens("GET", "", &admin, &subject).status, 404);
    // The other node notices within the interval (plus the time of one request).
    let mut seen = b.tokens("GET", "", &admin, &subject).status;
    while seen != 404 && revoked_at.elapsed() < bound {
        std::thread::sleep(std::time::Duration::from_millis(50));
        seen = b.tokens("GET", "", &admin, &subject).status;
    }
    if seen != 404 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        seen = b.tokens("GET", "", &admin, &subject).status;
    }
    assert_eq!(
        seen,
        404,
        "node b still accepts a token revoked {:?} ago",
        revoked_at.elapsed()
    );
    assert_eq!(b.tokens("GET", "", &admin, &admin).status, 200);
}

#[test]
fn a_removed_role_is_honoured_on_another_node_and_at_once_on_the_writer() {
    let (a, b) = two_nodes("sync_interval_ms = 300");
    let user = a.make_user("cached-roles", "default", "cached-pass-1");
    let project = a.make_project("cached-roles", "default", None);
    let admin = a.admin_token();
    let roles = a.get("/v3/roles?name=member", Some(&admin)).json();
    let member = roles["roles"][0]["id"]
        .as_str()
        .expect("member role")
        .to_string();
    let grant = format!("/v3/projects/{project}/users/{user}/roles/{member}");
    let r = a.request("PUT", &grant, &[("X-Auth-Token", admin.as_str())], None);
    assert_eq!(r.status, 204, "{}", r.body);
    let token = a
        .post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "id": user, "password": "cached-pass-1"}}},
                "scope": {"project": {"id": project}}}}),
        )
        .subject_token();
    for s in [&a, &b] {
        assert_eq!(s.tokens("GET", "", &admin, &token).status, 200);
        assert_eq!(s.tokens("GET", "", &admin, &token).status, 200);
    }
    let r = a.request("DELETE", &grant, &[("X-Auth-Token", admin.as_str())], None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(a.tokens("GET", "", &admin, &token).status, 404);
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(b.tokens("GET", "", &admin, &token).status, 404);
}

#[test]
fn the_writing_node_needs_no_poll() {
    // An interval no test waits for: only the local invalidation can make these pass.
    let s = TestServer::start_with("[validation_cache]\nsync_interval_ms = 600000\n");
    let admin = s.admin_token();
    let subject = s.admin_token();
    assert_eq!(s.tokens("GET", "", &admin, &subject).status, 200);
    assert_eq!(s.tokens("HEAD", "", &admin, &subject).status, 200);
    assert_eq!(s.tokens("DELETE", "", &admin, &subject).status, 204);
    assert_eq!(s.tokens("GET", "", &admin, &subject).status, 404);
    assert_eq!(s.tokens("GET", "?nocatalog", &admin, &subject).status, 404);
}
