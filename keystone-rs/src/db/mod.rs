//! The SQL store: one r2d2 pool over a connection whose backend is picked at run time from
//! `[database] connection` (SQLAlchemy-style URLs, as in keystone.conf).

pub mod collection;
pub mod enums;
mod error;
pub mod json_blob;
pub mod listing;
pub mod migrate;
mod pool;
pub mod replay;
pub mod schema;
mod url;

use crate::error::{Error, Result};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use pool::{ConnectionManager, Health, PoolConnection, is_connection_lost};
pub use url::{Backend, ConnectionUrl, parse_connection_url};

/// How long a request waits for a connection while the server is reachable (all of the
/// pool busy): then 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);
/// A waiting request looks this often whether the server went down meanwhile.
const CHECKOUT_SLICE: Duration = Duration::from_millis(100);
/// r2d2 retries a failed connect with a doubling delay capped at half its
/// `connection_timeout` (which nothing else here uses): this caps it at 250 ms, so the pool
/// is back within that of the server.
const RECONNECT_TIMEOUT: Duration = Duration::from_millis(500);

macro_rules! any_connection {
    ($($variant:ident($conn:ty)),+ $(,)?) => {
        /// A connection to whichever backend the configuration names. Query code is written
        /// once against this type; diesel dispatches to the backend.
        #[derive(diesel::MultiConnection)]
        pub enum AnyConnection {
            $($variant($conn)),+
        }
    };
}

#[cfg(all(feature = "postgres", feature = "mysql"))]
any_connection!(
    Postgresql(diesel::PgConnection),
    Mysql(diesel::MysqlConnection),
    Sqlite(diesel::SqliteConnection),
);
#[cfg(all(feature = "postgres", not(feature = "mysql")))]
any_connection!(
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection)
);
#[cfg(all(feature = "mysql", not(feature = "postgres")))]
any_connection!(
    Mysql(diesel::MysqlConnection),
    Sqlite(diesel::SqliteConnection)
);
#[cfg(not(any(feature = "postgres", feature = "mysql")))]
any_connection!(Sqlite(diesel::SqliteConnection));

impl AnyConnection {
    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "postgres")]
            AnyConnection::Postgresql(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            AnyConnection::Mysql(_) => Backend::Mysql,
            AnyConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(diesel::QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// The key that the last INSERT on this connection generated for an autoincrement column
/// (`local_user.id`, `password.id`, `application_credential.internal_id`, ...). MySQL has no
/// RETURNING, so neither has `AnyConnection`: call this right after the insert, on the same
/// connection (inside the same transaction).
pub fn last_insert_id(conn: &mut AnyConnection) -> Result<i64> {
    let sql = match conn.backend() {
        Backend::Sqlite => "SELECT last_insert_rowid() AS id",
        Backend::Postgres => "SELECT lastval() AS id",
        // LAST_INSERT_ID() is unsigned; diesel reads BIGINT as signed.
        Backend::Mysql => "SELECT CAST(LAST_INSERT_ID() AS SIGNED) AS id",
    };
    let row: InsertedId = diesel::RunQueryDsl::get_result(diesel::sql_query(sql), conn)?;
    Ok(row.id)
}

/// A transaction the database aborted only because of concurrent ones (deadlock,
/// serialization failure, lock wait timeout).
pub fn is_transient(e: &Error) -> bool {
    e.detail.as_deref().is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("deadlock")
            || d.contains("could not serialize")
            || d.contains("lock wait timeout")
    })
}

