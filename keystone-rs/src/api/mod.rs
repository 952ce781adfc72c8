//! The HTTP wing: one file of routes per subsystem. A route checks its input the way
//! Keystone's schemas do, authorises through `context`, runs the subsystem's operation in
//! the request's one transaction (`state.db.read/write`) and renders Keystone's body.
//! Nothing below this folder imports it.

pub mod application_credential;
pub mod assignment;
pub mod auth;
pub mod catalog;
pub mod discovery;
pub mod domain_config;
pub mod federation;
pub mod health;
pub mod identity;
pub mod limit;
pub mod oauth1;
pub mod oauth2;
pub mod observability;
pub mod resource;
pub mod revoke;
