//! SQL for roles and assignments, and the effective-role queries.

use super::{NULL_DOMAIN_ID, Role, expand_implied};
use crate::db::AnyConnection;
use crate::db::schema::{assignment, implied_role, role, system_assignment};
use crate::error::Result;
use crate::identity::store::{group_ids, parse_extra};
use crate::resource::{Project, store as resource_store};
use diesel::prelude::*;
use std::collections::BTreeMap;

pub use crate::db::enums::AssignmentType;
pub const USER_SYSTEM: &str = "UserSystem";
pub const GROUP_SYSTEM: &str = "GroupSystem";
pub const SYSTEM_TARGET: &str = "system";

type RoleRow = (String, String, Option<String>, String, Option<String>);

fn role_from_row(r: RoleRow) -> Role {
    let (id, name, extra, domain_id, description) = r;
    Role {
        id,
        name,
        domain_id: (domain_id != NULL_DOMAIN_ID).then_some(domain_id),
        description,
        extra: parse_extra(extra.as_deref()),
    }
}

fn role_columns() -> (
    role::id,
    role::name,
    role::extra,
    role::domain_id,
    role::description,
) {
    (
        role::id,
        role::name,
        role::extra,
        role::domain_id,
        role::description,
    )
}

pub fn get_role(conn: &mut AnyConnection, id: &str) -> Result<Option<Role>> {
    let row: Option<RoleRow> = role::table
        .filter(role::id.eq(id))
        .select(role_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(role_from_row))
}

pub fn find_global_role_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Role>> {
    let row: Option<RoleRow> = role::table
        .filter(role::name.eq(name))
        .filter(role::domain_id.eq(NULL_DOMAIN_ID))
        .select(role_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(role_from_row))
}

pub fn get_roles(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Role>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<RoleRow> = role::table
        .filter(role::id.eq_any(ids))
        .select(role_columns())
        .load(conn)?;
    Ok(rows.into_iter().map(role_from_row).collect())
}

pub fn implications(conn: &mut AnyConnection) -> Result<BTreeMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = implied_role::table
        .select((implied_role::prior_role_id, implied_role::implied_role_id))
        .load(conn)?;
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (prior, implied) in rows {
        map.entry(prior).or_default().push(implied);
    }
    Ok(map)
}

/// Role ids granted directly on `targets` to the actors, with the given inheritance flag.
fn granted(
    conn: &mut AnyConnection,
    actors: &[String],
    targets: &[String],
    inherited: bool,
) -> Result<Vec<String>> {
    if actors.is_empty() || targets.is_empty() {
        return Ok(vec![]);
    }
    Ok(assignment::table
        .filter(assignment::actor_id.eq_any(actors))
        .filter(assignment::target_id.eq_any(targets))
        .filter(assignment::inherited.eq(inherited))
        .select(assignment::role_id)
        .load(conn)?)
}

