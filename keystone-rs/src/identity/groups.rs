//! Group operations with Keystone's rules: create, update, delete (revoking members'
//! tokens when the group held roles), membership, lists.

use super::store::groups as group_store;
use super::users::{duplicate_name, string_too_long};
use super::{Group, new_id};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::db::listing::{Hints, list_limit, max_db_limit};
use crate::error::{Error, Result};
use crate::resource::store as resource_store;
use crate::revoke::{self, RevocationEvent};
use chrono::NaiveDateTime;
use serde_json::{Map, Value};

/// `Group.attributes`: everything else in a request is stored in `extra`.
const ATTRIBUTES: [&str; 5] = ["id", "name", "domain_id", "description", "extra"];

fn extras_of(group: &Map<String, Value>) -> Map<String, Value> {
    group
        .iter()
        .filter(|(k, _)| !ATTRIBUTES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn check_name_width(name: &str) -> Result<()> {
    if name.chars().count() > group_store::GROUP_NAME_WIDTH {
        return Err(string_too_long(name, "name", group_store::GROUP_NAME_WIDTH));
    }
    Ok(())
}

pub fn get(conn: &mut AnyConnection, group_id: &str) -> Result<Group> {
    group_store::get(conn, group_id)?.ok_or_else(|| Error::could_not_find("group", group_id))
}

/// `POST /v3/groups`; `group` has Keystone's key normalisation and its `domain_id`.
pub fn create(conn: &mut AnyConnection, group: &Map<String, Value>) -> Result<Group> {
    let domain_id = group
        .get("domain_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    resource_store::get_domain(conn, &domain_id)?
        .ok_or_else(|| Error::could_not_find("domain", &domain_id))?;
    let name = group
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string();
    // `description` defaults to "" when absent; an explicit null stays null.
    let description = match group.get("description") {
        None => Some(String::new()),
        Some(v) => v.as_str().map(str::to_string),
    };
    check_name_width(&name)?;
    if group_store::name_taken(conn, &domain_id, &name, None)? {
        return Err(duplicate_name("group", &name, Some(&domain_id)));
    }
    let g = group_store::new_group(new_id(), domain_id, name, description, extras_of(group));
    group_store::insert(conn, &g)?;
    Ok(g)
}

/// `PATCH /v3/groups/{group_id}` after the API's id check.
pub fn update(
    conn: &mut AnyConnection,
    group_id: &str,
    changes: &Map<String, Value>,
) -> Result<Group> {
    let mut g = get(conn, group_id)?;
    if let Some(domain) = changes.get("domain_id") {
        if domain.as_str() != Some(g.domain_id.as_str()) {
            return Err(Error::bad_request("Cannot change Domain ID"));
        }
    }
    if let Some(name) = changes.get("name").and_then(Value::as_str) {
        let name = name.trim().to_string();
        check_name_width(&name)?;
        if group_store::name_taken(conn, &g.domain_id, &name, Some(group_id))? {
            return Err(duplicate_name(
                "group",
                &name,
                changes.get("domain_id").and_then(Value::as_str),
            ));
        }
        g.name = name;
    }
    if let Some(description) = changes.get("description") {
        g.description = description.as_str().map(str::to_string);
    }
    for (k, v) in extras_of(changes) {
        g.extra.insert(k, v);
    }
    group_store::update(conn, &g)?;
    Ok(g)
}

/// The identity part of deleting a group: its own rows; when it held roles
/// (`had_roles`, which `crate::cascade::delete_group` reads before it removes the grants),
/// a user event per member, as Keystone revokes the members' tokens.
pub fn delete(
    conn: &mut AnyConnection,
    retention_secs: i64,
    group_id: &str,
    had_roles: bool,
) -> Result<()> {
    get(conn, group_id)?;
    let members = group_store::member_ids(conn, group_id)?;
    group_store::delete(conn, group_id)?;
    if had_roles {
        for user_id in members {
            revoke::store::insert(conn, &RevocationEvent::for_user(&user_id), retention_secs)?;
        }
    }
    Ok(())
}

/// The group, then the user, must exist (Keystone's driver order).
fn both_exist(conn: &mut AnyConnection, user_id: &str, group_id: &str) -> Result<()> {
    get(conn, group_id)?;
    super::users::require(conn, user_id)?;
    Ok(())
}

fn not_in_group(user_id: &str, group_id: &str) -> Error {
    Error::not_found(format!("User '{user_id}' not found in group '{group_id}'"))
}

pub fn add_user(conn: &mut AnyConnection, user_id: &str, group_id: &str) -> Result<()> {
    both_exist(conn, user_id, group_id)?;
    group_store::add_member(conn, user_id, group_id)
}

/// Removing a member revokes the user's tokens (its roles may shrink).
pub fn remove_user(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    group_id: &str,
) -> Result<()> {
    if !group_store::remove_member(conn, user_id, group_id)? {
        both_exist(conn, user_id, group_id)?;
        return Err(not_in_group(user_id, group_id));
    }
    revoke::store::insert(
        conn,
        &RevocationEvent::for_user(user_id),
        revoke::retention_secs(config),
    )
}

fn default_ttl(config: &Config) -> Option<i64> {
    config
        .get("federation", "default_authorization_ttl")
        .and_then(|v| v.trim().parse().ok())
}

pub fn check_user(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    group_id: &str,
) -> Result<()> {
    both_exist(conn, user_id, group_id)?;
    if group_store::is_member(conn, user_id, group_id)? {
        return Ok(());
    }
    let active = group_store::active_expiring_memberships(conn, user_id, default_ttl(config))?;
    if active.iter().any(|(g, _)| g == group_id) {
        return Ok(());
    }
    Err(not_in_group(user_id, group_id))
}

/// `GET /v3/groups`.
pub fn list(conn: &mut AnyConnection, config: &Config, hints: &mut Hints) -> Result<Vec<Group>> {
    if let Some(limit) = list_limit(config, "identity") {
        hints.set_limit(limit, false);
    }
    let max = max_db_limit(config);
    hints.truncated(|h| {
        let groups = group_store::list(conn, h, max)?;
        h.assume_truncated(groups.len());
        Ok(groups)
    })
}

/// `GET /v3/users/{user_id}/groups`: the groups with their membership expiry (`None` for
/// ordinary memberships), ordinary ones first.
pub fn list_for_user(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    hints: &mut Hints,
) -> Result<Vec<(Group, Option<NaiveDateTime>)>> {
    super::users::require(conn, user_id)?;
    if let Some(limit) = list_limit(config, "identity") {
        hints.set_limit(limit, false);
    }
    let max = max_db_limit(config);
    let mut out: Vec<(Group, Option<NaiveDateTime>)> =
        group_store::list_for_user(conn, user_id, hints, max)?
            .into_iter()
            .map(|g| (g, None))
            .collect();
    let expiring = group_store::active_expiring_memberships(conn, user_id, default_ttl(config))?;
    if !expiring.is_empty() {
        let ids: Vec<String> = expiring.iter().map(|(g, _)| g.clone()).collect();
        for g in group_store::get_many(conn, &ids)? {
            let expires = expiring.iter().find(|(id, _)| id == &g.id).map(|(_, e)| *e);
            out.push((g, expires));
        }
    }
    Ok(out)
}

/// The ids of a user's groups from the user's own backend: the directory for a user of
/// an LDAP domain, else the SQL memberships.
pub fn ids_of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<String>> {
    match super::remote::group_ids_of(conn, user_id)? {
        Some(ids) => Ok(ids),
        None => super::store::group_ids(conn, user_id),
    }
}
