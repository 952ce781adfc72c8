//! `manage credential_rotate` / `credential_migrate`: rotation is refused while a
//! credential still depends on a key it could drop, migration moves every credential to
//! the primary key, and a repository that cannot be written (read-only, full) fails with a
//! clear error and every key in place — no credential becomes unreadable.

use super::key_repository::{ReadOnly, snapshot};
use keystone_rs::config::Config;
use keystone_rs::credential::{self, Credential, CredentialKeys};
use keystone_rs::db::Db;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Deployment {
    _dir: tempfile::TempDir,
    conf: PathBuf,
    repo: PathBuf,
    config: Config,
}

impl Deployment {
    fn new() -> Deployment {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("credential-keys");
        let conf = dir.path().join("keystone.conf");
        let text = format!(
            "[database]\nconnection = sqlite:///{}\n[credential]\nkey_repository = {}\n",
            dir.path().join("keystone.db").display(),
            repo.display()
        );
        std::fs::write(&conf, &text).expect("conf");
        let config = Config::parse(&text, None).expect("config");
        let d = Deployment {
            _dir: dir,
            conf,
            repo,
            config,
        };
        assert!(d.manage("db_sync").0, "db_sync");
        d
    }

    fn manage(&self, verb: &str) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_keystone-rs"))
            .args(["manage", "--config-file"])
            .arg(&self.conf)
            .arg(verb)
            .output()
            .expect("run keystone-rs manage");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn keys(&self) -> CredentialKeys {
        CredentialKeys::new(self.repo.clone())
    }

    fn add(&self, blob: &str) -> String {
        let c = Credential {
            id: uuid::Uuid::new_v4().simple().to_string(),
            user_id: "u".into(),
            project_id: None,
            type_: "cert".into(),
            blob: blob.into(),
            extra: Default::default(),
        };
        let keys = self.keys();
        let db = Db::open(&self.config.database.connection, 1).expect("db");
        db.write_blocking(|conn| credential::create(conn, &keys, -1, &c))
            .expect("create");
        c.id
    }

    /// Every credential's blob, decrypted with the keys on disk now.
    fn blobs(&self) -> Vec<(String, String)> {
        let keys = self.keys();
        let db = Db::open(&self.config.database.connection, 1).expect("db");
        db.read_blocking(|conn| credential::list(conn, &keys, None, None))
            .expect("every credential decrypts")
            .into_iter()
            .map(|c| (c.id, c.blob))
            .collect()
    }

    fn behind(&self) -> usize {
        let keys = self.keys();
        let db = Db::open(&self.config.database.connection, 1).expect("db");
        db.read_blocking(|conn| credential::count_not_on_primary(conn, &keys))
            .expect("count")
    }
}

#[test]
fn rotation_waits_for_migration_and_never_strands_a_credential() {
    let d = Deployment::new();
    // Before setup: rotation and migration name the repository and what to run.
    let (ok, err) = d.manage("credential_rotate");
    assert!(!ok && err.contains("credential_setup"), "{err}");
    assert!(d.manage("credential_setup").0);
    assert_eq!(snapshot(&d.repo).len(), 2);
    let first = d.add("blob-one");
    assert!(
        d.manage("credential_rotate").0,
        "all on the primary: rotation allowed"
    );
    let second = d.add("blob-two");
    assert_eq!(d.behind(), 1);
    let before = snapshot(&d.repo);
    let (ok, err) = d.manage("credential_rotate");
    assert!(!ok, "rotation must be refused");
    assert!(err.contains("Unable to rotate credential keys"), "{err}");
    assert_eq!(
        snapshot(&d.repo),
        before,
        "a refused rotation touched the keys"
    );
    assert!(d.manage("credential_migrate").0);
    assert_eq!(d.behind(), 0);
    assert!(d.manage("credential_rotate").0);
    assert_eq!(snapshot(&d.repo).len(), 3, "three keys at most");
    let mut blobs = d.blobs();
    blobs.sort();
    let mut expected = vec![
        (first, "blob-one".to_string()),
        (second, "blob-two".to_string()),
    ];
    expected.sort();
    assert_eq!(blobs, expected);
    // Rotating again right away is refused: everything is on the previous primary.
    assert!(!d.manage("credential_rotate").0);
    assert!(d.manage("credential_migrate").0);
    assert!(d.manage("credential_rotate").0);
    assert_eq!(d.blobs().len(), 2);
}

fn assert_clear(ok: bool, err: &str, repo: &Path, causes: &[&str], what: &str) {
    assert!(!ok, "{what}: exited 0");
    assert!(
        err.contains(&repo.display().to_string()) && causes.iter().any(|c| err.contains(c)),
        "{what}: the error does not name the repository and the cause:\n{err}"
    );
}

#[test]
fn an_unwritable_credential_repository_fails_rotation_and_loses_no_key() {
    let mut tried = Vec::new();
    for how in ["read-only bind mount", "chattr +i", "chmod 0500 (not root)"] {
        let d = Deployment::new();
        assert!(d.manage("credential_setup").0);
        d.add("kept");
        let before = snapshot(&d.repo);
        let Some(guard) = ReadOnly::apply(&d.repo, how) else {
            continue;
        };
        tried.push(how);
        let (ok, err) = d.manage("credential_rotate");
        assert_clear(
            ok,
            &err,
            &d.repo,
            &[
                "Read-only file system",
                "Operation not permitted",
                "Permission denied",
            ],
            how,
        );
        assert_eq!(snapshot(&d.repo), before, "{how}: keys changed");
        assert_eq!(d.blobs().len(), 1, "{how}");
        drop(guard);
        assert!(d.manage("credential_rotate").0, "{how}: writable again");
        assert_eq!(d.blobs().len(), 1);
    }
    // A full disk, everywhere /dev/full can be written: the new key's file fails.
    if std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .is_ok()
    {
        let d = Deployment::new();
        assert!(d.manage("credential_setup").0);
        d.add("kept");
        let before = snapshot(&d.repo);
        std::os::unix::fs::symlink("/dev/full", d.repo.join("0.tmp")).expect("symlink");
        let (ok, err) = d.manage("credential_rotate");
        assert_clear(ok, &err, &d.repo, &["No space left on device"], "/dev/full");
        let _ = std::fs::remove_file(d.repo.join("0.tmp"));
        assert_eq!(snapshot(&d.repo), before, "/dev/full: keys changed");
        assert_eq!(d.blobs().len(), 1);
        tried.push("/dev/full");
    }
    assert!(
        !tried.is_empty(),
        "no way to make the repository unwritable here"
    );
    eprintln!("unwritable credential repository: tried {tried:?}");
}
