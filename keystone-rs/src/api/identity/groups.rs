//! `/v3/groups…` handlers.

use super::backends;
use super::{
    caller_domain, collection, fill_domain_id, json_response, member, no_content, normalize_keys,
    require_matching_id,
};
use crate::context::{self, json_body};
use crate::db::enums::EntityType;
use crate::db::listing::{Hints, declared_filters, query_pairs};
use crate::error::{Error, Result};
use crate::identity::groups as ops;
use crate::identity::{Group, UserDetails, schema, store};
use crate::policy::TargetBuilder;
use crate::python::jsonschema;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

async fn load(state: &State, group_id: &str) -> Result<Option<Group>> {
    if let Some((domain, local)) = backends::of_id(state, group_id, EntityType::Group).await? {
        return state
            .db
            .write(
                move |conn| match crate::ldap::get_group(conn, &domain, &local) {
                    Ok(g) => Ok(Some(g)),
                    Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
                    Err(e) => Err(e),
                },
            )
            .await;
    }
    let id = group_id.to_string();
    state
        .db
        .read(move |conn| store::groups::get(conn, &id))
        .await
}

/// Keystone's group target: `target.group` when the group exists.
fn group_target(group_id: &str, group: Option<&Group>) -> TargetBuilder {
    let t = TargetBuilder::new().path_var("group_id", group_id);
    match group {
        Some(g) => t.entity("group", g.to_dict()),
        None => t,
    }
}

pub async fn list(state: State, req: HttpRequest) -> Result<HttpResponse> {
    const FILTERS: [&str; 2] = ["domain_id", "name"];
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::GROUP_LIST_QUERY, &pairs)?;
    let caller = context::caller(&state, &req).await?;
    let domain = caller_domain(&caller);
    let mut target = TargetBuilder::new();
    if let Some(d) = &domain {
        target = target.target(json!({"group": {"domain_id": d}}));
    }
    let target = target.filters(declared_filters(&pairs, &FILTERS)).build();
    context::authorize(&state, &caller, "identity:list_groups", &target)?;
    let mut hints = Hints::from_query(&pairs, &FILTERS, None, &state.config)?;
    let query_domain = hints.exact("domain_id").map(|f| f.value.clone());
    let list_domain = backends::list_domain(&state, &caller, query_domain.as_deref())?;
    let base = context::base_url(&req, &state.config);
    if let Some(ldap) = backends::of_domain(&state, list_domain.as_deref()).await? {
        let (groups, hints) = state
            .db
            .write(move |conn| {
                let groups = crate::ldap::list_groups(conn, &ldap, &mut hints)?;
                Ok((groups, hints))
            })
            .await?;
        let refs = groups.iter().map(|g| g.to_json(&base, None)).collect();
        return Ok(collection(&state, &req, "groups", refs, Some(&hints)));
    }
    if let Some(d) = list_domain.filter(|_| query_domain.is_none()) {
        hints.add_filter("domain_id", &d);
    }
    let st = state.clone();
    let (groups, hints) = state
        .db
        .read(move |conn| {
            let groups = ops::list(conn, &st.config, &mut hints)?;
            Ok((groups, hints))
        })
        .await?;
    let refs: Vec<Value> = groups
        .iter()
        .filter(|g| domain.as_ref().is_none_or(|d| &g.domain_id == d))
        .map(|g| g.to_json(&base, None))
        .collect();
    Ok(collection(&state, &req, "groups", refs, Some(&hints)))
}

pub async fn create(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let body = json_body(&req, &body)?;
    jsonschema::validate(&schema::GROUP_CREATE, &body)?;
    let caller = context::caller(&state, &req).await?;
    let group = member(&body, "group");
    let target = TargetBuilder::new()
        .target(json!({"group": group}))
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:create_group", &target)?;
    let mut group = normalize_keys(&group);
    fill_domain_id(&mut group, &caller, &state);
    let domain_id = group.get("domain_id").and_then(Value::as_str);
    if backends::of_domain(&state, domain_id).await?.is_some() {
        return Err(crate::ldap::read_only());
    }
    let created = state
        .db
        .write(move |conn| ops::create(conn, &group))
        .await?;
    let base = context::base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"group": created.to_json(&base, None)}),
    ))
}

pub async fn get(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse> {
    let group_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let group = load(&state, &group_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:get_group",
        &group_target(&group_id, group.as_ref()).build(),
    )?;
    let group = group.ok_or_else(|| Error::could_not_find("group", &group_id))?;
    let base = context::base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"group": group.to_json(&base, None)}),
    ))
}

pub async fn update(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let group_id = path.into_inner();
    let body = json_body(&req, &body)?;
    jsonschema::validate(&schema::GROUP_UPDATE, &body)?;
    let caller = context::caller(&state, &req).await?;
    let group = load(&state, &group_id).await?;
    let target = group_target(&group_id, group.as_ref())
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:update_group", &target)?;
    backends::refuse_write_to(&state, &group_id, EntityType::Group).await?;
    let changes = member(&body, "group");
    require_matching_id(&changes, &group_id)?;
    let updated = state
        .db
        .write(move |conn| ops::update(conn, &group_id, &changes))
        .await?;
    let base = context::base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"group": updated.to_json(&base, None)}),
    ))
}

