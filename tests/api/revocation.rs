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
