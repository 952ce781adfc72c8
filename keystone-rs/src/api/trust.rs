//! Routes: `/v3/OS-TRUST/trusts[/{trust_id}[/roles[/{role_id}]]]` (keystone/api/trusts.py).

use crate::api::json_response;
use crate::context::{self, AUTH_TOKEN_HEADER, base_url, header};
use crate::db::collection::wrap_collection;
use crate::db::listing::{first, query_pairs};
use crate::error::{Error, Result};
use crate::policy::TargetBuilder;
use crate::python::jsonschema::validate_query;
use crate::state::State;
use crate::token::delegated::forbid_trust_management;
use crate::token::model::Token;
use crate::trust::model::{listed_trust_json, roles_links, trust_json};
use crate::trust::{self, Trust, schema, store};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/OS-TRUST/trusts")
            .route(web::get().to(list_trusts))
            .route(web::head().to(list_trusts))
            .route(web::post().to(create_trust)),
    )
    .service(
        web::resource("/v3/OS-TRUST/trusts/{trust_id}")
            .route(web::get().to(get_trust))
            .route(web::head().to(get_trust))
            .route(web::delete().to(delete_trust)),
    )
    .service(
        web::resource("/v3/OS-TRUST/trusts/{trust_id}/roles")
            .route(web::get().to(list_trust_roles))
            .route(web::head().to(list_trust_roles)),
    )
    .service(
        web::resource("/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}")
            .route(web::get().to(get_trust_role))
            .route(web::head().to(get_trust_role)),
    );
}

async fn list_trusts(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let pairs = query_pairs(req.query_string());
    validate_query(&schema::INDEX_QUERY, &pairs)?;
    let trustor = first(&pairs, "trustor_user_id")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let trustee = first(&pairs, "trustee_user_id")
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let (action, target) = match (&trustor, &trustee) {
        (Some(id), _) => (
            "identity:list_trusts_for_trustor",
            json!({"trust": {"trustor_user_id": id}}),
        ),
        (None, Some(id)) => (
            "identity:list_trusts_for_trustee",
            json!({"trust": {"trustee_user_id": id}}),
        ),
        (None, None) => ("identity:list_trusts", Value::Null),
    };
    let mut builder = TargetBuilder::new();
    if !target.is_null() {
        builder = builder.target(target);
    }
    context::authorize(&state, &caller, action, &builder.build())?;
    forbid_trust_management(&caller, &state.config)?;
    // Keystone lists everything only without any query parameter; parameters that are
    // neither filter list nothing.
    let filter = match (pairs.is_empty(), trustor, trustee) {
        (true, _, _) => Some(store::Filter::default()),
        (false, Some(id), _) => Some(store::Filter {
            trustor_user_id: Some(id),
            ..Default::default()
        }),
        (false, None, Some(id)) => Some(store::Filter {
            trustee_user_id: Some(id),
            ..Default::default()
        }),
        (false, None, None) => None,
    };
    let trusts = match filter {
        Some(f) => state.db.read(move |conn| store::list(conn, &f)).await?,
        None => Vec::new(),
    };
    let base = base_url(&req, &state.config);
    let members = trusts.iter().map(|t| listed_trust_json(t, &base)).collect();
    let url = crate::api::list_url(&req, &state.config);
    let body = wrap_collection("trusts", members, None, &url);
    Ok(json_response(StatusCode::OK, &body))
}

