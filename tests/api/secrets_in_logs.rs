//! No password, secret, token or key in the log, at debug level: the real binary serves a
//! run that touches every kind of secret (right and wrong, in bodies, headers and query
//! strings, through success and refusal paths), then its whole log is searched for each.

use crate::support::TestServer;
use serde_json::{Value, json};

const USER_PASSWORD: &str = "Pw-user-7f3a9c1e";
const NEW_PASSWORD: &str = "Pw-new-2b8d4e6f";
const WRONG_PASSWORD: &str = "Pw-wrong-9e1c3a5b";

#[test]
fn debug_log_of_a_full_run_holds_no_secret() {
    let log_dir = tempfile::tempdir().expect("tempdir");
    let log = log_dir.path().join("keystone-rs.log");
    let s = TestServer::spawn_binary(
        "[security_compliance]\nlockout_failure_attempts = 2\nlockout_duration = 600\n\
         [auth]\nmethods = external,password,token,oauth1,mapped,application_credential,\
         ec2credential,totp\n",
        &[("KEYSTONE_LOG", "debug")],
        &log,
    );
    let mut secrets: Vec<String> = vec![
        crate::support::ADMIN_PASSWORD.into(),
        USER_PASSWORD.into(),
        NEW_PASSWORD.into(),
        WRONG_PASSWORD.into(),
    ];

    let admin = s.admin_token();
    secrets.push(admin.clone());
    let unscoped = s.password_auth(None).subject_token();
    secrets.push(unscoped.clone());

    // Validation, HEAD, and a token in the query string (which clients should never do).
    assert_eq!(s.tokens("GET", "", &admin, &unscoped).status, 200);
    assert_eq!(s.tokens("HEAD", "", &admin, &unscoped).status, 200);
    let r = s.get(
        &format!("/v3/users?name={USER_PASSWORD}&token={admin}"),
        Some(&admin),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A token-method login, then revocation; then the revoked one is refused.
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    secrets.push(r.subject_token());
    assert_eq!(s.tokens("DELETE", "", &admin, &unscoped).status, 204);
    assert_eq!(s.tokens("GET", "", &admin, &unscoped).status, 404);
    // Garbage and tampered tokens, as caller and as subject.
    let tampered = format!("{}x", &admin[..admin.len() - 1]);
    secrets.push(tampered.clone());
    assert_eq!(s.get("/v3/users", Some(&tampered)).status, 401);
    assert_eq!(s.tokens("GET", "", &admin, &tampered).status, 404);

    // Users: create with a password, log in, wrong passwords up to the lockout, change.
    let r = s.post_json(
        "/v3/users",
        Some(&admin),
        &json!({"user": {"name": "logged", "password": USER_PASSWORD}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let user_id = r.json()["user"]["id"].as_str().unwrap().to_string();
    let login = |password: &Value| {
        s.post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "id": user_id, "password": password}}}}}),
        )
    };
    let r = login(&json!(USER_PASSWORD));
    assert_eq!(r.status, 201, "{}", r.body);
    secrets.push(r.subject_token());
    assert_eq!(
        s.post_json(
            &format!("/v3/users/{user_id}/password"),
            None,
            &json!({"user": {"original_password": WRONG_PASSWORD, "password": NEW_PASSWORD}}),
        )
        .status,
        401
    );
    let r = s.post_json(
        &format!("/v3/users/{user_id}/password"),
        None,
        &json!({"user": {"original_password": USER_PASSWORD, "password": NEW_PASSWORD}}),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(login(&json!(WRONG_PASSWORD)).status, 401);
    assert_eq!(login(&json!(WRONG_PASSWORD)).status, 401);
    // Locked now: the right password is refused too.
    assert_eq!(login(&json!(NEW_PASSWORD)).status, 401);
    // A password of the wrong type is echoed to the client as Keystone does, never logged.
    assert_eq!(login(&json!([WRONG_PASSWORD])).status, 400);
    // A body that is not JSON at all.
    let r = s.request(
        "POST",
        "/v3/auth/tokens",
        &[("Content-Type", "application/json")],
        Some(format!("{{\"auth\": {{\"password\": \"{WRONG_PASSWORD}").as_bytes()),
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // Application credentials: the generated secret, right and wrong.
    let admin_id = r_json(&s.tokens("GET", "", &admin, &admin))["token"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.post_json(
        &format!("/v3/users/{admin_id}/application_credentials"),
        Some(&admin),
        &json!({"application_credential": {"name": "logged-cred"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let cred = r.json()["application_credential"].clone();
    let (cred_id, cred_secret) = (
        cred["id"].as_str().unwrap().to_string(),
        cred["secret"].as_str().unwrap().to_string(),
    );
    secrets.push(cred_secret.clone());
    for secret in [cred_secret.as_str(), "not-the-secret-8c2f"] {
        let r = s.post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": cred_id, "secret": secret}}}}),
        );
        if r.status == 201 {
            secrets.push(r.subject_token());
        }
    }

    // OAuth1: a consumer secret, and a signed-looking request that fails verification.
    let r = s.post_json(
        "/v3/OS-OAUTH1/consumers",
        Some(&admin),
        &json!({"consumer": {"description": "logged"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let consumer = r.json()["consumer"].clone();
    let consumer_secret = consumer["secret"].as_str().unwrap().to_string();
    secrets.push(consumer_secret.clone());
    let oauth_signature = "c2lnbmF0dXJlLXRoYXQtaXMtYS1zZWNyZXQ%3D";
    secrets.push(oauth_signature.into());
    let header = format!(
        "OAuth oauth_consumer_key=\"{}\", oauth_signature_method=\"HMAC-SHA1\", \
         oauth_signature=\"{oauth_signature}\", oauth_timestamp=\"1\", oauth_nonce=\"n\", \
         oauth_version=\"1.0\", oauth_callback=\"oob\"",
        consumer["id"].as_str().unwrap()
    );
    let r = s.request(
        "POST",
        "/v3/OS-OAUTH1/request_token",
        &[
            ("Authorization", header.as_str()),
            ("Requested-Project-Id", "x"),
        ],
        Some(b""),
    );
    assert!(matches!(r.status, 400 | 401 | 404), "{}", r.body);

    // Credentials: a blob on create, update and read (and a malformed EC2 one echoed in
    // no log line), an EC2 secret through OS-EC2, signatures right and wrong through
    // ec2tokens and s3tokens.
    const BLOB: &str = "credential-blob-3e9a7c";
    secrets.push(BLOB.into());
    let r = s.post_json(
        "/v3/credentials",
        Some(&admin),
        &json!({"credential": {"user_id": admin_id, "type": "cert", "blob": BLOB}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let cid = r.json()["credential"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.get(&format!("/v3/credentials/{cid}"), Some(&admin))
            .status,
        200
    );
    let bad_ec2 = "{\"secret\": \"credential-blob-3e9a7c\"}";
    let r = s.post_json(
        "/v3/credentials",
        Some(&admin),
        &json!({"credential": {"user_id": admin_id, "type": "ec2", "project_id": "p", "blob": bad_ec2}}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let project_id = r_json(&s.tokens("GET", "", &admin, &admin))["token"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.post_json(
        &format!("/v3/users/{admin_id}/credentials/OS-EC2"),
        Some(&admin),
        &json!({"tenant_id": project_id}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ec2 = r.json()["credential"].clone();
    let ec2_secret = ec2["secret"].as_str().unwrap().to_string();
    secrets.push(ec2_secret.clone());
    let s3_signature = "c2lnbmF0dXJlLW9mLWFuLXMzLXJlcXVlc3Q=";
    secrets.push(s3_signature.into());
    for route in ["/v3/ec2tokens", "/v3/s3tokens"] {
        let r = s.post_json(
            route,
            Some(&admin),
            &json!({"credentials": {"access": ec2["access"], "signature": s3_signature,
                "token": "R0VUCgoKL2J1Y2tldA==", "host": "h:1", "verb": "GET", "path": "/",
                "params": {"SignatureVersion": "2"}}}),
        );
        assert_eq!(r.status, 401, "{route}: {}", r.body);
    }
    for entry in std::fs::read_dir(s.dir.path().join("credential-keys")).expect("keys") {
        let key = std::fs::read_to_string(entry.expect("key").path()).expect("key");
        secrets.push(key.trim().to_string());
    }
    // A domain's LDAP bind password (a sensitive domain option): stored, never shown,
    // never logged; also through the refusal paths (a bad group, a bad option).
    const LDAP_PASSWORD: &str = "Pw-ldap-5c7e9a1b";
    secrets.push(LDAP_PASSWORD.into());
    let config = json!({"config": {"ldap": {"url": "ldap://x", "password": LDAP_PASSWORD}}});
    let put = |path: &str, method: &str, body: &Value| {
        let text = body.to_string();
        s.request(
            method,
            path,
            &[
                ("X-Auth-Token", admin.as_str()),
                ("Content-Type", "application/json"),
            ],
            Some(text.as_bytes()),
        )
    };
    let r = put("/v3/domains/default/config", "PUT", &config);
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!r.body.contains(LDAP_PASSWORD));
    let r = put(
        "/v3/domains/default/config/ldap/password",
        "PATCH",
        &json!({"config": {"password": LDAP_PASSWORD}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put(
        "/v3/domains/default/config",
        "PATCH",
        &json!({"config": {"nope": {"password": LDAP_PASSWORD}}}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = put(
        "/v3/domains/default/config",
        "PUT",
        &json!({"config": {"ldap": {"password": LDAP_PASSWORD, "bogus": LDAP_PASSWORD}}}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = s.get("/v3/domains/default/config/ldap/password", Some(&admin));
    assert_eq!(r.status, 404, "{}", r.body);

    // MFA: a TOTP secret, a receipt, passcodes right, replayed and wrong.
    let (mfa_user, totp_secret, receipt, passcode) = crate::mfa::receipt_run(&s, &admin);
    secrets.extend([totp_secret, receipt.clone()]);
    const WRONG_PASSCODE: &str = "Pc-wrong-4d2f8a";
    secrets.push(WRONG_PASSCODE.into());
    for code in [passcode.as_str(), WRONG_PASSCODE] {
        let r = s.post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": {"methods": ["totp"], "totp": {"user": {
                "id": mfa_user, "passcode": code}}}}}),
        );
        assert_eq!(r.status, 401, "{}", r.body);
    }
    // A six-digit passcode may appear by chance inside a timestamp: look for it quoted or
    // as a value, the way a logged body or field would show it.
    let passcode_forms = [
        format!("\"{passcode}\""),
        format!("'{passcode}'"),
        format!("={passcode}"),
        format!(": {passcode}"),
    ];

    // The key repository's keys.
    for entry in std::fs::read_dir(s.dir.path().join("fernet-keys")).expect("keys") {
        let key = std::fs::read_to_string(entry.expect("key").path()).expect("key");
        secrets.push(key.trim().to_string());
    }

    drop(s);
    let text = std::fs::read_to_string(&log).expect("log");
    // The run was logged at debug level: otherwise this test would prove nothing.
    assert!(text.contains("DEBUG"), "no debug lines in the log:\n{text}");
    let served = text.matches("served status=").count();
    assert!(served >= 20, "only {served} requests logged:\n{text}");
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|secret| text.contains(secret.as_str()))
        .collect();
    assert!(leaked.is_empty(), "secrets in the log: {leaked:?}");
    for form in &passcode_forms {
        assert!(
            !text.contains(form.as_str()),
            "a passcode in the log: {form}"
        );
    }
    assert!(
        !text.contains("\"passcode\""),
        "a passcode field in the log"
    );
    // Nor anything that looks like a Fernet token or a password hash.
    assert!(!text.contains("gAAAAA"), "a Fernet token in the log");
    assert!(!text.contains("$2b$"), "a bcrypt hash in the log");
}

fn r_json(r: &crate::support::Response) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}
