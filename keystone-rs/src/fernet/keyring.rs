//! The keys in memory, shared by all workers.
//!
//! Keystone re-reads the repository on every token operation so that a rotation (or a
//! sync from another node) takes effect at once. Here the hot path is an atomic load and
//! an `Arc` clone; at most once per second one caller looks at the directory listing and
//! mtimes and re-reads the keys only when they changed. If the repository becomes
//! unreadable or empty, the last good keys stay in service (and the problem is logged)
//! instead of failing every request.

use super::envelope::{self, FernetKey, Opened};
use super::keys::{Fingerprint, KeyRepository};
use crate::error::{Error, Result};
use rand::RngCore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct KeyRing {
    repository: Option<KeyRepository>,
    current: RwLock<Arc<Loaded>>,
    /// Milliseconds since `started` at which the repository may be looked at again.
    next_check_ms: AtomicU64,
    started: Instant,
}

#[derive(Debug, Default)]
struct Loaded {
    /// Primary first.
    keys: Vec<FernetKey>,
    fingerprint: Fingerprint,
}

impl KeyRing {
    /// Load the repository now. Like Keystone's Fernet provider at start-up, refuse a
    /// repository that is missing, unreadable or holds no keys.
    pub fn open(repository: KeyRepository) -> Result<KeyRing> {
        let loaded = read_repository(&repository)?;
        if loaded.keys.is_empty() {
            return Err(Error::internal(format!(
                "{} does not contain keys, use keystone-manage fernet_setup to create Fernet keys.",
                repository.path().display()
            )));
        }
        Ok(Self::with(Some(repository), loaded))
    }

