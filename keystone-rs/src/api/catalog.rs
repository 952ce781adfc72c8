//! Routes: `/v3/services`, `/v3/endpoints`, `/v3/regions` and their members.
//!
//! Keystone's order on every route: the JSON body and query-string schemas first (so bad
//! input is a 400 even before authentication), then the caller's token (401), then policy
//! (403) with the path variable, the request body and the declared filters in the target,
//! then the operation.

use crate::api::{json_response, require_matching_id};
use crate::catalog::schema;
use crate::catalog::store;
use crate::context::{self, base_url, json_body};
use crate::db::collection;
use crate::db::listing::{Hints, declared_filters, list_limit, query_pairs};
use crate::error::{Error, Result};
use crate::policy::TargetBuilder;
use crate::python::jsonschema;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/services")
            .route(web::get().to(list_services))
            .route(web::head().to(list_services))
            .route(web::post().to(create_service)),
    )
    .service(
        web::resource("/v3/services/{service_id}")
            .route(web::get().to(get_service))
            .route(web::head().to(get_service))
            .route(web::patch().to(update_service))
            .route(web::delete().to(delete_service)),
    )
    .service(
        web::resource("/v3/endpoints")
            .route(web::get().to(list_endpoints))
            .route(web::head().to(list_endpoints))
            .route(web::post().to(create_endpoint)),
    )
    .service(
        web::resource("/v3/endpoints/{endpoint_id}")
            .route(web::get().to(get_endpoint))
            .route(web::head().to(get_endpoint))
            .route(web::patch().to(update_endpoint))
            .route(web::delete().to(delete_endpoint)),
    )
    .service(
        web::resource("/v3/regions")
            .route(web::get().to(list_regions))
            .route(web::head().to(list_regions))
            .route(web::post().to(create_region)),
    )
    .service(
        web::resource("/v3/regions/{region_id}")
            .route(web::get().to(get_region))
            .route(web::head().to(get_region))
            .route(web::put().to(put_region))
            .route(web::patch().to(update_region))
            .route(web::delete().to(delete_region)),
    );
}

const SERVICE_FILTERS: &[&str] = &["type", "name"];
const ENDPOINT_FILTERS: &[&str] = &["interface", "service_id", "region_id"];
const REGION_FILTERS: &[&str] = &["parent_region_id"];

pub(super) fn member(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), value);
    Value::Object(m)
}

/// The body's member object (`{"service": {...}}` → `{...}`), which the schema checked.
fn member_of(body: &Value, key: &str) -> Result<Map<String, Value>> {
    body.get(key)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| schema::required_property(key))
}

/// Parse and check a JSON body, as Keystone does before anything else.
pub(super) fn checked_body(req: &HttpRequest, bytes: &[u8], schema: &Value) -> Result<Value> {
    let body = json_body(req, bytes)?;
    jsonschema::validate(schema, &body)?;
    Ok(body)
}

/// Authenticate and enforce `action` on a member route.
async fn authorize_member(
    state: &State,
    req: &HttpRequest,
    action: &str,
    path_var: (&str, &str),
    body: Option<&Value>,
) -> Result<()> {
    let caller = context::caller(state, req).await?;
    let mut target = TargetBuilder::new().path_var(path_var.0, path_var.1);
    if let Some(body) = body {
        target = target.request_body(body);
    }
    context::authorize(state, &caller, action, &target.build())
}

async fn authorize_collection(
    state: &State,
    req: &HttpRequest,
    action: &str,
    body: Option<&Value>,
    filters: &[(String, String)],
) -> Result<()> {
    let caller = context::caller(state, req).await?;
    let mut target = TargetBuilder::new().filters(filters.iter().cloned());
    if let Some(body) = body {
        target = target.request_body(body);
    }
    context::authorize(state, &caller, action, &target.build())
}

/// Render a page of members as Keystone's `wrap_collection`: the filters SQL left, the
/// page size, each member's `self` link, the collection's links.
fn list_response(
    req: &HttpRequest,
    state: &State,
    key: &str,
    refs: Vec<Map<String, Value>>,
    hints: &Hints,
) -> HttpResponse {
    let url = crate::api::list_url(req, &state.config);
    let refs = refs.into_iter().map(Value::Object).collect();
    let (mut members, limited) = collection::page(refs, Some(hints));
    for m in &mut members {
        if let Value::Object(m) = m {
            let id = m.get("id").map(crate::python::py_str).unwrap_or_default();
            crate::catalog::model::add_self_link(m, format!("{}/v3/{key}/{id}", url.base));
        }
    }
    json_response(
        StatusCode::OK,
        &collection::body(key, members, limited, Some(hints), &url),
    )
}

