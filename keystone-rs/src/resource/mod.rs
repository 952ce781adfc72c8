//! Projects and domains: Keystone's resource manager. Both are rows of the `project` table;
//! domains have `is_domain` set and hang off the root sentinel row. Every operation here
//! runs inside the caller's transaction and answers with Keystone's errors and messages.

pub mod delete;
pub mod listing;
pub mod model;
pub mod schema;
pub mod store;

pub use model::{Domain, Project, ROOT_DOMAIN_ID};

use crate::config::Config;
use crate::db::AnyConnection;
use crate::db::listing::{Hints, max_db_limit};
use crate::error::{Error, Result};
use actix_web::http::StatusCode;
use model::IMMUTABLE_OPTION_NAME;
use serde_json::{Map, Value};

/// The resource options keystone.conf can set.
#[derive(Debug, Clone)]
pub struct Settings {
    pub default_domain_id: String,
    /// `[resource] project_name_url_safe` / `domain_name_url_safe` other than `off`.
    pub project_name_url_safe: bool,
    pub domain_name_url_safe: bool,
    /// `[federation] federated_domain_name`, a name and id no domain may take.
    pub federated_domain_name: String,
    /// `[DEFAULT] max_project_tree_depth`, at most 2 under `[unified_limit]
    /// enforcement_model = strict_two_level`.
    pub max_project_tree_depth: usize,
    pub revocation_retention_secs: i64,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        let url_safe = |option: &str| {
            config
                .get("resource", option)
                .is_some_and(|v| v.trim() != "off")
        };
        Settings {
            default_domain_id: config.identity.default_domain_id.clone(),
            project_name_url_safe: url_safe("project_name_url_safe"),
            domain_name_url_safe: url_safe("domain_name_url_safe"),
            federated_domain_name: config
                .get("federation", "federated_domain_name")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .unwrap_or("Federated")
                .to_string(),
            max_project_tree_depth: {
                let configured = config
                    .get("DEFAULT", "max_project_tree_depth")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(5);
                // The strict_two_level limit model bounds every tree to two levels as well.
                if config.unified_limit.enforcement_model == "strict_two_level" {
                    configured.min(2)
                } else {
                    configured
                }
            },
            revocation_retention_secs: crate::revoke::retention_secs(config),
        }
    }
}

// ---- errors in Keystone's words --------------------------------------------------------

pub fn project_not_found(id: &str) -> Error {
    Error::could_not_find("project", id)
}

pub fn domain_not_found(id: &str) -> Error {
    Error::could_not_find("domain", id)
}

/// `ForbiddenNotSecurity`: a 403 whose message is shown.
fn forbidden(message: impl Into<String>) -> Error {
    Error::new(StatusCode::FORBIDDEN, message)
}

fn update_forbidden(kind: &str, id: &str) -> Error {
    forbidden(format!(
        "Unable to update immutable {kind} resource: `{id}. Set resource option \"immutable\" to false first."
    ))
}

fn delete_forbidden(kind: &str, id: &str) -> Error {
    forbidden(format!(
        "Unable to delete immutable {kind} resource: `{id}. Set resource option \"immutable\" to false first."
    ))
}

/// The 409 Keystone words from the project that could not be stored.
fn name_conflict(p: &Project) -> Error {
    let details = if p.is_domain {
        format!(
            "it is not permitted to have two projects acting as domains with the same name: {}",
            p.name
        )
    } else {
        format!(
            "it is not permitted to have two projects with either the same name or same id in the same domain: name is {}, project id {}",
            p.name, p.id
        )
    };
    Error::conflict(format!(
        "Conflict occurred attempting to store project - {details}."
    ))
}

fn map_conflict(p: &Project) -> impl FnOnce(Error) -> Error + '_ {
    move |e| {
        if e.status == StatusCode::CONFLICT {
            name_conflict(p).with_detail(e.detail.unwrap_or(e.message))
        } else {
            e
        }
    }
}

const URL_RESERVED_CHARS: &str = ":/?#[]@!$&'()*+,;=";

