//! Request validation with the error texts Keystone's jsonschema (Draft 2020-12) produces.
//!
//! Keystone raises the *first* error jsonschema yields, and jsonschema walks a schema's
//! keywords in the order the schema dict lists them, and `properties` in schema order. The
//! schemas below are therefore written in Keystone's key order (serde_json keeps insertion
//! order), and the validator supports exactly the keywords they use.

use crate::error::{Error, Result};
use crate::policy::python::{py_repr, py_str, string_repr};
use serde_json::{Map, Value, json};

/// A segment of the path to the failing value.
#[derive(Debug, Clone, PartialEq)]
pub enum PathItem {
    Key(String),
    Index(usize),
}

impl PathItem {
    fn text(&self) -> String {
        match self {
            PathItem::Key(k) => k.clone(),
            PathItem::Index(i) => i.to_string(),
        }
    }
}

/// The first violation jsonschema would report.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Where the failing value sits in the instance.
    pub path: Vec<PathItem>,
    /// The failing value.
    pub instance: Value,
    /// The keyword that failed (`type`, `required`, …).
    pub keyword: &'static str,
    /// jsonschema's `message`.
    pub message: String,
}

/// Validate and return the first violation, if any.
pub fn first_violation(schema: &Value, instance: &Value) -> Option<Violation> {
    let mut path = Vec::new();
    check(schema, instance, &mut path)
}

/// Keystone's `keystone.api.validation` 400 for a request body or query: with a path,
/// "Invalid input for field/attribute <last>. Value: <str(value)>. <message>".
pub fn validate(schema: &Value, instance: &Value) -> Result<()> {
    match first_violation(schema, instance) {
        None => Ok(()),
        Some(v) => Err(Error::bad_request(api_message(&v))),
    }
}

pub fn api_message(v: &Violation) -> String {
    match v.path.last() {
        Some(last) => format!(
            "Invalid input for field/attribute {}. Value: {}. {}",
            last.text(),
            py_str(&v.instance),
            v.message
        ),
        None => v.message.clone(),
    }
}

fn violation(
    path: &[PathItem],
    instance: &Value,
    keyword: &'static str,
    message: String,
) -> Option<Violation> {
    Some(Violation {
        path: path.to_vec(),
        instance: instance.clone(),
        keyword,
        message,
    })
}

