//! Users and groups as the API shows them, in Keystone's key order.

use super::options::{self, StoredOptions};
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub extra: Map<String, Value>,
    /// When the current password expires, if it does.
    pub password_expires_at: Option<NaiveDateTime>,
    /// The last day of a successful password authentication (see `inactivity`).
    pub last_active_at: Option<NaiveDate>,
    pub created_at: Option<NaiveDateTime>,
}

/// The user's current password row.
#[derive(Debug, Clone)]
pub struct PasswordRecord {
    pub hash: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: Option<NaiveDateTime>,
    pub self_service: bool,
}

/// What creating a local (SQL) user needs (bootstrap's short form).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub extra: Map<String, Value>,
    pub password_hash: Option<String>,
}

/// One identity-provider link of a federated user, as the API lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedObject {
    pub idp_id: String,
    /// `(protocol_id, unique_id)` pairs.
    pub protocols: Vec<(String, String)>,
}

/// A user with what the API shows beside the `user` row.
#[derive(Debug, Clone, PartialEq)]
pub struct UserDetails {
    pub user: User,
    pub options: StoredOptions,
    pub federated: Vec<FederatedObject>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub description: Option<String>,
    pub extra: Map<String, Value>,
}

/// Keystone's datetime text in API bodies (`PERFECT_TIME_FORMAT`, no zone).
pub fn api_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

pub fn user_link(base_url: &str, id: &str) -> Value {
    let mut links = Map::new();
    links.insert(
        "self".into(),
        Value::from(format!("{base_url}/v3/users/{id}")),
    );
    Value::Object(links)
}

pub fn group_link(base_url: &str, id: &str) -> Value {
    let mut links = Map::new();
    links.insert(
        "self".into(),
        Value::from(format!("{base_url}/v3/groups/{id}")),
    );
    Value::Object(links)
}

/// The `links` member Keystone adds last (`ref.setdefault('links', {})['self'] = …`).
fn set_self_link(m: &mut Map<String, Value>, link: Value) {
    match (m.get_mut("links"), link) {
        (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
        (_, link) => {
            m.insert("links".into(), link);
        }
    }
}

impl UserDetails {
    /// The user dict without links: extras first, then Keystone's attributes. Used as the
    /// policy target (`target.user`) and as the base of every rendering.
    pub fn to_dict(&self, with_extra_copy: bool) -> Value {
        let u = &self.user;
        let mut m = u.extra.clone();
        m.remove("password");
        m.insert("id".into(), u.id.clone().into());
        m.insert("name".into(), u.name.clone().into());
        m.insert("domain_id".into(), u.domain_id.clone().into());
        m.insert("enabled".into(), u.enabled.into());
        match &u.default_project_id {
            Some(p) => {
                m.insert("default_project_id".into(), p.clone().into());
            }
            None => {
                m.remove("default_project_id");
            }
        }
        m.insert(
            "password_expires_at".into(),
            u.password_expires_at.map(api_time).into(),
        );
        if with_extra_copy {
            // Keystone's update path returns `to_dict(include_extra_dict=True)`.
            let mut extra = u.extra.clone();
            extra.remove("password");
            m.insert("extra".into(), Value::Object(extra));
        }
        m.insert("options".into(), options::to_json(&self.options));
        if !self.federated.is_empty() {
            m.insert("federated".into(), federated_json(&self.federated));
        }
        Value::Object(m)
    }

    /// The API body member: the dict plus `links`.
    pub fn to_json(&self, base_url: &str, with_extra_copy: bool) -> Value {
        let mut v = self.to_dict(with_extra_copy);
        if let Value::Object(m) = &mut v {
            set_self_link(m, user_link(base_url, &self.user.id));
        }
        v
    }
}

pub fn federated_json(objects: &[FederatedObject]) -> Value {
    Value::Array(
        objects
            .iter()
            .map(|o| {
                let protocols: Vec<Value> = o
                    .protocols
                    .iter()
                    .map(|(p, u)| {
                        let mut m = Map::new();
                        m.insert("protocol_id".into(), p.clone().into());
                        m.insert("unique_id".into(), u.clone().into());
                        Value::Object(m)
                    })
                    .collect();
                let mut m = Map::new();
                m.insert("idp_id".into(), o.idp_id.clone().into());
                m.insert("protocols".into(), Value::Array(protocols));
                Value::Object(m)
            })
            .collect(),
    )
}

impl Group {
    pub fn to_dict(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("domain_id".into(), self.domain_id.clone().into());
        m.insert("description".into(), self.description.clone().into());
        Value::Object(m)
    }

    /// `membership`: for a user's group list, `Some(expiry)` adds `membership_expires_at`.
    pub fn to_json(&self, base_url: &str, membership: Option<Option<NaiveDateTime>>) -> Value {
        let mut v = self.to_dict();
        if let Value::Object(m) = &mut v {
            if let Some(expires) = membership {
                m.insert("membership_expires_at".into(), expires.map(api_time).into());
            }
            set_self_link(m, group_link(base_url, &self.id));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_keys_in_keystone_order() {
        let mut extra = Map::new();
        extra.insert("email".into(), json!("a@b"));
        let d = UserDetails {
            user: User {
                id: "u".into(),
                domain_id: "default".into(),
                name: "n".into(),
                enabled: true,
                default_project_id: None,
                extra,
                password_expires_at: None,
                last_active_at: None,
                created_at: None,
            },
            options: vec![("1001".into(), json!(true))],
            federated: vec![],
        };
        assert_eq!(
            crate::json::to_ascii_string(&d.to_json("http://k", true), crate::json::Style::Python),
            r#"{"email": "a@b", "id": "u", "name": "n", "domain_id": "default", "enabled": true, "password_expires_at": null, "extra": {"email": "a@b"}, "options": {"ignore_password_expiry": true}, "links": {"self": "http://k/v3/users/u"}}"#
        );
    }

    #[test]
    fn group_keys_in_keystone_order() {
        let g = Group {
            id: "g".into(),
            domain_id: "d".into(),
            name: "n".into(),
            description: None,
            extra: Map::new(),
        };
        assert_eq!(
            crate::json::to_ascii_string(
                &g.to_json("http://k", Some(None)),
                crate::json::Style::Python
            ),
            r#"{"id": "g", "name": "n", "domain_id": "d", "description": null, "membership_expires_at": null, "links": {"self": "http://k/v3/groups/g"}}"#
        );
    }
}
