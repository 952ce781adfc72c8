//! The JWS token format (`[token] provider = jws`): tokens signed, not encrypted, with the
//! key pair `keystone-manage create_jws_keypair` makes. A sibling of [`crate::fernet`]:
//! the same [`TokenPayload`](crate::fernet::TokenPayload) in, the same out, so issuing and
//! validating (`crate::token`) do not know which format the deployment chose.
//!
//! Layers, bottom up: [`algorithm`] (`[jwt_tokens] jws_algorithm`), [`keys`] (PEM key
//! pairs), [`repository`] (the private and public key repositories, following roll-over),
//! [`token_id`] (claims ↔ payload, Keystone's `JWSFormatter`).

pub mod algorithm;
pub mod keys;
pub mod repository;
pub mod token_id;

#[cfg(test)]
mod tests;

pub use algorithm::Algorithm;
pub use repository::{JwsKeys, PRIVATE_KEY_FILE};

use crate::config::Config;
use crate::error::Result;
use crate::fernet::TokenPayload;
use chrono::{DateTime, Utc};

/// What issuing and validating JWS tokens needs: the keys and the two algorithm options.
#[derive(Debug)]
pub struct JwsFormatter {
    pub keys: JwsKeys,
    /// `[jwt_tokens] jws_algorithm`: what new tokens are signed with.
    pub algorithm: Algorithm,
    /// `[jwt_tokens] jws_accepted_algorithms`: what validation accepts.
    pub accepted: Vec<Algorithm>,
}

impl JwsFormatter {
    /// Keystone's JWS provider start-up: refuses missing keys with Keystone's messages.
    pub fn from_config(config: &Config) -> Result<JwsFormatter> {
        let algorithm = Algorithm::from_config(&config.jwt_tokens.jws_algorithm)?;
        let accepted = config
            .jwt_tokens
            .jws_accepted_algorithms
            .iter()
            .map(|name| Algorithm::from_config(name))
            .collect::<Result<Vec<_>>>()?;
        Ok(JwsFormatter {
            keys: JwsKeys::open(config, algorithm)?,
            algorithm,
            accepted,
        })
    }

    /// The token id and its `issued_at` (whole seconds, the `iat` claim).
    pub fn encode(&self, payload: &TokenPayload) -> Result<(String, DateTime<Utc>)> {
        token_id::encode(&self.keys, self.algorithm, payload)
    }

    /// The payload and `issued_at` of a token a public key verifies.
    pub fn decode(&self, token_id: &str) -> Result<(TokenPayload, DateTime<Utc>)> {
        token_id::decode(&self.keys, &self.accepted, token_id)
    }
}

/// `keystone-manage create_jws_keypair`'s files: `private.pem` and `public.pem` in `dir`,
/// refused when either exists unless `force`. Unlike Keystone (which leaves both to the
/// umask), the private key is written readable by its owner only.
pub fn create_keypair(
    dir: &std::path::Path,
    algorithm: Algorithm,
    force: bool,
) -> std::result::Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let private_path = dir.join(PRIVATE_KEY_FILE);
    let public_path = dir.join("public.pem");
    if private_path.is_file() && !force {
        return Err(format!(
            "Private key {} already exists",
            private_path.display()
        ));
    }
    if public_path.is_file() && !force {
        return Err(format!(
            "Public key {} already exists",
            public_path.display()
        ));
    }
    let (private, public) = keys::generate_pem_pair(algorithm)?;
    let write = |path: &std::path::Path, text: &str, mode: u32| {
        // A private key that existed with wider permissions gets the narrow ones too.
        if mode == 0o600 && path.exists() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&private_path, &private, 0o600)?;
    write(&public_path, &public, 0o666)?;
    Ok(())
}
