//! Auth receipts (Keystone's `keystone/receipt/`): what a user who passed some but not all
//! of their MFA rules gets back, to finish logging in with the missing methods within
//! `[receipt] expiration` seconds. A receipt is a Fernet token of the
//! `[fernet_receipts]` key repository (payload: `fernet::receipt`); nothing is stored.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::fernet::keyring::now_and_iv;
use crate::fernet::receipt::{ReceiptPayload, open_receipt, seal_receipt_at};
use crate::fernet::{KeyRepository, KeyRing, PayloadCodec};
use chrono::{DateTime, Duration, Utc};

/// The request and response header that carries a receipt.
pub const HEADER: &str = "Openstack-Auth-Receipt";

/// A receipt issued or presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub id: String,
    pub user_id: String,
    pub methods: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Keystone's receipt provider: the receipt keys, the payload codec (the method bits follow
/// `[auth] methods`, as for tokens) and the lifetime.
pub struct ReceiptProvider {
    keys: KeyRing,
    codec: PayloadCodec,
    expiration: Duration,
}

/// `[fernet_receipts]`: the receipt keys' repository.
pub fn key_repository(config: &Config) -> KeyRepository {
    KeyRepository::new(
        config.fernet_receipts.key_repository.clone(),
        config.fernet_receipts.max_active_keys,
    )
}

impl ReceiptProvider {
    /// Like Keystone's Fernet receipt provider, refuse to start on a repository that is
    /// missing or holds no keys.
    pub fn from_config(config: &Config) -> Result<ReceiptProvider> {
        Ok(ReceiptProvider {
            keys: KeyRing::open(key_repository(config))?,
            codec: PayloadCodec::from_config(config),
            expiration: Duration::seconds(config.receipt.expiration),
        })
    }

    /// The receipt keys (they also seal WebSSO login states when tokens are JWS).
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Fixed keys (tests and tools).
    pub fn with_keys(keys: KeyRing, codec: PayloadCodec, expiration: Duration) -> Self {
        ReceiptProvider {
            keys,
            codec,
            expiration,
        }
    }

    /// `issue_receipt`: expires `[receipt] expiration` from now, whole seconds.
    pub fn issue(&self, user_id: &str, methods: &[String]) -> Result<Receipt> {
        let (now, iv) = now_and_iv()?;
        let expires_at = i64::try_from(now)
            .ok()
            .and_then(|now| DateTime::from_timestamp(now, 0))
            .map(|now| now + self.expiration)
            .ok_or_else(|| Error::internal("clock out of range"))?;
        let payload = ReceiptPayload {
            user_id: user_id.to_string(),
            methods: methods.to_vec(),
            expires_at,
        };
        let (id, issued_at) = seal_receipt_at(&self.keys, &self.codec, &payload, now, iv)?;
        Ok(Receipt {
            id,
            user_id: payload.user_id,
            methods: payload.methods,
            issued_at,
            expires_at,
        })
    }

    /// `validate_receipt`: Keystone's `ReceiptNotFound` (a 401 that shows only the generic
    /// text) for anything that is not a receipt of ours that is still valid.
    pub fn validate(&self, id: &str) -> Result<Receipt> {
        let not_found = || Error::unauthorized_because("Could not find auth receipt");
        if id.is_empty() {
            return Err(not_found());
        }
        let opened = open_receipt(&self.keys, &self.codec, id)?.ok_or_else(not_found)?;
        if Utc::now() >= opened.payload.expires_at {
            return Err(Error::unauthorized_because("auth receipt expired"));
        }
        Ok(Receipt {
            id: id.to_string(),
            user_id: opened.payload.user_id,
            methods: opened.payload.methods,
            issued_at: opened.issued_at,
            expires_at: opened.payload.expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(expiration: i64) -> ReceiptProvider {
        ReceiptProvider::with_keys(
            KeyRing::from_keys(&["7Nf5iSSEKXaGxhzc8m9wJjvLV4tEJbyy0tqu_DpyHpo="]).unwrap(),
            PayloadCodec::new(vec!["password".into(), "totp".into()], "default"),
            Duration::seconds(expiration),
        )
    }

    #[test]
    fn issued_receipts_validate_until_they_expire() {
        let p = provider(300);
        let r = p
            .issue("e14dbfc311de48e8b0fd860904a48c81", &["password".into()])
            .unwrap();
        let back = p.validate(&r.id).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.expires_at - back.issued_at, Duration::seconds(300));
        let expired = provider(0).issue("u", &["password".into()]).unwrap();
        assert_eq!(p.validate(&expired.id).unwrap_err().status.as_u16(), 401);
        assert_eq!(p.validate("").unwrap_err().status.as_u16(), 401);
        assert_eq!(p.validate("%%%").unwrap_err().status.as_u16(), 401);
    }
}
