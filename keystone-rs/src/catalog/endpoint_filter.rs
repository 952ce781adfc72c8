//! OS-EP-FILTER: endpoint groups, the project↔endpoint and project↔endpoint-group
//! associations, and the endpoints a project is restricted to (Keystone's
//! `catalog_api.list_endpoints_for_project`, which also shapes every project catalog).
//!
//! Whether a project exists is the resource subsystem's question: the routes ask it in the
//! same transaction before calling in here, in Keystone's order.

use super::model::{Endpoint, new_id};
use super::store;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// The filter keys an endpoint group may use (Keystone's `_require_valid_filter`).
const VALID_FILTER_KEYS: &[&str] = &["service_id", "region_id", "interface"];

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointGroup {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub filters: Map<String, Value>,
}

impl EndpointGroup {
    /// Keystone's `EndpointGroup.to_dict`: the columns in their declared order.
    pub fn to_dict(&self) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("id".into(), self.id.clone().into());
        d.insert("name".into(), self.name.clone().into());
        d.insert(
            "description".into(),
            self.description.clone().map_or(Value::Null, Value::from),
        );
        d.insert("filters".into(), Value::Object(self.filters.clone()));
        d
    }

    /// The API form, with its self link under `/v3/OS-EP-FILTER/endpoint_groups`.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut d = self.to_dict();
        super::model::add_self_link(
            &mut d,
            format!("{base_url}/v3/OS-EP-FILTER/endpoint_groups/{}", self.id),
        );
        Value::Object(d)
    }

    /// Does the endpoint pass every filter? Keystone compares `endpoint[key] != value` on
    /// the endpoint's dict, so a `null` region filter selects the endpoints without one.
    pub fn selects(&self, endpoint: &Endpoint) -> bool {
        let d = endpoint.to_dict();
        self.filters.iter().all(|(k, v)| d.get(k) == Some(v))
    }
}

pub fn endpoint_group_not_found(id: &str) -> Error {
    Error::could_not_find("Endpoint Group", id)
}

fn require_valid_filters(filters: &Map<String, Value>) -> Result<()> {
    if filters
        .keys()
        .any(|k| !VALID_FILTER_KEYS.contains(&k.as_str()))
    {
        return Err(Error::expecting(
            &VALID_FILTER_KEYS.join(" or "),
            "endpoint_group",
        ));
    }
    Ok(())
}

fn optional_text(d: &Map<String, Value>, key: &str) -> Option<String> {
    d.get(key).and_then(Value::as_str).map(str::to_string)
}

/// `POST /v3/OS-EP-FILTER/endpoint_groups` after the schema: `group` is the member (the
/// schema let a missing one through; Keystone then reads it as `{}`).
pub fn create_endpoint_group(
    conn: &mut AnyConnection,
    group: Option<&Map<String, Value>>,
) -> Result<EndpointGroup> {
    let empty = Map::new();
    let group = group.unwrap_or(&empty);
    let filters = match group.get("filters") {
        Some(Value::Object(f)) if !f.is_empty() => f.clone(),
        _ => {
            return Err(Error::bad_request(
                "filters field is required and cannot be empty",
            ));
        }
    };
    require_valid_filters(&filters)?;
    let created = EndpointGroup {
        id: new_id(),
        name: optional_text(group, "name").unwrap_or_default(),
        description: optional_text(group, "description"),
        filters,
    };
    store::insert_endpoint_group(conn, &created)?;
    Ok(created)
}

pub fn get_endpoint_group(conn: &mut AnyConnection, id: &str) -> Result<EndpointGroup> {
    store::get_endpoint_group(conn, id)?.ok_or_else(|| endpoint_group_not_found(id))
}

