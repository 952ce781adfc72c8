//! The catalog's rows in Keystone's dict form: a few columns plus the `extra` blob with
//! every other attribute a client sent, in its order. `from_dict`/`to_dict` mirror
//! Keystone's `ModelDictMixinWithExtras`: the API form lists the extras first.

use super::schema;
use crate::error::{Error, Result};
use crate::python::{py_repr, py_str};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: String,
    /// Nullable in Keystone's schema; the API always sets it.
    pub service_type: Option<String>,
    pub enabled: bool,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub interface: String,
    pub service_id: String,
    pub url: String,
    pub enabled: bool,
    pub region_id: Option<String>,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub id: String,
    pub description: String,
    pub parent_region_id: Option<String>,
    pub extra: Map<String, Value>,
}

const SERVICE_ATTRIBUTES: &[&str] = &["id", "type", "enabled"];
const ENDPOINT_ATTRIBUTES: &[&str] = &[
    "id",
    "interface",
    "region_id",
    "service_id",
    "url",
    "legacy_endpoint_id",
    "enabled",
];
const REGION_ATTRIBUTES: &[&str] = &["id", "description", "parent_region_id"];

/// Column widths a value must fit (PostgreSQL and MySQL refuse longer ones).
pub(super) const REGION_ID_MAX: usize = 255;
const LEGACY_ENDPOINT_ID_MAX: usize = 64;

/// A fresh id: uuid4 hex, as Keystone's.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Keystone's `_normalize_dict` on create: `:` and `-` in top-level keys become `_`. A
/// later key that normalises to an earlier one replaces its value in place, as in Python.
pub fn normalize_keys(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .map(|(k, v)| (k.replace([':', '-'], "_"), v))
        .collect()
}

/// The extras of a dict: every key that is not a column, in order.
fn extras_of(d: &Map<String, Value>, attributes: &[&str]) -> Map<String, Value> {
    d.iter()
        .filter(|(k, _)| !attributes.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Keystone's `ref.setdefault('links', {})['self'] = url`. A `links` extra that is not an
/// object would make Keystone fail with 500; it is replaced instead.
pub fn add_self_link(d: &mut Map<String, Value>, url: String) {
    match d.get_mut("links") {
        Some(Value::Object(links)) => {
            links.insert("self".into(), url.into());
        }
        _ => {
            let mut links = Map::new();
            links.insert("self".into(), url.into());
            d.insert("links".into(), Value::Object(links));
        }
    }
}

pub(super) fn attribute_error(field: &str, value: &Value, why: &str) -> Error {
    Error::bad_request(format!(
        "Invalid input for field/attribute {field}. Value: {}. {} {why}",
        py_str(value),
        py_repr(value)
    ))
}

pub(super) fn optional_string(d: &Map<String, Value>, field: &str) -> Result<Option<String>> {
    match d.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(attribute_error(field, other, "is not of type 'string'")),
    }
}

pub(super) fn required_string(d: &Map<String, Value>, field: &str) -> Result<String> {
    optional_string(d, field)?.ok_or_else(|| schema::required_property(field))
}

fn bool_or(d: &Map<String, Value>, field: &str, default: bool) -> Result<bool> {
    match d.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(attribute_error(field, other, "is not of type 'boolean'")),
    }
}

impl Service {
    /// Keystone's `Service.from_dict`.
    pub(super) fn from_dict(d: &Map<String, Value>) -> Result<Service> {
        Ok(Service {
            id: optional_string(d, "id")?.unwrap_or_default(),
            service_type: optional_string(d, "type")?,
            enabled: bool_or(d, "enabled", true)?,
            extra: extras_of(d, SERVICE_ATTRIBUTES),
        })
    }

    /// Keystone's `to_dict`: extras, then `id`, `type`, `enabled`.
    pub fn to_dict(&self) -> Map<String, Value> {
        let mut d = self.extra.clone();
        d.insert("id".into(), self.id.clone().into());
        d.insert(
            "type".into(),
            self.service_type.clone().map_or(Value::Null, Value::from),
        );
        d.insert("enabled".into(), self.enabled.into());
        d
    }

    /// The API representation, with its self link.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut d = self.to_dict();
        add_self_link(&mut d, format!("{base_url}/v3/services/{}", self.id));
        Value::Object(d)
    }

    /// The name the catalog shows: the `name` extra, else "".
    pub fn name(&self) -> Value {
        self.extra.get("name").cloned().unwrap_or_else(|| "".into())
    }
}

