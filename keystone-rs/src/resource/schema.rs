//! Keystone's resource request schemas (keystone/resource/schema.py and the parameter types
//! it uses), as data in Keystone's key order: the order decides which error
//! [`crate::python::jsonschema`] reports first. Bodies and queries go through
//! `keystone.api.validation`'s wording; the tag routes re-check with the older
//! `lazy_validate` ([`TAG`], [`TAGS`]).

use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// `keystone.api.validation.parameter_types.boolean`.
fn boolean() -> Value {
    json!({
        "type": ["boolean", "string", "null"],
        "enum": [true, "True", "TRUE", "true", false, "False", "FALSE", "false", "", "1", "0",
                 "y", "Y", "n", "N", "on", "ON", "off", "OFF", "yes", "no"]
    })
}

/// `_name_properties`.
fn name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"[\S]+"})
}

fn id_string() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"})
}

fn nullable_id_string() -> Value {
    json!({"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"})
}

/// `_project_tag_name_properties`: also the schema of one tag in a URL.
pub static TAG: LazyLock<Value> = LazyLock::new(
    || json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,/]*$"}),
);

/// `_project_tags_list_properties`: also the check of a project's whole tag list.
pub static TAGS: LazyLock<Value> = LazyLock::new(
    || json!({"type": "array", "items": *TAG, "required": [], "maxItems": 80, "uniqueItems": true}),
);

/// `PROJECT_OPTIONS_REGISTRY.json_schema`: `immutable` is a nullable old-style boolean.
fn options() -> Value {
    json!({
        "type": "object",
        "properties": {"immutable": {"type": ["boolean", "null"], "enum": [true, false, null]}},
        "additionalProperties": false
    })
}

fn project_properties() -> Value {
    json!({
        "description": {"type": ["string", "null"]},
        "domain_id": nullable_id_string(),
        "enabled": boolean(),
        "is_domain": boolean(),
        "parent_id": nullable_id_string(),
        "name": name(),
        "tags": *TAGS,
        "options": options()
    })
}

/// `project_create_request_body` (Keystone's schema does not require `project` itself).
pub static PROJECT_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "project": {"type": "object", "properties": project_properties(), "required": ["name"]}
        },
        "additionalProperties": false
    })
});

/// `project_update_request_body`: no `minProperties`, and `domain_id`, `parent_id` and
/// `is_domain` are left to the update's own checks.
pub static PROJECT_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "project": {
                "type": "object",
                "properties": {
                    "description": {"type": ["string", "null"]},
                    "enabled": boolean(),
                    "name": name(),
                    "options": options(),
                    "tags": *TAGS
                }
            }
        },
        "additionalProperties": false
    })
});

/// `project_index_request_query` (unknown parameters allowed).
pub static PROJECT_LIST_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "domain_id": id_string(),
            "enabled": boolean(),
            "name": name(),
            "parent_id": {"type": "string", "format": "uuid"},
            "is_domain": boolean(),
            "tags": {"type": "string"},
            "tags-any": {"type": "string"},
            "not-tags": {"type": "string"},
            "not-tags-any": {"type": "string"},
            "marker": {"type": "string"},
            "limit": {"type": ["integer", "string"]}
        },
        "additionalProperties": true
    })
});

fn domain_properties() -> Value {
    json!({
        "description": {"type": ["string", "null"], "maxLength": 255},
        "enabled": boolean(),
        "name": name(),
        "options": options(),
        "tags": *TAGS
    })
}

/// `domain_create_request_body`: `explicit_domain_id` first, then the domain properties.
pub static DOMAIN_CREATE: LazyLock<Value> = LazyLock::new(|| {
    let mut props = Map::new();
    props.insert("explicit_domain_id".into(), id_string());
    if let Value::Object(rest) = domain_properties() {
        props.extend(rest);
    }
    json!({
        "type": "object",
        "properties": {
            "domain": {"type": "object", "properties": Value::Object(props), "required": ["name"]}
        },
        "required": ["domain"],
        "additionalProperties": false
    })
});

/// `domain_update_request_body`.
pub static DOMAIN_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "domain": {"type": "object", "properties": domain_properties(), "minProperties": 1}
        },
        "required": ["domain"],
        "additionalProperties": false
    })
});

/// `domain_index_request_query`.
pub static DOMAIN_LIST_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "enabled": boolean(),
            "name": name(),
            "marker": {"type": "string"},
            "limit": {"type": ["integer", "string"]}
        },
        "additionalProperties": true
    })
});

