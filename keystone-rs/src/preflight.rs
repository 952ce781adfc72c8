//! What a deployment needs before keystone-rs can answer requests, checked once and
//! reported to an operator: the key repositories, the database (reachable, schema at the
//! level this build expects), the TLS files and the policy files. `serve` refuses to start
//! on a [`Finding`] of [`startup`]; `manage doctor` prints the same findings among
//! Keystone's symptoms; `/healthcheck` asks [`schema`] on every call. One implementation,
//! so the three never disagree about what is wrong.
//!
//! A finding names the thing (with its option and path) and, where one exists, the
//! keystone-manage command that fixes it. It may name paths and hosts: it is for the
//! operator's terminal and log, never for an HTTP client.

use crate::config::Config;
use crate::db::{AnyConnection, Backend, ConnectionManager, migrate, parse_connection_url};
use crate::fernet::keys::KeyRepository;
use std::fmt;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// One thing that is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// What is wrong, naming the option and the path or URL.
    pub problem: String,
    /// The command (or the change) that fixes it.
    pub remedy: String,
}

/// What a finding is about: doctor maps these onto Keystone's symptoms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// A key repository that is missing, not a directory or not readable.
    RepositoryUnusable,
    /// A readable key repository without (valid) keys.
    RepositoryEmpty,
    DatabaseUnreachable,
    SchemaNotCurrent,
    TlsFiles,
    PolicyFile,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  To fix: {}", self.problem, self.remedy)
    }
}

/// Which key repository: the option that names it and the commands that set it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repository {
    FernetTokens,
    Credential,
}

impl Repository {
    pub fn title(self) -> &'static str {
        match self {
            Repository::FernetTokens => "Fernet token key repository",
            Repository::Credential => "Credential key repository",
        }
    }

    pub fn option(self) -> &'static str {
        match self {
            Repository::FernetTokens => "[fernet_tokens] key_repository",
            Repository::Credential => "[credential] key_repository",
        }
    }

    fn setup_command(self) -> &'static str {
        match self {
            Repository::FernetTokens => "fernet_setup",
            Repository::Credential => "credential_setup",
        }
    }

    pub fn open(self, config: &Config) -> KeyRepository {
        match self {
            Repository::FernetTokens => KeyRepository::from_config(config),
            Repository::Credential => crate::credential::CredentialKeys::from_config(config)
                .repository()
                .clone(),
        }
    }
}

/// The state of a key repository, as `FernetUtils.validate_key_repository` and
/// `load_keys` judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryState {
    /// Readable, with this many keys; `world_readable` deserves a warning.
    Usable { keys: usize, world_readable: bool },
    /// Readable but without a single key.
    Empty,
    /// Missing, not a directory, unreadable, or holding a key that is not a Fernet key.
    Unusable(String),
}

pub fn repository_state(repo: &KeyRepository) -> RepositoryState {
    let path = repo.path();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return RepositoryState::Unusable("does not exist".into());
        }
        Err(e) => return RepositoryState::Unusable(format!("cannot be read ({e})")),
    };
    if !meta.is_dir() {
        return RepositoryState::Unusable("is not a directory".into());
    }
    if let Err(e) = std::fs::read_dir(path) {
        return RepositoryState::Unusable(format!("cannot be read by this process ({e})"));
    }
    match repo.load() {
        Ok(keys) if keys.is_empty() => RepositoryState::Empty,
        Ok(keys) => RepositoryState::Usable {
            keys: keys.len(),
            world_readable: meta.permissions().mode() & 0o005 != 0,
        },
        Err(e) => RepositoryState::Unusable(e.detail.unwrap_or(e.message)),
    }
}

/// A key repository as a finding (None when it holds keys).
pub fn key_repository(config: &Config, which: Repository) -> Option<Finding> {
    let repo = which.open(config);
    let path = repo.path().display();
    let setup = format!(
        "keystone-manage {} --keystone-user <user> --keystone-group <group> (the user and \
         group keystone-rs runs as)",
        which.setup_command()
    );
    match repository_state(&repo) {
        RepositoryState::Usable { .. } => None,
        RepositoryState::Empty => Some(Finding {
            kind: FindingKind::RepositoryEmpty,
            problem: format!(
                "{} {path} ({}) holds no keys.",
                which.title(),
                which.option()
            ),
            remedy: setup,
        }),
        RepositoryState::Unusable(why) => Some(Finding {
            kind: FindingKind::RepositoryUnusable,
            problem: format!("{} {path} ({}) {why}.", which.title(), which.option()),
            remedy: if why == "does not exist" {
                setup
            } else {
                format!(
                    "make {path} a directory of keys readable by the user keystone-rs runs as \
                     (or create it with {setup})"
                )
            },
        }),
    }
}

