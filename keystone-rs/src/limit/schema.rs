//! The JSON-schema checks Keystone runs on unified-limit requests (keystone/limit/schema.py),
//! reporting the first error jsonschema would find, keywords in the order the schemas list
//! them: `Invalid input for field/attribute <last path element>. Value: <str(instance)>.
//! <message>`, or the bare message when the error is about the whole body. A list index is a
//! path element too (`field/attribute 0`).

use crate::error::Error;
use crate::policy::python::{py_repr, py_str, string_repr};
use serde_json::{Map, Value};

/// The largest value a signed SQL INT column holds.
const INT_MAX: i64 = 0x7FFF_FFFF;

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn fail(last: Option<Seg<'_>>, instance: &Value, message: String) -> Error {
    match last {
        Some(seg) => {
            let field = match seg {
                Seg::Key(k) => k.to_string(),
                Seg::Index(i) => i.to_string(),
            };
            Error::bad_request(format!(
                "Invalid input for field/attribute {field}. Value: {}. {message}",
                py_str(instance)
            ))
        }
        None => Error::bad_request(message),
    }
}

fn type_error(name: &str, instance: &Value, types: &[&str]) -> Error {
    let names: Vec<String> = types.iter().map(|t| string_repr(t, false)).collect();
    fail(
        Some(Seg::Key(name)),
        instance,
        format!("{} is not of type {}", py_repr(instance), names.join(", ")),
    )
}

/// jsonschema's `integer`: a whole number, never a boolean (1.0 counts).
pub fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

fn integer(name: &str, v: &Value) -> Result<(), Error> {
    let Some(n) = as_integer(v) else {
        return Err(type_error(name, v, &["integer"]));
    };
    if n < -1 {
        return Err(fail(
            Some(Seg::Key(name)),
            v,
            format!("{} is less than the minimum of -1", py_repr(v)),
        ));
    }
    if n > INT_MAX {
        return Err(fail(
            Some(Seg::Key(name)),
            v,
            format!("{} is greater than the maximum of {INT_MAX}", py_repr(v)),
        ));
    }
    Ok(())
}

/// oslo.utils `is_uuid_like`: 32 hex digits once `urn:`, `uuid:`, braces and dashes go.
pub fn is_uuid_like(s: &str) -> bool {
    let hex = s.replace("urn:", "").replace("uuid:", "");
    let hex = hex.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

fn uuid(name: &str, v: &Value) -> Result<(), Error> {
    let Some(s) = v.as_str() else {
        return Err(type_error(name, v, &["string"]));
    };
    if !is_uuid_like(s) {
        return Err(fail(
            Some(Seg::Key(name)),
            v,
            format!("{} is not a 'uuid'", py_repr(v)),
        ));
    }
    Ok(())
}

fn string_len(name: &str, v: &Value, s: &str, min: Option<usize>, max: usize) -> Result<(), Error> {
    let n = s.chars().count();
    if min.is_some_and(|m| n < m) {
        return Err(fail(
            Some(Seg::Key(name)),
            v,
            format!("{} should be non-empty", py_repr(v)),
        ));
    }
    if n > max {
        return Err(fail(
            Some(Seg::Key(name)),
            v,
            format!("{} is too long", py_repr(v)),
        ));
    }
    Ok(())
}

/// `region_id`: a string or null, 1 to 255 characters.
fn region_id(name: &str, v: &Value) -> Result<(), Error> {
    match v {
        Value::Null => Ok(()),
        Value::String(s) => string_len(name, v, s, Some(1), 255),
        _ => Err(type_error(name, v, &["string", "null"])),
    }
}

/// `parameter_types.name`: 1 to 255 characters with at least one that is not whitespace.
fn name_type(name: &str, v: &Value) -> Result<(), Error> {
    let Some(s) = v.as_str() else {
        return Err(type_error(name, v, &["string"]));
    };
    string_len(name, v, s, Some(1), 255)?;
    if !s.chars().any(|c| !c.is_whitespace()) {
        return Err(fail(
            Some(Seg::Key(name)),
            v,
            format!("{} does not match '[\\\\S]+'", py_repr(v)),
        ));
    }
    Ok(())
}

/// `nullable(parameter_types.description)`.
fn description(name: &str, v: &Value) -> Result<(), Error> {
    match v {
        Value::Null => Ok(()),
        Value::String(s) => string_len(name, v, s, None, 255),
        _ => Err(type_error(name, v, &["string", "null"])),
    }
}

/// `nullable(parameter_types.project_id / domain_id)`: `^[a-zA-Z0-9-]+$`, 1 to 64.
fn nullable_id(name: &str, v: &Value) -> Result<(), Error> {
    match v {
        Value::Null => Ok(()),
        Value::String(s) => {
            string_len(name, v, s, Some(1), 64)?;
            if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(fail(
                    Some(Seg::Key(name)),
                    v,
                    format!("{} does not match '^[a-zA-Z0-9-]+$'", py_repr(v)),
                ));
            }
            Ok(())
        }
        _ => Err(type_error(name, v, &["string", "null"])),
    }
}

type Check = fn(&str, &Value) -> Result<(), Error>;