/// Run an insert that may hit a unique key, inside the caller's transaction, and carry on
/// either way: `Ok(false)` when the key was taken. The insert runs in a savepoint, because
/// on PostgreSQL any failed statement aborts the whole transaction ("current transaction is
/// aborted, commands ignored until end of transaction block"): without rolling back to the
/// savepoint, every later statement of the request — down to the commit — would fail.
pub fn insert_unless_taken(
    conn: &mut AnyConnection,
    insert: impl FnOnce(&mut AnyConnection) -> diesel::QueryResult<usize>,
) -> Result<bool> {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    match conn.transaction(insert) {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// What changed in the database, as far as caches of it are concerned: a local epoch that
/// moves on every write this process commits and whenever [`Db::changes`] reports that
/// another node wrote. Caches tag entries with the epoch their reads started in.
#[derive(Debug, Default)]
pub struct Epoch(AtomicU64);

impl Epoch {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// One write transaction. On SQLite it starts with `BEGIN IMMEDIATE`: a deferred transaction
/// that reads first and writes later cannot wait for another connection's write lock (SQLite
/// answers "database is locked" at once instead of honouring the busy timeout), which two
/// nodes sharing one file, or a Python Keystone beside us, would otherwise hit.
fn write_transaction<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T>,
) -> Result<T> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <AnyConnection as Connection>::TransactionManager;
    match conn {
        AnyConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?
        }
        // Unreachable in a build with SQLite alone.
        #[allow(unreachable_patterns)]
        _ => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rolling back a failed transaction failed");
            }
            Err(e)
        }
    }
}

/// The shared change marker: `ksrs_generation` (bumped by every keystone-rs write
/// transaction) and the `revocation_event` high-water mark and count (which also move when
/// Python Keystone nodes sharing the database revoke).
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::QueryableByName)]
pub struct ChangeMarker {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    generation: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    revoked_max: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    revoked_count: i64,
}

/// Read the shared change marker (three index lookups).
pub fn change_marker(conn: &mut AnyConnection) -> Result<ChangeMarker> {
    // MAX(id) of an INTEGER column is 32-bit on PostgreSQL; each backend spells the widening.
    let (max_id, count) = match conn.backend() {
        Backend::Sqlite => ("MAX(id)", "COUNT(*)"),
        Backend::Postgres => ("MAX(id)::bigint", "COUNT(*)"),
        Backend::Mysql => ("CAST(MAX(id) AS SIGNED)", "CAST(COUNT(*) AS SIGNED)"),
    };
    let sql = format!(
        "SELECT (SELECT generation FROM ksrs_generation WHERE id = 1) AS generation, \
         (SELECT COALESCE({max_id}, 0) FROM revocation_event) AS revoked_max, \
         (SELECT {count} FROM revocation_event) AS revoked_count"
    );
    Ok(diesel::RunQueryDsl::get_result(
        diesel::sql_query(sql),
        conn,
    )?)
}

/// Count a committed write in the shared marker, inside the writer's transaction so that
/// other nodes never see the data without the marker having moved.
fn bump_generation(conn: &mut AnyConnection) -> Result<()> {
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE ksrs_generation SET generation = generation + 1 WHERE id = 1"),
        conn,
    )?;
    Ok(())
}

/// A connection when the caller is on the blocking pool, none on an async worker: code
/// that can often answer from memory (token validation) asks for the connection only when
/// it must read, and an async caller then retries on the blocking pool.
pub struct MaybeConn<'a>(Option<&'a mut AnyConnection>);

/// The detail of the error [`MaybeConn::get`] returns without a connection.
const NEEDS_DATABASE: &str = "needs the database: retry on the blocking pool";

impl<'a> MaybeConn<'a> {
    pub fn open(conn: &'a mut AnyConnection) -> Self {
        MaybeConn(Some(conn))
    }

    /// No connection: every read fails with [`needs_database`].
    pub fn none() -> Self {
        MaybeConn(None)
    }

    pub fn has_connection(&self) -> bool {
        self.0.is_some()
    }

    pub fn get(&mut self) -> Result<&mut AnyConnection> {
        match self.0.as_deref_mut() {
            Some(conn) => Ok(conn),
            None => Err(Error::internal("database access off the blocking pool")
                .with_detail(NEEDS_DATABASE)),
        }
    }
}

/// Did this fail only because [`MaybeConn::none`] had no connection to offer?
pub fn needs_database(e: &Error) -> bool {
    e.detail.as_deref() == Some(NEEDS_DATABASE)
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// The database handle the rest of the server uses. Every call runs on actix's blocking
/// pool, never on an async worker.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// SQLite allows one writer; serialising our own writers in-process avoids the
    /// read-to-write upgrade failures that surface as "database is locked".
    sqlite_writer: Option<Arc<Mutex<()>>>,
    epoch: Arc<Epoch>,
    health: Arc<Health>,
    max_size: u32,
}

