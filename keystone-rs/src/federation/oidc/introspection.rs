//! An opaque token, asked about at the issuer (RFC 7662): it must be `active`, and what the
//! issuer says of it passes the same claim checks as a JWT's.

use super::claims;
use super::error::OidcError;
use super::keys::IssuerKeys;
use serde_json::{Map, Value};

pub fn introspect(
    issuer: &IssuerKeys,
    token: &str,
    now: i64,
) -> Result<Map<String, Value>, OidcError> {
    let settings = &issuer.settings;
    let (Some(client_id), Some(client_secret)) = (&settings.client_id, &settings.client_secret)
    else {
        return Err(OidcError::invalid(
            "opaque token, and no client_id/client_secret to introspect it with",
        ));
    };
    let endpoint = issuer.introspection_endpoint()?;
    let answer = issuer.http.post_form_json(
        &endpoint,
        (client_id, client_secret),
        &[("token", token), ("token_type_hint", "access_token")],
    )?;
    if answer.get("active") != Some(&Value::Bool(true)) {
        return Err(OidcError::invalid(
            "the issuer says the token is not active",
        ));
    }
    claims::check(&answer, settings, now).map_err(OidcError::Invalid)?;
    Ok(answer)
}
