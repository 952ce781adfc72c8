//! Routes: `/v3/registered_limits`, `/v3/limits`, `/v3/limits/model` and their members
//! (Keystone's keystone/api/registered_limits.py and limits.py).
//!
//! Keystone's order: the body or query-string schema first (a 400 before authentication),
//! then the caller's token (401), then policy (403) with Keystone's target, then the
//! operation in one transaction.

use crate::api::{json_response, require_matching_id};
use crate::context::{self, base_url, json_body};
use crate::db::collection;
use crate::db::listing::{Comparator, Filter, Hints, declared_filters, list_limit, query_pairs};
use crate::error::Result;
use crate::limit::{self, Limit, Model, RegisteredLimit, schema};
use crate::policy::TargetBuilder;
use crate::resource::model::add_self_link;
use crate::state::State;
use crate::token::model::ResolvedScope;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/registered_limits")
            .route(web::get().to(list_registered_limits))
            .route(web::head().to(list_registered_limits))
            .route(web::post().to(create_registered_limits)),
    )
    .service(
        web::resource("/v3/registered_limits/{registered_limit_id}")
            .route(web::get().to(get_registered_limit))
            .route(web::head().to(get_registered_limit))
            .route(web::patch().to(update_registered_limit))
            .route(web::delete().to(delete_registered_limit)),
    )
    .service(
        web::resource("/v3/limits")
            .route(web::get().to(list_limits))
            .route(web::head().to(list_limits))
            .route(web::post().to(create_limits)),
    )
    // Before `/v3/limits/{limit_id}`, which would take `model` for an id.
    .service(
        web::resource("/v3/limits/model")
            .route(web::get().to(get_limit_model))
            .route(web::head().to(get_limit_model)),
    )
    .service(
        web::resource("/v3/limits/{limit_id}")
            .route(web::get().to(get_limit))
            .route(web::head().to(get_limit))
            .route(web::patch().to(update_limit))
            .route(web::delete().to(delete_limit)),
    );
}

const REGISTERED_LIMIT_FILTERS: &[&str] = &["service_id", "region_id", "resource_name"];
const LIMIT_FILTERS: &[&str] = &[
    "service_id",
    "region_id",
    "resource_name",
    "project_id",
    "domain_id",
];

fn model(state: &State) -> Model {
    Model::from_name(&state.config.unified_limit.enforcement_model)
}

fn with_link(mut m: Map<String, Value>, base: &str, collection: &str) -> Value {
    let id = m.get("id").and_then(Value::as_str).unwrap_or_default();
    let url = format!("{base}/v3/{collection}/{id}");
    add_self_link(&mut m, url);
    Value::Object(m)
}

fn member(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), value);
    Value::Object(m)
}

/// The page size when the request sets none: `[unified_limit] list_limit`, else
/// `[DEFAULT] list_limit`.
fn hints(state: &State, pairs: &[(String, String)], declared: &[&str]) -> Result<Hints> {
    let mut hints = Hints::from_query(pairs, declared, None, &state.config)?;
    hints.set_default_limit(list_limit(&state.config, "unified_limit"));
    Ok(hints)
}

/// A page of members rendered as Keystone's `wrap_collection`; filters run in memory
/// (both tables are small), with Keystone's exact-match semantics.
fn collection_response(
    req: &HttpRequest,
    state: &State,
    key: &str,
    refs: Vec<Map<String, Value>>,
    hints: &Hints,
) -> HttpResponse {
    let url = crate::api::list_url(req, &state.config);
    let refs = refs.into_iter().map(Value::Object).collect();
    let (members, limited) = collection::page(refs, Some(hints));
    let members: Vec<Value> = members
        .into_iter()
        .map(|m| match m {
            Value::Object(m) => with_link(m, &url.base, key),
            other => other,
        })
        .collect();
    json_response(
        StatusCode::OK,
        &collection::body(key, members, limited, Some(hints), &url),
    )
}

/// A batch create's answer: the collection without its `links`.
fn created_response(req: &HttpRequest, state: &State, key: &str, refs: Vec<Value>) -> HttpResponse {
    let _ = (req, state);
    json_response(StatusCode::CREATED, &member(key, Value::Array(refs)))
}

/// `{"<key>": [...]}` of a checked body, each item an object.
fn items(body: &Value, key: &str) -> Vec<Map<String, Value>> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
        .unwrap_or_default()
}

