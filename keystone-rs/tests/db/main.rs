//! The SQL schema on SQLite, PostgreSQL and MySQL/MariaDB: migrations apply, match what
//! Keystone's `db_sync` builds, every `table!` reads and writes its table, and a database
//! Keystone built is adopted without changing anything Keystone owns.
//!
//! PostgreSQL/MySQL tests need `--features postgres,mysql` and the local servers
//! (127.0.0.1:5432 user postgres; 127.0.0.1:3306 root, empty password; override with
//! KSRS_TEST_POSTGRES_URL / KSRS_TEST_MYSQL_URL). Without a server they are skipped with a
//! notice, except under CI, where they fail.

mod catalog;
mod peer;
mod rows;
mod support;

use diesel::connection::SimpleConnection;
use keystone_rs::db::migrate::{self, MigrationReport};
use keystone_rs::db::{AnyConnection, Backend};
use support::{KEYSTONE_SCHEMA, TempDb, ksrs_migrations, migration_sql};

// ---- shared checks, run per backend ---------------------------------------------------

/// A fresh database: both migrations run, the result is current, and a second run is a
/// no-op. Keystone's part of the schema equals the fixture taken from Keystone's db_sync.
fn fresh_database_migrates_like_keystone(db: &TempDb) {
    let mut conn = db.connect();
    assert!(!migrate::is_current(&mut conn).expect("is_current on empty db"));
    let report = migrate::run_pending(&mut conn).expect("run_pending");
    assert_eq!(
        report,
        MigrationReport {
            backend: db.backend,
            keystone_stamped: false,
            recorded: vec![],
            applied: [vec![KEYSTONE_SCHEMA.to_string()], ksrs_migrations()].concat(),
        }
    );
    assert!(migrate::is_current(&mut conn).expect("is_current"));
    let again = migrate::run_pending(&mut conn).expect("second run_pending");
    assert!(again.is_noop(), "{again:?}");
    assert!(
        again.keystone_stamped,
        "our own database carries Keystone's alembic stamp"
    );

    let expected = catalog::read_fixture(db.backend);
    catalog::assert_same(
        &format!(
            "{:?}: ours vs {}",
            db.backend,
            catalog::fixture_path(db.backend).display()
        ),
        &expected,
        &catalog::describe(&mut conn),
    );
}

fn every_table_roundtrips(db: &TempDb) {
    let mut conn = db.connect();
    migrate::run_pending(&mut conn).expect("run_pending");
    rows::roundtrip_every_table(&mut conn);
}

/// A database with Keystone's schema and alembic stamp but none of diesel's bookkeeping, the
/// way `keystone-manage db_sync` leaves it (built from our copy of the DDL, so that this runs
/// without Python Keystone; `keystone_built_*` below use the real thing).
fn keystone_like_database(db: &TempDb) -> AnyConnection {
    let mut conn = db.connect();
    conn.batch_execute(&migration_sql(db.backend, KEYSTONE_SCHEMA))
        .expect("apply Keystone DDL by hand");
    conn
}

/// The db_sync rule: Keystone's schema is recorded as applied, never run; ours runs; nothing
/// Keystone owns changes.
fn adopts_keystone_database(db: &TempDb, mut conn: AnyConnection) {
    let before = catalog::describe(&mut conn);
    let raw_before = (db.backend == Backend::Sqlite).then(|| catalog::raw_sqlite_ddl(&mut conn));
    assert!(!migrate::is_current(&mut conn).expect("is_current before"));
    let report = migrate::run_pending(&mut conn).expect("run_pending on a Keystone database");
    assert_eq!(
        report,
        MigrationReport {
            backend: db.backend,
            keystone_stamped: true,
            recorded: vec![KEYSTONE_SCHEMA.to_string()],
            applied: ksrs_migrations(),
        }
    );
    assert!(migrate::is_current(&mut conn).expect("is_current after"));
    catalog::assert_same(
        "Keystone's tables after adoption",
        &before,
        &catalog::describe(&mut conn),
    );
    if let Some(raw_before) = raw_before {
        // SQLite keeps the DDL text: not one byte of it may change.
        assert_eq!(raw_before, catalog::raw_sqlite_ddl(&mut conn));
    }
    let tables = catalog::table_names(&mut conn);
    assert!(tables.iter().any(|t| t == "ksrs_replay"), "{tables:?}");
    assert!(migrate::run_pending(&mut conn).expect("again").is_noop());
    rows::roundtrip_every_table(&mut conn);
}

