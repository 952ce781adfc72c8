//! The caller as the enforcer sees it: oslo.context's `to_policy_values()` plus Keystone's
//! additions (spec §5.1). Built by the token/context code from a validated token.

use super::defaults::Scope;
use crate::python::is_truthy;
use serde_json::{Map, Value};

/// Exactly the keys Keystone hands oslo.policy. Absent values are `None` (JSON null), not
/// missing: `domain_id:%(target.domain_id)s` is true when both sides are None, and the
/// defaults are written with that in mind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Credentials {
    pub user_id: Option<String>,
    pub user_domain_id: Option<String>,
    pub project_id: Option<String>,
    pub project_domain_id: Option<String>,
    /// The domain of a domain-scoped token; None for every other scope.
    pub domain_id: Option<String>,
    /// `"all"` for system-scoped tokens.
    pub system_scope: Option<String>,
    /// Role names of the token, implied roles included.
    pub roles: Vec<String>,
    pub is_admin_project: bool,
    pub service_user_id: Option<String>,
    pub service_user_domain_id: Option<String>,
    pub service_project_id: Option<String>,
    pub service_project_domain_id: Option<String>,
    pub service_roles: Vec<String>,
    /// The full rendered token body (what `GET /v3/auth/tokens` shows under `"token"`), so
    /// that rules such as `token.domain.id:…` work.
    pub token: Value,
}

fn opt(value: &Option<String>) -> Value {
    value
        .as_ref()
        .map_or(Value::Null, |s| Value::String(s.clone()))
}

fn names(list: &[String]) -> Value {
    Value::Array(list.iter().cloned().map(Value::String).collect())
}

impl Credentials {
    /// The credentials dict generic checks walk (`user_id:…`, `token.project.domain.id:…`),
    /// including the `system` key oslo.policy adds when `system_scope` is set.
    pub fn to_value(&self) -> Value {
        Value::Object(self.to_map())
    }

    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("user_id".into(), opt(&self.user_id));
        map.insert("user_domain_id".into(), opt(&self.user_domain_id));
        map.insert("system_scope".into(), opt(&self.system_scope));
        map.insert("domain_id".into(), opt(&self.domain_id));
        map.insert("project_id".into(), opt(&self.project_id));
        map.insert("project_domain_id".into(), opt(&self.project_domain_id));
        map.insert("roles".into(), names(&self.roles));
        map.insert(
            "is_admin_project".into(),
            Value::Bool(self.is_admin_project),
        );
        map.insert("service_user_id".into(), opt(&self.service_user_id));
        map.insert(
            "service_user_domain_id".into(),
            opt(&self.service_user_domain_id),
        );
        map.insert("service_project_id".into(), opt(&self.service_project_id));
        map.insert(
            "service_project_domain_id".into(),
            opt(&self.service_project_domain_id),
        );
        map.insert("service_roles".into(), names(&self.service_roles));
        map.insert("token".into(), self.token.clone());
        if let Some(system) = self.system_scope.as_ref().filter(|s| !s.is_empty()) {
            map.insert("system".into(), Value::String(system.clone()));
        }
        map
    }

    /// The token's scope for `scope_types`.
    pub fn scope(&self) -> Scope {
        token_scope(&self.to_map())
    }
}

/// oslo.policy: `system` if `creds['system']` is truthy, else `domain` if `creds['domain_id']`
/// is, else `project` — unscoped tokens count as project scope.
pub fn token_scope(creds: &Map<String, Value>) -> Scope {
    if creds.get("system").is_some_and(is_truthy) {
        Scope::System
    } else if creds.get("domain_id").is_some_and(is_truthy) {
        Scope::Domain
    } else {
        Scope::Project
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_and_nones_are_always_present() {
        let creds = Credentials {
            user_id: Some("u".into()),
            roles: vec!["reader".into()],
            ..Default::default()
        };
        let value = creds.to_value();
        assert_eq!(value["user_id"], json!("u"));
        assert_eq!(value["domain_id"], json!(null));
        assert_eq!(value["roles"], json!(["reader"]));
        assert_eq!(value["service_roles"], json!([]));
        assert!(value.get("system").is_none());
        assert_eq!(creds.scope(), Scope::Project);
    }

    #[test]
    fn scope_follows_oslo() {
        let system = Credentials {
            system_scope: Some("all".into()),
            ..Default::default()
        };
        assert_eq!(system.to_value()["system"], json!("all"));
        assert_eq!(system.scope(), Scope::System);
        let domain = Credentials {
            domain_id: Some("d".into()),
            ..Default::default()
        };
        assert_eq!(domain.scope(), Scope::Domain);
        let empty_domain = Credentials {
            domain_id: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(empty_domain.scope(), Scope::Project);
    }
}
