//! Roles, implied roles and role assignments (grants on projects, domains and the system,
//! with OS-INHERIT inheritance); the effective-role expansion that tokens use at issue and
//! at every validation (shared/spec/tokens-api.md §4) and that `GET /v3/role_assignments`
//! shows. The operations here carry Keystone's checks and error messages; `store.rs` only
//! reads and writes rows.

pub mod effective;
pub mod format;
pub mod model;
pub mod schema;
pub mod store;

pub use model::{Actor, Assignment, NULL_DOMAIN_ID, Role, RoleRef, Target};

use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::identity::User;
use crate::resource::{Project, store as resource_store};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The role ids `roots` imply, recursively, including the roots; cycles are ignored.
pub fn expand_implied(
    roots: &[String],
    implications: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<String> = roots.iter().rev().cloned().collect();
    while let Some(role) = stack.pop() {
        if !seen.insert(role.clone()) {
            continue;
        }
        if let Some(implied) = implications.get(&role) {
            stack.extend(implied.iter().rev().cloned());
        }
        out.push(role);
    }
    out
}

// ---- errors in Keystone's words --------------------------------------------------------

pub fn assignment_not_found(role_id: &str, actor_id: &str, target_id: &str) -> Error {
    Error::not_found(format!(
        "Could not find role assignment with role: {role_id}, user or group: {actor_id}, \
         project, domain, or system: {target_id}."
    ))
}

fn immutable_refusal(verb: &str, role_id: &str) -> Error {
    Error::new(
        actix_web::http::StatusCode::FORBIDDEN,
        format!(
            "Unable to {verb} immutable role resource: `{role_id}. Set resource option \"immutable\" to false first."
        ),
    )
}

fn invalid_implied_role(role_id: &str) -> Error {
    Error::new(
        actix_web::http::StatusCode::FORBIDDEN,
        format!("{role_id} cannot be an implied roles."),
    )
}

// ---- roles -----------------------------------------------------------------------------

/// Keys of a role body that are columns or options; anything else is an "extra".
const ROLE_ATTRIBUTES: &[&str] = &["id", "name", "domain_id", "description", "options"];

fn string_or_none(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// `options.immutable` from a validated body: `None` when absent, `Some(None)` for null.
fn immutable_option(role: &Map<String, Value>) -> Option<Option<bool>> {
    let options = role.get("options")?.as_object()?;
    let value = options.get("immutable")?;
    Some(value.as_bool())
}

/// A new role from a validated `POST /v3/roles` body. The id is always generated, and the
/// extra keys are normalised (`:` and `-` become `_`), as Keystone does.
pub fn new_role(body: &Map<String, Value>) -> Role {
    let mut extra = Map::new();
    for (key, value) in body {
        let key = key.replace([':', '-'], "_");
        if !ROLE_ATTRIBUTES.contains(&key.as_str()) {
            extra.insert(key, value.clone());
        }
    }
    Role {
        id: uuid::Uuid::new_v4().simple().to_string(),
        name: string_or_none(body.get("name")).unwrap_or_default(),
        domain_id: string_or_none(body.get("domain_id")),
        description: string_or_none(body.get("description")),
        extra,
        immutable: immutable_option(body).flatten(),
    }
}

pub fn create_role(conn: &mut AnyConnection, role: &Role) -> Result<Role> {
    store::create_role(conn, role)?;
    store::require_role(conn, &role.id)
}

/// Keystone's `update_role`: an immutable role only accepts a body that makes it mutable;
/// `domain_id` cannot move; the rest merges into the stored role.
pub fn update_role(
    conn: &mut AnyConnection,
    role_id: &str,
    patch: &Map<String, Value>,
) -> Result<Role> {
    let original = store::require_role(conn, role_id)?;
    if original.is_immutable() {
        let unlocks =
            patch.len() == 1 && matches!(immutable_option(patch), Some(None | Some(false)));
        if !unlocks {
            return Err(immutable_refusal("update", role_id));
        }
    }
    if let Some(domain_id) = patch.get("domain_id") {
        if string_or_none(Some(domain_id)) != original.domain_id {
            return Err(Error::bad_request("Update of `domain_id` is not allowed."));
        }
    }
    let mut role = original;
    for (key, value) in patch {
        match key.as_str() {
            "id" | "domain_id" => {}
            "name" => role.name = value.as_str().unwrap_or_default().to_string(),
            "description" => role.description = string_or_none(Some(value)),
            "options" => {
                if let Some(immutable) = immutable_option(patch) {
                    role.immutable = immutable;
                }
            }
            _ => {
                role.extra.insert(key.clone(), value.clone());
            }
        }
    }
    store::update_role(conn, &role)?;
    store::require_role(conn, role_id)
}

/// Keystone's checks before a role is deleted: it exists (404) and is not immutable (403).
/// `crate::cascade::delete_role` then runs the role-deleted notification and
/// [`store::delete_role`].
pub fn check_role_deletable(conn: &mut AnyConnection, role_id: &str) -> Result<()> {
    let role = store::require_role(conn, role_id)?;
    if role.is_immutable() {
        return Err(immutable_refusal("delete", role_id));
    }
    Ok(())
}

// ---- implied roles ---------------------------------------------------------------------

/// `[assignment] prohibited_implied_role` (default `admin`).
fn prohibited_implied_roles(config: &Config) -> Vec<String> {
    match config.get("assignment", "prohibited_implied_role") {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => vec!["admin".to_string()],
    }
}

pub fn create_implied_role(
    conn: &mut AnyConnection,
    config: &Config,
    prior: &Role,
    implied: &Role,
) -> Result<()> {
    if prohibited_implied_roles(config).contains(&implied.name) {
        return Err(invalid_implied_role(&implied.id));
    }
    // A global role may not imply a domain-specific one (Keystone hides the reason).
    if prior.domain_id.is_none() && implied.domain_id.is_some() {
        return Err(invalid_implied_role(&implied.id));
    }
    store::create_implication(conn, &prior.id, &implied.id)
}

pub fn require_implication(
    conn: &mut AnyConnection,
    prior_id: &str,
    implied_id: &str,
) -> Result<()> {
    if store::implication_exists(conn, prior_id, implied_id)? {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "{prior_id} does not imply {implied_id}."
        )))
    }
}

