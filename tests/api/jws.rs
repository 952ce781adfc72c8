//! `[token] provider = jws` on two nodes sharing the key repositories (whatever
//! KEYSTONE_TEST_TOKEN_PROVIDER says): Keystone's header and claims, the token size
//! Keystone's own tests expect, and a key roll-over that loses no valid token.

use crate::support::TestServer;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keystone_rs::jws::{Algorithm, create_keypair};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Nodes look at the key files at most once a second.
const KEY_RELOAD: Duration = Duration::from_millis(1300);

struct Repositories {
    _dir: tempfile::TempDir,
    private: PathBuf,
    public: PathBuf,
}

fn repositories() -> Repositories {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = (dir.path().join("private"), dir.path().join("public"));
    std::fs::create_dir_all(&private).unwrap();
    std::fs::create_dir_all(&public).unwrap();
    create_keypair(&private, Algorithm::ES256, false).unwrap();
    std::fs::rename(private.join("public.pem"), public.join("first.pem")).unwrap();
    Repositories {
        _dir: dir,
        private,
        public,
    }
}

fn jws_server(r: &Repositories) -> TestServer {
    TestServer::start_with(&format!(
        "[token]\nprovider = jws\n[jwt_tokens]\njws_private_key_repository = {}\njws_public_key_repository = {}\n",
        r.private.display(),
        r.public.display()
    ))
}

fn part(token: &str, index: usize) -> Value {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(index).unwrap())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn assert_validates(nodes: &[&TestServer], tokens: &[(&str, &str)]) {
    for node in nodes {
        let caller = node.admin_token();
        for (what, token) in tokens {
            let r = node.tokens("GET", "", &caller, token);
            assert_eq!(r.status, 200, "{}: {what}: {}", node.base, r.body);
        }
    }
}

fn assert_refused(nodes: &[&TestServer], tokens: &[(&str, &str)]) {
    for node in nodes {
        let caller = node.admin_token();
        for (what, token) in tokens {
            let r = node.tokens("GET", "", &caller, token);
            assert_eq!(r.status, 404, "{}: {what}: {}", node.base, r.body);
            assert_eq!(
                r.json()["error"]["message"],
                format!("Could not find token: {token}.")
            );
        }
    }
}

#[test]
fn tokens_carry_keystones_header_and_claims() {
    let r = repositories();
    let s = jws_server(&r);
    let issued = s.password_auth(Some(
        json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
    ));
    assert_eq!(issued.status, 201, "{}", issued.body);
    let token = issued.subject_token();
    // Longer than a Fernet token: mind `[DEFAULT] max_token_size` where ids are stored.
    assert!(token.len() > 255, "{} characters", token.len());
    assert_eq!(part(&token, 0), json!({"alg": "ES256", "typ": "JWT"}));
    let claims = part(&token, 1);
    let body = issued.json();
    let names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        [
            "sub",
            "iat",
            "exp",
            "openstack_methods",
            "openstack_audit_ids",
            "openstack_project_id"
        ]
    );
    assert_eq!(claims["sub"], body["token"]["user"]["id"]);
    assert_eq!(claims["openstack_methods"], json!(["password"]));
    assert_eq!(claims["openstack_audit_ids"], body["token"]["audit_ids"]);
    assert_eq!(
        claims["openstack_project_id"],
        body["token"]["project"]["id"]
    );
    let at = |v: &Value| chrono::DateTime::from_timestamp(v.as_i64().unwrap(), 0).unwrap();
    assert_eq!(
        at(&claims["exp"])
            .format("%Y-%m-%dT%H:%M:%S.000000Z")
            .to_string(),
        body["token"]["expires_at"].as_str().unwrap()
    );
    assert_eq!(
        at(&claims["iat"])
            .format("%Y-%m-%dT%H:%M:%S.000000Z")
            .to_string(),
        body["token"]["issued_at"].as_str().unwrap()
    );
    let system = s
        .password_auth(Some(json!({"system": {"all": true}})))
        .subject_token();
    assert_eq!(part(&system, 1)["openstack_system"], "all");
    let unscoped = s.password_auth(None).subject_token();
    let names: Vec<String> = part(&unscoped, 1)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        names,
        [
            "sub",
            "iat",
            "exp",
            "openstack_methods",
            "openstack_audit_ids"
        ]
    );
}

/// The operator's roll-over: a new key pair's public half to every node first, then the
/// new `private.pem`, and the old public key goes once its tokens have expired.
#[test]
fn a_key_roll_over_while_two_nodes_serve_loses_no_valid_token() {
    let r = repositories();
    let a = jws_server(&r);
    let b = a.second_node();
    let nodes = [&a, &b];
    let old_a = a.admin_token();
    let old_b = b.admin_token();
    // Issued with the old key, first shown to a node once its public key is gone (a token
    // validated before stays in the validation cache, as in Keystone's token cache).
    let unseen_a = a.admin_token();
    let unseen_b = b.admin_token();
    assert_validates(&nodes, &[("a's", &old_a), ("b's", &old_b)]);

    let staging = tempfile::tempdir().unwrap();
    create_keypair(staging.path(), Algorithm::ES256, false).unwrap();
    std::fs::copy(
        staging.path().join("public.pem"),
        r.public.join("second.pem"),
    )
    .unwrap();
    std::thread::sleep(KEY_RELOAD);
    std::fs::rename(
        staging.path().join("private.pem"),
        r.private.join("private.pem"),
    )
    .unwrap();
    std::thread::sleep(KEY_RELOAD);
    let new_a = a.admin_token();
    let new_b = b.admin_token();
    // Signed with the new key: the old public key does not verify them.
    assert_ne!(old_a.rsplit('.').next(), new_a.rsplit('.').next());
    assert_validates(
        &nodes,
        &[
            ("a's old", &old_a),
            ("b's old", &old_b),
            ("a's new", &new_a),
            ("b's new", &new_b),
        ],
    );

    std::fs::remove_file(r.public.join("first.pem")).unwrap();
    std::thread::sleep(KEY_RELOAD);
    assert_validates(&nodes, &[("a's new", &new_a), ("b's new", &new_b)]);
    assert_refused(
        &nodes,
        &[("a's unseen", &unseen_a), ("b's unseen", &unseen_b)],
    );
}

#[test]
fn a_node_without_its_keys_does_not_start() {
    let r = repositories();
    std::fs::remove_file(r.private.join("private.pem")).unwrap();
    let conf = format!(
        "[database]\nconnection = sqlite://\n[token]\nprovider = jws\n[jwt_tokens]\njws_private_key_repository = {}\njws_public_key_repository = {}\n",
        r.private.display(),
        r.public.display()
    );
    let config = keystone_rs::config::Config::parse(&conf, None).unwrap();
    let e = keystone_rs::state::AppState::open(config)
        .err()
        .expect("refused");
    assert_eq!(
        e.to_string(),
        format!(
            "{} does not exist. You can generate a key pair using `keystone-manage create_jws_keypair`.",
            Path::new(&r.private).join("private.pem").display()
        )
    );
}