async fn authorize(
    state: &State,
    req: &HttpRequest,
    action: &str,
    target: TargetBuilder,
) -> Result<std::sync::Arc<crate::token::model::Token>> {
    let caller = context::caller(state, req).await?;
    context::authorize(state, &caller, action, &target.build())?;
    Ok(caller)
}

// ---- registered limits ---------------------------------------------------------------------

async fn list_registered_limits(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    schema::registered_limits_query(&pairs)?;
    let target = TargetBuilder::new().filters(declared_filters(&pairs, REGISTERED_LIMIT_FILTERS));
    authorize(&state, &req, "identity:list_registered_limits", target).await?;
    let hints = hints(&state, &pairs, REGISTERED_LIMIT_FILTERS)?;
    let all = state.db.read(limit::list_registered_limits).await?;
    let refs = all.iter().map(RegisteredLimit::to_dict).collect();
    Ok(collection_response(
        &req,
        &state,
        "registered_limits",
        refs,
        &hints,
    ))
}

async fn create_registered_limits(
    state: State,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let body = json_body(&req, &bytes)?;
    schema::registered_limits_create(&body)?;
    let target = TargetBuilder::new().request_body(&body);
    authorize(&state, &req, "identity:create_registered_limits", target).await?;
    let list = items(&body, "registered_limits");
    let created = state
        .db
        .write(move |conn| limit::create_registered_limits(conn, list))
        .await?;
    let base = base_url(&req, &state.config);
    let refs = created
        .iter()
        .map(|r| with_link(r.to_dict(), &base, "registered_limits"))
        .collect();
    Ok(created_response(&req, &state, "registered_limits", refs))
}

async fn get_registered_limit(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let target = TargetBuilder::new().path_var("registered_limit_id", id.as_str());
    authorize(&state, &req, "identity:get_registered_limit", target).await?;
    let r = state
        .db
        .read(move |conn| limit::get_registered_limit(conn, &id))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member(
            "registered_limit",
            with_link(r.to_dict(), &base, "registered_limits"),
        ),
    ))
}

async fn update_registered_limit(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = json_body(&req, &bytes)?;
    schema::registered_limit_update(&body)?;
    let target = TargetBuilder::new()
        .path_var("registered_limit_id", id.as_str())
        .request_body(&body);
    authorize(&state, &req, "identity:update_registered_limit", target).await?;
    let changes = body
        .get("registered_limit")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    require_matching_id(&changes, &id)?;
    let r = state
        .db
        .write(move |conn| limit::update_registered_limit(conn, &id, changes))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member(
            "registered_limit",
            with_link(r.to_dict(), &base, "registered_limits"),
        ),
    ))
}