// ---- services -------------------------------------------------------------------------

async fn list_services(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    authorize_collection(
        &state,
        &req,
        "identity:list_services",
        None,
        &declared_filters(&pairs, SERVICE_FILTERS),
    )
    .await?;
    let mut hints = Hints::from_query(&pairs, SERVICE_FILTERS, None, &state.config)?;
    hints.set_default_limit(list_limit(&state.config, "catalog"));
    let sql = hints.sql_filters(store::SERVICE_COLUMNS);
    let fetch = hints.fetch_one_more();
    let mut services = state
        .db
        .read(move |conn| store::query_services(conn, &sql, fetch))
        .await?;
    hints.cut_fetched(&mut services);
    let refs = services
        .iter()
        .map(crate::catalog::Service::to_dict)
        .collect();
    Ok(list_response(&req, &state, "services", refs, &hints))
}

async fn create_service(state: State, req: HttpRequest, bytes: web::Bytes) -> Result<HttpResponse> {
    let body = checked_body(&req, &bytes, &schema::SERVICE_CREATE)?;
    authorize_collection(&state, &req, "identity:create_service", Some(&body), &[]).await?;
    // Keystone's schema lets a body without `service` through, then fails with 500.
    let service = member_of(&body, "service")?;
    let created = state
        .db
        .write(move |conn| crate::catalog::create_service(conn, service))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &member("service", created.to_json(&base)),
    ))
}

async fn get_service(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_member(
        &state,
        &req,
        "identity:get_service",
        ("service_id", &id),
        None,
    )
    .await?;
    let service = state
        .db
        .read(move |conn| crate::catalog::get_service(conn, &id))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("service", service.to_json(&base)),
    ))
}

async fn update_service(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(&req, &bytes, &schema::SERVICE_UPDATE)?;
    authorize_member(
        &state,
        &req,
        "identity:update_service",
        ("service_id", &id),
        Some(&body),
    )
    .await?;
    let update = member_of(&body, "service")?;
    require_matching_id(&update, &id)?;
    let service = state
        .db
        .write(move |conn| crate::catalog::update_service(conn, &id, &update))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("service", service.to_json(&base)),
    ))
}

async fn delete_service(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_member(
        &state,
        &req,
        "identity:delete_service",
        ("service_id", &id),
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| crate::cascade::delete_service(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- endpoints ------------------------------------------------------------------------

async fn list_endpoints(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::ENDPOINT_LIST_QUERY, &pairs)?;
    authorize_collection(
        &state,
        &req,
        "identity:list_endpoints",
        None,
        &declared_filters(&pairs, ENDPOINT_FILTERS),
    )
    .await?;
    let mut hints = Hints::from_query(&pairs, ENDPOINT_FILTERS, None, &state.config)?;
    hints.set_default_limit(list_limit(&state.config, "catalog"));
    let sql = hints.sql_filters(store::ENDPOINT_COLUMNS);
    let fetch = hints.fetch_one_more();
    let mut endpoints = state
        .db
        .read(move |conn| store::query_endpoints(conn, &sql, fetch))
        .await?;
    hints.cut_fetched(&mut endpoints);
    let refs = endpoints
        .iter()
        .map(crate::catalog::Endpoint::to_api_dict)
        .collect();
    Ok(list_response(&req, &state, "endpoints", refs, &hints))
}

async fn create_endpoint(
    state: State,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let body = checked_body(&req, &bytes, &schema::ENDPOINT_CREATE)?;
    authorize_collection(&state, &req, "identity:create_endpoint", Some(&body), &[]).await?;
    // What Keystone answers when the body has no `endpoint` (its schema allows that).
    let endpoint = body
        .get("endpoint")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| Error::bad_request("'NoneType' object is not subscriptable"))?;
    let created = state
        .db
        .write(move |conn| crate::catalog::create_endpoint(conn, endpoint))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &member("endpoint", created.to_json(&base)),
    ))
}

async fn get_endpoint(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_member(
        &state,
        &req,
        "identity:get_endpoint",
        ("endpoint_id", &id),
        None,
    )
    .await?;
    let endpoint = state
        .db
        .read(move |conn| crate::catalog::get_endpoint(conn, &id))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("endpoint", endpoint.to_json(&base)),
    ))
}

