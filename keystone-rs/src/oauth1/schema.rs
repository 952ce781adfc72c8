//! Keystone's JSON schemas for OS-OAUTH1 bodies (consumer create/update, the roles of an
//! authorization), with the multi-line jsonschema messages Python Keystone answers with:
//! the error jsonschema's `best_match` picks (shortest path first, then schema order), the
//! schema it failed in as `pprint` lays it out, and the instance.

use crate::error::Error;
use crate::policy::python::py_repr;
use serde_json::{Map, Value};

const CREATE_SCHEMA: &str = "    {'type': 'object',
     'properties': {'description': {'type': ['string', 'null']}},
     'additionalProperties': True}";

const UPDATE_SCHEMA: &str = "    {'type': 'object',
     'properties': {'description': {'type': ['string', 'null']}},
     'not': {'required': ['secret']},
     'minProperties': 1,
     'additionalProperties': True}";

const DESCRIPTION_SCHEMA: &str = "    {'type': ['string', 'null']}";

const ROLES_SCHEMA: &str = "    {'type': 'array',
     'items': {'type': 'object',
               'properties': {'id': {'type': 'string',
                                     'minLength': 1,
                                     'maxLength': 64,
                                     'pattern': '^[a-zA-Z0-9-]+$'},
                              'name': {'type': 'string',
                                       'minLength': 1,
                                       'maxLength': 255,
                                       'pattern': '[\\\\S]+'}},
               'minProperties': 1,
               'maxProperties': 1,
               'additionalProperties': False}}";

const ROLE_ITEM_SCHEMA: &str = "    {'type': 'object',
     'properties': {'id': {'type': 'string',
                           'minLength': 1,
                           'maxLength': 64,
                           'pattern': '^[a-zA-Z0-9-]+$'},
                    'name': {'type': 'string',
                             'minLength': 1,
                             'maxLength': 255,
                             'pattern': '[\\\\S]+'}},
     'minProperties': 1,
     'maxProperties': 1,
     'additionalProperties': False}";

const ROLE_ID_SCHEMA: &str = "    {'type': 'string',
     'minLength': 1,
     'maxLength': 64,
     'pattern': '^[a-zA-Z0-9-]+$'}";

const ROLE_NAME_SCHEMA: &str = "    {'type': 'string',
     'minLength': 1,
     'maxLength': 255,
     'pattern': '[\\\\S]+'}";

/// Keystone's column limit for `consumer.description`, checked before the INSERT.
const DESCRIPTION_MAX_CHARS: usize = 64;

/// One jsonschema failure, rendered as `str(ValidationError)` behind Keystone's prefix.
struct Failure {
    /// `0/id` style path for Keystone's "Invalid input for field" prefix; empty at the root.
    field: String,
    message: String,
    validator: &'static str,
    /// `['items']['properties']['id']` style.
    schema_path: String,
    schema_text: &'static str,
    /// `[0]['id']` style.
    instance_path: String,
    instance: Value,
}

impl Failure {
    fn into_error(self) -> Error {
        let prefix = if self.field.is_empty() {
            String::new()
        } else {
            format!("Invalid input for field '{}': ", self.field)
        };
        Error::bad_request(format!(
            "{prefix}{}\n\nFailed validating '{}' in schema{}:\n{}\n\nOn instance{}:\n    {}",
            self.message,
            self.validator,
            self.schema_path,
            self.schema_text,
            self.instance_path,
            py_repr(&self.instance)
        ))
    }
}

fn not_an_object(instance: &Value, schema_text: &'static str) -> Error {
    Failure {
        field: String::new(),
        message: format!("{} is not of type 'object'", py_repr(instance)),
        validator: "type",
        schema_path: String::new(),
        schema_text,
        instance_path: String::new(),
        instance: instance.clone(),
    }
    .into_error()
}

fn check_description(consumer: &Map<String, Value>) -> Result<(), Error> {
    match consumer.get("description") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(d)) if d.chars().count() > DESCRIPTION_MAX_CHARS => {
            Err(Error::bad_request(format!(
                "String length exceeded. The length of string '{d}' exceeds the limit of column description(CHAR({DESCRIPTION_MAX_CHARS}))."
            )))
        }
        Some(Value::String(_)) => Ok(()),
        Some(other) => Err(Failure {
            field: "description".into(),
            message: format!("{} is not of type 'string', 'null'", py_repr(other)),
            validator: "type",
            schema_path: "['properties']['description']".into(),
            schema_text: DESCRIPTION_SCHEMA,
            instance_path: "['description']".into(),
            instance: other.clone(),
        }
        .into_error()),
    }
}

/// `consumer_create`: an object whose `description` is a string or null.
pub fn consumer_create(consumer: &Value) -> Result<&Map<String, Value>, Error> {
    let obj = consumer
        .as_object()
        .ok_or_else(|| not_an_object(consumer, CREATE_SCHEMA))?;
    check_description(obj)?;
    Ok(obj)
}

