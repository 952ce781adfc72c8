//! `domain_config_upload`: keystone-manage's upload of `keystone.<domain name>.conf` files
//! from `[identity] domain_config_dir` into the domain configuration tables, one
//! transaction per file. Messages are Keystone's; option values are never printed.

use crate::config::Config;
use crate::db::Db;
use std::path::{Path, PathBuf};

const HEAD: &str = "keystone.";
const TAIL: &str = ".conf";

/// Which files to upload.
pub enum Upload {
    All,
    Domain(String),
}

/// `--all` / `--domain-name` as keystone-manage checks them (exactly one).
pub fn choose(all: bool, domain_name: Option<String>) -> Result<Upload, &'static str> {
    match (all, domain_name) {
        (false, None) => {
            Err("At least one option must be provided, use either --all or --domain-name")
        }
        (true, Some(_)) => Err("The --all option cannot be used with the --domain-name option"),
        (true, None) => Ok(Upload::All),
        (false, Some(name)) => Ok(Upload::Domain(name)),
    }
}

/// Keystone's `_domain_config_finder`: every `keystone.<name>.conf` below the directory.
fn find(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            find(&path, out);
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(HEAD) && name.ends_with(TAIL) && name.matches('.').count() >= 2 {
            let domain = name[HEAD.len()..name.len() - TAIL.len()].to_string();
            out.push((path, domain));
        } else {
            tracing::warn!("Ignoring file ({name}) while scanning domain config directory");
        }
    }
}

/// Upload one file; `false` (with Keystone's message printed) when it was not.
fn upload_one(db: &Db, file: &Path, domain_name: &str) -> bool {
    let shown = file.display().to_string();
    let name = domain_name.to_string();
    let domain = db.read_blocking(|conn| crate::resource::store::find_domain_by_name(conn, &name));
    let domain = match domain {
        Ok(Some(d)) => d,
        Ok(None) => {
            println!(
                "Invalid domain name: {domain_name} found in config file name: {shown} - ignoring this file."
            );
            return false;
        }
        Err(e) => {
            tracing::error!(error = %e.message, "reading the domain failed");
            return false;
        }
    };
    let id = domain.id.clone();
    let existing =
        db.read_blocking(|conn| crate::domain_config::config_with_sensitive(conn, &id, None, None));
    if !existing.map(|c| c.is_empty()).unwrap_or(false) {
        println!(
            "Domain: {domain_name} already has a configuration defined - ignoring file: {shown}."
        );
        return false;
    }
    let Some(config) = crate::domain_config::read_file(file) else {
        println!("Error parsing configuration file for domain: {domain_name}, file: {shown}.");
        return false;
    };
    match db.write_blocking(|conn| crate::domain_config::create_config(conn, &id, &config)) {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(
                "Error processing config file for domain: {domain_name}, file: {shown}, error: {}",
                e.message
            );
            false
        }
    }
}

/// Run the upload; `Ok(false)` when some file was not uploaded (exit status 1).
pub fn upload(config: &Config, what: Upload) -> anyhow::Result<bool> {
    let db = Db::open(&config.database.connection, 1)
        .and_then(|db| {
            db.read_blocking(|conn| crate::resource::store::find_domain_by_name(conn, ""))?;
            Ok(db)
        })
        .map_err(|e| {
            println!(
                "Unable to access the keystone database, please check it is configured correctly."
            );
            anyhow::anyhow!(e.detail.unwrap_or(e.message))
        })?;
    let dir = &config.identity.domain_config_dir;
    if !dir.exists() {
        println!(
            "Unable to locate domain config directory: {}",
            dir.display()
        );
        anyhow::bail!("no domain config directory");
    }
    match what {
        Upload::Domain(name) => {
            let file = dir.join(format!("{HEAD}{name}{TAIL}"));
            Ok(upload_one(&db, &file, &name))
        }
        Upload::All => {
            let mut files = Vec::new();
            find(dir, &mut files);
            let mut ok = 0;
            let mut failed = 0;
            for (file, name) in files {
                if upload_one(&db, &file, &name) {
                    ok += 1;
                    tracing::info!("Successfully uploaded domain config {:?}", file.display());
                } else {
                    failed += 1;
                }
            }
            if ok == 0 {
                tracing::warn!("No domain configs uploaded from {:?}", dir.display());
            }
            Ok(failed == 0)
        }
    }
}
