//! Routes: `/v3/OS-EP-FILTER/...` — endpoint groups, project↔endpoint and
//! project↔endpoint-group associations (Keystone's `keystone/api/os_ep_filter.py`).
//!
//! Keystone's order on each route: the endpoint-group body and query schemas first (a 400
//! before authentication), then the caller's token and the policy rule, then the existence
//! checks in the order Keystone makes them, then the operation — all in one transaction.

use super::catalog::{checked_body, member};
use crate::api::{authorize_path as authorize, json_response};
use crate::catalog::endpoint_filter as ep_filter;
use crate::catalog::schema;
use crate::catalog::{self, Endpoint};
use crate::context::base_url;
use crate::db::AnyConnection;
use crate::db::collection;
use crate::db::listing::{Hints, query_pairs};
use crate::error::Result;
use crate::python::jsonschema;
use crate::resource;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

const PREFIX: &str = "/v3/OS-EP-FILTER";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/OS-EP-FILTER/endpoint_groups")
            .route(web::get().to(list_endpoint_groups))
            .route(web::head().to(list_endpoint_groups))
            .route(web::post().to(create_endpoint_group)),
    )
    .service(
        web::resource("/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}")
            .route(web::get().to(get_endpoint_group))
            .route(web::head().to(get_endpoint_group))
            .route(web::patch().to(update_endpoint_group))
            .route(web::delete().to(delete_endpoint_group)),
    )
    .service(
        web::resource("/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints")
            .route(web::get().to(list_endpoints_in_group))
            .route(web::head().to(list_endpoints_in_group)),
    )
    .service(
        web::resource("/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects")
            .route(web::get().to(list_projects_for_group))
            .route(web::head().to(list_projects_for_group)),
    )
    .service(
        web::resource("/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}")
            .route(web::get().to(get_group_in_project))
            .route(web::head().to(get_group_in_project))
            .route(web::put().to(add_group_to_project))
            .route(web::delete().to(remove_group_from_project)),
    )
    .service(
        web::resource("/v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects")
            .route(web::get().to(list_projects_for_endpoint))
            .route(web::head().to(list_projects_for_endpoint)),
    )
    .service(
        web::resource("/v3/OS-EP-FILTER/projects/{project_id}/endpoints")
            .route(web::get().to(list_endpoints_for_project))
            .route(web::head().to(list_endpoints_for_project)),
    )
    .service(
        web::resource("/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}")
            .route(web::get().to(check_endpoint_in_project))
            .route(web::head().to(check_endpoint_in_project))
            .route(web::put().to(add_endpoint_to_project))
            .route(web::delete().to(remove_endpoint_from_project)),
    )
    .service(
        web::resource("/v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups")
            .route(web::get().to(list_groups_for_project))
            .route(web::head().to(list_groups_for_project)),
    );
}

/// Keystone's `wrap_collection` for lists without hints: members, then the links.
fn unpaged(req: &HttpRequest, state: &State, key: &str, members: Vec<Value>) -> HttpResponse {
    let url = crate::api::list_url(req, &state.config);
    json_response(
        StatusCode::OK,
        &collection::wrap_collection(key, members, None, &url),
    )
}

fn endpoints_json(endpoints: &[Endpoint], base: &str) -> Vec<Value> {
    endpoints.iter().map(|e| e.to_json(base)).collect()
}