async fn create_trust(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    // Keystone's middleware rejects a bad token before the body is read; a missing token
    // is only noticed by policy, after the schema.
    let early_caller = match header(req.headers(), AUTH_TOKEN_HEADER) {
        Some(_) => Some(context::caller(&state, &req).await?),
        None => None,
    };
    let body = context::json_body(&req, &body)?;
    let request = schema::parse_create(&body)?;
    let caller = match early_caller {
        Some(c) => c,
        None => context::caller(&state, &req).await?,
    };
    let target = TargetBuilder::new()
        .target(json!({"trust": Value::Object(request.body.clone())}))
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:create_trust", &target)?;
    forbid_trust_management(&caller, &state.config)?;
    let project_given = request
        .body
        .get("project_id")
        .and_then(Value::as_str)
        .is_some_and(|p| !p.is_empty());
    if project_given && request.roles.is_empty() {
        return Err(Error::forbidden_action(
            "At least one role should be specified",
        ));
    }
    if caller.user.id != request.trustor_user_id {
        return Err(Error::forbidden_action(
            "The authenticated user should match the trustor",
        ));
    }
    let st = state.clone();
    let trust_id = caller.payload.trust_id.clone();
    let oauth1 = caller.payload.access_token_id.is_some();
    let (trust, roles) = state
        .db
        .write(move |conn| {
            trust::create(
                conn,
                &st.config,
                trust::Creator {
                    trust_id: trust_id.as_deref(),
                    oauth1,
                },
                &request,
            )
        })
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"trust": trust_json(&trust, &roles, &base)}),
    ))
}

/// Keystone's `_build_trust_target_enforcement`: the trust (404 before policy when there
/// is none usable) under `target.trust`.
async fn trust_target(state: &State, trust_id: &str) -> Result<(Trust, Value)> {
    let st = state.clone();
    let id = trust_id.to_string();
    let found = state
        .db
        .read(move |conn| trust::get(conn, &st.config, &id))
        .await?;
    let target = TargetBuilder::new()
        .path_var("trust_id", trust_id)
        .target(found.policy_target())
        .build();
    Ok((found, target))
}

/// Authorise `action` on the trust of the path, then the trust-route guard.
async fn authorize_on_trust(
    state: &State,
    req: &HttpRequest,
    trust_id: &str,
    action: &str,
) -> Result<(std::sync::Arc<Token>, Trust)> {
    let caller = context::caller(state, req).await?;
    let (found, target) = trust_target(state, trust_id).await?;
    context::authorize(state, &caller, action, &target)?;
    forbid_trust_management(&caller, &state.config)?;
    Ok((caller, found))
}

async fn roles_of(state: &State, trust: &Trust) -> Result<Vec<crate::assignment::Role>> {
    let ids = trust.role_ids.clone();
    state
        .db
        .read(move |conn| trust::roles_in_order(conn, &ids))
        .await
}

async fn get_trust(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let trust_id = path.into_inner();
    validate_query(&schema::GET_QUERY, &query_pairs(req.query_string()))?;
    let (_, found) = authorize_on_trust(&state, &req, &trust_id, "identity:get_trust").await?;
    let roles = roles_of(&state, &found).await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"trust": trust_json(&found, &roles, &base)}),
    ))
}

async fn delete_trust(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let trust_id = path.into_inner();
    authorize_on_trust(&state, &req, &trust_id, "identity:delete_trust").await?;
    let retention = crate::revoke::retention_secs(&state.config);
    state
        .db
        .write(move |conn| crate::cascade::delete_trust(conn, retention, &trust_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_trust_roles(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let trust_id = path.into_inner();
    let (_, found) =
        authorize_on_trust(&state, &req, &trust_id, "identity:list_roles_for_trust").await?;
    let roles = roles_of(&state, &found).await?;
    let base = base_url(&req, &state.config);
    let body = json!({
        "roles": roles.iter().map(|r| r.to_json(&base)).collect::<Vec<_>>(),
        "links": roles_links(&base, &found.id),
    });
    Ok(json_response(StatusCode::OK, &body))
}

async fn get_trust_role(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (trust_id, role_id) = path.into_inner();
    let (_, found) =
        authorize_on_trust(&state, &req, &trust_id, "identity:get_role_for_trust").await?;
    // A role of the trust that was deleted since is no role of it any more.
    let roles = roles_of(&state, &found).await?;
    let role = roles
        .into_iter()
        .find(|r| r.id == role_id)
        .ok_or_else(|| Error::could_not_find("role", &role_id))?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"role": role.to_json(&base)}),
    ))
}
