//! Unified limits (Keystone's `unified_limit_api`): registered limits (a service's default
//! for a resource, optionally per region) and the limits that override them for one project
//! or one domain, checked against the configured enforcement model (`flat` or
//! `strict_two_level`). Every operation runs inside the request's one transaction.

pub mod model;
pub mod schema;
pub mod store;

pub use model::{Limit, Model, RegisteredLimit};

use crate::db::AnyConnection;
use crate::error::{Error, Result};
use actix_web::http::StatusCode;
use serde_json::{Map, Value};

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn registered_limit_not_found(id: &str) -> Error {
    Error::not_found(format!("Could not find registered limit for {id}."))
}

pub fn limit_not_found(id: &str) -> Error {
    Error::not_found(format!("Could not find limit for {id}."))
}

fn duplicate(kind: &str) -> Error {
    Error::conflict(format!(
        "Conflict occurred attempting to store {kind} - Duplicate entry."
    ))
}

fn registered_limit_in_use(id: &str) -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        format!(
            "Unable to update or delete registered limit {id} because there are project limits associated with it."
        ),
    )
}

fn no_limit_reference() -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        "Unable to create a limit that has no corresponding registered limit.",
    )
}

fn invalid_limit(reason: &str) -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        format!("Invalid resource limit: {reason}."),
    )
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A 404 of a lookup becomes Keystone's "Expecting to find <attribute> in <target>." 400.
fn exists(found: Result<()>, attribute: &str, target: &str) -> Result<()> {
    match found {
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(Error::expecting(attribute, target)),
        other => other,
    }
}

/// Keystone's `_assert_resource_exist`: the service, region, project and domain named must
/// exist. A `project_id` naming a domain makes the limit that domain's.
fn assert_resource_exist(
    conn: &mut AnyConnection,
    m: &mut Map<String, Value>,
    target: &str,
) -> Result<()> {
    if let Some(service_id) = text(m, "service_id") {
        exists(
            crate::catalog::get_service(conn, &service_id).map(|_| ()),
            "service_id",
            target,
        )?;
    }
    if let Some(region_id) = text(m, "region_id") {
        exists(
            crate::catalog::get_region(conn, &region_id).map(|_| ()),
            "region_id",
            target,
        )?;
    }
    if let Some(project_id) = text(m, "project_id") {
        let project = crate::resource::store::get_any(conn, &project_id)?
            .ok_or_else(|| Error::expecting("project_id", target))?;
        if project.is_domain {
            let id = m.remove("project_id").unwrap_or(Value::Null);
            m.insert("domain_id".into(), id);
        }
    }
    if let Some(domain_id) = text(m, "domain_id")
        && crate::resource::store::get_domain(conn, &domain_id)?.is_none()
    {
        return Err(Error::expecting("domain_id", target));
    }
    Ok(())
}

/// A checked `integer` (a whole number, 1.0 included) as an i64.
fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

fn limit_value(v: Option<&Value>) -> i32 {
    v.and_then(as_integer)
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(0)
}

// ---- registered limits ---------------------------------------------------------------------

pub fn list_registered_limits(conn: &mut AnyConnection) -> Result<Vec<RegisteredLimit>> {
    store::list_registered(conn)
}

pub fn get_registered_limit(conn: &mut AnyConnection, id: &str) -> Result<RegisteredLimit> {
    store::get_registered(conn, id)?.ok_or_else(|| registered_limit_not_found(id))
}

fn assert_registered_unique(conn: &mut AnyConnection, r: &RegisteredLimit) -> Result<()> {
    let found = store::find_registered(
        conn,
        r.service_id.as_deref(),
        r.resource_name.as_deref(),
        r.region_id.as_deref(),
    )?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(duplicate("registered_limit"))
    }
}

/// `POST /v3/registered_limits`: every item's service and region first, then each is
/// checked for a duplicate (earlier items of the batch included) and stored.
pub fn create_registered_limits(
    conn: &mut AnyConnection,
    mut items: Vec<Map<String, Value>>,
) -> Result<Vec<RegisteredLimit>> {
    for item in items.iter_mut() {
        assert_resource_exist(conn, item, "registered_limit")?;
    }
    let mut created = Vec::new();
    for item in items {
        let r = RegisteredLimit {
            id: new_id(),
            service_id: text(&item, "service_id"),
            region_id: text(&item, "region_id"),
            resource_name: text(&item, "resource_name"),
            default_limit: limit_value(item.get("default_limit")),
            description: text(&item, "description"),
        };
        assert_registered_unique(conn, &r)?;
        store::insert_registered(conn, &r)?;
        created.push(r);
    }
    Ok(created)
}

