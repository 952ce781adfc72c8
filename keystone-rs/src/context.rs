//! The request as Keystone sees it: base URL, JSON body rules, the caller's validated
//! token, and the policy check every enforced route goes through.

pub const AUTH_TOKEN_HEADER: &str = "X-Auth-Token";
pub const SUBJECT_TOKEN_HEADER: &str = "X-Subject-Token";

use crate::application_credential::access::{IDENTITY_SERVICE_TYPE, RequestFacts, request_allowed};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::state::State;
use crate::token::model::{ResolvedScope, Token};
use crate::token::{render, validate};
use actix_web::HttpRequest;
use actix_web::http::header::{HOST, HeaderMap};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::Value;
use std::sync::Arc;

/// The base URL Keystone advertises, without a trailing slash: `[DEFAULT] public_endpoint`
/// if set, else `scheme://host[:port]<prefix>` rebuilt from the request the way Keystone's
/// WSGI stack does (werkzeug `ProxyFix`, then oslo `HTTPProxyToWSGI`, then `base_url`):
///
/// * host: the `Host` header as sent (never actix's guesses from forwarding headers);
/// * scheme: the connection's, replaced by the last `X-Forwarded-Proto` value (ProxyFix
///   is always on in Keystone);
/// * only with `[oslo_middleware] enable_proxy_headers_parsing`: the first `Forwarded`
///   entry's `proto`/`host`, or else `X-Forwarded-Proto`/`X-Forwarded-Host`, and
///   `X-Forwarded-Prefix` as the path prefix;
/// * a trailing `/v3` or `/v2.0` is removed, and `:80`/`:443` for http/https.
pub fn base_url(req: &HttpRequest, config: &Config) -> String {
    if let Some(endpoint) = &config.default.public_endpoint {
        return endpoint.trim_end_matches('/').to_string();
    }
    request_base_url(req, config)
}

/// [`base_url`] as rebuilt from the request alone, ignoring `public_endpoint`: the URL the
/// client actually called (OAuth1 signatures are checked against it).
pub fn request_base_url(req: &HttpRequest, config: &Config) -> String {
    let headers = req.headers();
    let mut scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    }
    .to_string();
    let mut host = header_text(headers, HOST.as_str())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_else(|| req.app_config().host().to_string());
    let mut prefix = "";

    if let Some(proto) =
        header_text(headers, "x-forwarded-proto").and_then(|v| v.rsplit(',').next())
    {
        set_scheme(&mut scheme, proto);
    }
    if config.oslo_middleware.enable_proxy_headers_parsing {
        if let Some(forwarded) = header_text(headers, "forwarded") {
            let first_proxy = forwarded.split(',').next().unwrap_or_default();
            for pair in first_proxy.split(';') {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                // RFC 7239 allows quoted values; Keystone would keep the quotes.
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "proto" if !value.is_empty() => set_scheme(&mut scheme, value),
                    "host" if !value.is_empty() => host = value.to_string(),
                    _ => {}
                }
            }
        } else {
            if let Some(proto) = header_text(headers, "x-forwarded-proto") {
                set_scheme(&mut scheme, proto);
            }
            if let Some(forwarded_host) = header_text(headers, "x-forwarded-host") {
                host = forwarded_host.to_string();
            }
        }
        prefix = header_text(headers, "x-forwarded-prefix").unwrap_or_default();
    }

    let host = without_default_port(&scheme, &host);
    // wsgiref's application_uri: SCRIPT_NAME quoted, "/" when empty.
    let path = if prefix.is_empty() {
        "/".to_string()
    } else {
        utf8_percent_encode(prefix, PATH_QUOTE).to_string()
    };
    let path = without_version_suffix(&path);
    format!("{scheme}://{host}{path}")
        .trim_end_matches('/')
        .to_string()
}

/// What Python's `urllib.parse.quote` leaves alone (with `/` safe).
const PATH_QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A forwarded scheme is taken only if it is one (RFC 3986), lower-cased as Python's URL
/// parser would; anything else would produce an unusable URL.
fn set_scheme(scheme: &mut String, proposed: &str) {
    let proposed = proposed.trim();
    let mut chars = proposed.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if valid {
        *scheme = proposed.to_ascii_lowercase();
    }
}

/// Keystone's `remove_standard_port`: split at the first `:`.
fn without_default_port<'a>(scheme: &str, host: &'a str) -> &'a str {
    match (scheme, host.split_once(':')) {
        ("http", Some((name, "80"))) | ("https", Some((name, "443"))) => name,
        _ => host,
    }
}

