//! `/v3/users…` handlers.

use super::backends;
use super::{
    caller_domain, collection, fill_domain_id, json_response, member, no_content, normalize_keys,
    require_matching_id,
};
use crate::context::{self, json_body};
use crate::db::enums::EntityType;
use crate::db::listing::{Hints, declared_filters, query_pairs};
use crate::error::{Error, Result};
use crate::identity::users::{self as ops, PasswordInput};
use crate::identity::{UserDetails, lockout, password, schema, store};
use crate::policy::TargetBuilder;
use crate::python::jsonschema;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

const LIST_FILTERS: [&str; 7] = [
    "domain_id",
    "enabled",
    "idp_id",
    "name",
    "protocol_id",
    "unique_id",
    "password_expires_at",
];

/// The user (with options) as Keystone shows it, for a policy target, if it exists.
pub(super) async fn load(state: &State, user_id: &str) -> Result<Option<UserDetails>> {
    if let Some((domain, local)) = backends::of_id(state, user_id, EntityType::User).await? {
        return state
            .db
            .write(
                move |conn| match crate::ldap::get_user(conn, &domain, &local) {
                    Ok(u) => Ok(Some(u)),
                    Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
                    Err(e) => Err(e),
                },
            )
            .await;
    }
    let id = user_id.to_string();
    let mut user = state
        .db
        .read(move |conn| store::get_details(conn, &id))
        .await?;
    if let Some(d) = &mut user {
        crate::identity::inactivity::apply_details(&state.config, d);
    }
    Ok(user)
}

/// Keystone's `_build_user_target_enforcement`: `target.user` when the user exists.
fn user_target(user_id: &str, user: Option<&UserDetails>) -> TargetBuilder {
    let t = TargetBuilder::new().path_var("user_id", user_id);
    match user {
        Some(u) => t.entity("user", u.to_dict(false)),
        None => t,
    }
}

/// A new password from a request, hashed on the blocking pool.
pub(super) async fn hashed(
    state: &State,
    user: &serde_json::Map<String, Value>,
) -> Result<PasswordInput> {
    if let Some(p) = user.get("password") {
        ops::validate_password(&state.config, p)?;
    }
    match user.get("password") {
        None => Ok(PasswordInput::Absent),
        Some(Value::String(p)) => {
            let (p, st) = (p.clone(), state.clone());
            let hash =
                web::block(move || password::hash_password(&p, &st.config.identity)).await??;
            Ok(PasswordInput::Hashed(hash))
        }
        Some(_) => Ok(PasswordInput::Null),
    }
}

pub async fn list(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::USER_LIST_QUERY, &pairs)?;
    let mut hints = Hints::from_query(&pairs, &LIST_FILTERS, None, &state.config)?;
    let caller = context::caller(&state, &req).await?;
    let domain = caller_domain(&caller);
    let mut target = TargetBuilder::new();
    if let Some(d) = &domain {
        target = target.target(json!({"domain_id": d}));
    }
    let target = target
        .filters(declared_filters(&pairs, &LIST_FILTERS))
        .build();
    context::authorize(&state, &caller, "identity:list_users", &target)?;
    let query_domain = hints.exact("domain_id").map(|f| f.value.clone());
    let list_domain = backends::list_domain(&state, &caller, query_domain.as_deref())?;
    let base = context::base_url(&req, &state.config);
    if let Some(ldap) = backends::of_domain(&state, list_domain.as_deref()).await? {
        let (users, hints) = state
            .db
            .write(move |conn| {
                let users = crate::ldap::list_users(conn, &ldap, &mut hints)?;
                Ok((users, hints))
            })
            .await?;
        let refs = users.iter().map(|u| u.to_json(&base, false)).collect();
        return Ok(collection(&state, &req, "users", refs, Some(&hints)));
    }
    if let Some(d) = list_domain.filter(|_| query_domain.is_none()) {
        hints.add_filter("domain_id", &d);
    }
    let st = state.clone();
    let scope = domain.clone();
    let (users, hints) = state
        .db
        .read(move |conn| {
            let users = ops::list(conn, &st.config, &mut hints, scope.as_deref())?;
            Ok((users, hints))
        })
        .await?;
    let refs: Vec<Value> = users
        .iter()
        .filter(|u| domain.as_ref().is_none_or(|d| &u.user.domain_id == d))
        .map(|u| u.to_json(&base, false))
        .collect();
    Ok(collection(&state, &req, "users", refs, Some(&hints)))
}

