//! Keystone's token formatter: the key ring, the payload codec and the validation cache
//! every issue and validation goes through.

use super::cache::ValidationCache;
use crate::config::Config;
use crate::error::Result;
use crate::fernet::{KeyRepository, KeyRing, PayloadCodec};

/// Keystone's token formatter: the keys and the payload codec (which needs the configured
/// auth methods and default domain to be byte-compatible).
pub struct TokenFormatter {
    pub keys: KeyRing,
    pub codec: PayloadCodec,
    /// What validation reads, cached (disabled unless a server wires its database's epoch).
    pub cache: ValidationCache,
}

impl TokenFormatter {
    pub fn from_config(config: &Config) -> Result<TokenFormatter> {
        Ok(TokenFormatter {
            keys: KeyRing::open(KeyRepository::from_config(config))?,
            codec: PayloadCodec::from_config(config),
            cache: ValidationCache::disabled(),
        })
    }
}
