//! Application credentials and access rules as Keystone's API shows them.

use crate::assignment::Role;
use chrono::NaiveDateTime;
use serde_json::{Map, Value};

/// A stored access rule. The columns are nullable in Keystone's schema, so are these.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRule {
    /// The surrogate key, what `application_credential_access_rule` links to.
    pub internal_id: i32,
    /// The public id (`external_id` column).
    pub id: Option<String>,
    pub service: Option<String>,
    pub path: Option<String>,
    pub method: Option<String>,
    pub user_id: Option<String>,
}

/// A stored application credential, without its secret hash (which only authentication
/// reads, see `store::secret_hash`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationCredential {
    pub internal_id: i32,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub user_id: String,
    pub project_id: Option<String>,
    pub system: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    /// As stored: `None` and `Some(false)` both mean restricted.
    pub unrestricted: Option<bool>,
    /// Role ids in Keystone's order (insertion order at create, role id order when read).
    pub role_ids: Vec<String>,
    pub access_rules: Vec<AccessRule>,
}

impl ApplicationCredential {
    /// Keystone: expired when `now >= expires_at`.
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    pub fn is_unrestricted(&self) -> bool {
        self.unrestricted == Some(true)
    }

    /// The `application_credential` block of a token body (access-rules key only when
    /// there are rules).
    pub fn token_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("restricted".into(), (!self.is_unrestricted()).into());
        if !self.access_rules.is_empty() {
            m.insert("access_rules".into(), rules_json(&self.access_rules, None));
        }
        Value::Object(m)
    }
}

/// Keystone's `expires_at` in AC bodies: microseconds, no zone suffix.
pub fn format_expiry(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn opt(value: &Option<String>) -> Value {
    value.clone().map(Value::from).unwrap_or(Value::Null)
}

/// `{"id","service","path","method"}`, plus `links.self` in the access-rule APIs.
pub fn rule_json(rule: &AccessRule, base: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), opt(&rule.id));
    m.insert("service".into(), opt(&rule.service));
    m.insert("path".into(), opt(&rule.path));
    m.insert("method".into(), opt(&rule.method));
    if let Some(base) = base {
        let mut links = Map::new();
        links.insert(
            "self".into(),
            format!(
                "{base}/v3/access_rules/{}",
                rule.id.as_deref().unwrap_or_default()
            )
            .into(),
        );
        m.insert("links".into(), Value::Object(links));
    }
    Value::Object(m)
}

fn rules_json(rules: &[AccessRule], base: Option<&str>) -> Value {
    Value::Array(rules.iter().map(|r| rule_json(r, base)).collect())
}

/// A role with its resource options, as `role_api.get_role` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleWithOptions {
    pub role: Role,
    pub options: Map<String, Value>,
}

impl RoleWithOptions {
    /// `{"id","name","domain_id","description","options"}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.role.id.clone().into());
        m.insert("name".into(), self.role.name.clone().into());
        m.insert("domain_id".into(), opt(&self.role.domain_id));
        m.insert("description".into(), opt(&self.role.description));
        m.insert("options".into(), Value::Object(self.options.clone()));
        Value::Object(m)
    }
}

/// The API object, keys in Keystone's order; `secret` only in the create response.
pub fn credential_json(
    ac: &ApplicationCredential,
    roles: &[RoleWithOptions],
    secret: Option<&str>,
    base: &str,
) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), ac.id.clone().into());
    m.insert("name".into(), ac.name.clone().into());
    m.insert("description".into(), opt(&ac.description));
    m.insert("user_id".into(), ac.user_id.clone().into());
    m.insert("project_id".into(), opt(&ac.project_id));
    m.insert("system".into(), opt(&ac.system));
    m.insert(
        "expires_at".into(),
        ac.expires_at
            .map(|t| Value::from(format_expiry(t)))
            .unwrap_or(Value::Null),
    );
    m.insert(
        "unrestricted".into(),
        ac.unrestricted.map(Value::from).unwrap_or(Value::Null),
    );
    m.insert(
        "roles".into(),
        Value::Array(roles.iter().map(RoleWithOptions::to_json).collect()),
    );
    if !ac.access_rules.is_empty() {
        m.insert("access_rules".into(), rules_json(&ac.access_rules, None));
    }
    if let Some(secret) = secret {
        m.insert("secret".into(), secret.into());
    }
    let mut links = Map::new();
    links.insert(
        "self".into(),
        format!("{base}/v3/application_credentials/{}", ac.id).into(),
    );
    m.insert("links".into(), Value::Object(links));
    Value::Object(m)
}
