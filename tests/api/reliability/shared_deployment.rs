//! Two nodes on one database and ONE key repository (revocation.rs covers revocations and
//! role removals across nodes): a key rotation while both serve, and deletions on one node
//! honoured by the other.

use crate::support::{TestServer, send};
use serde_json::json;
use std::time::{Duration, Instant};

/// KeyRing looks at the repository at most once a second (token/keyring.rs).
const KEY_RELOAD: Duration = Duration::from_millis(1300);

fn rotate(s: &TestServer) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keystone-rs"))
        .args(["manage", "--config-file"])
        .arg(s.dir.path().join("keystone.conf"))
        .arg("fernet_rotate")
        .output()
        .expect("run fernet_rotate");
    assert!(
        out.status.success(),
        "fernet_rotate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn key_files(s: &TestServer) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&s.config.fernet_tokens.key_repository)
        .expect("list keys")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Each token validates (200) on each node, with the other node's admin token as caller.
fn assert_valid_everywhere(nodes: &[&TestServer], callers: &[&str], tokens: &[(&str, &str)]) {
    for (node, caller) in nodes.iter().zip(callers) {
        for (what, token) in tokens {
            let r = node.tokens("GET", "", caller, token);
            assert_eq!(r.status, 200, "{what} on {}: {}", node.base, r.body);
        }
    }
}

#[test]
fn a_key_rotation_while_two_nodes_serve_loses_no_valid_token() {
    // Fernet key rotation; the JWS roll-over across two nodes is jws.rs's.
    if crate::support::jws_provider() {
        return;
    }
    let a = TestServer::start();
    let b = a.second_node();
    let nodes = [&a, &b];
    assert_eq!(key_files(&a), ["0", "1"]);
    let before_a = a.admin_token();
    let before_b = b.admin_token();
    // Issued before any rotation, first shown to a node only once their key is purged.
    let unseen_a = a.admin_token();
    let unseen_b = b.admin_token();
    let callers = [before_b.as_str(), before_a.as_str()];
    assert_valid_everywhere(&nodes, &callers, &[("a's", &before_a), ("b's", &before_b)]);

    rotate(&a);
    assert_eq!(key_files(&a), ["0", "1", "2"]);
    // At once (a node may or may not have re-read the keys yet): the new primary was the
    // staged key every node already held.
    let at_once_a = a.admin_token();
    let at_once_b = b.admin_token();
    std::thread::sleep(KEY_RELOAD);
    let reloaded_a = a.admin_token();
    let reloaded_b = b.admin_token();
    assert_valid_everywhere(
        &nodes,
        &callers,
        &[
            ("a's from before", &before_a),
            ("b's from before", &before_b),
            ("a's right after", &at_once_a),
            ("b's right after", &at_once_b),
            ("a's after reload", &reloaded_a),
            ("b's after reload", &reloaded_b),
        ],
    );

    // A second rotation purges key 1 (max_active_keys = 3): what was issued with it is no
    // longer valid anywhere, as in Keystone; what was issued with key 2 still is.
    rotate(&a);
    assert_eq!(key_files(&a), ["0", "2", "3"]);
    let at_once_a = a.admin_token();
    std::thread::sleep(KEY_RELOAD);
    let after_purge_a = a.admin_token();
    let after_purge_b = b.admin_token();
    let callers = [after_purge_b.as_str(), after_purge_a.as_str()];
    assert_valid_everywhere(
        &nodes,
        &callers,
        &[
            ("a's after the first reload", &reloaded_a),
            ("b's after the first reload", &reloaded_b),
            ("a's right after the second rotation", &at_once_a),
            ("a's after the second reload", &after_purge_a),
            ("b's after the second reload", &after_purge_b),
        ],
    );
    for (node, caller) in nodes.iter().zip(callers) {
        for token in [&unseen_a, &unseen_b] {
            let r = node.tokens("GET", "", caller, token);
            assert_eq!(
                r.status, 404,
                "{}: a token of the purged key still validates: {}",
                node.base, r.body
            );
        }
    }
}

/// Poll `node` until the token no longer validates, within the sync interval.
fn assert_rejected_within(
    node: &TestServer,
    caller: &str,
    token: &str,
    bound: Duration,
    what: &str,
) {
    let since = Instant::now();
    loop {
        let status = node.tokens("GET", "", caller, token).status;
        if status == 404 {
            return;
        }
        assert_eq!(status, 200, "{what}");
        assert!(
            since.elapsed() < bound,
            "{what}: node b still accepts the token {:?} later",
            since.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn user_and_project_deletions_on_one_node_are_honoured_on_the_other() {
    let interval = 300;
    let a = TestServer::start_with(&format!(
        "[validation_cache]\nsync_interval_ms = {interval}\n"
    ));
    let b = a.second_node();
    let bound = Duration::from_millis(interval + 700);
    let admin = a.admin_token();
    let member = crate::support::role_id(&a, &admin, "member");
    let user = a.make_user("doomed-user", "default", "doomed-pass-1");
    let kept_user = a.make_user("kept-user", "default", "kept-pass-1");
    let project = a.make_project("doomed-project", "default", None);
    for u in [&user, &kept_user] {
        let r = send(
            &a,
            "PUT",
            &format!("/v3/projects/{project}/users/{u}/roles/{member}"),
            &admin,
            None,
        );
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let login = |s: &TestServer, id: &str, password: &str, scope: serde_json::Value| {
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
            "id": id, "password": password}}}});
        if !scope.is_null() {
            auth["scope"] = scope;
        }
        let r = s.post_json("/v3/auth/tokens", None, &json!({ "auth": auth }));
        assert_eq!(r.status, 201, "{}", r.body);
        r.subject_token()
    };
    // Issued on a, validated (and cached) on b.
    let user_token = login(&a, &user, "doomed-pass-1", serde_json::Value::Null);
    let scoped = login(
        &a,
        &kept_user,
        "kept-pass-1",
        json!({"project": {"id": project}}),
    );
    for _ in 0..2 {
        assert_eq!(b.tokens("GET", "", &admin, &user_token).status, 200);
        assert_eq!(b.tokens("GET", "", &admin, &scoped).status, 200);
    }

    let r = send(&a, "DELETE", &format!("/v3/users/{user}"), &admin, None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(a.tokens("GET", "", &admin, &user_token).status, 404);
    assert_rejected_within(&b, &admin, &user_token, bound, "deleted user's token");
    assert_eq!(
        b.get(&format!("/v3/users/{user}"), Some(&admin)).status,
        404
    );

    let r = send(
        &a,
        "DELETE",
        &format!("/v3/projects/{project}"),
        &admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_rejected_within(
        &b,
        &admin,
        &scoped,
        bound,
        "token scoped to a deleted project",
    );
    // The user itself is fine: an unscoped token issued on b validates on a.
    let unscoped = login(&b, &kept_user, "kept-pass-1", serde_json::Value::Null);
    assert_eq!(a.tokens("GET", "", &admin, &unscoped).status, 200);
}
