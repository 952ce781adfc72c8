//! Token ids: payload → msgpack → Fernet envelope and back (Keystone's `TokenFormatter`).

use super::envelope;
use super::keyring::KeyRing;
use super::model::{DecodedToken, TokenPayload};
use super::payload::PayloadCodec;
use crate::error::{Error, Result};
use chrono::{DateTime, Datelike, Utc};

/// A freshly minted token id and its `issued_at` (the envelope timestamp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedToken {
    pub id: String,
    pub issued_at: DateTime<Utc>,
}

/// Mint a token id for `payload` with the primary key: `=` padding stripped as Keystone
/// does. The payload version follows from the fields (spec §4.1).
pub fn encode_token(
    ring: &KeyRing,
    codec: &PayloadCodec,
    payload: &TokenPayload,
) -> Result<EncodedToken> {
    let plaintext = codec.pack(payload)?;
    let id = ring.encrypt(&plaintext)?;
    finish_encoding(id, codec.max_token_size())
}

/// As [`encode_token`] with a chosen time and IV — only for reproducing golden vectors.
pub fn encode_token_at(
    ring: &KeyRing,
    codec: &PayloadCodec,
    payload: &TokenPayload,
    timestamp: u64,
    iv: [u8; 16],
) -> Result<EncodedToken> {
    let plaintext = codec.pack(payload)?;
    let id = ring.encrypt_at(&plaintext, timestamp, iv)?;
    finish_encoding(id, codec.max_token_size())
}

fn finish_encoding(id: String, max_token_size: usize) -> Result<EncodedToken> {
    if id.len() > max_token_size {
        tracing::info!(
            length = id.len(),
            max_token_size,
            "Fernet token created with length of {} characters, which exceeds {} characters",
            id.len(),
            max_token_size
        );
    }
    let issued_at = envelope::timestamp(&id)
        .and_then(issued_at_from)
        .ok_or_else(|| Error::internal("freshly minted token has no readable timestamp"))?;
    Ok(EncodedToken { id, issued_at })
}

/// Decrypt with every key and parse the payload. Fails as Keystone does:
/// 404 "Could not recognize Fernet token" when no key opens it (garbage, tampered, or
/// keys rotated away), 404 "This is not a recognized Fernet payload version: N", 500 when
/// there are no keys or the authenticated payload cannot be taken apart. Expiry is not
/// checked here: see [`TokenPayload::is_expired`].
pub fn decode_token(ring: &KeyRing, codec: &PayloadCodec, token: &str) -> Result<DecodedToken> {
    let opened = ring.decrypt(token)?.ok_or_else(not_recognized)?;
    let (version, payload) = codec.unpack(&opened.plaintext)?;
    let issued_at = issued_at_from(opened.timestamp)
        .ok_or_else(|| Error::internal("token timestamp out of range"))?;
    Ok(DecodedToken {
        payload,
        issued_at,
        version,
    })
}

/// The 404 Keystone answers for a token no key can open.
pub fn not_recognized() -> Error {
    Error::not_found("Could not recognize Fernet token")
}

/// Python's `datetime.fromtimestamp` only covers years 1..=9999.
pub(super) fn issued_at_from(timestamp: u64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(timestamp).ok()?, 0)
        .filter(|at| (1..=9999).contains(&at.year()))
}
