//! Tokens as Keystone's token provider sees them: what a validated token is (the caller
//! every route authorises), how one is issued, validated and rendered, and the validation
//! cache. The token formats themselves are `crate::fernet` (keys, envelope, payloads) and
//! `crate::jws` (signed claims); [`formatter`] picks the one `[token] provider` names.
//!
//! [`model`] describes; [`formatter`] holds the chosen format and the [`cache`];
//! [`roles`] is the one place that knows the delegation kinds; [`validate`], [`issue`]
//! and [`render`] are the three things done with a token; [`delegated`] says what a
//! delegated caller may not do; [`targets`] what a user may scope one to.

pub mod cache;
pub mod delegated;
pub mod formatter;
pub mod issue;
pub mod model;
pub mod render;
pub mod roles;
pub mod targets;
pub mod validate;
