//! The request as Keystone sees it: base URL, the caller's validated token, policy
//! credentials.

use crate::config::Config;
use actix_web::HttpRequest;

/// The base URL Keystone advertises: `[DEFAULT] public_endpoint` if set, else
/// `scheme://host[:port]` from the request (default ports dropped), with a trailing
/// `/v3` or `/v2.0` removed. No trailing slash.
pub fn base_url(req: &HttpRequest, config: &Config) -> String {
    if let Some(endpoint) = &config.default.public_endpoint {
        return endpoint.trim_end_matches('/').to_string();
    }
    let info = req.connection_info();
    let scheme = info.scheme().to_string();
    let host = info.host().to_string();
    let host = match (scheme.as_str(), host.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
        _ => host,
    };
    format!("{scheme}://{host}")
}
