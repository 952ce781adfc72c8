//! Keystone's request schemas for roles and role assignments (keystone/assignment/schema.py)
//! and the part of JSON Schema they use, reporting what Keystone reports: the *first* error
//! jsonschema's `validate` raises (keywords in schema order), as
//! `Invalid input for field/attribute <last path element>. Value: <str(value)>. <message>`,
//! or the bare message for an error about the whole document.

use crate::error::Error;
use crate::policy::python::{py_repr, py_str, string_repr};
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

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

pub fn role_create() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        json!({
            "type": "object",
            "properties": {"role": {
                "type": "object", "properties": role_properties(), "required": ["name"],
                "additionalProperties": true
            }},
            "required": ["role"],
            "additionalProperties": false
        })
    })
}

pub fn role_update() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        json!({
            "type": "object",
            "properties": {"role": {
                "type": "object", "properties": role_properties(), "minProperties": 1,
                "additionalProperties": true
            }},
            "required": ["role"],
            "additionalProperties": false
        })
    })
}

pub fn roles_query() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NAME_PATTERN},
                "domain_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN}
            },
            "additionalProperties": true
        })
    })
}

/// The `GET /v3/role_assignments` query schema. Keystone's Python dict repeats `oneOf` and
/// `not`; the later values win, at the earlier positions.
pub fn role_assignments_query() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
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
    })
}

/// The first schema violation.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub path: Vec<String>,
    pub instance: Value,
    pub message: String,
}

impl Violation {
    pub fn into_error(self) -> Error {
        match self.path.last() {
            Some(field) => Error::bad_request(format!(
                "Invalid input for field/attribute {field}. Value: {}. {}",
                py_str(&self.instance),
                self.message
            )),
            None => Error::bad_request(self.message),
        }
    }
}

/// Validate a JSON body.
pub fn check_body(schema: &Value, body: &Value) -> Result<(), Error> {
    match first_violation(schema, body, &mut Vec::new(), None) {
        Some(v) => Err(v.into_error()),
        None => Ok(()),
    }
}

/// Validate query parameters as Keystone does: against werkzeug's `ImmutableMultiDict`
/// (each key's first value; the repr lists every pair).
pub fn check_query(schema: &Value, pairs: &[(String, String)]) -> Result<(), Error> {
    let mut map = Map::new();
    for (k, v) in pairs {
        if !map.contains_key(k) {
            map.insert(k.clone(), Value::String(v.clone()));
        }
    }
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("({}, {})", string_repr(k, false), string_repr(v, false)))
        .collect();
    let repr = format!("ImmutableMultiDict([{}])", items.join(", "));
    match first_violation(schema, &Value::Object(map), &mut Vec::new(), Some(&repr)) {
        Some(v) => Err(v.into_error()),
        None => Ok(()),
    }
}

fn is_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => false,
    }
}

/// A JSON number as jsonschema compares it (booleans are not numbers).
fn instance_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// `re.search` for the two patterns these schemas use.
fn matches_pattern(pattern: &str, s: &str) -> bool {
    match pattern {
        NAME_PATTERN => s.chars().any(|c| !c.is_whitespace()),
        ID_PATTERN => !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        _ => true,
    }
}

/// Python's repr of a small schema fragment (only `required` lists appear in messages).
fn schema_repr(schema: &Value) -> String {
    py_repr(schema)
}

