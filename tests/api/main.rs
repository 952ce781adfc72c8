//! Black-box tests over HTTP against a real keystone-rs (see support.rs for the backends).

mod openapi;
mod support;

mod api_ref;
mod application_credentials;
mod assignment;
mod auth_routes;
mod catalog;
mod concurrency;
mod credentials;
mod domain_config;
mod endpoint_filter;
mod endpoint_policy;
mod errors;
mod federation;
mod federation_login;
mod federation_oidc;
mod identity;
mod jws;
mod ldap;
mod limits;
mod mfa;
mod mtls;
mod oauth1;
mod oauth2;
mod observability;
mod policy_coverage;
mod policy_reload;
mod rate_limit;
mod reliability;
mod resource;
mod revocation;
mod secrets_in_logs;
mod security_compliance;
mod tokens;
mod trust;
