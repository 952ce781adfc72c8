//! `keystone-rs manage …`: what `keystone-manage` does for the parts keystone-rs serves.

pub mod bootstrap;
pub mod db;
pub mod doctor;
pub mod domain_config;
pub mod id_mapping;
pub mod mapping_engine;
pub mod oslo;
pub mod policy;
pub mod trust;

use crate::config::Config;
use crate::credential::CredentialKeys;
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

/// `[fernet_receipts]`: the auth receipt keys.
pub fn receipt_repository(config: &Config) -> KeyRepository {
    crate::receipt::key_repository(config)
}

/// Receipts keep keys of their own only when their repository is another directory.
fn receipts_apart(config: &Config) -> bool {
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    absolute(&config.fernet_tokens.key_repository)
        != absolute(&config.fernet_receipts.key_repository)
}

/// `keystone-manage fernet_setup`: the token keys, and the receipt keys when they live
/// elsewhere.
pub fn fernet_setup(config: &Config) -> anyhow::Result<()> {
    key_repository(config).setup().map_err(for_operator)?;
    if receipts_apart(config) {
        receipt_setup(config)?;
    } else if config.fernet_tokens.max_active_keys != config.fernet_receipts.max_active_keys {
        tracing::warn!(
            "Receipt and Token fernet key directories are the same but `max_active_keys` is \
             different. Receipt `max_active_keys` will be ignored in favor of Token \
             `max_active_keys`."
        );
    }
    Ok(())
}

/// `keystone-manage fernet_rotate`: the token keys, and the receipt keys when they live
/// elsewhere.
pub fn fernet_rotate(config: &Config) -> anyhow::Result<()> {
    key_repository(config).rotate().map_err(for_operator)?;
    if receipts_apart(config) {
        receipt_rotate(config)?;
    }
    Ok(())
}

/// `keystone-manage receipt_setup`.
pub fn receipt_setup(config: &Config) -> anyhow::Result<()> {
    receipt_repository(config).setup().map_err(for_operator)?;
    Ok(())
}

/// `keystone-manage receipt_rotate`.
pub fn receipt_rotate(config: &Config) -> anyhow::Result<()> {
    receipt_repository(config).rotate().map_err(for_operator)?;
    Ok(())
}

/// `keystone-manage create_jws_keypair [--force]`: `private.pem` and `public.pem` for
/// `[jwt_tokens] jws_algorithm`, in the current directory, as Keystone writes them.
pub fn create_jws_keypair(config: &Config, force: bool) -> anyhow::Result<()> {
    let algorithm = crate::jws::Algorithm::from_config(&config.jwt_tokens.jws_algorithm)
        .map_err(for_operator)?;
    crate::jws::create_keypair(&std::env::current_dir()?, algorithm, force)
        .map_err(anyhow::Error::msg)
}

/// The credential key repository, required to exist and be writable (keystone-manage's
/// `validate_key_repository(requires_write=True)`), with a message saying what to run.
fn usable_credential_repository(config: &Config) -> anyhow::Result<CredentialKeys> {
    let keys = CredentialKeys::from_config(config);
    let path = keys.repository().path();
    let meta = std::fs::metadata(path).map_err(|e| {
        anyhow::anyhow!(
            "credential key repository {} is not usable ({e}); run credential_setup first",
            path.display()
        )
    })?;
    if !meta.is_dir() {
        anyhow::bail!(
            "credential key repository {} is not a directory",
            path.display()
        );
    }
    if keys.repository().load().map_err(for_operator)?.is_empty() {
        anyhow::bail!(
            "credential key repository {} holds no keys; run credential_setup first",
            path.display()
        );
    }
    Ok(keys)
}

/// `keystone-manage credential_setup`: like fernet_setup, on `[credential] key_repository`.
pub fn credential_setup(config: &Config) -> anyhow::Result<()> {
    CredentialKeys::from_config(config)
        .repository()
        .setup()
        .map_err(for_operator)?;
    Ok(())
}

/// `keystone-manage credential_rotate`: refuses while any credential is still sealed with
/// a key other than the primary (the rotation could drop that key); run
/// credential_migrate first. A failed write (read-only or full disk) leaves every key in
/// place.
pub fn credential_rotate(config: &Config) -> anyhow::Result<()> {
    let keys = usable_credential_repository(config)?;
    let db = Db::open(&config.database.connection, 1).map_err(for_operator)?;
    let mut conn = db.get().map_err(for_operator)?;
    let behind = crate::credential::count_not_on_primary(&mut conn, &keys).map_err(for_operator)?;
    // The OAuth2 JWT client secrets are sealed with the same keys.
    let primary = keys.primary_key_hash().map_err(for_operator)?;
    let secrets = crate::oauth2::store::count_secrets_not_on_primary(&mut conn, &primary)
        .map_err(for_operator)?;
    let behind = behind + usize::try_from(secrets).unwrap_or(usize::MAX);
    if behind > 0 {
        anyhow::bail!(
            "Unable to rotate credential keys because not all credentials are encrypted with \
             the primary key. Please make sure all credentials have been encrypted with the \
             primary key using `keystone-manage credential_migrate`. ({behind} credential(s) \
             or OAuth2 client secret(s) are not.)"
        );
    }
    keys.repository().rotate().map_err(for_operator)?;
    Ok(())
}

/// `keystone-manage credential_migrate`: re-encrypt every credential with the primary key.
pub fn credential_migrate(config: &Config) -> anyhow::Result<()> {
    let keys = usable_credential_repository(config)?;
    let db = Db::open(&config.database.connection, 1).map_err(for_operator)?;
    let (migrated, secrets) = db
        .write_blocking(|conn| {
            let migrated = crate::credential::migrate(conn, &keys)?;
            let secrets = crate::oauth2::store::reseal_secrets(conn, &keys)?;
            Ok((migrated, secrets))
        })
        .map_err(for_operator)?;
    println!(
        "Re-encrypted {migrated} credential(s) and {secrets} OAuth2 client secret(s) with the \
         primary key."
    );
    Ok(())
}

/// `keystone-manage reset_last_active`: users never seen active count as active today.
pub fn reset_last_active(config: &Config) -> anyhow::Result<usize> {
    let db = Db::open(&config.database.connection, 1).map_err(for_operator)?;
    db.write_blocking(crate::identity::inactivity::reset_last_active)
        .map_err(for_operator)
}

/// Keystone's verbs keystone-rs does not carry out, and why: the command answers with
/// this and exits non-zero rather than pretending.
pub fn unsupported_reason(verb: &str) -> Option<&'static str> {
    Some(match verb {
        "project_setup" | "user_setup" => {
            "create the project or user through the API (or `keystone-manage bootstrap` for \
             the admin); keystone-rs has no offline create with a chosen id"
        }
        "saml_idp_metadata" => "keystone-rs is not a SAML identity provider (no [saml] support)",
        _ => return None,
    })
}

/// The operator running a command sees what went wrong: the detail an HTTP client is
/// never shown (which file, which OS error).
fn for_operator(e: crate::error::Error) -> anyhow::Error {
    match e.detail {
        Some(detail) => anyhow::anyhow!(detail),
        None => anyhow::anyhow!(e.message),
    }
}
