//! Black-box tests over HTTP against a real keystone-rs (see support.rs for the backends).

mod support;

mod api_ref;
mod application_credentials;
mod auth_routes;
mod errors;
mod revocation;
mod tokens;
