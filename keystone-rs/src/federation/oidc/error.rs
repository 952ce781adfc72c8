//! Why a bearer token gave no assertion: the token's fault (401) or the issuer's (503).

use crate::error::Error;

#[derive(Debug, Clone, PartialEq)]
pub enum OidcError {
    /// The token is not acceptable: malformed, badly signed, expired, for another audience
    /// or issuer, inactive. The reason is logged, never shown (Keystone's 401 text).
    Invalid(String),
    /// The issuer could not be asked (discovery, JWKS or introspection failed): retrying
    /// later may succeed.
    Unavailable(String),
}

impl OidcError {
    pub fn invalid(reason: impl Into<String>) -> OidcError {
        OidcError::Invalid(reason.into())
    }

    pub fn unavailable(reason: impl Into<String>) -> OidcError {
        OidcError::Unavailable(reason.into())
    }
}

impl std::fmt::Display for OidcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OidcError::Invalid(r) => write!(f, "OIDC token refused: {r}"),
            OidcError::Unavailable(r) => write!(f, "OIDC issuer unavailable: {r}"),
        }
    }
}

impl std::error::Error for OidcError {}

impl From<OidcError> for Error {
    fn from(e: OidcError) -> Error {
        match e {
            OidcError::Invalid(reason) => {
                Error::unauthorized_because(format!("OIDC bearer token refused: {reason}"))
            }
            OidcError::Unavailable(reason) => {
                Error::service_unavailable(format!("OIDC issuer unavailable: {reason}"))
            }
        }
    }
}
