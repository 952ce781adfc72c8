//! Keystone's catalog request schemas (keystone/catalog/schema.py), as data in Keystone's
//! key order: the order decides which error [`crate::python::jsonschema`] reports first.

use crate::error::Error;
use crate::python::string_repr;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// jsonschema's message for a missing required property at the top of a body.
pub fn required_property(name: &str) -> Error {
    Error::bad_request(format!(
        "{} is a required property",
        string_repr(name, false)
    ))
}

/// `_service_properties` and `_service_name_properties`.
fn service_properties() -> Value {
    json!({
        "enabled": {"type": "boolean"},
        "type": {"type": "string", "minLength": 1, "maxLength": 255},
        "name": {"type": "string", "minLength": 1, "maxLength": 255}
    })
}

/// `POST /v3/services` (Keystone's schema does not require `service` itself).
pub static SERVICE_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"service": {
            "type": "object",
            "properties": service_properties(),
            "additionalProperties": true,
            "required": ["type"]
        }}
    })
});

/// `PATCH /v3/services/{service_id}`.
pub static SERVICE_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"service": {
            "type": "object",
            "properties": service_properties(),
            "additionalProperties": true,
            "minProperties": 1
        }},
        "required": ["service"]
    })
});

fn interface() -> Value {
    json!({"type": "string", "enum": ["admin", "internal", "public"]})
}

/// `_endpoint_properties`, in its order, led by `id` on create.
fn endpoint_properties(with_id: bool) -> Value {
    let mut p = Map::new();
    if with_id {
        p.insert("id".into(), json!({"type": "string"}));
    }
    p.insert("enabled".into(), json!({"type": "boolean"}));
    p.insert("interface".into(), interface());
    p.insert("region_id".into(), json!({"type": ["string", "null"]}));
    p.insert("region".into(), json!({"type": ["string", "null"]}));
    p.insert("service_id".into(), json!({"type": "string"}));
    p.insert(
        "url".into(),
        json!({"type": "string", "minLength": 0, "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"}),
    );
    p.insert("name".into(), json!({"type": "string"}));
    p.insert("description".into(), json!({"type": ["string", "null"]}));
    Value::Object(p)
}

/// `POST /v3/endpoints`.
pub static ENDPOINT_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"endpoint": {
            "type": "object",
            "properties": endpoint_properties(true),
            "required": ["interface", "service_id", "url"],
            "additionalProperties": true
        }},
        "additionalProperties": false
    })
});

/// `PATCH /v3/endpoints/{endpoint_id}`.
pub static ENDPOINT_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"endpoint": {
            "type": "object",
            "properties": endpoint_properties(false),
            "additionalProperties": true,
            "minProperties": 1
        }},
        "required": ["endpoint"],
        "additionalProperties": false
    })
});

/// `GET /v3/endpoints` query (unknown parameters are allowed).
pub static ENDPOINT_LIST_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "interface": interface(),
            "region_id": {"type": ["string", "null"]},
            "service_id": {"type": "string"}
        },
        "additionalProperties": true
    })
});

/// `parameter_types.region_id`.
fn region_id() -> Value {
    json!({"type": ["string", "null"], "minLength": 1, "maxLength": 255})
}

/// `_region_properties`; on create an empty `id` asks for a generated one.
fn region_properties(create: bool) -> Value {
    let id = if create {
        json!({"type": ["string", "null"], "minLength": 0, "maxLength": 255})
    } else {
        region_id()
    };
    json!({
        "description": {"type": ["string", "null"], "maxLength": 255},
        "id": id,
        "parent_region_id": region_id()
    })
}

/// `POST /v3/regions` and `PUT /v3/regions/{region_id}` (Keystone misspells
/// `additionalProperties` here, so the top level stays open).
pub static REGION_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"region": {
            "type": "object",
            "properties": region_properties(true),
            "additionalProperties": true
        }},
        "required": ["region"]
    })
});

/// `PATCH /v3/regions/{region_id}`.
pub static REGION_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"region": {
            "type": "object",
            "properties": region_properties(false),
            "minProperties": 1,
            "additionalProperties": true
        }},
        "required": ["region"],
        "additionalProperties": false
    })
});

/// `GET /v3/regions` query: only `parent_region_id` (so `limit` is refused too).
pub static REGION_LIST_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"parent_region_id": region_id()},
        "additionalProperties": false
    })
});

// ---- OS-EP-FILTER endpoint groups ------------------------------------------------------

/// `parameter_types.name`.
fn name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"})
}

/// `_endpoint_group_properties`, in Keystone's order (the `filters` object lets other
/// attributes through to the API's own check).
fn endpoint_group_properties() -> Value {
    json!({
        "description": {"type": ["string", "null"]},
        "filters": {
            "type": "object",
            "properties": {
                "interface": interface(),
                "service_id": {"type": "string"},
                "region_id": {"type": ["string", "null"]},
                "enabled": {"type": "boolean"}
            }
        },
        "name": name()
    })
}

/// `POST /v3/OS-EP-FILTER/endpoint_groups` (the member itself is not required).
pub static ENDPOINT_GROUP_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"endpoint_group": {
            "type": "object",
            "properties": endpoint_group_properties(),
            "required": ["name", "filters"],
            "additionalProperties": false
        }},
        "additionalProperties": false
    })
});