/// `[database] connection` without its password, for messages.
pub fn redacted_connection(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Connect straight to `[database] connection` (not through a pool: the driver's own error
/// is what the operator needs). A SQLite file that does not exist is not created.
pub fn connect(config: &Config) -> Result<AnyConnection, Finding> {
    let shown = redacted_connection(&config.database.connection);
    let unreachable = |why: String| Finding {
        kind: FindingKind::DatabaseUnreachable,
        problem: format!("The database ([database] connection = {shown}) {why}."),
        remedy: "check [database] connection and that the database server is running and \
                 accepts this user; then run keystone-manage db_sync"
            .into(),
    };
    let url = parse_connection_url(&config.database.connection)
        .map_err(|e| unreachable(format!("is not a usable URL ({e})")))?;
    if let Some(file) = url.sqlite_path() {
        let file = file.strip_prefix("file:").unwrap_or(file);
        let file = file.split('?').next().unwrap_or(file);
        if !Path::new(file).exists() {
            return Err(Finding {
                kind: FindingKind::SchemaNotCurrent,
                problem: format!(
                    "The database ([database] connection = {shown}) does not exist: it was \
                     never migrated."
                ),
                remedy: "keystone-manage db_sync".into(),
            });
        }
    }
    ConnectionManager::new(url)
        .connect()
        .map_err(|e| unreachable(format!("cannot be reached ({})", e.to_string().trim())))
}

/// Whether the schema is at the level this build expects (None when it is).
pub fn schema(conn: &mut AnyConnection) -> Option<Finding> {
    let backend = conn.backend();
    match migrate::pending_names(conn) {
        Ok(pending) if pending.is_empty() => None,
        Ok(pending) => Some(Finding {
            kind: FindingKind::SchemaNotCurrent,
            problem: format!(
                "The database schema is not at the level this keystone-rs expects: {} \
                 migration(s) pending ({}).",
                pending.len(),
                pending.join(", ")
            ),
            remedy: "keystone-manage db_sync".into(),
        }),
        Err(e) => {
            let why = e.detail.unwrap_or(e.message);
            // A database error while looking is the server's fault, not the schema's.
            let kind = if why.starts_with("database migration") && backend != Backend::Sqlite {
                FindingKind::DatabaseUnreachable
            } else {
                FindingKind::SchemaNotCurrent
            };
            Some(Finding {
                kind,
                problem: format!("The database schema cannot be used: {why}"),
                remedy: "keystone-manage db_sync (after the step the message names, if any)".into(),
            })
        }
    }
}

/// The database: reachable, and migrated.
pub fn database(config: &Config) -> Option<Finding> {
    match connect(config) {
        Ok(mut conn) => schema(&mut conn),
        Err(finding) => Some(finding),
    }
}

/// `[ssl]` certificate, key and CA files: present, readable, and what they claim to be.
pub fn tls_files(config: &Config) -> Option<Finding> {
    let error = crate::tls::server_config(&config.ssl).err()?;
    Some(Finding {
        kind: FindingKind::TlsFiles,
        problem: format!("TLS cannot be set up: {error:#}."),
        remedy: "point [ssl] certfile / keyfile / ca_certs at readable PEM files, or remove \
                 [ssl] certfile to serve plain HTTP"
            .into(),
    })
}

/// The policy file and policy directories: readable and well formed.
pub fn policy_files(config: &Config) -> Option<Finding> {
    let error = crate::policy::Enforcer::from_config(config).err()?;
    Some(Finding {
        kind: FindingKind::PolicyFile,
        problem: format!("The policy cannot be loaded: {error}."),
        remedy: "correct the file (keystone-manage policy_dump prints the policy in force), or \
                 remove it ([oslo_policy] policy_file / policy_dirs) to use the defaults"
            .into(),
    })
}

/// `[token] provider` as written (Keystone's default: fernet).
pub fn token_provider(config: &Config) -> String {
    config
        .raw
        .get("token")
        .and_then(|s| s.get("provider"))
        .map(|p| p.trim().to_string())
        .unwrap_or_else(|| "fernet".into())
}

/// Everything `serve` refuses to start without, in the order an operator fixes them.
pub fn startup(config: &Config) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(database(config));
    // The token provider's keys (another provider adds its own check here).
    if token_provider(config).contains("fernet") {
        findings.extend(key_repository(config, Repository::FernetTokens));
    }
    findings.extend(tls_files(config));
    findings.extend(policy_files(config));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redacted_connection("mysql+pymysql://keystone:s3cret@db.example:3306/keystone"),
            "mysql+pymysql://keystone:***@db.example:3306/keystone"
        );
        assert_eq!(
            redacted_connection("postgresql://p@ss:w@rd@db/k"),
            "postgresql://p@ss:***@db/k"
        );
        assert_eq!(
            redacted_connection("sqlite:////x/k.db"),
            "sqlite:////x/k.db"
        );
        assert_eq!(
            redacted_connection("postgresql://postgres@127.0.0.1/k"),
            "postgresql://postgres@127.0.0.1/k"
        );
    }

    #[test]
    fn repository_states() {
        let dir = tempfile::tempdir().unwrap();
        let missing = KeyRepository::new(dir.path().join("nope"), 3);
        assert_eq!(
            repository_state(&missing),
            RepositoryState::Unusable("does not exist".into())
        );
        let empty = KeyRepository::new(dir.path().to_path_buf(), 3);
        assert_eq!(repository_state(&empty), RepositoryState::Empty);
        empty.setup().unwrap();
        assert!(matches!(
            repository_state(&empty),
            RepositoryState::Usable { keys: 2, .. }
        ));
        let file = dir.path().join("0");
        let not_dir = KeyRepository::new(file, 3);
        assert_eq!(
            repository_state(&not_dir),
            RepositoryState::Unusable("is not a directory".into())
        );
    }
}