pub async fn create(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let body = json_body(&req, &body)?;
    schema::validate_user_create(&body)?;
    let caller = context::caller(&state, &req).await?;
    let user = member(&body, "user");
    let target = TargetBuilder::new()
        .target(json!({"user": user}))
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:create_user", &target)?;
    let mut user = normalize_keys(&user);
    fill_domain_id(&mut user, &caller, &state);
    let domain_id = user.get("domain_id").and_then(Value::as_str);
    if backends::of_domain(&state, domain_id).await?.is_some() {
        return Err(crate::ldap::read_only());
    }
    let password = hashed(&state, &user).await?;
    let st = state.clone();
    let created = state
        .db
        .write(move |conn| ops::create(conn, &st.config, &user, &password))
        .await?;
    let base = context::base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"user": created.to_json(&base, false)}),
    ))
}

pub async fn get(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let user = load(&state, &user_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:get_user",
        &user_target(&user_id, user.as_ref()).build(),
    )?;
    let user = user.ok_or_else(|| Error::could_not_find("user", &user_id))?;
    let base = context::base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"user": user.to_json(&base, false)}),
    ))
}

pub async fn update(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let body = json_body(&req, &body)?;
    schema::validate_user_update(&body)?;
    let caller = context::caller(&state, &req).await?;
    let user = load(&state, &user_id).await?;
    let target = user_target(&user_id, user.as_ref())
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:update_user", &target)?;
    user.ok_or_else(|| Error::could_not_find("user", &user_id))?;
    backends::refuse_write_to(&state, &user_id, EntityType::User).await?;
    let changes = member(&body, "user");
    require_matching_id(&changes, &user_id)?;
    let password = hashed(&state, &changes).await?;
    let st = state.clone();
    let id = user_id.clone();
    let updated = state
        .db
        .write(move |conn| ops::update(conn, &st.config, &id, &changes, &password))
        .await?;
    let base = context::base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"user": updated.to_json(&base, true)}),
    ))
}

pub async fn delete(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let user = load(&state, &user_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:delete_user",
        &user_target(&user_id, user.as_ref()).build(),
    )?;
    backends::refuse_write_to(&state, &user_id, EntityType::User).await?;
    let st = state.clone();
    state
        .db
        .write(move |conn| {
            crate::cascade::delete_user(conn, crate::revoke::retention_secs(&st.config), &user_id)
        })
        .await?;
    Ok(no_content())
}