fn check_url_safe(enabled: bool, entity: &str, name: &str) -> Result<()> {
    if !enabled {
        return Ok(());
    }
    let reserved: String = name
        .chars()
        .filter(|c| URL_RESERVED_CHARS.contains(*c))
        .collect();
    if reserved.is_empty() {
        return Ok(());
    }
    Err(Error::bad_request(format!(
        "{entity} name cannot contain the following reserved characters: {reserved}"
    )))
}

/// `assert_domain_not_federated`. Keystone raises a bare AssertionError (a 500); the name
/// is simply not allowed, so we answer 400.
fn check_not_federated(s: &Settings, id: &str, name: Option<&str>) -> Result<()> {
    let reserved = s.federated_domain_name.to_lowercase();
    if let Some(name) = name.filter(|n| n.to_lowercase() == reserved) {
        return Err(Error::bad_request(format!("Domain cannot be named {name}")));
    }
    if id.to_lowercase() == reserved {
        return Err(Error::bad_request(format!("Domain cannot have ID {id}")));
    }
    Ok(())
}

fn py_strip(s: &str) -> String {
    crate::python::text::strip(s).to_string()
}

/// Keystone's `_normalize_arg`: `:` and `-` in attribute names become `_`.
fn normalize_key(key: &str) -> String {
    key.replace([':', '-'], "_")
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

// ---- reading ----------------------------------------------------------------------------

/// `get_project`: projects and domains alike (a domain is a project acting as one).
pub fn get_project(conn: &mut AnyConnection, id: &str) -> Result<Project> {
    store::get_any(conn, id)?.ok_or_else(|| project_not_found(id))
}

pub fn get_domain(conn: &mut AnyConnection, id: &str) -> Result<Domain> {
    store::get_domain(conn, id)?.ok_or_else(|| domain_not_found(id))
}

/// `list_project_parents(id, user_id)`: the ancestors the user has a role on (`mine`: the
/// ids of the projects the user has any role on, Keystone's `list_projects_for_user`).
pub fn parents_for_user(
    conn: &mut AnyConnection,
    p: &Project,
    mine: &[String],
) -> Result<Vec<Project>> {
    let mut parents = store::parents(conn, p)?;
    parents.retain(|x| mine.contains(&x.id));
    Ok(parents)
}

/// `list_projects_in_subtree(id, user_id)`: the descendants the user has a role on.
pub fn subtree_for_user(
    conn: &mut AnyConnection,
    p: &Project,
    mine: &[String],
) -> Result<Vec<Project>> {
    let mut subtree = store::subtree(conn, &p.id)?;
    subtree.retain(|x| mine.contains(&x.id));
    Ok(subtree)
}

/// `get_project_parents_as_ids`: `{parent: {grandparent: … {domain: null}}}`, or null.
pub fn parents_as_ids(conn: &mut AnyConnection, p: &Project) -> Result<Value> {
    let parents = store::parents(conn, p)?;
    let mut nested = Value::Null;
    for parent in parents.iter().rev() {
        let mut m = Map::new();
        m.insert(parent.id.clone(), nested);
        nested = Value::Object(m);
    }
    Ok(nested)
}

/// `get_projects_in_subtree_as_ids`: `{child: {grandchild: null, …}, …}`, or null.
pub fn subtree_as_ids(conn: &mut AnyConnection, p: &Project) -> Result<Value> {
    let subtree = store::subtree(conn, &p.id)?;
    fn level(parent: &str, all: &[Project], depth: usize) -> Value {
        let children: Vec<&Project> = all
            .iter()
            .filter(|c| c.parent_id.as_deref() == Some(parent))
            .collect();
        if children.is_empty() || depth > 256 {
            return Value::Null;
        }
        let mut m = Map::new();
        for child in children {
            m.insert(child.id.clone(), level(&child.id, all, depth + 1));
        }
        Value::Object(m)
    }
    Ok(level(&p.id, &subtree, 0))
}

// ---- creating ----------------------------------------------------------------------------

/// A project or domain to create, from a request body already checked by its schema.
struct Draft {
    name: String,
    description: Option<Option<String>>,
    enabled: Option<bool>,
    domain_id: Option<String>,
    parent_id: Option<String>,
    is_domain: bool,
    tags: Vec<String>,
    options: Map<String, Value>,
    extra: Map<String, Value>,
}

const ATTRIBUTES: &[&str] = &[
    "id",
    "name",
    "domain_id",
    "description",
    "enabled",
    "parent_id",
    "is_domain",
    "tags",
];

fn string_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// Python truthiness of an optional string attribute: absent, null and "" are unset.
fn non_empty(v: Option<&Value>) -> Option<String> {
    string_of(v).filter(|s| !s.is_empty())
}

fn options_of(v: Option<&Value>) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(value) = v
        .and_then(Value::as_object)
        .and_then(|o| o.get(IMMUTABLE_OPTION_NAME))
    {
        out.insert(IMMUTABLE_OPTION_NAME.into(), value.clone());
    }
    out
}

