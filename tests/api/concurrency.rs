//! Parallel clients never see "database is locked" (or any 5xx): Python Keystone on SQLite
//! fails tempest with two workers exactly that way.

use crate::support::TestServer;
use serde_json::json;
use std::sync::Arc;

#[test]
fn parallel_issue_validate_and_revoke_all_succeed() {
    let s = Arc::new(TestServer::start());
    let admin = s.admin_token();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&s);
            let admin = admin.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                for _ in 0..6 {
                    let r = s.password_auth(Some(
                        json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
                    ));
                    statuses.push(r.status);
                    if r.status != 201 {
                        continue;
                    }
                    let token = r.subject_token();
                    statuses.push(s.tokens("GET", "", &admin, &token).status);
                    // Each DELETE writes two revocation events and prunes old ones.
                    statuses.push(s.tokens("DELETE", "", &admin, &token).status);
                }
                statuses
            })
        })
        .collect();
    for t in threads {
        for status in t.join().expect("client thread") {
            assert!(
                matches!(status, 200 | 201 | 204),
                "a parallel request answered {status}"
            );
        }
    }
    let events = s.get("/v3/OS-REVOKE/events", Some(&admin)).json();
    assert_eq!(events["events"].as_array().map(Vec::len), Some(8 * 6 * 2));
}
