//! The request as Keystone sees it: base URL, JSON body rules, the caller's validated
//! token, and the policy check every enforced route goes through.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::server::State;
use crate::token::provider::{self, ResolvedScope, Token};
use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use serde_json::Value;

pub const AUTH_TOKEN_HEADER: &str = "X-Auth-Token";
pub const SUBJECT_TOKEN_HEADER: &str = "X-Subject-Token";

/// The base URL Keystone advertises: `[DEFAULT] public_endpoint` if set, else
/// `scheme://host[:port]` from the request (default ports dropped). No trailing slash.
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
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !mime.is_empty() && mime != "application/json" && !mime.ends_with("+json") {
        return Err(Error::validation("Expecting to find application/json in Content-Type header."));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Error::invalid_json()),
    }
}

pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).filter(|s| !s.is_empty())
}

/// The caller's token, validated. Missing or invalid: 401.
pub async fn caller(state: &State, req: &HttpRequest) -> Result<Token> {
    let token_id = header(req.headers(), AUTH_TOKEN_HEADER)
        .ok_or_else(|| Error::unauthorized_because("no X-Auth-Token"))?
        .to_string();
    let st = state.clone();
    state
        .db
        .read(move |conn| provider::validate(conn, &st.keys, &st.config, &token_id, false))
        .await
        .map_err(|e| {
            if e.status.is_server_error() || e.status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
                e
            } else {
                Error::unauthorized_because(format!("caller token rejected: {}", e.message))
            }
        })
}

/// Policy credentials of a token (shared/spec/policy.md §5.1).
pub fn credentials(token: &Token) -> crate::policy::Credentials {
    let mut creds = crate::policy::Credentials {
        user_id: Some(token.user.id.clone()),
        user_domain_id: Some(token.user.domain_id.clone()),
        roles: token.role_names(),
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
    state.policy.enforce(action, target, &credentials(caller))
}
