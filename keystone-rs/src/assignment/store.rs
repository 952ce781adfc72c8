//! SQL for roles, implied roles, grants and system grants, and the effective-role queries
//! tokens use (all through `effective::list`, the same code `GET /v3/role_assignments`
//! runs).

use super::effective::{self, Directory, ListRequest};
use super::model::{
    Actor, Assignment, GrantQuery, IMMUTABLE_OPTION_ID, NULL_DOMAIN_ID, Role, Target,
};
use crate::db::AnyConnection;
use crate::db::json_blob::parse_extra;
use crate::db::listing::{Column, SqlFilters, lower};
use crate::db::schema::{
    assignment, group, implied_role, project, role, role_option, system_assignment,
    user_group_membership,
};
use crate::error::{Error, Result};
use crate::resource::{Project, ROOT_DOMAIN_ID, store as resource_store};
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use crate::db::enums::AssignmentType;
pub const USER_SYSTEM: &str = "UserSystem";
pub const GROUP_SYSTEM: &str = "GroupSystem";
pub const SYSTEM_TARGET: &str = "system";

// ---- roles -----------------------------------------------------------------------------

type RoleRow = (String, String, Option<String>, String, Option<String>);

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

/// Rows to roles, with their options loaded in one more query.
fn roles_from_rows(conn: &mut AnyConnection, rows: Vec<RoleRow>) -> Result<Vec<Role>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    let options: Vec<(String, String, Option<String>)> = role_option::table
        .filter(role_option::role_id.eq_any(ids))
        .select((
            role_option::role_id,
            role_option::option_id,
            role_option::option_value,
        ))
        .load(conn)?;
    let mut immutable: HashMap<String, Option<bool>> = HashMap::new();
    for (role_id, option_id, value) in options {
        if option_id == IMMUTABLE_OPTION_ID {
            // A JSON blob; Keystone stores `true`/`false` (null is never stored).
            let parsed = value
                .as_deref()
                .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok());
            immutable.insert(role_id, parsed.and_then(|v| v.as_bool()));
        }
    }
    Ok(rows
        .into_iter()
        .map(|(id, name, extra, domain_id, description)| Role {
            immutable: immutable.get(&id).copied().flatten(),
            name,
            domain_id: (domain_id != NULL_DOMAIN_ID).then_some(domain_id),
            description,
            extra: parse_extra(extra.as_deref()),
            id,
        })
        .collect())
}

pub fn get_role(conn: &mut AnyConnection, id: &str) -> Result<Option<Role>> {
    let row: Option<RoleRow> = role::table
        .filter(role::id.eq(id))
        .select(role_columns())
        .first(conn)
        .optional()?;
    Ok(roles_from_rows(conn, row.into_iter().collect())?.pop())
}

/// The role, or Keystone's "Could not find role" 404.
pub fn require_role(conn: &mut AnyConnection, id: &str) -> Result<Role> {
    get_role(conn, id)?.ok_or_else(|| Error::could_not_find("role", id))
}

pub fn find_global_role_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Role>> {
    let row: Option<RoleRow> = role::table
        .filter(role::name.eq(name))
        .filter(role::domain_id.eq(NULL_DOMAIN_ID))
        .select(role_columns())
        .first(conn)
        .optional()?;
    Ok(roles_from_rows(conn, row.into_iter().collect())?.pop())
}

/// Every role of that name, global or domain-specific, in table order.
pub fn roles_named(conn: &mut AnyConnection, name: &str) -> Result<Vec<Role>> {
    let rows: Vec<RoleRow> = role::table
        .filter(role::name.eq(name))
        .select(role_columns())
        .load(conn)?;
    roles_from_rows(conn, rows)
}

/// Roles by id in table order (Keystone's `list_roles_from_ids`); unknown ids are skipped.
pub fn get_roles(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Role>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<RoleRow> = role::table
        .filter(role::id.eq_any(ids))
        .select(role_columns())
        .load(conn)?;
    roles_from_rows(conn, rows)
}

/// The role columns `GET /v3/roles` filters on, with their lengths (`_WontMatch`).
pub const ROLE_COLUMNS: &[Column<&str>] = &[
    Column::text("name", "name", 255),
    Column::text("domain_id", "domain_id", 64),
];

/// Keystone's role driver `list_roles`: the filters SQL satisfies (`NULL_DOMAIN_ID` in a
/// `domain_id` filter selects the global roles), at most `fetch` rows.
pub fn list_roles(
    conn: &mut AnyConnection,
    sql: &SqlFilters<&str>,
    fetch: Option<i64>,
) -> Result<Vec<Role>> {
    if sql.cannot_match {
        return Ok(vec![]);
    }
    let mut query = role::table.select(role_columns()).into_boxed();
    for name in sql.equals_on("name") {
        query = query.filter(role::name.eq(name));
    }
    for domain_id in sql.equals_on("domain_id") {
        query = query.filter(role::domain_id.eq(domain_id));
    }
    for pattern in sql.like_on("name") {
        query = query.filter(lower(role::name).like(lower(pattern)));
    }
    for pattern in sql.like_on("domain_id") {
        query = query.filter(lower(role::domain_id).like(lower(pattern)));
    }
    if let Some(fetch) = fetch {
        query = query.limit(fetch.max(0));
    }
    let rows: Vec<RoleRow> = query.load(conn)?;
    roles_from_rows(conn, rows)
}