/// `{"role_inference": {"prior_role": …, "implies": …}}` for one prior role.
pub fn role_inference_json(prior: &Role, implies: Value, base_url: &str, self_path: &str) -> Value {
    json!({
        "role_inference": {"prior_role": prior.to_reference_json(base_url), "implies": implies},
        "links": {"self": format!("{base_url}/v3{self_path}")}
    })
}

/// `GET /v3/role_inferences`: one entry per prior role, in the order the rules are stored.
pub fn role_inferences(conn: &mut AnyConnection, base_url: &str) -> Result<Value> {
    let rules = store::inference_rules(conn)?;
    let ids: Vec<String> = rules
        .iter()
        .flat_map(|(p, i)| [p.clone(), i.clone()])
        .collect();
    let roles: BTreeMap<String, Role> = store::get_roles(conn, &ids)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let mut order: Vec<&String> = Vec::new();
    let mut implied: BTreeMap<&String, Vec<Value>> = BTreeMap::new();
    for (prior, implied_id) in &rules {
        // Keystone would fail on a dangling row; skipping it keeps the list usable.
        let (Some(_), Some(role)) = (roles.get(prior), roles.get(implied_id)) else {
            continue;
        };
        if !implied.contains_key(prior) {
            order.push(prior);
        }
        implied
            .entry(prior)
            .or_default()
            .push(role.to_reference_json(base_url));
    }
    let inferences: Vec<Value> = order
        .into_iter()
        .filter_map(|prior| {
            let role = roles.get(prior)?;
            Some(json!({
                "prior_role": role.to_reference_json(base_url),
                "implies": implied.remove(prior).unwrap_or_default(),
            }))
        })
        .collect();
    Ok(json!({ "role_inferences": inferences }))
}

// ---- grants ----------------------------------------------------------------------------

fn actor_id(actor: &Actor) -> &str {
    match actor {
        Actor::User(id) | Actor::Group(id) => id,
    }
}

fn target_id(target: &Target) -> &str {
    match target {
        Target::Project(id) | Target::Domain(id) => id,
        Target::System => store::SYSTEM_TARGET,
    }
}

/// The target must exist: a project (Keystone looks it up in the project table, so a
/// domain's id passes too) or a domain.
fn require_target(conn: &mut AnyConnection, target: &Target) -> Result<Option<Project>> {
    match target {
        Target::Project(id) => Ok(Some(
            resource_store::get_any(conn, id)?
                .ok_or_else(|| Error::could_not_find("project", id))?,
        )),
        Target::Domain(id) => {
            resource_store::get_domain(conn, id)?
                .ok_or_else(|| Error::could_not_find("domain", id))?;
            Ok(None)
        }
        Target::System => Ok(None),
    }
}

/// Keystone's `create_grant`. A domain-specific role may only be granted on a project of
/// its own domain.
pub fn create_grant(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    role_id: &str,
    inherited: bool,
) -> Result<()> {
    let role = store::require_role(conn, role_id)?;
    if let (Some(project), Some(role_domain)) = (require_target(conn, target)?, &role.domain_id) {
        if project.domain_id.as_deref() != Some(role_domain.as_str()) {
            return Err(Error::new(
                actix_web::http::StatusCode::FORBIDDEN,
                format!(
                    "Project {} must be in the same domain as the role {role_id} being assigned.",
                    project.id
                ),
            ));
        }
    }
    store::create_grant(conn, actor, target, role_id, inherited)
}

