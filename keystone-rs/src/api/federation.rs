//! Routes: `/v3/OS-FEDERATION/mappings`, `identity_providers` (with their `protocols`) and
//! `service_providers`, and their members. For mappings Keystone enforces policy before it
//! reads the body, so a caller without the right gets a 403 even for a malformed mapping;
//! the other resources check the body (and a list's query) against Keystone's schema first,
//! as Keystone's validation decorators run before the policy check.

use crate::api::json_response;
use crate::cascade;
use crate::context::{self, base_url, json_body};
use crate::db::collection::wrap_collection;
use crate::db::listing::{Hints, declared_filters, query_pairs};
use crate::error::{Error, Result};
use crate::federation::provider_schema;
use crate::federation::provider_store;
use crate::federation::providers::{self, IdentityProvider, Protocol, ServiceProvider};
use crate::federation::store;
use crate::policy::TargetBuilder;
use crate::python::jsonschema;
use crate::resource::Settings;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

// One line per resource path: tests/api/{api_ref,policy_coverage}.rs read the routes from
// `web::resource("…"` in this file.
#[rustfmt::skip]
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/OS-FEDERATION/mappings")
            .route(web::get().to(list_mappings))
            .route(web::head().to(list_mappings)),
    )
    .service(
        web::resource("/v3/OS-FEDERATION/mappings/{mapping_id}")
            .route(web::get().to(get_mapping))
            .route(web::head().to(get_mapping))
            .route(web::put().to(create_mapping))
            .route(web::patch().to(update_mapping))
            .route(web::delete().to(delete_mapping)),
    )
    .service(
        web::resource("/v3/OS-FEDERATION/identity_providers")
            .route(web::get().to(list_idps))
            .route(web::head().to(list_idps)),
    )
    .service(
        web::resource("/v3/OS-FEDERATION/identity_providers/{idp_id}")
            .route(web::get().to(get_idp))
            .route(web::head().to(get_idp))
            .route(web::put().to(create_idp))
            .route(web::patch().to(update_idp))
            .route(web::delete().to(delete_idp)),
    )
    .service(
        web::resource("/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols")
            .route(web::get().to(list_protocols))
            .route(web::head().to(list_protocols)),
    )
    .service(
        web::resource("/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}")
            .route(web::get().to(get_protocol))
            .route(web::head().to(get_protocol))
            .route(web::put().to(create_protocol))
            .route(web::patch().to(update_protocol))
            .route(web::delete().to(delete_protocol)),
    )
    .service(
        web::resource("/v3/OS-FEDERATION/service_providers")
            .route(web::get().to(list_sps))
            .route(web::head().to(list_sps)),
    )
    .service(
        web::resource("/v3/OS-FEDERATION/service_providers/{service_provider_id}")
            .route(web::get().to(get_sp))
            .route(web::head().to(get_sp))
            .route(web::put().to(create_sp))
            .route(web::patch().to(update_sp))
            .route(web::delete().to(delete_sp)),
    );
}

async fn authorize(state: &State, req: &HttpRequest, action: &str, id: Option<&str>) -> Result<()> {
    let caller = context::caller(state, req).await?;
    let mut target = TargetBuilder::new();
    if let Some(id) = id {
        target = target.path_var("mapping_id", id);
    }
    context::authorize(state, &caller, action, &target.build())
}

fn not_found(id: &str) -> Error {
    Error::could_not_find("mapping", id)
}

async fn list_mappings(state: State, req: HttpRequest) -> Result<HttpResponse> {
    authorize(&state, &req, "identity:list_mappings", None).await?;
    let mappings = state.db.read(store::list).await?;
    let url = crate::api::list_url(&req, &state.config);
    let members: Vec<Value> = mappings.iter().map(|m| m.to_json(&url.base)).collect();
    Ok(json_response(
        StatusCode::OK,
        &wrap_collection("mappings", members, None, &url),
    ))
}

async fn get_mapping(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(&state, &req, "identity:get_mapping", Some(&id)).await?;
    let lookup = id.clone();
    let mapping = state
        .db
        .read(move |conn| store::get(conn, &lookup))
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(mapping_response(&state, &req, StatusCode::OK, &mapping))
}

