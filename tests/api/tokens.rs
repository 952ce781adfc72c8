//! Issue, validate, check and rescope: bodies and headers as Python Keystone's.

use crate::support::TestServer;
use serde_json::{Value, json};

fn keys(v: &Value) -> Vec<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

#[test]
fn project_token_has_keystone_shape_and_headers() {
    let s = TestServer::start();
    let r = s.password_auth(Some(
        json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
    ));
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.header("x-openstack-request-id")
            .is_some_and(|v| v.starts_with("req-"))
    );
    assert_eq!(r.header("vary"), Some("X-Auth-Token"));
    assert!(
        !r.body.ends_with('\n'),
        "token bodies have no trailing newline"
    );
    assert!(
        r.body.contains("\"methods\": [\"password\"]"),
        "Python separators: {}",
        r.body
    );
    let token = &r.json()["token"];
    assert_eq!(
        keys(token),
        [
            "methods",
            "user",
            "audit_ids",
            "expires_at",
            "issued_at",
            "project",
            "is_domain",
            "roles",
            "catalog"
        ]
    );
    assert_eq!(
        keys(&token["user"]),
        ["domain", "id", "name", "password_expires_at"]
    );
    assert_eq!(
        token["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert_eq!(token["project"]["name"], "admin");
    let mut roles: Vec<&str> = token["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        ["admin", "manager", "member", "reader"],
        "implied roles expanded"
    );
    let expires = token["expires_at"].as_str().unwrap();
    assert!(
        expires.ends_with(".000000Z") && expires.len() == 27,
        "{expires}"
    );
    let catalog = token["catalog"].as_array().unwrap();
    assert_eq!(catalog.len(), 1);
    assert_eq!(keys(&catalog[0]), ["endpoints", "id", "type", "name"]);
    assert_eq!(catalog[0]["endpoints"].as_array().unwrap().len(), 3);
    assert_eq!(
        keys(&catalog[0]["endpoints"][0]),
        ["id", "interface", "region_id", "url", "region"]
    );
    assert_eq!(
        token["audit_ids"].as_array().unwrap()[0]
            .as_str()
            .unwrap()
            .len(),
        22
    );
}

#[test]
fn every_scope_kind_issues_and_validates() {
    let s = TestServer::start();
    s.grant_admin_on_default_domain();
    let admin = s.admin_token();
    for (scope, key) in [
        (None, None),
        (Some(json!("unscoped")), None),
        (Some(json!({"unscoped": {}})), None),
        (Some(json!({"domain": {"id": "default"}})), Some("domain")),
        (Some(json!({"domain": {"name": "Default"}})), Some("domain")),
        (Some(json!({"system": {"all": true}})), Some("system")),
        (
            Some(json!({"project": {"name": "admin", "domain": {"name": "Default"}}})),
            Some("project"),
        ),
    ] {
        let r = s.password_auth(scope.clone());
        assert_eq!(r.status, 201, "{scope:?}: {}", r.body);
        let token = r.subject_token();
        let v = s.tokens("GET", "", &admin, &token);
        assert_eq!(v.status, 200, "{scope:?}: {}", v.body);
        assert_eq!(v.header("X-Subject-Token"), Some(token.as_str()));
        let body = v.json();
        match key {
            None => {
                assert!(
                    body["token"].get("roles").is_none() && body["token"].get("catalog").is_none()
                );
            }
            Some(k) => {
                assert!(body["token"].get(k).is_some(), "{k} in {body}");
                assert!(body["token"].get("catalog").is_some());
            }
        }
    }
}

#[test]
fn scope_without_a_role_is_401() {
    let s = TestServer::start();
    let r = s.password_auth(Some(json!({"domain": {"id": "default"}})));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["error"]["message"],
        "The request you have made requires authentication."
    );
}

#[test]
fn head_and_nocatalog() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let head = s.tokens("HEAD", "", &admin, &admin);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let get = s.tokens("GET", "?nocatalog", &admin, &admin);
    assert_eq!(get.status, 200);
    assert!(get.json()["token"].get("catalog").is_none());
    // Presence counts, whatever the value.
    let get = s.tokens("GET", "?nocatalog=false", &admin, &admin);
    assert!(get.json()["token"].get("catalog").is_none());
}

#[test]
fn password_by_user_id_and_name_wins_over_id() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let me = s.tokens("GET", "", &admin, &admin).json()["token"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_id = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": me, "password": "secretadmin"}}}}});
    assert_eq!(s.post_json("/v3/auth/tokens", None, &by_id).status, 201);
    let both = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": "nonexistent", "name": "admin", "domain": {"id": "default"}, "password": "secretadmin"}}}}});
    assert_eq!(s.post_json("/v3/auth/tokens", None, &both).status, 201);
}

#[test]
fn rescope_inherits_expiry_and_chains_audit_ids() {
    let s = TestServer::start();
    let unscoped = s.password_auth(Some(json!("unscoped")));
    let parent = unscoped.json();
    let parent_token = unscoped.subject_token();
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": parent_token}},
                 "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let child = r.json();
    assert_eq!(child["token"]["expires_at"], parent["token"]["expires_at"]);
    let parent_audit = &parent["token"]["audit_ids"][0];
    assert_eq!(&child["token"]["audit_ids"][1], parent_audit);
    let mut methods: Vec<&str> = child["token"]["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    methods.sort();
    assert_eq!(methods, ["password", "token"]);
}

/// What Keystone answers for a token its provider cannot read: the recorded Fernet answer,
/// or the JWS provider's `TokenNotFound` (the same layout, its own message).
fn garbage_body(token: &str) -> String {
    let fernet = crate::support::vector_body("err_validate_garbage");
    fernet.replace(
        "Could not recognize Fernet token",
        &crate::support::unrecognised_token_message(token),
    )
}

#[test]
fn garbage_and_missing_subject_tokens() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = s.tokens("GET", "", &admin, "gAAAAABgarbage");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, garbage_body("gAAAAABgarbage"));
    let r = s.request("GET", "/v3/auth/tokens", &[("X-Auth-Token", &admin)], None);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        crate::support::vector_body("err_validate_no_subject")
    );
    let r = s.request(
        "GET",
        "/v3/auth/tokens",
        &[("X-Subject-Token", &admin)],
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.body, crate::support::vector_body("err_validate_no_auth"));
    let www = r
        .header("www-authenticate")
        .expect("WWW-Authenticate on 401");
    assert_eq!(www, format!("Keystone uri=\"{}/v3\"", s.base));
}

#[test]
fn token_method_with_garbage_is_404() {
    let s = TestServer::start();
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "not-a-token"}}}}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["error"]["message"],
        crate::support::unrecognised_token_message("not-a-token")
    );
}

#[test]
fn trailing_slash_is_ignored() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = s.request(
        "GET",
        "/v3/auth/tokens/",
        &[("X-Auth-Token", &admin), ("X-Subject-Token", &admin)],
        None,
    );
    assert_eq!(r.status, 200);
}
