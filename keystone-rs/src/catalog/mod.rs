//! Services, endpoints and regions (Keystone's `catalog` subsystem), and the catalog
//! rendered into tokens and `GET /v3/auth/catalog` (shared/spec/tokens-api.md §5).
//!
//! Rows keep Keystone's SQL model: a few real columns plus a JSON `extra` blob holding
//! every other attribute a client sent, in the order it sent them. The API form of a row
//! is Keystone's `to_dict`: the extras first, then the columns.

pub mod endpoint_filter;
pub mod model;
pub mod schema;
pub mod store;
pub mod url;

use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::python::py_str;
use actix_web::http::StatusCode;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashSet};

pub use model::{Endpoint, Region, Service, new_id, normalize_keys};
pub use url::{Substitutions, substitute_url};

use model::{REGION_ID_MAX, attribute_error, merged, required_string};

// ---- services -------------------------------------------------------------------------

/// `POST /v3/services`: a generated id; `enabled` defaults to true and `name` to "".
pub fn create_service(conn: &mut AnyConnection, service: Map<String, Value>) -> Result<Service> {
    let mut d = normalize_keys(service);
    d.insert("id".into(), new_id().into());
    d.entry("enabled").or_insert(Value::Bool(true));
    d.entry("name").or_insert_with(|| Value::from(""));
    let service = Service::from_dict(&d)?;
    store::insert_service_row(conn, &service)?;
    Ok(service)
}

pub fn get_service(conn: &mut AnyConnection, id: &str) -> Result<Service> {
    store::get_service(conn, id)?.ok_or_else(|| Error::could_not_find("service", id))
}

pub fn update_service(
    conn: &mut AnyConnection,
    id: &str,
    update: &Map<String, Value>,
) -> Result<Service> {
    let current = get_service(conn, id)?;
    let mut service = Service::from_dict(&merged(current.to_dict(), update))?;
    service.id = current.id;
    store::update_service_row(conn, &service)?;
    Ok(service)
}

/// Deletes the service and its endpoints, as Keystone does. Returns the endpoints' ids.
pub fn delete_service(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>> {
    let endpoint_ids = store::endpoint_ids_of_service(conn, id)?;
    if !store::delete_service_cascade(conn, id)? {
        return Err(Error::could_not_find("service", id));
    }
    Ok(endpoint_ids)
}

// ---- endpoints ------------------------------------------------------------------------

/// The legacy `region` attribute: when no `region_id` is given, it becomes the region id,
/// and that region is created if missing (Keystone's `_validate_endpoint_region`).
fn adopt_legacy_region(conn: &mut AnyConnection, d: &mut Map<String, Value>) -> Result<()> {
    let has_region_id = d.get("region_id").is_some_and(|v| !v.is_null());
    let has_region = d.get("region").is_some_and(|v| !v.is_null());
    if has_region_id || !has_region {
        return Ok(());
    }
    let region = d.shift_remove("region").unwrap_or(Value::Null);
    d.insert("region_id".into(), region.clone());
    let Value::String(region_id) = region else {
        return Err(attribute_error(
            "region",
            &region,
            "is not of type 'string', 'null'",
        ));
    };
    if region_id.chars().count() > REGION_ID_MAX {
        return Err(attribute_error("region", &region_id.into(), "is too long"));
    }
    if store::get_region(conn, &region_id)?.is_none() {
        let region = Region {
            id: region_id,
            description: String::new(),
            parent_region_id: None,
            extra: Map::new(),
        };
        store::insert_region_row(conn, &region)?;
    }
    Ok(())
}

fn assert_region_exists(conn: &mut AnyConnection, region_id: Option<&Value>) -> Result<()> {
    let exists = match region_id {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(id)) => store::get_region(conn, id)?.is_some(),
        Some(_) => false,
    };
    if exists {
        Ok(())
    } else {
        Err(Error::expecting("endpoint region_id", "region table"))
    }
}

fn assert_service_exists(conn: &mut AnyConnection, service_id: Option<&Value>) -> Result<()> {
    let exists = match service_id {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(id)) => store::get_service(conn, id)?.is_some(),
        Some(_) => false,
    };
    if exists {
        Ok(())
    } else {
        Err(Error::expecting("endpoint service_id", "service table"))
    }
}