impl Endpoint {
    /// Keystone's `Endpoint.from_dict` (a missing or null `enabled` is true). The
    /// `legacy_endpoint_id` column is returned beside the endpoint: only writes carry it.
    pub(super) fn from_dict(d: &Map<String, Value>) -> Result<(Endpoint, Option<String>)> {
        let legacy = optional_string(d, "legacy_endpoint_id")?;
        if let Some(legacy_id) = &legacy
            && legacy_id.chars().count() > LEGACY_ENDPOINT_ID_MAX
        {
            return Err(attribute_error(
                "legacy_endpoint_id",
                &legacy_id.clone().into(),
                "is too long",
            ));
        }
        let endpoint = Endpoint {
            id: optional_string(d, "id")?.unwrap_or_default(),
            interface: required_string(d, "interface")?,
            service_id: required_string(d, "service_id")?,
            url: required_string(d, "url")?,
            enabled: bool_or(d, "enabled", true)?,
            region_id: optional_string(d, "region_id")?,
            extra: extras_of(d, ENDPOINT_ATTRIBUTES),
        };
        Ok((endpoint, legacy))
    }

    /// Keystone's `to_dict` without `legacy_endpoint_id` (which every API output pops).
    pub fn to_dict(&self) -> Map<String, Value> {
        let mut d = self.extra.clone();
        d.insert("id".into(), self.id.clone().into());
        d.insert("interface".into(), self.interface.clone().into());
        d.insert(
            "region_id".into(),
            self.region_id.clone().map_or(Value::Null, Value::from),
        );
        d.insert("service_id".into(), self.service_id.clone().into());
        d.insert("url".into(), self.url.clone().into());
        d.insert("enabled".into(), self.enabled.into());
        d
    }

    /// Keystone's `_filter_endpoint`: the legacy `region` attribute mirrors `region_id`
    /// (in the place of a stored `region` extra, if there is one).
    pub fn to_api_dict(&self) -> Map<String, Value> {
        let mut d = self.to_dict();
        d.insert(
            "region".into(),
            self.region_id.clone().map_or(Value::Null, Value::from),
        );
        d
    }

    pub fn to_json(&self, base_url: &str) -> Value {
        let mut d = self.to_api_dict();
        add_self_link(&mut d, format!("{base_url}/v3/endpoints/{}", self.id));
        Value::Object(d)
    }
}

impl Region {
    pub(super) fn from_dict(d: &Map<String, Value>) -> Result<Region> {
        Ok(Region {
            id: optional_string(d, "id")?.unwrap_or_default(),
            description: optional_string(d, "description")?.unwrap_or_default(),
            parent_region_id: optional_string(d, "parent_region_id")?,
            extra: extras_of(d, REGION_ATTRIBUTES),
        })
    }

    pub fn to_dict(&self) -> Map<String, Value> {
        let mut d = self.extra.clone();
        d.insert("id".into(), self.id.clone().into());
        d.insert("description".into(), self.description.clone().into());
        d.insert(
            "parent_region_id".into(),
            self.parent_region_id
                .clone()
                .map_or(Value::Null, Value::from),
        );
        d
    }

    pub fn to_json(&self, base_url: &str) -> Value {
        let mut d = self.to_dict();
        add_self_link(&mut d, format!("{base_url}/v3/regions/{}", self.id));
        Value::Object(d)
    }
}

/// Merge an update into a stored dict: existing keys keep their place, new ones follow
/// (Python's `dict.update`).
pub(super) fn merged(
    mut current: Map<String, Value>,
    update: &Map<String, Value>,
) -> Map<String, Value> {
    for (k, v) in update {
        current.insert(k.clone(), v.clone());
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn normalizes_like_keystone() {
        let m = json!({"a-b": 1, "c:d": 2, "a_b": 3})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            Value::Object(normalize_keys(m)),
            json!({"a_b": 3, "c_d": 2})
        );
    }

    #[test]
    fn api_dicts_put_extras_first() {
        let d = json!({"name": "n", "id": "e1", "interface": "admin", "region": null, "service_id": "s",
                       "url": "http://x", "legacy_endpoint_id": "l", "foo": 1})
        .as_object()
        .cloned()
        .unwrap();
        let (e, legacy) = Endpoint::from_dict(&d).unwrap();
        assert_eq!(legacy.as_deref(), Some("l"));
        assert!(e.enabled);
        let json = e.to_json("http://k");
        assert_eq!(
            keys(&json),
            [
                "name",
                "region",
                "foo",
                "id",
                "interface",
                "region_id",
                "service_id",
                "url",
                "enabled",
                "links"
            ]
        );
        assert_eq!(json["links"]["self"], "http://k/v3/endpoints/e1");

        let mut s = Service {
            id: "s1".into(),
            service_type: Some("t".into()),
            enabled: true,
            extra: Map::new(),
        };
        s.extra.insert("name".into(), "s1-name".into());
        s.extra.insert("links".into(), json!({"a": 1}));
        let json = s.to_json("http://k");
        assert_eq!(keys(&json), ["name", "links", "id", "type", "enabled"]);
        assert_eq!(
            json["links"],
            json!({"a": 1, "self": "http://k/v3/services/s1"})
        );
    }
}