/// `PATCH /v3/registered_limits/{id}`: refused while any limit refers to it; a change of
/// service, region or resource name must not collide with another registered limit (nor,
/// as in Keystone, with this one when the region is restated).
pub fn update_registered_limit(
    conn: &mut AnyConnection,
    id: &str,
    mut changes: Map<String, Value>,
) -> Result<RegisteredLimit> {
    assert_resource_exist(conn, &mut changes, "registered_limit")?;
    let mut r = get_registered_limit(conn, id)?;
    if store::is_referenced(conn, id)? {
        return Err(registered_limit_in_use(id));
    }
    for (key, value) in &changes {
        let s = value.as_str().map(str::to_string);
        match key.as_str() {
            "service_id" => r.service_id = s,
            "region_id" => r.region_id = s,
            "resource_name" => r.resource_name = s,
            "default_limit" => r.default_limit = limit_value(Some(value)),
            "description" => r.description = s,
            _ => {}
        }
    }
    let truthy = |k: &str| changes.get(k).is_some_and(crate::python::is_truthy);
    if truthy("service_id") || changes.contains_key("region_id") || truthy("resource_name") {
        assert_registered_unique(conn, &r)?;
    }
    store::update_registered(conn, &r)?;
    Ok(r)
}

pub fn delete_registered_limit(conn: &mut AnyConnection, id: &str) -> Result<()> {
    get_registered_limit(conn, id)?;
    if store::is_referenced(conn, id)? {
        return Err(registered_limit_in_use(id));
    }
    store::delete_registered(conn, id)
}

// ---- limits --------------------------------------------------------------------------------

pub fn list_limits(conn: &mut AnyConnection) -> Result<Vec<Limit>> {
    store::list_limits(conn)
}

pub fn get_limit(conn: &mut AnyConnection, id: &str) -> Result<Limit> {
    store::get_limit(conn, id)?.ok_or_else(|| limit_not_found(id))
}

/// The limits of one project, as `include_limits` shows them.
pub fn limits_for_project(conn: &mut AnyConnection, project_id: &str) -> Result<Vec<Limit>> {
    let mut all = store::list_limits(conn)?;
    all.retain(|l| l.project_id.as_deref() == Some(project_id));
    Ok(all)
}

/// The fields the enforcement model looks at.
#[derive(Debug, Clone)]
struct Candidate {
    project_id: Option<String>,
    domain_id: Option<String>,
    service_id: Option<String>,
    region_id: Option<String>,
    resource_name: Option<String>,
    resource_limit: i32,
}

/// `POST /v3/limits`: every item's references first (a project id naming a domain makes
/// a domain limit), then the enforcement model over the whole batch, then each item needs
/// its registered limit (403) and must not duplicate a stored limit (409).
pub fn create_limits(
    conn: &mut AnyConnection,
    model: Model,
    mut items: Vec<Map<String, Value>>,
) -> Result<Vec<Limit>> {
    for item in items.iter_mut() {
        assert_resource_exist(conn, item, "limit")?;
    }
    let candidates: Vec<Candidate> = items
        .iter()
        .map(|m| Candidate {
            project_id: text(m, "project_id"),
            domain_id: text(m, "domain_id"),
            service_id: text(m, "service_id"),
            region_id: text(m, "region_id"),
            resource_name: text(m, "resource_name"),
            resource_limit: limit_value(m.get("resource_limit")),
        })
        .collect();
    check_limits(conn, model, &candidates)?;
    let mut created = Vec::new();
    for item in items {
        let registered = store::find_registered(
            conn,
            text(&item, "service_id").as_deref(),
            text(&item, "resource_name").as_deref(),
            text(&item, "region_id").as_deref(),
        )?;
        let Some(registered) = registered.into_iter().next() else {
            return Err(no_limit_reference());
        };
        let l = Limit {
            id: new_id(),
            project_id: text(&item, "project_id"),
            domain_id: text(&item, "domain_id"),
            resource_limit: limit_value(item.get("resource_limit")),
            description: text(&item, "description"),
            registered_limit_id: Some(registered.id.clone()),
            service_id: text(&item, "service_id"),
            region_id: text(&item, "region_id"),
            resource_name: text(&item, "resource_name"),
        };
        let project = l.project_id.as_deref().filter(|p| !p.is_empty());
        if store::limit_exists(conn, &registered.id, project, l.domain_id.as_deref())? {
            return Err(duplicate("limit"));
        }
        store::insert_limit(conn, &l)?;
        created.push(l);
    }
    Ok(created)
}

/// `PATCH /v3/limits/{id}`: the model checks the limit as it would become; Keystone's
/// driver then writes only a truthy `resource_limit` and `description` (0 and "" are
/// checked but not stored).
pub fn update_limit(
    conn: &mut AnyConnection,
    model: Model,
    id: &str,
    changes: Map<String, Value>,
) -> Result<Limit> {
    let mut l = get_limit(conn, id)?;
    let candidate = Candidate {
        project_id: l.project_id.clone(),
        domain_id: l.domain_id.clone(),
        service_id: l.service_id.clone(),
        region_id: l.region_id.clone(),
        resource_name: l.resource_name.clone(),
        resource_limit: match changes.get("resource_limit") {
            Some(v) => limit_value(Some(v)),
            None => l.resource_limit,
        },
    };
    check_limits(conn, model, &[candidate])?;
    let truthy = |k: &str| changes.get(k).is_some_and(crate::python::is_truthy);
    if truthy("resource_limit") {
        l.resource_limit = limit_value(changes.get("resource_limit"));
    }
    if truthy("description") {
        l.description = text(&changes, "description");
    }
    store::update_limit(conn, &l)?;
    Ok(l)
}

