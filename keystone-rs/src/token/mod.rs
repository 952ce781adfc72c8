//! Fernet tokens: key repository, payload codecs, issue and validate.

pub mod provider;
