//! Black-box tests over HTTP against a real keystone-rs (see support.rs for the backends).

mod support;

mod api_ref;
mod auth_routes;
mod errors;
mod identity;
mod revocation;
mod tokens;