fn tags_of(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Attributes Keystone keeps in `extra`: everything it does not model, keys normalised.
/// A normalised key that names a modelled attribute is dropped.
fn extras_of(body: &Map<String, Value>, skip: &[&str]) -> Map<String, Value> {
    let mut extra = Map::new();
    for (key, value) in body {
        if ATTRIBUTES.contains(&key.as_str()) || skip.contains(&key.as_str()) {
            continue;
        }
        let key = normalize_key(key);
        if ATTRIBUTES.contains(&key.as_str()) || key == "options" || key == "extra" {
            continue;
        }
        extra.insert(key, value.clone());
    }
    extra
}

fn draft_from(body: &Map<String, Value>) -> Draft {
    Draft {
        name: string_of(body.get("name")).unwrap_or_default(),
        description: body
            .get("description")
            .map(|d| d.as_str().map(str::to_string)),
        enabled: body.get("enabled").and_then(Value::as_bool),
        domain_id: string_of(body.get("domain_id")),
        parent_id: non_empty(body.get("parent_id")),
        is_domain: body
            .get("is_domain")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        tags: tags_of(body.get("tags")),
        options: options_of(body.get("options")),
        extra: extras_of(body, &["options", "extra"]),
    }
}

/// `POST /v3/projects`. `caller_domain` is the domain of a domain-scoped caller, which a
/// project without `domain_id` lands in (else the default domain).
pub fn create_project(
    conn: &mut AnyConnection,
    s: &Settings,
    body: &Map<String, Value>,
    caller_domain: Option<&str>,
) -> Result<Project> {
    let mut draft = draft_from(body);
    if !draft.is_domain && non_empty(body.get("domain_id")).is_none() {
        draft.domain_id = Some(
            caller_domain
                .map(str::to_string)
                .unwrap_or_else(|| s.default_domain_id.clone()),
        );
    }
    create(conn, s, new_id(), draft)
}

/// `POST /v3/domains`: `explicit_domain_id` must be a uuid4 hex, as Keystone's own ids.
pub fn create_domain(
    conn: &mut AnyConnection,
    s: &Settings,
    body: &Map<String, Value>,
) -> Result<Domain> {
    let id = match body.get("explicit_domain_id").and_then(Value::as_str) {
        None => new_id(),
        Some(explicit) => {
            let canonical = explicit.len() == 32
                && explicit
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
            if !canonical {
                return Err(Error::bad_request(
                    "Domain ID does not conform to required UUID format.",
                ));
            }
            explicit.to_string()
        }
    };
    let name = string_of(body.get("name")).unwrap_or_default();
    check_url_safe(s.domain_name_url_safe, "Domain", &name)?;
    let mut draft = draft_from(body);
    draft.extra = extras_of(body, &["options", "extra", "explicit_domain_id"]);
    draft.is_domain = true;
    draft.domain_id = None;
    draft.parent_id = None;
    create(conn, s, id, draft)
}

/// Keystone's `create_project` manager method: defaults, hierarchy constraints, insert.
fn create(conn: &mut AnyConnection, s: &Settings, id: String, draft: Draft) -> Result<Project> {
    check_url_safe(s.project_name_url_safe, "Project", &draft.name)?;
    let parent_id = draft.parent_id.clone().or_else(|| draft.domain_id.clone());
    let project = Project {
        id,
        name: py_strip(&draft.name),
        description: draft.description.unwrap_or(Some(String::new())),
        enabled: draft.enabled.unwrap_or(true),
        domain_id: draft.domain_id,
        parent_id,
        is_domain: draft.is_domain,
        extra: draft.extra,
        tags: draft.tags,
        options: draft.options,
    };
    if project.is_domain {
        check_not_federated(s, &project.id, Some(&project.name))?;
        if project.parent_id.is_some() {
            return Err(Error::bad_request(
                "only root projects are allowed to act as domains.",
            ));
        }
    } else {
        check_hierarchy(conn, s, &project)?;
    }
    // Null options are "unset": nothing to store.
    let mut stored = project.clone();
    stored.options.retain(|_, v| !v.is_null());
    store::insert_project(conn, &stored).map_err(map_conflict(&project))?;
    Ok(stored)
}

/// `_assert_regular_project_constraints` and the enabled-branch and depth checks. Missing
/// domains and parents are bad input here (Keystone's API turns them into 400s).
fn check_hierarchy(conn: &mut AnyConnection, s: &Settings, p: &Project) -> Result<()> {
    let domain_id = p.domain_id.clone().unwrap_or_default();
    let domain = store::get_domain(conn, &domain_id)?
        .ok_or_else(|| Error::bad_request(format!("Could not find domain: {domain_id}.")))?;
    let parent_id = p.parent_id.clone().unwrap_or_default();
    let parent = store::get_any(conn, &parent_id)?
        .ok_or_else(|| Error::bad_request(format!("Could not find project: {parent_id}.")))?;
    if parent.is_domain {
        if parent.id != domain.id {
            return Err(Error::bad_request(format!(
                "Cannot create project, the parent ({}) is acting as a domain, but this project's domain id ({}) does not match the parent's id.",
                parent.id, domain.id
            )));
        }
    } else if parent.domain_id.as_deref() != Some(domain.id.as_str()) {
        return Err(Error::bad_request(format!(
            "Cannot create project, since it specifies its domain_id {}, but specifies a parent in a different domain ({}).",
            domain.id,
            parent.domain_id.clone().unwrap_or_else(|| "None".into())
        )));
    }
    let mut branch = store::parents(conn, &parent)?;
    branch.push(parent);
    if let Some(disabled) = branch.iter().find(|x| !x.enabled) {
        return Err(Error::bad_request(format!(
            "cannot create a project in a branch containing a disabled project: {}",
            disabled.id
        )));
    }
    // Domains became the top of every tree, so Keystone allows one more level than set.
    if branch.len() + 1 > s.max_project_tree_depth + 1 {
        return Err(forbidden(format!(
            "Max hierarchy depth reached for {parent_id} branch."
        )));
    }
    Ok(())
}

// ---- updating ------------------------------------------------------------------------------

/// `PATCH /v3/projects/{id}`; `id` in the body is the HTTP layer's check.
pub fn update_project(
    conn: &mut AnyConnection,
    s: &Settings,
    id: &str,
    changes: &Map<String, Value>,
) -> Result<Project> {
    let original = get_project(conn, id)?;
    update(conn, s, original, changes.clone())
}

/// `PATCH /v3/domains/{id}`: the body becomes a project update that keeps the domain a root.
pub fn update_domain(
    conn: &mut AnyConnection,
    s: &Settings,
    id: &str,
    changes: &Map<String, Value>,
) -> Result<Domain> {
    check_not_federated(s, id, changes.get("name").and_then(Value::as_str))?;
    let original = get_domain(conn, id)?;
    let mut changes = changes.clone();
    changes.insert("is_domain".into(), Value::Bool(true));
    changes.insert("domain_id".into(), Value::Null);
    changes.insert("parent_id".into(), Value::Null);
    update(conn, s, original, changes)
}

/// Keystone's `check_immutable_update`: an immutable project or domain only accepts the
/// update that makes it mutable again, alone.
fn check_immutable_update(original: &Project, changes: &Map<String, Value>) -> Result<()> {
    if !original.is_immutable() {
        return Ok(());
    }
    let kind = if original.is_domain {
        "domain"
    } else {
        "project"
    };
    let mut changes = changes.clone();
    if original.is_domain
        && changes.get("is_domain") == Some(&Value::Bool(true))
        && non_empty(changes.get("domain_id")).is_none()
        && non_empty(changes.get("parent_id")).is_none()
    {
        for key in ["is_domain", "domain_id", "parent_id"] {
            changes.shift_remove(key);
        }
    }
    let new_value = changes
        .get("options")
        .and_then(Value::as_object)
        .and_then(|o| o.get(IMMUTABLE_OPTION_NAME));
    let makes_mutable = matches!(new_value, Some(Value::Bool(false)) | Some(Value::Null));
    if changes.len() > 1 || !makes_mutable {
        return Err(update_forbidden(kind, &original.id));
    }
    Ok(())
}

fn update(
    conn: &mut AnyConnection,
    s: &Settings,
    original: Project,
    changes: Map<String, Value>,
) -> Result<Project> {
    let id = original.id.clone();
    if let Some(domain_id) = changes.get("domain_id") {
        if *domain_id != Value::from(original.domain_id.clone()) {
            return Err(Error::bad_request("Cannot change Domain ID"));
        }
    }
    check_immutable_update(&original, &changes)?;
    let (url_safe, entity) = if original.is_domain {
        check_not_federated(s, &id, Some(&original.name))?;
        (s.domain_name_url_safe, "Domain")
    } else {
        (s.project_name_url_safe, "Project")
    };
    let new_name = changes.get("name").and_then(Value::as_str);
    let name_changed = new_name.is_some_and(|n| n != original.name);
    if let Some(name) = new_name.filter(|_| name_changed) {
        check_url_safe(url_safe, entity, name)?;
    }
    if let Some(parent_id) = changes.get("parent_id") {
        if *parent_id != Value::from(original.parent_id.clone()) {
            return Err(forbidden("Update of `parent_id` is not allowed."));
        }
    }
    if let Some(is_domain) = changes.get("is_domain") {
        if *is_domain != Value::Bool(original.is_domain) {
            return Err(Error::bad_request("Update of `is_domain` is not allowed."));
        }
    }
    // Keystone reads a missing `enabled` as true, so re-enabling checks run then too.
    let enabled = changes
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !original.enabled && enabled {
        let parents = store::parents(conn, &original)?;
        if parents.iter().any(|p| !p.enabled) {
            return Err(forbidden(format!(
                "Cannot enable project {id} since it has disabled parents"
            )));
        }
    }
    if original.enabled && !enabled && !original.is_domain {
        let subtree = store::subtree(conn, &id)?;
        if subtree.iter().any(|p| p.enabled) {
            return Err(forbidden(format!(
                "Cannot disable project {id} since its subtree contains enabled projects."
            )));
        }
    }

    let mut updated = original.clone();
    if let Some(name) = new_name {
        updated.name = if name_changed {
            py_strip(name)
        } else {
            name.to_string()
        };
    }
    if let Some(description) = changes.get("description") {
        updated.description = description.as_str().map(str::to_string);
    }
    if changes.contains_key("enabled") {
        updated.enabled = enabled;
    }
    if changes.contains_key("tags") {
        updated.tags = tags_of(changes.get("tags"));
    }
    let option_changes = options_of(changes.get("options"));
    for (key, value) in &option_changes {
        if value.is_null() {
            updated.options.shift_remove(key);
        } else {
            updated.options.insert(key.clone(), value.clone());
        }
    }
    for (key, value) in &changes {
        if !ATTRIBUTES.contains(&key.as_str()) && key != "options" && key != "extra" {
            updated.extra.insert(key.clone(), value.clone());
        }
    }
    let mut to_store = updated.clone();
    to_store.options = option_changes;
    store::update_project(conn, &to_store).map_err(map_conflict(&updated))?;
    Ok(updated)
}

// ---- tags ------------------------------------------------------------------------------------

fn check_tags_mutable(p: &Project, action: &str) -> Result<()> {
    if p.is_immutable() {
        return Err(forbidden(format!(
            "Cannot {action} project tags for {}, project is immutable. Set \"immutable\" option to false before creating project tags.",
            p.id
        )));
    }
    Ok(())
}

/// Tags are stored through a project update, as Keystone does (so its checks apply).
fn store_tags(
    conn: &mut AnyConnection,
    s: &Settings,
    p: Project,
    tags: Vec<String>,
) -> Result<Project> {
    let mut changes = Map::new();
    changes.insert("tags".into(), Value::from(tags));
    update(conn, s, p, changes)
}

/// `PUT /v3/projects/{id}/tags`: the whole list, each tag stripped.
pub fn replace_tags(
    conn: &mut AnyConnection,
    s: &Settings,
    project_id: &str,
    tags: &[String],
) -> Result<Vec<String>> {
    let p = get_project(conn, project_id)?;
    check_tags_mutable(&p, "update")?;
    let tags: Vec<String> = tags.iter().map(|t| py_strip(t)).collect();
    Ok(store_tags(conn, s, p, tags)?.tags)
}

/// `PUT /v3/projects/{id}/tags/{tag}` (the list check is the HTTP layer's).
pub fn add_tag(conn: &mut AnyConnection, s: &Settings, p: Project, tag: &str) -> Result<()> {
    check_tags_mutable(&p, "create")?;
    let mut tags = p.tags.clone();
    tags.push(py_strip(tag));
    store_tags(conn, s, p, tags).map(|_| ())
}

/// `DELETE /v3/projects/{id}/tags/{tag}`.
pub fn delete_tag(
    conn: &mut AnyConnection,
    s: &Settings,
    project_id: &str,
    tag: &str,
) -> Result<()> {
    let p = get_project(conn, project_id)?;
    check_tags_mutable(&p, "delete")?;
    let mut tags = p.tags.clone();
    let Some(at) = tags.iter().position(|t| t == tag) else {
        return Err(tag_not_found(tag));
    };
    tags.remove(at);
    store_tags(conn, s, p, tags).map(|_| ())
}

pub fn tag_not_found(tag: &str) -> Error {
    Error::not_found(format!("Could not find project tag: {tag}."))
}

// ---- listing ---------------------------------------------------------------------------------

/// Keystone's `list_projects` (or `list_domains` when `hints` filter on `is_domain`): the
/// SQL page (the filters SQL satisfies leave `hints`, and a full page marks it truncated),
/// then the tag filters on it.
pub fn list(
    conn: &mut AnyConnection,
    config: &Config,
    hints: &mut Hints,
    tags: &listing::TagFilters,
) -> Result<Vec<Project>> {
    if let Some(marker) = &hints.marker {
        if !store::exists(conn, marker)? {
            return Err(Error::not_found(format!(
                "Marker {marker} could not be found."
            )));
        }
    }
    let sql = hints.sql_filters(listing::COLUMNS);
    let fetch = hints.limit_or_max(max_db_limit(config));
    let mut projects = store::list(conn, &sql, hints.marker.as_deref(), fetch)?;
    hints.assume_truncated(projects.len());
    if !tags.is_empty() {
        let selection = listing::select_by_tags(tags, |kind, t| match kind {
            listing::TagMatch::All => store::ids_with_all_tags(conn, t),
            listing::TagMatch::Any => store::ids_with_any_tag(conn, t),
        })?;
        projects.retain(|p| selection.admits(&p.id));
    }
    Ok(projects)
}
