//! SIGTERM (what systemd and Kubernetes send) drains the requests in flight: they finish
//! with their normal answer, the listener closes, and the process exits 0.

use crate::support::TestServer;
use serde_json::json;
use std::time::{Duration, Instant};

/// Logins in flight at once; with 2^13 bcrypt rounds each takes a few hundred ms of CPU.
/// More than the cores of a small machine: some of them are still waiting for their turn
/// at hashing when the signal comes, and must be answered all the same.
const IN_FLIGHT: usize = 4;
const ROUNDS: u32 = 13;
/// server.rs's `shutdown_timeout`, plus slack for a loaded machine.
const EXIT_WITHIN: Duration = Duration::from_secs(35);

#[test]
fn sigterm_drains_in_flight_logins_refuses_new_connections_and_exits_zero() {
    let log_dir = tempfile::tempdir().expect("tempdir");
    let log = log_dir.path().join("keystone.log");
    let mut s = TestServer::spawn_binary("", &[], &log);
    let user = s.make_slow_user("slow-login", "slow-password-1", ROUNDS);
    let pid = s.child().id().to_string();
    let port = s.base.rsplit(':').next().expect("port").to_string();
    let login = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user, "password": "slow-password-1"}}}}});
    let mut refused_after_term = None;
    let mut signalled = None;
    let answers: Vec<(u16, Instant)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let (s, login) = (&s, &login);
                scope.spawn(move || {
                    let r = s.post_json("/v3/auth/tokens", None, login);
                    (r.status, Instant::now())
                })
            })
            .collect();
        // Signal once every login is in the server: hashing, or waiting for its turn.
        let checks = |body: &str, state: &str| -> usize {
            let series = format!("keystone_password_checks{{state=\"{state}\"}} ");
            body.lines()
                .find_map(|l| l.strip_prefix(series.as_str()))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let waiting = Instant::now();
        while {
            let body = s.get("/metrics", None).body;
            checks(&body, "running") + checks(&body, "waiting") < IN_FLIGHT
        } {
            assert!(
                waiting.elapsed() < Duration::from_secs(20),
                "the logins never were all in flight"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // The shell's kill: a procps-less image has no kill binary.
        let term = std::process::Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status()
            .expect("kill");
        assert!(term.success());
        signalled = Some(Instant::now());
        std::thread::sleep(Duration::from_millis(200));
        let connect = std::net::TcpStream::connect(format!("127.0.0.1:{port}"));
        refused_after_term = Some(connect.map_err(|e| e.kind()));
        workers
            .into_iter()
            .map(|w| w.join().expect("login thread"))
            .collect()
    });
    let signalled = signalled.expect("signalled");
    // When each login was answered, in seconds after the signal (negative: before it).
    let statuses: Vec<(u16, f64)> = answers
        .iter()
        .map(|(status, at)| {
            let after = match at.checked_duration_since(signalled) {
                Some(d) => d.as_secs_f64(),
                None => -signalled.duration_since(*at).as_secs_f64(),
            };
            (*status, after)
        })
        .collect();
    let mut exit = None;
    while signalled.elapsed() < EXIT_WITHIN {
        if let Some(status) = s.child().try_wait().expect("wait") {
            exit = Some((status, signalled.elapsed()));
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!(
        "SIGTERM with {IN_FLIGHT} logins in flight, answered (status, s after it): \
         {statuses:?}; new connection: \
         {refused_after_term:?}; exit: {exit:?}"
    );
    for (status, after) in &statuses {
        assert_eq!(
            *status, 201,
            "a login in flight at SIGTERM (answered {after:.2} s after it)\n{log_text}"
        );
    }
    assert!(
        statuses.iter().all(|(_, after)| *after > 0.0),
        "a login was answered before SIGTERM, so it was not in flight: {statuses:?}"
    );
    assert!(
        matches!(
            refused_after_term,
            Some(Err(std::io::ErrorKind::ConnectionRefused))
        ),
        "a connection after SIGTERM: {refused_after_term:?}"
    );
    let (status, took) =
        exit.unwrap_or_else(|| panic!("still running {EXIT_WITHIN:?} after SIGTERM"));
    assert!(
        status.success(),
        "exit status {status} after SIGTERM\n{log_text}"
    );
    eprintln!("exited 0 {took:?} after SIGTERM");
}