fn check(schema: &Value, instance: &Value, path: &mut Vec<PathItem>) -> Option<Violation> {
    let Value::Object(keywords) = schema else {
        return None;
    };
    for (keyword, arg) in keywords {
        let found = match keyword.as_str() {
            "type" => check_type(arg, instance, path),
            "enum" => check_enum(arg, instance, path),
            "minLength" => check_length(arg, instance, path, true),
            "maxLength" => check_length(arg, instance, path, false),
            "pattern" => check_pattern(arg, instance, path),
            "properties" => check_properties(arg, instance, path),
            "required" => check_required(arg, instance, path),
            "additionalProperties" => check_additional(arg, keywords, instance, path),
            "minProperties" => check_min_properties(arg, instance, path),
            "items" => check_items(arg, instance, path),
            "minItems" => check_min_items(arg, instance, path),
            "uniqueItems" => check_unique(arg, instance, path),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// jsonschema's type test; booleans are never numbers.
fn is_type(instance: &Value, name: &str) -> bool {
    match name {
        "string" => instance.is_string(),
        "boolean" => instance.is_boolean(),
        "null" => instance.is_null(),
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "number" => instance.is_number(),
        "integer" => match instance {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        },
        _ => true,
    }
}

fn check_type(arg: &Value, instance: &Value, path: &[PathItem]) -> Option<Violation> {
    let names: Vec<&str> = match arg {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    if names.iter().any(|n| is_type(instance, n)) {
        return None;
    }
    let reprs: Vec<String> = names.iter().map(|n| string_repr(n, false)).collect();
    violation(
        path,
        instance,
        "type",
        format!("{} is not of type {}", py_repr(instance), reprs.join(", ")),
    )
}

fn check_enum(arg: &Value, instance: &Value, path: &[PathItem]) -> Option<Violation> {
    let Value::Array(options) = arg else {
        return None;
    };
    if options.iter().any(|o| o == instance) {
        return None;
    }
    violation(
        path,
        instance,
        "enum",
        format!("{} is not one of {}", py_repr(instance), py_repr(arg)),
    )
}

fn check_length(
    arg: &Value,
    instance: &Value,
    path: &[PathItem],
    minimum: bool,
) -> Option<Violation> {
    let (Value::String(s), Some(bound)) = (instance, arg.as_u64()) else {
        return None;
    };
    let len = s.chars().count() as u64;
    let message = if minimum && len < bound {
        if bound == 1 {
            "should be non-empty"
        } else {
            "is too short"
        }
    } else if !minimum && len > bound {
        if bound == 0 {
            "is expected to be empty"
        } else {
            "is too long"
        }
    } else {
        return None;
    };
    violation(
        path,
        instance,
        if minimum { "minLength" } else { "maxLength" },
        format!("{} {message}", py_repr(instance)),
    )
}

/// The patterns Keystone's identity schemas use, evaluated with `re.search` semantics.
fn pattern_matches(pattern: &str, s: &str) -> bool {
    match pattern {
        // Python's \S: anything str.isspace() rejects.
        r"[\S]+" => s
            .chars()
            .any(|c| !(c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))),
        // `$` also matches before a final newline.
        r"^[a-zA-Z0-9-]+$" => {
            let body = s.strip_suffix('\n').unwrap_or(s);
            !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        _ => true,
    }
}

fn check_pattern(arg: &Value, instance: &Value, path: &[PathItem]) -> Option<Violation> {
    let (Value::String(s), Some(pattern)) = (instance, arg.as_str()) else {
        return None;
    };
    if pattern_matches(pattern, s) {
        return None;
    }
    violation(
        path,
        instance,
        "pattern",
        format!(
            "{} does not match {}",
            py_repr(instance),
            string_repr(pattern, false)
        ),
    )
}

fn check_properties(arg: &Value, instance: &Value, path: &mut Vec<PathItem>) -> Option<Violation> {
    let (Value::Object(props), Value::Object(values)) = (arg, instance) else {
        return None;
    };
    for (name, subschema) in props {
        if let Some(value) = values.get(name) {
            path.push(PathItem::Key(name.clone()));
            let found = check(subschema, value, path);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

fn check_required(arg: &Value, instance: &Value, path: &[PathItem]) -> Option<Violation> {
    let (Value::Array(names), Value::Object(values)) = (arg, instance) else {
        return None;
    };
    let missing = names
        .iter()
        .filter_map(Value::as_str)
        .find(|n| !values.contains_key(*n))?;
    violation(
        path,
        instance,
        "required",
        format!("{} is a required property", string_repr(missing, false)),
    )
}

fn check_additional(
    arg: &Value,
    keywords: &Map<String, Value>,
    instance: &Value,
    path: &[PathItem],
) -> Option<Violation> {
    let Value::Object(values) = instance else {
        return None;
    };
    if arg != &Value::Bool(false) {
        return None;
    }
    let declared = keywords.get("properties").and_then(Value::as_object);
    let mut extras: Vec<&String> = values
        .keys()
        .filter(|k| !declared.is_some_and(|d| d.contains_key(*k)))
        .collect();
    if extras.is_empty() {
        return None;
    }
    extras.sort();
    let verb = if extras.len() == 1 { "was" } else { "were" };
    let listed: Vec<String> = extras.iter().map(|e| string_repr(e, false)).collect();
    violation(
        path,
        instance,
        "additionalProperties",
        format!(
            "Additional properties are not allowed ({} {verb} unexpected)",
            listed.join(", ")
        ),
    )
}

fn check_min_properties(arg: &Value, instance: &Value, path: &[PathItem]) -> Option<Violation> {
    let (Value::Object(values), Some(bound)) = (instance, arg.as_u64()) else {
        return None;
    };
    if (values.len() as u64) >= bound {
        return None;
    }
    let message = if bound == 1 {
        "should be non-empty"
    } else {
        "does not have enough properties"
    };
    violation(
        path,
        instance,
        "minProperties",
        format!("{} {message}", py_repr(instance)),
    )
}

fn check_items(arg: &Value, instance: &Value, path: &mut Vec<PathItem>) -> Option<Violation> {
    let Value::Array(items) = instance else {
        return None;
    };
    for (i, item) in items.iter().enumerate() {
        path.push(PathItem::Index(i));
        let found = check(arg, item, path);
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

fn check_min_items(arg: &Value, instance: &Value, path: &[PathItem]) -> Option<Violation> {
    let (Value::Array(items), Some(bound)) = (instance, arg.as_u64()) else {
        return None;
    };
    if (items.len() as u64) >= bound {
        return None;
    }
    let message = if bound == 1 {
        "should be non-empty"
    } else {
        "is too short"
    };
    violation(
        path,
        instance,
        "minItems",
        format!("{} {message}", py_repr(instance)),
    )
}

fn check_unique(arg: &Value, instance: &Value, path: &[PathItem]) -> Option<Violation> {
    let Value::Array(items) = instance else {
        return None;
    };
    if arg != &Value::Bool(true) {
        return None;
    }
    let duplicated = items
        .iter()
        .enumerate()
        .any(|(i, a)| items.iter().skip(i + 1).any(|b| a == b));
    if !duplicated {
        return None;
    }
    violation(
        path,
        instance,
        "uniqueItems",
        format!("{} has non-unique elements", py_repr(instance)),
    )
}

// ---- Keystone's identity schemas (keystone/identity/schema.py), in its key order -------

fn identity_name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"})
}

fn domain_id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[a-zA-Z0-9-]+$"})
}

/// The API's lenient boolean: real booleans and oslo's boolean strings.
fn api_boolean() -> Value {
    json!({
        "type": ["boolean", "string", "null"],
        "enum": [true, "True", "TRUE", "true", false, "False", "FALSE", "false", "", "1", "0", "y", "Y",
                 "n", "N", "on", "ON", "off", "OFF", "yes", "no"]
    })
}

fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}

fn federated() -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "idp_id": {"type": "string"},
                "protocols": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"protocol_id": {"type": "string"}, "unique_id": {"type": "string"}},
                        "required": ["protocol_id", "unique_id"]
                    },
                    "minItems": 1
                }
            },
            "required": ["idp_id", "protocols"]
        }
    })
}

