//! keystone-rs: OpenStack Identity (Keystone) v3 as a library; `main.rs` is the CLI.

pub mod config;
pub mod db;
pub mod discovery;
pub mod error;
pub mod identity;
pub mod json;

pub mod token;
pub mod context;
pub mod server;