/// Keystone strips `/v3` or `/v2.0` (and any slashes after it) from the end.
fn without_version_suffix(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed
        .strip_suffix("/v3")
        .or_else(|| trimmed.strip_suffix("/v2.0"))
        .unwrap_or(path)
}

/// Keystone's JSON body rules: an empty body is `{}`; a body needs a JSON content type;
/// the top level must be an object.
pub fn json_body(req: &HttpRequest, body: &[u8]) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !mime.is_empty() && mime != "application/json" && !mime.ends_with("+json") {
        return Err(Error::validation(
            "Expecting to find application/json in Content-Type header.",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Error::invalid_json()),
    }
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
}

/// The caller's token, validated. Missing or invalid: 401.
pub async fn caller(state: &State, req: &HttpRequest) -> Result<Arc<Token>> {
    let token_id = header(req.headers(), AUTH_TOKEN_HEADER)
        .ok_or_else(|| Error::unauthorized_because("no X-Auth-Token"))?
        .to_string();
    let token = validate::validate_async(
        &state.db,
        &state.tokens,
        &state.config,
        &token_id,
        false,
        Some(validate::ACCESS_RULES_MIN_VERSION),
    )
    .await
    .map_err(|e| {
        if e.status.is_server_error()
            || e.status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE
        {
            e
        } else {
            Error::unauthorized_because(format!("caller token rejected ({})", e.status.as_u16()))
        }
    })?;
    // Keystone's auth middleware refuses EC2 credential tokens as callers (the method
    // survives the Fernet bitmask: `ec2credential` is in `[auth] methods`, LP#2153453).
    if token
        .payload
        .methods
        .iter()
        .any(|m| m == crate::credential::EC2_AUTH_METHOD)
    {
        return Err(Error::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "EC2 credential tokens cannot be used for authorization.",
        ));
    }
    check_certificate_binding(req, &token)?;
    // A credential token with access rules only reaches what its rules allow.
    enforce_access_rules(state, req, &token).await?;
    Ok(token)
}

/// A certificate-bound token (OAuth2 `tls_client_auth`) presented over a TLS connection
/// keystone-rs terminated must come with the certificate it is bound to (RFC 8705 §3).
/// Keystone never checks the binding; over plain HTTP (TLS ended by a proxy) keystone-rs
/// cannot either (api-ref/DEVIATIONS.md).
fn check_certificate_binding(req: &HttpRequest, token: &Token) -> Result<()> {
    let (Some(bound_to), Some(tls)) = (&token.payload.thumbprint, crate::tls::connection(req))
    else {
        return Ok(());
    };
    let presented = tls
        .peer_certificate
        .as_deref()
        .map(crate::tls::keystone_thumbprint);
    let matches = presented
        .is_some_and(|p| subtle::ConstantTimeEq::ct_eq(p.as_bytes(), bound_to.as_bytes()).into());
    if matches {
        Ok(())
    } else {
        Err(Error::unauthorized_because(
            "certificate-bound token without its client certificate",
        ))
    }
}

/// Policy credentials of a token (shared/spec/policy.md §5.1).
pub fn credentials(token: &Token) -> crate::policy::Credentials {
    let mut creds = crate::policy::Credentials {
        user_id: Some(token.user.id.clone()),
        user_domain_id: Some(token.user.domain_id.clone()),
        roles: token.role_names(),
        // Keystone's default when no admin project is configured.
        is_admin_project: true,
        token: render::token_value(token),
        ..Default::default()
    };
    match &token.scope {
        ResolvedScope::Project { project, domain } => {
            creds.project_id = Some(project.id.clone());
            creds.project_domain_id = Some(domain.id.clone());
        }
        ResolvedScope::Domain(d) => creds.domain_id = Some(d.id.clone()),
        ResolvedScope::System => creds.system_scope = Some("all".into()),
        ResolvedScope::Unscoped => {}
    }
    creds
}

/// Enforce `action` for the caller against `target`: the one place routes authorise.
pub fn authorize(state: &State, caller: &Token, action: &str, target: &Value) -> Result<()> {
    let creds = caller
        .derived
        .policy_credentials
        .get_or_init(|| Arc::new(credentials(caller).to_map()));
    state.policy.enforce_dict(action, target, creds)
}

