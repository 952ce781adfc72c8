//! Native OpenID Connect: the assertion source that validates an `Authorization: Bearer`
//! token itself, where Python Keystone relies on Apache's mod_auth_openidc in front of it.
//!
//! A JWT is verified against the issuer's JWKS (found through its discovery document,
//! cached, fetched again on rotation), an opaque token is introspected (RFC 7662); both
//! then pass the same claim checks (`iss`, `aud`, `exp`, `nbf`, `iat`). The claims become
//! the (name, value) pairs mod_auth_openidc would have put in the WSGI environ
//! ([`attributes`]), so a mapping written for Apache works unchanged.
//!
//! Configured per identity provider and protocol in keystone.conf ([`settings`]):
//! ```ini
//! [openid_connect:myidp:openid]
//! issuer = https://idp.example.org/realms/cloud
//! audiences = keystone
//! ```
//! Everything here blocks on HTTP to the issuer: call it from the blocking pool
//! (`web::block`).

pub mod attributes;
pub mod claims;
pub mod code_flow;
pub mod error;
pub mod http;
pub mod introspection;
pub mod jwt;
pub mod keys;
pub mod settings;

pub use error::OidcError;
pub use keys::IssuerKeys;
pub use settings::{ClientAuth, CodeFlow, OidcSettings, SettingsError};

use std::collections::HashMap;
use std::sync::Arc;

/// Bearer tokens longer than this are refused before anything is decoded or sent.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The assertion a bearer token carries: validated at `issuer`, then rendered as
/// mod_auth_openidc renders claims. Blocking.
pub fn assertion_from_bearer(
    issuer: &IssuerKeys,
    bearer_token: &str,
) -> Result<Vec<(String, String)>, OidcError> {
    let claims = bearer_claims(issuer, bearer_token)?;
    attributes::assertion(&claims, &issuer.settings).map_err(OidcError::Invalid)
}

/// The claims of an access token, validated at `issuer` (a JWT verified against its keys,
/// an opaque token introspected). Blocking.
pub fn bearer_claims(
    issuer: &IssuerKeys,
    bearer_token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, OidcError> {
    if bearer_token.is_empty() || bearer_token.len() > MAX_TOKEN_LEN {
        return Err(OidcError::invalid("bearer token empty or too long"));
    }
    // RFC 6750 §2.1 b64token: nothing else is sent on to the issuer.
    if !bearer_token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
    {
        return Err(OidcError::invalid(
            "bearer token has characters RFC 6750 does not allow",
        ));
    }
    let now = chrono::Utc::now().timestamp();
    if jwt::is_jwt(bearer_token) {
        jwt::verify(issuer, bearer_token, now)
    } else {
        introspection::introspect(issuer, bearer_token, now)
    }
}

/// The token of an `Authorization: Bearer <token>` header value (the scheme is
/// case-insensitive, RFC 7235 §2.1).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Every configured `[openid_connect:<idp>:<protocol>]`, each with its own key cache: built
/// once at start-up and kept in the application state.
#[derive(Default)]
pub struct OidcProviders {
    by_protocol: HashMap<(String, String), Arc<IssuerKeys>>,
}

impl OidcProviders {
    pub fn from_config(config: &crate::config::Config) -> Result<OidcProviders, SettingsError> {
        Ok(OidcProviders::from_settings(OidcSettings::all_from_config(
            config,
        )?))
    }

    pub fn from_settings(all: Vec<OidcSettings>) -> OidcProviders {
        let by_protocol = all
            .into_iter()
            .map(|s| {
                (
                    (s.idp_id.clone(), s.protocol_id.clone()),
                    Arc::new(IssuerKeys::new(s)),
                )
            })
            .collect();
        OidcProviders { by_protocol }
    }

    /// The issuer that validates bearer tokens for this identity provider's protocol;
    /// `None` when the protocol is not served natively (a front end asserts instead).
    pub fn get(&self, idp_id: &str, protocol_id: &str) -> Option<Arc<IssuerKeys>> {
        self.by_protocol
            .get(&(idp_id.to_string(), protocol_id.to_string()))
            .cloned()
    }

    /// The protocols offering browser logins (a client configured) for `protocol_id`,
    /// from any identity provider.
    pub fn browser_logins(&self, protocol_id: &str) -> Vec<Arc<IssuerKeys>> {
        let mut found: Vec<Arc<IssuerKeys>> = self
            .by_protocol
            .iter()
            .filter(|((_, p), issuer)| p == protocol_id && issuer.settings.client_id.is_some())
            .map(|(_, issuer)| issuer.clone())
            .collect();
        found.sort_by(|a, b| a.settings.idp_id.cmp(&b.settings.idp_id));
        found
    }

    pub fn is_empty(&self) -> bool {
        self.by_protocol.is_empty()
    }
}

#[cfg(test)]
mod tests;