pub fn delete_limit(conn: &mut AnyConnection, id: &str) -> Result<()> {
    get_limit(conn, id)?;
    store::delete_limit(conn, id)
}

// ---- enforcement models ----------------------------------------------------------------------

fn check_limits(conn: &mut AnyConnection, model: Model, limits: &[Candidate]) -> Result<()> {
    match model {
        // The flat model does not look at the hierarchy.
        Model::Flat => Ok(()),
        Model::StrictTwoLevel => strict_two_level(conn, limits),
    }
}

fn same_resource(l: &Limit, c: &Candidate) -> bool {
    l.service_id == c.service_id && l.region_id == c.region_id && l.resource_name == c.resource_name
}

/// Keystone's `_get_specified_limit_value`: the project's (or domain's) limit; a domain
/// without one falls back to the registered default.
fn specified_limit_value(
    conn: &mut AnyConnection,
    c: &Candidate,
    project_id: Option<&str>,
    domain_id: Option<&str>,
) -> Result<Option<i32>> {
    let limits = store::list_limits(conn)?;
    let found = limits.iter().find(|l| {
        same_resource(l, c)
            && match project_id {
                Some(p) => l.project_id.as_deref() == Some(p),
                None => l.domain_id.as_deref() == domain_id,
            }
    });
    if let Some(l) = found {
        return Ok(Some(l.resource_limit));
    }
    if domain_id.is_some() {
        let registered = store::find_registered(
            conn,
            c.service_id.as_deref(),
            c.resource_name.as_deref(),
            c.region_id.as_deref(),
        )?;
        return Ok(registered.first().map(|r| r.default_limit));
    }
    Ok(None)
}

/// Python's truthiness of an optional limit value: `None` and 0 are false.
fn truthy(v: Option<i32>) -> Option<i32> {
    v.filter(|n| *n != 0)
}

/// `StrictTwoLevelModel.check_limit`: a project limit may not exceed its parent domain's
/// (the one in the same request first, else the stored one or the registered default); a
/// domain limit may not be below any of its projects' limits.
fn strict_two_level(conn: &mut AnyConnection, limits: &[Candidate]) -> Result<()> {
    for c in limits {
        let outcome = strict_one(conn, limits, c);
        if let Err(e) = outcome {
            if e.status != StatusCode::FORBIDDEN {
                return Err(e);
            }
            let (level, id) = match &c.project_id {
                Some(p) => ("project_id", p.clone()),
                None => ("domain_id", c.domain_id.clone().unwrap_or("None".into())),
            };
            let none = || "None".to_string();
            let reason = format!(
                "The resource limit ({level}: {id}, resource_name: {}, resource_limit: {}, service_id: {}, region_id: {}) doesn't satisfy current hierarchy model.",
                c.resource_name.clone().unwrap_or_else(none),
                c.resource_limit,
                c.service_id.clone().unwrap_or_else(none),
                c.region_id.clone().unwrap_or_else(none),
            );
            tracing::error!("{reason}");
            return Err(invalid_limit(&reason));
        }
    }
    Ok(())
}

fn strict_one(conn: &mut AnyConnection, limits: &[Candidate], c: &Candidate) -> Result<()> {
    let parent_id = match &c.project_id {
        Some(project_id) => {
            let project = crate::resource::get_project(conn, project_id)?;
            let parent_id = project.parent_id.clone();
            let in_request = limits.iter().find(|x| {
                x.domain_id.is_some()
                    && x.domain_id == parent_id
                    && x.service_id == c.service_id
                    && x.region_id == c.region_id
                    && x.resource_name == c.resource_name
            });
            if let Some(parent) = in_request {
                if c.resource_limit > parent.resource_limit {
                    return Err(invalid_limit(&format!(
                        "The value of the limit which project is {project_id} should not bigger than its parent domain {}",
                        parent.domain_id.clone().unwrap_or_default()
                    )));
                }
                // The parent is in the request: the stored one does not matter.
                return Ok(());
            }
            parent_id
        }
        None => None,
    };
    match parent_id {
        Some(parent_id) => {
            let parent = specified_limit_value(conn, c, None, Some(&parent_id))?;
            if let Some(parent) = truthy(parent)
                && c.resource_limit > parent
            {
                return Err(invalid_limit("Limit is bigger than parent."));
            }
        }
        None => {
            let domain_id = c.domain_id.clone().unwrap_or_default();
            for sub in crate::resource::store::subtree(conn, &domain_id)? {
                let child = specified_limit_value(conn, c, Some(&sub.id), None)?;
                if let Some(child) = truthy(child)
                    && c.resource_limit < child
                {
                    return Err(invalid_limit("Limit is smaller than child."));
                }
            }
        }
    }
    Ok(())
}
