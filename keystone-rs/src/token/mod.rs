//! Fernet tokens: key repository, payload codecs, issue and validate.
//!
//! Layers, bottom up: [`keys`] (the on-disk repository `keystone-manage` maintains),
//! [`keyring`] (the keys in memory, following rotations), [`envelope`] (Fernet
//! encryption), [`payload`] (Keystone's msgpack payloads, versions 0..=10), [`fernet`]
//! (token id ↔ [`TokenPayload`]). Tokens are byte-compatible with Python Keystone sharing
//! the same key repository, `[auth] methods` and `[identity] default_domain_id`.

pub mod envelope;
pub mod fernet;
pub mod keyring;
pub mod keys;
pub mod model;
pub mod payload;
pub mod provider;
pub(crate) mod pyrepr;
mod pyuuid;

#[cfg(test)]
mod tests;

pub use fernet::{EncodedToken, decode_token, encode_token, not_recognized};
pub use keyring::KeyRing;
pub use keys::{KeyRepository, SetupOutcome};
pub use model::{DecodedToken, FederatedInfo, Scope, TokenPayload, keystone_time};
pub use payload::PayloadCodec;
