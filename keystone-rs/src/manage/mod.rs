//! `keystone-rs manage …`: what `keystone-manage` does for the parts keystone-rs serves.

pub mod bootstrap;
pub mod domain_config;
pub mod policy;

use crate::config::Config;
use crate::db::{Db, migrate};
use crate::fernet::keys::KeyRepository;

/// `db_sync`: create or upgrade the schema; a Keystone-built schema is recognised and
/// left as Keystone made it.
pub fn db_sync(config: &Config) -> anyhow::Result<()> {
    ensure_sqlite_dir(config)?;
    let db = Db::open(&config.database.connection, 1).map_err(for_operator)?;
    let mut conn = db.get().map_err(for_operator)?;
    let report = migrate::run_pending(&mut conn).map_err(for_operator)?;
    if report.applied.is_empty() {
        println!("Database is up to date ({:?}).", report.backend);
    }
    for name in &report.recorded {
        println!("Recognised Keystone's schema: recorded {name} as applied without running it.");
    }
    for name in &report.applied {
        println!("Applied {name}.");
    }
    Ok(())
}

/// The embedded default keeps its SQLite file under ./var/: make the folder.
pub fn ensure_sqlite_dir(config: &Config) -> anyhow::Result<()> {
    let url =
        crate::db::parse_connection_url(&config.database.connection).map_err(anyhow::Error::msg)?;
    if let Some(path) = url.sqlite_path() {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
    }
    Ok(())
}

pub fn key_repository(config: &Config) -> KeyRepository {
    KeyRepository::new(
        config.fernet_tokens.key_repository.clone(),
        config.fernet_tokens.max_active_keys,
    )
}

pub fn fernet_setup(config: &Config) -> anyhow::Result<()> {
    key_repository(config).setup().map_err(for_operator)?;
    Ok(())
}

pub fn fernet_rotate(config: &Config) -> anyhow::Result<()> {
    key_repository(config).rotate().map_err(for_operator)?;
    Ok(())
}

/// The operator running a command sees what went wrong: the detail an HTTP client is
/// never shown (which file, which OS error).
fn for_operator(e: crate::error::Error) -> anyhow::Error {
    match e.detail {
        Some(detail) => anyhow::anyhow!(detail),
        None => anyhow::anyhow!(e.message),
    }
}