async fn delete_registered_limit(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let target = TargetBuilder::new().path_var("registered_limit_id", id.as_str());
    authorize(&state, &req, "identity:delete_registered_limit", target).await?;
    state
        .db
        .write(move |conn| limit::delete_registered_limit(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- limits --------------------------------------------------------------------------------

async fn list_limits(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    schema::limits_query(&pairs)?;
    let target = TargetBuilder::new().filters(declared_filters(&pairs, LIMIT_FILTERS));
    let caller = authorize(&state, &req, "identity:list_limits", target).await?;
    let mut hints = hints(&state, &pairs, LIMIT_FILTERS)?;
    let roles = caller.role_names();
    let superuser = matches!(caller.scope, ResolvedScope::System)
        || roles.iter().any(|r| r == "admin" || r == "service");
    // What a caller that is not a superuser sees: its domain's limits and those of the
    // projects in it, or its project's limits, or (unscoped) nothing.
    let scope = if superuser {
        None
    } else {
        match &caller.scope {
            ResolvedScope::Domain(d) => Some(Ok(d.id.clone())),
            ResolvedScope::Project { project, .. } => Some(Err(project.id.clone())),
            _ => Some(Err(String::new())),
        }
    };
    if let Some(Err(project_id)) = &scope {
        hints.filters.push(Filter {
            name: "project_id".into(),
            value: project_id.clone(),
            comparator: Comparator::Equals,
            case_sensitive: false,
        });
    }
    let refs = state
        .db
        .read(move |conn| {
            let mut all = limit::list_limits(conn)?;
            if let Some(Ok(domain_id)) = &scope {
                let projects = crate::resource::store::project_ids_in_domain(conn, domain_id)?;
                all.retain(|l| match (&l.project_id, &l.domain_id) {
                    (Some(p), _) => projects.contains(p),
                    (None, Some(d)) => d == domain_id,
                    _ => false,
                });
            }
            Ok(all.iter().map(Limit::to_dict).collect::<Vec<_>>())
        })
        .await?;
    Ok(collection_response(&req, &state, "limits", refs, &hints))
}

async fn create_limits(state: State, req: HttpRequest, bytes: web::Bytes) -> Result<HttpResponse> {
    let body = json_body(&req, &bytes)?;
    schema::limits_create(&body)?;
    let target = TargetBuilder::new().request_body(&body);
    authorize(&state, &req, "identity:create_limits", target).await?;
    let list = items(&body, "limits");
    let model = model(&state);
    let created = state
        .db
        .write(move |conn| limit::create_limits(conn, model, list))
        .await?;
    let base = base_url(&req, &state.config);
    let refs = created
        .iter()
        .map(|l| with_link(l.to_dict(), &base, "limits"))
        .collect();
    Ok(created_response(&req, &state, "limits", refs))
}

/// Keystone's `_build_limit_enforcement_target`: the limit with its project (or domain)
/// under `target.limit`, or nothing when there is no such limit.
async fn limit_target(state: &State, id: &str) -> Result<Option<Value>> {
    let id = id.to_string();
    state
        .db
        .read(move |conn| {
            let Some(l) = limit::store::get_limit(conn, &id)? else {
                return Ok(None);
            };
            let mut dict = l.to_dict();
            if let Some(project_id) = &l.project_id {
                if let Some(p) = crate::resource::store::get_any(conn, project_id)? {
                    dict.insert("project".into(), Value::Object(p.project_ref()));
                }
            } else if let Some(domain_id) = &l.domain_id
                && let Some(d) = crate::resource::store::get_domain(conn, domain_id)?
            {
                dict.insert("domain".into(), Value::Object(d.project_ref()));
            }
            Ok(Some(Value::Object(dict)))
        })
        .await
}

async fn get_limit(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let found = limit_target(&state, &id).await?;
    let target = match found {
        Some(l) => member("limit", l),
        None => Value::Object(Map::new()),
    };
    let builder = TargetBuilder::new()
        .path_var("limit_id", id.as_str())
        .target(target);
    authorize(&state, &req, "identity:get_limit", builder).await?;
    let l = state
        .db
        .read(move |conn| limit::get_limit(conn, &id))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("limit", with_link(l.to_dict(), &base, "limits")),
    ))
}

/// The member target Keystone's enforcer loads itself (`get_member_from_driver`): a limit
/// that does not exist is a 404 before policy.
async fn member_target(state: &State, id: &str) -> Result<Value> {
    let id_owned = id.to_string();
    let l = state
        .db
        .read(move |conn| limit::get_limit(conn, &id_owned))
        .await?;
    Ok(member("limit", Value::Object(l.to_dict())))
}

async fn update_limit(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = json_body(&req, &bytes)?;
    schema::limit_update(&body)?;
    let caller = context::caller(&state, &req).await?;
    let target = TargetBuilder::new()
        .path_var("limit_id", id.as_str())
        .target(member_target(&state, &id).await?)
        .request_body(&body);
    context::authorize(&state, &caller, "identity:update_limit", &target.build())?;
    let changes = body
        .get("limit")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    require_matching_id(&changes, &id)?;
    let model = model(&state);
    let l = state
        .db
        .write(move |conn| limit::update_limit(conn, model, &id, changes))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("limit", with_link(l.to_dict(), &base, "limits")),
    ))
}

async fn delete_limit(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = TargetBuilder::new()
        .path_var("limit_id", id.as_str())
        .target(member_target(&state, &id).await?);
    context::authorize(&state, &caller, "identity:delete_limit", &target.build())?;
    state
        .db
        .write(move |conn| limit::delete_limit(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn get_limit_model(state: State, req: HttpRequest) -> Result<HttpResponse> {
    authorize(
        &state,
        &req,
        "identity:get_limit_model",
        TargetBuilder::new(),
    )
    .await?;
    let model = model(&state);
    let mut m = Map::new();
    m.insert("name".into(), Value::from(model.name()));
    m.insert("description".into(), Value::from(model.description()));
    Ok(json_response(
        StatusCode::OK,
        &member("model", Value::Object(m)),
    ))
}