/// `_user_properties`, optionally led by `domain_id` (the create schema puts it first).
fn user_properties(with_domain_first: bool) -> Map<String, Value> {
    let mut p = Map::new();
    if with_domain_first {
        p.insert("domain_id".into(), domain_id());
    }
    p.insert("default_project_id".into(), nullable_string());
    p.insert("description".into(), nullable_string());
    p.insert("domain_id".into(), domain_id());
    p.insert("enabled".into(), api_boolean());
    p.insert("federated".into(), federated());
    p.insert("name".into(), identity_name());
    p.insert("password".into(), nullable_string());
    p.insert("options".into(), super::options::json_schema());
    p
}

pub fn user_create() -> Value {
    json!({
        "type": "object",
        "properties": {"user": {
            "type": "object",
            "properties": Value::Object(user_properties(true)),
            "required": ["name"],
            "additionalProperties": true
        }},
        "required": ["user"],
        "additionalProperties": false
    })
}

pub fn user_update() -> Value {
    json!({
        "type": "object",
        "properties": {"user": {
            "type": "object",
            "properties": Value::Object(user_properties(false)),
            "minProperties": 1,
            "additionalProperties": true
        }},
        "required": ["user"],
        "additionalProperties": false
    })
}

pub fn user_list_query() -> Value {
    json!({
        "type": "object",
        "properties": {
            "domain_id": domain_id(),
            "enabled": api_boolean(),
            "idp_id": {"type": "string"},
            "name": identity_name(),
            "password_expires_at": {"type": "string"},
            "protocol_id": {"type": "string"},
            "unique_id": {"type": "string"},
            "marker": {"type": "string"},
            "limit": {"type": ["integer", "string"]},
            "sort_key": {"type": "string"},
            "sort_dir": {"type": "string", "enum": ["asc", "desc"]}
        },
        "additionalProperties": true
    })
}

