//! keystone-rs: OpenStack Identity (Keystone) v3 as a library; `main.rs` is the CLI.
//! The floors of this house and what each may import: README.md, "The house"; checked by
//! tools/house.py.

pub mod api;
pub mod cascade;
pub mod config;
pub mod context;
pub mod db;
pub mod discovery;
pub mod domain_config;
pub mod error;
pub mod fernet;
pub mod identity;
pub mod json;
pub mod jws;
pub mod ldap;
pub mod limit;
pub mod server;
pub mod state;
pub mod tls;

pub mod application_credential;
pub mod assignment;
pub mod auth;
pub mod catalog;
pub mod credential;
pub mod endpoint_policy;
pub mod federation;
pub mod manage;
pub mod oauth1;
pub mod oauth2;
pub mod observability;
pub mod policy;
pub mod preflight;
pub mod python;
pub mod ratelimit;
pub mod receipt;
pub mod resource;
pub mod revoke;
pub mod token;
pub mod trust;
