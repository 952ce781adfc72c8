//! Keystone's token formatter: the token format `[token] provider` chose (Fernet or JWS)
//! and the validation cache every issue and validation goes through.

use super::cache::ValidationCache;
use crate::config::{Config, TokenProvider};
use crate::error::Result;
use crate::fernet::{EncodedToken, KeyRepository, KeyRing, PayloadCodec, TokenPayload};
use crate::jws::JwsFormatter;
use chrono::{DateTime, Utc};

/// Keystone's token formatter: the format's keys and codec, and the validation cache.
pub struct TokenFormatter {
    pub format: TokenFormat,
    /// What validation reads, cached (disabled unless a server wires its database's epoch).
    pub cache: ValidationCache,
}

/// The two token providers Keystone ships; both carry the same payload.
pub enum TokenFormat {
    /// The key ring and the payload codec (which needs the configured auth methods and
    /// default domain to be byte-compatible).
    Fernet {
        keys: KeyRing,
        codec: PayloadCodec,
    },
    Jws(JwsFormatter),
}

impl TokenFormatter {
    pub fn from_config(config: &Config) -> Result<TokenFormatter> {
        let format = match config.token.provider {
            TokenProvider::Fernet => TokenFormat::Fernet {
                keys: KeyRing::open(KeyRepository::from_config(config))?,
                codec: PayloadCodec::from_config(config),
            },
            TokenProvider::Jws => TokenFormat::Jws(JwsFormatter::from_config(config)?),
        };
        Ok(TokenFormatter {
            format,
            cache: ValidationCache::disabled(),
        })
    }

    /// Mint the token id of `payload`, with its `issued_at`.
    pub fn encode(&self, payload: &TokenPayload) -> Result<EncodedToken> {
        match &self.format {
            TokenFormat::Fernet { keys, codec } => {
                crate::fernet::encode_token(keys, codec, payload)
            }
            TokenFormat::Jws(jws) => {
                let (id, issued_at) = jws.encode(payload)?;
                Ok(EncodedToken { id, issued_at })
            }
        }
    }

    /// The payload and `issued_at` of a token id, failing as the chosen provider does
    /// (expiry not checked here).
    pub fn decode(&self, token_id: &str) -> Result<(TokenPayload, DateTime<Utc>)> {
        match &self.format {
            TokenFormat::Fernet { keys, codec } => {
                let decoded = crate::fernet::decode_token(keys, codec, token_id)?;
                Ok((decoded.payload, decoded.issued_at))
            }
            TokenFormat::Jws(jws) => jws.decode(token_id),
        }
    }
}
