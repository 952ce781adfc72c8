//! The Fernet token format: key repository, envelope, payload codecs. No database, no HTTP:
//! what a token *means* (its user, scope, roles) is `crate::token`'s.
//!
//! Layers, bottom up: [`keys`] (the on-disk repository `keystone-manage` maintains),
//! [`keyring`] (the keys in memory, following rotations), [`envelope`] (Fernet
//! encryption), [`payload`] (Keystone's msgpack payloads, versions 0..=10), [`token_id`]
//! (token id ↔ [`TokenPayload`]). Tokens are byte-compatible with Python Keystone sharing
//! the same key repository, `[auth] methods` and `[identity] default_domain_id`.

pub mod envelope;
pub mod keyring;
pub mod keys;
pub mod model;
pub mod payload;
mod pyuuid;
pub mod receipt;
pub mod token_id;

#[cfg(test)]
mod tests;

pub use keyring::KeyRing;
pub use keys::{KeyRepository, SetupOutcome};
pub use model::{DecodedToken, FederatedInfo, Scope, TokenPayload, keystone_time};
pub use payload::PayloadCodec;
pub use token_id::{EncodedToken, decode_token, encode_token, not_recognized};
