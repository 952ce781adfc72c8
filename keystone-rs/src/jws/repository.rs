//! The two JWS key repositories: `private.pem` in `[jwt_tokens] jws_private_key_repository`
//! signs, every file of `jws_public_key_repository` may verify (key roll-over: a node
//! validates tokens of every key pair whose public half it holds).
//!
//! Keystone reads the files on every token operation, so a new key pair takes effect at
//! once. As the Fernet key ring does, the hot path here is an `Arc` clone; at most once a
//! second one caller looks at the files' names, sizes and times, and re-reads the keys only
//! when they changed. Unreadable or unusable keys leave the last good ones in service (and
//! the problem is logged) instead of failing every request.

use super::algorithm::Algorithm;
use super::keys::{SigningKey, VerifyingKey};
use crate::config::Config;
use crate::error::{Error, Result};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The file Keystone signs with, in the private key repository.
pub const PRIVATE_KEY_FILE: &str = "private.pem";

#[derive(Debug)]
pub struct JwsKeys {
    private_key: PathBuf,
    public_repository: PathBuf,
    current: RwLock<Arc<Loaded>>,
    /// Milliseconds since `started` at which the files may be looked at again.
    next_check_ms: AtomicU64,
    started: Instant,
}

#[derive(Debug)]
pub struct Loaded {
    pub signing: SigningKey,
    pub verifying: Vec<VerifyingKey>,
    fingerprint: Fingerprint,
}

/// Per file: path, inode, size, modification time.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Fingerprint(Vec<(PathBuf, u64, u64, Option<SystemTime>)>);

impl JwsKeys {
    /// Keystone's JWS provider start-up checks (its `SystemExit` messages), then the keys.
    /// Beyond Keystone, a `private.pem` that is no key, or a key of another algorithm than
    /// `jws_algorithm`, stops start-up too (Keystone fails every issue instead).
    pub fn open(config: &Config, algorithm: Algorithm) -> Result<JwsKeys> {
        let section = &config.jwt_tokens;
        let private_key = section.jws_private_key_repository.join(PRIVATE_KEY_FILE);
        let public_repository = section.jws_public_key_repository.clone();
        if !private_key.exists() {
            return Err(start_up(format!(
                "{} does not exist. You can generate a key pair using `keystone-manage \
                 create_jws_keypair`.",
                private_key.display()
            )));
        }
        if !public_repository.exists() {
            return Err(start_up(format!(
                "{} does not exist. Please make sure the directory exists and is readable by \
                 the process running keystone.",
                public_repository.display()
            )));
        }
        let empty = std::fs::read_dir(&public_repository)
            .map_err(|e| start_up(format!("{}: {e}", public_repository.display())))?
            .next()
            .is_none();
        if empty {
            return Err(start_up(format!(
                "{} must contain at least one public key but it is empty. You can generate a \
                 key pair using `keystone-manage create_jws_keypair`.",
                public_repository.display()
            )));
        }
        let loaded = read(&private_key, &public_repository)
            .map_err(|e| start_up(e.detail.unwrap_or(e.message)))?;
        if loaded.signing.algorithm() != algorithm {
            return Err(start_up(format!(
                "{} is a key for {}, but [jwt_tokens] jws_algorithm is {}; create a key pair \
                 for it with `keystone-manage create_jws_keypair`.",
                private_key.display(),
                loaded.signing.algorithm().name(),
                algorithm.name()
            )));
        }
        Ok(JwsKeys {
            private_key,
            public_repository,
            current: RwLock::new(Arc::new(loaded)),
            next_check_ms: AtomicU64::new(CHECK_INTERVAL.as_millis() as u64),
            started: Instant::now(),
        })
    }

    /// The keys now, looking at the files at most once per check interval.
    pub fn loaded(&self) -> Arc<Loaded> {
        let now = self.elapsed_ms();
        let due = self.next_check_ms.load(Ordering::Relaxed);
        // Only the caller that wins the exchange looks at the disk.
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
        self.snapshot()
    }

    /// Look at the files now instead of at the next periodic check (tests, tools).
    pub fn refresh(&self) {
        self.next_check_ms.store(
            self.elapsed_ms() + CHECK_INTERVAL.as_millis() as u64,
            Ordering::Release,
        );
        self.reload_if_changed();
    }

    fn snapshot(&self) -> Arc<Loaded> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn swap(&self, loaded: Loaded) {
        let fresh = Arc::new(loaded);
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
    }

    fn reload_if_changed(&self) {
        match fingerprint(&self.private_key, &self.public_repository) {
            Ok(f) if f == self.snapshot().fingerprint => return,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e.detail.as_deref().unwrap_or(&e.message), "JWS key repository unreadable; keeping the keys in memory");
                return;
            }
        }
        match read(&self.private_key, &self.public_repository) {
            Ok(loaded) => {
                tracing::info!(public_keys = loaded.verifying.len(), "JWS keys reloaded");
                self.swap(loaded);
            }
            Err(e) => {
                tracing::error!(error = %e.detail.as_deref().unwrap_or(&e.message), "JWS keys could not be loaded; keeping the keys in memory");
            }
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX / 2)
    }
}

/// Fingerprint first, then contents: a change in between shows at the next check.
fn read(private_key: &Path, public_repository: &Path) -> Result<Loaded> {
    let fingerprint = fingerprint(private_key, public_repository)?;
    let pem = std::fs::read_to_string(private_key).map_err(|e| io_error(private_key, e))?;
    let signing = SigningKey::from_pem(&pem).ok_or_else(|| {
        Error::internal(format!(
            "{} is not a PKCS#8 PEM key for ES256, ES384, ES512 or EdDSA",
            private_key.display()
        ))
    })?;
    let mut verifying = Vec::new();
    for (path, ..) in &fingerprint.0 {
        if path.as_path() == private_key {
            continue;
        }
        match std::fs::read_to_string(path)
            .ok()
            .and_then(|pem| VerifyingKey::from_pem(&pem))
        {
            Some(key) => verifying.push(key),
            None => {
                tracing::warn!(file = %path.display(), "ignoring a file of the JWS public key repository that is no public key")
            }
        }
    }
    if verifying.is_empty() {
        return Err(Error::internal(format!(
            "{} holds no usable public key",
            public_repository.display()
        )));
    }
    Ok(Loaded {
        signing,
        verifying,
        fingerprint,
    })
}

/// The private key file and every regular file of the public repository (symlinks
/// followed, as Kubernetes secret volumes need), sorted by name.
fn fingerprint(private_key: &Path, public_repository: &Path) -> Result<Fingerprint> {
    let mut entries = vec![stat(private_key)?];
    let listing =
        std::fs::read_dir(public_repository).map_err(|e| io_error(public_repository, e))?;
    let mut public = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| io_error(public_repository, e))?;
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {
                public.push((path, meta.ino(), meta.len(), meta.modified().ok()))
            }
            // Directories, and files that vanished since the listing, are no keys.
            _ => {}
        }
    }
    public.sort();
    entries.extend(public);
    Ok(Fingerprint(entries))
}

fn stat(path: &Path) -> Result<(PathBuf, u64, u64, Option<SystemTime>)> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    Ok((
        path.to_path_buf(),
        meta.ino(),
        meta.len(),
        meta.modified().ok(),
    ))
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("{}: {e}", path.display()))
}

/// A start-up refusal: the operator reads the detail.
fn start_up(detail: String) -> Error {
    Error::internal(detail)
}