/// `PATCH`: the given attributes replace the stored ones (`filters` as a whole).
pub fn update_endpoint_group(
    conn: &mut AnyConnection,
    id: &str,
    update: &Map<String, Value>,
) -> Result<EndpointGroup> {
    if let Some(Value::Object(filters)) = update.get("filters") {
        require_valid_filters(filters)?;
    }
    if update.get("id").is_some_and(|v| !v.is_null()) {
        return Err(Error::bad_request("Cannot change ID"));
    }
    let mut group = get_endpoint_group(conn, id)?;
    if let Some(Value::String(name)) = update.get("name") {
        group.name = name.clone();
    }
    if let Some(description) = update.get("description") {
        group.description = description.as_str().map(str::to_string);
    }
    if let Some(Value::Object(filters)) = update.get("filters") {
        group.filters = filters.clone();
    }
    store::update_endpoint_group(conn, &group)?;
    Ok(group)
}

/// Deletes the group with its project associations.
pub fn delete_endpoint_group(conn: &mut AnyConnection, id: &str) -> Result<()> {
    get_endpoint_group(conn, id)?;
    store::delete_endpoint_group(conn, id)
}

/// The endpoints an endpoint group selects, in the endpoint table's order.
pub fn endpoints_in_group(conn: &mut AnyConnection, id: &str) -> Result<Vec<Endpoint>> {
    let endpoints = store::list_endpoints(conn)?;
    let group = get_endpoint_group(conn, id)?;
    Ok(endpoints.into_iter().filter(|e| group.selects(e)).collect())
}

/// Keystone's `get_endpoint_groups_for_project` (the project is known to exist): the
/// associated groups in association order; none at all when one of them is missing.
pub fn endpoint_groups_for_project(
    conn: &mut AnyConnection,
    project_id: &str,
) -> Result<Vec<EndpointGroup>> {
    let mut groups = Vec::new();
    for group_id in store::endpoint_group_ids_for_project(conn, project_id)? {
        match store::get_endpoint_group(conn, &group_id)? {
            Some(group) => groups.push(group),
            None => return Ok(Vec::new()),
        }
    }
    Ok(groups)
}

/// Keystone's `list_endpoints_for_project`: the directly associated endpoints (in
/// association order; one whose endpoint is gone is skipped), then those of each
/// associated endpoint group not already listed. Disabled endpoints are included.
pub fn endpoints_for_project(
    conn: &mut AnyConnection,
    project_id: &str,
    all_endpoints: &[Endpoint],
) -> Result<Vec<Endpoint>> {
    let mut found: Vec<Endpoint> = Vec::new();
    for endpoint_id in store::project_endpoint_ids(conn, project_id)? {
        if found.iter().any(|e| e.id == endpoint_id) {
            continue;
        }
        if let Some(e) = all_endpoints.iter().find(|e| e.id == endpoint_id) {
            found.push(e.clone());
        }
    }
    for group in endpoint_groups_for_project(conn, project_id)? {
        for endpoint in all_endpoints.iter().filter(|e| group.selects(e)) {
            if !found.iter().any(|e| e.id == endpoint.id) {
                found.push(endpoint.clone());
            }
        }
    }
    Ok(found)
}

// ---- project ↔ endpoint ------------------------------------------------------------------

fn endpoint_not_in_project(endpoint_id: &str, project_id: &str) -> Error {
    Error::not_found(format!(
        "Endpoint {endpoint_id} not found in project {project_id}"
    ))
}

pub fn add_endpoint_to_project(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    project_id: &str,
) -> Result<()> {
    if store::project_endpoint_exists(conn, endpoint_id, project_id)? {
        return Err(Error::conflict(
            "Conflict occurred attempting to store project_endpoint - Duplicate entry.",
        ));
    }
    store::insert_project_endpoint(conn, endpoint_id, project_id)
}

pub fn check_endpoint_in_project(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    project_id: &str,
) -> Result<()> {
    if store::project_endpoint_exists(conn, endpoint_id, project_id)? {
        Ok(())
    } else {
        Err(endpoint_not_in_project(endpoint_id, project_id))
    }
}

