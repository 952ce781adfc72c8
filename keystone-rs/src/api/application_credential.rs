//! Routes: `/v3/users/{user_id}/application_credentials[/{id}]` and
//! `/v3/users/{user_id}/access_rules[/{id}]`.

use crate::api::json_response;
use crate::application_credential::model::{credential_json, rule_json};
use crate::application_credential::store::{self, NewCredential, RuleDeletion};
use crate::application_credential::{ApplicationCredential, schema};
use crate::context::{self, AUTH_TOKEN_HEADER, base_url, header};
use crate::db::collection;
use crate::db::listing::{Hints, declared_filters, query_pairs};
use crate::error::{Error, Result};
use crate::policy::TargetBuilder;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/users/{user_id}/application_credentials")
            .route(web::get().to(list_credentials))
            .route(web::head().to(list_credentials))
            .route(web::post().to(create_credential)),
    )
    .service(
        web::resource("/v3/users/{user_id}/application_credentials/{application_credential_id}")
            .route(web::get().to(get_credential))
            .route(web::head().to(get_credential))
            .route(web::delete().to(delete_credential)),
    )
    .service(
        web::resource("/v3/users/{user_id}/access_rules")
            .route(web::get().to(list_rules))
            .route(web::head().to(list_rules)),
    )
    .service(
        web::resource("/v3/users/{user_id}/access_rules/{access_rule_id}")
            .route(web::get().to(get_rule))
            .route(web::head().to(get_rule))
            .route(web::delete().to(delete_rule)),
    );
}

/// A list of this API: Keystone's `filter_by_attributes`, then the paging keystone-rs adds
/// (Keystone's driver fails on `limit`/`marker` here): the members after `marker` (none
/// when no member has that id), at most `limit` of them, with Keystone's links.
fn paged_collection(
    req: &HttpRequest,
    state: &State,
    key: &str,
    members: Vec<Value>,
    hints: &Hints,
) -> Value {
    let mut members = collection::filter_refs(members, hints);
    if let Some(marker) = &hints.marker {
        let id = |m: &Value| m.get("id").and_then(Value::as_str) == Some(marker.as_str());
        members = match members.iter().position(id) {
            Some(at) => members.split_off(at + 1),
            None => Vec::new(),
        };
    }
    let limited = collection::limit_refs(&mut members, Some(hints));
    let url = crate::api::list_url(req, &state.config);
    collection::body(key, members, limited, Some(hints), &url)
}

async fn list_credentials(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let pairs = query_pairs(req.query_string());
    let target = TargetBuilder::new()
        .path_var("user_id", user_id.clone())
        .filters(declared_filters(&pairs, CREDENTIAL_FILTERS))
        .build();
    context::authorize(
        &state,
        &caller,
        "identity:list_application_credentials",
        &target,
    )?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let mut hints = Hints::from_query(&pairs, CREDENTIAL_FILTERS, None, &state.config)?;
    let sql = hints.sql_filters(store::CREDENTIAL_COLUMNS);
    let listed = state
        .db
        .read(move |conn| {
            let found = store::query_for_user(conn, &user_id, &sql)?;
            found
                .into_iter()
                .map(|ac| {
                    let roles = store::roles_with_options(conn, &ac.role_ids)?;
                    Ok((ac, roles))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    let base = base_url(&req, &state.config);
    let members = listed
        .iter()
        .map(|(ac, roles)| credential_json(ac, roles, None, &base))
        .collect();
    let body = paged_collection(&req, &state, "application_credentials", members, &hints);
    Ok(json_response(StatusCode::OK, &body))
}

async fn create_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
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
        .path_var("user_id", user_id.clone())
        .request_body(&body)
        .build();
    context::authorize(
        &state,
        &caller,
        "identity:create_application_credential",
        &target,
    )?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    crate::token::delegated::forbid_restricted(&caller)?;
    if caller.user.id != user_id {
        return Err(Error::forbidden_action(
            "Cannot create an application credential for another user.",
        ));
    }

    let st = state.clone();
    let (c, r) = (caller.clone(), request.clone());
    let prepared = state
        .db
        .read(move |conn| {
            crate::application_credential::prepare_create(
                conn,
                &st.config,
                &c.user.id,
                &c.roles,
                c.scope.project(),
                &r,
                chrono::Utc::now().naive_utc(),
            )
        })
        .await?;
    let secret = request
        .secret
        .clone()
        .unwrap_or_else(crate::application_credential::generate_secret);
    let identity = state.config.identity.clone();
    let to_hash = secret.clone();
    // bcrypt is slow on purpose: off the async workers and outside the write transaction.
    let secret_hash =
        web::block(move || crate::identity::password::hash_password(&to_hash, &identity)).await??;
    let new = NewCredential {
        id: uuid::Uuid::new_v4().simple().to_string(),
        name: request.name,
        secret_hash,
        description: request.description,
        user_id,
        project_id: prepared.project_id,
        system: request.system,
        expires_at: prepared.expires_at,
        unrestricted: request.unrestricted,
        role_ids: prepared.role_ids,
        access_rules: prepared.access_rules,
    };
    let (ac, roles) = state
        .db
        .write(move |conn| {
            let ac = store::insert(conn, &new)?;
            let roles = store::roles_with_options(conn, &ac.role_ids)?;
            Ok((ac, roles))
        })
        .await?;
    let base = base_url(&req, &state.config);
    let body = json!({
        "application_credential": credential_json(&ac, &roles, Some(&secret), &base)
    });
    Ok(json_response(StatusCode::CREATED, &body))
}

/// Keystone replaces the path's user id by the credential's owner before policy, so the
/// owner check is against the real owner.
pub(crate) async fn owner_target(
    state: &State,
    user_id: &str,
    credential_id: &str,
) -> Result<(Value, Option<ApplicationCredential>)> {
    let id = credential_id.to_string();
    let found = state.db.read(move |conn| store::get(conn, &id)).await?;
    let mut target = TargetBuilder::new().path_var("application_credential_id", credential_id);
    target = match &found {
        Some(ac) => target
            .path_var("user_id", ac.user_id.clone())
            .target(json!({"user_id": ac.user_id})),
        None => target.path_var("user_id", user_id),
    };
    Ok((target.build(), found))
}

async fn get_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, credential_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let (target, found) = owner_target(&state, &user_id, &credential_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:get_application_credential",
        &target,
    )?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let ac =
        found.ok_or_else(|| Error::could_not_find("Application Credential", &credential_id))?;
    let ids = ac.role_ids.clone();
    let roles = state
        .db
        .read(move |conn| store::roles_with_options(conn, &ids))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"application_credential": credential_json(&ac, &roles, None, &base)}),
    ))
}

