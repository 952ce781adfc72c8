//! Keystone's request schemas for roles and role assignments (keystone/assignment/schema.py),
//! as data in Keystone's key order: the order decides which error
//! [`crate::python::jsonschema`] reports first.

use serde_json::{Value, json};
use std::sync::LazyLock;

/// The name rule of role bodies and the `name` filter.
const NAME_PATTERN: &str = r"[\S]+";
/// `parameter_types.domain_id` / `id_string`.
const ID_PATTERN: &str = "^[a-zA-Z0-9-]+$";

fn role_properties() -> Value {
    json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NAME_PATTERN},
        "description": {"type": ["string", "null"]},
        "domain_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN},
        "options": {
            "type": "object",
            "properties": {"immutable": {"type": ["boolean", "null"], "enum": [true, false, null]}},
            "additionalProperties": false
        }
    })
}

/// `role_create_request_body`.
pub static ROLE_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"role": {
            "type": "object", "properties": role_properties(), "required": ["name"],
            "additionalProperties": true
        }},
        "required": ["role"],
        "additionalProperties": false
    })
});

/// `role_update_request_body`.
pub static ROLE_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"role": {
            "type": "object", "properties": role_properties(), "minProperties": 1,
            "additionalProperties": true
        }},
        "required": ["role"],
        "additionalProperties": false
    })
});

/// `roles_index_request_query`.
pub static ROLES_QUERY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NAME_PATTERN},
            "domain_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN}
        },
        "additionalProperties": true
    })
});

/// The `GET /v3/role_assignments` query schema. Keystone's Python dict repeats `oneOf` and
/// `not`; the later values win, at the earlier positions.
pub static ROLE_ASSIGNMENTS_QUERY: LazyLock<Value> = LazyLock::new(|| {
    let id = json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN});
    json!({
        "type": "object",
        "properties": {
            "effective": {}, "include_names": {}, "include_subtree": {},
            "group.id": id, "role.id": id, "scope.system": {},
            "scope.domain.id": id, "scope.project.id": id,
            "user.id": {"type": "string"},
            "scope.OS-INHERIT:inherited_to": {}
        },
        "dependentRequired": {"include_subtree": ["scope.project.id"]},
        "oneOf": [
            {"required": ["user.id"]},
            {"required": ["group.id"]},
            {"allOf": [{"not": {"required": ["user.id"]}}, {"not": {"required": ["group.id"]}}]}
        ],
        "not": {"required": ["effective", "group"]},
        "additionalProperties": true
    })
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::jsonschema;

    fn body_error(schema: &Value, body: Value) -> String {
        jsonschema::validate(schema, &body).unwrap_err().message
    }

    fn query_error(pairs: &[(&str, &str)]) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        jsonschema::validate_query(&ROLE_ASSIGNMENTS_QUERY, &pairs)
            .err()
            .map(|e| e.message)
    }

    #[test]
    fn role_bodies_report_keystones_first_error() {
        assert_eq!(
            body_error(&ROLE_CREATE, json!({})),
            "'role' is a required property"
        );
        assert_eq!(
            body_error(&ROLE_CREATE, json!({"role": {}})),
            "Invalid input for field/attribute role. Value: {}. 'name' is a required property"
        );
        assert_eq!(
            body_error(&ROLE_CREATE, json!({"role": {"name": ""}})),
            "Invalid input for field/attribute name. Value: . '' should be non-empty"
        );
        assert_eq!(
            body_error(&ROLE_CREATE, json!({"role": {"name": " "}})),
            r"Invalid input for field/attribute name. Value:  . ' ' does not match '[\\S]+'"
        );
        assert_eq!(
            body_error(&ROLE_CREATE, json!({"role": {"description": 5}, "x": 1})),
            "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string', 'null'"
        );
        assert_eq!(
            body_error(
                &ROLE_CREATE,
                json!({"role": {"name": "a", "options": {"bogus": 1}}})
            ),
            "Invalid input for field/attribute options. Value: {'bogus': 1}. Additional properties are not allowed ('bogus' was unexpected)"
        );
        assert_eq!(
            body_error(&ROLE_CREATE, json!({"role": {"name": "a"}, "extra": 1})),
            "Additional properties are not allowed ('extra' was unexpected)"
        );
        assert_eq!(
            body_error(&ROLE_UPDATE, json!({"role": {}})),
            "Invalid input for field/attribute role. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            body_error(
                &ROLE_CREATE,
                json!({"role": {"name": "a", "domain_id": "a_b"}})
            ),
            "Invalid input for field/attribute domain_id. Value: a_b. 'a_b' does not match '^[a-zA-Z0-9-]+$'"
        );
        assert!(
            jsonschema::validate(
                &ROLE_CREATE,
                &json!({"role": {"name": "a b", "domain_id": null, "x": 1}})
            )
            .is_ok()
        );
    }

    #[test]
    fn role_assignment_queries() {
        assert_eq!(
            query_error(&[("user.id", "u"), ("group.id", "g")]).unwrap(),
            "ImmutableMultiDict([('user.id', 'u'), ('group.id', 'g')]) is valid under each of \
             {'required': ['group.id']}, {'required': ['user.id']}"
        );
        assert_eq!(
            query_error(&[("include_subtree", "0")]).unwrap(),
            "'scope.project.id' is a dependency of 'include_subtree'"
        );
        assert_eq!(
            query_error(&[("role.id", "")]).unwrap(),
            "Invalid input for field/attribute role.id. Value: . '' should be non-empty"
        );
        assert_eq!(
            query_error(&[("effective", ""), ("group", "x")]).unwrap(),
            "ImmutableMultiDict([('effective', ''), ('group', 'x')]) should not be valid under \
             {'required': ['effective', 'group']}"
        );
        assert_eq!(query_error(&[("user.id", ""), ("effective", "")]), None);
    }

    #[test]
    fn schemas_use_only_what_the_checker_models() {
        for s in [
            &*ROLE_CREATE,
            &*ROLE_UPDATE,
            &*ROLES_QUERY,
            &*ROLE_ASSIGNMENTS_QUERY,
        ] {
            assert!(jsonschema::unsupported(s).is_empty(), "{s}");
        }
    }
}
