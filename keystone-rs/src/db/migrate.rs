//! Schema migrations (`manage db_sync`), one folder per backend under `migrations/`, because
//! Keystone's schema is not portable SQL (SERIAL / AUTO_INCREMENT, DATETIME, ENUMs, index
//! names that differ per backend).
//!
//! Two kinds of migration, told apart by name:
//! - `*_keystone_*` reproduce Keystone's own schema exactly, including the `alembic_version`
//!   stamp, so that Python Keystone can use a database keystone-rs built. Each one stands for
//!   a pair of Keystone alembic heads ([`KEYSTONE_STEPS`]). A later one must also update
//!   `alembic_version` to its heads.
//! - `*_ksrs_*` add what only keystone-rs needs. They never touch Keystone's tables.
//!
//! The db_sync rule for a database that Keystone's own migrations built (it has
//! `alembic_version`): a `keystone` migration whose heads the database has reached is only
//! recorded as applied, never run, so nothing Keystone owns changes; the `ksrs` ones run.
//! A database Keystone left at other revisions is refused with an explanation.

use super::{AnyConnection, Backend};
use crate::error::{Error, Result};
use diesel::backend::Backend as DieselBackend;
use diesel::connection::BoxableConnection;
use diesel::migration::{self, Migration, MigrationMetadata, MigrationName};
use diesel::query_builder::SqlQuery;
use diesel::query_dsl::LoadQuery;
use diesel::sql_types::Text;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
#[cfg(feature = "postgres")]
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
#[cfg(feature = "mysql")]
pub const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/mysql");

/// Keystone's alembic revisions in order, per branch (Keystone 30.0.0). The first is the
/// common root of both branches.
const EXPAND_CHAIN: &[&str] = &[
    "27e647c0fad4",
    "29e87d24a316",
    "b4f8b3f584e0",
    "11c3b243b4cb",
    "47147121",
    "e8725d6fa226",
    "742c857f1dfb",
];
const CONTRACT_CHAIN: &[&str] = &[
    "27e647c0fad4",
    "e25ffa003242",
    "99de3849d860",
    "c88cdce8f248",
];

/// A `keystone` migration and the alembic heads a Keystone-built database has when it
/// already holds that schema.
pub struct KeystoneStep {
    /// The diesel migration version (the folder name's date part without dashes).
    pub version: &'static str,
    pub expand_head: &'static str,
    pub contract_head: &'static str,
}

pub const KEYSTONE_STEPS: &[KeystoneStep] = &[KeystoneStep {
    version: "20261124000000",
    expand_head: "742c857f1dfb",
    contract_head: "c88cdce8f248",
}];

/// What `run_pending` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub backend: Backend,
    /// The database carries Keystone's `alembic_version` (built by Keystone, or by us).
    pub keystone_stamped: bool,
    /// Migrations recorded as applied without running them: Keystone had built that schema.
    pub recorded: Vec<String>,
    /// Migrations that ran.
    pub applied: Vec<String>,
}

impl MigrationReport {
    pub fn is_noop(&self) -> bool {
        self.recorded.is_empty() && self.applied.is_empty()
    }
}

/// Bring the database to the schema this build expects (`manage db_sync`).
pub fn run_pending(conn: &mut AnyConnection) -> Result<MigrationReport> {
    match conn {
        AnyConnection::Sqlite(c) => run_on(c, SQLITE_MIGRATIONS, Backend::Sqlite),
        #[cfg(feature = "postgres")]
        AnyConnection::Postgresql(c) => run_on(c, POSTGRES_MIGRATIONS, Backend::Postgres),
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(c) => run_on(c, MYSQL_MIGRATIONS, Backend::Mysql),
    }
}

/// Start-up check: true when nothing is pending. An `alembic_version` that names Keystone
/// revisions this build does not know is an error (a newer Keystone changed the schema).
pub fn is_current(conn: &mut AnyConnection) -> Result<bool> {
    match conn {
        AnyConnection::Sqlite(c) => is_current_on(c, SQLITE_MIGRATIONS, Backend::Sqlite),
        #[cfg(feature = "postgres")]
        AnyConnection::Postgresql(c) => is_current_on(c, POSTGRES_MIGRATIONS, Backend::Postgres),
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(c) => is_current_on(c, MYSQL_MIGRATIONS, Backend::Mysql),
    }
}

/// The migrations this build has that the database lacks (names, oldest first): what
/// start-up, `/healthcheck` and `manage doctor` report, and what `db_sync` would do.
pub fn pending_names(conn: &mut AnyConnection) -> Result<Vec<String>> {
    match conn {
        AnyConnection::Sqlite(c) => pending_on(c, SQLITE_MIGRATIONS, Backend::Sqlite),
        #[cfg(feature = "postgres")]
        AnyConnection::Postgresql(c) => pending_on(c, POSTGRES_MIGRATIONS, Backend::Postgres),
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(c) => pending_on(c, MYSQL_MIGRATIONS, Backend::Mysql),
    }
}