    /// A fixed set of keys (URL-safe base64, primary first) that never reloads; for tests
    /// and tools.
    pub fn from_keys<S: AsRef<str>>(keys: &[S]) -> Result<KeyRing> {
        let keys = keys
            .iter()
            .map(|k| {
                FernetKey::from_base64(k.as_ref()).ok_or_else(|| {
                    Error::internal("a Fernet key is not 32 bytes of URL-safe base64")
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            return Err(keys_not_found());
        }
        Ok(Self::with(
            None,
            Loaded {
                keys,
                fingerprint: Fingerprint::default(),
            },
        ))
    }

    fn with(repository: Option<KeyRepository>, loaded: Loaded) -> KeyRing {
        let started = Instant::now();
        KeyRing {
            repository,
            current: RwLock::new(Arc::new(loaded)),
            next_check_ms: AtomicU64::new(CHECK_INTERVAL.as_millis() as u64),
            started,
        }
    }

    /// Encrypt with the primary key at the current time and a random IV; the token has
    /// no `=` padding, as Keystone hands it out.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String> {
        let (now, iv) = now_and_iv()?;
        self.encrypt_at(plaintext, now, iv)
    }

    /// Encrypt with a chosen time and IV (golden vectors; never with a fixed IV in
    /// production).
    pub fn encrypt_at(&self, plaintext: &[u8], timestamp: u64, iv: [u8; 16]) -> Result<String> {
        let loaded = self.loaded();
        let primary = loaded.keys.first().ok_or_else(keys_not_found)?;
        primary
            .seal(plaintext, timestamp, iv)
            .ok_or_else(|| Error::internal("Fernet encryption failed"))
    }

    /// Try every key, primary first. `Ok(None)` when no key opens the token (Keystone's
    /// "Could not recognize Fernet token"); `Err` only when there are no keys at all.
    pub fn decrypt(&self, token: &str) -> Result<Option<Opened>> {
        let loaded = self.loaded();
        if loaded.keys.is_empty() {
            return Err(keys_not_found());
        }
        Ok(envelope::open(&loaded.keys, token))
    }

    /// Number of keys in service (diagnostics, tests).
    pub fn key_count(&self) -> usize {
        self.loaded().keys.len()
    }

    /// Look at the repository now instead of waiting for the next periodic check (after
    /// an in-process rotation, or in tests).
    pub fn refresh(&self) {
        self.schedule_next_check(self.elapsed_ms());
        self.reload_if_changed();
    }

    fn loaded(&self) -> Arc<Loaded> {
        if self.repository.is_some() {
            let now = self.elapsed_ms();
            let due = self.next_check_ms.load(Ordering::Relaxed);
            // Only the caller that wins the exchange looks at the disk; the others go on
            // with the keys they have.
            if now >= due
                && self
                    .next_check_ms
                    .compare_exchange(
                        due,
                        now + CHECK_INTERVAL.as_millis() as u64,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            {
                self.reload_if_changed();
            }
        }
        self.snapshot()
    }

    fn snapshot(&self) -> Arc<Loaded> {
        // A poisoned lock only means a panic elsewhere while swapping an Arc; the value
        // inside is still whole.
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn reload_if_changed(&self) {
        let Some(repository) = &self.repository else {
            return;
        };
        let current = self.snapshot();
        match repository.fingerprint() {
            Ok(fingerprint) if fingerprint == current.fingerprint => return,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e.detail.as_deref().unwrap_or(&e.message), "Fernet key repository unreadable; keeping the keys in memory");
                return;
            }
        }
        match read_repository(repository) {
            Ok(loaded) if loaded.keys.is_empty() && !current.keys.is_empty() => {
                tracing::error!(repository = %repository.path().display(), "Fernet key repository holds no keys; keeping the keys in memory");
            }
            Ok(loaded) => {
                tracing::info!(keys = loaded.keys.len(), "Fernet keys reloaded");
                let fresh = Arc::new(loaded);
                match self.current.write() {
                    Ok(mut guard) => *guard = fresh,
                    Err(poisoned) => *poisoned.into_inner() = fresh,
                }
            }
            Err(e) => {
                tracing::error!(error = %e.detail.as_deref().unwrap_or(&e.message), "Fernet keys could not be loaded; keeping the keys in memory");
            }
        }
    }

    fn schedule_next_check(&self, now_ms: u64) {
        self.next_check_ms.store(
            now_ms + CHECK_INTERVAL.as_millis() as u64,
            Ordering::Release,
        );
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX / 2)
    }
}

/// Fingerprint first, then contents: if the files change in between, the next check sees
/// a new fingerprint and reads again.
fn read_repository(repository: &KeyRepository) -> Result<Loaded> {
    let fingerprint = repository.fingerprint()?;
    let keys = repository
        .load()?
        .iter()
        .filter_map(|k| FernetKey::from_base64(k))
        .collect();
    Ok(Loaded { keys, fingerprint })
}

/// Keystone's `KeysNotFound`: a 500 whose detail tells the operator what to do.
fn keys_not_found() -> Error {
    Error::internal("No encryption keys found; run keystone-manage fernet_setup to bootstrap one.")
}

/// What sealing a Fernet token now needs: the current time (seconds) and a random IV.
pub fn now_and_iv() -> Result<(u64, [u8; 16])> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::internal("system clock is before 1970"))?
        .as_secs();
    let mut iv = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut iv)
        .map_err(|e| Error::internal(format!("no randomness for a Fernet IV: {e}")))?;
    Ok((now, iv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn ring_over(dir: &std::path::Path) -> (KeyRepository, KeyRing) {
        let repo = KeyRepository::new(dir.to_path_buf(), 3);
        repo.setup().expect("setup");
        let ring = KeyRing::open(repo.clone()).expect("open");
        (repo, ring)
    }

    #[test]
    fn open_refuses_an_empty_or_missing_repository() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = KeyRepository::new(dir.path().to_path_buf(), 3);
        assert!(KeyRing::open(empty).is_err());
        let missing = KeyRepository::new(dir.path().join("missing"), 3);
        assert!(KeyRing::open(missing).is_err());
        assert!(KeyRing::from_keys::<&str>(&[]).is_err());
    }

    #[test]
    fn tokens_survive_rotation_and_pruning_follows_max_active_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (repo, ring) = ring_over(dir.path());
        let before = ring.encrypt(b"minted before rotation").expect("encrypt");

        repo.rotate().expect("rotate");
        ring.refresh();
        assert_eq!(ring.key_count(), 3);
        let opened = ring
            .decrypt(&before)
            .expect("keys")
            .expect("old primary still decrypts");
        assert_eq!(opened.plaintext, b"minted before rotation");

        // A token from the new primary: readable by a ring that has not noticed the
        // rotation yet, because the new primary was its staged key.
        let fresh_ring = KeyRing::from_keys(&repo.load().expect("load")).expect("ring");
        let after = fresh_ring.encrypt(b"after").expect("encrypt");
        assert!(ring.decrypt(&after).expect("keys").is_some());

        // Two more rotations with max_active_keys = 3 prune the key `before` used.
        repo.rotate().expect("rotate");
        repo.rotate().expect("rotate");
        ring.refresh();
        assert!(ring.decrypt(&before).expect("keys").is_none());
    }

    #[test]
    fn a_rotation_is_noticed_within_the_check_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (repo, ring) = ring_over(dir.path());
        assert_eq!(ring.key_count(), 2);
        repo.rotate().expect("rotate");
        // Force the next check to be due now rather than sleeping a second.
        ring.next_check_ms.store(0, Ordering::Release);
        assert_eq!(ring.key_count(), 3);
    }

    #[test]
    fn last_good_keys_are_kept_when_the_repository_breaks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys_dir = dir.path().join("keys");
        let (_repo, ring) = ring_over(&keys_dir);
        let token = ring.encrypt(b"x").expect("encrypt");

        // Unparseable key: the reload fails, the old keys stay.
        fs::write(keys_dir.join("7"), "garbage").expect("write");
        ring.refresh();
        assert_eq!(ring.key_count(), 2);
        fs::remove_file(keys_dir.join("7")).expect("remove");

        // Emptied, then gone entirely.
        for name in ["0", "1"] {
            fs::remove_file(keys_dir.join(name)).expect("remove");
        }
        ring.refresh();
        assert!(ring.decrypt(&token).expect("keys").is_some());
        fs::set_permissions(&keys_dir, fs::Permissions::from_mode(0o000)).expect("chmod");
        ring.refresh();
        assert!(ring.decrypt(&token).expect("keys").is_some());
        fs::set_permissions(&keys_dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::remove_dir_all(&keys_dir).expect("rm");
        ring.refresh();
        assert!(ring.decrypt(&token).expect("keys").is_some());
    }

    #[test]
    fn concurrent_readers_during_rotations_never_see_half_a_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (repo, ring) = ring_over(dir.path());
        let ring = Arc::new(ring);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (ring, repo, stop) = (Arc::clone(&ring), repo.clone(), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut rounds = 0;
                    while rounds < 5 || !stop.load(Ordering::Relaxed) {
                        // `load` validates every key it returns, and returns all of one
                        // generation or an error — on a loaded machine a reader can keep
                        // overlapping this storm of rotations, never half a key.
                        let keys = match repo.load() {
                            Ok(keys) => keys,
                            Err(e)
                                if e.detail.as_deref().is_some_and(|d| {
                                    d.ends_with(crate::fernet::keys::KEPT_CHANGING)
                                }) =>
                            {
                                continue;
                            }
                            Err(e) => panic!("a consistent view of the keys: {e:?}"),
                        };
                        assert!(keys.len() >= 2, "{keys:?}");
                        ring.next_check_ms.store(0, Ordering::Release);
                        let token = ring.encrypt(b"r").expect("encrypt");
                        assert!(ring.decrypt(&token).is_ok());
                        rounds += 1;
                    }
                    rounds
                })
            })
            .collect();
        for _ in 0..20 {
            repo.rotate().expect("rotate");
            // Rotations are hours apart in real life; keep them at least apart here.
            std::thread::sleep(Duration::from_millis(2));
        }
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            assert!(reader.join().expect("reader") > 0);
        }
        ring.refresh();
        assert_eq!(ring.key_count(), 3);
    }
}