/// `POST /v3/endpoints`, in Keystone's order of checks: the URL template, the legacy
/// region, the region, the service.
pub fn create_endpoint(conn: &mut AnyConnection, endpoint: Map<String, Value>) -> Result<Endpoint> {
    let url = required_string(&endpoint, "url")?;
    if !url::is_valid_template(&url) {
        return Err(Error::bad_request(format!(
            "Cannot create an endpoint with an invalid URL: {url}."
        )));
    }
    let mut d = normalize_keys(endpoint);
    d.insert("id".into(), new_id().into());
    adopt_legacy_region(conn, &mut d)?;
    assert_region_exists(conn, d.get("region_id"))?;
    assert_service_exists(conn, d.get("service_id"))?;
    let (endpoint, legacy) = Endpoint::from_dict(&d)?;
    store::insert_endpoint(conn, &endpoint)?;
    if legacy.is_some() {
        store::set_legacy_endpoint_id(conn, &endpoint.id, legacy.as_deref())?;
    }
    Ok(endpoint)
}

pub fn get_endpoint(conn: &mut AnyConnection, id: &str) -> Result<Endpoint> {
    store::get_endpoint(conn, id)?.ok_or_else(|| Error::could_not_find("endpoint", id))
}

/// `PATCH /v3/endpoints/{id}`. Keystone does not re-check the URL template here.
pub fn update_endpoint(
    conn: &mut AnyConnection,
    id: &str,
    update: Map<String, Value>,
) -> Result<Endpoint> {
    let mut update = update;
    adopt_legacy_region(conn, &mut update)?;
    assert_region_exists(conn, update.get("region_id"))?;
    assert_service_exists(conn, update.get("service_id"))?;
    let current = get_endpoint(conn, id)?;
    let (mut endpoint, legacy) = Endpoint::from_dict(&merged(current.to_dict(), &update))?;
    endpoint.id = current.id;
    store::update_endpoint_row(conn, &endpoint)?;
    if update.contains_key("legacy_endpoint_id") {
        store::set_legacy_endpoint_id(conn, &endpoint.id, legacy.as_deref())?;
    }
    Ok(endpoint)
}

pub fn delete_endpoint(conn: &mut AnyConnection, id: &str) -> Result<()> {
    if !store::delete_endpoint(conn, id)? {
        return Err(Error::could_not_find("endpoint", id));
    }
    Ok(())
}

// ---- regions --------------------------------------------------------------------------

fn region_not_found(id: &Value) -> Error {
    Error::could_not_find("region", &py_str(id))
}

/// The parent named in a region dict must exist (404 naming the parent).
fn check_parent_region(conn: &mut AnyConnection, d: &Map<String, Value>) -> Result<()> {
    match d.get("parent_region_id") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(parent)) if store::get_region(conn, parent)?.is_some() => Ok(()),
        Some(other) => Err(region_not_found(other)),
    }
}

/// Create a region whose id is already settled (generated, from the body or the URL).
pub fn create_region(conn: &mut AnyConnection, region: Map<String, Value>) -> Result<Region> {
    let mut d = region;
    let id = required_string(&d, "id")?;
    if id.chars().count() > REGION_ID_MAX {
        return Err(attribute_error("id", &id.into(), "is too long"));
    }
    if store::get_region(conn, &id)?.is_some() {
        return Err(Error::conflict(format!(
            "Conflict occurred attempting to store region - Duplicate ID, {id}.."
        )));
    }
    // The column is NOT NULL: Keystone stores a missing or null description as "".
    if d.get("description").is_none_or(Value::is_null) {
        d.insert("description".into(), "".into());
    }
    check_parent_region(conn, &d)?;
    let region = Region::from_dict(&d)?;
    store::insert_region_row(conn, &region)?;
    Ok(region)
}

pub fn get_region(conn: &mut AnyConnection, id: &str) -> Result<Region> {
    store::get_region(conn, id)?.ok_or_else(|| Error::could_not_find("region", id))
}