/// Keystone's alembic position as `keystone-manage db_version` / `db_sync --check` read it:
/// the expand and contract revisions the database is at (None: not there at all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlembicPosition {
    pub expand: Option<String>,
    pub contract: Option<String>,
}

impl AlembicPosition {
    pub fn expand_head() -> &'static str {
        EXPAND_CHAIN[EXPAND_CHAIN.len() - 1]
    }

    pub fn contract_head() -> &'static str {
        CONTRACT_CHAIN[CONTRACT_CHAIN.len() - 1]
    }

    fn of(revisions: &[String]) -> AlembicPosition {
        // The common root sits on both chains; alembic gives it to the expand branch.
        let on = |chain: &[&str], skip_root: bool| {
            position(chain, revisions)
                .filter(|p| !(skip_root && *p == 0))
                .map(|p| chain[p].to_string())
        };
        AlembicPosition {
            expand: on(EXPAND_CHAIN, false),
            contract: on(CONTRACT_CHAIN, true),
        }
    }
}

/// Where `alembic_version` says the database is; an empty position when the table is
/// absent (never migrated, or not by Keystone's rules).
pub fn alembic_position(conn: &mut AnyConnection) -> Result<AlembicPosition> {
    let revisions = match conn {
        AnyConnection::Sqlite(c) => alembic_revisions(c, Backend::Sqlite)?,
        #[cfg(feature = "postgres")]
        AnyConnection::Postgresql(c) => alembic_revisions(c, Backend::Postgres)?,
        #[cfg(feature = "mysql")]
        AnyConnection::Mysql(c) => alembic_revisions(c, Backend::Mysql)?,
    };
    Ok(revisions
        .map(|r| AlembicPosition::of(&r))
        .unwrap_or_default())
}

#[derive(diesel::QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

