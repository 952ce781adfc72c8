//! A JWT access token (or ID token): its header's `alg` against the allow-list, its
//! signature against the issuer's keys, then the claims.

use super::claims;
use super::error::OidcError;
use super::keys::{IssuerKeys, algorithm_name};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};

/// Whether `token` is meant as a JWT (a compact JWS: three dot-separated parts). Anything
/// else is an opaque token, for introspection.
pub fn is_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

pub fn verify(issuer: &IssuerKeys, token: &str, now: i64) -> Result<Map<String, Value>, OidcError> {
    verify_for(issuer, token, &issuer.settings.audiences, now)
}

/// [`verify`] for other audiences (an ID token is the client's).
pub fn verify_for(
    issuer: &IssuerKeys,
    token: &str,
    audiences: &[String],
    now: i64,
) -> Result<Map<String, Value>, OidcError> {
    let settings = &issuer.settings;
    // decode_header knows only real algorithms: `none` and unknown names fail here.
    let header =
        decode_header(token).map_err(|e| OidcError::invalid(format!("JWT header: {e}")))?;
    if !settings.algorithms.contains(&header.alg) {
        return Err(OidcError::invalid(format!(
            "JWT algorithm {} is not allowed",
            algorithm_name(header.alg)
        )));
    }
    let keys = issuer.keys_for(header.kid.as_deref(), header.alg)?;
    // The signature only: the claim checks are claims::check, shared with introspection.
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    for key in &keys {
        match decode::<Map<String, Value>>(token, key, &validation) {
            Ok(data) => {
                claims::check_for(&data.claims, settings, audiences, now)
                    .map_err(OidcError::Invalid)?;
                return Ok(data.claims);
            }
            // Another key of the set (a token without `kid`) may still verify it.
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
            Err(e) => return Err(OidcError::invalid(format!("JWT: {e}"))),
        }
    }
    Err(OidcError::invalid("JWT signature does not verify"))
}
