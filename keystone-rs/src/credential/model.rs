//! A credential as the API shows it (the blob decrypted) and as the table keeps it.

use serde_json::{Map, Value};

/// The type whose id is derived from the access key and whose blob is JSON.
pub const EC2: &str = "ec2";

/// A credential with its blob in the clear (never logged: no `Debug` of the blob).
#[derive(Clone, PartialEq)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub type_: String,
    /// The blob as the API returns it: text (an EC2 blob is JSON text).
    pub blob: String,
    /// Attributes beyond the columns, kept in `extra` as Keystone does.
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("project_id", &self.project_id)
            .field("type", &self.type_)
            .finish_non_exhaustive()
    }
}

/// A row of the `credential` table, blob still sealed.
#[derive(Clone)]
pub struct StoredCredential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub type_: String,
    pub extra: Option<String>,
    pub key_hash: String,
    pub encrypted_blob: String,
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCredential")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("type", &self.type_)
            .field("key_hash", &self.key_hash)
            .finish_non_exhaustive()
    }
}

/// The EC2 fields of a blob (Keystone's "legacy format").
#[derive(Clone, Default)]
pub struct Ec2Blob {
    pub access: Option<String>,
    pub secret: Option<String>,
    pub trust_id: Option<String>,
    pub app_cred_id: Option<String>,
    pub access_token_id: Option<String>,
}

impl Ec2Blob {
    /// Read the fields of a blob that is a JSON object; `None` when it is not one.
    /// Non-string values are taken as absent.
    pub fn parse(blob: &str) -> Option<Ec2Blob> {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(blob) else {
            return None;
        };
        let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Ec2Blob {
            access: text("access"),
            secret: text("secret"),
            trust_id: text("trust_id"),
            app_cred_id: text("app_cred_id"),
            access_token_id: text("access_token_id"),
        })
    }
}
