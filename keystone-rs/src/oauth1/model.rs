//! OS-OAUTH1's records: consumers, request and access tokens, and the delegation an access
//! token carries into Keystone tokens.

use serde_json::{Map, Value};

/// A consumer. The secret is stored in plaintext: HMAC needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub id: String,
    pub description: Option<String>,
    pub secret: String,
    pub extra: Map<String, Value>,
}

impl Consumer {
    /// Keystone's consumer JSON: extra attributes first, then `id`, `description` (and
    /// `secret` only in the create response), then `links`.
    pub fn to_json(&self, base_url: &str, with_secret: bool) -> Value {
        let mut m = self.extra.clone();
        m.remove("links");
        m.insert("id".into(), self.id.clone().into());
        m.insert("description".into(), self.description.clone().into());
        if with_secret {
            m.insert("secret".into(), self.secret.clone().into());
        }
        m.insert(
            "links".into(),
            serde_json::json!({"self": format!("{base_url}/v3/OS-OAUTH1/consumers/{}", self.id)}),
        );
        Value::Object(m)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestToken {
    pub id: String,
    pub request_secret: String,
    /// Set when authorized.
    pub verifier: Option<String>,
    pub authorizing_user_id: Option<String>,
    pub requested_project_id: String,
    /// JSON list of role ids, set when authorized.
    pub role_ids: Option<String>,
    pub consumer_id: String,
    /// Keystone's ISO string, `None` = never expires.
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub id: String,
    pub access_secret: String,
    pub authorizing_user_id: String,
    pub project_id: String,
    /// JSON list of the delegated role ids, as authorized (not expanded).
    pub role_ids: String,
    pub consumer_id: String,
    pub expires_at: Option<String>,
}

impl AccessToken {
    pub fn role_ids(&self) -> Vec<String> {
        parse_role_ids(&self.role_ids)
    }

    /// The API view: never the secret, never the role ids; links by the authorizing user.
    pub fn to_json(&self, base_url: &str) -> Value {
        let path = format!(
            "{base_url}/v3/users/{}/OS-OAUTH1/access_tokens/{}",
            self.authorizing_user_id, self.id
        );
        serde_json::json!({
            "id": self.id,
            "authorizing_user_id": self.authorizing_user_id,
            "project_id": self.project_id,
            "consumer_id": self.consumer_id,
            "expires_at": self.expires_at,
            "links": {"roles": format!("{path}/roles"), "self": path},
        })
    }
}

/// What a Keystone token obtained through an access token says about it (`OS-OAUTH1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub access_token_id: String,
    pub consumer_id: String,
}

/// A JSON list of strings; anything else (a corrupt row) delegates nothing.
pub fn parse_role_ids(text: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(text).unwrap_or_default()
}
