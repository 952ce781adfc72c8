//! Projects and domains. Both are rows of Keystone's `project` table; domains have
//! `is_domain` set and hang off the root sentinel row.

pub mod store;

/// The sentinel row that domains point to, hidden from every API.
pub const ROOT_DOMAIN_ID: &str = "<<keystone.domain.root>>";

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
    pub extra: serde_json::Map<String, serde_json::Value>,
}

pub type Domain = Project;

impl Project {
    /// Resource-API JSON of a project: Keystone's key order, extras first.
    pub fn to_project_json(&self, base_url: &str) -> serde_json::Value {
        let mut m = self.extra.clone();
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("domain_id".into(), self.domain_id.clone().into());
        m.insert(
            "description".into(),
            self.description.clone().unwrap_or_default().into(),
        );
        m.insert("enabled".into(), self.enabled.into());
        m.insert("parent_id".into(), self.parent_id.clone().into());
        m.insert("is_domain".into(), self.is_domain.into());
        m.insert("tags".into(), serde_json::Value::Array(vec![]));
        m.insert("options".into(), serde_json::json!({}));
        m.insert(
            "links".into(),
            serde_json::json!({"self": format!("{base_url}/v3/projects/{}", self.id)}),
        );
        serde_json::Value::Object(m)
    }

    /// Resource-API JSON of a domain.
    pub fn to_domain_json(&self, base_url: &str) -> serde_json::Value {
        let mut m = self.extra.clone();
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert(
            "description".into(),
            self.description.clone().unwrap_or_default().into(),
        );
        m.insert("enabled".into(), self.enabled.into());
        m.insert("tags".into(), serde_json::Value::Array(vec![]));
        m.insert("options".into(), serde_json::json!({}));
        m.insert(
            "links".into(),
            serde_json::json!({"self": format!("{base_url}/v3/domains/{}", self.id)}),
        );
        serde_json::Value::Object(m)
    }
}
