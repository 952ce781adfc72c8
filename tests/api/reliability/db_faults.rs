//! The database server crashes under write load and comes back: requests fail fast with
//! 503 while it is down, the pool recovers by itself, nothing acknowledged is lost and no
//! entity is left half-written.

use super::private_db::{Kind, PrivateDb};
use crate::support::{TestServer, role_id, send, test_database_server};
use diesel::RunQueryDsl;
use serde_json::json;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

const BEFORE: u8 = 0;
const DOWN: u8 = 1;
const RESTARTED: u8 = 2;
/// While the server starts up (crash recovery): anything may happen but a wrong answer.
const STARTING: u8 = 3;
const WRITERS: usize = 4;
/// What "fail fast" means here: r2d2 alone made each request wait its 10 s timeout.
const FAST: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Outcome {
    phase: u8,
    op: &'static str,
    status: u16,
    elapsed: Duration,
    /// For a 201/204: what the server acknowledged (a user or project id, or
    /// `project user` for a grant).
    acknowledged: Option<String>,
    /// For anything else: what was attempted, to look for after the run.
    attempted: String,
    body: String,
}

/// Counts and ids read straight from the database.
#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(s: &TestServer, sql: &str) -> i64 {
    let sql = sql.to_string();
    s.db()
        .read_blocking(move |conn| Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n))
        .expect("count")
}

fn backend_under_test() -> Option<Kind> {
    let url = test_database_server()?;
    if url.starts_with("postgres") {
        Some(Kind::Postgres)
    } else if url.starts_with("mysql") || url.starts_with("mariadb") {
        Some(Kind::Mariadb)
    } else {
        None
    }
}

