//! Routes: `/v3/users…` and `/v3/groups…` (handlers in `http/users.rs` and
//! `http/groups.rs`). Every route validates its input the way Keystone's schemas do,
//! enforces its one policy action with Keystone's target, then calls the operations.

mod backends;
mod groups;
mod users;

use crate::api::{json_response, require_matching_id};
use crate::db::collection::wrap_collection;
use crate::db::listing::Hints;
use crate::state::State;
use crate::token::model::{ResolvedScope, Token};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/users")
            .route(web::get().to(users::list))
            .route(web::head().to(users::list))
            .route(web::post().to(users::create)),
    )
    .service(
        web::resource("/v3/users/{user_id}")
            .route(web::get().to(users::get))
            .route(web::head().to(users::get))
            .route(web::patch().to(users::update))
            .route(web::delete().to(users::delete)),
    )
    .service(
        web::resource("/v3/users/{user_id}/password").route(web::post().to(users::change_password)),
    )
    .service(
        web::resource("/v3/users/{user_id}/groups")
            .route(web::get().to(users::groups))
            .route(web::head().to(users::groups)),
    )
    .service(
        web::resource("/v3/users/{user_id}/projects")
            .route(web::get().to(users::projects))
            .route(web::head().to(users::projects)),
    )
    .service(
        web::resource("/v3/users/{user_id}/tokens").route(web::delete().to(users::revoke_tokens)),
    )
    .service(
        web::resource("/v3/groups")
            .route(web::get().to(groups::list))
            .route(web::head().to(groups::list))
            .route(web::post().to(groups::create)),
    )
    .service(
        web::resource("/v3/groups/{group_id}")
            .route(web::get().to(groups::get))
            .route(web::head().to(groups::get))
            .route(web::patch().to(groups::update))
            .route(web::delete().to(groups::delete)),
    )
    .service(
        web::resource("/v3/groups/{group_id}/users")
            .route(web::get().to(groups::members))
            .route(web::head().to(groups::members)),
    )
    .service(
        web::resource("/v3/groups/{group_id}/users/{user_id}")
            .route(web::get().to(groups::check_member))
            .route(web::head().to(groups::check_member))
            .route(web::put().to(groups::add_member))
            .route(web::delete().to(groups::remove_member)),
    );
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// The domain of a domain-scoped caller (Keystone's `oslo_context.domain_id`).
fn caller_domain(caller: &Token) -> Option<String> {
    match &caller.scope {
        ResolvedScope::Domain(d) => Some(d.id.clone()),
        _ => None,
    }
}

/// The request object under `key` (`{"user": {...}}`) as a map; the schema made sure it is one.
fn member(body: &Value, key: &str) -> Map<String, Value> {
    body.get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Keystone's `_normalize_dict`: `:` and `-` in top-level keys become `_`.
fn normalize_keys(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| (k.replace([':', '-'], "_"), v.clone()))
        .collect()
}

/// Keystone's `_normalize_domain_id`: no (or an empty) `domain_id` means the caller's
/// domain for domain-scoped tokens, else the default domain.
fn fill_domain_id(m: &mut Map<String, Value>, caller: &Token, state: &State) {
    let given = m.get("domain_id").is_some_and(crate::python::is_truthy);
    if !given {
        let domain = caller_domain(caller)
            .unwrap_or_else(|| state.config.identity.default_domain_id.clone());
        m.insert("domain_id".into(), Value::from(domain));
    }
}

/// Wrap a list body for this request (`wrap_collection`).
fn collection(
    state: &State,
    req: &HttpRequest,
    key: &str,
    refs: Vec<Value>,
    hints: Option<&Hints>,
) -> HttpResponse {
    let url = crate::api::list_url(req, &state.config);
    json_response(StatusCode::OK, &wrap_collection(key, refs, hints, &url))
}