/// Walk up from the new parent; reaching the region itself would close a cycle.
fn ensure_no_cycle(
    conn: &mut AnyConnection,
    region_id: &str,
    parent: Option<String>,
) -> Result<()> {
    let circular = |parent: &str| {
        Error::bad_request(format!(
            "The specified parent region {parent} would create a circular region hierarchy."
        ))
    };
    let mut seen = HashSet::new();
    let mut next = parent;
    while let Some(parent) = next {
        if parent == region_id || !seen.insert(parent.clone()) {
            return Err(circular(&parent));
        }
        next = get_region(conn, &parent)?.parent_region_id;
    }
    Ok(())
}

pub fn update_region(
    conn: &mut AnyConnection,
    id: &str,
    update: Map<String, Value>,
) -> Result<Region> {
    let mut update = update;
    if update.get("description").is_some_and(Value::is_null) {
        update.insert("description".into(), "".into());
    }
    check_parent_region(conn, &update)?;
    let current = get_region(conn, id)?;
    let mut region = Region::from_dict(&merged(current.to_dict(), &update))?;
    region.id = current.id;
    ensure_no_cycle(conn, &region.id, region.parent_region_id.clone())?;
    store::update_region_row(conn, &region)?;
    Ok(region)
}

/// Deletes a region with its descendants, unless any of them has endpoints (403).
/// Returns the ids of the deleted regions.
pub fn delete_region(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>> {
    let root = get_region(conn, id)?;
    let mut subtree = vec![root.id.clone()];
    let mut seen: HashSet<String> = subtree.iter().cloned().collect();
    let mut frontier = subtree.clone();
    while !frontier.is_empty() {
        let children = store::child_region_ids(conn, &frontier)?;
        frontier = children
            .into_iter()
            .filter(|c| seen.insert(c.clone()))
            .collect();
        subtree.extend(frontier.iter().cloned());
    }
    if store::regions_have_endpoints(conn, &subtree)? {
        return Err(Error::new(
            StatusCode::FORBIDDEN,
            format!(
                "Unable to delete region {id} because it or its child regions have associated endpoints."
            ),
        ));
    }
    store::delete_regions(conn, &subtree)?;
    Ok(subtree)
}

// ---- the catalog ----------------------------------------------------------------------

fn catalog_endpoint(endpoint: &Endpoint, subs: &Substitutions) -> Option<Value> {
    let url = substitute_url(&endpoint.url, subs)?;
    let mut d = endpoint.to_api_dict();
    d.shift_remove("service_id");
    d.shift_remove("enabled");
    d.insert("url".into(), url.into());
    Some(Value::Object(d))
}

/// The catalog: enabled services with their enabled endpoints, URLs substituted, in
/// Keystone's key order. With `only`, endpoints outside it are left out and services left
/// without endpoints are dropped (Keystone's endpoint filtering).
pub fn render(
    services: &[Service],
    endpoints: &[Endpoint],
    subs: &Substitutions,
    only: Option<&BTreeSet<String>>,
) -> Value {
    let mut catalog = Vec::new();
    for service in services.iter().filter(|s| s.enabled) {
        let eps: Vec<Value> = endpoints
            .iter()
            .filter(|e| e.enabled && e.service_id == service.id)
            .filter(|e| only.is_none_or(|ids| ids.contains(&e.id)))
            .filter_map(|e| catalog_endpoint(e, subs))
            .collect();
        if only.is_some() && eps.is_empty() {
            continue;
        }
        let mut m = Map::new();
        m.insert("endpoints".into(), Value::Array(eps));
        m.insert("id".into(), service.id.clone().into());
        m.insert(
            "type".into(),
            service
                .service_type
                .clone()
                .map_or(Value::Null, Value::from),
        );
        m.insert("name".into(), service.name());
        catalog.push(Value::Object(m));
    }
    Value::Array(catalog)
}

/// oslo.config's boolean reading.
fn config_bool(config: &Config, section: &str, option: &str, default: bool) -> bool {
    match config
        .get(section, option)
        .map(|v| v.trim().to_ascii_lowercase())
    {
        Some(v) if ["true", "1", "yes", "on", "t", "y"].contains(&v.as_str()) => true,
        Some(v) if ["false", "0", "no", "off", "f", "n"].contains(&v.as_str()) => false,
        _ => default,
    }
}

/// The endpoints a project is restricted to by OS-EP-FILTER associations (direct or
/// through endpoint groups): `None` when it has none, else the enabled ones among them.
/// A project whose only associated endpoints are disabled gets an empty catalog, as in
/// Keystone.
fn project_endpoint_filter(
    conn: &mut AnyConnection,
    project_id: &str,
    endpoints: &[Endpoint],
) -> Result<Option<BTreeSet<String>>> {
    let associated = endpoint_filter::endpoints_for_project(conn, project_id, endpoints)?;
    if associated.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        associated
            .into_iter()
            .filter(|e| e.enabled)
            .map(|e| e.id)
            .collect(),
    ))
}

