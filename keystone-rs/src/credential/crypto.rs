//! Credential encryption exactly as Keystone's Fernet credential provider does it
//! (`keystone/credential/providers/fernet/core.py`): a Fernet key repository at
//! `[credential] key_repository` laid out like the token one (same setup and rotation, at
//! most three keys), the keys loaded primary first with the well-known null key appended,
//! the blob sealed with the primary key and stored as padded URL-safe base64, and
//! `key_hash` = SHA-1 hex of the primary key's text. When the repository is missing or
//! unreadable Keystone encrypts with the null key (and warns); so does this.

use crate::error::{Error, Result};
use crate::fernet::envelope::{self, FernetKey};
use crate::fernet::keys::KeyRepository;
use sha1::{Digest, Sha1};
use std::path::PathBuf;

/// Keystone's `MAX_ACTIVE_KEYS` for credentials: fixed, not configurable.
pub const MAX_ACTIVE_KEYS: u32 = 3;

/// `base64.urlsafe_b64encode(b'\x00' * 32)`: Keystone's fallback key.
pub const NULL_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// The credential key repository of a deployment.
#[derive(Debug, Clone)]
pub struct CredentialKeys {
    repository: KeyRepository,
}

/// A blob as the `credential` table stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub encrypted_blob: String,
    pub key_hash: String,
}

/// Never print a blob (it is reversible with the keys).
impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("key_hash", &self.key_hash)
            .finish_non_exhaustive()
    }
}

impl CredentialKeys {
    pub fn new(path: PathBuf) -> Self {
        CredentialKeys {
            repository: KeyRepository::new(path, MAX_ACTIVE_KEYS),
        }
    }

    pub fn from_config(config: &crate::config::Config) -> Self {
        Self::new(config.credential.key_repository.clone())
    }

    pub fn repository(&self) -> &KeyRepository {
        &self.repository
    }

    /// `FernetUtils.load_keys(use_null_key=True)`: the repository's keys, primary first,
    /// then the null key; only the null key when the repository is not usable. Read on
    /// every call, as Keystone does, so a rotation or a sync from another node counts at
    /// once.
    pub fn load(&self) -> Result<Vec<String>> {
        let path = self.repository.path();
        let usable = std::fs::read_dir(path).is_ok();
        let mut keys = if usable {
            self.repository.load()?
        } else {
            Vec::new()
        };
        if keys.is_empty() {
            tracing::warn!(
                repository = %path.display(),
                "credential key repository missing or empty: encrypting credentials with the \
                 null key; run keystone-manage credential_setup, credential_migrate and \
                 credential_rotate"
            );
        }
        keys.push(NULL_KEY.to_string());
        Ok(keys)
    }

    /// Keystone's `primary_key_hash`: SHA-1 hex of the primary key's base64 text.
    pub fn primary_key_hash(&self) -> Result<String> {
        Ok(key_hash(&self.load()?[0]))
    }

    /// Seal a plaintext with the primary key.
    pub fn encrypt(&self, plaintext: &str) -> Result<Sealed> {
        let keys = self.load()?;
        let primary = FernetKey::from_base64(&keys[0])
            .ok_or_else(|| Error::internal("credential primary key is not a Fernet key"))?;
        let (now, iv) = crate::fernet::keyring::now_and_iv()?;
        let token = primary
            .seal(plaintext.as_bytes(), now, iv)
            .ok_or_else(|| Error::internal("credential encryption failed"))?;
        Ok(Sealed {
            encrypted_blob: padded(token),
            key_hash: key_hash(&keys[0]),
        })
    }

    /// Open a stored blob with any key. A blob no key opens is Keystone's
    /// `CredentialEncryptionError`: a 500 whose reason is only logged.
    pub fn decrypt(&self, encrypted_blob: &str) -> Result<String> {
        let keys: Vec<FernetKey> = self
            .load()?
            .iter()
            .filter_map(|k| FernetKey::from_base64(k))
            .collect();
        let opened = envelope::open(&keys, encrypted_blob.trim())
            .ok_or_else(|| Error::internal("Credential could not be decrypted"))?;
        String::from_utf8(opened.plaintext)
            .map_err(|_| Error::internal("Credential could not be decrypted (not UTF-8)"))
    }
}

/// SHA-1 hex of a key's text (Keystone hashes the base64 text, not the key bytes).
pub fn key_hash(key_text: &str) -> String {
    let digest = Sha1::digest(key_text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `Fernet.encrypt` keeps the `=` padding, and its `decrypt` insists on it: the
/// column holds the padded form.
fn padded(mut token: String) -> String {
    while token.len() % 4 != 0 {
        token.push('=');
    }
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_key_is_32_zero_bytes() {
        use base64::Engine;
        let text = base64::engine::general_purpose::URL_SAFE.encode([0u8; 32]);
        assert_eq!(text, NULL_KEY);
        assert!(FernetKey::from_base64(NULL_KEY).is_some());
    }

    #[test]
    fn missing_repository_uses_the_null_key_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let keys = CredentialKeys::new(dir.path().join("absent"));
        let sealed = keys.encrypt("{\"access\": \"a\"}").unwrap();
        assert_eq!(sealed.key_hash, key_hash(NULL_KEY));
        assert_eq!(sealed.encrypted_blob.len() % 4, 0);
        assert_eq!(
            keys.decrypt(&sealed.encrypted_blob).unwrap(),
            "{\"access\": \"a\"}"
        );
    }

    #[test]
    fn rotation_keeps_old_blobs_readable_and_changes_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let keys = CredentialKeys::new(dir.path().join("credential-keys"));
        keys.repository().setup().unwrap();
        let first = keys.encrypt("secret one").unwrap();
        assert_ne!(first.key_hash, key_hash(NULL_KEY));
        keys.repository().rotate().unwrap();
        let second = keys.encrypt("secret two").unwrap();
        assert_ne!(first.key_hash, second.key_hash);
        assert_eq!(keys.decrypt(&first.encrypted_blob).unwrap(), "secret one");
        assert_eq!(keys.decrypt(&second.encrypted_blob).unwrap(), "secret two");
        assert!(keys.decrypt("gAAAAAB-not-a-blob").is_err());
    }

    /// A blob sealed by Python's `cryptography` (padded) opens with our envelope code.
    #[test]
    fn python_padded_blob_opens() {
        let key = "cw3CVvG8l5w_rF6Jx7vgYVcmH4bTkqwBmQfxZ6mmqMs=";
        let fernet = fernet::Fernet::new(key).unwrap();
        let token = fernet.encrypt(b"hello");
        let keys = vec![FernetKey::from_base64(key).unwrap()];
        let opened = envelope::open(&keys, &token).unwrap();
        assert_eq!(opened.plaintext, b"hello");
        // And ours opens with the fernet crate (which wants padding).
        let ours = padded(keys[0].seal(b"again", 1_700_000_000, [7u8; 16]).unwrap());
        assert_eq!(fernet.decrypt(&ours).unwrap(), b"again");
    }
}
