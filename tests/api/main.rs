//! Black-box tests over HTTP against a real keystone-rs (see support.rs for the backends).

mod openapi;
mod support;

mod api_ref;
mod assignment;
mod auth_routes;
mod concurrency;
mod errors;
mod policy_coverage;
mod revocation;
mod tokens;