async fn create_mapping(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(&state, &req, "identity:create_mapping", Some(&id)).await?;
    let mapping = crate::federation::from_request(&id, &json_body(&req, &bytes)?)?;
    let stored = mapping.clone();
    state
        .db
        .write(move |conn| store::create(conn, &stored))
        .await?;
    Ok(mapping_response(
        &state,
        &req,
        StatusCode::CREATED,
        &mapping,
    ))
}

async fn update_mapping(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(&state, &req, "identity:update_mapping", Some(&id)).await?;
    let mapping = crate::federation::from_request(&id, &json_body(&req, &bytes)?)?;
    let stored = mapping.clone();
    state
        .db
        .write(move |conn| {
            // Checked apart from the update: MySQL counts only rows that changed.
            if store::get(conn, &stored.id)?.is_none() {
                return Err(not_found(&stored.id));
            }
            store::update(conn, &stored).map(|_| ())
        })
        .await?;
    Ok(mapping_response(&state, &req, StatusCode::OK, &mapping))
}

async fn delete_mapping(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(&state, &req, "identity:delete_mapping", Some(&id)).await?;
    let target = id.clone();
    let deleted = state
        .db
        .write(move |conn| store::delete(conn, &target))
        .await?;
    if !deleted {
        return Err(not_found(&id));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `{"mapping": …}` with its links, as every single-mapping route answers.
fn mapping_response(
    state: &State,
    req: &HttpRequest,
    status: StatusCode,
    mapping: &crate::federation::Mapping,
) -> HttpResponse {
    let base = base_url(req, &state.config);
    json_response(status, &json!({"mapping": mapping.to_json(&base)}))
}

// ---- identity providers, protocols, service providers -----------------------------------

const LIST_FILTERS: &[&str] = &["id", "enabled"];

/// The caller may do `action` on the target named by the path variables.
async fn authorize_on(
    state: &State,
    req: &HttpRequest,
    action: &str,
    vars: &[(&str, &str)],
    filters: Vec<(String, String)>,
) -> Result<()> {
    let caller = context::caller(state, req).await?;
    let mut target = TargetBuilder::new();
    for (name, value) in vars {
        target = target.path_var(name, *value);
    }
    if !filters.is_empty() {
        target = target.filters(filters);
    }
    context::authorize(state, &caller, action, &target.build())
}

/// A body checked against Keystone's schema, then the strict one; its inner object.
fn checked_body(
    req: &HttpRequest,
    bytes: &[u8],
    schema: &Value,
    strict: &Value,
    key: &str,
) -> Result<Map<String, Value>> {
    let body = json_body(req, bytes)?;
    jsonschema::validate(schema, &body)?;
    jsonschema::validate(strict, &body)?;
    Ok(providers::inner(&body, key))
}

/// A list of identity or service providers: the query checked, the policy with the
/// declared filters, then Keystone's filters and page.
async fn authorize_and_list(
    state: &State,
    req: &HttpRequest,
    action: &str,
    key: &str,
    members: impl FnOnce(&mut crate::db::AnyConnection, &str) -> Result<Vec<Value>> + Send + 'static,
) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&provider_schema::LIST_QUERY, &pairs)?;
    authorize_on(
        state,
        req,
        action,
        &[],
        declared_filters(&pairs, LIST_FILTERS),
    )
    .await?;
    let hints = Hints::from_query(&pairs, LIST_FILTERS, None, &state.config)?;
    let base = base_url(req, &state.config);
    let refs = state.db.read(move |conn| members(conn, &base)).await?;
    let url = crate::api::list_url(req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &wrap_collection(key, refs, Some(&hints), &url),
    ))
}

fn idp_response(
    req: &HttpRequest,
    state: &State,
    status: StatusCode,
    idp: &IdentityProvider,
) -> HttpResponse {
    let base = base_url(req, &state.config);
    json_response(
        status,
        &json!({"identity_provider": idp.to_json(&base, false)}),
    )
}

async fn list_idps(state: State, req: HttpRequest) -> Result<HttpResponse> {
    authorize_and_list(
        &state,
        &req,
        "identity:list_identity_providers",
        "identity_providers",
        |conn, base| {
            Ok(provider_store::list_idps(conn)?
                .iter()
                .map(|i| i.to_json(base, true))
                .collect())
        },
    )
    .await
}

