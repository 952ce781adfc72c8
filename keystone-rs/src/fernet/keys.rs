//! The Fernet key repository exactly as `keystone-manage fernet_setup` / `fernet_rotate`
//! lay it out (spec fernet-tokens.md §1): one file per key named by its index, `0` is the
//! staged key, the highest index is the primary, every key decrypts.
//!
//! Files are written as Keystone writes them — 44 characters, no newline, mode 0600 in a
//! 0700 directory — through a temporary file renamed into place, so a reader on this or
//! another node never sees half a key.

use super::envelope::FernetKey;
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use rand::RngCore;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

const STAGED: u64 = 0;
const TEMPORARY_NAME: &str = "0.tmp";
/// A rotation takes milliseconds and runs hours apart; a reader that keeps overlapping one
/// backs off a millisecond more each time (about 0.2 s in all) before it gives up.
const LOAD_ATTEMPTS: u32 = 20;

/// How `load` says it never caught the repository between two rotations.
pub(crate) const KEPT_CHANGING: &str = "kept changing while its keys were read";

enum Loaded {
    Complete(Vec<String>),
    /// A listed file vanished before it was read.
    Raced,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRepository {
    path: PathBuf,
    max_active_keys: u32,
}

/// What `setup()` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupOutcome {
    /// Keys `0` (staged) and `1` (primary) were created.
    Created,
    /// A key `0` already existed; nothing was touched (Keystone logs "already initialized").
    AlreadyInitialized,
}

/// A change detector for the repository: listing plus identity and mtime of every key
/// file. Renames (rotation), rewrites (rsync, config-management sync) and Kubernetes
/// secret swaps (symlinks followed) all change it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint(Vec<(u64, u64, u64, u64, Option<SystemTime>)>);

impl KeyRepository {
    pub fn new(path: PathBuf, max_active_keys: u32) -> Self {
        KeyRepository {
            path,
            max_active_keys,
        }
    }

