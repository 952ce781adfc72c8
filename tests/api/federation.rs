//! OS-FEDERATION attribute mappings: Keystone's bodies, status codes, schema validation and
//! policy (identity:*_mapping).

use crate::support::{TestServer, send};
use serde_json::{Value, json};

const PATH: &str = "/v3/OS-FEDERATION/mappings";

fn cn_rules() -> Value {
    json!([{"local": [{"user": {"name": "{0}"}}],
            "remote": [{"type": "SSL_CLIENT_SUBJECT_DN_CN"}]}])
}

#[test]
fn mapping_lifecycle_has_keystones_bodies() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let path = format!("{PATH}/m1");

    let r = send(
        &s,
        "PUT",
        &path,
        &admin,
        Some(&json!({"mapping": {"rules": cn_rules()}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let expected = json!({"mapping": {
        "id": "m1",
        "rules": cn_rules(),
        "schema_version": "1.0",
        "links": {"self": format!("{}{path}", s.base)},
    }});
    assert_eq!(r.json(), expected);
    // Keystone's key order: id, rules, schema_version, links.
    assert!(
        r.body
            .starts_with("{\"mapping\": {\"id\": \"m1\", \"rules\": "),
        "{}",
        r.body
    );

    let r = send(&s, "GET", &path, &admin, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), expected);
    let r = send(&s, "HEAD", &path, &admin, None);
    assert_eq!(r.status, 200);

    let r = send(
        &s,
        "PUT",
        &path,
        &admin,
        Some(&json!({"mapping": {"rules": cn_rules()}})),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.json()["error"]["message"],
        "Conflict occurred attempting to store mapping - Duplicate entry."
    );

    let patched = json!([{"local": [{"user": {"name": "{0}"}}],
        "remote": [{"type": "X", "any_one_of": ["a"]}, {"type": "Y"}]}]);
    let r = send(
        &s,
        "PATCH",
        &path,
        &admin,
        Some(&json!({"mapping": {"rules": patched, "schema_version": "2.0"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["mapping"]["rules"], patched);
    assert_eq!(r.json()["mapping"]["schema_version"], "2.0");

    let r = send(
        &s,
        "PUT",
        &format!("{PATH}/m0"),
        &admin,
        Some(&json!({"mapping": {"rules": cn_rules()}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(&s, "GET", PATH, &admin, None);
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json();
    let ids: Vec<&str> = list["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["m0", "m1"]);
    assert_eq!(
        list["links"],
        json!({"next": null, "self": format!("{}{PATH}", s.base), "previous": null})
    );
    assert_eq!(list["mappings"][1]["schema_version"], "2.0");

    let r = send(&s, "DELETE", &path, &admin, None);
    assert_eq!(r.status, 204, "{}", r.body);
    for method in ["GET", "DELETE"] {
        let r = send(&s, method, &path, &admin, None);
        assert_eq!(r.status, 404, "{method}: {}", r.body);
        assert_eq!(r.json()["error"]["message"], "Could not find mapping: m1.");
    }
    let r = send(
        &s,
        "PATCH",
        &path,
        &admin,
        Some(&json!({"mapping": {"rules": cn_rules()}})),
    );
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn invalid_rules_are_400_with_every_violation() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let path = format!("{PATH}/bad");
    let bad = [
        json!({}),
        json!({"mapping": {}}),
        json!({"mapping": "rules"}),
        json!({"mapping": {"rules": []}}),
        json!({"mapping": {"rules": [{"local": [{"user": {"nam": "{0}"}}], "remote": []}]}}),
        json!({"mapping": {"rules": [{"local": [], "remote": [{"type": "a", "any_one_of": ["x"], "whitelist": ["y"]}]}]}}),
        json!({"mapping": {"rules": [{"local": [{"user": {"type": "nobody"}}], "remote": [{"type": "a"}]}]}}),
        json!({"mapping": {"rules": cn_rules(), "schema_version": "9.9"}}),
        json!({"mapping": {"rules": cn_rules(), "schema_version": 2}}),
        json!({"mapping": {"rules": [{"local": [{"projects": [{"name": "p", "roles": [], "domain": {"id": "d"}}]}],
                                      "remote": [{"type": "a"}]}]}}),
    ];
    for body in bad {
        let r = send(&s, "PUT", &path, &admin, Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json()["error"]["title"], "Bad Request");
    }
    let r = send(
        &s,
        "PUT",
        &path,
        &admin,
        Some(&json!({"mapping": {"rules": [{"local": [{"user": {"nam": "{0}"}}], "remote": []}]}})),
    );
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert_eq!(message.lines().count(), 2, "{message}");
    assert!(message.contains("'nam'"), "{message}");
    // Nothing was stored by the refusals; a 2.0 mapping may name project domains.
    assert_eq!(send(&s, "GET", &path, &admin, None).status, 404);
    let v2 = json!({"mapping": {"schema_version": "2.0", "rules": [{"local": [{"projects": [
        {"name": "p", "roles": [{"name": "member"}], "domain": {"id": "default"}}]}],
        "remote": [{"type": "a"}]}]}});
    assert_eq!(send(&s, "PUT", &path, &admin, Some(&v2)).status, 201);
}

#[test]
fn mappings_need_an_admin() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = s.get(PATH, None);
    assert_eq!(r.status, 401, "{}", r.body);
    let project = s.make_project("mapping-reader-project", "default", None);
    let user = s.make_user("mapping-reader", "default", "secret-pass-1");
    let member = crate::support::role_id(&s, &admin, "member");
    let r = send(
        &s,
        "PUT",
        &format!("/v3/projects/{project}/users/{user}/roles/{member}"),
        &admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": user, "password": "secret-pass-1"}}},
            "scope": {"project": {"id": project}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.subject_token();
    // Policy comes before the body: a malformed mapping from a member is still a 403.
    for (method, path, body) in [
        ("GET", PATH.to_string(), None),
        ("GET", format!("{PATH}/x"), None),
        ("PUT", format!("{PATH}/x"), Some(json!({"mapping": {}}))),
        (
            "PATCH",
            format!("{PATH}/x"),
            Some(json!({"mapping": {"rules": cn_rules()}})),
        ),
        ("DELETE", format!("{PATH}/x"), None),
    ] {
        let r = send(&s, method, &path, &token, body.as_ref());
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
}