pub fn group_list_query() -> Value {
    json!({
        "type": "object",
        "properties": {
            "domain_id": domain_id(),
            "name": identity_name(),
            "marker": {"type": "string"},
            "limit": {"type": ["integer", "string"]},
            "sort_key": {"type": "string"},
            "sort_dir": {"type": "string", "enum": ["asc", "desc"]}
        },
        "additionalProperties": true
    })
}

pub fn group_create() -> Value {
    json!({
        "type": "object",
        "properties": {"group": {
            "type": "object",
            "properties": {"domain_id": domain_id(), "description": nullable_string(), "name": identity_name()},
            "required": ["name"],
            "additionalProperties": true
        }},
        "required": ["group"],
        "additionalProperties": false
    })
}

pub fn group_update() -> Value {
    json!({
        "type": "object",
        "properties": {"group": {
            "type": "object",
            "properties": {"description": nullable_string(), "name": identity_name()},
            "minProperties": 1,
            "additionalProperties": true
        }},
        "required": ["group"],
        "additionalProperties": false
    })
}

// ---- the self-service password change (`lazy_validate`: jsonschema's full str(error)) ---

const PASSWORD_CHANGE_SCHEMA_TEXT: &str = "{'type': 'object',\n     'properties': {'original_password': {'type': 'string'},\n                    'password': {'type': 'string'}},\n     'required': ['original_password', 'password'],\n     'additionalProperties': False}";

pub fn password_change() -> Value {
    json!({
        "type": "object",
        "properties": {"original_password": {"type": "string"}, "password": {"type": "string"}},
        "required": ["original_password", "password"],
        "additionalProperties": false
    })
}

/// The 400 Keystone's `lazy_validate` gives for the password-change body. jsonschema's
/// text repeats the instance; passwords in it are replaced by `'***'` (Keystone echoes them,
/// which its own code marks as a TODO to mask).
pub fn validate_password_change(user: &Value) -> Result<()> {
    let Some(v) = first_violation(&password_change(), user) else {
        return Ok(());
    };
    let masked = mask_passwords(&v.instance);
    let text = match v.path.last() {
        Some(last) => {
            let field = last.text();
            format!(
                "Invalid input for field '{field}': {}\n\nFailed validating {} in schema['properties'][{}]:\n    {{'type': 'string'}}\n\nOn instance[{}]:\n    {}",
                v.message,
                string_repr(v.keyword, false),
                string_repr(&field, false),
                string_repr(&field, false),
                py_repr(&masked)
            )
        }
        None => format!(
            "{}\n\nFailed validating {} in schema:\n    {PASSWORD_CHANGE_SCHEMA_TEXT}\n\nOn instance:\n    {}",
            v.message,
            string_repr(v.keyword, false),
            pretty(&masked)
        ),
    };
    Err(Error::bad_request(text))
}