/// `tags_update_request_body` (items only; the list limits come from the older check).
pub static TAGS_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"tags": {"type": "array", "items": *TAG}},
        "additionalProperties": false
    })
});

/// keystone-rs's own check after Keystone's (api-ref/DEVIATIONS.md): `enabled` and
/// `is_domain` are JSON booleans. Keystone's schema lets oslo's boolean strings through, and
/// its database layer then fails with a 500.
pub static PROJECT_BOOLEANS: LazyLock<Value> = LazyLock::new(|| {
    json!({"properties": {"project": {"properties": {
        "enabled": {"type": "boolean"},
        "is_domain": {"type": "boolean"}
    }}}})
});

/// As [`PROJECT_BOOLEANS`] for an update, which Keystone's schema limits to `enabled`
/// (`is_domain` is refused by the update itself).
pub static PROJECT_UPDATE_BOOLEANS: LazyLock<Value> = LazyLock::new(
    || json!({"properties": {"project": {"properties": {"enabled": {"type": "boolean"}}}}}),
);

/// As [`PROJECT_BOOLEANS`], for a domain's `enabled`.
pub static DOMAIN_BOOLEANS: LazyLock<Value> = LazyLock::new(
    || json!({"properties": {"domain": {"properties": {"enabled": {"type": "boolean"}}}}}),
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::jsonschema::{self, lazy_validate, validate_query};

    fn message(schema: &Value, body: Value) -> String {
        jsonschema::api_text(schema, &body)
    }

    #[test]
    fn body_messages_match_keystone() {
        assert_eq!(
            message(&PROJECT_CREATE, json!({"project": {}})),
            "Invalid input for field/attribute project. Value: {}. 'name' is a required property"
        );
        assert_eq!(
            message(&PROJECT_CREATE, json!({"project": {"name": "   "}})),
            r"Invalid input for field/attribute name. Value:    . '   ' does not match '[\\S]+'"
        );
        assert_eq!(
            message(
                &PROJECT_CREATE,
                json!({"project": {"name": "x", "enabled": 1}})
            ),
            "Invalid input for field/attribute enabled. Value: 1. 1 is not of type 'boolean', 'string', 'null'"
        );
        assert_eq!(
            message(
                &PROJECT_CREATE,
                json!({"project": {"name": "x", "enabled": null}})
            ),
            "Invalid input for field/attribute enabled. Value: None. None is not one of [True, 'True', 'TRUE', 'true', False, 'False', 'FALSE', 'false', '', '1', '0', 'y', 'Y', 'n', 'N', 'on', 'ON', 'off', 'OFF', 'yes', 'no']"
        );
        assert_eq!(
            message(
                &PROJECT_CREATE,
                json!({"project": {"name": "x", "tags": ["a,b"]}})
            ),
            "Invalid input for field/attribute 0. Value: a,b. 'a,b' does not match '^[^,/]*$'"
        );
        assert_eq!(
            message(
                &PROJECT_CREATE,
                json!({"project": {"name": "x", "tags": ["a", "a"]}})
            ),
            "Invalid input for field/attribute tags. Value: ['a', 'a']. ['a', 'a'] has non-unique elements"
        );
        assert_eq!(
            message(
                &PROJECT_CREATE,
                json!({"project": {"name": "x", "options": {"foo": 1}}})
            ),
            "Invalid input for field/attribute options. Value: {'foo': 1}. Additional properties are not allowed ('foo' was unexpected)"
        );
        assert_eq!(
            message(&PROJECT_CREATE, json!({"project": {"name": "x"}, "x": 1})),
            "Additional properties are not allowed ('x' was unexpected)"
        );
        // `description` is checked before the missing `name`.
        assert_eq!(
            message(&PROJECT_CREATE, json!({"project": {"description": 5}})),
            "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string', 'null'"
        );
        assert_eq!(
            message(&DOMAIN_CREATE, json!({})),
            "'domain' is a required property"
        );
        assert_eq!(
            message(&DOMAIN_UPDATE, json!({"domain": {}})),
            "Invalid input for field/attribute domain. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            message(&TAGS_UPDATE, json!({"foo": 1})),
            "Additional properties are not allowed ('foo' was unexpected)"
        );
    }

    #[test]
    fn query_checks() {
        let pairs = |q: &[(&str, &str)]| -> Vec<(String, String)> {
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let err = validate_query(&PROJECT_LIST_QUERY, &pairs(&[("parent_id", "bad")])).unwrap_err();
        assert_eq!(
            err.message,
            "Invalid input for field/attribute parent_id. Value: bad. 'bad' is not a 'uuid'"
        );
        assert!(
            validate_query(
                &PROJECT_LIST_QUERY,
                &pairs(&[("parent_id", "0e26a2b0-a3ce-4132-ac44-0af85cd6bf2b")])
            )
            .is_ok()
        );
        assert!(
            validate_query(
                &PROJECT_LIST_QUERY,
                &pairs(&[("enabled", ""), ("enabled", "x")])
            )
            .is_ok()
        );
        assert!(validate_query(&PROJECT_LIST_QUERY, &pairs(&[("domain_id", "a b")])).is_err());
        assert!(validate_query(&PROJECT_LIST_QUERY, &pairs(&[("domain_id", "abc\n")])).is_ok());
    }

    #[test]
    fn legacy_messages_match_keystone() {
        let e = lazy_validate(&TAGS, &json!({})).unwrap_err();
        assert_eq!(
            e.message,
            "{} is not of type 'array'\n\nFailed validating 'type' in schema:\n    {'type': 'array',\n     'items': {'type': 'string',\n               'minLength': 1,\n               'maxLength': 255,\n               'pattern': '^[^,/]*$'},\n     'required': [],\n     'maxItems': 80,\n     'uniqueItems': True}\n\nOn instance:\n    {}"
        );
        let e = lazy_validate(&TAG, &json!("a,b")).unwrap_err();
        assert_eq!(
            e.message,
            "'a,b' does not match '^[^,/]*$'\n\nFailed validating 'pattern' in schema:\n    {'type': 'string',\n     'minLength': 1,\n     'maxLength': 255,\n     'pattern': '^[^,/]*$'}\n\nOn instance:\n    'a,b'"
        );
    }

    #[test]
    fn schemas_use_only_what_the_checker_models() {
        for s in [
            &*TAG,
            &*TAGS,
            &*PROJECT_CREATE,
            &*PROJECT_UPDATE,
            &*PROJECT_BOOLEANS,
            &*PROJECT_UPDATE_BOOLEANS,
            &*PROJECT_LIST_QUERY,
            &*DOMAIN_CREATE,
            &*DOMAIN_UPDATE,
            &*DOMAIN_BOOLEANS,
            &*DOMAIN_LIST_QUERY,
            &*TAGS_UPDATE,
        ] {
            assert!(jsonschema::unsupported(s).is_empty(), "{s}");
        }
    }

    /// What the create and update routes run: Keystone's schema, then the strict booleans.
    fn validate_body(schema: &Value, booleans: &Value, body: &Value) -> crate::error::Result<()> {
        jsonschema::validate(schema, body)?;
        jsonschema::validate(booleans, body)
    }

    #[test]
    fn booleans_must_be_json_booleans() {
        assert_eq!(
            validate_body(
                &PROJECT_CREATE,
                &PROJECT_BOOLEANS,
                &json!({"project": {"name": "x", "enabled": "yes"}})
            )
            .unwrap_err()
            .message,
            "Invalid input for field/attribute enabled. Value: yes. 'yes' is not of type 'boolean'"
        );
        assert_eq!(
            validate_body(
                &PROJECT_CREATE,
                &PROJECT_BOOLEANS,
                &json!({"project": {"name": "x", "is_domain": "false"}})
            )
            .unwrap_err()
            .message,
            "Invalid input for field/attribute is_domain. Value: false. 'false' is not of type 'boolean'"
        );
        assert_eq!(
            validate_body(
                &DOMAIN_UPDATE,
                &DOMAIN_BOOLEANS,
                &json!({"domain": {"enabled": ""}})
            )
            .unwrap_err()
            .message,
            "Invalid input for field/attribute enabled. Value: . '' is not of type 'boolean'"
        );
        // Keystone's own answer comes first where it has one.
        assert_eq!(
            validate_body(
                &PROJECT_UPDATE,
                &PROJECT_UPDATE_BOOLEANS,
                &json!({"project": {"enabled": "maybe"}})
            )
            .unwrap_err()
            .message,
            "Invalid input for field/attribute enabled. Value: maybe. 'maybe' is not one of [True, 'True', 'TRUE', 'true', False, 'False', 'FALSE', 'false', '', '1', '0', 'y', 'Y', 'n', 'N', 'on', 'ON', 'off', 'OFF', 'yes', 'no']"
        );
        assert!(
            validate_body(
                &PROJECT_UPDATE,
                &PROJECT_UPDATE_BOOLEANS,
                &json!({"project": {"enabled": false}})
            )
            .is_ok()
        );
    }
}
