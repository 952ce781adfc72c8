//! Bad input on the token routes: Keystone's 4xx bodies, byte for byte where captured.

use crate::support::{ADMIN_PASSWORD, TestServer, vector_body};
use serde_json::json;

fn post_raw(s: &TestServer, content_type: &str, body: &[u8]) -> crate::support::Response {
    s.request(
        "POST",
        "/v3/auth/tokens",
        &[("Content-Type", content_type)],
        Some(body),
    )
}

#[test]
fn malformed_bodies_match_captured_bytes() {
    let s = TestServer::start();
    let cases: [(&str, &[u8], &str); 5] = [
        ("application/json", b"{not json", "err_invalid_json"),
        ("application/json", b"[1, 2]", "err_json_list"),
        ("text/plain", b"{\"auth\": {}}", "err_content_type"),
        ("application/json", b"", "err_no_body"),
        (
            "application/json",
            b"{\"auth\": {\"identity\": {\"methods\": [\"password\"]}}}",
            "err_missing_method_data",
        ),
    ];
    for (ct, body, vector) in cases {
        let r = post_raw(&s, ct, body);
        assert_eq!(r.status, 400, "{vector}");
        assert_eq!(r.body, vector_body(vector), "{vector}");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
}

#[test]
fn semantic_errors_match_captured_bytes() {
    let s = TestServer::start();
    let pw = |user: serde_json::Value| json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}});
    let cases = [
        (pw(json!({"password": "x"})), "err_user_no_id_no_name"),
        (
            pw(json!({"name": "admin", "password": "x"})),
            "err_name_without_domain",
        ),
        (
            pw(json!({"name": "nobody", "domain": {"id": "default"}, "password": "x"})),
            "err_unknown_user",
        ),
        (
            pw(json!({"name": "admin", "domain": {"id": "default"}, "password": "wrong"})),
            "err_bad_password",
        ),
        (
            pw(json!({"id": "0123456789abcdef0123456789abcdef", "password": "x"})),
            "err_unknown_user_id",
        ),
        (
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "secretadmin"}}},
                   "scope": {"project": {"id": "x"}, "domain": {"id": "default"}}}}),
            "err_two_scopes",
        ),
        (
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "secretadmin"}}},
                   "scope": "foo"}}),
            "err_scope_string_other",
        ),
        (
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "secretadmin"}}},
                   "scope": {"project": {"name": "admin"}}}}),
            "err_project_name_no_domain",
        ),
        (
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "secretadmin"}}},
                   "scope": {"project": {"id": "nope"}}}}),
            "err_unknown_project",
        ),
        (
            pw(json!({"name": "admin", "domain": {"id": "nope"}, "password": "x"})),
            "err_unknown_domain",
        ),
        // jsonschema's whole `str(error)`: the failing schema and instance pretty-printed.
        (
            json!({"auth": {"identity": {"methods": "password"}}}),
            "err_schema",
        ),
    ];
    for (body, vector) in cases {
        let r = s.post_json("/v3/auth/tokens", None, &body);
        assert_eq!(
            r.status,
            crate::support::vector_status(vector),
            "{vector}: {}",
            r.body
        );
        assert_eq!(r.body, vector_body(vector), "{vector}");
    }
}

#[test]
fn schema_errors_are_400_never_500() {
    let s = TestServer::start();
    for body in [
        json!({"auth": {"identity": {"methods": "password"}}}),
        json!({"auth": {"identity": {"methods": [1]}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": "admin"}}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": 3, "domain": {"id": "default"}}}}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": 5}}}}}),
        json!({"auth": {"identity": {"methods": ["token"], "token": {}}}}),
        json!({"auth": {"identity": {"methods": ["token"], "token": {"id": 7}}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": "y"}}}, "scope": 4}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": "y"}}}, "scope": {"project": "p"}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": "y"}}}, "scope": {"domain": {}}}}),
        json!({"auth": "x"}),
        json!({"auth": {"identity": 1}}),
    ] {
        let r = s.post_json("/v3/auth/tokens", None, &body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], 400);
    }
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": "password"}}}),
    );
    assert!(r.json()["error"]["message"].as_str().unwrap().starts_with(
        "Invalid input for field 'identity/methods': 'password' is not of type 'array'"
    ));
}

#[test]
fn unsupported_method_lists_configured_methods() {
    let s = TestServer::start_with("[auth]\nmethods = password,token\n");
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["totp"], "totp": {}}}}),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        "{\"error\":{\"code\":401,\"identity\":{\"methods\":[\"password\",\"token\"]},\"message\":\"Attempted to authenticate with an unsupported method.\",\"title\":\"Unauthorized\"}}\n"
    );
}

