//! The HTTP wing: one file of routes per subsystem. A route checks its input the way
//! Keystone's schemas do, authorises through `context`, runs the subsystem's operation in
//! the request's one transaction (`state.db.read/write`) and renders Keystone's body.
//! Nothing below this folder imports it.

pub mod application_credential;
pub mod assignment;
pub mod auth;
pub mod catalog;
pub mod credential;
pub mod discovery;
pub mod domain_config;
pub mod endpoint_filter;
pub mod endpoint_policy;
pub mod federation;
pub mod federation_auth;
pub mod federation_k2k;
pub mod federation_websso;
pub mod health;
pub mod identity;
pub mod limit;
pub mod oauth1;
pub mod oauth2;
pub mod observability;
pub mod resource;
pub mod revoke;
pub mod streamed;
pub mod trust;

/// Authenticate the caller and enforce `action` with the path variables (and the request
/// body, when the rule may look at it) as the target.
pub async fn authorize_path(
    state: &crate::state::State,
    req: &actix_web::HttpRequest,
    action: &str,
    path_vars: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> crate::error::Result<()> {
    let caller = crate::context::caller(state, req).await?;
    let mut target = crate::policy::TargetBuilder::new();
    for (name, value) in path_vars {
        target = target.path_var(name, *value);
    }
    if let Some(body) = body {
        target = target.request_body(body);
    }
    crate::context::authorize(state, &caller, action, &target.build())
}

/// Where a list request came from, for `wrap_collection`'s links: Keystone's base URL, the
/// path as WSGI's `PATH_INFO` (percent-decoded) and the raw query string.
pub fn list_url(
    req: &actix_web::HttpRequest,
    config: &crate::config::Config,
) -> crate::db::collection::ListUrl {
    crate::db::collection::ListUrl {
        base: crate::context::base_url(req, config),
        path: percent_encoding::percent_decode_str(req.path())
            .decode_utf8_lossy()
            .into_owned(),
        query_string: req.query_string().to_string(),
    }
}

/// A JSON body as Keystone's routes answer it (Python `json.dumps` text).
pub fn json_response(
    status: actix_web::http::StatusCode,
    body: &serde_json::Value,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .content_type("application/json")
        .body(crate::json::resource_body(body))
}

/// Keystone's `_require_matching_id`: a non-null `id` in an update body must be the path's.
pub fn require_matching_id(
    update: &serde_json::Map<String, serde_json::Value>,
    id: &str,
) -> crate::error::Result<()> {
    match update.get("id") {
        Some(v) if !v.is_null() && v.as_str() != Some(id) => {
            Err(crate::error::Error::bad_request("Cannot change ID"))
        }
        _ => Ok(()),
    }
}
