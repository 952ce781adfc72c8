//! `/v3/credentials`, OS-EC2, `/v3/ec2tokens` and `/v3/s3tokens`: bodies, owner rules and
//! the delegated-token limits, every bad input a 400 (never a 500), encryption at rest,
//! cascades, and a second node seeing changes at once.

use crate::support::{Response, TestServer, role_id, send};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

struct World {
    s: TestServer,
    admin: String,
    project: String,
    alice: String,
    bob: String,
    alice_token: String,
    bob_token: String,
}

fn user_token(s: &TestServer, user_id: &str, password: &str, project: &str) -> String {
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": user_id, "password": password}}}, "scope": {"project": {"id": project}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.subject_token()
}

impl World {
    fn new() -> World {
        Self::with(TestServer::start())
    }

    fn with(s: TestServer) -> World {
        let admin = s.admin_token();
        let project = s.make_project("credproj", "default", None);
        let alice = s.make_user("alice", "default", "alicepw");
        let bob = s.make_user("bob", "default", "bobpw");
        let member = role_id(&s, &admin, "member");
        for u in [&alice, &bob] {
            let r = send(
                &s,
                "PUT",
                &format!("/v3/projects/{project}/users/{u}/roles/{member}"),
                &admin,
                None,
            );
            assert_eq!(r.status, 204, "{}", r.body);
        }
        let alice_token = user_token(&s, &alice, "alicepw", &project);
        let bob_token = user_token(&s, &bob, "bobpw", &project);
        World {
            s,
            admin,
            project,
            alice,
            bob,
            alice_token,
            bob_token,
        }
    }

    fn create(&self, token: &str, credential: Value) -> Response {
        send(
            &self.s,
            "POST",
            "/v3/credentials",
            token,
            Some(&json!({"credential": credential})),
        )
    }
}

fn assert_not_500(r: &Response, what: &str) {
    assert!(r.status < 500, "{what}: {} {}", r.status, r.body);
}