fn set_alembic(conn: &mut AnyConnection, revisions: &[&str]) {
    let values: Vec<String> = revisions.iter().map(|r| format!("('{r}')")).collect();
    conn.batch_execute(&format!(
        "DELETE FROM alembic_version; INSERT INTO alembic_version (version_num) VALUES {}",
        values.join(", ")
    ))
    .expect("rewrite alembic_version");
}

fn refuses_other_keystone_revisions(db_older: &TempDb, db_newer: &TempDb) {
    let mut conn = keystone_like_database(db_older);
    set_alembic(&mut conn, &["e8725d6fa226", "c88cdce8f248"]);
    let err = migrate::run_pending(&mut conn).expect_err("older Keystone schema must be refused");
    let detail = err.detail.unwrap_or_default();
    assert!(detail.contains("older Keystone"), "{detail}");
    assert!(
        catalog::table_names(&mut conn)
            .iter()
            .all(|t| t != "ksrs_replay")
    );

    let mut conn = db_older.connect();
    conn.batch_execute("DELETE FROM alembic_version; DROP TABLE alembic_version; CREATE TABLE migrate_version (repository_id VARCHAR(250) NOT NULL, version INTEGER, PRIMARY KEY (repository_id))")
        .expect("make it look pre-Yoga");
    let err = migrate::run_pending(&mut conn).expect_err("pre-alembic Keystone must be refused");
    assert!(err.detail.unwrap_or_default().contains("older than Yoga"));

    let mut conn = keystone_like_database(db_newer);
    set_alembic(&mut conn, &["0123456789ab", "c88cdce8f248"]);
    let err = migrate::is_current(&mut conn).expect_err("unknown revision must be refused");
    assert!(err.detail.unwrap_or_default().contains("newer Keystone"));
    let err = migrate::run_pending(&mut conn).expect_err("unknown revision must be refused");
    assert!(err.detail.unwrap_or_default().contains("0123456789ab"));
}

/// Real Keystone: `keystone-manage db_sync` builds the database; we adopt it unchanged, and
/// Keystone's schema matches both our migration and the fixture.
fn keystone_built_database_is_adopted(db: &TempDb) {
    let Some(manage) = peer::keystone_manage() else {
        support::notice("skipping: no keystone-manage (set KEYSTONE_MANAGE)");
        return;
    };
    let started = std::time::Instant::now();
    peer::db_sync(&manage, &db.sqlalchemy_url, &[]).expect("keystone-manage db_sync");
    eprintln!("keystone-manage db_sync took {:?}", started.elapsed());
    let mut conn = db.connect();
    let keystone_schema = catalog::describe(&mut conn);
    catalog::assert_same(
        &format!("{:?}: Keystone's db_sync vs the fixture", db.backend),
        &catalog::read_fixture(db.backend),
        &keystone_schema,
    );
    adopts_keystone_database(db, conn);
}

/// Python Keystone finds nothing to do on a database keystone-rs built.
fn keystone_accepts_our_database(db: &TempDb) {
    let Some(manage) = peer::keystone_manage() else {
        support::notice("skipping: no keystone-manage (set KEYSTONE_MANAGE)");
        return;
    };
    let mut conn = db.connect();
    migrate::run_pending(&mut conn).expect("run_pending");
    let before = catalog::describe(&mut conn);
    let status = peer::db_sync(&manage, &db.sqlalchemy_url, &["--check"]).expect("db_sync --check");
    assert_eq!(
        status, 0,
        "keystone-manage db_sync --check wants changes on our database"
    );
    peer::db_sync(&manage, &db.sqlalchemy_url, &[]).expect("keystone-manage db_sync");
    catalog::assert_same(
        "after Keystone's db_sync",
        &before,
        &catalog::describe(&mut conn),
    );
}