async fn get_idp(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_on(
        &state,
        &req,
        "identity:get_identity_provider",
        &[("idp_id", &id)],
        vec![],
    )
    .await?;
    let lookup = id.clone();
    let idp = state
        .db
        .read(move |conn| provider_store::get_idp(conn, &lookup))
        .await?
        .ok_or_else(|| providers::idp_not_found(&id))?;
    Ok(idp_response(&req, &state, StatusCode::OK, &idp))
}

async fn create_idp(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(
        &req,
        &bytes,
        &provider_schema::IDP_CREATE,
        &provider_schema::IDP_STRICT,
        "identity_provider",
    )?;
    authorize_on(
        &state,
        &req,
        "identity:create_identity_provider",
        &[("idp_id", &id)],
        vec![],
    )
    .await?;
    let settings = Settings::from_config(&state.config);
    let created = id.clone();
    let idp = state
        .db
        .write(move |conn| providers::create_idp(conn, &settings, &created, &body))
        .await?;
    Ok(idp_response(&req, &state, StatusCode::CREATED, &idp))
}

async fn update_idp(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(
        &req,
        &bytes,
        &provider_schema::IDP_UPDATE,
        &provider_schema::IDP_STRICT,
        "identity_provider",
    )?;
    authorize_on(
        &state,
        &req,
        "identity:update_identity_provider",
        &[("idp_id", &id)],
        vec![],
    )
    .await?;
    let idp = state
        .db
        .write(move |conn| providers::update_idp(conn, &id, &body))
        .await?;
    Ok(idp_response(&req, &state, StatusCode::OK, &idp))
}

async fn delete_idp(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_on(
        &state,
        &req,
        "identity:delete_identity_provider",
        &[("idp_id", &id)],
        vec![],
    )
    .await?;
    let retention = crate::revoke::retention_secs(&state.config);
    let target = id.clone();
    let deleted = state
        .db
        .write(move |conn| cascade::delete_identity_provider(conn, retention, &target))
        .await?;
    if !deleted {
        return Err(providers::idp_not_found(&id));
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn list_protocols(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let idp_id = path.into_inner();
    authorize_on(
        &state,
        &req,
        "identity:list_protocols",
        &[("idp_id", &idp_id)],
        vec![],
    )
    .await?;
    let base = base_url(&req, &state.config);
    let refs = state
        .db
        .read(move |conn| {
            Ok(provider_store::list_protocols(conn, &idp_id)?
                .iter()
                .map(|p| p.to_list_json(&base))
                .collect::<Vec<Value>>())
        })
        .await?;
    let url = crate::api::list_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &wrap_collection("protocols", refs, None, &url),
    ))
}

fn protocol_response(
    req: &HttpRequest,
    state: &State,
    status: StatusCode,
    p: &Protocol,
) -> HttpResponse {
    let base = base_url(req, &state.config);
    json_response(status, &json!({"protocol": p.to_member_json(&base)}))
}

async fn get_protocol(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (idp_id, id) = path.into_inner();
    authorize_on(
        &state,
        &req,
        "identity:get_protocol",
        &[("idp_id", &idp_id), ("protocol_id", &id)],
        vec![],
    )
    .await?;
    let (i, p) = (idp_id.clone(), id.clone());
    let protocol = state
        .db
        .read(move |conn| provider_store::get_protocol(conn, &i, &p))
        .await?
        .ok_or_else(|| providers::protocol_not_found(&idp_id, &id))?;
    Ok(protocol_response(&req, &state, StatusCode::OK, &protocol))
}

async fn create_protocol(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let (idp_id, id) = path.into_inner();
    let body = checked_body(
        &req,
        &bytes,
        &provider_schema::PROTOCOL_CREATE,
        &json!({}),
        "protocol",
    )?;
    authorize_on(
        &state,
        &req,
        "identity:create_protocol",
        &[("idp_id", &idp_id), ("protocol_id", &id)],
        vec![],
    )
    .await?;
    let protocol = state
        .db
        .write(move |conn| providers::create_protocol(conn, &idp_id, &id, &body))
        .await?;
    Ok(protocol_response(
        &req,
        &state,
        StatusCode::CREATED,
        &protocol,
    ))
}