/// One writer: users with passwords, projects with tags, and grants of one to the other,
/// round and round until told to stop.
fn write_load(
    s: &TestServer,
    admin: &str,
    member: &str,
    writer: usize,
    phase: &AtomicU8,
    stop: &AtomicBool,
    outcomes: &Mutex<Vec<Outcome>>,
) {
    let mut last_user: Option<String> = None;
    let mut last_project: Option<String> = None;
    let mut i = 0;
    while !stop.load(Ordering::Acquire) {
        i += 1;
        let started_in = phase.load(Ordering::Acquire);
        let started = Instant::now();
        let (op, attempted, r) = match i % 3 {
            0 => {
                let name = format!("fault-u-{writer}-{i}");
                let body = json!({"user": {"name": name, "domain_id": "default",
                                           "password": format!("pw-{writer}-{i}")}});
                (
                    "create user",
                    name,
                    send(s, "POST", "/v3/users", admin, Some(&body)),
                )
            }
            1 => {
                let name = format!("fault-p-{writer}-{i}");
                let body = json!({"project": {"name": name, "domain_id": "default",
                                              "tags": ["alpha", "beta"]}});
                (
                    "create project",
                    name,
                    send(s, "POST", "/v3/projects", admin, Some(&body)),
                )
            }
            _ => {
                let (Some(user), Some(project)) = (&last_user, &last_project) else {
                    continue;
                };
                let path = format!("/v3/projects/{project}/users/{user}/roles/{member}");
                let grant = format!("{project} {user}");
                ("grant", grant, send(s, "PUT", &path, admin, None))
            }
        };
        let elapsed = started.elapsed();
        let acknowledged = match (op, r.status) {
            ("create user", 201) => {
                let id = r.json()["user"]["id"].as_str().expect("id").to_string();
                last_user = Some(id.clone());
                Some(id)
            }
            ("create project", 201) => {
                let id = r.json()["project"]["id"].as_str().expect("id").to_string();
                last_project = Some(id.clone());
                Some(id)
            }
            ("grant", 204) => Some(attempted.clone()),
            _ => None,
        };
        // A request that straddles a phase change belongs to neither.
        let phase_now = phase.load(Ordering::Acquire);
        outcomes.lock().unwrap().push(Outcome {
            phase: if phase_now == started_in {
                started_in
            } else {
                u8::MAX
            },
            op,
            status: r.status,
            elapsed,
            acknowledged,
            attempted,
            body: r.body,
        });
        // Down, the server answers at once: do not spin.
        if r.status == 503 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn run(kind: Kind) {
    let mut db = match PrivateDb::start(kind) {
        Ok(db) => db,
        Err(why) => {
            eprintln!("SKIPPED: no private {kind:?} server can be started here: {why}");
            return;
        }
    };
    let s = TestServer::start_on(&db.url(), "");
    let admin = s.admin_token();
    let member = role_id(&s, &admin, "member");
    let phase = AtomicU8::new(BEFORE);
    let stop = AtomicBool::new(false);
    let outcomes = Mutex::new(Vec::new());
    let mut down_for = Duration::ZERO;
    let mut recovered_after = None;
    let mut health_down = None;
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (s, admin, member) = (&s, admin.as_str(), member.as_str());
            let (phase, stop, outcomes) = (&phase, &stop, &outcomes);
            scope.spawn(move || write_load(s, admin, member, writer, phase, stop, outcomes));
        }
        std::thread::sleep(Duration::from_millis(1500));
        phase.store(u8::MAX, Ordering::Release);
        let crashed = Instant::now();
        db.crash();
        phase.store(DOWN, Ordering::Release);
        // Long enough for every pooled connection to be tried and for r2d2's reconnect
        // back-off to grow; meanwhile a load balancer's health probe sees the outage.
        std::thread::sleep(Duration::from_millis(500));
        let probed = Instant::now();
        let health = s.get("/healthcheck", None);
        health_down = Some((health.status, health.body, probed.elapsed()));
        std::thread::sleep(Duration::from_millis(2500));
        phase.store(STARTING, Ordering::Release);
        db.start_server();
        down_for = crashed.elapsed();
        let restarted = Instant::now();
        phase.store(RESTARTED, Ordering::Release);
        // Run on until every writer has succeeded a few times after the restart.
        let deadline = restarted + Duration::from_secs(30);
        while Instant::now() < deadline {
            let successes = outcomes
                .lock()
                .unwrap()
                .iter()
                .filter(|o| o.phase == RESTARTED && o.acknowledged.is_some())
                .count();
            if recovered_after.is_none() && successes > 0 {
                recovered_after = Some(restarted.elapsed());
            }
            if successes >= 3 * WRITERS {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Release);
    });
    let outcomes = outcomes.into_inner().unwrap();
    let by_phase = |p: u8| outcomes.iter().filter(move |o| o.phase == p);
    let statuses = |p: u8| {
        let mut v: Vec<(u16, usize)> = Vec::new();
        for o in by_phase(p) {
            match v.iter_mut().find(|(s, _)| *s == o.status) {
                Some((_, n)) => *n += 1,
                None => v.push((o.status, 1)),
            }
        }
        v
    };
    let slowest_down = by_phase(DOWN).map(|o| o.elapsed).max().unwrap_or_default();
    eprintln!(
        "{kind:?}: {} requests; before {:?}; down {down_for:?}: {:?}, slowest {slowest_down:?}; \
         starting: {:?}; restarted: {:?}, first success after {recovered_after:?}; \
         straddling: {:?}",
        outcomes.len(),
        statuses(BEFORE),
        statuses(DOWN),
        statuses(STARTING),
        statuses(RESTARTED),
        statuses(u8::MAX),
    );

    let (status, body, took) = health_down.expect("probed");
    assert_eq!(
        (status, body.trim()),
        (503, "DATABASE UNAVAILABLE"),
        "/healthcheck while the database is down"
    );
    assert!(
        took < FAST,
        "/healthcheck took {took:?} while the database was down"
    );
    assert_eq!(
        s.get("/healthcheck", None).status,
        200,
        "/healthcheck after recovery"
    );

    // Every answer is a success or Keystone's 503 (openapi::check validated the body).
    for o in &outcomes {
        assert!(
            matches!(o.status, 201 | 204 | 503),
            "{} ({:?} phase {}) answered {}: {}",
            o.op,
            o.attempted,
            o.phase,
            o.status,
            o.body
        );
    }
    assert!(
        by_phase(BEFORE).all(|o| o.status != 503),
        "503 before the crash"
    );
    assert!(
        by_phase(DOWN).count() > 0,
        "no request while the database was down"
    );
    assert!(
        by_phase(DOWN).all(|o| o.status == 503),
        "a write succeeded without a database"
    );
    assert!(
        slowest_down < FAST,
        "a request took {slowest_down:?} to fail while the database was down"
    );
    let recovered_after = recovered_after.expect("the pool did not recover");
    assert!(
        recovered_after < Duration::from_secs(5),
        "first success {recovered_after:?} after the restart"
    );
    // Once one request got through, the pool serves every one: the connections that
    // died with the server were all taken out.
    let first_success = outcomes
        .iter()
        .position(|o| o.phase == RESTARTED && o.acknowledged.is_some())
        .expect("a success after the restart");
    let late_failures: Vec<&Outcome> = outcomes[first_success..]
        .iter()
        .filter(|o| o.phase == RESTARTED && o.status == 503)
        .collect();
    assert!(
        late_failures.is_empty(),
        "503 after the pool had recovered: {late_failures:?}"
    );

    // Nothing half-written.
    let orphans = [
        (
            "users without a local_user row",
            "SELECT COUNT(*) AS n FROM \"user\" u WHERE NOT EXISTS \
             (SELECT 1 FROM local_user l WHERE l.user_id = u.id)",
        ),
        (
            "local users without a password row",
            "SELECT COUNT(*) AS n FROM local_user l WHERE NOT EXISTS \
             (SELECT 1 FROM password p WHERE p.local_user_id = l.id)",
        ),
        (
            "local_user rows without their user",
            "SELECT COUNT(*) AS n FROM local_user l WHERE NOT EXISTS \
             (SELECT 1 FROM \"user\" u WHERE u.id = l.user_id)",
        ),
        (
            "test projects without both their tags",
            "SELECT COUNT(*) AS n FROM project p WHERE p.name LIKE 'fault-p-%' AND \
             (SELECT COUNT(*) FROM project_tag t WHERE t.project_id = p.id) <> 2",
        ),
        (
            "grants to a missing user or project",
            "SELECT COUNT(*) AS n FROM assignment a WHERE NOT EXISTS \
             (SELECT 1 FROM \"user\" u WHERE u.id = a.actor_id) OR NOT EXISTS \
             (SELECT 1 FROM project p WHERE p.id = a.target_id)",
        ),
    ];
    for (what, sql) in orphans {
        assert_eq!(count(&s, sql), 0, "{kind:?}: {what}");
    }

    // Nothing acknowledged was lost.
    let mut acknowledged = 0;
    let mut ambiguous_committed = 0;
    for o in &outcomes {
        let stored = |key: &str| match o.op {
            "create user" => count(
                &s,
                &format!("SELECT COUNT(*) AS n FROM \"user\" WHERE id = '{key}'"),
            ),
            "create project" => count(
                &s,
                &format!("SELECT COUNT(*) AS n FROM project WHERE id = '{key}'"),
            ),
            _ => {
                let (project, user) = key.split_once(' ').expect("grant key");
                count(
                    &s,
                    &format!(
                        "SELECT COUNT(*) AS n FROM assignment WHERE target_id = '{project}' \
                         AND actor_id = '{user}'"
                    ),
                )
            }
        };
        match &o.acknowledged {
            Some(key) => {
                acknowledged += 1;
                assert_eq!(
                    stored(key),
                    1,
                    "{kind:?}: acknowledged {} {key} was lost",
                    o.op
                );
            }
            // A 503 whose commit reached the database before the connection went: the
            // client could not know. Counted, not an error.
            None if o.op != "grant" => {
                let table = if o.op == "create user" {
                    "local_user"
                } else {
                    "project"
                };
                let sql = format!(
                    "SELECT COUNT(*) AS n FROM {table} WHERE name = '{}'",
                    o.attempted
                );
                ambiguous_committed += count(&s, &sql);
            }
            None => {}
        }
    }
    eprintln!(
        "{kind:?}: {acknowledged} acknowledged writes all stored; \
         {ambiguous_committed} writes answered 503 were committed nonetheless"
    );

    // A user created after the restart can log in: its password row is whole.
    let user = outcomes
        .iter()
        .rev()
        .find(|o| o.op == "create user" && o.acknowledged.is_some())
        .expect("a user");
    let writer_and_i = user.attempted.trim_start_matches("fault-u-");
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": user.acknowledged.as_deref().unwrap(), "password": format!("pw-{writer_and_i}")}}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Runs on the backend the suite runs on (`KEYSTONE_TEST_DATABASE`), against a private
/// server of that kind; SQLite has no server to lose.
#[test]
fn a_database_crash_under_write_load_fails_fast_recovers_and_loses_nothing() {
    match backend_under_test() {
        Some(kind) => run(kind),
        None => eprintln!("SKIPPED: SQLite is embedded; there is no database server to crash"),
    }
}