/// Keystone's `get_grant` (the HEAD/GET check).
pub fn check_grant(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    role_id: &str,
    inherited: bool,
) -> Result<()> {
    store::require_role(conn, role_id)?;
    require_target(conn, target)?;
    if store::grant_exists(conn, actor, target, role_id, inherited)? {
        Ok(())
    } else {
        Err(assignment_not_found(
            role_id,
            actor_id(actor),
            target_id(target),
        ))
    }
}

/// Keystone's `delete_grant`: the role, then the assignment, then the target must exist.
pub fn delete_grant(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    role_id: &str,
    inherited: bool,
) -> Result<()> {
    store::require_role(conn, role_id)?;
    if !store::grant_exists(conn, actor, target, role_id, inherited)? {
        return Err(assignment_not_found(
            role_id,
            actor_id(actor),
            target_id(target),
        ));
    }
    require_target(conn, target)?;
    store::delete_grant(conn, actor, target, role_id, inherited)?;
    Ok(())
}

/// Keystone's `list_grants`: the roles granted to the actor on the target.
pub fn list_grants(
    conn: &mut AnyConnection,
    actor: &Actor,
    target: &Target,
    inherited: bool,
) -> Result<Vec<Role>> {
    require_target(conn, target)?;
    let ids = store::grant_role_ids(conn, actor, target, inherited)?;
    store::get_roles(conn, &ids)
}

pub fn create_system_grant(conn: &mut AnyConnection, actor: &Actor, role: &Role) -> Result<()> {
    if role.domain_id.is_some() {
        return Err(Error::bad_request(format!(
            "Role {} is a domain-specific role. Unable to use a domain-specific role in a system assignment.",
            role.id
        )));
    }
    store::create_system_grant(conn, actor, &role.id)
}

pub fn check_system_grant(conn: &mut AnyConnection, actor: &Actor, role_id: &str) -> Result<()> {
    if store::system_grant_exists(conn, actor, role_id)? {
        Ok(())
    } else {
        Err(assignment_not_found(
            role_id,
            actor_id(actor),
            store::SYSTEM_TARGET,
        ))
    }
}

pub fn delete_system_grant(conn: &mut AnyConnection, actor: &Actor, role_id: &str) -> Result<()> {
    if store::delete_system_grant(conn, actor, role_id)? {
        Ok(())
    } else {
        Err(assignment_not_found(
            role_id,
            actor_id(actor),
            store::SYSTEM_TARGET,
        ))
    }
}

// ---- what policy sees of the entities (target.user, target.group, …) -------------------

pub fn user_target(user: &User) -> Value {
    let mut m = user.extra.clone();
    m.insert("id".into(), user.id.clone().into());
    m.insert("name".into(), user.name.clone().into());
    m.insert("domain_id".into(), user.domain_id.clone().into());
    m.insert("enabled".into(), user.enabled.into());
    if let Some(p) = &user.default_project_id {
        m.insert("default_project_id".into(), p.clone().into());
    }
    Value::Object(m)
}

pub fn group_target(group: &store::GroupRef) -> Value {
    json!({"id": group.id, "name": group.name, "domain_id": group.domain_id, "description": group.description})
}

pub fn project_target(project: &Project) -> Value {
    let mut m = project.extra.clone();
    m.insert("id".into(), project.id.clone().into());
    m.insert("name".into(), project.name.clone().into());
    m.insert("domain_id".into(), project.domain_id.clone().into());
    m.insert("description".into(), project.description.clone().into());
    m.insert("enabled".into(), project.enabled.into());
    m.insert("parent_id".into(), project.parent_id.clone().into());
    m.insert("is_domain".into(), project.is_domain.into());
    Value::Object(m)
}

pub fn domain_target(domain: &Project) -> Value {
    let mut m = domain.extra.clone();
    m.insert("id".into(), domain.id.clone().into());
    m.insert("name".into(), domain.name.clone().into());
    m.insert("description".into(), domain.description.clone().into());
    m.insert("enabled".into(), domain.enabled.into());
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_chains_and_ignores_cycles() {
        let mut imp = BTreeMap::new();
        imp.insert("admin".to_string(), vec!["member".to_string()]);
        imp.insert("member".to_string(), vec!["reader".to_string()]);
        imp.insert("reader".to_string(), vec!["admin".to_string()]);
        assert_eq!(
            expand_implied(&["admin".into()], &imp),
            vec!["admin", "member", "reader"]
        );
    }

    #[test]
    fn new_roles_keep_extras_normalised_and_ignore_client_ids() {
        let body = json!({"name": "r", "id": "mine", "foo-bar": 1, "x:y": 2, "options": {"immutable": true}});
        let role = new_role(body.as_object().unwrap());
        assert_ne!(role.id, "mine");
        assert_eq!(role.immutable, Some(true));
        assert_eq!(Value::Object(role.extra), json!({"foo_bar": 1, "x_y": 2}));
    }
}