/// The projects with these ids, each as `GET /v3/projects/{id}` shows it (404 for one that
/// is gone, as Keystone's `get_project` answers).
fn projects_json(conn: &mut AnyConnection, ids: &[String], base: &str) -> Result<Vec<Value>> {
    ids.iter()
        .map(|id| Ok(resource::get_project(conn, id)?.to_project_json(base)))
        .collect()
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

// ---- endpoint groups --------------------------------------------------------------------

async fn list_endpoint_groups(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::ENDPOINT_GROUP_LIST_QUERY, &pairs)?;
    authorize(&state, &req, "identity:list_endpoint_groups", &[], None).await?;
    let mut hints = Hints::from_query(&pairs, &["name"], None, &state.config)?;
    let sql = hints.sql_filters(catalog::store::ENDPOINT_GROUP_COLUMNS);
    let fetch = hints.fetch_one_more();
    let mut groups = state
        .db
        .read(move |conn| catalog::store::query_endpoint_groups(conn, &sql, fetch))
        .await?;
    hints.cut_fetched(&mut groups);
    let url = crate::api::list_url(&req, &state.config);
    let refs = groups.iter().map(|g| Value::Object(g.to_dict())).collect();
    let (mut members, limited) = collection::page(refs, Some(&hints));
    for m in &mut members {
        if let Value::Object(m) = m {
            let id = m.get("id").map(crate::python::py_str).unwrap_or_default();
            catalog::model::add_self_link(m, format!("{}{PREFIX}/endpoint_groups/{id}", url.base));
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &collection::body("endpoint_groups", members, limited, Some(&hints), &url),
    ))
}

async fn create_endpoint_group(
    state: State,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let body = checked_body(&req, &bytes, &schema::ENDPOINT_GROUP_CREATE)?;
    authorize(
        &state,
        &req,
        "identity:create_endpoint_group",
        &[],
        Some(&body),
    )
    .await?;
    let group = body
        .get("endpoint_group")
        .and_then(Value::as_object)
        .cloned();
    let created = state
        .db
        .write(move |conn| ep_filter::create_endpoint_group(conn, group.as_ref()))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &member("endpoint_group", created.to_json(&base)),
    ))
}

async fn get_endpoint_group(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:get_endpoint_group",
        &[("endpoint_group_id", &id)],
        None,
    )
    .await?;
    let group = state
        .db
        .read(move |conn| ep_filter::get_endpoint_group(conn, &id))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("endpoint_group", group.to_json(&base)),
    ))
}

async fn update_endpoint_group(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(&req, &bytes, &schema::ENDPOINT_GROUP_UPDATE)?;
    authorize(
        &state,
        &req,
        "identity:update_endpoint_group",
        &[("endpoint_group_id", &id)],
        Some(&body),
    )
    .await?;
    let update = body
        .get("endpoint_group")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let group = state
        .db
        .write(move |conn| ep_filter::update_endpoint_group(conn, &id, &update))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("endpoint_group", group.to_json(&base)),
    ))
}

async fn delete_endpoint_group(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:delete_endpoint_group",
        &[("endpoint_group_id", &id)],
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| ep_filter::delete_endpoint_group(conn, &id))
        .await?;
    Ok(no_content())
}

async fn list_endpoints_in_group(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:list_endpoints_associated_with_endpoint_group",
        &[("endpoint_group_id", &id)],
        None,
    )
    .await?;
    let endpoints = state
        .db
        .read(move |conn| ep_filter::endpoints_in_group(conn, &id))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(unpaged(
        &req,
        &state,
        "endpoints",
        endpoints_json(&endpoints, &base),
    ))
}

/// Keystone does not look the group up here: an unknown group has no projects.
async fn list_projects_for_group(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:list_projects_associated_with_endpoint_group",
        &[("endpoint_group_id", &id)],
        None,
    )
    .await?;
    let base = base_url(&req, &state.config);
    let projects = state
        .db
        .read(move |conn| {
            let ids = catalog::store::project_ids_for_endpoint_group(conn, &id)?;
            projects_json(conn, &ids, &base)
        })
        .await?;
    Ok(unpaged(&req, &state, "projects", projects))
}

// ---- endpoint group ↔ project -----------------------------------------------------------

/// Keystone looks up the project, then the group, before the association itself.
fn require_project_and_group(
    conn: &mut AnyConnection,
    group_id: &str,
    project_id: &str,
) -> Result<()> {
    resource::get_project(conn, project_id)?;
    ep_filter::get_endpoint_group(conn, group_id)?;
    Ok(())
}

async fn get_group_in_project(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (group_id, project_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:get_endpoint_group_in_project",
        &[
            ("endpoint_group_id", &group_id),
            ("project_id", &project_id),
        ],
        None,
    )
    .await?;
    let (g, p) = (group_id.clone(), project_id.clone());
    state
        .db
        .read(move |conn| {
            require_project_and_group(conn, &g, &p)?;
            ep_filter::check_endpoint_group_in_project(conn, &g, &p)
        })
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &member(
            "project_endpoint_group",
            ep_filter::group_project_association(&group_id, &project_id),
        ),
    ))
}