/// `consumer_update`: as create, but non-empty and without `secret`.
pub fn consumer_update(consumer: &Value) -> Result<&Map<String, Value>, Error> {
    let obj = consumer
        .as_object()
        .ok_or_else(|| not_an_object(consumer, UPDATE_SCHEMA))?;
    let root = |message: String, validator| Failure {
        field: String::new(),
        message,
        validator,
        schema_path: String::new(),
        schema_text: UPDATE_SCHEMA,
        instance_path: String::new(),
        instance: consumer.clone(),
    };
    if obj.contains_key("secret") {
        return Err(root(
            format!(
                "{} should not be valid under {{'required': ['secret']}}",
                py_repr(consumer)
            ),
            "not",
        )
        .into_error());
    }
    if obj.is_empty() {
        return Err(root(
            format!("{} should be non-empty", py_repr(consumer)),
            "minProperties",
        )
        .into_error());
    }
    check_description(obj)?;
    Ok(obj)
}

/// A role named by id or by name in an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

/// `request_token_authorize`: a list of `{"id": …}` / `{"name": …}` objects.
pub fn authorize_roles(roles: &Value) -> Result<Vec<RoleRef>, Error> {
    let items = roles.as_array().ok_or_else(|| {
        Failure {
            field: String::new(),
            message: format!("{} is not of type 'array'", py_repr(roles)),
            validator: "type",
            schema_path: String::new(),
            schema_text: ROLES_SCHEMA,
            instance_path: String::new(),
            instance: roles.clone(),
        }
        .into_error()
    })?;
    // jsonschema reports the failure nearest the root; among equals, the first found.
    let mut deep: Option<Failure> = None;
    let mut refs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match check_role_item(i, item) {
            Ok(r) => refs.push(r),
            Err((failure, false)) => return Err(failure.into_error()),
            Err((failure, true)) => {
                deep.get_or_insert(failure);
            }
        }
    }
    match deep {
        Some(failure) => Err(failure.into_error()),
        None => Ok(refs),
    }
}

/// The item's failure and whether it is one level deeper (a property's).
fn check_role_item(i: usize, item: &Value) -> Result<RoleRef, (Failure, bool)> {
    let item_failure = |message: String, validator| Failure {
        field: i.to_string(),
        message,
        validator,
        schema_path: "['items']".into(),
        schema_text: ROLE_ITEM_SCHEMA,
        instance_path: format!("[{i}]"),
        instance: item.clone(),
    };
    let Some(obj) = item.as_object() else {
        return Err((
            item_failure(format!("{} is not of type 'object'", py_repr(item)), "type"),
            false,
        ));
    };
    if obj.is_empty() {
        return Err((
            item_failure(
                format!("{} should be non-empty", py_repr(item)),
                "minProperties",
            ),
            false,
        ));
    }
    if obj.len() > 1 {
        return Err((
            item_failure(
                format!("{} has too many properties", py_repr(item)),
                "maxProperties",
            ),
            false,
        ));
    }
    let mut extras: Vec<&String> = obj.keys().filter(|k| *k != "id" && *k != "name").collect();
    if !extras.is_empty() {
        extras.sort();
        let listed: Vec<String> = extras
            .iter()
            .map(|k| py_repr(&Value::from(k.as_str())))
            .collect();
        let verb = if extras.len() == 1 { "was" } else { "were" };
        return Err((
            item_failure(
                format!(
                    "Additional properties are not allowed ({} {verb} unexpected)",
                    listed.join(", ")
                ),
                "additionalProperties",
            ),
            false,
        ));
    }
    for (key, max, schema_text) in [("id", 64, ROLE_ID_SCHEMA), ("name", 255, ROLE_NAME_SCHEMA)] {
        let Some(value) = obj.get(key) else {
            continue;
        };
        let property_failure = |message: String, validator| {
            (
                Failure {
                    field: format!("{i}/{key}"),
                    message,
                    validator,
                    schema_path: format!("['items']['properties']['{key}']"),
                    schema_text,
                    instance_path: format!("[{i}]['{key}']"),
                    instance: value.clone(),
                },
                true,
            )
        };
        let Some(text) = value.as_str() else {
            return Err(property_failure(
                format!("{} is not of type 'string'", py_repr(value)),
                "type",
            ));
        };
        let repr = py_repr(value);
        if text.is_empty() {
            return Err(property_failure(
                format!("{repr} should be non-empty"),
                "minLength",
            ));
        }
        if text.chars().count() > max {
            return Err(property_failure(format!("{repr} is too long"), "maxLength"));
        }
        let matches = if key == "id" {
            text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        } else {
            text.chars().any(|c| !c.is_whitespace())
        };
        if !matches {
            let pattern = if key == "id" {
                "'^[a-zA-Z0-9-]+$'"
            } else {
                "'[\\\\S]+'"
            };
            return Err(property_failure(
                format!("{repr} does not match {pattern}"),
                "pattern",
            ));
        }
        return Ok(if key == "id" {
            RoleRef::Id(text.to_string())
        } else {
            RoleRef::Name(text.to_string())
        });
    }
    // Unreachable: one key, and it is `id` or `name`.
    Err((
        item_failure(
            format!("{} should be non-empty", py_repr(item)),
            "minProperties",
        ),
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        // The shallower failure of a later item wins over a deeper one of an earlier item.
        let m = message(authorize_roles(&json!([{"id": "a b"}, 5])).unwrap_err());
        assert!(
            m.starts_with("Invalid input for field '1': 5 is not of type 'object'"),
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
}