/// Keystone's auth middleware (`service_type = identity`) on a credential token with access
/// rules: the request must match one of them, else the middleware's own 401.
async fn enforce_access_rules(state: &State, req: &HttpRequest, token: &Token) -> Result<()> {
    let has_rules = token
        .application_credential
        .as_ref()
        .is_some_and(|ac| !ac.access_rules.is_empty());
    if !has_rules {
        return Ok(());
    }
    let service_token = header(req.headers(), "X-Service-Token").map(str::to_string);
    let st = state.clone();
    let subject = token.clone();
    let (catalog, service_token_valid) = state
        .db
        .read(move |conn| {
            let catalog =
                crate::token::render::catalog_for(conn, &st.tokens, &st.config, &subject)?;
            let valid = service_token.is_some_and(|t| {
                crate::token::validate::validate(conn, &st.tokens, &st.config, &t, false).is_ok()
            });
            Ok((catalog, valid))
        })
        .await?;
    // webob's request.path: decoded, without the query string.
    let path = percent_decode_str(req.path()).decode_utf8_lossy();
    let facts = RequestFacts {
        method: req.method().as_str(),
        path: &path,
        service_token_valid,
    };
    let rules = token
        .application_credential
        .as_ref()
        .map(|ac| ac.access_rules.as_slice())
        .unwrap_or_default();
    if request_allowed(rules, &catalog.value, IDENTITY_SERVICE_TYPE, facts) {
        Ok(())
    } else {
        Err(Error::middleware_unauthorized()
            .with_detail("request outside the credential's access rules"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn url(headers: &[(&str, &str)], config: &Config) -> String {
        let mut req = TestRequest::default();
        for (name, value) in headers {
            req = req.append_header((*name, *value));
        }
        base_url(&req.to_http_request(), config)
    }

    fn proxied() -> Config {
        Config::parse(
            "[oslo_middleware]\nenable_proxy_headers_parsing = true\n",
            None,
        )
        .unwrap()
    }

    #[test]
    fn host_header_and_default_ports() {
        let c = Config::default();
        assert_eq!(
            url(&[("host", "keystone.example.com:5000")], &c),
            "http://keystone.example.com:5000"
        );
        assert_eq!(url(&[("host", "k:80")], &c), "http://k");
        assert_eq!(url(&[("host", "k:443")], &c), "http://k:443");
        assert_eq!(url(&[("host", "[::1]:5000")], &c), "http://[::1]:5000");
    }

    #[test]
    fn public_endpoint_wins() {
        let c = Config::parse(
            "[DEFAULT]\npublic_endpoint = https://id.example.com/prefix/\n",
            None,
        )
        .unwrap();
        assert_eq!(
            url(&[("host", "k:5000")], &c),
            "https://id.example.com/prefix"
        );
    }

    #[test]
    fn x_forwarded_proto_is_always_honoured_but_not_host() {
        let c = Config::default();
        let h = [
            ("host", "k:443"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil"),
        ];
        assert_eq!(url(&h, &c), "https://k");
        // ProxyFix trusts one hop: the last value.
        assert_eq!(
            url(&[("host", "k"), ("x-forwarded-proto", "http, HTTPS")], &c),
            "https://k"
        );
        assert_eq!(
            url(&[("host", "k"), ("x-forwarded-proto", "not a scheme")], &c),
            "http://k"
        );
        assert_eq!(
            url(&[("host", "k"), ("forwarded", "proto=https;host=evil")], &c),
            "http://k"
        );
        assert_eq!(
            url(&[("host", "k"), ("x-forwarded-prefix", "/identity")], &c),
            "http://k"
        );
    }

    #[test]
    fn proxy_headers_when_enabled() {
        let c = proxied();
        let h = [
            ("host", "k:5000"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "id.example.com:443"),
        ];
        assert_eq!(url(&h, &c), "https://id.example.com");
        let h = [
            ("host", "k:5000"),
            (
                "forwarded",
                "for=192.0.2.60;proto=https;host=\"id.example.com\", for=10.0.0.1;proto=http",
            ),
            ("x-forwarded-host", "ignored"),
        ];
        assert_eq!(url(&h, &c), "https://id.example.com");
        let h = [("host", "k"), ("x-forwarded-prefix", "/identity")];
        assert_eq!(url(&h, &c), "http://k/identity");
        let h = [("host", "k"), ("x-forwarded-prefix", "/identity/v3/")];
        assert_eq!(url(&h, &c), "http://k/identity");
        let h = [("host", "k"), ("x-forwarded-prefix", "/id entity/v2.0")];
        assert_eq!(url(&h, &c), "http://k/id%20entity");
    }
}
