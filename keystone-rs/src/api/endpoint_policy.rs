//! Routes: `/v3/policies` (policy blobs) and OS-ENDPOINT-POLICY — the associations of a
//! policy with endpoints, services and service+region pairs, and
//! `/v3/endpoints/{id}/OS-ENDPOINT-POLICY/policy`, the policy in effect for an endpoint
//! (Keystone's `keystone/api/policy.py` and `endpoints.py`).
//!
//! Keystone checks the caller and the policy rule first here, then the `policy` member
//! (its older `lazy_validate`), then looks up each entity named in the path in order.

use super::catalog::member;
use crate::api::{authorize_path as authorize, json_response};
use crate::catalog::{self, Endpoint};
use crate::context::{base_url, json_body};
use crate::db::AnyConnection;
use crate::db::collection;
use crate::db::listing::{Hints, list_limit, query_pairs};
use crate::endpoint_policy::{self as ep, Subject};
use crate::error::Result;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/policies")
            .route(web::get().to(list_policies))
            .route(web::head().to(list_policies))
            .route(web::post().to(create_policy)),
    )
    .service(
        web::resource("/v3/policies/{policy_id}")
            .route(web::get().to(get_policy))
            .route(web::head().to(get_policy))
            .route(web::patch().to(update_policy))
            .route(web::delete().to(delete_policy)),
    )
    .service(
        web::resource("/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints")
            .route(web::get().to(list_endpoints_for_policy))
            .route(web::head().to(list_endpoints_for_policy)),
    )
    .service(
        web::resource("/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}")
            .route(web::get().to(check_endpoint_association))
            .route(web::head().to(check_endpoint_association))
            .route(web::put().to(create_endpoint_association))
            .route(web::delete().to(delete_endpoint_association)),
    )
    .service(
        web::resource("/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}")
            .route(web::get().to(check_service_association))
            .route(web::head().to(check_service_association))
            .route(web::put().to(create_service_association))
            .route(web::delete().to(delete_service_association)),
    )
    .service(
        web::resource(
            "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}",
        )
        .route(web::get().to(check_region_association))
        .route(web::head().to(check_region_association))
        .route(web::put().to(create_region_association))
        .route(web::delete().to(delete_region_association)),
    )
    .service(
        web::resource("/v3/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy")
            .route(web::get().to(get_policy_for_endpoint))
            .route(web::head().to(get_policy_for_endpoint)),
    );
}

/// The body's `policy` member as Keystone reads it (`.get('policy', {})`), checked.
fn policy_member(body: &Value, create: bool) -> Result<Map<String, Value>> {
    let member = body
        .get("policy")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    ep::schema::check(&member, create)?;
    Ok(member.as_object().cloned().unwrap_or_default())
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

// ---- policy blobs -----------------------------------------------------------------------

async fn list_policies(state: State, req: HttpRequest) -> Result<HttpResponse> {
    authorize(&state, &req, "identity:list_policies", &[], None).await?;
    let pairs = query_pairs(req.query_string());
    let mut hints = Hints::from_query(&pairs, &["type"], None, &state.config)?;
    hints.set_default_limit(list_limit(&state.config, "policy"));
    // Keystone's policy driver ignores the hints: filters and limit apply afterwards.
    let policies = state.db.read(ep::list_policies).await?;
    let mut url = crate::api::list_url(&req, &state.config);
    url.path = "/v3/policies".to_string();
    let refs = policies
        .iter()
        .map(|p| Value::Object(p.to_dict()))
        .collect();
    let (mut members, limited) = collection::page(refs, Some(&hints));
    for m in &mut members {
        if let Value::Object(m) = m {
            let id = m.get("id").map(crate::python::py_str).unwrap_or_default();
            catalog::model::add_self_link(m, format!("{}/v3/policies/{id}", url.base));
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &collection::body("policies", members, limited, Some(&hints), &url),
    ))
}

async fn create_policy(state: State, req: HttpRequest, bytes: web::Bytes) -> Result<HttpResponse> {
    let body = json_body(&req, &bytes)?;
    authorize(&state, &req, "identity:create_policy", &[], Some(&body)).await?;
    let policy = policy_member(&body, true)?;
    let created = state
        .db
        .write(move |conn| ep::create_policy(conn, &policy))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &member("policy", created.to_json(&base, "policies")),
    ))
}

async fn get_policy(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:get_policy",
        &[("policy_id", &id)],
        None,
    )
    .await?;
    let policy = state.db.read(move |conn| ep::get_policy(conn, &id)).await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("policy", policy.to_json(&base, "policies")),
    ))
}

async fn update_policy(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = json_body(&req, &bytes)?;
    authorize(
        &state,
        &req,
        "identity:update_policy",
        &[("policy_id", &id)],
        Some(&body),
    )
    .await?;
    let update = policy_member(&body, false)?;
    let policy = state
        .db
        .write(move |conn| ep::update_policy(conn, &id, &update))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("policy", policy.to_json(&base, "policies")),
    ))
}

async fn delete_policy(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:delete_policy",
        &[("policy_id", &id)],
        None,
    )
    .await?;
    state
        .db
        .write(move |conn| crate::cascade::delete_policy(conn, &id))
        .await?;
    Ok(no_content())
}

// ---- associations -----------------------------------------------------------------------