fn actors(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<String>> {
    let mut actors = vec![user_id.to_string()];
    actors.extend(group_ids(conn, user_id)?);
    Ok(actors)
}

/// Expand implications, drop domain-specific roles, de-duplicate, keep first-seen order.
fn finish(
    conn: &mut AnyConnection,
    direct: Vec<String>,
    strip_domain_roles: bool,
) -> Result<Vec<Role>> {
    let implications = implications(conn)?;
    let ids = expand_implied(&direct, &implications);
    let mut roles = get_roles(conn, &ids)?;
    let order: BTreeMap<&String, usize> = ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
    roles.sort_by_key(|r| order.get(&r.id).copied().unwrap_or(usize::MAX));
    if strip_domain_roles {
        roles.retain(|r| r.domain_id.is_none());
    }
    Ok(roles)
}

/// Effective roles of a user on a project: direct, group, inherited from the domain and
/// from ancestors, expanded through implied roles; domain-specific roles removed.
pub fn roles_on_project(
    conn: &mut AnyConnection,
    user_id: &str,
    project: &Project,
) -> Result<Vec<Role>> {
    let actors = actors(conn, user_id)?;
    let mut direct = granted(conn, &actors, std::slice::from_ref(&project.id), false)?;
    let mut inherited_from = resource_store::ancestor_ids(conn, project)?;
    inherited_from.extend(project.domain_id.clone());
    direct.extend(granted(conn, &actors, &inherited_from, true)?);
    finish(conn, direct, true)
}

/// Effective roles of a user on a domain (direct and group grants, no inheritance).
pub fn roles_on_domain(
    conn: &mut AnyConnection,
    user_id: &str,
    domain_id: &str,
) -> Result<Vec<Role>> {
    let actors = actors(conn, user_id)?;
    let direct = granted(conn, &actors, &[domain_id.to_string()], false)?;
    finish(conn, direct, true)
}

/// System roles of the user and its groups, expanded.
pub fn roles_on_system(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<Role>> {
    let actors = actors(conn, user_id)?;
    let direct: Vec<String> = system_assignment::table
        .filter(system_assignment::actor_id.eq_any(&actors))
        .filter(system_assignment::target_id.eq(SYSTEM_TARGET))
        .select(system_assignment::role_id)
        .load(conn)?;
    finish(conn, direct, false)
}

/// Project ids and domain ids on which the user (or its groups) holds any role, including
/// inherited grants (for `/v3/auth/projects` and `/v3/auth/domains`).
pub fn targets_with_roles(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let actors = actors(conn, user_id)?;
    let rows: Vec<(AssignmentType, String, bool)> = assignment::table
        .filter(assignment::actor_id.eq_any(&actors))
        .select((
            assignment::type_,
            assignment::target_id,
            assignment::inherited,
        ))
        .load(conn)?;
    let mut projects = Vec::new();
    let mut domains = Vec::new();
    for (kind, target, inherited) in rows {
        let is_domain = matches!(
            kind,
            AssignmentType::UserDomain | AssignmentType::GroupDomain
        );
        match (is_domain, inherited) {
            (true, false) => domains.push(target),
            (true, true) => projects.extend(resource_store::project_ids_in_domain(conn, &target)?),
            (false, false) => projects.push(target),
            (false, true) => projects.extend(subtree_ids(conn, &target)?),
        }
    }
    projects.sort();
    projects.dedup();
    domains.sort();
    domains.dedup();
    Ok((projects, domains))
}

/// Ids of the projects strictly below `project_id`.
pub fn subtree_ids(conn: &mut AnyConnection, project_id: &str) -> Result<Vec<String>> {
    use crate::db::schema::project;
    let mut out = Vec::new();
    let mut frontier = vec![project_id.to_string()];
    while !frontier.is_empty() && out.len() < 100_000 {
        let children: Vec<String> = project::table
            .filter(project::parent_id.eq_any(&frontier))
            .filter(project::is_domain.eq(false))
            .select(project::id)
            .load(conn)?;
        frontier = children
            .iter()
            .filter(|c| !out.contains(*c))
            .cloned()
            .collect();
        out.extend(frontier.iter().cloned());
    }
    Ok(out)
}

pub fn has_system_role(conn: &mut AnyConnection, user_id: &str) -> Result<bool> {
    Ok(!roles_on_system(conn, user_id)?.is_empty())
}

pub fn insert_role(conn: &mut AnyConnection, id: &str, name: &str, immutable: bool) -> Result<()> {
    use crate::db::schema::role_option;
    diesel::insert_into(role::table)
        .values((
            role::id.eq(id),
            role::name.eq(name),
            role::extra.eq(Some("{}")),
            role::domain_id.eq(NULL_DOMAIN_ID),
            role::description.eq(None::<String>),
        ))
        .execute(conn)?;
    if immutable {
        diesel::insert_into(role_option::table)
            .values((
                role_option::role_id.eq(id),
                role_option::option_id.eq("IMMU"),
                role_option::option_value.eq(Some("true")),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn add_implication(conn: &mut AnyConnection, prior: &str, implied: &str) -> Result<()> {
    let exists: i64 = implied_role::table
        .filter(implied_role::prior_role_id.eq(prior))
        .filter(implied_role::implied_role_id.eq(implied))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(implied_role::table)
            .values((
                implied_role::prior_role_id.eq(prior),
                implied_role::implied_role_id.eq(implied),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Grant a role on a project or domain; granting twice is a no-op.
pub fn grant(
    conn: &mut AnyConnection,
    kind: AssignmentType,
    actor_id: &str,
    target_id: &str,
    role_id: &str,
    inherited: bool,
) -> Result<()> {
    let exists: i64 = assignment::table
        .filter(assignment::type_.eq(kind))
        .filter(assignment::actor_id.eq(actor_id))
        .filter(assignment::target_id.eq(target_id))
        .filter(assignment::role_id.eq(role_id))
        .filter(assignment::inherited.eq(inherited))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(assignment::table)
            .values((
                assignment::type_.eq(kind),
                assignment::actor_id.eq(actor_id),
                assignment::target_id.eq(target_id),
                assignment::role_id.eq(role_id),
                assignment::inherited.eq(inherited),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn grant_system(
    conn: &mut AnyConnection,
    kind: &str,
    actor_id: &str,
    role_id: &str,
) -> Result<()> {
    let exists: i64 = system_assignment::table
        .filter(system_assignment::type_.eq(kind))
        .filter(system_assignment::actor_id.eq(actor_id))
        .filter(system_assignment::role_id.eq(role_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(system_assignment::table)
            .values((
                system_assignment::type_.eq(kind),
                system_assignment::actor_id.eq(actor_id),
                system_assignment::target_id.eq(SYSTEM_TARGET),
                system_assignment::role_id.eq(role_id),
                system_assignment::inherited.eq(false),
            ))
            .execute(conn)?;
    }
    Ok(())
}
