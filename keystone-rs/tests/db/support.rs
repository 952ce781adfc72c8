//! Throw-away databases for the tests: a temp SQLite file, or a freshly created, uniquely
//! named database on the local PostgreSQL / MariaDB server, dropped again afterwards.
//!
//! A server that cannot be reached skips the test with a notice, unless `CI` is set: there a
//! missing server is a failure, so that CI never passes by skipping.

// Some helpers serve only the PostgreSQL/MySQL tests.
#![cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]

use keystone_rs::db::{AnyConnection, Backend, ConnectionManager, parse_connection_url};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Skip (print why) outside CI; fail under CI.
pub fn unavailable(what: &str, why: &str) {
    if under_ci() {
        panic!("{what} is required under CI but unavailable: {why}");
    }
    notice(&format!("skipping: {what} unavailable: {why}"));
}

/// Printed past the test harness's output capture, so that a skip is seen in a normal run.
pub fn notice(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "NOTICE: {message}");
}

pub struct TempDb {
    pub backend: Backend,
    /// keystone.conf style URL, as keystone-rs is configured.
    pub url: String,
    /// The same database as SQLAlchemy (Python Keystone) names it.
    pub sqlalchemy_url: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "ksrs_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        nanos
    )
}

impl TempDb {
    pub fn sqlite() -> TempDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keystone.db");
        let path = path.to_str().expect("utf-8 temp path").to_string();
        TempDb {
            backend: Backend::Sqlite,
            url: format!("sqlite:///{path}"),
            sqlalchemy_url: format!("sqlite:///{path}"),
            name: path,
            _dir: Some(dir),
        }
    }

    /// A new empty database on the test PostgreSQL server, or None (skipped).
    #[cfg(feature = "postgres")]
    pub fn postgres() -> Option<TempDb> {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let server = pg_server();
        let mut admin = match diesel::PgConnection::establish(&format!("{server}/postgres")) {
            Ok(c) => c,
            Err(e) => {
                unavailable(&format!("PostgreSQL at {server}"), &e.to_string());
                return None;
            }
        };
        let name = unique_name();
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create test database");
        let rest = server.split_once("://").map(|(_, r)| r).unwrap_or(&server);
        Some(TempDb {
            backend: Backend::Postgres,
            url: format!("{server}/{name}"),
            sqlalchemy_url: format!("postgresql+psycopg2://{rest}/{name}"),
            name,
            _dir: None,
        })
    }

    /// A new empty database on the test MariaDB/MySQL server, or None (skipped).
    #[cfg(feature = "mysql")]
    pub fn mysql() -> Option<TempDb> {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let server = mysql_server();
        let mut admin = match diesel::MysqlConnection::establish(&format!("{server}/mysql")) {
            Ok(c) => c,
            Err(e) => {
                unavailable(&format!("MySQL at {server}"), &e.to_string());
                return None;
            }
        };
        let name = unique_name();
        admin
            .batch_execute(&format!("CREATE DATABASE `{name}`"))
            .expect("create test database");
        let rest = server.split_once("://").map(|(_, r)| r).unwrap_or(&server);
        Some(TempDb {
            backend: Backend::Mysql,
            url: format!("{server}/{name}"),
            sqlalchemy_url: format!("mysql+pymysql://{rest}/{name}?charset=utf8"),
            name,
            _dir: None,
        })
    }

    /// A connection as the server makes them (same session settings).
    pub fn connect(&self) -> AnyConnection {
        let url = parse_connection_url(&self.url).expect("test URL");
        ConnectionManager::new(url)
            .connect()
            .expect("connect to test database")
    }
}

#[cfg(feature = "postgres")]
fn pg_server() -> String {
    std::env::var("KSRS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432".to_string())
}

#[cfg(feature = "mysql")]
fn mysql_server() -> String {
    std::env::var("KSRS_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_string())
}

impl Drop for TempDb {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {}
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                use diesel::Connection;
                use diesel::connection::SimpleConnection;
                if let Ok(mut admin) =
                    diesel::PgConnection::establish(&format!("{}/postgres", pg_server()))
                {
                    let _ = admin.batch_execute(&format!(
                        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                        self.name
                    ));
                }
            }
            #[cfg(feature = "mysql")]
            Backend::Mysql => {
                use diesel::Connection;
                use diesel::connection::SimpleConnection;
                if let Ok(mut admin) =
                    diesel::MysqlConnection::establish(&format!("{}/mysql", mysql_server()))
                {
                    let _ =
                        admin.batch_execute(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
                }
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}

/// The SQL of one of our migrations, read from the source tree (to build a database the way
/// Keystone would, without diesel's bookkeeping).
pub fn migration_sql(backend: Backend, folder: &str) -> String {
    let dir = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::Mysql => "mysql",
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(dir)
        .join(folder)
        .join("up.sql");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub const KEYSTONE_SCHEMA: &str = "2026-11-24-000000_keystone_schema";
pub const KSRS_REPLAY: &str = "2026-11-24-000100_ksrs_replay";

/// keystone-rs's own migrations, in order: what runs on top of Keystone's schema.
pub fn ksrs_migrations() -> Vec<String> {
    [
        KSRS_REPLAY,
        "2026-11-24-000200_ksrs_generation",
        "2026-11-24-000300_ksrs_oauth2_client",
        "2026-11-24-000400_ksrs_oauth2_certificate",
        "2026-12-05-000000_ksrs_oauth2_client_sealed_secret",
        "2026-12-06-000000_ksrs_lookup_indexes",
    ]
    .map(String::from)
    .to_vec()
}
