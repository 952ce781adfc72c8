//! The r2d2 connection manager, and what the pool knows about the database server's health.
//!
//! r2d2 alone handles a database restart badly: a connection the server dropped goes back
//! into the pool as if nothing happened (nothing tells r2d2 it broke) and fails the next
//! request too, and while the server is down every checkout waits the full timeout behind
//! r2d2's reconnect loop. So:
//! - a query that fails because its connection is gone marks that connection lost (r2d2
//!   then discards it) and counts a loss; an idle connection older than the last loss proves
//!   itself with `SELECT 1` at its next checkout, so the steady state pays nothing;
//! - a failed connect marks the server down: checkouts then fail at once with 503 unless an
//!   idle connection is at hand, until one of r2d2's background reconnects succeeds.

use super::{AnyConnection, Backend, ConnectionUrl};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, R2D2Connection};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A pooled connection and what the pool knows about it.
pub struct PoolConnection {
    conn: AnyConnection,
    /// A query on it failed because the server closed it: r2d2 must not hand it out again.
    lost: bool,
    /// The [`Health::losses`] count at which it was last known good.
    verified_at: u64,
}

impl Deref for PoolConnection {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for PoolConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl PoolConnection {
    /// Is it still good after the last connection loss the pool saw? A connection that
    /// fails the check is marked lost (dropping it then discards it).
    pub(super) fn verify(&mut self, health: &Health) -> bool {
        let losses = health.losses();
        if self.verified_at >= losses {
            return true;
        }
        if self.conn.batch_execute("SELECT 1").is_ok() {
            self.verified_at = losses;
            true
        } else {
            self.lost = true;
            false
        }
    }

    pub(super) fn mark_lost(&mut self, health: &Health) {
        self.lost = true;
        health.losses.fetch_add(1, Ordering::AcqRel);
    }
}

/// The database server as the pool last saw it.
#[derive(Debug, Default)]
pub struct Health {
    down: AtomicBool,
    losses: AtomicU64,
}

impl Health {
    /// The last connect attempt failed, and none has succeeded since.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    fn losses(&self) -> u64 {
        self.losses.load(Ordering::Acquire)
    }

    fn connect_failed(&self, error: &diesel::ConnectionError) {
        if !self.down.swap(true, Ordering::AcqRel) {
            // The idle connections most likely went with the server.
            self.losses.fetch_add(1, Ordering::AcqRel);
            tracing::error!(%error, "database unreachable: answering 503 until it is back");
        }
    }

    fn connected(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::warn!("database reachable again");
        }
    }
}

/// Did this query fail because the connection to the server is gone (server stopped,
/// restarted, or killed the session), rather than because of what it asked?
pub fn is_connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error as D};
    match e {
        D::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | D::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => true,
        // The COMMIT failed and so did the rollback after it: whether the transaction
        // was stored is unknown, and the cause is what counts.
        D::RollbackErrorOnCommit { commit_error, .. } => is_connection_lost(commit_error),
        // MySQL errors all arrive as `Unknown`; libpq reports some losses only in the text.
        D::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            [
                "server has gone away",        // CR_SERVER_GONE_ERROR 2006
                "lost connection to",          // CR_SERVER_LOST 2013/2055
                "server shutdown in progress", // ER_SERVER_SHUTDOWN 1053
                "connection was killed",       // ER_CONNECTION_KILLED 1927
                "can't connect to",            // CR_CONN_HOST_ERROR 2002/2003
                "terminating connection due to administrator command", // 57P01
                "server closed the connection unexpectedly",
                "no connection to the server",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        }
        _ => false,
    }
}

/// Opens connections for the pool, dispatching on the URL scheme ourselves: diesel's own
/// multi-connection `establish` hides the real error of a refused PostgreSQL/MySQL connect.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: ConnectionUrl,
    health: Arc<Health>,
}

impl ConnectionManager {
    pub fn new(url: ConnectionUrl) -> Self {
        Self::reporting_to(url, Arc::default())
    }

    /// A manager whose connects tell `health` whether the server answers.
    pub fn reporting_to(url: ConnectionUrl, health: Arc<Health>) -> Self {
        ConnectionManager { url, health }
    }

    pub fn connect(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        match self.url.backend {
            Backend::Sqlite => {
                let mut conn = diesel::SqliteConnection::establish(&self.url.diesel_url)?;
                // WAL lets readers run beside the writer; the busy timeout makes writers
                // from other processes wait instead of failing with "database is locked"
                // (set first: switching to WAL takes a lock another writer may hold);
                // foreign keys keep deletes from leaving orphans (Keystone leaves them off).
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(&self.url.diesel_url)?;
                conn.batch_execute("SET TIME ZONE 'UTC'")
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Postgresql(conn))
            }
            #[cfg(feature = "mysql")]
            Backend::Mysql => {
                let mut conn = diesel::MysqlConnection::establish(&self.url.diesel_url)?;
                // READ COMMITTED: InnoDB's default REPEATABLE READ takes gap locks on range
                // deletes (revocation-event pruning) that deadlock concurrent writers.
                for statement in [
                    "SET time_zone = '+00:00', sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')",
                    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                ] {
                    conn.batch_execute(statement)
                        .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                }
                Ok(AnyConnection::Mysql(conn))
            }
            #[allow(unreachable_patterns)]
            other => Err(diesel::ConnectionError::BadConnection(format!(
                "this build has no {other:?} support: rebuild with `--features {}`",
                other.cargo_feature()
            ))),
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = PoolConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PoolConnection, Self::Error> {
        // Read before connecting: a loss counted meanwhile may concern this connection.
        let losses = self.health.losses();
        match ConnectionManager::connect(self) {
            Ok(conn) => {
                self.health.connected();
                Ok(PoolConnection {
                    conn,
                    lost: false,
                    verified_at: losses,
                })
            }
            Err(e) => {
                // An embedded file has no server to go down: a failed open (a lock held
                // past the busy timeout) is that request's failure alone.
                if self.url.backend != Backend::Sqlite {
                    self.health.connect_failed(&e);
                }
                Err(diesel::r2d2::Error::ConnectionError(e))
            }
        }
    }

    fn is_valid(&self, conn: &mut PoolConnection) -> Result<(), Self::Error> {
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    /// Lost, or left inside a transaction / with a transaction manager in an error state
    /// (diesel's own test).
    fn has_broken(&self, conn: &mut PoolConnection) -> bool {
        conn.lost || conn.conn.is_broken()
    }
}

/// r2d2 reports each failed background reconnect; [`Health`] already logged the outage
/// once, so these go to debug.
#[derive(Debug)]
pub struct QuietErrorHandler;

impl r2d2::HandleError<diesel::r2d2::Error> for QuietErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::debug!(%error, "database connection attempt failed");
    }
}
