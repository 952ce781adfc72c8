//! The OAuth2 extension's record: JWT client authentication registered on an application
//! credential.

use serde_json::{Map, Value};

/// JWT client authentication registered on an application credential (keystone-rs only).
#[derive(Debug, Clone)]
pub struct ClientRegistration {
    pub application_credential_id: String,
    /// The credential's secret, the HMAC key for `client_secret_jwt`.
    pub jwt_secret: Option<String>,
    /// PEM public key for `private_key_jwt`.
    pub public_key: Option<String>,
    pub public_key_alg: Option<String>,
    pub created_at_us: i64,
}

impl ClientRegistration {
    /// What the API shows: which methods are enabled, never the secret.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "application_credential_id".into(),
            self.application_credential_id.clone().into(),
        );
        m.insert("client_secret_jwt".into(), self.jwt_secret.is_some().into());
        match (&self.public_key, &self.public_key_alg) {
            (Some(pem), Some(alg)) => {
                m.insert("private_key_jwt".into(), true.into());
                m.insert("public_key".into(), pem.clone().into());
                m.insert("public_key_alg".into(), alg.clone().into());
            }
            _ => {
                m.insert("private_key_jwt".into(), false.into());
            }
        }
        Value::Object(m)
    }
}
