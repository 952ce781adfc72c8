//! Keystone's `token_issue` schema (keystone/auth/schema.py) and the checks
//! `validate_issue_token_auth` adds to it, run on `auth` before anything else looks at it.

use crate::error::{Error, Result};
use crate::python::jsonschema::lazy_validate;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

fn id_and_name() -> Value {
    json!({"id": {"type": "string"}, "name": {"type": "string"}})
}

/// `token_issue`, in Keystone's key order.
pub static TOKEN_ISSUE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "identity": {
                "type": "object",
                "properties": {
                    "methods": {"type": "array", "items": {"type": "string"}},
                    "password": {
                        "type": "object",
                        "properties": {
                            "user": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "name": {"type": "string"},
                                    "password": {"type": "string"},
                                    "domain": {"type": "object", "properties": id_and_name()}
                                }
                            }
                        }
                    },
                    "token": {
                        "type": "object",
                        "properties": {"id": {"type": "string"}},
                        "required": ["id"]
                    }
                },
                "required": ["methods"]
            },
            "scope": {
                "type": ["object", "string"],
                "properties": {
                    "project": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "id": {"type": "string"},
                            "domain": {"type": "object", "properties": id_and_name()}
                        }
                    },
                    "domain": {"type": "object", "properties": id_and_name()},
                    "OS-TRUST:trust": {"type": "object", "properties": {"id": {"type": "string"}}},
                    "system": {
                        "type": "object",
                        "properties": {"all": {"type": "boolean", "enum": [true, false]}}
                    }
                }
            }
        },
        "required": ["identity"]
    })
});

/// `validate_issue_token_auth(auth)`: the schema (`lazy_validate`'s text), then an `id` or
/// `name` key on each reference that needs one.
pub fn validate_issue_token_auth(auth: &Value) -> Result<()> {
    lazy_validate(&TOKEN_ISSUE, auth)?;
    let at = |value: Option<&Value>, key: &str| -> Option<Map<String, Value>> {
        value?.get(key)?.as_object().cloned()
    };
    let identity = auth.get("identity");
    let user = at(identity.and_then(|i| i.get("password")), "user");
    if let Some(user) = user {
        needs_id_or_name(&user, "identity/password/user")?;
        if let Some(domain) = at(Some(&Value::Object(user)), "domain") {
            needs_id_or_name(&domain, "identity/password/user/domain")?;
        }
    }
    let scope = auth.get("scope").filter(|s| s.is_object());
    if let Some(project) = at(scope, "project") {
        needs_id_or_name(&project, "scope/project")?;
        if let Some(domain) = at(Some(&Value::Object(project)), "domain") {
            needs_id_or_name(&domain, "scope/project/domain")?;
        }
    }
    if let Some(domain) = at(scope, "domain") {
        needs_id_or_name(&domain, "scope/domain")?;
    }
    Ok(())
}

fn needs_id_or_name(reference: &Map<String, Value>, field: &str) -> Result<()> {
    if reference.contains_key("id") || reference.contains_key("name") {
        return Ok(());
    }
    Err(Error::bad_request(format!(
        "Invalid input for field {field}: id or name must be present."
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::jsonschema;

    fn message(auth: Value) -> String {
        validate_issue_token_auth(&auth).unwrap_err().message
    }

    #[test]
    fn schema_uses_only_what_the_checker_models() {
        assert!(jsonschema::unsupported(&TOKEN_ISSUE).is_empty());
    }

    #[test]
    fn messages_match_keystone() {
        // The peer's answers (spec vectors err_schema.json, err_user_no_id_no_name.json).
        assert_eq!(
            message(json!({"identity": {"methods": "password"}})),
            "Invalid input for field 'identity/methods': 'password' is not of type 'array'\n\nFailed validating 'type' in schema['properties']['identity']['properties']['methods']:\n    {'type': 'array', 'items': {'type': 'string'}}\n\nOn instance['identity']['methods']:\n    'password'"
        );
        assert_eq!(
            message(json!({"identity": {"methods": ["password"], "password": {"user": {}}}})),
            "Invalid input for field identity/password/user: id or name must be present."
        );
        assert_eq!(
            message(
                json!({"identity": {"methods": ["password"], "password": {"user": {"id": "u", "password": "p", "domain": {}}}}})
            ),
            "Invalid input for field identity/password/user/domain: id or name must be present."
        );
        assert_eq!(
            message(
                json!({"identity": {"methods": ["token"], "token": {"id": "t"}}, "scope": {"project": {"domain": {"id": "d"}}}})
            ),
            "Invalid input for field scope/project: id or name must be present."
        );
        assert_eq!(
            message(
                json!({"identity": {"methods": ["token"], "token": {"id": "t"}}, "scope": {"project": {"name": "p", "domain": {}}}})
            ),
            "Invalid input for field scope/project/domain: id or name must be present."
        );
        assert_eq!(
            message(json!({"identity": {"methods": []}, "scope": {"domain": {}}})),
            "Invalid input for field scope/domain: id or name must be present."
        );
        assert!(message(json!("x")).starts_with(
            "'x' is not of type 'object'\n\nFailed validating 'type' in schema:\n    {'type': 'object',\n     'properties': {'identity': {'type': 'object',\n"
        ));
        assert!(
            validate_issue_token_auth(
                &json!({"identity": {"methods": ["password"], "password": {"user": {"id": ""}}}, "scope": "unscoped"})
            )
            .is_ok()
        );
    }
}
