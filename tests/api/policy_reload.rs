//! An operator's policy override takes effect on a running server: the file named by
//! `[oslo_policy] policy_file` is re-read when it changes (no restart), and a file that no
//! longer parses keeps the last good rules in force and logs an error.

use crate::support::TestServer;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Error-level events of the policy module, from every thread of this test process (the
/// servers' workers included). Installed once; other tests do not log at error level there
/// unless a policy file is broken, which only this test does.
fn policy_errors() -> Arc<Mutex<Vec<u8>>> {
    static SINK: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    SINK.get_or_init(|| {
        let sink = Arc::new(Mutex::new(Vec::new()));
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "keystone_rs::policy=error",
            ))
            .with_ansi(false)
            .with_writer(move || SinkWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other test installs a global subscriber");
        sink
    })
    .clone()
}

struct SinkWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn call(s: &TestServer, method: &str, path: &str, token: &str, body: Option<Value>) -> u16 {
    let text = body.map(|b| b.to_string());
    s.request(
        method,
        path,
        &[
            ("X-Auth-Token", token),
            ("Content-Type", "application/json"),
        ],
        text.as_deref().map(str::as_bytes),
    )
    .status
}

/// Polls until `GET /v3/projects` answers `want` (the enforcer looks at the file at most once
/// a second) and fails after a generous bound.
fn wait_for_list_projects(s: &TestServer, token: &str, want: u16, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = call(s, "GET", "/v3/projects", token, None);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{why}: GET /v3/projects stayed {got}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn override_file_applies_without_restart_and_a_broken_one_keeps_the_last_good_rules() {
    let errors = policy_errors();
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "# no overrides yet\n").expect("policy file");
    let s = TestServer::start_with(&format!(
        "[oslo_policy]\npolicy_file = {}\n",
        policy.display()
    ));
    let admin = s.admin_token();

    // A domain member: the default list_projects lets a domain reader (member implies
    // reader) list the projects of its domain.
    let domain = s.make_domain("reload-d");
    let user = s.make_user("reload-member", &domain, "reload-pw-1");
    let member_role = s.get("/v3/roles?name=member", Some(&admin)).json()["roles"][0]["id"]
        .as_str()
        .expect("member role")
        .to_string();
    assert_eq!(
        call(
            &s,
            "PUT",
            &format!("/v3/domains/{domain}/users/{user}/roles/{member_role}"),
            &admin,
            None
        ),
        204
    );
    let auth = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": user, "password": "reload-pw-1"}}}, "scope": {"domain": {"id": domain}}}}),
    );
    assert_eq!(auth.status, 201, "{}", auth.body);
    let member = auth.subject_token();
    assert_eq!(call(&s, "GET", "/v3/projects", &member, None), 200);

    // Admin-only, written while the server runs.
    std::fs::write(
        &policy,
        "\"identity:list_projects\": \"role:admin\"\n# admin only\n",
    )
    .expect("override");
    wait_for_list_projects(&s, &member, 403, "override ignored");
    assert_eq!(call(&s, "GET", "/v3/projects", &admin, None), 200);

    // A file that no longer parses: the override stays in force and an error is logged.
    let logged_before = errors.lock().unwrap_or_else(|p| p.into_inner()).len();
    std::fs::write(&policy, "\"identity:list_projects\": [unclosed\n  - {\n").expect("broken");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert_eq!(
            call(&s, "GET", "/v3/projects", &member, None),
            403,
            "a broken policy file dropped the last good rules"
        );
        let log = errors.lock().unwrap_or_else(|p| p.into_inner())[logged_before..].to_vec();
        let log = String::from_utf8_lossy(&log);
        if log.contains("keeping the previous rules") {
            assert!(log.contains("ERROR"), "{log}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no error logged for the broken file: {log:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(call(&s, "GET", "/v3/projects", &admin, None), 200);

    // Fixed again (the override removed): the default is back, still without a restart.
    std::fs::write(&policy, "{}\n").expect("empty policy");
    wait_for_list_projects(&s, &member, 200, "default not restored");
}
