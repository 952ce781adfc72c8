//! The create request: Keystone's `trust_create_request_body` schema (first error, in its
//! words), then the fields read out of the validated body.

use crate::error::{Error, Result};
use crate::python::jsonschema::validate;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// `_trust_properties` (the `description`s left out: python-jsonschema ignores them).
fn trust_properties() -> Map<String, Value> {
    let Value::Object(m) = json!({
        "trustor_user_id": {"type": "string"},
        "trustee_user_id": {"type": "string"},
        "impersonation": {"type": "boolean"},
        "project_id": {"type": ["string", "null"]},
        "remaining_uses": {"type": ["integer", "null"], "minimum": 1},
        "expires_at": {"type": ["null", "string"]},
        "allow_redelegation": {"type": ["boolean", "null"]},
        "redelegation_count": {"type": ["integer", "null"], "minimum": 0},
        "redelegated_trust_id": {"type": ["string", "null"]}
    }) else {
        unreachable!()
    };
    m
}

/// `trust_create_request_body`, in the key order of `keystone/trust/schema.py`.
pub static CREATE: LazyLock<Value> = LazyLock::new(|| {
    let mut properties = trust_properties();
    properties.insert(
        "roles".into(),
        json!({
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "minLength": 1, "maxLength": 64,
                           "pattern": "^[a-zA-Z0-9-]+$"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 255,
                             "pattern": "[\\S]+"}
                },
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": false
            }
        }),
    );
    json!({
        "type": "object",
        "properties": {
            "trust": {
                "type": "object",
                "properties": properties,
                "required": ["trustor_user_id", "trustee_user_id", "impersonation"],
                "additionalProperties": true
            }
        },
        "additionalProperties": false,
        "required": ["trust"]
    })
});

/// `trust_index_request_query`.
pub static INDEX_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "trustor_user_id": {"type": "string"},
            "trustee_user_id": {"type": "string"}
        },
        "additionalProperties": true
    })
});

/// `trust_request_query` (GET of one trust).
pub static GET_QUERY: LazyLock<Value> =
    LazyLock::new(|| json!({"type": "object", "properties": {}, "additionalProperties": true}));

/// A role as the request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

/// `redelegation_count` as given: Keystone tells a key set to null from a missing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Absent,
    Null,
    Value(i64),
}

/// A validated create request.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The `trust` object as sent (policy sees it as `target.trust`).
    pub body: Map<String, Value>,
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub impersonation: bool,
    pub project_id: Option<String>,
    pub remaining_uses: Option<i64>,
    pub expires_at: Option<String>,
    pub allow_redelegation: bool,
    pub redelegation_count: Count,
    pub redelegated_trust_id: Option<String>,
    pub roles: Vec<RoleRef>,
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Validate the body and read it.
pub fn parse_create(body: &Value) -> Result<CreateRequest> {
    validate(&CREATE, body)?;
    let obj = body
        .get("trust")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::bad_request("'trust' is a required property"))?;
    let roles = obj
        .get("roles")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|r| {
                    // The schema leaves exactly one of the two.
                    if let Some(id) = r.get("id").and_then(Value::as_str) {
                        Some(RoleRef::Id(id.to_string()))
                    } else {
                        r.get("name")
                            .and_then(Value::as_str)
                            .map(|n| RoleRef::Name(n.to_string()))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let redelegation_count = match obj.get("redelegation_count") {
        None => Count::Absent,
        Some(Value::Null) => Count::Null,
        Some(v) => Count::Value(v.as_i64().unwrap_or(i64::MAX)),
    };
    Ok(CreateRequest {
        body: obj.clone(),
        trustor_user_id: text(obj, "trustor_user_id").unwrap_or_default(),
        trustee_user_id: text(obj, "trustee_user_id").unwrap_or_default(),
        impersonation: obj
            .get("impersonation")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        project_id: text(obj, "project_id"),
        remaining_uses: obj
            .get("remaining_uses")
            .and_then(|v| v.as_i64().or_else(|| v.as_u64().map(|_| i64::MAX))),
        expires_at: text(obj, "expires_at"),
        allow_redelegation: obj
            .get("allow_redelegation")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        redelegation_count,
        redelegated_trust_id: text(obj, "redelegated_trust_id"),
        roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: Value) -> String {
        let e = parse_create(&body).unwrap_err();
        assert_eq!(e.status.as_u16(), 400, "{body}");
        e.message
    }

    #[test]
    fn keystone_schema_messages() {
        assert_eq!(msg(json!({})), "'trust' is a required property");
        assert_eq!(
            msg(
                json!({"trust": {"trustor_user_id": "a", "trustee_user_id": "b",
                                 "impersonation": true}, "x": 1})
            ),
            "Additional properties are not allowed ('x' was unexpected)"
        );
        assert_eq!(
            msg(json!({"trust": {"trustor_user_id": "a", "trustee_user_id": "b"}})),
            "Invalid input for field/attribute trust. Value: {'trustor_user_id': 'a', \
             'trustee_user_id': 'b'}. 'impersonation' is a required property"
        );
        let base = json!({"trustor_user_id": "a", "trustee_user_id": "b", "impersonation": true});
        let with = |k: &str, v: Value| {
            let mut t = base.clone();
            t[k] = v;
            json!({ "trust": t })
        };
        assert_eq!(
            msg(with("remaining_uses", json!(0))),
            "Invalid input for field/attribute remaining_uses. Value: 0. 0 is less than the \
             minimum of 1"
        );
        assert_eq!(
            msg(with("impersonation", json!("yes"))),
            "Invalid input for field/attribute impersonation. Value: yes. 'yes' is not of \
             type 'boolean'"
        );
        assert_eq!(
            msg(with("roles", json!([{"id": "r", "name": "n"}]))),
            "Invalid input for field/attribute 0. Value: {'id': 'r', 'name': 'n'}. {'id': \
             'r', 'name': 'n'} has too many properties"
        );
        assert_eq!(
            msg(with("redelegation_count", json!(-1))),
            "Invalid input for field/attribute redelegation_count. Value: -1. -1 is less \
             than the minimum of 0"
        );
        assert_eq!(
            msg(with("roles", json!([{}]))),
            "Invalid input for field/attribute 0. Value: {}. {} should be non-empty"
        );
    }

    #[test]
    fn schemas_use_only_modelled_keywords() {
        for schema in [&*CREATE, &*INDEX_QUERY, &*GET_QUERY] {
            assert!(crate::python::jsonschema::unsupported(schema).is_empty());
        }
    }

    #[test]
    fn reads_fields() {
        let r = parse_create(&json!({"trust": {
            "trustor_user_id": "a", "trustee_user_id": "b", "impersonation": false,
            "project_id": "p", "roles": [{"id": "r1"}, {"name": "member"}],
            "redelegation_count": null, "extra_key": 1
        }}))
        .unwrap();
        assert_eq!(
            r.roles,
            vec![RoleRef::Id("r1".into()), RoleRef::Name("member".into())]
        );
        assert_eq!(r.redelegation_count, Count::Null);
        assert_eq!(r.project_id.as_deref(), Some("p"));
        assert!(r.body.contains_key("extra_key"));
    }
}