async fn list_endpoints_for_policy(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:list_endpoints_for_policy",
        &[("policy_id", &id)],
        None,
    )
    .await?;
    let endpoints: Vec<Endpoint> = state
        .db
        .read(move |conn| {
            ep::get_policy(conn, &id)?;
            ep::endpoints_for_policy(conn, &id)
        })
        .await?;
    let base = base_url(&req, &state.config);
    // The catalog's dicts, without the legacy `region` that the endpoint routes add.
    let members = endpoints
        .iter()
        .map(|e| {
            let mut d = e.to_dict();
            catalog::model::add_self_link(&mut d, format!("{base}/v3/endpoints/{}", e.id));
            Value::Object(d)
        })
        .collect();
    let url = crate::api::list_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &collection::wrap_collection("endpoints", members, None, &url),
    ))
}

#[derive(Clone, Copy)]
enum Op {
    Check,
    Create,
    Delete,
}

/// The policy, then each entity of the subject, must exist; then the operation.
fn associate(conn: &mut AnyConnection, op: Op, policy_id: &str, subject: Subject) -> Result<()> {
    ep::get_policy(conn, policy_id)?;
    match subject {
        Subject::Endpoint(e) => {
            catalog::get_endpoint(conn, e)?;
        }
        Subject::Service(s) => {
            catalog::get_service(conn, s)?;
        }
        Subject::ServiceInRegion(s, r) => {
            catalog::get_service(conn, s)?;
            catalog::get_region(conn, r)?;
        }
    }
    match op {
        Op::Check => ep::check_association(conn, policy_id, subject),
        Op::Create => ep::associate(conn, policy_id, subject),
        Op::Delete => ep::dissociate(conn, policy_id, subject),
    }
}

/// What a path names besides the policy, owned for the blocking pool.
enum Named {
    Endpoint(String),
    Service(String),
    ServiceInRegion(String, String),
}

impl Named {
    fn subject(&self) -> Subject<'_> {
        match self {
            Named::Endpoint(e) => Subject::Endpoint(e),
            Named::Service(s) => Subject::Service(s),
            Named::ServiceInRegion(s, r) => Subject::ServiceInRegion(s, r),
        }
    }
}

/// Run an association operation in one transaction (a write unless it only checks).
async fn run(state: &State, op: Op, policy_id: String, named: Named) -> Result<HttpResponse> {
    let work = move |conn: &mut AnyConnection| associate(conn, op, &policy_id, named.subject());
    match op {
        Op::Check => state.db.read(work).await?,
        Op::Create | Op::Delete => state.db.write(work).await?,
    }
    Ok(no_content())
}

async fn check_endpoint_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, endpoint_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:check_policy_association_for_endpoint",
        &[("policy_id", &policy_id), ("endpoint_id", &endpoint_id)],
        None,
    )
    .await?;
    run(&state, Op::Check, policy_id, Named::Endpoint(endpoint_id)).await
}

async fn create_endpoint_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, endpoint_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:create_policy_association_for_endpoint",
        &[("policy_id", &policy_id), ("endpoint_id", &endpoint_id)],
        None,
    )
    .await?;
    run(&state, Op::Create, policy_id, Named::Endpoint(endpoint_id)).await
}

async fn delete_endpoint_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, endpoint_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:delete_policy_association_for_endpoint",
        &[("policy_id", &policy_id), ("endpoint_id", &endpoint_id)],
        None,
    )
    .await?;
    run(&state, Op::Delete, policy_id, Named::Endpoint(endpoint_id)).await
}

async fn check_service_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, service_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:check_policy_association_for_service",
        &[("policy_id", &policy_id), ("service_id", &service_id)],
        None,
    )
    .await?;
    run(&state, Op::Check, policy_id, Named::Service(service_id)).await
}

async fn create_service_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, service_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:create_policy_association_for_service",
        &[("policy_id", &policy_id), ("service_id", &service_id)],
        None,
    )
    .await?;
    run(&state, Op::Create, policy_id, Named::Service(service_id)).await
}

async fn delete_service_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, service_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:delete_policy_association_for_service",
        &[("policy_id", &policy_id), ("service_id", &service_id)],
        None,
    )
    .await?;
    run(&state, Op::Delete, policy_id, Named::Service(service_id)).await
}

async fn check_region_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, service_id, region_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:check_policy_association_for_region_and_service",
        &[
            ("policy_id", &policy_id),
            ("service_id", &service_id),
            ("region_id", &region_id),
        ],
        None,
    )
    .await?;
    let named = Named::ServiceInRegion(service_id, region_id);
    run(&state, Op::Check, policy_id, named).await
}

async fn create_region_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, service_id, region_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:create_policy_association_for_region_and_service",
        &[
            ("policy_id", &policy_id),
            ("service_id", &service_id),
            ("region_id", &region_id),
        ],
        None,
    )
    .await?;
    let named = Named::ServiceInRegion(service_id, region_id);
    run(&state, Op::Create, policy_id, named).await
}

async fn delete_region_association(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse> {
    let (policy_id, service_id, region_id) = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:delete_policy_association_for_region_and_service",
        &[
            ("policy_id", &policy_id),
            ("service_id", &service_id),
            ("region_id", &region_id),
        ],
        None,
    )
    .await?;
    let named = Named::ServiceInRegion(service_id, region_id);
    run(&state, Op::Delete, policy_id, named).await
}

/// The policy in effect for an endpoint. Keystone links it as
/// `/v3/endpoints/{policy_id}` (its `wrap_member` with the endpoints collection); kept.
async fn get_policy_for_endpoint(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let endpoint_id = path.into_inner();
    authorize(
        &state,
        &req,
        "identity:get_policy_for_endpoint",
        &[("endpoint_id", &endpoint_id)],
        None,
    )
    .await?;
    let policy = state
        .db
        .read(move |conn| {
            let endpoint = catalog::get_endpoint(conn, &endpoint_id)?;
            ep::policy_for_endpoint(conn, &endpoint)
        })
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member("policy", policy.to_json(&base, "endpoints")),
    ))
}
