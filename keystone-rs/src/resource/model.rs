//! The project row as Keystone's resource API sees it, and its JSON forms.
//!
//! Keystone renders a project from `Project.to_dict()`: the `extra` attributes first (in
//! stored order), then `id, name, domain_id, description, enabled, parent_id, is_domain,
//! tags`, then `options`; the API adds `links` last (or fills `self` into a `links` object
//! an extra attribute already placed). A domain is the same dict without `parent_id`,
//! `domain_id` and `is_domain`.

use serde_json::{Map, Value};

/// The sentinel row that domains point to, hidden from every API.
pub const ROOT_DOMAIN_ID: &str = "<<keystone.domain.root>>";

/// `project_option.option_id` of the one registered project option.
pub const IMMUTABLE_OPTION_ID: &str = "IMMU";
pub const IMMUTABLE_OPTION_NAME: &str = "immutable";

#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    /// The owning domain; `None` for a domain.
    pub domain_id: Option<String>,
    pub parent_id: Option<String>,
    pub is_domain: bool,
    /// Attributes Keystone keeps in the `extra` JSON column, in stored order.
    pub extra: Map<String, Value>,
    /// In the order they are shown: stored order (by name) when read back.
    pub tags: Vec<String>,
    /// Resource options by name (`immutable`); unset options are absent.
    pub options: Map<String, Value>,
}

pub type Domain = Project;

impl Project {
    pub fn is_immutable(&self) -> bool {
        self.options.get(IMMUTABLE_OPTION_NAME) == Some(&Value::Bool(true))
    }

    /// Keystone's `Project.to_dict()`: extras, the attributes, then `options`.
    pub fn project_ref(&self) -> Map<String, Value> {
        self.project_dict(false)
    }

    /// `to_dict(include_extra_dict=True)`, what a project update answers: the `extra`
    /// dict again, between `tags` and `options`.
    pub fn project_ref_with_extra(&self) -> Map<String, Value> {
        self.project_dict(true)
    }

    fn project_dict(&self, include_extra: bool) -> Map<String, Value> {
        // sized for the attributes and `links` up front: growing the map step by step
        // rehashed it three times per project of a listing
        let mut m = Map::with_capacity(self.extra.len() + 11);
        m.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("domain_id".into(), self.domain_id.clone().into());
        m.insert("description".into(), self.description.clone().into());
        m.insert("enabled".into(), self.enabled.into());
        m.insert("parent_id".into(), self.parent_id.clone().into());
        m.insert("is_domain".into(), self.is_domain.into());
        m.insert("tags".into(), self.tags.clone().into());
        if include_extra {
            m.insert("extra".into(), Value::Object(self.extra.clone()));
        }
        m.insert("options".into(), Value::Object(self.options.clone()));
        m
    }

    /// Keystone's `_get_domain_from_project`: the project dict without the hierarchy keys.
    pub fn domain_ref(&self) -> Map<String, Value> {
        let mut m = self.project_dict(false);
        for key in ["parent_id", "domain_id", "is_domain", "extra"] {
            m.shift_remove(key);
        }
        m
    }

    /// Resource-API JSON of a project, with its `links`.
    pub fn to_project_json(&self, base_url: &str) -> Value {
        let mut m = self.project_ref();
        add_self_link(&mut m, project_url(base_url, &self.id));
        Value::Object(m)
    }

    /// Resource-API JSON of a domain, with its `links`.
    pub fn to_domain_json(&self, base_url: &str) -> Value {
        let mut m = self.domain_ref();
        add_self_link(&mut m, domain_url(base_url, &self.id));
        Value::Object(m)
    }
}

pub fn project_url(base_url: &str, id: &str) -> String {
    format!("{base_url}/v3/projects/{id}")
}

pub fn domain_url(base_url: &str, id: &str) -> String {
    format!("{base_url}/v3/domains/{id}")
}

/// `ref.setdefault('links', {})['self'] = url`. A `links` extra that is not an object would
/// make Keystone fail on every read of the project; we replace it instead.
pub fn add_self_link(m: &mut Map<String, Value>, url: String) {
    match m.get_mut("links") {
        Some(Value::Object(links)) => {
            links.insert("self".into(), url.into());
        }
        Some(other) => {
            let mut links = Map::new();
            links.insert("self".into(), url.into());
            *other = Value::Object(links);
        }
        None => {
            let mut links = Map::new();
            links.insert("self".into(), url.into());
            m.insert("links".into(), Value::Object(links));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Project {
        let mut extra = Map::new();
        extra.insert("x_y".into(), json!(2));
        Project {
            id: "p1".into(),
            name: "n".into(),
            description: None,
            enabled: true,
            domain_id: Some("default".into()),
            parent_id: Some("default".into()),
            is_domain: false,
            extra,
            tags: vec!["b".into(), "a".into()],
            options: Map::new(),
        }
    }

    #[test]
    fn project_json_in_keystone_order() {
        let text = crate::json::to_ascii_string(
            &sample().to_project_json("http://k"),
            crate::json::Style::Python,
        );
        assert_eq!(
            text,
            r#"{"x_y": 2, "id": "p1", "name": "n", "domain_id": "default", "description": null, "enabled": true, "parent_id": "default", "is_domain": false, "tags": ["b", "a"], "options": {}, "links": {"self": "http://k/v3/projects/p1"}}"#
        );
        let update = Value::Object(sample().project_ref_with_extra());
        let keys: Vec<&String> = update
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys[9..], ["extra", "options"]);
    }

    #[test]
    fn domain_json_drops_hierarchy_and_keeps_extra_links_in_place() {
        let mut d = sample();
        d.is_domain = true;
        d.domain_id = None;
        d.parent_id = None;
        d.extra.insert("links".into(), json!({"a": 1}));
        let text =
            crate::json::to_ascii_string(&d.to_domain_json("http://k"), crate::json::Style::Python);
        assert_eq!(
            text,
            r#"{"x_y": 2, "links": {"a": 1, "self": "http://k/v3/domains/p1"}, "id": "p1", "name": "n", "description": null, "enabled": true, "tags": ["b", "a"], "options": {}}"#
        );
        d.extra.insert("links".into(), json!("x"));
        assert_eq!(
            d.to_domain_json("http://k")["links"],
            json!({"self": "http://k/v3/domains/p1"})
        );
    }
}
