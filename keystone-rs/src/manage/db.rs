//! `db_version` and the `db_sync` phases on keystone-rs's migrations. Keystone splits an
//! upgrade into `--expand`, `--migrate` and `--contract`; every keystone-rs migration is one
//! transaction that leaves the schema usable by both releases' Keystone counterparts, so
//! `--expand` applies what is pending, `--migrate` has nothing to do (as in Keystone since
//! alembic), and `--contract` only confirms that expand ran (and refuses otherwise, with
//! Keystone's message). `--check` answers with Keystone's exit codes: 0 up to date, 2 expand
//! (here: any migration) pending, 4 contract behind.

use crate::config::Config;
use crate::db::migrate::{self, AlembicPosition};
use crate::preflight;

/// What `db_sync` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    All,
    Expand,
    Migrate,
    Contract,
}

fn connect(config: &Config) -> anyhow::Result<crate::db::AnyConnection> {
    super::ensure_sqlite_dir(config)?;
    crate::db::ConnectionManager::new(
        crate::db::parse_connection_url(&config.database.connection).map_err(anyhow::Error::msg)?,
    )
    .connect()
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot connect to [database] connection = {}: {e}",
            preflight::redacted_connection(&config.database.connection)
        )
    })
}

/// `keystone-manage db_version`: the expand revision (Keystone's default branch), or
/// `None` on a database never migrated.
pub fn version(config: &Config) -> anyhow::Result<String> {
    let mut conn = connect(config)?;
    let position = migrate::alembic_position(&mut conn).map_err(super::for_operator)?;
    Ok(position.expand.unwrap_or_else(|| "None".into()))
}

/// `keystone-manage db_sync --check`: the exit status and the lines Keystone logs.
pub fn check(config: &Config) -> anyhow::Result<(i32, Vec<String>)> {
    let mut conn = connect(config)?;
    let position = migrate::alembic_position(&mut conn).map_err(super::for_operator)?;
    let pending = migrate::pending_names(&mut conn).map_err(super::for_operator)?;
    let expand_head = AlembicPosition::expand_head();
    let contract_head = AlembicPosition::contract_head();
    let mut lines = Vec::new();
    let status = if position.expand.as_deref() != Some(expand_head) || !pending.is_empty() {
        lines.push(
            "Your database is not up to date. Your first step is to run `keystone-manage \
             db_sync --expand`."
                .to_string(),
        );
        2
    } else if position.contract.as_deref() != Some(contract_head) {
        lines.push(
            "Expand version is ahead of contract. Your next step is to run `keystone-manage \
             db_sync --contract`."
                .to_string(),
        );
        4
    } else {
        lines.push(
            "All db_sync commands are upgraded to the same version and up-to-date.".to_string(),
        );
        0
    };
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "None".into());
    lines.push(format!(
        "Current repository versions:\nExpand: {} (head: {expand_head})\nContract: {} (head: \
         {contract_head})",
        shown(&position.expand),
        shown(&position.contract)
    ));
    if !pending.is_empty() {
        lines.push(format!(
            "keystone-rs migrations pending: {}",
            pending.join(", ")
        ));
    }
    Ok((status, lines))
}

/// `db_sync [--expand | --migrate | --contract]`.
pub fn sync(config: &Config, phase: Phase) -> anyhow::Result<()> {
    match phase {
        Phase::All | Phase::Expand => super::db_sync(config),
        Phase::Migrate => {
            println!("Data migrations are no longer supported with alembic. This is now a no-op.");
            Ok(())
        }
        Phase::Contract => {
            let mut conn = connect(config)?;
            let pending = migrate::pending_names(&mut conn).map_err(super::for_operator)?;
            if !pending.is_empty() {
                anyhow::bail!(
                    "You are attempting to upgrade contract ahead of expand. Please refer to \
                     https://docs.openstack.org/keystone/latest/admin/identity-upgrading.html \
                     to see the proper steps for rolling upgrades."
                );
            }
            Ok(())
        }
    }
}