fn load_names<C>(conn: &mut C, sql: &str) -> diesel::QueryResult<Vec<String>>
where
    C: Connection,
    for<'a> SqlQuery: LoadQuery<'a, C, NameRow>,
{
    let rows: Vec<NameRow> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

fn table_exists<C>(conn: &mut C, backend: Backend, table: &str) -> Result<bool>
where
    C: Connection,
    for<'a> SqlQuery: LoadQuery<'a, C, NameRow>,
{
    // `table` is one of our constants, never input.
    let probe = match backend {
        Backend::Sqlite => {
            format!("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
        }
        Backend::Postgres => format!(
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        Backend::Mysql => format!(
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = '{table}'"
        ),
    };
    let found =
        load_names(conn, &probe).map_err(|e| db_error(&format!("looking for {table}"), e))?;
    Ok(!found.is_empty())
}

/// Keystone's alembic position: None when the database has no `alembic_version` table.
fn alembic_revisions<C>(conn: &mut C, backend: Backend) -> Result<Option<Vec<String>>>
where
    C: Connection,
    for<'a> SqlQuery: LoadQuery<'a, C, NameRow>,
{
    if !table_exists(conn, backend, "alembic_version")? {
        // Keystone before Yoga tracked its schema with sqlalchemy-migrate. Our MySQL DDL skips
        // tables that exist (to recover from a half-run migration), so it must not be let
        // loose on such a database.
        if table_exists(conn, backend, "migrate_version")? {
            return Err(Error::internal(
                "this database was built by a Keystone older than Yoga (it has sqlalchemy-migrate's \
                 migrate_version and no alembic_version). Upgrade it with Keystone's own \
                 `keystone-manage db_sync` first.",
            ));
        }
        return Ok(None);
    }
    let revisions = load_names(conn, "SELECT version_num AS name FROM alembic_version")
        .map_err(|e| db_error("reading alembic_version", e))?;
    if let Some(unknown) = revisions.iter().find(|r| !is_known_revision(r)) {
        return Err(Error::internal(format!(
            "the database's alembic_version names Keystone revision {unknown}, which this \
             keystone-rs does not know: a newer Keystone has changed the schema. Refusing to \
             use it; upgrade keystone-rs to a release that knows that revision."
        )));
    }
    Ok(Some(revisions))
}

fn is_known_revision(revision: &str) -> bool {
    EXPAND_CHAIN.contains(&revision) || CONTRACT_CHAIN.contains(&revision)
}

/// The furthest position the database's revisions reach on one branch.
fn position(chain: &[&str], revisions: &[String]) -> Option<usize> {
    revisions
        .iter()
        .filter_map(|r| chain.iter().position(|c| c == r))
        .max()
}

/// Whether a Keystone-built database already holds the schema of `step`.
fn keystone_reached(step: &KeystoneStep, revisions: &[String]) -> bool {
    let needed_expand = EXPAND_CHAIN.iter().position(|c| *c == step.expand_head);
    let needed_contract = CONTRACT_CHAIN.iter().position(|c| *c == step.contract_head);
    match (needed_expand, needed_contract) {
        (Some(e), Some(c)) => {
            position(EXPAND_CHAIN, revisions).is_some_and(|p| p >= e)
                && position(CONTRACT_CHAIN, revisions).is_some_and(|p| p >= c)
        }
        _ => false,
    }
}

fn keystone_step(version: &str) -> Option<&'static KeystoneStep> {
    KEYSTONE_STEPS.iter().find(|s| s.version == version)
}

fn is_keystone_migration(name: &str) -> bool {
    name.contains("_keystone_")
}

fn run_on<C, DB>(
    conn: &mut C,
    source: EmbeddedMigrations,
    backend: Backend,
) -> Result<MigrationReport>
where
    DB: DieselBackend,
    C: Connection<Backend = DB> + MigrationHarness<DB>,
    for<'a> SqlQuery: LoadQuery<'a, C, NameRow>,
{
    let alembic = alembic_revisions(conn, backend)?;
    let applied_versions: Vec<String> = conn
        .applied_migrations()
        .map_err(|e| migration_error(backend, "reading the applied migrations", e))?
        .iter()
        .map(|v| v.to_string())
        .collect();
    let keystone_part_is_ours = KEYSTONE_STEPS
        .iter()
        .any(|s| applied_versions.iter().any(|v| v == s.version));
    let pending = MigrationHarness::pending_migrations(conn, source)
        .map_err(|e| migration_error(backend, "listing pending migrations", e))?;

    let mut report = MigrationReport {
        backend,
        keystone_stamped: alembic.is_some(),
        recorded: Vec::new(),
        applied: Vec::new(),
    };
    for migration in &pending {
        let name = migration.name().to_string();
        let version = migration.name().version().to_string();
        let record_only = match (&alembic, is_keystone_migration(&name)) {
            (Some(revisions), true) => {
                let step = keystone_step(&version).ok_or_else(|| {
                    Error::internal(format!(
                        "migration {name} reproduces Keystone's schema but has no entry in \
                         KEYSTONE_STEPS (a keystone-rs bug)"
                    ))
                })?;
                if keystone_reached(step, revisions) {
                    true
                } else if !keystone_part_is_ours && report.recorded.is_empty() {
                    // Keystone built this database but stopped short of the schema our first
                    // pending step stands for: running our DDL over it would collide.
                    return Err(Error::internal(format!(
                        "this database was built by an older Keystone (alembic revisions {}); \
                         keystone-rs needs Keystone's schema at {} / {}. Upgrade it first with \
                         that Keystone release's `keystone-manage db_sync` (expand and contract).",
                        revisions.join(", "),
                        step.expand_head,
                        step.contract_head
                    )));
                } else {
                    false
                }
            }
            _ => false,
        };
        if record_only {
            conn.run_migration(&RecordOnly(&**migration))
                .map_err(|e| migration_error(backend, &format!("recording {name}"), e))?;
            tracing::info!(migration = %name, "Keystone built this schema already: recorded as applied");
            report.recorded.push(name);
        } else {
            conn.run_migration(&**migration)
                .map_err(|e| failed_migration(backend, &name, e))?;
            tracing::info!(migration = %name, "applied");
            report.applied.push(name);
        }
    }
    Ok(report)
}

fn is_current_on<C, DB>(conn: &mut C, source: EmbeddedMigrations, backend: Backend) -> Result<bool>
where
    DB: DieselBackend,
    C: Connection<Backend = DB> + MigrationHarness<DB>,
    for<'a> SqlQuery: LoadQuery<'a, C, NameRow>,
{
    alembic_revisions(conn, backend)?;
    let pending = MigrationHarness::has_pending_migration(conn, source)
        .map_err(|e| migration_error(backend, "listing pending migrations", e))?;
    Ok(!pending)
}

fn pending_on<C, DB>(
    conn: &mut C,
    source: EmbeddedMigrations,
    backend: Backend,
) -> Result<Vec<String>>
where
    DB: DieselBackend,
    C: Connection<Backend = DB> + MigrationHarness<DB>,
    for<'a> SqlQuery: LoadQuery<'a, C, NameRow>,
{
    alembic_revisions(conn, backend)?;
    // Read-only, unlike the harness (which creates its bookkeeping table first): this runs
    // on every `/healthcheck` and on databases keystone-rs must not touch yet.
    let applied: Vec<String> = if table_exists(conn, backend, "__diesel_schema_migrations")? {
        load_names(
            conn,
            "SELECT version AS name FROM __diesel_schema_migrations",
        )
        .map_err(|e| db_error("reading the applied migrations", e))?
    } else {
        Vec::new()
    };
    let known = diesel::migration::MigrationSource::<DB>::migrations(&source)
        .map_err(|e| migration_error(backend, "listing the migrations", e))?;
    Ok(known
        .iter()
        .filter(|m| {
            let version = m.name().version().to_string();
            !applied.iter().any(|a| a.trim() == version)
        })
        .map(|m| m.name().to_string())
        .collect())
}

/// Runs nothing; the harness still records the migration's version.
struct RecordOnly<'m, DB>(&'m dyn Migration<DB>);

impl<DB: DieselBackend> Migration<DB> for RecordOnly<'_, DB> {
    fn run(&self, _conn: &mut dyn BoxableConnection<DB>) -> migration::Result<()> {
        Ok(())
    }

    fn revert(&self, _conn: &mut dyn BoxableConnection<DB>) -> migration::Result<()> {
        Ok(())
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        self.0.metadata()
    }

    fn name(&self) -> &dyn MigrationName {
        self.0.name()
    }
}