async fn update_endpoint(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(&req, &bytes, &schema::ENDPOINT_UPDATE)?;
    authorize_member(
        &state,
        &req,
        "identity:update_endpoint",
        ("endpoint_id", &id),
        Some(&body),
    )
    .await?;
    let update = member_of(&body, "endpoint")?;
    require_matching_id(&update, &id)?;
    let endpoint = state
        .db
        .write(move |conn| crate::catalog::update_endpoint(conn, &id, update))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("endpoint", endpoint.to_json(&base)),
    ))
}

async fn delete_endpoint(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_member(
        &state,
        &req,
        "identity:delete_endpoint",
        ("endpoint_id", &id),
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| crate::cascade::delete_endpoint(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- regions --------------------------------------------------------------------------

async fn list_regions(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::REGION_LIST_QUERY, &pairs)?;
    authorize_collection(
        &state,
        &req,
        "identity:list_regions",
        None,
        &declared_filters(&pairs, REGION_FILTERS),
    )
    .await?;
    // Keystone passes the hints positionally here, so no list_limit applies to regions.
    let mut hints = Hints::from_query(&pairs, REGION_FILTERS, None, &state.config)?;
    let sql = hints.sql_filters(store::REGION_COLUMNS);
    let fetch = hints.fetch_one_more();
    let mut regions = state
        .db
        .read(move |conn| store::query_regions(conn, &sql, fetch))
        .await?;
    hints.cut_fetched(&mut regions);
    let refs = regions
        .iter()
        .map(crate::catalog::Region::to_dict)
        .collect();
    Ok(list_response(&req, &state, "regions", refs, &hints))
}

async fn create_region(state: State, req: HttpRequest, bytes: web::Bytes) -> Result<HttpResponse> {
    let body = checked_body(&req, &bytes, &schema::REGION_CREATE)?;
    authorize_collection(&state, &req, "identity:create_region", Some(&body), &[]).await?;
    let mut region = crate::catalog::normalize_keys(member_of(&body, "region")?);
    // Only PUT officially chooses the id, but Keystone keeps honouring one sent to POST.
    let chosen = region
        .get("id")
        .is_some_and(|id| id.as_str().is_some_and(|s| !s.is_empty()));
    if !chosen {
        region.insert("id".into(), crate::catalog::new_id().into());
    }
    store_region(&state, &req, region).await
}

async fn put_region(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(&req, &bytes, &schema::REGION_CREATE)?;
    authorize_member(
        &state,
        &req,
        "identity:create_region",
        ("region_id", &id),
        Some(&body),
    )
    .await?;
    let mut region = crate::catalog::normalize_keys(member_of(&body, "region")?);
    match region.get("id") {
        None => {
            region.insert("id".into(), id.into());
        }
        Some(Value::String(given)) if *given == id => {}
        Some(given) => {
            return Err(Error::bad_request(format!(
                "Conflicting region IDs specified: \"{id}\" != \"{}\"",
                crate::python::py_str(given)
            )));
        }
    }
    store_region(&state, &req, region).await
}

async fn store_region(
    state: &State,
    req: &HttpRequest,
    region: Map<String, Value>,
) -> Result<HttpResponse> {
    let created = state
        .db
        .write(move |conn| crate::catalog::create_region(conn, region))
        .await?;
    let base = base_url(req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &member("region", created.to_json(&base)),
    ))
}

async fn get_region(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_member(
        &state,
        &req,
        "identity:get_region",
        ("region_id", &id),
        None,
    )
    .await?;
    let region = state
        .db
        .read(move |conn| crate::catalog::get_region(conn, &id))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("region", region.to_json(&base)),
    ))
}

async fn update_region(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(&req, &bytes, &schema::REGION_UPDATE)?;
    authorize_member(
        &state,
        &req,
        "identity:update_region",
        ("region_id", &id),
        Some(&body),
    )
    .await?;
    let update = member_of(&body, "region")?;
    require_matching_id(&update, &id)?;
    let region = state
        .db
        .write(move |conn| crate::catalog::update_region(conn, &id, update))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("region", region.to_json(&base)),
    ))
}

async fn delete_region(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize_member(
        &state,
        &req,
        "identity:delete_region",
        ("region_id", &id),
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| crate::cascade::delete_region(conn, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