/// `PATCH /v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}`.
pub static ENDPOINT_GROUP_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"endpoint_group": {
            "type": "object",
            "properties": endpoint_group_properties(),
            "minProperties": 1,
            "additionalProperties": false
        }},
        "required": ["endpoint_group"],
        "additionalProperties": false
    })
});

/// `GET /v3/OS-EP-FILTER/endpoint_groups` query: `name` only; any other parameter is a 400.
pub static ENDPOINT_GROUP_LIST_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"name": name()},
        "additionalProperties": false
    })
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::jsonschema;

    fn message(schema: &Value, body: Value) -> String {
        jsonschema::api_text(schema, &body)
    }

    #[test]
    fn messages_match_keystone() {
        assert_eq!(
            message(&SERVICE_CREATE, json!({"service": {}})),
            "Invalid input for field/attribute service. Value: {}. 'type' is a required property"
        );
        assert_eq!(
            message(&SERVICE_CREATE, json!({"service": {"type": ""}})),
            "Invalid input for field/attribute type. Value: . '' should be non-empty"
        );
        assert_eq!(
            message(
                &SERVICE_CREATE,
                json!({"service": {"type": {"a": [1, true, null, "s", 1.5]}}})
            ),
            "Invalid input for field/attribute type. Value: {'a': [1, True, None, 's', 1.5]}. \
             {'a': [1, True, None, 's', 1.5]} is not of type 'string'"
        );
        // `enabled` comes before `name` in Keystone's schema.
        assert_eq!(
            message(
                &SERVICE_CREATE,
                json!({"service": {"type": "x", "name": 5, "enabled": 3}})
            ),
            "Invalid input for field/attribute enabled. Value: 3. 3 is not of type 'boolean'"
        );
        assert_eq!(
            message(&SERVICE_UPDATE, json!({"service": {}})),
            "Invalid input for field/attribute service. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            message(&SERVICE_UPDATE, json!({})),
            "'service' is a required property"
        );
        assert_eq!(
            message(
                &ENDPOINT_CREATE,
                json!({"endpoint": {"interface": "bogus", "service_id": "s", "url": "http://x"}})
            ),
            "Invalid input for field/attribute interface. Value: bogus. 'bogus' is not one of ['admin', 'internal', 'public']"
        );
        assert_eq!(
            message(
                &ENDPOINT_CREATE,
                json!({"endpoint": {"interface": "public", "service_id": "s"}})
            ),
            "Invalid input for field/attribute endpoint. Value: {'interface': 'public', 'service_id': 's'}. \
             'url' is a required property"
        );
        assert_eq!(
            message(
                &ENDPOINT_CREATE,
                json!({"endpoint": {"interface": "public", "service_id": "s", "url": "not a url"}})
            ),
            "Invalid input for field/attribute url. Value: not a url. 'not a url' does not match '^[a-zA-Z0-9+.-]+:.+'"
        );
        assert_eq!(
            message(
                &ENDPOINT_UPDATE,
                json!({"endpoint": {"url": "http://x"}, "b": 1, "a": 2})
            ),
            "Additional properties are not allowed ('a', 'b' were unexpected)"
        );
        assert_eq!(
            message(&REGION_UPDATE, json!({"region": {"parent_region_id": ""}})),
            "Invalid input for field/attribute parent_region_id. Value: . '' should be non-empty"
        );
        assert!(
            message(
                &REGION_CREATE,
                json!({"region": {"description": "x".repeat(256)}})
            )
            .ends_with("is too long")
        );
    }

    #[test]
    fn valid_bodies_pass() {
        assert!(
            jsonschema::validate(&SERVICE_CREATE, &json!({})).is_ok(),
            "Keystone does not require `service`"
        );
        assert!(
            jsonschema::validate(&REGION_CREATE, &json!({"region": {"id": ""}, "x": 1})).is_ok()
        );
        assert!(jsonschema::validate(
            &ENDPOINT_CREATE,
            &json!({"endpoint": {"interface": "admin", "service_id": "s", "url": "a:b", "region": null, "x": 1}})
        )
        .is_ok());
    }

    #[test]
    fn query_uses_first_values() {
        let pairs = vec![
            ("interface".to_string(), "public".to_string()),
            ("interface".to_string(), "x".to_string()),
        ];
        assert!(jsonschema::validate_query(&ENDPOINT_LIST_QUERY, &pairs).is_ok());
        let pairs = vec![("limit".to_string(), "1".to_string())];
        assert_eq!(
            jsonschema::validate_query(&REGION_LIST_QUERY, &pairs)
                .unwrap_err()
                .message,
            "Additional properties are not allowed ('limit' was unexpected)"
        );
    }

    #[test]
    fn schemas_use_only_what_the_checker_models() {
        for s in [
            &*SERVICE_CREATE,
            &*SERVICE_UPDATE,
            &*ENDPOINT_CREATE,
            &*ENDPOINT_UPDATE,
            &*ENDPOINT_LIST_QUERY,
            &*REGION_CREATE,
            &*REGION_UPDATE,
            &*REGION_LIST_QUERY,
            &*ENDPOINT_GROUP_CREATE,
            &*ENDPOINT_GROUP_UPDATE,
            &*ENDPOINT_GROUP_LIST_QUERY,
        ] {
            assert!(jsonschema::unsupported(s).is_empty(), "{s}");
        }
    }
}