/// `properties`, in the schema's order, then the closing keywords.
fn properties(map: &Map<String, Value>, props: &[(&str, Check)]) -> Result<(), Error> {
    for (name, check) in props {
        if let Some(v) = map.get(*name) {
            check(name, v)?;
        }
    }
    Ok(())
}

fn closed(
    last: Option<Seg<'_>>,
    instance: &Value,
    map: &Map<String, Value>,
    props: &[(&str, Check)],
) -> Result<(), Error> {
    let mut extras: Vec<&String> = map
        .keys()
        .filter(|k| !props.iter().any(|(p, _)| p == k))
        .collect();
    if extras.is_empty() {
        return Ok(());
    }
    extras.sort();
    let verb = if extras.len() == 1 { "was" } else { "were" };
    let joined: Vec<String> = extras.iter().map(|k| string_repr(k, false)).collect();
    Err(fail(
        last,
        instance,
        format!(
            "Additional properties are not allowed ({} {verb} unexpected)",
            joined.join(", ")
        ),
    ))
}

fn required(
    last: Option<Seg<'_>>,
    instance: &Value,
    map: &Map<String, Value>,
    names: &[&str],
) -> Result<(), Error> {
    match names.iter().find(|n| !map.contains_key(**n)) {
        Some(missing) => Err(fail(
            last,
            instance,
            format!("{} is a required property", string_repr(missing, false)),
        )),
        None => Ok(()),
    }
}

fn object<'a>(last: Option<Seg<'_>>, v: &'a Value) -> Result<&'a Map<String, Value>, Error> {
    v.as_object()
        .ok_or_else(|| fail(last, v, format!("{} is not of type 'object'", py_repr(v))))
}

const REGISTERED_LIMIT_PROPS: &[(&str, Check)] = &[
    ("service_id", uuid),
    ("region_id", region_id),
    ("resource_name", name_type),
    ("default_limit", integer),
    ("description", description),
];

const LIMIT_CREATE_PROPS: &[(&str, Check)] = &[
    ("project_id", nullable_id),
    ("domain_id", nullable_id),
    ("resource_name", name_type),
    ("region_id", region_id),
    ("service_id", uuid),
    ("resource_limit", integer),
    ("description", description),
];

const LIMIT_UPDATE_PROPS: &[(&str, Check)] =
    &[("resource_limit", integer), ("description", description)];

/// `{"<key>": [ item, ... ]}` with at least one item, each checked by `item`.
fn batch(
    body: &Value,
    key: &str,
    item: fn(usize, &Value) -> Result<(), Error>,
) -> Result<(), Error> {
    let top = object(None, body)?;
    if let Some(list) = top.get(key) {
        let Some(items) = list.as_array() else {
            return Err(type_error(key, list, &["array"]));
        };
        for (i, v) in items.iter().enumerate() {
            item(i, v)?;
        }
        if items.is_empty() {
            return Err(fail(
                Some(Seg::Key(key)),
                list,
                format!("{} should be non-empty", py_repr(list)),
            ));
        }
    }
    required(None, body, top, &[key])?;
    closed(None, body, top, &[(key, |_, _| Ok(()))])
}

/// `registered_limits_create_request_body`.
pub fn registered_limits_create(body: &Value) -> Result<(), Error> {
    batch(body, "registered_limits", |i, v| {
        let map = object(Some(Seg::Index(i)), v)?;
        properties(map, REGISTERED_LIMIT_PROPS)?;
        closed(Some(Seg::Index(i)), v, map, REGISTERED_LIMIT_PROPS)?;
        required(
            Some(Seg::Index(i)),
            v,
            map,
            &["service_id", "resource_name", "default_limit"],
        )
    })
}

const LIMIT_REQUIRED: &[&str] = &["service_id", "resource_name", "resource_limit"];

/// `limits_create_request_body`, with its `oneOf` of a project or a domain limit.
pub fn limits_create(body: &Value) -> Result<(), Error> {
    batch(body, "limits", |i, v| {
        let map = object(Some(Seg::Index(i)), v)?;
        properties(map, LIMIT_CREATE_PROPS)?;
        required(Some(Seg::Index(i)), v, map, LIMIT_REQUIRED)?;
        let with = |owner: &str| {
            let names: Vec<Value> = LIMIT_REQUIRED
                .iter()
                .chain(std::iter::once(&owner))
                .map(|n| Value::from(*n))
                .collect();
            let mut m = Map::new();
            m.insert("required".into(), Value::Array(names));
            py_repr(&Value::Object(m))
        };
        match (
            map.contains_key("domain_id"),
            map.contains_key("project_id"),
        ) {
            (true, true) => {
                return Err(fail(
                    Some(Seg::Index(i)),
                    v,
                    format!(
                        "{} is valid under each of {}, {}",
                        py_repr(v),
                        with("project_id"),
                        with("domain_id")
                    ),
                ));
            }
            (false, false) => {
                return Err(fail(
                    Some(Seg::Index(i)),
                    v,
                    format!("{} is not valid under any of the given schemas", py_repr(v)),
                ));
            }
            _ => {}
        }
        closed(Some(Seg::Index(i)), v, map, LIMIT_CREATE_PROPS)
    })
}