fn db_error(doing: &str, e: diesel::result::Error) -> Error {
    Error::internal(format!("database migration: {doing}: {e}"))
}

fn migration_error(backend: Backend, doing: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("database migration ({backend:?}): {doing}: {e}"))
}

fn failed_migration(backend: Backend, name: &str, e: impl std::fmt::Display) -> Error {
    let aftermath = match backend {
        // Every DDL statement commits on its own there: nothing was rolled back.
        Backend::Mysql => {
            " MySQL cannot roll back schema changes, so the statements before the failing one \
             stay applied. Every statement of keystone-rs's MySQL migrations can be repeated: \
             fix the cause and run db_sync again."
        }
        Backend::Sqlite | Backend::Postgres => " The migration was rolled back; nothing changed.",
    };
    Error::internal(format!("database migration {name} failed: {e}.{aftermath}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keystone_30_heads_reach_the_baseline() {
        let step = &KEYSTONE_STEPS[0];
        assert!(keystone_reached(
            step,
            &revs(&["742c857f1dfb", "c88cdce8f248"])
        ));
        assert!(keystone_reached(
            step,
            &revs(&["c88cdce8f248", "742c857f1dfb"])
        ));
    }

    #[test]
    fn older_or_half_upgraded_keystone_does_not_reach_the_baseline() {
        let step = &KEYSTONE_STEPS[0];
        assert!(!keystone_reached(
            step,
            &revs(&["e8725d6fa226", "c88cdce8f248"])
        ));
        // expand done, contract not yet
        assert!(!keystone_reached(
            step,
            &revs(&["742c857f1dfb", "e25ffa003242"])
        ));
        assert!(!keystone_reached(step, &revs(&["27e647c0fad4"])));
        assert!(!keystone_reached(step, &[]));
    }

    #[test]
    fn alembic_position_as_keystone_manage_reads_it() {
        let at_heads = AlembicPosition::of(&revs(&["c88cdce8f248", "742c857f1dfb"]));
        assert_eq!(
            at_heads.expand.as_deref(),
            Some(AlembicPosition::expand_head())
        );
        assert_eq!(
            at_heads.contract.as_deref(),
            Some(AlembicPosition::contract_head())
        );
        // only the common root: the expand branch's, contract not started
        let root = AlembicPosition::of(&revs(&["27e647c0fad4"]));
        assert_eq!(root.expand.as_deref(), Some("27e647c0fad4"));
        assert_eq!(root.contract, None);
        let expanded = AlembicPosition::of(&revs(&["742c857f1dfb", "e25ffa003242"]));
        assert_eq!(expanded.expand.as_deref(), Some("742c857f1dfb"));
        assert_eq!(expanded.contract.as_deref(), Some("e25ffa003242"));
        assert_eq!(AlembicPosition::of(&[]), AlembicPosition::default());
    }

    #[test]
    fn every_embedded_migration_is_classified() {
        let migrations: Vec<Box<dyn Migration<diesel::sqlite::Sqlite>>> =
            diesel::migration::MigrationSource::migrations(&SQLITE_MIGRATIONS).unwrap_or_default();
        assert!(!migrations.is_empty());
        for m in &migrations {
            let name = m.name().to_string();
            assert!(
                name.contains("_keystone_") || name.contains("_ksrs_"),
                "{name}"
            );
            if is_keystone_migration(&name) {
                assert!(
                    keystone_step(&m.name().version().to_string()).is_some(),
                    "{name}"
                );
            }
        }
    }
}
