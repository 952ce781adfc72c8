//! `tls_client_auth` (RFC 8705 §2.1, oauth2.md A3): the client is a *user*, named by
//! `client_id`, that proves itself with a TLS client certificate the server verified. The
//! certificate's subject and issuer names run through the federation mapping
//! `[oauth2] oauth2_cert_dn_mapping_id`; every user attribute the mapping yields must match
//! the stored user. The token is bound to the certificate (its thumbprint in the payload).
//!
//! The certificate comes only from keystone-rs's own TLS handshake, never from a request
//! header: no header-borne certificate is trusted (README, "OAuth2 mTLS").

use super::{OAuthError, OAuthResult};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::Error;
use crate::federation::{self, rules};
use crate::identity::User;
use crate::token::formatter::TokenFormatter;
use crate::token::issue::{self, IssueRequest};
use crate::token::model::Token;
use x509_cert::Certificate;
use x509_cert::der::{Decode, Tagged};
use x509_cert::name::Name;

/// The method name bound tokens are minted with (dropped by the Fernet bitmask unless
/// `[auth] methods` names it, as Keystone's).
pub const TOKEN_METHOD: &str = "oauth2_credential";

/// The `[oauth2] oauth2_authn_methods` name.
pub const METHOD: &str = "tls_client_auth";

/// Python cryptography's RFC 4514 short names; Keystone names the e-mail attribute
/// `emailAddress`; any other attribute is its dotted OID.
fn attribute_name(oid: &str) -> String {
    match oid {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "emailAddress",
        other => return other.to_string(),
    }
    .to_string()
}