    pub fn from_config(config: &crate::config::Config) -> Self {
        Self::new(
            config.fernet_tokens.key_repository.clone(),
            config.fernet_tokens.max_active_keys,
        )
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `keystone-manage fernet_setup`: create the directory (0700) if needed; unless a key
    /// `0` exists already, write a staged key and rotate once, leaving `0` and `1`.
    pub fn setup(&self) -> Result<SetupOutcome> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.path)
            .map_err(|e| self.io_error("create the key repository", e))?;
        if self.path.join(STAGED.to_string()).exists() {
            tracing::info!(repository = %self.path.display(), "key repository is already initialized");
            return Ok(SetupOutcome::AlreadyInitialized);
        }
        self.write_temporary_key()?;
        self.rename(TEMPORARY_NAME, &STAGED.to_string())?;
        self.rotate()?;
        Ok(SetupOutcome::Created)
    }

    /// `keystone-manage fernet_rotate`: the staged key `0` becomes primary `max + 1`, a new
    /// staged key `0` is written, then the oldest keys are purged until
    /// `max_active_keys - 1` non-staged keys remain. Returns the new primary index.
    pub fn rotate(&self) -> Result<u64> {
        let mut key_files = self.scan()?;
        if !key_files.contains_key(&STAGED) {
            return Err(Error::internal(format!(
                "cannot rotate Fernet keys in {}: there is no staged key 0 (run fernet_setup)",
                self.path.display()
            )));
        }
        let current_primary = key_files.keys().next_back().copied().unwrap_or(STAGED);
        let new_primary = current_primary
            .checked_add(1)
            .ok_or_else(|| Error::internal("Fernet key index overflow"))?;
        tracing::info!(
            repository = %self.path.display(),
            keys = key_files.len(),
            current_primary,
            new_primary,
            "rotating Fernet keys"
        );

        self.write_temporary_key()?;
        self.rename(&STAGED.to_string(), &new_primary.to_string())?;
        key_files.remove(&STAGED);
        key_files.insert(new_primary, self.path.join(new_primary.to_string()));
        self.rename(TEMPORARY_NAME, &STAGED.to_string())?;
        self.sync_directory()?;

        // The new staged key is not in `key_files`: only the older keys compete here.
        let keep = usize::try_from(self.max_active_keys.saturating_sub(1)).unwrap_or(usize::MAX);
        while key_files.len() > keep {
            let Some((index, path)) = key_files.pop_first() else {
                break;
            };
            tracing::info!(index, "purging excess Fernet key");
            fs::remove_file(&path).map_err(|e| self.io_error("purge an old key", e))?;
        }
        self.sync_directory()?;
        Ok(new_primary)
    }

    /// The keys, primary (highest index) first, then down to the staged key `0` — the
    /// order Keystone hands to MultiFernet. Whitespace around a key is ignored; empty
    /// files are skipped; a key that is not 32 bytes of URL-safe base64 fails the load.
    pub fn load(&self) -> Result<Vec<String>> {
        // A rotation running meanwhile can rename a listed file away; list again then,
        // so the result is one consistent generation of keys. A partial set is never
        // handed out: it could lack the primary (or be empty), and a caller that keeps
        // its last good keys on an error is better served by the error.
        for attempt in 1..=LOAD_ATTEMPTS {
            if let Loaded::Complete(keys) = self.load_once()? {
                return Ok(keys);
            }
            std::thread::sleep(std::time::Duration::from_millis(u64::from(attempt)));
        }
        Err(Error::internal(format!(
            "{} {}",
            self.path.display(),
            KEPT_CHANGING
        )))
    }

    fn load_once(&self) -> Result<Loaded> {
        let mut keys = Vec::new();
        let mut raced = false;
        let listed = self.scan()?;
        for (&index, path) in listed.iter().rev() {
            let content = match fs::read_to_string(&path) {
                Ok(content) => content,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    raced = true;
                    continue;
                }
                Err(e) => return Err(self.io_error("read a key file", e)),
            };
            let key = content.trim();
            if key.is_empty() {
                tracing::warn!(index, "ignoring empty key file in the key repository");
                continue;
            }
            if FernetKey::from_base64(key).is_none() {
                return Err(Error::internal(format!(
                    "Fernet key {index} in {} is not 32 bytes of URL-safe base64",
                    self.path.display()
                )));
            }
            keys.push(key.to_string());
        }
        // A directory listing taken while a rotation renames and purges may miss entries
        // (readdir is not atomic), so the listing must also be the same afterwards: every
        // rotation adds a new index, so two equal listings bracket no rotation.
        if !raced && self.scan()?.keys().ne(listed.keys()) {
            raced = true;
        }
        Ok(if raced {
            Loaded::Raced
        } else {
            Loaded::Complete(keys)
        })
    }

    /// Cheap change detection: one directory listing and a stat per key file.
    pub fn fingerprint(&self) -> Result<Fingerprint> {
        let mut entries = Vec::new();
        for (index, path) in self.scan()? {
            match fs::metadata(&path) {
                Ok(meta) => entries.push((
                    index,
                    meta.dev(),
                    meta.ino(),
                    meta.len(),
                    meta.modified().ok(),
                )),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io_error("stat a key file", e)),
            }
        }
        Ok(Fingerprint(entries))
    }

    /// Numeric key files by index. Python accepts any name `int()` parses; only canonical
    /// decimal names are taken here (Keystone never writes others). Symlinks are followed
    /// (Kubernetes secret volumes); directories and other names such as `0.tmp` are
    /// ignored, as are empty files.
    fn scan(&self) -> Result<BTreeMap<u64, PathBuf>> {
        let entries =
            fs::read_dir(&self.path).map_err(|e| self.io_error("list the key repository", e))?;
        let mut files = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io_error("list the key repository", e))?;
            let Some(index) = entry.file_name().to_str().and_then(key_index) else {
                continue;
            };
            let path = entry.path();
            match fs::metadata(&path) {
                Ok(meta) if meta.is_file() && meta.len() > 0 => {
                    files.insert(index, path);
                }
                Ok(meta) if meta.is_file() => {
                    tracing::warn!(index, "ignoring empty key file in the key repository");
                }
                // A file that vanished between listing and stat (a concurrent rotation)
                // is simply not there.
                _ => {}
            }
        }
        Ok(files)
    }

    /// A fresh key in `0.tmp`, mode 0600, flushed to disk before anyone renames it.
    fn write_temporary_key(&self) -> Result<()> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| Error::internal(format!("no randomness for a Fernet key: {e}")))?;
        let key = URL_SAFE.encode(bytes);
        let path = self.path.join(TEMPORARY_NAME);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| self.io_error("create a temporary key", e))?;
        // A left-over 0.tmp keeps its old mode on open; tighten it.
        let written = file
            .set_permissions(fs::Permissions::from_mode(0o600))
            .and_then(|()| file.write_all(key.as_bytes()))
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            // A full disk leaves a short file: do not leave it for anyone to find.
            let _ = fs::remove_file(&path);
            return Err(self.io_error("write a temporary key", e));
        }
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        fs::rename(self.path.join(from), self.path.join(to))
            .map_err(|e| self.io_error("rename a key file", e))
    }

    /// Make the renames durable before reporting success.
    fn sync_directory(&self) -> Result<()> {
        fs::File::open(&self.path)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| self.io_error("sync the key repository", e))
    }

    fn io_error(&self, action: &str, e: std::io::Error) -> Error {
        Error::internal(format!("cannot {action} in {}: {e}", self.path.display()))
    }
}