#[test]
fn crud_bodies_and_encryption_at_rest() {
    let w = World::new();
    let r = w.create(
        &w.admin,
        json!({"user_id": w.alice, "type": "cert", "blob": "sekrit-blob-text", "project_id": w.project, "note": "kept"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let c = r.json()["credential"].clone();
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(c["blob"], "sekrit-blob-text");
    assert_eq!(c["type"], "cert");
    assert_eq!(c["user_id"], w.alice.as_str());
    assert_eq!(c["project_id"], w.project.as_str());
    assert_eq!(c["note"], "kept");
    assert!(
        c["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/credentials/{id}"))
    );

    // At rest: sealed, with the SHA-1 of the primary key's text.
    let row =
        w.s.db()
            .read_blocking(|conn| keystone_rs::credential::store::get(conn, &id))
            .unwrap()
            .unwrap();
    assert!(!row.encrypted_blob.contains("sekrit"));
    assert!(row.encrypted_blob.starts_with("gAAAAA"));
    assert_eq!(
        row.encrypted_blob.len() % 4,
        0,
        "Python's Fernet wants padding"
    );
    let keys = keystone_rs::credential::CredentialKeys::from_config(&w.s.config);
    let primary = keys.repository().load().unwrap()[0].clone();
    assert_eq!(
        row.key_hash,
        keystone_rs::credential::crypto::key_hash(&primary)
    );
    assert_eq!(
        keys.decrypt(&row.encrypted_blob).unwrap(),
        "sekrit-blob-text"
    );

    let r = w.s.get(&format!("/v3/credentials/{id}"), Some(&w.admin));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["credential"], c);
    let r = w.s.get("/v3/credentials", Some(&w.admin));
    assert_eq!(r.status, 200);
    assert!(
        r.json()["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str())
    );
    let r = w.s.get("/v3/credentials?type=ec2", Some(&w.admin));
    assert!(
        !r.json()["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str())
    );
    let r = w.s.get(
        &format!("/v3/credentials?user_id={}", w.bob),
        Some(&w.admin),
    );
    assert_eq!(r.json()["credentials"], json!([]));

    let r = send(
        &w.s,
        "PATCH",
        &format!("/v3/credentials/{id}"),
        &w.admin,
        Some(&json!({"credential": {"blob": "new-blob"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["credential"]["blob"], "new-blob");
    assert_eq!(r.json()["credential"]["note"], "kept");
    let r = send(
        &w.s,
        "PATCH",
        &format!("/v3/credentials/{id}"),
        &w.admin,
        Some(&json!({"credential": {"type": "totp"}})),
    );
    assert_eq!(r.json()["credential"]["blob"], "new-blob");
    assert_eq!(r.json()["credential"]["type"], "totp");

    let r = send(
        &w.s,
        "DELETE",
        &format!("/v3/credentials/{id}"),
        &w.admin,
        None,
    );
    assert_eq!(r.status, 204);
    let r = w.s.get(&format!("/v3/credentials/{id}"), Some(&w.admin));
    assert_eq!(r.status, 404);
    assert!(
        r.body
            .contains(&format!("Could not find credential: {id}.")),
        "{}",
        r.body
    );
    let r = send(
        &w.s,
        "DELETE",
        &format!("/v3/credentials/{id}"),
        &w.admin,
        None,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn ec2_credential_id_is_the_hash_of_its_access_key() {
    let w = World::new();
    let blob = json!({"access": "my-access", "secret": "my-secret"}).to_string();
    let r = w.create(
        &w.alice_token,
        json!({"user_id": w.alice, "type": "ec2", "blob": blob, "project_id": w.project}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let expected = hex(&Sha256::digest(b"my-access"));
    assert_eq!(r.json()["credential"]["id"], expected.as_str());
    assert_eq!(r.json()["credential"]["blob"], blob.as_str());
    // Same access key again: Keystone's 409.
    let r = w.create(
        &w.alice_token,
        json!({"user_id": w.alice, "type": "ec2", "blob": blob, "project_id": w.project}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    // Visible through OS-EC2 by access key.
    let r = w.s.get(
        &format!("/v3/users/{}/credentials/OS-EC2/my-access", w.alice),
        Some(&w.alice_token),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["credential"]["secret"], "my-secret");
    assert_eq!(r.json()["credential"]["tenant_id"], w.project.as_str());
}

#[test]
fn owners_see_and_change_only_their_own() {
    let w = World::new();
    let r = w.create(
        &w.alice_token,
        json!({"user_id": w.alice, "type": "cert", "blob": "a"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let mine = r.json()["credential"]["id"].as_str().unwrap().to_string();
    // For another user: 403.
    let r = w.create(
        &w.alice_token,
        json!({"user_id": w.bob, "type": "cert", "blob": "a"}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = w.create(
        &w.bob_token,
        json!({"user_id": w.bob, "type": "cert", "blob": "b"}),
    );
    let bobs = r.json()["credential"]["id"].as_str().unwrap().to_string();

    // Another user's credential: 403 for every verb; a missing one: 403 too (policy decides
    // before the lookup, so existence does not leak), while an admin gets the 404.
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"credential": {"blob": "x"}}))),
        ("DELETE", None),
    ] {
        let r = send(
            &w.s,
            method,
            &format!("/v3/credentials/{bobs}"),
            &w.alice_token,
            body.as_ref(),
        );
        assert_eq!(r.status, 403, "{method}: {}", r.body);
        let r = send(
            &w.s,
            method,
            "/v3/credentials/nope",
            &w.alice_token,
            body.as_ref(),
        );
        assert_eq!(r.status, 403, "{method} missing: {}", r.body);
        let r = send(
            &w.s,
            method,
            "/v3/credentials/nope",
            &w.admin,
            body.as_ref(),
        );
        assert_eq!(r.status, 404, "{method} missing as admin: {}", r.body);
    }
    // The list holds only her own, whatever the filter.
    for q in ["", &format!("?user_id={}", w.bob)] {
        let r =
            w.s.get(&format!("/v3/credentials{q}"), Some(&w.alice_token));
        assert_eq!(r.status, 200, "{}", r.body);
        let ids: Vec<String> = r.json()["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!ids.contains(&bobs), "{q}: {ids:?}");
        if q.is_empty() {
            assert_eq!(ids, vec![mine.clone()]);
        }
    }
    // Handing her credential to Bob is refused (the changed credential must pass policy).
    let r = send(
        &w.s,
        "PATCH",
        &format!("/v3/credentials/{mine}"),
        &w.alice_token,
        Some(&json!({"credential": {"user_id": w.bob}})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = w.s.get(&format!("/v3/credentials/{mine}"), Some(&w.admin));
    assert_eq!(r.json()["credential"]["user_id"], w.alice.as_str());
    // Her own, she may change and delete.
    let r = send(
        &w.s,
        "PATCH",
        &format!("/v3/credentials/{mine}"),
        &w.alice_token,
        Some(&json!({"credential": {"blob": "z"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        &w.s,
        "DELETE",
        &format!("/v3/credentials/{mine}"),
        &w.alice_token,
        None,
    );
    assert_eq!(r.status, 204);
    // No token: 401.
    let r = w.s.get("/v3/credentials", None);
    assert_eq!(r.status, 401);
}

#[test]
fn bad_input_is_a_400_never_a_500() {
    let w = World::new();
    let ec2 = |blob: Value| json!({"credential": {"user_id": w.alice, "type": "ec2", "project_id": w.project, "blob": blob}});
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "'credential' is a required property"),
        (json!({"credential": "x"}), "is not of type 'object'"),
        (json!({"credential": []}), "is not of type 'object'"),
        (
            json!({"credential": {"type": "cert", "user_id": w.alice}}),
            "'blob' is a required property",
        ),
        (
            json!({"credential": {"blob": "b", "user_id": w.alice}}),
            "'type' is a required property",
        ),
        (
            json!({"credential": {"blob": "b", "type": "cert"}}),
            "'user_id' is a required property",
        ),
        (
            json!({"credential": {"blob": 5, "type": "cert", "user_id": w.alice}}),
            "5 is not of type 'string'",
        ),
        (
            json!({"credential": {"blob": "b", "type": ["x"], "user_id": w.alice}}),
            "is not of type 'string'",
        ),
        (
            json!({"credential": {"blob": "b", "type": "cert", "user_id": null}}),
            "None is not of type 'string'",
        ),
        (
            json!({"credential": {"blob": "b", "type": "cert", "user_id": w.alice, "project_id": 7}}),
            "7 is not of type 'string', 'null'",
        ),
        (
            json!({"credential": {"blob": "{\"access\": \"a\"}", "type": "ec2", "user_id": w.alice}}),
            "'project_id' is a required property",
        ),
        (ec2(json!("not json")), "Invalid blob in credential"),
        (ec2(json!("[1]")), "Expecting to find blob in credential"),
        (ec2(json!("{}")), "Expecting to find blob in credential"),
        (
            ec2(json!("{\"secret\": \"s\"}")),
            "Expecting to find access in credential",
        ),
        (
            ec2(json!("{\"access\": null}")),
            "Expecting to find access in credential",
        ),
        (
            ec2(json!("{\"access\": 5}")),
            "Expecting to find access in credential",
        ),
    ];
    for (body, message) in cases {
        let r = send(&w.s, "POST", "/v3/credentials", &w.admin, Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(message), "{body}: {}", r.body);
    }
    // Not JSON, wrong content type.
    let r = w.s.request(
        "POST",
        "/v3/credentials",
        &[
            ("X-Auth-Token", &w.admin),
            ("Content-Type", "application/json"),
        ],
        Some(b"{not json"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = w.s.request(
        "POST",
        "/v3/credentials",
        &[("X-Auth-Token", &w.admin), ("Content-Type", "text/plain")],
        Some(b"{}"),
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // Updates.
    let blob = json!({"access": "acc", "secret": "s", "app_cred_id": "x"}).to_string();
    // Written directly: an EC2 credential made under an application credential.
    let r = w.create(
        &w.admin,
        json!({"user_id": w.alice, "type": "ec2", "blob": blob, "project_id": w.project}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["credential"]["id"].as_str().unwrap().to_string();
    let path = format!("/v3/credentials/{id}");
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "'credential' is a required property"),
        (json!({"credential": {}}), "should be non-empty"),
        (json!({"credential": 1}), "is not of type 'object'"),
        (
            json!({"credential": {"blob": 1}}),
            "1 is not of type 'string'",
        ),
        (json!({"credential": {"id": "other"}}), "Cannot change ID"),
        (
            json!({"credential": {"blob": "nope"}}),
            "Invalid blob in credential",
        ),
        (
            json!({"credential": {"blob": "{\"access\": \"acc\"}"}}),
            "app_cred_id can not be updated for credential",
        ),
        (
            json!({"credential": {"blob": "{\"access\": \"acc\", \"app_cred_id\": \"x\", \"trust_id\": \"t\"}"}}),
            "trust_id can not be updated for credential",
        ),
    ];
    for (body, message) in cases {
        let r = send(&w.s, "PATCH", &path, &w.admin, Some(&body));
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(message), "{body}: {}", r.body);
    }
    // A credential becoming ec2 without a project.
    let r = w.create(
        &w.admin,
        json!({"user_id": w.alice, "type": "cert", "blob": "c"}),
    );
    let cert = r.json()["credential"]["id"].as_str().unwrap().to_string();
    let r = send(
        &w.s,
        "PATCH",
        &format!("/v3/credentials/{cert}"),
        &w.admin,
        Some(&json!({"credential": {"type": "ec2"}})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains("Expecting to find project_id in credential"),
        "{}",
        r.body
    );

    // OS-EC2 and the token routes.
    let r = send(
        &w.s,
        "POST",
        &format!("/v3/users/{}/credentials/OS-EC2", w.alice),
        &w.admin,
        Some(&json!({"tenant_id": 5})),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let r = send(
        &w.s,
        "POST",
        &format!("/v3/users/{}/credentials/OS-EC2", w.alice),
        &w.admin,
        Some(&json!({})),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    for body in [
        json!({}),
        json!({"credentials": 5}),
        json!({"credentials": {"access": 5}}),
        json!({"credentials": {"access": "nope"}}),
        json!({"ec2Credentials": {"access": "acc"}}),
        json!({"credentials": {"access": "acc", "signature": "x", "params": "x"}}),
        json!({"credentials": {"access": "acc", "signature": "x", "params": {"SignatureVersion": "4"}, "headers": 3}}),
        json!({"credentials": {"access": "acc", "token": "!!", "signature": 1}}),
    ] {
        for route in ["/v3/ec2tokens", "/v3/s3tokens"] {
            let r = send(&w.s, "POST", route, &w.admin, Some(&body));
            assert_not_500(&r, &format!("{route} {body}"));
            assert!(
                matches!(r.status, 400 | 401 | 404),
                "{route} {body}: {} {}",
                r.status,
                r.body
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// AWS signature version 2, written out independently of the server's code.
fn sign_v2(secret: &str, verb: &str, host: &str, path: &str, params: &[(&str, &str)]) -> String {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.push(("SignatureMethod".into(), "HmacSHA256".into()));
    all.sort();
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string();
    let qs: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let to_sign = format!("{verb}\n{host}\n{path}\n{}", qs.join("&"));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn ec2_request(
    access: &str,
    secret: &str,
    host: &str,
    signed_host: &str,
    timestamp: &str,
) -> Value {
    let params = [
        ("Action", "DescribeInstances"),
        ("SignatureVersion", "2"),
        ("Timestamp", timestamp),
        ("AWSAccessKeyId", access),
    ];
    let signature = sign_v2(secret, "GET", signed_host, "/", &params);
    let mut p = serde_json::Map::new();
    for (k, v) in params {
        p.insert(k.into(), v.into());
    }
    json!({"credentials": {"access": access, "signature": signature, "host": host, "verb": "GET", "path": "/", "params": p}})
}

#[test]
fn os_ec2_routes_and_ec2tokens() {
    let w = World::new();
    let r = send(
        &w.s,
        "POST",
        &format!("/v3/users/{}/credentials/OS-EC2", w.alice),
        &w.alice_token,
        Some(&json!({"tenant_id": w.project})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let c = r.json()["credential"].clone();
    let (access, secret) = (
        c["access"].as_str().unwrap().to_string(),
        c["secret"].as_str().unwrap().to_string(),
    );
    assert_eq!(c["tenant_id"], w.project.as_str());
    assert_eq!(c["user_id"], w.alice.as_str());
    assert_eq!(c["trust_id"], Value::Null);
    assert!(c["links"]["self"].as_str().unwrap().ends_with(&format!(
        "/v3/users/{}/credentials/OS-EC2/{access}",
        w.alice
    )));
    // Through /v3/credentials it is an ec2 credential whose id hashes the access key.
    let r = w.s.get(
        &format!(
            "/v3/credentials/{}",
            hex(&Sha256::digest(access.as_bytes()))
        ),
        Some(&w.alice_token),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["credential"]["type"], "ec2");

    let r = w.s.get(
        &format!("/v3/users/{}/credentials/OS-EC2", w.alice),
        Some(&w.alice_token),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["credentials"].as_array().unwrap().len(), 1);
    // Bob may not list or read Alice's.
    let r = w.s.get(
        &format!("/v3/users/{}/credentials/OS-EC2", w.alice),
        Some(&w.bob_token),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = w.s.get(
        &format!("/v3/users/{}/credentials/OS-EC2/{access}", w.alice),
        Some(&w.bob_token),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &w.s,
        "DELETE",
        &format!("/v3/users/{}/credentials/OS-EC2/{access}", w.alice),
        &w.bob_token,
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &w.s,
        "POST",
        &format!("/v3/users/{}/credentials/OS-EC2", w.alice),
        &w.bob_token,
        Some(&json!({"tenant_id": w.project})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = w.s.get(
        &format!("/v3/users/{}/credentials/OS-EC2/unknown", w.alice),
        Some(&w.alice_token),
    );
    assert_eq!(r.status, 404, "{}", r.body);

    // ec2tokens: a service or admin checks the signature; a member may not.
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let good = ec2_request(
        &access,
        &secret,
        "ec2.example.com:8773",
        "ec2.example.com:8773",
        &now,
    );
    let r = send(&w.s, "POST", "/v3/ec2tokens", &w.alice_token, Some(&good));
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(&w.s, "POST", "/v3/ec2tokens", &w.admin, Some(&good));
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["token"]["methods"], json!(["ec2credential"]));
    assert_eq!(body["token"]["project"]["id"], w.project.as_str());
    assert_eq!(body["token"]["user"]["id"], w.alice.as_str());
    assert!(
        body["token"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "member")
    );
    let ec2_token = r.header("X-Subject-Token").unwrap().to_string();
    // It validates, but is no caller's token.
    let r = w.s.tokens("GET", "", &w.admin, &ec2_token);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w.s.get("/v3/credentials", Some(&ec2_token));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(
        r.body
            .contains("EC2 credential tokens cannot be used for authorization."),
        "{}",
        r.body
    );
    // Signed without the port: accepted on the retry.
    let r = send(
        &w.s,
        "POST",
        "/v3/ec2tokens",
        &w.admin,
        Some(&ec2_request(
            &access,
            &secret,
            "ec2.example.com:8773",
            "ec2.example.com",
            &now,
        )),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Wrong secret, stale time, bad time: 401.
    for bad in [
        ec2_request(&access, "wrong", "h:1", "h:1", &now),
        ec2_request(&access, &secret, "h:1", "h:1", "2001-01-01T00:00:00Z"),
        ec2_request(&access, &secret, "h:1", "h:1", "not a time"),
    ] {
        let r = send(&w.s, "POST", "/v3/ec2tokens", &w.admin, Some(&bad));
        assert_eq!(r.status, 401, "{bad}: {}", r.body);
    }
    // Unknown access key: 404 with Keystone's text.
    let r = send(
        &w.s,
        "POST",
        "/v3/ec2tokens",
        &w.admin,
        Some(&ec2_request("unknown", &secret, "h", "h", &now)),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("EC2 access key not found."));

    // s3tokens: v1 string to sign, base64 in `token`.
    let sts = "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/bucket/key";
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(sts.as_bytes());
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    let s3 =
        json!({"credentials": {"access": access, "token": URL_SAFE.encode(sts), "signature": sig}});
    let r = send(&w.s, "POST", "/v3/s3tokens", &w.admin, Some(&s3));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("X-Subject-Token").is_none());
    assert_eq!(r.json()["token"]["project"]["id"], w.project.as_str());
    let wrong = json!({"credentials": {"access": access, "token": URL_SAFE.encode(sts), "signature": "AAAA"}});
    let r = send(&w.s, "POST", "/v3/s3tokens", &w.admin, Some(&wrong));
    assert_eq!(r.status, 401, "{}", r.body);
    let r = send(&w.s, "POST", "/v3/s3tokens", &w.alice_token, Some(&s3));
    assert_eq!(r.status, 403, "{}", r.body);

    // Deleting the credential: its next signature fails at once, on another node too.
    let other = w.s.second_node();
    let r = send(&other, "POST", "/v3/ec2tokens", &w.admin, Some(&good));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        &w.s,
        "DELETE",
        &format!("/v3/users/{}/credentials/OS-EC2/{access}", w.alice),
        &w.alice_token,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = send(&other, "POST", "/v3/ec2tokens", &w.admin, Some(&good));
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn user_and_project_deletes_take_their_credentials() {
    let w = World::new();
    let r = w.create(
        &w.admin,
        json!({"user_id": w.alice, "type": "cert", "blob": "a"}),
    );
    let alices = r.json()["credential"]["id"].as_str().unwrap().to_string();
    let other = w.s.make_project("other", "default", None);
    let r = w.create(&w.admin, json!({"user_id": w.bob, "type": "ec2", "project_id": other, "blob": "{\"access\": \"bob-acc\"}"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let bobs = r.json()["credential"]["id"].as_str().unwrap().to_string();
    let r = w.create(
        &w.admin,
        json!({"user_id": w.bob, "type": "cert", "blob": "kept"}),
    );
    let kept = r.json()["credential"]["id"].as_str().unwrap().to_string();

    assert_eq!(
        send(
            &w.s,
            "DELETE",
            &format!("/v3/users/{}", w.alice),
            &w.admin,
            None
        )
        .status,
        204
    );
    assert_eq!(
        w.s.get(&format!("/v3/credentials/{alices}"), Some(&w.admin))
            .status,
        404
    );
    assert_eq!(
        send(
            &w.s,
            "DELETE",
            &format!("/v3/projects/{other}"),
            &w.admin,
            None
        )
        .status,
        204
    );
    assert_eq!(
        w.s.get(&format!("/v3/credentials/{bobs}"), Some(&w.admin))
            .status,
        404
    );
    assert_eq!(
        w.s.get(&format!("/v3/credentials/{kept}"), Some(&w.admin))
            .status,
        200
    );
}

fn app_cred_token(w: &World, user: &str, token: &str, body: Value) -> (Value, String) {
    let r = send(
        &w.s,
        "POST",
        &format!("/v3/users/{user}/application_credentials"),
        token,
        Some(&json!({ "application_credential": body })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ac = r.json()["application_credential"].clone();
    let r = w.s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": ac["id"], "secret": ac["secret"]}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    (ac, r.subject_token())
}

/// Keystone 30 (LP#2153453, LP#2159643): a delegated token touches no credential at all.
#[test]
fn delegated_tokens_cannot_access_credentials() {
    let w = World::new();
    let (_, ac_token) = app_cred_token(
        &w,
        &w.alice,
        &w.alice_token,
        json!({"name": "ac", "unrestricted": true}),
    );
    let r = w.create(
        &w.alice_token,
        json!({"user_id": w.alice, "type": "totp", "blob": "totp-secret"}),
    );
    let totp = r.json()["credential"]["id"].as_str().unwrap().to_string();
    let refused = "Delegated tokens cannot access credentials directly";
    for (method, path, body) in [
        ("GET", format!("/v3/credentials/{totp}"), None),
        (
            "PATCH",
            format!("/v3/credentials/{totp}"),
            Some(json!({"credential": {"blob": "x"}})),
        ),
        ("DELETE", format!("/v3/credentials/{totp}"), None),
        (
            "POST",
            "/v3/credentials".to_string(),
            Some(json!({"credential": {"user_id": w.alice, "type": "totp", "blob": "x"}})),
        ),
        (
            "POST",
            "/v3/credentials".to_string(),
            Some(
                json!({"credential": {"user_id": w.alice, "type": "ec2", "project_id": w.project, "blob": "{\"access\": \"ac-acc\"}"}}),
            ),
        ),
        (
            "GET",
            format!("/v3/users/{}/credentials/OS-EC2", w.alice),
            None,
        ),
        (
            "POST",
            format!("/v3/users/{}/credentials/OS-EC2", w.alice),
            Some(json!({"tenant_id": w.project})),
        ),
    ] {
        let r = send(&w.s, method, &path, &ac_token, body.as_ref());
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert!(r.body.contains(refused), "{method} {path}: {}", r.body);
    }
    // The list just leaves them out.
    let r = w.s.get("/v3/credentials", Some(&ac_token));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["credentials"], json!([]));
}

/// With `allow_insecure_admin_trust_cross_project_credentials_access`, an admin-role
/// delegated token may make EC2 credentials; the delegation is recorded in the blob, can
/// not be edited away, and the EC2 token carries it.
#[test]
fn the_insecure_escape_hatch_records_the_delegation() {
    let w = World::with(TestServer::start_with(
        "[security_compliance]\nallow_insecure_admin_trust_cross_project_credentials_access = true\n",
    ));
    let admin_id = w.s.tokens("GET", "", &w.admin, &w.admin).json()["token"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let admin_project = w.s.tokens("GET", "", &w.admin, &w.admin).json()["token"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (ac, ac_token) = app_cred_token(
        &w,
        &admin_id,
        &w.admin,
        json!({"name": "admin-ac", "unrestricted": true}),
    );
    // Only ec2 credentials pass the hatch.
    let r = w.create(
        &ac_token,
        json!({"user_id": admin_id, "type": "totp", "blob": "x"}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = w.create(
        &ac_token,
        json!({"user_id": admin_id, "type": "ec2", "project_id": admin_project,
               "blob": "{\"access\": \"ac-acc\", \"secret\": \"ac-sec\"}"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let blob: Value =
        serde_json::from_str(r.json()["credential"]["blob"].as_str().unwrap()).unwrap();
    assert_eq!(blob["app_cred_id"], ac["id"]);
    let id = r.json()["credential"]["id"].as_str().unwrap().to_string();
    let r = send(
        &w.s,
        "PATCH",
        &format!("/v3/credentials/{id}"),
        &w.admin,
        Some(&json!({"credential": {"blob": "{\"access\": \"ac-acc\", \"secret\": \"ac-sec\"}"}})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains("app_cred_id can not be updated for credential"),
        "{}",
        r.body
    );
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let r = send(
        &w.s,
        "POST",
        "/v3/ec2tokens",
        &w.admin,
        Some(&ec2_request("ac-acc", "ac-sec", "h", "h", &now)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["token"]["application_credential"]["id"], ac["id"]);
}

#[test]
fn ec2tokens_need_the_ec2credential_method() {
    let s = TestServer::start_with(
        "[auth]\nmethods = external,password,token,oauth1,mapped,application_credential\n",
    );
    let admin = s.admin_token();
    for route in ["/v3/ec2tokens", "/v3/s3tokens"] {
        let r = send(
            &s,
            "POST",
            route,
            &admin,
            Some(&json!({"credentials": {"access": "a"}})),
        );
        assert_eq!(r.status, 503, "{route}: {}", r.body);
        assert!(
            r.body.contains("Add ec2credential to the [auth] methods"),
            "{}",
            r.body
        );
    }
}

/// An EC2 credential made with a trust-scoped token (under the insecure escape hatch, the
/// only way Keystone 30 still makes one) gives trust-scoped EC2 tokens: issued to the
/// trustee, showing the trustor under impersonation, and spending no use of the trust.
#[test]
fn ec2_credentials_made_with_a_trust_give_trust_scoped_tokens() {
    let w = World::with(TestServer::start_with(
        "[security_compliance]\nallow_insecure_admin_trust_cross_project_credentials_access = true\n",
    ));
    let admin_role = role_id(&w.s, &w.admin, "admin");
    let r = send(
        &w.s,
        "PUT",
        &format!(
            "/v3/projects/{}/users/{}/roles/{admin_role}",
            w.project, w.alice
        ),
        &w.admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let alice_token = user_token(&w.s, &w.alice, "alicepw", &w.project);
    for (n, impersonation) in [false, true].into_iter().enumerate() {
        let r = w.s.post_json(
            "/v3/OS-TRUST/trusts",
            Some(&alice_token),
            &json!({"trust": {"trustor_user_id": w.alice, "trustee_user_id": w.bob,
                "project_id": w.project, "impersonation": impersonation,
                "remaining_uses": 2, "roles": [{"id": admin_role}]}}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let trust_id = r.json()["trust"]["id"].as_str().unwrap().to_string();
        let r = w.s.post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "id": w.bob, "password": "bobpw"}}},
                "scope": {"OS-TRUST:trust": {"id": trust_id}}}}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let trust_token = r.subject_token();
        let acting = if impersonation { &w.alice } else { &w.bob };
        let (access, secret) = (format!("trust-acc-{n}"), format!("trust-sec-{n}"));
        let r = w.create(
            &trust_token,
            json!({"user_id": acting, "type": "ec2", "project_id": w.project,
                   "blob": json!({"access": access, "secret": secret}).to_string()}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let blob: Value =
            serde_json::from_str(r.json()["credential"]["blob"].as_str().unwrap()).unwrap();
        assert_eq!(blob["trust_id"], json!(trust_id));
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        // EC2 tokens spend no use (as Keystone): the password token above took one of two,
        // and a trust with none left would refuse them all.
        for _ in 0..2 {
            let r = send(
                &w.s,
                "POST",
                "/v3/ec2tokens",
                &w.admin,
                Some(&ec2_request(&access, &secret, "h", "h", &now)),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            let token = &r.json()["token"];
            assert_eq!(token["OS-TRUST:trust"]["id"], json!(trust_id), "{token}");
            assert_eq!(
                token["OS-TRUST:trust"]["impersonation"],
                json!(impersonation)
            );
            assert_eq!(token["user"]["id"], json!(acting), "{token}");
            assert_eq!(token["methods"], json!(["ec2credential"]));
            assert_eq!(token["project"]["id"], json!(w.project));
        }
        let r = send(
            &w.s,
            "GET",
            &format!("/v3/OS-TRUST/trusts/{trust_id}"),
            &alice_token,
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["trust"]["remaining_uses"], json!(1));
    }
}
