//! Keystone's JSON schemas for OS-OAUTH1 bodies (keystone/oauth1/schema.py: consumer create
//! and update, the roles of an authorization), checked with `lazy_validate`'s multi-line
//! jsonschema text (see [`crate::python::jsonschema`]).

use crate::assignment::RoleRef;
use crate::error::Error;
use crate::python::jsonschema::lazy_validate;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// `consumer_create`.
pub static CONSUMER_CREATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"description": {"type": ["string", "null"]}},
        "additionalProperties": true
    })
});

/// `consumer_update`.
pub static CONSUMER_UPDATE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "object",
        "properties": {"description": {"type": ["string", "null"]}},
        "not": {"required": ["secret"]},
        "minProperties": 1,
        "additionalProperties": true
    })
});

/// `request_token_authorize`.
pub static REQUEST_TOKEN_AUTHORIZE: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"},
                "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"}
            },
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": false
        }
    })
});

/// Keystone's column limit for `consumer.description`, checked before the INSERT.
const DESCRIPTION_MAX_CHARS: usize = 64;

fn check_description(consumer: &Map<String, Value>) -> Result<(), Error> {
    match consumer.get("description").and_then(Value::as_str) {
        Some(d) if d.chars().count() > DESCRIPTION_MAX_CHARS => Err(Error::bad_request(format!(
            "String length exceeded. The length of string '{d}' exceeds the limit of column description(CHAR({DESCRIPTION_MAX_CHARS}))."
        ))),
        _ => Ok(()),
    }
}

/// The consumer object a schema accepted (keystone-rs answers 400 where Keystone fails with
/// a 500 on a consumer that is not an object: api-ref/DEVIATIONS.md).
fn checked<'a>(schema: &Value, consumer: &'a Value) -> Result<&'a Map<String, Value>, Error> {
    lazy_validate(schema, consumer)?;
    // The schema's `type` made sure of it.
    let obj = consumer
        .as_object()
        .ok_or_else(|| Error::bad_request("consumer is not an object"))?;
    check_description(obj)?;
    Ok(obj)
}

/// `consumer_create`: an object whose `description` is a string or null.
pub fn consumer_create(consumer: &Value) -> Result<&Map<String, Value>, Error> {
    checked(&CONSUMER_CREATE, consumer)
}

/// `consumer_update`: as create, but non-empty and without `secret`.
pub fn consumer_update(consumer: &Value) -> Result<&Map<String, Value>, Error> {
    checked(&CONSUMER_UPDATE, consumer)
}

/// `request_token_authorize`: a list of `{"id": …}` / `{"name": …}` objects.
pub fn authorize_roles(roles: &Value) -> Result<Vec<RoleRef>, Error> {
    lazy_validate(&REQUEST_TOKEN_AUTHORIZE, roles)?;
    Ok(RoleRef::list(Some(roles)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::jsonschema;

    fn message(e: Error) -> String {
        assert_eq!(e.status.as_u16(), 400);
        e.message
    }

    #[test]
    fn authorize_messages_match_keystone() {
        let m = message(authorize_roles(&json!([{"id": "a", "name": "b"}])).unwrap_err());
        assert!(m.starts_with("Invalid input for field '0': {'id': 'a', 'name': 'b'} has too many properties\n\nFailed validating 'maxProperties' in schema['items']:\n    {'type': 'object',\n     'properties': {'id': {'type': 'string',\n"), "{m}");
        assert!(m.ends_with("'pattern': '[\\\\S]+'}},\n     'minProperties': 1,\n     'maxProperties': 1,\n     'additionalProperties': False}\n\nOn instance[0]:\n    {'id': 'a', 'name': 'b'}"), "{m}");
        assert_eq!(
            message(authorize_roles(&json!([{"id": "a b"}])).unwrap_err()),
            "Invalid input for field '0/id': 'a b' does not match '^[a-zA-Z0-9-]+$'\n\nFailed validating 'pattern' in schema['items']['properties']['id']:\n    {'type': 'string',\n     'minLength': 1,\n     'maxLength': 64,\n     'pattern': '^[a-zA-Z0-9-]+$'}\n\nOn instance[0]['id']:\n    'a b'"
        );
        assert_eq!(
            message(authorize_roles(&json!([{"name": ""}])).unwrap_err()),
            "Invalid input for field '0/name': '' should be non-empty\n\nFailed validating 'minLength' in schema['items']['properties']['name']:\n    {'type': 'string',\n     'minLength': 1,\n     'maxLength': 255,\n     'pattern': '[\\\\S]+'}\n\nOn instance[0]['name']:\n    ''"
        );
        let m = message(authorize_roles(&json!([{"foo": "a"}])).unwrap_err());
        assert!(m.starts_with("Invalid input for field '0': Additional properties are not allowed ('foo' was unexpected)\n\nFailed validating 'additionalProperties' in schema['items']:"), "{m}");
        let m = message(authorize_roles(&json!(null)).unwrap_err());
        assert!(m.starts_with("None is not of type 'array'\n\nFailed validating 'type' in schema:\n    {'type': 'array',\n     'items': {'type': 'object',\n"), "{m}");
        assert!(
            m.ends_with("'additionalProperties': False}}\n\nOn instance:\n    None"),
            "{m}"
        );
        // The first error python-jsonschema yields: the first item's, however deep.
        let m = message(authorize_roles(&json!([{"id": "a b"}, 5])).unwrap_err());
        assert!(
            m.starts_with("Invalid input for field '0/id': 'a b' does not match"),
            "{m}"
        );
        assert_eq!(
            authorize_roles(&json!([{"id": "r1"}, {"name": "member"}])).unwrap(),
            vec![RoleRef::Id("r1".into()), RoleRef::Name("member".into())]
        );
    }

    #[test]
    fn consumer_messages_match_keystone() {
        assert_eq!(
            message(consumer_update(&json!({"secret": "x"})).unwrap_err()),
            "{'secret': 'x'} should not be valid under {'required': ['secret']}\n\nFailed validating 'not' in schema:\n    {'type': 'object',\n     'properties': {'description': {'type': ['string', 'null']}},\n     'not': {'required': ['secret']},\n     'minProperties': 1,\n     'additionalProperties': True}\n\nOn instance:\n    {'secret': 'x'}"
        );
        assert!(
            message(consumer_update(&json!({})).unwrap_err()).starts_with(
                "{} should be non-empty\n\nFailed validating 'minProperties' in schema:\n"
            )
        );
        assert_eq!(
            message(consumer_create(&json!({"description": 1})).unwrap_err()),
            "Invalid input for field 'description': 1 is not of type 'string', 'null'\n\nFailed validating 'type' in schema['properties']['description']:\n    {'type': ['string', 'null']}\n\nOn instance['description']:\n    1"
        );
        let long = "x".repeat(65);
        assert_eq!(
            message(consumer_create(&json!({"description": long})).unwrap_err()),
            format!(
                "String length exceeded. The length of string '{long}' exceeds the limit of column description(CHAR(64))."
            )
        );
        assert!(consumer_create(&json!({"description": "é".repeat(64)})).is_ok());
    }

    #[test]
    fn schemas_use_only_what_the_checker_models() {
        for s in [
            &*CONSUMER_CREATE,
            &*CONSUMER_UPDATE,
            &*REQUEST_TOKEN_AUTHORIZE,
        ] {
            assert!(jsonschema::unsupported(s).is_empty(), "{s}");
        }
    }
}