pub async fn delete(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let group_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    // Keystone loads the target itself here, so an unknown group is a 404 before policy.
    let group = load(&state, &group_id)
        .await?
        .ok_or_else(|| Error::could_not_find("group", &group_id))?;
    context::authorize(
        &state,
        &caller,
        "identity:delete_group",
        &group_target(&group_id, Some(&group)).build(),
    )?;
    backends::refuse_write_to(&state, &group_id, EntityType::Group).await?;
    let st = state.clone();
    state
        .db
        .write(move |conn| {
            crate::cascade::delete_group(conn, crate::revoke::retention_secs(&st.config), &group_id)
        })
        .await?;
    Ok(no_content())
}

pub async fn members(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    const FILTERS: [&str; 4] = ["domain_id", "enabled", "name", "password_expires_at"];
    let group_id = path.into_inner();
    let pairs = query_pairs(req.query_string());
    let caller = context::caller(&state, &req).await?;
    let group = load(&state, &group_id).await?;
    let mut target = TargetBuilder::new().path_var("group_id", group_id.as_str());
    if let Some(g) = &group {
        target = target.target(json!({"group": g.to_dict()}));
    }
    let target = target.filters(declared_filters(&pairs, &FILTERS)).build();
    context::authorize(&state, &caller, "identity:list_users_in_group", &target)?;
    let mut hints = Hints::from_query(&pairs, &FILTERS, None, &state.config)?;
    group.ok_or_else(|| Error::could_not_find("group", &group_id))?;
    let base = context::base_url(&req, &state.config);
    if let Some((ldap, local)) = backends::of_id(&state, &group_id, EntityType::Group).await? {
        let users = state
            .db
            .write(move |conn| crate::ldap::users_in_group(conn, &ldap, &local))
            .await?;
        let refs = users.iter().map(|u| u.to_json(&base, false)).collect();
        return Ok(collection(&state, &req, "users", refs, Some(&hints)));
    }
    let st = state.clone();
    let (users, hints) = state
        .db
        .read(move |conn| {
            let users =
                crate::identity::users::list_in_group(conn, &st.config, &group_id, &mut hints)?;
            Ok((users, hints))
        })
        .await?;
    let domain = caller_domain(&caller);
    let refs: Vec<Value> = users
        .iter()
        .filter(|u: &&UserDetails| domain.as_ref().is_none_or(|d| &u.user.domain_id == d))
        .map(|u| u.to_json(&base, false))
        .collect();
    Ok(collection(&state, &req, "users", refs, Some(&hints)))
}

/// Keystone's membership target: `target.group` and `target.user` when they exist.
async fn membership_target(state: &State, group_id: &str, user_id: &str) -> Result<Value> {
    let group = load(state, group_id).await?;
    let user = super::users::load(state, user_id).await?;
    let mut t = TargetBuilder::new()
        .path_var("group_id", group_id)
        .path_var("user_id", user_id);
    if let Some(g) = group {
        t = t.entity("group", g.to_dict());
    }
    if let Some(u) = user {
        t = t.entity("user", u.to_dict(false));
    }
    Ok(t.build())
}

pub async fn check_member(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (group_id, user_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = membership_target(&state, &group_id, &user_id).await?;
    context::authorize(&state, &caller, "identity:check_user_in_group", &target)?;
    if let Some((ldap, local_group)) = backends::of_id(&state, &group_id, EntityType::Group).await?
    {
        return check_ldap_member(&state, ldap, &local_group, &group_id, &user_id).await;
    }
    let st = state.clone();
    state
        .db
        .read(move |conn| ops::check_user(conn, &st.config, &user_id, &group_id))
        .await?;
    Ok(no_content())
}

pub async fn add_member(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (group_id, user_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = membership_target(&state, &group_id, &user_id).await?;
    context::authorize(&state, &caller, "identity:add_user_to_group", &target)?;
    backends::refuse_write_to(&state, &group_id, EntityType::Group).await?;
    state
        .db
        .write(move |conn| ops::add_user(conn, &user_id, &group_id))
        .await?;
    Ok(no_content())
}

pub async fn remove_member(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (group_id, user_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = membership_target(&state, &group_id, &user_id).await?;
    context::authorize(&state, &caller, "identity:remove_user_from_group", &target)?;
    backends::refuse_write_to(&state, &group_id, EntityType::Group).await?;
    let st = state.clone();
    state
        .db
        .write(move |conn| ops::remove_user(conn, &st.config, &user_id, &group_id))
        .await?;
    Ok(no_content())
}

/// `check_user_in_group` for a directory group: the user must be of the same directory
/// (Keystone's `CrossBackendNotAllowed` otherwise), then a member.
async fn check_ldap_member(
    state: &State,
    ldap: crate::ldap::LdapDomain,
    local_group: &str,
    group_id: &str,
    user_id: &str,
) -> Result<HttpResponse> {
    let not_member =
        || Error::not_found(format!("User '{user_id}' not found in group '{group_id}'"));
    let Some((user_domain, local_user)) = backends::of_id(state, user_id, EntityType::User).await?
    else {
        return Err(not_member());
    };
    if user_domain.domain_id != ldap.domain_id {
        return Err(not_member());
    }
    let local_group = local_group.to_string();
    let member =
        web::block(move || crate::ldap::is_member(&ldap, &local_user, &local_group)).await??;
    if member {
        Ok(no_content())
    } else {
        Err(not_member())
    }
}