/// What a catalog depends on besides the endpoints themselves, so that caches can share one
/// catalog among every token that gets the same: a cloud's thousands of users and projects
/// mostly see one catalog, and a copy of it per user or project costs megabytes per hundred.
#[derive(Debug, Default)]
pub struct Dependence {
    /// Some endpoint URL names the user.
    pub user: bool,
    /// Some endpoint URL names the project.
    pub project: bool,
    /// Projects whose catalog OS-EP-FILTER restricts.
    pub filtered_projects: std::collections::HashSet<String>,
}

impl Dependence {
    /// Whether the catalog of a project-scoped token depends on which project.
    pub fn on_project(&self, project_id: &str) -> bool {
        self.project || self.filtered_projects.contains(project_id)
    }
}

pub fn dependence(conn: &mut AnyConnection) -> Result<Dependence> {
    let endpoints = store::list_endpoints(conn)?;
    Ok(Dependence {
        user: endpoints.iter().any(|e| url::uses_user_id(&e.url)),
        project: endpoints.iter().any(|e| url::uses_project_id(&e.url)),
        filtered_projects: store::filtered_project_ids(conn)?.into_iter().collect(),
    })
}

/// Keystone's `get_v3_catalog(user_id, project_id)`.
pub fn v3_catalog(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    project_id: Option<&str>,
) -> Result<Value> {
    let services = store::enabled_services(conn)?;
    let endpoints = store::list_endpoints(conn)?;
    let subs = Substitutions {
        user_id: Some(user_id.to_string()),
        project_id: project_id.map(str::to_string),
        public_endpoint: config.default.public_endpoint.clone(),
    };
    let filter = match project_id {
        Some(project_id) => project_endpoint_filter(conn, project_id, &endpoints)?,
        None => None,
    };
    if let Some(allowed) = filter {
        return Ok(render(&services, &endpoints, &subs, Some(&allowed)));
    }
    if !config_bool(
        config,
        "endpoint_filter",
        "return_all_endpoints_if_no_filter",
        true,
    ) {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(render(&services, &endpoints, &subs, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(id: &str, enabled: bool) -> Service {
        let mut extra = Map::new();
        extra.insert("name".into(), format!("{id}-name").into());
        Service {
            id: id.into(),
            service_type: Some("t".into()),
            enabled,
            extra,
        }
    }

    fn endpoint(id: &str, service_id: &str, url: &str, enabled: bool) -> Endpoint {
        Endpoint {
            id: id.into(),
            interface: "public".into(),
            service_id: service_id.into(),
            url: url.into(),
            enabled,
            region_id: Some("R".into()),
            extra: Map::new(),
        }
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn catalog_hides_disabled_and_substitutes() {
        let services = vec![service("s1", true), service("s2", false)];
        let endpoints = vec![
            endpoint("e1", "s1", "http://a/$(project_id)s", true),
            endpoint("e2", "s1", "http://b", false),
            endpoint("e3", "s2", "http://c", true),
        ];
        let subs = Substitutions {
            user_id: Some("u".into()),
            project_id: Some("p".into()),
            public_endpoint: None,
        };
        let catalog = render(&services, &endpoints, &subs, None);
        assert_eq!(catalog.as_array().map(Vec::len), Some(1));
        assert_eq!(keys(&catalog[0]), ["endpoints", "id", "type", "name"]);
        assert_eq!(catalog[0]["endpoints"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            keys(&catalog[0]["endpoints"][0]),
            ["id", "interface", "region_id", "url", "region"]
        );
        assert_eq!(catalog[0]["endpoints"][0]["url"], "http://a/p");

        assert_eq!(
            render(&services, &endpoints, &subs, Some(&BTreeSet::new())),
            json!([])
        );
    }
}