async fn delete_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, credential_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let (target, _) = owner_target(&state, &user_id, &credential_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:delete_application_credential",
        &target,
    )?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    crate::token::delegated::forbid_restricted(&caller)?;
    let id = credential_id.clone();
    // No revocation event: the credential's tokens fail because validation re-reads it.
    let deleted = state
        .db
        .write(move |conn| crate::cascade::delete_application_credential(conn, &id))
        .await?;
    if !deleted {
        return Err(Error::could_not_find(
            "Application Credential",
            &credential_id,
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `target.user`: the path's user as the API shows it, absent when there is none.
async fn user_target(state: &State, user_id: &str) -> Result<TargetBuilder> {
    let id = user_id.to_string();
    let user = state
        .db
        .read(move |conn| crate::identity::store::get(conn, &id))
        .await?;
    let target = TargetBuilder::new().path_var("user_id", user_id);
    Ok(match user {
        Some(u) => {
            let mut m = Map::new();
            m.insert("id".into(), u.id.into());
            m.insert("name".into(), u.name.into());
            m.insert("domain_id".into(), u.domain_id.into());
            m.insert("enabled".into(), u.enabled.into());
            if let Some(p) = u.default_project_id {
                m.insert("default_project_id".into(), p.into());
            }
            m.insert(
                "password_expires_at".into(),
                u.password_expires_at
                    .map(|t| Value::from(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()))
                    .unwrap_or(Value::Null),
            );
            target.entity("user", Value::Object(m))
        }
        None => target,
    })
}

const CREDENTIAL_FILTERS: &[&str] = &["name"];
const RULE_FILTERS: &[&str] = &["service", "path", "method"];

async fn list_rules(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let pairs = query_pairs(req.query_string());
    let target = user_target(&state, &user_id)
        .await?
        .filters(declared_filters(&pairs, RULE_FILTERS))
        .build();
    context::authorize(&state, &caller, "identity:list_access_rules", &target)?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let hints = Hints::from_query(&pairs, RULE_FILTERS, None, &state.config)?;
    let rules = state
        .db
        .read(move |conn| store::list_rules(conn, &user_id))
        .await?;
    let base = base_url(&req, &state.config);
    let members = rules.iter().map(|r| rule_json(r, Some(&base))).collect();
    let body = paged_collection(&req, &state, "access_rules", members, &hints);
    Ok(json_response(StatusCode::OK, &body))
}

async fn get_rule(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, rule_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = user_target(&state, &user_id)
        .await?
        .path_var("access_rule_id", rule_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:get_access_rule", &target)?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let id = rule_id.clone();
    let rule = state
        .db
        .read(move |conn| store::get_rule(conn, &id, &user_id))
        .await?
        .ok_or_else(|| Error::could_not_find("Access Rule", &rule_id))?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"access_rule": rule_json(&rule, Some(&base))}),
    ))
}

async fn delete_rule(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, rule_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = user_target(&state, &user_id)
        .await?
        .path_var("access_rule_id", rule_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:delete_access_rule", &target)?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let id = rule_id.clone();
    let outcome = state
        .db
        .write(move |conn| store::delete_rule(conn, &id, &user_id))
        .await?;
    match outcome {
        RuleDeletion::Deleted => Ok(HttpResponse::NoContent().finish()),
        RuleDeletion::NotFound => Err(Error::could_not_find("Access Rule", &rule_id)),
        RuleDeletion::InUse => Err(Error::new(
            StatusCode::FORBIDDEN,
            "May not delete access rule in use",
        )),
    }
}