pub fn remove_endpoint_from_project(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    project_id: &str,
) -> Result<()> {
    if store::delete_project_endpoint(conn, endpoint_id, project_id)? {
        Ok(())
    } else {
        Err(endpoint_not_in_project(endpoint_id, project_id))
    }
}

// ---- project ↔ endpoint group ------------------------------------------------------------

fn group_association_not_found() -> Error {
    Error::not_found("Endpoint Group Project Association not found")
}

/// The association as Keystone shows it: `{endpoint_group_id, project_id, links}` with a
/// self link that is a path, not a URL (Keystone builds it without its base).
pub fn group_project_association(endpoint_group_id: &str, project_id: &str) -> Value {
    serde_json::json!({
        "endpoint_group_id": endpoint_group_id,
        "project_id": project_id,
        "links": {"self": format!(
            "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}"
        )},
    })
}

pub fn check_endpoint_group_in_project(
    conn: &mut AnyConnection,
    endpoint_group_id: &str,
    project_id: &str,
) -> Result<()> {
    if store::project_endpoint_group_exists(conn, endpoint_group_id, project_id)? {
        Ok(())
    } else {
        Err(group_association_not_found())
    }
}

pub fn add_endpoint_group_to_project(
    conn: &mut AnyConnection,
    endpoint_group_id: &str,
    project_id: &str,
) -> Result<()> {
    if store::project_endpoint_group_exists(conn, endpoint_group_id, project_id)? {
        return Err(Error::conflict(
            "Conflict occurred attempting to store project_endpoint_group - Duplicate entry.",
        ));
    }
    store::insert_project_endpoint_group(conn, endpoint_group_id, project_id)
}

pub fn remove_endpoint_group_from_project(
    conn: &mut AnyConnection,
    endpoint_group_id: &str,
    project_id: &str,
) -> Result<()> {
    if store::delete_project_endpoint_group(conn, endpoint_group_id, project_id)? {
        Ok(())
    } else {
        Err(group_association_not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoint(id: &str, service_id: &str, interface: &str, region: Option<&str>) -> Endpoint {
        Endpoint {
            id: id.into(),
            interface: interface.into(),
            service_id: service_id.into(),
            url: "http://x".into(),
            enabled: true,
            region_id: region.map(str::to_string),
            extra: Map::new(),
        }
    }

    fn group(filters: Value) -> EndpointGroup {
        EndpointGroup {
            id: "g".into(),
            name: "n".into(),
            description: None,
            filters: filters.as_object().cloned().unwrap(),
        }
    }

    #[test]
    fn filters_select_like_keystone() {
        let a = endpoint("a", "s1", "public", Some("R1"));
        let b = endpoint("b", "s1", "admin", None);
        assert!(group(json!({"service_id": "s1"})).selects(&a));
        assert!(group(json!({"service_id": "s1"})).selects(&b));
        assert!(!group(json!({"service_id": "s1", "interface": "admin"})).selects(&a));
        assert!(group(json!({"region_id": null})).selects(&b));
        assert!(!group(json!({"region_id": null})).selects(&a));
        assert!(!group(json!({"region_id": "R2"})).selects(&a));
    }

    #[test]
    fn only_three_filter_keys() {
        let ok = json!({"service_id": "s", "region_id": null, "interface": "public"});
        assert!(require_valid_filters(ok.as_object().unwrap()).is_ok());
        let bad = json!({"enabled": true});
        let e = require_valid_filters(bad.as_object().unwrap()).unwrap_err();
        assert!(e.message.starts_with(
            "Expecting to find service_id or region_id or interface in endpoint_group."
        ));
    }

    #[test]
    fn association_link_is_a_path() {
        assert_eq!(
            group_project_association("g", "p"),
            json!({"endpoint_group_id": "g", "project_id": "p",
                   "links": {"self": "/OS-EP-FILTER/endpoint_groups/g/projects/p"}})
        );
        let v = group_project_association("g", "p");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["endpoint_group_id", "project_id", "links"]);
    }
}