/// `POST /v3/users/{user_id}/password`: unenforced; the original password is the proof.
pub async fn change_password(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let body = json_body(&req, &body)?;
    let user = body.get("user").cloned().unwrap_or_else(|| json!({}));
    schema::validate_password_change(&user)?;
    backends::refuse_write_to(&state, &user_id, EntityType::User).await?;
    let original = user
        .get("original_password")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let new_password = user
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();

    let id = user_id.clone();
    let st = state.clone();
    // Keystone's change_password authenticates with the original password first: the
    // lockout applies, and a wrong original password counts as a failed login.
    let found = state
        .db
        .write(move |conn| {
            let found = ops::password_change_state(conn, &id)?;
            if let Some(s) = &found {
                lockout::check_not_locked(conn, &st.config, &id, &s.options)?;
            }
            Ok(found)
        })
        .await?;
    let denied = |why: &str| Error::unauthorized_because(format!("password change refused: {why}"));
    let state_now = found.ok_or_else(|| denied("unknown user"))?;
    let current = state_now.history.last().and_then(|p| p.hash.clone());
    let st = state.clone();
    let matches = web::block(move || match current {
        Some(hash) => password::check_password(&original, &hash, &st.config.identity),
        None => Ok(false),
    })
    .await??;
    let st = state.clone();
    let id = user_id.clone();
    state
        .db
        .write(move |conn| {
            if matches {
                lockout::record_success(conn, &id)
            } else {
                lockout::record_failure(conn, &st.config, &id)
            }
        })
        .await?;
    if !matches {
        return Err(denied("wrong original password"));
    }
    ops::check_password_change_allowed(&state.config, &state_now, &new_password)?;
    let (count, previous) = ops::history_to_check(&state.config, &state_now);
    let st = state.clone();
    let candidate = new_password.clone();
    let reused = web::block(move || -> Result<bool> {
        for old in &previous {
            if password::check_password(&candidate, old, &st.config.identity)? {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await??;
    if reused {
        return Err(ops::password_reused(count));
    }
    let st = state.clone();
    let hash =
        web::block(move || password::hash_password(&new_password, &st.config.identity)).await??;
    let st = state.clone();
    state
        .db
        .write(move |conn| ops::store_changed_password(conn, &st.config, &user_id, &hash))
        .await?;
    Ok(no_content())
}

pub async fn groups(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    const FILTERS: [&str; 1] = ["name"];
    let user_id = path.into_inner();
    let pairs = query_pairs(req.query_string());
    let mut hints = Hints::from_query(&pairs, &FILTERS, None, &state.config)?;
    let caller = context::caller(&state, &req).await?;
    let user = load(&state, &user_id).await?;
    let target = user_target(&user_id, user.as_ref())
        .filters(declared_filters(&pairs, &FILTERS))
        .build();
    context::authorize(&state, &caller, "identity:list_groups_for_user", &target)?;
    let base = context::base_url(&req, &state.config);
    if let Some((ldap, local)) = backends::of_id(&state, &user_id, EntityType::User).await? {
        let (groups, hints) = state
            .db
            .write(move |conn| {
                let groups = crate::ldap::groups_of_user(conn, &ldap, &local, &mut hints)?;
                Ok((groups, hints))
            })
            .await?;
        let refs = groups.iter().map(|g| g.to_json(&base, None)).collect();
        return Ok(super::collection(
            &state,
            &req,
            "groups",
            refs,
            Some(&hints),
        ));
    }
    let st = state.clone();
    let (groups, hints) = state
        .db
        .read(move |conn| {
            let groups =
                crate::identity::groups::list_for_user(conn, &st.config, &user_id, &mut hints)?;
            Ok((groups, hints))
        })
        .await?;
    let domain = caller_domain(&caller);
    let refs: Vec<Value> = groups
        .iter()
        .filter(|(g, _)| domain.as_ref().is_none_or(|d| &g.domain_id == d))
        .map(|(g, expires)| g.to_json(&base, Some(*expires)))
        .collect();
    Ok(super::collection(
        &state,
        &req,
        "groups",
        refs,
        Some(&hints),
    ))
}

/// Projects on which the user has any effective role (direct, group, inherited).
pub async fn projects(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    const FILTERS: [&str; 3] = ["domain_id", "enabled", "name"];
    let user_id = path.into_inner();
    let pairs = query_pairs(req.query_string());
    let caller = context::caller(&state, &req).await?;
    let user = load(&state, &user_id).await?;
    let target = user_target(&user_id, user.as_ref())
        .filters(declared_filters(&pairs, &FILTERS))
        .build();
    context::authorize(&state, &caller, "identity:list_user_projects", &target)?;
    let hints = Hints::from_query(&pairs, &FILTERS, None, &state.config)?;
    user.ok_or_else(|| Error::could_not_find("user", &user_id))?;
    let projects = state
        .db
        .read(move |conn| {
            let (ids, _) = crate::assignment::store::targets_with_roles(conn, &user_id)?;
            let mut projects = crate::resource::store::get_projects(conn, &ids)?;
            projects.retain(|p| !p.is_domain);
            projects.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(projects)
        })
        .await?;
    let base = context::base_url(&req, &state.config);
    let refs: Vec<Value> = projects.iter().map(|p| p.to_project_json(&base)).collect();
    Ok(super::collection(
        &state,
        &req,
        "projects",
        refs,
        Some(&hints),
    ))
}

/// `DELETE /v3/users/{user_id}/tokens`: revoke every token of the user.
pub async fn revoke_tokens(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let user = load(&state, &user_id).await?;
    let target = user_target(&user_id, user.as_ref()).build();
    context::authorize(&state, &caller, "identity:revoke_tokens_for_user", &target)?;
    let st = state.clone();
    state
        .db
        .write(move |conn| ops::revoke_tokens(conn, &st.config, &user_id))
        .await?;
    Ok(no_content())
}