/// Writes the schema description of an existing (Keystone-built) database to a fixture file.
/// Driven by tools/schema/keystone-fixtures.sh.
#[test]
#[ignore = "fixture generator, run by tools/schema/keystone-fixtures.sh"]
fn write_keystone_schema_fixture() {
    let url = std::env::var("KSRS_DESCRIBE_URL").expect("KSRS_DESCRIBE_URL");
    let out = std::env::var("KSRS_DESCRIBE_OUT").expect("KSRS_DESCRIBE_OUT");
    let parsed = keystone_rs::db::parse_connection_url(&url).expect("url");
    let mut conn = keystone_rs::db::ConnectionManager::new(parsed)
        .connect()
        .expect("connect");
    let mut text = catalog::describe(&mut conn).join("\n");
    text.push('\n');
    std::fs::write(&out, text).expect("write fixture");
}

// ---- SQLite ---------------------------------------------------------------------------

#[test]
fn sqlite_fresh_database_migrates_like_keystone() {
    fresh_database_migrates_like_keystone(&TempDb::sqlite());
}

#[test]
fn sqlite_every_table_roundtrips() {
    every_table_roundtrips(&TempDb::sqlite());
}

#[test]
fn sqlite_keystone_like_database_is_adopted() {
    let db = TempDb::sqlite();
    let conn = keystone_like_database(&db);
    adopts_keystone_database(&db, conn);
}

#[test]
fn sqlite_other_keystone_revisions_are_refused() {
    refuses_other_keystone_revisions(&TempDb::sqlite(), &TempDb::sqlite());
}

#[test]
fn sqlite_keystone_built_database_is_adopted() {
    keystone_built_database_is_adopted(&TempDb::sqlite());
}

#[test]
fn sqlite_keystone_accepts_our_database() {
    keystone_accepts_our_database(&TempDb::sqlite());
}

#[test]
fn sqlite_foreign_keys_are_enforced_on_our_connections() {
    let db = TempDb::sqlite();
    let mut conn = db.connect();
    migrate::run_pending(&mut conn).expect("run_pending");
    let orphan = conn
        .batch_execute("INSERT INTO user_option (user_id, option_id) VALUES ('nobody', 'MFAE')");
    assert!(
        orphan.is_err(),
        "FK user_option.user_id -> user.id not enforced"
    );
}

/// A unique violation that the caller survives (a replayed nonce or `jti` racing its twin)
/// leaves the transaction usable on every backend — PostgreSQL aborts the whole transaction
/// on a failed statement unless it is rolled back to a savepoint — and the row inserted
/// first is kept.
fn unique_violation_leaves_the_transaction_usable(db: &TempDb) {
    use diesel::prelude::*;
    use keystone_rs::db::insert_unless_taken;
    use keystone_rs::db::schema::ksrs_replay as r;
    let mut conn = db.connect();
    migrate::run_pending(&mut conn).expect("run_pending");
    let insert = |conn: &mut AnyConnection| {
        diesel::insert_into(r::table)
            .values((r::kind.eq("test"), r::value.eq("once"), r::expires_at.eq(1)))
            .execute(conn)
    };
    conn.transaction::<_, keystone_rs::error::Error, _>(|conn| {
        assert!(
            insert_unless_taken(conn, insert)?,
            "the first insert is taken"
        );
        assert!(
            !insert_unless_taken(conn, insert)?,
            "the second one finds it"
        );
        let rows: i64 = r::table.count().get_result(conn)?;
        assert_eq!(rows, 1, "the transaction still answers after the violation");
        Ok(())
    })
    .expect("the transaction commits");
    let rows: i64 = r::table.count().get_result(&mut conn).expect("count");
    assert_eq!(rows, 1);
}

#[test]
fn sqlite_unique_violation_leaves_the_transaction_usable() {
    unique_violation_leaves_the_transaction_usable(&TempDb::sqlite());
}

