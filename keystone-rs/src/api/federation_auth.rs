//! Federated login behind a trusted front end: `GET|POST
//! /v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`, and the
//! assertion the `mapped` method of `POST /v3/auth/tokens` reads.
//!
//! Keystone reads the assertion from the WSGI environ, which only its Apache (mod_shib,
//! mod_auth_mellon, mod_auth_openidc) can fill. keystone-rs is reached over HTTP, so the
//! front end forwards the attributes as request headers, and those headers are believed
//! only from the peers listed in `[federation] trusted_proxies`: from anyone else the
//! assertion is empty, whatever they send.

use crate::config::Config;
use crate::federation::oidc;
use crate::federation::rules::Assertion;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth")
            .route(web::get().to(federated_auth))
            .route(web::post().to(federated_auth)),
    );
}

/// Headers that carry the caller's own credentials never become assertion attributes
/// (they would reach mapping rules and debug logs).
const NEVER_ASSERTED: &[&str] = &[
    "authorization",
    "cookie",
    "x-auth-token",
    "x-subject-token",
    "openstack-auth-receipt",
    "proxy-authorization",
];

/// The assertion a trusted front end forwarded: the request headers whose names start with
/// `[federation] assertion_prefix`, in arrival order, several occurrences of one name joined
/// with `;` (Keystone's multi-value separator). Values are UTF-8 when they decode as such,
/// else Latin-1 (Keystone's reading of the environ). Empty unless the peer is a trusted
/// proxy.
///
/// A prefix starting with `HTTP_` is a WSGI environ name, as Python Keystone behind a WSGI
/// server that passes the headers on sees them: each header is then named as in the
/// environ (`X-Fed-User` → `HTTP_X_FED_USER`), prefix and names compared exactly, so one
/// keystone.conf and one mapping serve a mixed fleet. Header names with anything but
/// letters, digits and `-` are left out there, as mod_wsgi drops them (`_` would alias a
/// dashed name).
pub fn assertion(req: &HttpRequest, config: &Config) -> Assertion {
    let trusted = req.peer_addr().is_some_and(|peer| {
        config
            .federation
            .trusted_proxies
            .iter()
            .any(|n| n.contains(peer.ip()))
    });
    let prefix = &config.federation.assertion_prefix;
    let environ = prefix.starts_with(ENVIRON_HEADER_PREFIX);
    let mut attributes: Vec<(String, String)> = Vec::new();
    if trusted {
        let lower_prefix = prefix.to_ascii_lowercase();
        for (name, value) in req.headers() {
            let name = name.as_str();
            if NEVER_ASSERTED.contains(&name) {
                continue;
            }
            let name = if environ {
                match oidc::attributes::wsgi_header_name(name) {
                    Some(n) => n,
                    None => continue,
                }
            } else {
                name.to_string()
            };
            let wanted = if environ {
                name.starts_with(prefix.as_str())
            } else {
                name.starts_with(&lower_prefix)
            };
            if !wanted {
                continue;
            }
            let bytes = value.as_bytes();
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t.to_string(),
                Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
            };
            match attributes.iter_mut().find(|(k, _)| *k == name) {
                Some((_, v)) => {
                    v.push(';');
                    v.push_str(&text);
                }
                None => attributes.push((name, text)),
            }
        }
    }
    Assertion {
        attributes,
        case_insensitive_names: !environ,
    }
}

/// What a WSGI server puts before a request header's name in the environ (PEP 3333).
const ENVIRON_HEADER_PREFIX: &str = "HTTP_";

/// The assertion of a federated login: for a protocol keystone-rs serves natively
/// (`[openid_connect:<idp>:<protocol>]`), the claims of the `Authorization: Bearer` token
/// it validated itself at the issuer; otherwise the trusted front end's headers
/// ([`assertion`]). `None` when the request is no federated login.
pub async fn login_assertion(
    state: &State,
    req: &HttpRequest,
    methods: &[String],
    identity: &serde_json::Map<String, serde_json::Value>,
) -> crate::error::Result<Assertion> {
    let native = methods
        .iter()
        .filter(|m| crate::federation::login::MAPPED_METHODS.contains(&m.as_str()))
        .find_map(|m| {
            let d = identity.get(m)?;
            let idp = d.get("identity_provider")?.as_str()?;
            let protocol = d.get("protocol")?.as_str()?;
            state.oidc.get(idp, protocol)
        });
    let Some(issuer) = native else {
        return Ok(assertion(req, &state.config));
    };
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(oidc::bearer_token)
        .map(str::to_string)
        .ok_or_else(|| {
            crate::error::Error::unauthorized_because(
                "an OpenID Connect protocol without a bearer token",
            )
        })?;
    let pairs = web::block(move || oidc::assertion_from_bearer(&issuer, &bearer))
        .await
        .map_err(|e| crate::error::Error::internal(e.to_string()))??;
    // mod_auth_openidc's environ names, compared exactly as Keystone compares them.
    Ok(Assertion::exact(pairs))
}

/// Keystone's `OSFederationAuthResource`: the protocol id is the auth method, and the
/// answer is the unscoped federated token (201), as `POST /v3/auth/tokens` gives it.
/// Unenforced, as in Keystone: the assertion is the credential.
async fn federated_auth(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> crate::error::Result<HttpResponse> {
    let (idp_id, protocol_id) = path.into_inner();
    let mut identity = serde_json::Map::new();
    identity.insert("methods".into(), json!([protocol_id]));
    identity.insert(
        protocol_id.clone(),
        json!({"identity_provider": idp_id, "protocol": protocol_id}),
    );
    let body = json!({"auth": {"identity": identity}});
    crate::api::auth::issue_for(state, req, body).await
}