/// `"0"`, `"1"`, `"42"` — but not `"01"`, `"+1"`, `"0.tmp"`.
fn key_index(name: &str) -> Option<u64> {
    let canonical = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_digit())
        && (name == "0" || !name.starts_with('0'));
    if canonical { name.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(repo: &KeyRepository) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(repo.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort_by_key(|n| n.parse::<u64>().unwrap_or(u64::MAX));
        v
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn key_names_must_be_canonical_integers() {
        assert_eq!(key_index("0"), Some(0));
        assert_eq!(key_index("17"), Some(17));
        for bad in [
            "",
            "01",
            "+1",
            "-1",
            " 1",
            "1_0",
            "0.tmp",
            "README",
            "99999999999999999999999",
        ] {
            assert_eq!(key_index(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn setup_creates_staged_and_primary_with_keystone_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = KeyRepository::new(dir.path().join("fernet-keys"), 3);
        assert_eq!(repo.setup().expect("setup"), SetupOutcome::Created);
        assert_eq!(names(&repo), ["0", "1"]);
        assert_eq!(mode(repo.path()), 0o700);
        for name in ["0", "1"] {
            let path = repo.path().join(name);
            assert_eq!(mode(&path), 0o600);
            let content = fs::read_to_string(&path).expect("read");
            assert_eq!(content.len(), 44, "no newline, padded");
            assert!(content.ends_with('='));
        }
        let before = repo.load().expect("load");
        assert_eq!(
            repo.setup().expect("setup again"),
            SetupOutcome::AlreadyInitialized
        );
        assert_eq!(repo.load().expect("load"), before, "setup is idempotent");
    }

    #[test]
    fn rotation_promotes_staged_and_prunes_like_keystone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = KeyRepository::new(dir.path().to_path_buf(), 3);
        repo.setup().expect("setup");
        let expected = [
            ["0", "1", "2"],
            ["0", "2", "3"],
            ["0", "3", "4"],
            ["0", "4", "5"],
        ];
        for (round, files) in expected.iter().enumerate() {
            let staged_before = fs::read_to_string(dir.path().join("0")).expect("read");
            let new_primary = repo.rotate().expect("rotate");
            assert_eq!(names(&repo), *files, "after rotation {}", round + 1);
            assert_eq!(new_primary.to_string(), files[2]);
            let primary = fs::read_to_string(dir.path().join(files[2])).expect("read");
            assert_eq!(primary, staged_before, "the staged key became the primary");
        }
        let loaded = repo.load().expect("load");
        let on_disk: Vec<String> = ["5", "4", "0"]
            .iter()
            .map(|n| fs::read_to_string(dir.path().join(n)).expect("read"))
            .collect();
        assert_eq!(loaded, on_disk, "primary first, staged last");
    }

    #[test]
    fn one_active_key_leaves_only_the_staged_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = KeyRepository::new(dir.path().to_path_buf(), 1);
        repo.setup().expect("setup");
        assert_eq!(names(&repo), ["0"]);
        repo.rotate().expect("rotate");
        assert_eq!(names(&repo), ["0"]);
    }

    #[test]
    fn load_trims_skips_empty_and_ignores_other_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = |b: u8| URL_SAFE.encode([b; 32]);
        fs::write(dir.path().join("0"), format!("{}\n", key(0))).expect("write");
        fs::write(dir.path().join("2"), key(2)).expect("write");
        fs::write(dir.path().join("3"), "").expect("write");
        fs::write(dir.path().join("0.tmp"), "garbage").expect("write");
        fs::write(dir.path().join("README"), "garbage").expect("write");
        fs::create_dir(dir.path().join("9")).expect("mkdir");
        let repo = KeyRepository::new(dir.path().to_path_buf(), 3);
        assert_eq!(repo.load().expect("load"), vec![key(2), key(0)]);
    }

    #[test]
    fn a_bad_key_or_missing_directory_fails_the_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("1"), "tooshort").expect("write");
        let repo = KeyRepository::new(dir.path().to_path_buf(), 3);
        assert!(repo.load().is_err());
        let missing = KeyRepository::new(dir.path().join("nope"), 3);
        assert!(missing.load().is_err());
        assert!(missing.rotate().is_err());
    }

    #[test]
    fn rotate_without_a_staged_key_is_refused_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("1"), URL_SAFE.encode([1u8; 32])).expect("write");
        let repo = KeyRepository::new(dir.path().to_path_buf(), 3);
        assert!(repo.rotate().is_err());
        assert_eq!(names(&repo), ["1"]);
    }

    #[test]
    fn fingerprint_changes_on_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = KeyRepository::new(dir.path().to_path_buf(), 3);
        repo.setup().expect("setup");
        let before = repo.fingerprint().expect("fingerprint");
        assert_eq!(repo.fingerprint().expect("fingerprint"), before);
        repo.rotate().expect("rotate");
        assert_ne!(repo.fingerprint().expect("fingerprint"), before);
    }
}