// ---- PostgreSQL -----------------------------------------------------------------------

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    #[test]
    fn postgres_fresh_database_migrates_like_keystone() {
        if let Some(db) = TempDb::postgres() {
            fresh_database_migrates_like_keystone(&db);
        }
    }

    #[test]
    fn postgres_unique_violation_leaves_the_transaction_usable() {
        if let Some(db) = TempDb::postgres() {
            unique_violation_leaves_the_transaction_usable(&db);
        }
    }

    #[test]
    fn postgres_every_table_roundtrips() {
        if let Some(db) = TempDb::postgres() {
            every_table_roundtrips(&db);
        }
    }

    #[test]
    fn postgres_keystone_like_database_is_adopted() {
        if let Some(db) = TempDb::postgres() {
            let conn = keystone_like_database(&db);
            adopts_keystone_database(&db, conn);
        }
    }

    #[test]
    fn postgres_other_keystone_revisions_are_refused() {
        if let (Some(a), Some(b)) = (TempDb::postgres(), TempDb::postgres()) {
            refuses_other_keystone_revisions(&a, &b);
        }
    }

    #[test]
    fn postgres_keystone_built_database_is_adopted() {
        if peer::driver_path().is_none() {
            support::notice(
                "skipping: KSRS_PEER_PYTHONPATH (psycopg2 for keystone-manage) not set",
            );
            return;
        }
        if let Some(db) = TempDb::postgres() {
            keystone_built_database_is_adopted(&db);
        }
    }

    #[test]
    fn postgres_keystone_accepts_our_database() {
        if peer::driver_path().is_none() {
            support::notice(
                "skipping: KSRS_PEER_PYTHONPATH (psycopg2 for keystone-manage) not set",
            );
            return;
        }
        if let Some(db) = TempDb::postgres() {
            keystone_accepts_our_database(&db);
        }
    }
}

// ---- MySQL / MariaDB ------------------------------------------------------------------

#[cfg(feature = "mysql")]
mod mysql {
    use super::*;

    #[test]
    fn mysql_fresh_database_migrates_like_keystone() {
        if let Some(db) = TempDb::mysql() {
            fresh_database_migrates_like_keystone(&db);
        }
    }

    #[test]
    fn mysql_unique_violation_leaves_the_transaction_usable() {
        if let Some(db) = TempDb::mysql() {
            unique_violation_leaves_the_transaction_usable(&db);
        }
    }

    #[test]
    fn mysql_every_table_roundtrips() {
        if let Some(db) = TempDb::mysql() {
            every_table_roundtrips(&db);
        }
    }

    #[test]
    fn mysql_keystone_like_database_is_adopted() {
        if let Some(db) = TempDb::mysql() {
            let conn = keystone_like_database(&db);
            adopts_keystone_database(&db, conn);
        }
    }

    #[test]
    fn mysql_other_keystone_revisions_are_refused() {
        if let (Some(a), Some(b)) = (TempDb::mysql(), TempDb::mysql()) {
            refuses_other_keystone_revisions(&a, &b);
        }
    }

    /// MySQL commits each DDL statement: a migration that died half-way must complete when
    /// run again.
    #[test]
    fn mysql_interrupted_migration_completes_on_rerun() {
        let Some(db) = TempDb::mysql() else { return };
        let mut conn = db.connect();
        let sql = migration_sql(Backend::Mysql, KEYSTONE_SCHEMA);
        let statements: Vec<&str> = sql
            .split(";\n")
            .filter(|s| s.contains("CREATE TABLE"))
            .collect();
        assert!(statements.len() > 40, "{} statements", statements.len());
        for statement in &statements[..statements.len() / 2] {
            conn.batch_execute(statement).expect("first half");
        }
        let report = migrate::run_pending(&mut conn).expect("run_pending completes the schema");
        assert_eq!(
            report.applied,
            [vec![KEYSTONE_SCHEMA.to_string()], ksrs_migrations()].concat()
        );
        catalog::assert_same(
            "after an interrupted migration",
            &catalog::read_fixture(Backend::Mysql),
            &catalog::describe(&mut conn),
        );
    }

    #[test]
    fn mysql_keystone_built_database_is_adopted() {
        if peer::driver_path().is_none() {
            support::notice("skipping: KSRS_PEER_PYTHONPATH (pymysql for keystone-manage) not set");
            return;
        }
        if let Some(db) = TempDb::mysql() {
            keystone_built_database_is_adopted(&db);
        }
    }

    #[test]
    fn mysql_keystone_accepts_our_database() {
        if peer::driver_path().is_none() {
            support::notice("skipping: KSRS_PEER_PYTHONPATH (pymysql for keystone-manage) not set");
            return;
        }
        if let Some(db) = TempDb::mysql() {
            keystone_accepts_our_database(&db);
        }
    }
}
