//! OS-FEDERATION: attribute mappings (stored rules that turn a set of remote attributes
//! into local identity values, with the rule engine in rules.rs that OAuth2
//! `tls_client_auth` runs on the client certificate's names, oauth2.md A3), and the
//! resources identity providers (with remote ids), their protocols and service providers
//! (providers.rs), federated login (login.rs) and the native OpenID Connect assertion
//! source (oidc/), and web single sign-on for dashboards (websso.rs).

pub mod login;
pub mod oidc;
pub mod provider_schema;
pub mod provider_store;
pub mod providers;
pub mod rules;
pub mod schema;
pub mod store;
pub mod websso;

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// `[federation] attribute_mapping_default_schema_version`'s default.
pub const DEFAULT_SCHEMA_VERSION: &str = "1.0";

/// A mapping as stored: its rules exactly as the client sent them (already checked).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub id: String,
    pub rules: Value,
    pub schema_version: String,
}

impl Mapping {
    /// Keystone's member body, with the `self` link.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("rules".into(), self.rules.clone());
        m.insert("schema_version".into(), self.schema_version.clone().into());
        m.insert(
            "links".into(),
            serde_json::json!({"self": format!("{base_url}/v3/OS-FEDERATION/mappings/{}", self.id)}),
        );
        Value::Object(m)
    }
}

/// The `mapping` object of a PUT or PATCH body, checked as Keystone does: a missing
/// `schema_version` takes the default, then the whole object must satisfy that version's
/// JSON schema. Keys other than `rules` and `schema_version` are accepted and dropped, as
/// Keystone's driver drops them.
pub fn from_request(id: &str, body: &Value) -> Result<Mapping> {
    let mut mapping = match body.get("mapping") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(Error::bad_request("mapping must be an object.")),
    };
    // Keystone: `if not mapping.get('schema_version')` → the default.
    let falsy = match mapping.get("schema_version") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
    };
    if falsy {
        mapping.insert("schema_version".into(), DEFAULT_SCHEMA_VERSION.into());
    }
    let version = match mapping.get("schema_version") {
        Some(Value::String(s)) => s.clone(),
        // Keystone looks the value up in its table of versions and fails with a 500.
        _ => return Err(Error::bad_request("schema_version must be a string.")),
    };
    let mapping = Value::Object(mapping);
    schema::check(&version, &mapping)?;
    Ok(Mapping {
        id: id.to_string(),
        rules: mapping.get("rules").cloned().unwrap_or(Value::Null),
        schema_version: version,
    })
}