#[test]
fn oversized_body_is_413_text() {
    let s = TestServer::start();
    let big = vec![b' '; 114_689];
    let r = post_raw(&s, "application/json", &big);
    assert_eq!(r.status, 413);
    assert_eq!(r.body, vector_body("err_big_body"));
}

#[test]
fn unknown_route_and_wrong_method() {
    let s = TestServer::start();
    let r = s.get("/v3/no-such-thing", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.body, vector_body("not_found_route"));
    let r = s.request("PUT", "/v3/auth/tokens", &[], None);
    assert_eq!(r.status, 405);
    assert_eq!(r.body, vector_body("method_not_allowed"));
    // RFC 9110 §15.5.6, and Keystone sends it too ("HEAD, OPTIONS, DELETE, POST, GET"):
    // the methods the route serves.
    let mut allow: Vec<&str> = r.header("Allow").expect("Allow").split(", ").collect();
    allow.sort_unstable();
    assert_eq!(allow, ["DELETE", "GET", "HEAD", "POST"]);
}

fn message(r: &crate::support::Response) -> String {
    r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Keystone's `validate_issue_token_auth` runs before any lookup: a password `user` given
/// by id with a `domain` that names nothing is a 400 (keystone-rs used to authenticate it).
#[test]
fn user_by_id_with_an_empty_domain_is_400() {
    let s = TestServer::start();
    let admin = s.password_auth(None).json()["token"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let by_id = |user: serde_json::Value| {
        s.post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}),
        )
    };
    let r = by_id(json!({"id": admin, "password": ADMIN_PASSWORD, "domain": {}}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body,
        "{\"error\":{\"code\":400,\"message\":\"Invalid input for field identity/password/user/domain: id or name must be present.\",\"title\":\"Bad Request\"}}\n"
    );
    // A domain naming something is not looked at for a user given by id.
    let r = by_id(json!({"id": admin, "password": ADMIN_PASSWORD, "domain": {"id": "nope"}}));
    assert_eq!(r.status, 201, "{}", r.body);
    // Keystone's plugin tests the id for truth.
    let r = by_id(json!({"id": "", "password": ADMIN_PASSWORD}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        message(&r)
            .starts_with("Expecting to find id or name in user. The server could not comply"),
        "{}",
        r.body
    );
    let r = by_id(json!({"name": "admin", "password": ADMIN_PASSWORD, "domain": {"id": ""}}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        message(&r).starts_with("Expecting to find id or name in domain."),
        "{}",
        r.body
    );
}

/// The scope references `validate_issue_token_auth` checks, and the schema's own texts
/// for the root of `auth`.
#[test]
fn scope_references_and_the_auth_root_answer_as_keystone() {
    let s = TestServer::start();
    let with_scope = |scope: serde_json::Value| {
        let mut body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}}}});
        body["auth"]["scope"] = scope;
        s.post_json("/v3/auth/tokens", None, &body)
    };
    for (scope, field) in [
        (json!({"domain": {}}), "scope/domain"),
        (
            json!({"project": {"domain": {"id": "default"}}}),
            "scope/project",
        ),
        (
            json!({"project": {"name": "admin", "domain": {}}}),
            "scope/project/domain",
        ),
    ] {
        let r = with_scope(scope);
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            message(&r),
            format!("Invalid input for field {field}: id or name must be present.")
        );
    }
    let r = with_scope(json!({"OS-TRUST:trust": {"id": ""}}));
    assert!(
        message(&r).starts_with("Expecting to find trust_id in trust."),
        "{}",
        r.body
    );
    // An unsupported method does not hide a bad reference: Keystone checks the body first.
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["totp"], "totp": {}}, "scope": {"domain": {}}}}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = s.post_json("/v3/auth/tokens", None, &json!({"auth": {}}));
    assert_eq!(r.status, 400, "{}", r.body);
    let m = message(&r);
    assert!(
        m.starts_with("'identity' is a required property\n\nFailed validating 'required' in schema:\n    {'type': 'object',\n     'properties': {'identity': {'type': 'object',\n"),
        "{m}"
    );
    assert!(m.ends_with("\n\nOn instance:\n    {}"), "{m}");
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "x", "password": 5}}}}}),
    );
    assert_eq!(
        message(&r),
        "Invalid input for field 'identity/password/user/password': 5 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['identity']['properties']['password']['properties']['user']['properties']['password']:\n    {'type': 'string'}\n\nOn instance['identity']['password']['user']['password']:\n    5"
    );
}
