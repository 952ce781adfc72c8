//! Routes: `/v3/OS-FEDERATION/mappings` and its members. Keystone enforces policy before it
//! reads the body, so a caller without the right gets a 403 even for a malformed mapping.

use crate::api::json_response;
use crate::context::{self, base_url, json_body};
use crate::db::collection::wrap_collection;
use crate::error::{Error, Result};
use crate::federation::store;
use crate::policy::TargetBuilder;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

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