impl Db {
    pub fn open(url: &str, max_size: u32) -> Result<Db> {
        let url = parse_connection_url(url).map_err(|e| Error::internal(e))?;
        let backend = url.backend;
        // An in-memory SQLite database exists once per connection: keep exactly one.
        let max_size = if url.is_sqlite_memory() {
            1
        } else {
            max_size.max(1)
        };
        let health = Arc::new(Health::default());
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(0))
            .connection_timeout(RECONNECT_TIMEOUT)
            // Connections are tested only after a loss (see pool.rs), not on every checkout.
            .test_on_check_out(false)
            .error_handler(Box::new(pool::QuietErrorHandler))
            .build_unchecked(ConnectionManager::reporting_to(url, health.clone()));
        let sqlite_writer = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Db {
            pool,
            backend,
            sqlite_writer,
            epoch: Arc::default(),
            health,
            max_size,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This process's change epoch (see [`Epoch`]).
    pub fn epoch(&self) -> &Arc<Epoch> {
        &self.epoch
    }

    /// Connections open and idle, for the metrics endpoint.
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    pub fn max_size(&self) -> u32 {
        self.max_size
    }

    /// The database server as the pool last saw it.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// A connection, or 503: at once while the server is known to be down, after
    /// [`CHECKOUT_TIMEOUT`] when the pool stays busy.
    pub fn get(&self) -> Result<PooledConnection> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        loop {
            let mut conn = if self.health.is_down() {
                // r2d2 keeps reconnecting in the background; only an idle connection
                // could serve meanwhile.
                self.pool.try_get().ok_or_else(|| {
                    Error::service_unavailable("database pool: the database is unreachable")
                })?
            } else {
                match self.pool.get_timeout(CHECKOUT_SLICE) {
                    Ok(conn) => conn,
                    Err(e) if Instant::now() >= deadline => {
                        return Err(Error::service_unavailable(format!("database pool: {e}")));
                    }
                    Err(_) => continue,
                }
            };
            // A connection that fails the check is discarded when dropped here.
            if conn.verify(&self.health) {
                return Ok(conn);
            }
        }
    }

    /// A failure that means the connection is gone takes it out of the pool.
    fn note_failure<T>(&self, conn: &mut PooledConnection, result: &Result<T>) {
        if let Err(e) = result
            && e.status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE
        {
            conn.mark_lost(&self.health);
        }
    }

    /// Run read-only queries on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.read_blocking(f)).await?
    }

    /// Run `f` inside one transaction on the blocking pool: all of it is stored or none.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.write_blocking(f)).await?
    }

    /// As [`Db::write`], retried when the database aborts the transaction for a deadlock or
    /// a serialization failure (concurrent writers on PostgreSQL and InnoDB): the work is
    /// all-or-nothing, so running it again is safe.
    pub async fn write_retrying<T, F>(&self, f: F) -> Result<T>
    where
        F: Fn(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || {
            let mut attempt = 0;
            loop {
                match db.write_blocking(&f) {
                    Err(e) if attempt < 5 && is_transient(&e) => {
                        attempt += 1;
                        tracing::debug!(attempt, "retrying a transaction the database aborted");
                        std::thread::sleep(Duration::from_millis(5 * (1 << attempt)));
                    }
                    other => return other,
                }
            }
        })
        .await?
    }

    pub fn read_blocking<T>(&self, f: impl FnOnce(&mut AnyConnection) -> Result<T>) -> Result<T> {
        let mut conn = self.get()?;
        let result = f(&mut conn);
        self.note_failure(&mut conn, &result);
        result
    }

    pub fn write_blocking<T>(&self, f: impl FnOnce(&mut AnyConnection) -> Result<T>) -> Result<T> {
        let mut pooled = self.get()?;
        // `transaction` must run on the AnyConnection itself, not on the r2d2 wrapper.
        let conn: &mut AnyConnection = &mut pooled;
        let _guard = self
            .sqlite_writer
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let result = write_transaction(conn, |conn| {
            let value = f(conn)?;
            bump_generation(conn)?;
            Ok(value)
        });
        // After the commit: a cache fill that read before it carries the older epoch.
        self.epoch.advance();
        self.note_failure(&mut pooled, &result);
        result
    }
}