fn first_violation(
    schema: &Value,
    instance: &Value,
    path: &mut Vec<String>,
    root_repr: Option<&str>,
) -> Option<Violation> {
    let Value::Object(keywords) = schema else {
        return None;
    };
    let at_root = path.is_empty();
    let repr = || match (at_root, root_repr) {
        (true, Some(r)) => r.to_string(),
        _ => py_repr(instance),
    };
    let fail = |path: &Vec<String>, message: String| {
        Some(Violation {
            path: path.clone(),
            instance: instance.clone(),
            message,
        })
    };
    for (keyword, value) in keywords {
        match keyword.as_str() {
            "type" => {
                let types: Vec<&str> = match value {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => continue,
                };
                if !types.iter().any(|t| is_type(instance, t)) {
                    let names: Vec<String> = types.iter().map(|t| string_repr(t, false)).collect();
                    return fail(
                        path,
                        format!("{} is not of type {}", repr(), names.join(", ")),
                    );
                }
            }
            "enum" => {
                if let Value::Array(options) = value {
                    if !options.contains(instance) {
                        return fail(path, format!("{} is not one of {}", repr(), py_repr(value)));
                    }
                }
            }
            "minLength" => {
                if let (Some(s), Some(min)) = (instance.as_str(), value.as_u64()) {
                    if (s.chars().count() as u64) < min {
                        let why = if min == 1 {
                            "should be non-empty"
                        } else {
                            "is too short"
                        };
                        return fail(path, format!("{} {why}", repr()));
                    }
                }
            }
            "maxLength" => {
                if let (Some(s), Some(max)) = (instance.as_str(), value.as_u64()) {
                    if s.chars().count() as u64 > max {
                        return fail(path, format!("{} is too long", repr()));
                    }
                }
            }
            "pattern" => {
                if let (Some(s), Some(p)) = (instance.as_str(), value.as_str()) {
                    if !matches_pattern(p, s) {
                        return fail(
                            path,
                            format!("{} does not match {}", repr(), string_repr(p, false)),
                        );
                    }
                }
            }
            "properties" => {
                if let (Value::Object(props), Value::Object(map)) = (value, instance) {
                    for (name, sub) in props {
                        if let Some(child) = map.get(name) {
                            path.push(name.clone());
                            let found = first_violation(sub, child, path, None);
                            path.pop();
                            if found.is_some() {
                                return found;
                            }
                        }
                    }
                }
            }
            "required" => {
                if let (Value::Array(names), Value::Object(map)) = (value, instance) {
                    for name in names.iter().filter_map(Value::as_str) {
                        if !map.contains_key(name) {
                            return fail(
                                path,
                                format!("{} is a required property", string_repr(name, false)),
                            );
                        }
                    }
                }
            }
            "minimum" => {
                if let (Some(n), Some(min)) = (instance_number(instance), value.as_f64()) {
                    if n < min {
                        return fail(
                            path,
                            format!("{} is less than the minimum of {}", repr(), py_repr(value)),
                        );
                    }
                }
            }
            "maxProperties" => {
                if let (Some(max), Value::Object(map)) = (value.as_u64(), instance) {
                    if map.len() as u64 > max {
                        let why = if max == 0 {
                            "is expected to be empty"
                        } else {
                            "has too many properties"
                        };
                        return fail(path, format!("{} {why}", repr()));
                    }
                }
            }
            "items" => {
                if let (Value::Object(_), Value::Array(items)) = (value, instance) {
                    for (i, item) in items.iter().enumerate() {
                        path.push(i.to_string());
                        let found = first_violation(value, item, path, None);
                        path.pop();
                        if found.is_some() {
                            return found;
                        }
                    }
                }
            }
            "minProperties" => {
                if let (Some(min), Value::Object(map)) = (value.as_u64(), instance) {
                    if (map.len() as u64) < min {
                        let why = if min == 1 {
                            "should be non-empty"
                        } else {
                            "does not have enough properties"
                        };
                        return fail(path, format!("{} {why}", repr()));
                    }
                }
            }
            "additionalProperties" => {
                if let (Value::Bool(false), Value::Object(map)) = (value, instance) {
                    let known = keywords.get("properties").and_then(Value::as_object);
                    let mut extras: Vec<&String> = map
                        .keys()
                        .filter(|k| !known.is_some_and(|p| p.contains_key(*k)))
                        .collect();
                    if !extras.is_empty() {
                        extras.sort();
                        let verb = if extras.len() == 1 { "was" } else { "were" };
                        let names: Vec<String> =
                            extras.iter().map(|k| string_repr(k, false)).collect();
                        return fail(
                            path,
                            format!(
                                "Additional properties are not allowed ({} {verb} unexpected)",
                                names.join(", ")
                            ),
                        );
                    }
                }
            }
            "dependentRequired" => {
                if let (Value::Object(deps), Value::Object(map)) = (value, instance) {
                    for (property, needed) in deps {
                        if !map.contains_key(property) {
                            continue;
                        }
                        for each in needed
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                        {
                            if !map.contains_key(each) {
                                return fail(
                                    path,
                                    format!(
                                        "{} is a dependency of {}",
                                        string_repr(each, false),
                                        string_repr(property, false)
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            "allOf" => {
                for sub in value.as_array().into_iter().flatten() {
                    let found = first_violation(sub, instance, path, root_repr);
                    if found.is_some() {
                        return found;
                    }
                }
            }
            "oneOf" => {
                let subs: Vec<&Value> = value.as_array().into_iter().flatten().collect();
                let valid: Vec<&Value> = subs
                    .iter()
                    .copied()
                    .filter(|s| first_violation(s, instance, path, root_repr).is_none())
                    .collect();
                match valid.as_slice() {
                    [] => {
                        return fail(
                            path,
                            format!("{} is not valid under any of the given schemas", repr()),
                        );
                    }
                    [_] => {}
                    [first, more @ ..] => {
                        // jsonschema lists the later matches first, then the first one.
                        let mut listed: Vec<String> = more.iter().map(|s| schema_repr(s)).collect();
                        listed.push(schema_repr(first));
                        return fail(
                            path,
                            format!("{} is valid under each of {}", repr(), listed.join(", ")),
                        );
                    }
                }
            }
            "not" => {
                if first_violation(value, instance, path, root_repr).is_none() {
                    return fail(
                        path,
                        format!(
                            "{} should not be valid under {}",
                            repr(),
                            schema_repr(value)
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_error(schema: &Value, body: Value) -> String {
        check_body(schema, &body).unwrap_err().message
    }

    fn query_error(pairs: &[(&str, &str)]) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check_query(role_assignments_query(), &pairs)
            .err()
            .map(|e| e.message)
    }

    #[test]
    fn role_bodies_report_keystones_first_error() {
        assert_eq!(
            body_error(role_create(), json!({})),
            "'role' is a required property"
        );
        assert_eq!(
            body_error(role_create(), json!({"role": {}})),
            "Invalid input for field/attribute role. Value: {}. 'name' is a required property"
        );
        assert_eq!(
            body_error(role_create(), json!({"role": {"name": ""}})),
            "Invalid input for field/attribute name. Value: . '' should be non-empty"
        );
        assert_eq!(
            body_error(role_create(), json!({"role": {"name": " "}})),
            r"Invalid input for field/attribute name. Value:  . ' ' does not match '[\\S]+'"
        );
        assert_eq!(
            body_error(role_create(), json!({"role": {"description": 5}, "x": 1})),
            "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string', 'null'"
        );
        assert_eq!(
            body_error(
                role_create(),
                json!({"role": {"name": "a", "options": {"bogus": 1}}})
            ),
            "Invalid input for field/attribute options. Value: {'bogus': 1}. Additional properties are not allowed ('bogus' was unexpected)"
        );
        assert_eq!(
            body_error(role_create(), json!({"role": {"name": "a"}, "extra": 1})),
            "Additional properties are not allowed ('extra' was unexpected)"
        );
        assert_eq!(
            body_error(role_update(), json!({"role": {}})),
            "Invalid input for field/attribute role. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            body_error(
                role_create(),
                json!({"role": {"name": "a", "domain_id": "a_b"}})
            ),
            "Invalid input for field/attribute domain_id. Value: a_b. 'a_b' does not match '^[a-zA-Z0-9-]+$'"
        );
        assert!(
            check_body(
                role_create(),
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
}