/// The attribute value as Python cryptography reads it: BMPString and UniversalString
/// decoded, a BIT STRING as `#hex`, every other string type as UTF-8 (else an error).
fn attribute_value(value: &x509_cert::der::Any) -> Result<String, String> {
    let data = value.value();
    match value.tag().octet() {
        0x03 => Ok(format!("#{}", hex(data))),
        0x1e => {
            if data.len() % 2 != 0 {
                return Err("odd-length BMPString".into());
            }
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).map_err(|e| e.to_string())
        }
        0x1c => {
            if data.len() % 4 != 0 {
                return Err("bad UniversalString".into());
            }
            data.chunks(4)
                .map(|c| {
                    char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .ok_or_else(|| "bad UniversalString".to_string())
                })
                .collect()
        }
        _ => String::from_utf8(data.to_vec()).map_err(|_| "non-UTF-8 name value".to_string()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Python cryptography's `_escape_dn_value` (RFC 4514 §2.4).
fn escape_dn_value(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let mut out = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('+', "\\+")
        .replace(',', "\\,")
        .replace(';', "\\;")
        .replace('<', "\\<")
        .replace('>', "\\>")
        .replace('\0', "\\00");
    if out.starts_with('#') || out.starts_with(' ') {
        out.insert(0, '\\');
    }
    if out.ends_with(' ') {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

/// One name's attributes as `(KEY upper-cased, escaped value)`, in certificate order.
/// Keystone splits each `KEY=value` on `=`: a value holding `=` makes it fail.
fn name_attributes(name: &Name) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            let key = attribute_name(&atv.oid.to_string());
            let raw = attribute_value(&atv.value)?;
            // A BIT STRING's `#hex` form is not escaped (it is not a string value).
            let value = if atv.value.tag().octet() == 0x03 {
                raw
            } else {
                escape_dn_value(&raw)
            };
            if value.contains('=') {
                return Err(format!("the value of {key} holds '='"));
            }
            out.push((key.to_uppercase(), value));
        }
    }
    Ok(out)
}

/// The assertion Keystone builds from a client certificate: `SSL_CLIENT_SUBJECT_DN_<KEY>`
/// and `SSL_CLIENT_ISSUER_DN_<KEY>`; of repeated attributes the last wins.
pub fn certificate_dn(der: &[u8]) -> Result<Vec<(String, String)>, String> {
    let cert = Certificate::from_der(der).map_err(|e| format!("unreadable certificate: {e}"))?;
    let mut dn: Vec<(String, String)> = Vec::new();
    let mut put = |key: String, value: String| {
        dn.retain(|(k, _)| *k != key);
        dn.push((key, value));
    };
    for (key, value) in name_attributes(&cert.tbs_certificate.subject)? {
        put(format!("SSL_CLIENT_SUBJECT_DN_{key}"), value);
    }
    for (key, value) in name_attributes(&cert.tbs_certificate.issuer)? {
        put(format!("SSL_CLIENT_ISSUER_DN_{key}"), value);
    }
    Ok(dn)
}

/// A refusal of the client: always Keystone's generic `invalid_client` (oauth2.md A6), the
/// reason only logged.
fn refuse(why: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client(why)
}

/// Authenticate a `tls_client_auth` client: the user `client_id`, whose certificate's names
/// the mapping turns into user attributes that all match the stored user.
pub fn authenticate(
    conn: &mut AnyConnection,
    config: &Config,
    client_id: &str,
    certificate_der: &[u8],
) -> crate::error::Result<OAuthResult<User>> {
    if !config.oauth2.authn_methods.iter().any(|m| m == METHOD) {
        return Ok(Err(refuse("tls_client_auth is not enabled")));
    }
    let dn = match certificate_dn(certificate_der) {
        Ok(dn) => dn,
        Err(why) => return Ok(Err(refuse(why))),
    };
    let Some(user) = crate::identity::store::get(conn, client_id)? else {
        return Ok(Err(refuse("tls_client_auth: unknown user")));
    };
    let Some(user_domain) = crate::resource::store::get_domain(conn, &user.domain_id)? else {
        return Ok(Err(refuse("tls_client_auth: the user's domain is gone")));
    };
    let mapping_id = &config.oauth2.cert_dn_mapping_id;
    let Some(mapping) = federation::store::get(conn, mapping_id)? else {
        return Ok(Err(refuse(format!(
            "tls_client_auth: mapping {mapping_id} not found"
        ))));
    };
    let mapped = match rules::process(&mapping.rules, &dn) {
        Ok(m) => m,
        Err(why) => return Ok(Err(refuse(format!("tls_client_auth: mapping: {why}")))),
    };
    let email = user.extra.get("email").and_then(|v| v.as_str());
    let checks = [
        (
            "user name",
            mapped.user_attr("name"),
            Some(user.name.as_str()),
        ),
        ("user id", mapped.user_attr("id"), Some(user.id.as_str())),
        ("user email", mapped.user_attr("email"), email),
        (
            "user domain id",
            mapped.user_domain_attr("id"),
            Some(user_domain.id.as_str()),
        ),
        (
            "user domain name",
            mapped.user_domain_attr("name"),
            Some(user_domain.name.as_str()),
        ),
    ];
    for (what, from_certificate, stored) in checks {
        if from_certificate.is_some_and(|c| Some(c) != stored) {
            return Ok(Err(refuse(format!(
                "tls_client_auth: {what} does not match the certificate"
            ))));
        }
    }
    if !user.enabled {
        return Ok(Err(refuse("tls_client_auth: the user is disabled")));
    }
    if !user_domain.enabled {
        return Ok(Err(refuse(
            "tls_client_auth: the user's domain is disabled",
        )));
    }
    Ok(Ok(user))
}

/// Issue an authenticated client's certificate-bound token, scoped to its default
/// project (no default project, or no role there: `invalid_client`).
pub fn issue_bound_token(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    user: User,
    certificate_der: &[u8],
) -> crate::error::Result<OAuthResult<Token>> {
    let Some(project_id) = user.default_project_id.clone() else {
        return Ok(Err(refuse(
            "tls_client_auth: the user has no default project",
        )));
    };
    let scope = match crate::auth::scope::enabled_project_scope(conn, &project_id) {
        Ok(scope) => scope,
        Err(e) => return client_error(e),
    };
    let issued = issue::issue(
        conn,
        tokens,
        config,
        IssueRequest {
            user,
            methods: vec![TOKEN_METHOD.to_string()],
            scope,
            expires_at: None,
            parent_audit_id: None,
            access_token_id: None,
            application_credential: None,
            thumbprint: Some(crate::tls::keystone_thumbprint(certificate_der)),
            trust_id: None,
            federated: None,
        },
    );
    match issued {
        Ok(token) => Ok(Ok(token)),
        Err(e) => client_error(e),
    }
}

/// Keystone's errors while issuing: the store's own trouble stays an `Error` (503/500),
/// what concerns the client becomes its OAuth error (A2's table).
fn client_error<T>(e: Error) -> crate::error::Result<OAuthResult<T>> {
    if e.status.is_server_error() {
        Err(e)
    } else {
        Ok(Err(OAuthError::from(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_python_cryptography() {
        assert_eq!(escape_dn_value("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_dn_value("#x"), "\\#x");
        assert_eq!(escape_dn_value(" lead"), "\\ lead");
        assert_eq!(escape_dn_value("trail "), "trail\\ ");
        assert_eq!(escape_dn_value("q\"<>;\\"), "q\\\"\\<\\>\\;\\\\");
        assert_eq!(escape_dn_value(""), "");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(certificate_dn(b"garbage").is_err());
    }
}