async fn add_group_to_project(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (group_id, project_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:add_endpoint_group_to_project",
        &[
            ("endpoint_group_id", &group_id),
            ("project_id", &project_id),
        ],
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| {
            require_project_and_group(conn, &group_id, &project_id)?;
            ep_filter::add_endpoint_group_to_project(conn, &group_id, &project_id)
        })
        .await?;
    Ok(no_content())
}

async fn remove_group_from_project(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (group_id, project_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:remove_endpoint_group_from_project",
        &[
            ("endpoint_group_id", &group_id),
            ("project_id", &project_id),
        ],
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| {
            require_project_and_group(conn, &group_id, &project_id)?;
            ep_filter::remove_endpoint_group_from_project(conn, &group_id, &project_id)
        })
        .await?;
    Ok(no_content())
}

async fn list_groups_for_project(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let project_id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:list_endpoint_groups_for_project",
        &[("project_id", &project_id)],
        None,
    )
    .await?;
    let groups = state
        .db
        .read(move |conn| {
            resource::get_project(conn, &project_id)?;
            ep_filter::endpoint_groups_for_project(conn, &project_id)
        })
        .await?;
    let base = base_url(&req, &state.config);
    let members = groups.iter().map(|g| g.to_json(&base)).collect();
    Ok(unpaged(&req, &state, "endpoint_groups", members))
}

// ---- project ↔ endpoint -----------------------------------------------------------------

async fn list_projects_for_endpoint(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let endpoint_id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:list_projects_for_endpoint",
        &[("endpoint_id", &endpoint_id)],
        None,
    )
    .await?;
    let base = base_url(&req, &state.config);
    let projects = state
        .db
        .read(move |conn| {
            catalog::get_endpoint(conn, &endpoint_id)?;
            let ids = catalog::store::project_ids_for_endpoint(conn, &endpoint_id)?;
            projects_json(conn, &ids, &base)
        })
        .await?;
    Ok(unpaged(&req, &state, "projects", projects))
}

async fn list_endpoints_for_project(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let project_id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:list_endpoints_for_project",
        &[("project_id", &project_id)],
        None,
    )
    .await?;
    let endpoints = state
        .db
        .read(move |conn| {
            resource::get_project(conn, &project_id)?;
            let all = catalog::store::list_endpoints(conn)?;
            ep_filter::endpoints_for_project(conn, &project_id, &all)
        })
        .await?;
    let base = base_url(&req, &state.config);
    Ok(unpaged(
        &req,
        &state,
        "endpoints",
        endpoints_json(&endpoints, &base),
    ))
}

async fn check_endpoint_in_project(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (project_id, endpoint_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:check_endpoint_in_project",
        &[("project_id", &project_id), ("endpoint_id", &endpoint_id)],
        None,
    )
    .await?;
    state
        .db
        .read(move |conn| {
            catalog::get_endpoint(conn, &endpoint_id)?;
            resource::get_project(conn, &project_id)?;
            ep_filter::check_endpoint_in_project(conn, &endpoint_id, &project_id)
        })
        .await?;
    Ok(no_content())
}

async fn add_endpoint_to_project(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (project_id, endpoint_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:add_endpoint_to_project",
        &[("project_id", &project_id), ("endpoint_id", &endpoint_id)],
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| {
            catalog::get_endpoint(conn, &endpoint_id)?;
            resource::get_project(conn, &project_id)?;
            ep_filter::add_endpoint_to_project(conn, &endpoint_id, &project_id)
        })
        .await?;
    Ok(no_content())
}

/// Keystone checks neither the endpoint nor the project here, only the association.
async fn remove_endpoint_from_project(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (project_id, endpoint_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:remove_endpoint_from_project",
        &[("project_id", &project_id), ("endpoint_id", &endpoint_id)],
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| ep_filter::remove_endpoint_from_project(conn, &endpoint_id, &project_id))
        .await?;
    Ok(no_content())
}