fn duplicate_role(role: &Role) -> Error {
    match &role.domain_id {
        Some(domain_id) => Error::conflict(format!(
            "Conflict occurred attempting to store role - Duplicate entry found with name {} at domain ID {domain_id}.",
            role.name
        )),
        None => Error::duplicate("role", "name", &role.name),
    }
}

fn name_taken(conn: &mut AnyConnection, role: &Role) -> Result<bool> {
    let domain_id = role.domain_id.as_deref().unwrap_or(NULL_DOMAIN_ID);
    let clash: i64 = role::table
        .filter(role::name.eq(&role.name))
        .filter(role::domain_id.eq(domain_id))
        .filter(role::id.ne(&role.id))
        .count()
        .get_result(conn)?;
    Ok(clash > 0)
}

fn extra_text(role: &Role) -> String {
    serde_json::Value::Object(role.extra.clone()).to_string()
}

fn write_options(conn: &mut AnyConnection, role: &Role) -> Result<()> {
    diesel::delete(role_option::table.filter(role_option::role_id.eq(&role.id))).execute(conn)?;
    if let Some(immutable) = role.immutable {
        diesel::insert_into(role_option::table)
            .values((
                role_option::role_id.eq(&role.id),
                role_option::option_id.eq(IMMUTABLE_OPTION_ID),
                role_option::option_value.eq(Some(if immutable { "true" } else { "false" })),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Store a new role; a name already used in the same domain (or globally) is Keystone's 409.
pub fn create_role(conn: &mut AnyConnection, role: &Role) -> Result<()> {
    if name_taken(conn, role)? {
        return Err(duplicate_role(role));
    }
    diesel::insert_into(role::table)
        .values((
            role::id.eq(&role.id),
            role::name.eq(&role.name),
            role::extra.eq(Some(extra_text(role))),
            role::domain_id.eq(role.domain_id.as_deref().unwrap_or(NULL_DOMAIN_ID)),
            role::description.eq(&role.description),
        ))
        .execute(conn)
        .map_err(|e| conflict_or(e, role))?;
    write_options(conn, role)
}

pub fn update_role(conn: &mut AnyConnection, role: &Role) -> Result<()> {
    if name_taken(conn, role)? {
        return Err(duplicate_role(role));
    }
    diesel::update(role::table.filter(role::id.eq(&role.id)))
        .set((
            role::name.eq(&role.name),
            role::extra.eq(Some(extra_text(role))),
            role::description.eq(&role.description),
        ))
        .execute(conn)
        .map_err(|e| conflict_or(e, role))?;
    write_options(conn, role)
}

/// A concurrent writer won the unique index: the same 409 as the check above.
fn conflict_or(e: diesel::result::Error, role: &Role) -> Error {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => duplicate_role(role),
        other => other.into(),
    }
}

/// Every grant an actor holds: project and domain grants of the given kinds, and system
/// grants of `system_type` (`USER_SYSTEM` / `GROUP_SYSTEM`). For a deleted user or group.
fn delete_grants_of(
    conn: &mut AnyConnection,
    actor_id: &str,
    kinds: [AssignmentType; 2],
    system_type: &str,
) -> Result<()> {
    diesel::delete(
        assignment::table
            .filter(assignment::actor_id.eq(actor_id))
            .filter(assignment::type_.eq_any(kinds)),
    )
    .execute(conn)?;
    diesel::delete(
        system_assignment::table
            .filter(system_assignment::actor_id.eq(actor_id))
            .filter(system_assignment::type_.eq(system_type)),
    )
    .execute(conn)?;
    Ok(())
}

/// A deleted user's grants (project, domain and system).
pub fn delete_grants_of_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    let kinds = [AssignmentType::UserProject, AssignmentType::UserDomain];
    delete_grants_of(conn, user_id, kinds, USER_SYSTEM)
}

/// A deleted group's grants (project, domain and system).
pub fn delete_grants_of_group(conn: &mut AnyConnection, group_id: &str) -> Result<()> {
    let kinds = [AssignmentType::GroupProject, AssignmentType::GroupDomain];
    delete_grants_of(conn, group_id, kinds, GROUP_SYSTEM)
}

/// Does the actor hold any grant (project, domain or system)?
pub fn actor_has_grants(conn: &mut AnyConnection, actor_id: &str) -> Result<bool> {
    let direct: i64 = assignment::table
        .filter(assignment::actor_id.eq(actor_id))
        .count()
        .get_result(conn)?;
    if direct > 0 {
        return Ok(true);
    }
    let system: i64 = system_assignment::table
        .filter(system_assignment::actor_id.eq(actor_id))
        .count()
        .get_result(conn)?;
    Ok(system > 0)
}

/// `delete_project_assignments` / `_delete_domain_assignments`: the user and group grants
/// on a deleted project or domain.
pub fn delete_grants_on(conn: &mut AnyConnection, target: &Target) -> Result<()> {
    let (target_id, kinds) = match target {
        Target::Project(id) => (
            id,
            [AssignmentType::UserProject, AssignmentType::GroupProject],
        ),
        Target::Domain(id) => (
            id,
            [AssignmentType::UserDomain, AssignmentType::GroupDomain],
        ),
        Target::System => return Ok(()),
    };
    // One statement per kind: PostgreSQL binds the enum column's values one at a time.
    for kind in kinds {
        diesel::delete(
            assignment::table
                .filter(assignment::target_id.eq(target_id))
                .filter(assignment::type_.eq(kind)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Delete a role and everything hanging off it: its assignments (project, domain and
/// system), the implications it takes part in, its options.
pub fn delete_role(conn: &mut AnyConnection, role_id: &str) -> Result<()> {
    diesel::delete(assignment::table.filter(assignment::role_id.eq(role_id))).execute(conn)?;
    diesel::delete(system_assignment::table.filter(system_assignment::role_id.eq(role_id)))
        .execute(conn)?;
    diesel::delete(
        implied_role::table.filter(
            implied_role::prior_role_id
                .eq(role_id)
                .or(implied_role::implied_role_id.eq(role_id)),
        ),
    )
    .execute(conn)?;
    diesel::delete(role_option::table.filter(role_option::role_id.eq(role_id))).execute(conn)?;
    diesel::delete(role::table.filter(role::id.eq(role_id))).execute(conn)?;
    Ok(())
}

/// Bootstrap's role creation: a global role with no description.
pub fn insert_role(conn: &mut AnyConnection, id: &str, name: &str, immutable: bool) -> Result<()> {
    let mut role = Role::new(id, name, None);
    role.immutable = immutable.then_some(true);
    create_role(conn, &role)
}

// ---- implied roles ---------------------------------------------------------------------

/// Every implication, prior → implied (table order within a prior).
pub fn implications(conn: &mut AnyConnection) -> Result<BTreeMap<String, Vec<String>>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (prior, implied) in inference_rules(conn)? {
        map.entry(prior).or_default().push(implied);
    }
    Ok(map)
}

/// The `implied_role` rows, in table order.
pub fn inference_rules(conn: &mut AnyConnection) -> Result<Vec<(String, String)>> {
    Ok(implied_role::table
        .select((implied_role::prior_role_id, implied_role::implied_role_id))
        .load(conn)?)
}

pub fn implied_role_ids(conn: &mut AnyConnection, prior: &str) -> Result<Vec<String>> {
    Ok(implied_role::table
        .filter(implied_role::prior_role_id.eq(prior))
        .select(implied_role::implied_role_id)
        .load(conn)?)
}

pub fn implication_exists(conn: &mut AnyConnection, prior: &str, implied: &str) -> Result<bool> {
    let n: i64 = implied_role::table
        .filter(implied_role::prior_role_id.eq(prior))
        .filter(implied_role::implied_role_id.eq(implied))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Store an implication; an existing one is Keystone's 409.
pub fn create_implication(conn: &mut AnyConnection, prior: &str, implied: &str) -> Result<()> {
    if implication_exists(conn, prior, implied)? {
        return Err(implied_conflict());
    }
    diesel::insert_into(implied_role::table)
        .values((
            implied_role::prior_role_id.eq(prior),
            implied_role::implied_role_id.eq(implied),
        ))
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => implied_conflict(),
            other => other.into(),
        })?;
    Ok(())
}

fn implied_conflict() -> Error {
    Error::conflict("Conflict occurred attempting to store implied_role - Duplicate entry.")
}

/// Bootstrap's implication: creating it twice is a no-op.
pub fn add_implication(conn: &mut AnyConnection, prior: &str, implied: &str) -> Result<()> {
    if !implication_exists(conn, prior, implied)? {
        create_implication(conn, prior, implied)?;
    }
    Ok(())
}

pub fn delete_implication(conn: &mut AnyConnection, prior: &str, implied: &str) -> Result<bool> {
    let n = diesel::delete(
        implied_role::table
            .filter(implied_role::prior_role_id.eq(prior))
            .filter(implied_role::implied_role_id.eq(implied)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

// ---- project and domain grants ---------------------------------------------------------

fn assignment_type(actor: &Actor, target: &Target) -> Option<AssignmentType> {
    Some(match (actor, target) {
        (Actor::User(_), Target::Project(_)) => AssignmentType::UserProject,
        (Actor::User(_), Target::Domain(_)) => AssignmentType::UserDomain,
        (Actor::Group(_), Target::Project(_)) => AssignmentType::GroupProject,
        (Actor::Group(_), Target::Domain(_)) => AssignmentType::GroupDomain,
        (_, Target::System) => return None,
    })
}

fn actor_id(actor: &Actor) -> &str {
    match actor {
        Actor::User(id) | Actor::Group(id) => id,
    }
}

fn target_id(target: &Target) -> &str {
    match target {
        Target::Project(id) | Target::Domain(id) => id,
        Target::System => SYSTEM_TARGET,
    }
}

fn row_to_assignment(
    kind: AssignmentType,
    actor: String,
    target: String,
    role_id: String,
    inherited: bool,
) -> Assignment {
    let (actor, target) = match kind {
        AssignmentType::UserProject => (Actor::User(actor), Target::Project(target)),
        AssignmentType::UserDomain => (Actor::User(actor), Target::Domain(target)),
        AssignmentType::GroupProject => (Actor::Group(actor), Target::Project(target)),
        AssignmentType::GroupDomain => (Actor::Group(actor), Target::Domain(target)),
    };
    Assignment::direct(actor, target, &role_id, inherited)
}

/// The assignment driver's `list_role_assignments`: the types follow from which filters
/// are given (an actor and a target select exactly one type).
pub fn list_grants(conn: &mut AnyConnection, q: &GrantQuery) -> Result<Vec<Assignment>> {
    use AssignmentType::*;
    let group_ids = q.group_ids.as_ref().filter(|g| !g.is_empty());
    let project_ids = q.project_ids.as_ref().filter(|p| !p.is_empty());
    let actor_types: &[AssignmentType] = if q.user_id.is_some() {
        &[UserProject, UserDomain]
    } else if group_ids.is_some() {
        &[GroupProject, GroupDomain]
    } else {
        &[]
    };
    let target_types: &[AssignmentType] = if project_ids.is_some() {
        &[UserProject, GroupProject]
    } else if q.domain_id.is_some() {
        &[UserDomain, GroupDomain]
    } else {
        &[]
    };
    let types: Vec<AssignmentType> = match (actor_types.is_empty(), target_types.is_empty()) {
        (false, false) => actor_types
            .iter()
            .filter(|t| target_types.contains(t))
            .copied()
            .collect(),
        (false, true) => actor_types.to_vec(),
        (true, _) => target_types.to_vec(),
    };
    let mut query = assignment::table
        .select((
            assignment::type_,
            assignment::actor_id,
            assignment::target_id,
            assignment::role_id,
            assignment::inherited,
        ))
        .into_boxed();
    if let Some(role_id) = &q.role_id {
        query = query.filter(assignment::role_id.eq(role_id.clone()));
    }
    if let Some(groups) = group_ids {
        query = query.filter(assignment::actor_id.eq_any(groups.clone()));
    } else if let Some(user_id) = &q.user_id {
        query = query.filter(assignment::actor_id.eq(user_id.clone()));
    }
    if let Some(projects) = project_ids {
        query = query.filter(assignment::target_id.eq_any(projects.clone()));
    } else if let Some(domain_id) = &q.domain_id {
        query = query.filter(assignment::target_id.eq(domain_id.clone()));
    }
    if !types.is_empty() {
        query = query.filter(assignment::type_.eq_any(types));
    }
    if let Some(inherited) = q.inherited {
        query = query.filter(assignment::inherited.eq(inherited));
    }
    let rows: Vec<(AssignmentType, String, String, String, bool)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(k, a, t, r, i)| row_to_assignment(k, a, t, r, i))
        .collect())
}

/// Role ids granted to an actor on a target (Keystone's `list_grant_role_ids`: by actor,
/// target and inheritance only).
pub fn grant_role_ids(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    inherited: bool,
) -> Result<Vec<String>> {
    Ok(assignment::table
        .filter(assignment::actor_id.eq(actor_id(actor)))
        .filter(assignment::target_id.eq(target_id(target)))
        .filter(assignment::inherited.eq(inherited))
        .select(assignment::role_id)
        .load(conn)?)
}

/// Keystone's `_build_grant_filter`: by actor, target kind (either actor type), role and
/// inheritance.
fn grant_rows_count(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    role_id: &str,
    inherited: bool,
) -> Result<i64> {
    let kinds = match target {
        Target::Domain(_) => [AssignmentType::UserDomain, AssignmentType::GroupDomain],
        _ => [AssignmentType::UserProject, AssignmentType::GroupProject],
    };
    Ok(assignment::table
        .filter(assignment::actor_id.eq(actor_id(actor)))
        .filter(assignment::target_id.eq(target_id(target)))
        .filter(assignment::type_.eq_any(kinds))
        .filter(assignment::role_id.eq(role_id))
        .filter(assignment::inherited.eq(inherited))
        .count()
        .get_result(conn)?)
}

pub fn grant_exists(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    role_id: &str,
    inherited: bool,
) -> Result<bool> {
    Ok(grant_rows_count(conn, actor, target, role_id, inherited)? > 0)
}

/// Store a project/domain grant; granting twice is a no-op (Keystone is silent too).
pub fn create_grant(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    role_id: &str,
    inherited: bool,
) -> Result<()> {
    let Some(kind) = assignment_type(actor, target) else {
        return Err(Error::internal(
            "system target passed as a project/domain grant",
        ));
    };
    grant(
        conn,
        kind,
        actor_id(actor),
        target_id(target),
        role_id,
        inherited,
    )
}

/// Remove a project/domain grant; `false` when there was none.
pub fn delete_grant(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    role_id: &str,
    inherited: bool,
) -> Result<bool> {
    let kinds = match target {
        Target::Domain(_) => [AssignmentType::UserDomain, AssignmentType::GroupDomain],
        _ => [AssignmentType::UserProject, AssignmentType::GroupProject],
    };
    let n = diesel::delete(
        assignment::table
            .filter(assignment::actor_id.eq(actor_id(actor)))
            .filter(assignment::target_id.eq(target_id(target)))
            .filter(assignment::type_.eq_any(kinds))
            .filter(assignment::role_id.eq(role_id))
            .filter(assignment::inherited.eq(inherited)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Grant a role on a project or domain by assignment type; granting twice is a no-op.
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

// ---- system grants ---------------------------------------------------------------------

fn system_kind(actor: &Actor) -> &'static str {
    match actor {
        Actor::User(_) => USER_SYSTEM,
        Actor::Group(_) => GROUP_SYSTEM,
    }
}

/// Role ids of an actor's system grants, in table order.
pub fn system_role_ids(conn: &mut AnyConnection, actor: &Actor) -> Result<Vec<String>> {
    Ok(system_assignment::table
        .filter(system_assignment::actor_id.eq(actor_id(actor)))
        .filter(system_assignment::target_id.eq(SYSTEM_TARGET))
        .filter(system_assignment::type_.eq(system_kind(actor)))
        .select(system_assignment::role_id)
        .load(conn)?)
}

/// An actor's system roles as Keystone lists them (`list_roles_from_ids`: role-table order).
pub fn system_roles(conn: &mut AnyConnection, actor: &Actor) -> Result<Vec<Role>> {
    let ids = system_role_ids(conn, actor)?;
    get_roles(conn, &ids)
}

fn all_system_grants(conn: &mut AnyConnection) -> Result<Vec<Assignment>> {
    let rows: Vec<(String, String, String)> = system_assignment::table
        .filter(system_assignment::target_id.eq(SYSTEM_TARGET))
        .select((
            system_assignment::type_,
            system_assignment::actor_id,
            system_assignment::role_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, actor, role_id)| {
            let actor = match kind.as_str() {
                USER_SYSTEM => Actor::User(actor),
                GROUP_SYSTEM => Actor::Group(actor),
                _ => return None,
            };
            Some(Assignment::direct(actor, Target::System, &role_id, false))
        })
        .collect())
}

pub fn system_grant_exists(conn: &mut AnyConnection, actor: &Actor, role_id: &str) -> Result<bool> {
    let n: i64 = system_assignment::table
        .filter(system_assignment::actor_id.eq(actor_id(actor)))
        .filter(system_assignment::target_id.eq(SYSTEM_TARGET))
        .filter(system_assignment::role_id.eq(role_id))
        .filter(system_assignment::inherited.eq(false))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn create_system_grant(conn: &mut AnyConnection, actor: &Actor, role_id: &str) -> Result<()> {
    grant_system(conn, system_kind(actor), actor_id(actor), role_id)
}

pub fn delete_system_grant(conn: &mut AnyConnection, actor: &Actor, role_id: &str) -> Result<bool> {
    let n = diesel::delete(
        system_assignment::table
            .filter(system_assignment::actor_id.eq(actor_id(actor)))
            .filter(system_assignment::target_id.eq(SYSTEM_TARGET))
            .filter(system_assignment::role_id.eq(role_id))
            .filter(system_assignment::inherited.eq(false)),
    )
    .execute(conn)?;
    Ok(n > 0)
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
        .filter(system_assignment::target_id.eq(SYSTEM_TARGET))
        .filter(system_assignment::role_id.eq(role_id))
        .filter(system_assignment::inherited.eq(false))
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

// ---- groups (read-only; the identity subsystem owns them) ------------------------------

/// What grants need to know about a group: policy sees it as `target.group`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRef {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub description: Option<String>,
}

pub fn get_group(conn: &mut AnyConnection, id: &str) -> Result<Option<GroupRef>> {
    let row: Option<(String, String, String, Option<String>)> = group::table
        .filter(group::id.eq(id))
        .select((group::id, group::domain_id, group::name, group::description))
        .first(conn)
        .optional()?;
    if let Some((id, domain_id, name, description)) = row {
        return Ok(Some(GroupRef {
            id,
            domain_id,
            name,
            description,
        }));
    }
    // A group of an LDAP domain has no row: grants name it by its public id.
    Ok(crate::identity::remote::group(conn, id)?.map(|g| GroupRef {
        id: g.id,
        domain_id: g.domain_id,
        name: g.name,
        description: g.description,
    }))
}

pub fn user_ids_in_group(conn: &mut AnyConnection, group_id: &str) -> Result<Vec<String>> {
    Ok(user_group_membership::table
        .filter(user_group_membership::group_id.eq(group_id))
        .select(user_group_membership::user_id)
        .load(conn)?)
}

// ---- the effective expansion over SQL --------------------------------------------------

/// `effective::Directory` over a connection, caching what one listing reads repeatedly.
pub struct SqlDirectory<'c> {
    conn: &'c mut AnyConnection,
    implications: Option<BTreeMap<String, Vec<String>>>,
    role_global: HashMap<String, bool>,
    /// A listing asks for a project's ancestors once for the user and again for their
    /// groups, and for a subtree once per group inheriting on it: one walk serves all.
    parents: HashMap<String, Vec<String>>,
    subtrees: HashMap<String, Vec<String>>,
}

impl<'c> SqlDirectory<'c> {
    pub fn new(conn: &'c mut AnyConnection) -> Self {
        SqlDirectory {
            conn,
            implications: None,
            role_global: HashMap::new(),
            parents: HashMap::new(),
            subtrees: HashMap::new(),
        }
    }
}

impl Directory for SqlDirectory<'_> {
    fn grants(&mut self, query: &GrantQuery) -> Result<Vec<Assignment>> {
        list_grants(self.conn, query)
    }

    fn system_grants(&mut self, actor: Option<&Actor>) -> Result<Vec<Assignment>> {
        match actor {
            None => all_system_grants(self.conn),
            Some(actor) => Ok(system_roles(self.conn, actor)?
                .into_iter()
                .map(|r| Assignment::direct(actor.clone(), Target::System, &r.id, false))
                .collect()),
        }
    }

    fn group_ids_for_user(&mut self, user_id: &str) -> Result<Vec<String>> {
        use crate::db::schema::user;
        if let Some(ids) = crate::identity::remote::group_ids_of(self.conn, user_id)? {
            return Ok(ids);
        }
        let known: i64 = user::table
            .filter(user::id.eq(user_id))
            .count()
            .get_result(self.conn)?;
        if known == 0 {
            return Err(Error::could_not_find("user", user_id));
        }
        crate::identity::store::group_ids(self.conn, user_id)
    }

    fn user_ids_in_group(&mut self, group_id: &str) -> Result<Vec<String>> {
        if let Some(ids) = crate::identity::remote::member_ids_of(self.conn, group_id)? {
            return Ok(ids);
        }
        user_ids_in_group(self.conn, group_id)
    }

    fn project_domain_id(&mut self, project_id: &str) -> Result<String> {
        let row: Option<String> = project::table
            .filter(project::id.eq(project_id))
            .filter(project::id.ne(ROOT_DOMAIN_ID))
            .select(project::domain_id)
            .first(self.conn)
            .optional()?;
        row.ok_or_else(|| Error::could_not_find("project", project_id))
    }

    fn project_parent_ids(&mut self, project_id: &str) -> Result<Vec<String>> {
        if let Some(known) = self.parents.get(project_id) {
            return Ok(known.clone());
        }
        let ids = project_parent_ids(self.conn, project_id)?;
        self.parents.insert(project_id.to_string(), ids.clone());
        Ok(ids)
    }

    fn projects_in_subtree(&mut self, project_id: &str) -> Result<Vec<String>> {
        if let Some(known) = self.subtrees.get(project_id) {
            return Ok(known.clone());
        }
        let ids = subtree_ids(self.conn, project_id)?;
        self.subtrees.insert(project_id.to_string(), ids.clone());
        Ok(ids)
    }

    fn projects_in_domain(&mut self, domain_id: &str) -> Result<Vec<String>> {
        resource_store::project_ids_in_domain(self.conn, domain_id)
    }

    fn implied_role_ids(&mut self, prior_role_id: &str) -> Result<Vec<String>> {
        if self.implications.is_none() {
            self.implications = Some(implications(self.conn)?);
        }
        Ok(self
            .implications
            .as_ref()
            .and_then(|m| m.get(prior_role_id))
            .cloned()
            .unwrap_or_default())
    }

    fn role_is_global(&mut self, role_id: &str) -> Result<bool> {
        if let Some(known) = self.role_global.get(role_id) {
            return Ok(*known);
        }
        let domain: Option<String> = role::table
            .filter(role::id.eq(role_id))
            .select(role::domain_id)
            .first(self.conn)
            .optional()?;
        let global = domain.is_some_and(|d| d == NULL_DOMAIN_ID);
        self.role_global.insert(role_id.to_string(), global);
        Ok(global)
    }
}

/// Keystone's `list_project_parents`: every ancestor row, nearest first, up to and
/// including the domain's own row.
pub fn project_parent_ids(conn: &mut AnyConnection, project_id: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut current = project_id.to_string();
    // Keystone stops at a cycle; the depth guard keeps a corrupt table from looping.
    while out.len() <= 128 {
        let parent: Option<Option<String>> = project::table
            .filter(project::id.eq(&current))
            .select(project::parent_id)
            .first(conn)
            .optional()?;
        match parent.flatten() {
            Some(parent)
                if parent != ROOT_DOMAIN_ID && !out.contains(&parent) && parent != project_id =>
            {
                out.push(parent.clone());
                current = parent;
            }
            _ => break,
        }
    }
    Ok(out)
}

/// Ids of the projects strictly below `project_id`, level by level.
pub fn subtree_ids(conn: &mut AnyConnection, project_id: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    // Seen ids, so that a cycle in a corrupt table ends and large trees stay linear.
    let mut seen = std::collections::HashSet::from([project_id.to_string()]);
    let mut frontier = vec![project_id.to_string()];
    while !frontier.is_empty() && out.len() < 100_000 {
        let children: Vec<String> = project::table
            .filter(project::parent_id.eq_any(&frontier))
            .filter(project::is_domain.eq(false))
            .select(project::id)
            .load(conn)?;
        frontier = children
            .into_iter()
            .filter(|c| seen.insert(c.clone()))
            .collect();
        out.extend(frontier.iter().cloned());
    }
    Ok(out)
}

/// Role assignments as `GET /v3/role_assignments` computes them.
pub fn list_assignments(conn: &mut AnyConnection, req: &ListRequest) -> Result<Vec<Assignment>> {
    effective::list(&mut SqlDirectory::new(conn), req)
}

/// Roles of an effective listing in first-seen order (domain-specific roles are already
/// stripped by the listing).
fn roles_of(conn: &mut AnyConnection, refs: &[Assignment]) -> Result<Vec<Role>> {
    let ids = effective::unique_role_ids(refs);
    let mut roles = get_roles(conn, &ids)?;
    let order: HashMap<&String, usize> = ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
    roles.sort_by_key(|r| order.get(&r.id).copied().unwrap_or(usize::MAX));
    Ok(roles)
}

/// Effective roles of a user on a project: direct, group, inherited from the domain and
/// from ancestors, expanded through implied roles; domain-specific roles removed.
pub fn roles_on_project(
    conn: &mut AnyConnection,
    user_id: &str,
    project: &Project,
) -> Result<Vec<Role>> {
    let refs = list_assignments(
        conn,
        &ListRequest::effective_for_user(user_id, &Target::Project(project.id.clone())),
    )?;
    roles_of(conn, &refs)
}

/// Effective roles the groups hold on a project or domain (Keystone's
/// `get_roles_for_groups`), none for no groups.
pub fn roles_of_groups(
    conn: &mut AnyConnection,
    group_ids: &[String],
    target: &Target,
) -> Result<Vec<Role>> {
    if group_ids.is_empty() {
        return Ok(vec![]);
    }
    let mut req = ListRequest {
        source_from_group_ids: Some(group_ids.to_vec()),
        effective: true,
        ..Default::default()
    };
    match target {
        Target::Project(id) => req.project_id = Some(id.clone()),
        Target::Domain(id) => req.domain_id = Some(id.clone()),
        Target::System => return Ok(vec![]),
    }
    let refs = list_assignments(conn, &req)?;
    roles_of(conn, &refs)
}

/// Effective roles of a user on a domain (direct and group grants; domains inherit nothing).
pub fn roles_on_domain(
    conn: &mut AnyConnection,
    user_id: &str,
    domain_id: &str,
) -> Result<Vec<Role>> {
    let refs = list_assignments(
        conn,
        &ListRequest::effective_for_user(user_id, &Target::Domain(domain_id.to_string())),
    )?;
    roles_of(conn, &refs)
}

/// System roles as Keystone's token model computes them: the groups' grants, then the
/// user's, then implied roles — in that order and, as in Keystone, without removing repeats.
pub fn roles_on_system(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<Role>> {
    let mut refs = Vec::new();
    for group_id in crate::identity::groups::ids_of_user(conn, user_id)? {
        let actor = Actor::Group(group_id);
        for r in system_roles(conn, &actor)? {
            refs.push(Assignment::direct(
                actor.clone(),
                Target::System,
                &r.id,
                false,
            ));
        }
    }
    let actor = Actor::User(user_id.to_string());
    for r in system_roles(conn, &actor)? {
        refs.push(Assignment::direct(
            actor.clone(),
            Target::System,
            &r.id,
            false,
        ));
    }
    let refs = effective::add_implied_roles(&mut SqlDirectory::new(conn), refs)?;
    let ids = effective::unique_role_ids(&refs);
    let by_id: HashMap<String, Role> = get_roles(conn, &ids)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    Ok(refs
        .iter()
        .filter_map(|r| by_id.get(&r.role_id).cloned())
        .collect())
}

/// Project ids and domain ids on which the user (or its groups) holds an effective role,
/// inherited grants included (for `/v3/auth/projects` and `/v3/auth/domains`).
pub fn targets_with_roles(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    effective::targets(
        &mut SqlDirectory::new(conn),
        effective::Holder::User(user_id),
    )
}

/// [`targets_with_roles`] for groups (a federated token's): Keystone's
/// `list_projects_for_groups` / `list_domains_for_groups`.
pub fn targets_of_groups(
    conn: &mut AnyConnection,
    group_ids: &[String],
) -> Result<(Vec<String>, Vec<String>)> {
    effective::targets(
        &mut SqlDirectory::new(conn),
        effective::Holder::Groups(group_ids),
    )
}

pub fn has_system_role(conn: &mut AnyConnection, user_id: &str) -> Result<bool> {
    Ok(!roles_on_system(conn, user_id)?.is_empty())
}

/// Keep what a domain-scoped caller may see: assignments on the domain and on its projects
/// (Keystone's post-filter for domain-scoped tokens).
pub fn within_domain(
    conn: &mut AnyConnection,
    refs: Vec<Assignment>,
    domain_id: &str,
) -> Result<Vec<Assignment>> {
    let mut project_domains: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    for r in refs {
        let keep = match &r.target {
            Target::Domain(d) => d == domain_id,
            Target::Project(p) => {
                if !project_domains.contains_key(p) {
                    let project = resource_store::get_any(conn, p)?
                        .ok_or_else(|| Error::could_not_find("project", p))?;
                    project_domains.insert(p.clone(), project.domain_id);
                }
                project_domains.get(p).and_then(|d| d.as_deref()) == Some(domain_id)
            }
            Target::System => false,
        };
        if keep {
            out.push(r);
        }
    }
    Ok(out)
}

/// What `include_names` reads for a list of assignments, loaded in one query per kind
/// (a listing of hundreds of assignments names a handful of entities many times).
struct NamedEntities {
    /// user id → (name, domain id); also groups.
    users: HashMap<String, (String, String)>,
    groups: HashMap<String, (String, String)>,
    roles: HashMap<String, Role>,
    /// Projects and domains, by id.
    projects: HashMap<String, Project>,
}

impl NamedEntities {
    fn load(conn: &mut AnyConnection, refs: &[Assignment]) -> Result<NamedEntities> {
        let (mut users, mut groups, mut targets, mut roles) = (
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
        );
        for r in refs {
            match &r.target {
                Target::Domain(id) | Target::Project(id) => {
                    targets.insert(id.clone());
                }
                _ => {}
            }
            match &r.actor {
                Actor::User(id) => users.insert(id.clone()),
                Actor::Group(id) => groups.insert(id.clone()),
            };
            roles.insert(r.role_id.clone());
        }
        let ids = |set: BTreeSet<String>| set.into_iter().collect::<Vec<_>>();
        let users: HashMap<_, _> = crate::identity::store::get_many(conn, &ids(users))?
            .into_iter()
            .map(|u| (u.id.clone(), (u.name, u.domain_id)))
            .collect();
        let groups: HashMap<_, _> = crate::identity::store::groups::get_many(conn, &ids(groups))?
            .into_iter()
            .map(|g| (g.id.clone(), (g.name, g.domain_id)))
            .collect();
        let roles: HashMap<_, _> = get_roles(conn, &ids(roles))?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let mut projects: HashMap<_, _> = resource_store::get_projects(conn, &ids(targets))?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        // The domains the named entities live in.
        let owners: BTreeSet<String> = projects
            .values()
            .map(|p| {
                p.domain_id
                    .clone()
                    .unwrap_or_else(|| ROOT_DOMAIN_ID.to_string())
            })
            .chain(users.values().map(|(_, d)| d.clone()))
            .chain(groups.values().map(|(_, d)| d.clone()))
            .chain(roles.values().filter_map(|r| r.domain_id.clone()))
            .filter(|d| !projects.contains_key(d))
            .collect();
        projects.extend(
            resource_store::get_projects(conn, &ids(owners))?
                .into_iter()
                .map(|p| (p.id.clone(), p)),
        );
        Ok(NamedEntities {
            users,
            groups,
            roles,
            projects,
        })
    }

    /// A domain's name; a domain that is gone is Keystone's 404.
    fn domain(&self, id: &str) -> Result<super::format::DomainName> {
        let domain = self
            .projects
            .get(id)
            .filter(|d| d.is_domain)
            .ok_or_else(|| Error::could_not_find("domain", id))?;
        Ok(super::format::DomainName {
            id: id.to_string(),
            name: domain.name.clone(),
        })
    }

    /// A user's or group's name and domain (in `entities`); gone: none.
    fn actor(
        &self,
        entities: &HashMap<String, (String, String)>,
        id: &str,
    ) -> Result<Option<(String, super::format::DomainName)>> {
        match entities.get(id) {
            Some((name, domain_id)) => Ok(Some((name.clone(), self.domain(domain_id)?))),
            None => Ok(None),
        }
    }
}

/// The names `include_names` shows. Users and groups that are gone get empty names;
/// projects, domains and roles must exist (Keystone's 404s, checked in listing order).
pub fn resolve_names(
    conn: &mut AnyConnection,
    refs: &[Assignment],
) -> Result<super::format::Names> {
    let entities = NamedEntities::load(conn, refs)?;
    let mut names = super::format::Names::default();
    for r in refs {
        match &r.target {
            Target::Domain(d) if !names.domains.contains_key(d) => {
                let name = entities.domain(d)?.name;
                names.domains.insert(d.clone(), name);
            }
            Target::Project(p) if !names.projects.contains_key(p) => {
                let project = entities
                    .projects
                    .get(p)
                    .ok_or_else(|| Error::could_not_find("project", p))?;
                let domain_id = project.domain_id.as_deref().unwrap_or(ROOT_DOMAIN_ID);
                let domain = entities.domain(domain_id)?;
                names
                    .projects
                    .insert(p.clone(), (project.name.clone(), domain));
            }
            _ => {}
        }
        match &r.actor {
            Actor::User(u) if !names.users.contains_key(u) => {
                if let Some(named) = entities.actor(&entities.users, u)? {
                    names.users.insert(u.clone(), named);
                }
            }
            Actor::Group(g) if !names.groups.contains_key(g) => {
                if let Some(named) = entities.actor(&entities.groups, g)? {
                    names.groups.insert(g.clone(), named);
                }
            }
            _ => {}
        }
        if !names.roles.contains_key(&r.role_id) {
            let role = entities
                .roles
                .get(&r.role_id)
                .ok_or_else(|| Error::could_not_find("role", &r.role_id))?;
            let domain = match &role.domain_id {
                Some(d) => Some(entities.domain(d)?),
                None => None,
            };
            names
                .roles
                .insert(r.role_id.clone(), (role.name.clone(), domain));
        }
    }
    Ok(names)
}