fn mask_passwords(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let masked = if (k == "password" || k == "original_password") && v.is_string() {
                        Value::from("***")
                    } else {
                        v.clone()
                    };
                    (k.clone(), masked)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `pprint.pformat(value, width=72)` for what a request can hold here: one line when it
/// fits, else one dict entry per line (continuation lines indented as jsonschema does).
fn pretty(value: &Value) -> String {
    let flat = py_repr(value);
    let Value::Object(m) = value else { return flat };
    if flat.chars().count() <= 72 || m.len() < 2 {
        return flat;
    }
    let entries: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{}: {}", string_repr(k, false), py_repr(v)))
        .collect();
    format!("{{{}}}", entries.join(",\n     "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(schema: &Value, body: Value) -> String {
        validate(schema, &body).unwrap_err().message
    }

    #[test]
    fn user_create_messages_match_keystone() {
        let s = user_create();
        assert_eq!(msg(&s, json!({})), "'user' is a required property");
        assert_eq!(
            msg(&s, json!({"user": {}})),
            "Invalid input for field/attribute user. Value: {}. 'name' is a required property"
        );
        assert_eq!(
            msg(&s, json!({"user": "x"})),
            "Invalid input for field/attribute user. Value: x. 'x' is not of type 'object'"
        );
        assert_eq!(
            msg(&s, json!({"user": {"name": ""}})),
            "Invalid input for field/attribute name. Value: . '' should be non-empty"
        );
        assert_eq!(
            msg(&s, json!({"user": {"name": "   "}})),
            "Invalid input for field/attribute name. Value:    . '   ' does not match '[\\\\S]+'"
        );
        assert_eq!(
            msg(&s, json!({"user": {"name": "x", "enabled": 1}})),
            "Invalid input for field/attribute enabled. Value: 1. 1 is not of type 'boolean', 'string', 'null'"
        );
        assert!(msg(&s, json!({"user": {"name": "x", "enabled": "ABC"}})).starts_with(
            "Invalid input for field/attribute enabled. Value: ABC. 'ABC' is not one of [True, 'True', 'TRUE'"
        ));
        assert_eq!(
            msg(&s, json!({"user": {"name": "x", "domain_id": "no_pe"}})),
            "Invalid input for field/attribute domain_id. Value: no_pe. 'no_pe' does not match '^[a-zA-Z0-9-]+$'"
        );
        assert_eq!(
            msg(&s, json!({"user": {"name": "x", "options": {"foo": 1}}})),
            "Invalid input for field/attribute options. Value: {'foo': 1}. Additional properties are not allowed ('foo' was unexpected)"
        );
        assert_eq!(
            msg(
                &s,
                json!({"user": {"name": "x", "options": {"lock_password": "yes"}}})
            ),
            "Invalid input for field/attribute lock_password. Value: yes. 'yes' is not of type 'boolean', 'null'"
        );
        assert_eq!(
            msg(
                &s,
                json!({"user": {"name": "x", "options": {"multi_factor_auth_rules": [[]]}}})
            ),
            "Invalid input for field/attribute 0. Value: []. [] should be non-empty"
        );
        assert_eq!(
            msg(&s, json!({"user": {"name": "x"}, "extra": 1})),
            "Additional properties are not allowed ('extra' was unexpected)"
        );
        assert!(
            validate(
                &s,
                &json!({"user": {"name": "x", "email": "e", "enabled": "true"}})
            )
            .is_ok()
        );
        // `$` accepts a trailing newline, as Python's re does.
        assert!(validate(&s, &json!({"user": {"name": "x", "domain_id": "abc\n"}})).is_ok());
    }

    #[test]
    fn update_and_group_messages() {
        assert_eq!(
            msg(&user_update(), json!({"user": {}})),
            "Invalid input for field/attribute user. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            msg(&user_update(), json!({"user": {"enabled": null}}))
                .split(". ")
                .last()
                .unwrap()
                .split(" is not")
                .next()
                .unwrap(),
            "None"
        );
        assert_eq!(
            msg(&group_update(), json!({"group": {"description": 5}})),
            "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string', 'null'"
        );
    }

    #[test]
    fn password_change_messages() {
        let e = validate_password_change(&json!({"password": "x"}))
            .unwrap_err()
            .message;
        assert_eq!(
            e,
            "'original_password' is a required property\n\nFailed validating 'required' in schema:\n    {'type': 'object',\n     'properties': {'original_password': {'type': 'string'},\n                    'password': {'type': 'string'}},\n     'required': ['original_password', 'password'],\n     'additionalProperties': False}\n\nOn instance:\n    {'password': '***'}"
        );
        let e = validate_password_change(&json!({"original_password": "pw1", "password": 5}))
            .unwrap_err()
            .message;
        assert_eq!(
            e,
            "Invalid input for field 'password': 5 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['password']:\n    {'type': 'string'}\n\nOn instance['password']:\n    5"
        );
        let e = validate_password_change(&json!("x")).unwrap_err().message;
        assert!(
            e.starts_with("'x' is not of type 'object'") && e.ends_with("On instance:\n    'x'"),
            "{e}"
        );
    }
}