async fn update_protocol(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let (idp_id, id) = path.into_inner();
    let body = checked_body(
        &req,
        &bytes,
        &provider_schema::PROTOCOL_UPDATE,
        &json!({}),
        "protocol",
    )?;
    authorize_on(
        &state,
        &req,
        "identity:update_protocol",
        &[("idp_id", &idp_id), ("protocol_id", &id)],
        vec![],
    )
    .await?;
    let protocol = state
        .db
        .write(move |conn| providers::update_protocol(conn, &idp_id, &id, &body))
        .await?;
    Ok(protocol_response(&req, &state, StatusCode::OK, &protocol))
}

async fn delete_protocol(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (idp_id, id) = path.into_inner();
    authorize_on(
        &state,
        &req,
        "identity:delete_protocol",
        &[("idp_id", &idp_id), ("protocol_id", &id)],
        vec![],
    )
    .await?;
    let retention = crate::revoke::retention_secs(&state.config);
    let (i, p) = (idp_id.clone(), id.clone());
    let deleted = state
        .db
        .write(move |conn| cascade::delete_protocol(conn, retention, &i, &p))
        .await?;
    if !deleted {
        return Err(providers::protocol_not_found(&idp_id, &id));
    }
    Ok(HttpResponse::NoContent().finish())
}

fn sp_response(
    req: &HttpRequest,
    state: &State,
    status: StatusCode,
    sp: &ServiceProvider,
) -> HttpResponse {
    let base = base_url(req, &state.config);
    json_response(status, &json!({"service_provider": sp.to_json(&base)}))
}

async fn list_sps(state: State, req: HttpRequest) -> Result<HttpResponse> {
    authorize_and_list(
        &state,
        &req,
        "identity:list_service_providers",
        "service_providers",
        |conn, base| {
            Ok(provider_store::list_sps(conn)?
                .iter()
                .map(|s| s.to_json(base))
                .collect())
        },
    )
    .await
}

async fn get_sp(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_on(
        &state,
        &req,
        "identity:get_service_provider",
        &[("service_provider_id", &id)],
        vec![],
    )
    .await?;
    let lookup = id.clone();
    let sp = state
        .db
        .read(move |conn| provider_store::get_sp(conn, &lookup))
        .await?
        .ok_or_else(|| providers::sp_not_found(&id))?;
    Ok(sp_response(&req, &state, StatusCode::OK, &sp))
}

async fn create_sp(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(
        &req,
        &bytes,
        &provider_schema::SP_CREATE,
        &provider_schema::SP_STRICT,
        "service_provider",
    )?;
    authorize_on(
        &state,
        &req,
        "identity:create_service_provider",
        &[("service_provider_id", &id)],
        vec![],
    )
    .await?;
    let prefix = state
        .config
        .get("saml", "relay_state_prefix")
        .unwrap_or(providers::DEFAULT_RELAY_STATE_PREFIX)
        .to_string();
    let sp = state
        .db
        .write(move |conn| providers::create_sp(conn, &id, &prefix, &body))
        .await?;
    Ok(sp_response(&req, &state, StatusCode::CREATED, &sp))
}

async fn update_sp(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(
        &req,
        &bytes,
        &provider_schema::SP_UPDATE,
        &provider_schema::SP_STRICT,
        "service_provider",
    )?;
    authorize_on(
        &state,
        &req,
        "identity:update_service_provider",
        &[("service_provider_id", &id)],
        vec![],
    )
    .await?;
    let sp = state
        .db
        .write(move |conn| providers::update_sp(conn, &id, &body))
        .await?;
    Ok(sp_response(&req, &state, StatusCode::OK, &sp))
}

async fn delete_sp(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_on(
        &state,
        &req,
        "identity:delete_service_provider",
        &[("service_provider_id", &id)],
        vec![],
    )
    .await?;
    let target = id.clone();
    let deleted = state
        .db
        .write(move |conn| provider_store::delete_sp(conn, &target))
        .await?;
    if !deleted {
        return Err(providers::sp_not_found(&id));
    }
    Ok(HttpResponse::NoContent().finish())
}