fn member_update(body: &Value, key: &str, props: &[(&str, Check)]) -> Result<(), Error> {
    let top = object(None, body)?;
    if let Some(member) = top.get(key) {
        let map = object(Some(Seg::Key(key)), member)?;
        properties(map, props)?;
        closed(Some(Seg::Key(key)), member, map, props)?;
    }
    closed(None, body, top, &[(key, |_, _| Ok(()))])?;
    required(None, body, top, &[key])
}

/// `registered_limit_update_request_body`.
pub fn registered_limit_update(body: &Value) -> Result<(), Error> {
    member_update(body, "registered_limit", REGISTERED_LIMIT_PROPS)
}

/// `limit_update_request_body`.
pub fn limit_update(body: &Value) -> Result<(), Error> {
    member_update(body, "limit", LIMIT_UPDATE_PROPS)
}

fn query(pairs: &[(String, String)], props: &[(&str, Check)]) -> Result<(), Error> {
    // werkzeug's MultiDict answers a key with its first value; other keys are allowed.
    for (name, check) in props {
        if let Some((_, v)) = pairs.iter().find(|(k, _)| k == name) {
            check(name, &Value::from(v.as_str()))?;
        }
    }
    Ok(())
}

/// `registered_limits_index_request_query`.
pub fn registered_limits_query(pairs: &[(String, String)]) -> Result<(), Error> {
    query(
        pairs,
        &[
            ("service_id", uuid),
            ("region_id", region_id),
            ("resource_name", name_type),
        ],
    )
}

/// `limits_index_request_query`.
pub fn limits_query(pairs: &[(String, String)]) -> Result<(), Error> {
    query(
        pairs,
        &[
            ("service_id", uuid),
            ("region_id", region_id),
            ("resource_name", name_type),
            ("project_id", nullable_id),
            ("domain_id", nullable_id),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(r: Result<(), Error>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn registered_limit_batches() {
        let sid = "a".repeat(32);
        assert!(
            registered_limits_create(&json!({"registered_limits": [
                {"service_id": sid, "resource_name": "cores", "default_limit": 10}
            ]}))
            .is_ok()
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": []}))),
            "Invalid input for field/attribute registered_limits. Value: []. [] should be non-empty"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({}))),
            "'registered_limits' is a required property"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [
                {"service_id": "x", "resource_name": "cores", "default_limit": 10}
            ]}))),
            "Invalid input for field/attribute service_id. Value: x. 'x' is not a 'uuid'"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [
                {"service_id": sid, "resource_name": "cores", "default_limit": -2}
            ]}))),
            "Invalid input for field/attribute default_limit. Value: -2. -2 is less than the minimum of -1"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [
                {"service_id": sid, "resource_name": "cores", "default_limit": true}
            ]}))),
            "Invalid input for field/attribute default_limit. Value: True. True is not of type 'integer'"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [5]}))),
            "Invalid input for field/attribute 0. Value: 5. 5 is not of type 'object'"
        );
        assert_eq!(
            msg(registered_limits_create(&json!({"registered_limits": [
                {"service_id": sid, "resource_name": " ", "default_limit": 1}
            ]}))),
            "Invalid input for field/attribute resource_name. Value:  . ' ' does not match '[\\\\S]+'"
        );
    }

    #[test]
    fn limit_one_of() {
        let sid = "a".repeat(32);
        let both = json!({"limits": [{"service_id": sid, "resource_name": "c",
            "resource_limit": 1, "project_id": "p", "domain_id": "d"}]});
        assert!(msg(limits_create(&both)).contains("is valid under each of {'required': ['service_id', 'resource_name', 'resource_limit', 'project_id']}"));
        let neither =
            json!({"limits": [{"service_id": sid, "resource_name": "c", "resource_limit": 1}]});
        assert!(
            msg(limits_create(&neither)).ends_with("is not valid under any of the given schemas")
        );
        let big = json!({"limits": [{"service_id": sid, "resource_name": "c",
            "resource_limit": 2147483648u64, "project_id": "p"}]});
        assert!(msg(limits_create(&big)).ends_with("is greater than the maximum of 2147483647"));
    }

    #[test]
    fn updates_and_queries() {
        assert!(limit_update(&json!({"limit": {"resource_limit": 3}})).is_ok());
        assert_eq!(
            msg(limit_update(&json!({"limit": {"resource_name": "x"}}))),
            "Invalid input for field/attribute limit. Value: {'resource_name': 'x'}. Additional properties are not allowed ('resource_name' was unexpected)"
        );
        assert_eq!(
            msg(registered_limit_update(&json!({}))),
            "'registered_limit' is a required property"
        );
        assert!(limits_query(&[("project_id".into(), "a b".into())]).is_err());
        assert!(limits_query(&[("other".into(), "a b".into())]).is_ok());
        assert!(is_uuid_like("{AAAAAAAA-aaaa-aaaa-aaaa-aaaaaaaaaaaa}"));
        assert!(!is_uuid_like("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
    }
}
