//! The JSON schemas Keystone checks resource requests against (keystone/resource/schema.py
//! and the parameter types it uses), and a checker that reports the first error the way
//! Python's `jsonschema` (Draft 2020-12, format checks on) finds and words it.
//!
//! Schemas are written as JSON values in Keystone's own key order, because `jsonschema`
//! evaluates keywords, and `properties`, in dict order: the first failing one is the error
//! the client sees. Patterns are the three Keystone uses here, checked by hand (Python's
//! `re.search` semantics, `$` also matching before a final newline).
//!
//! Two wordings exist. Request bodies and queries go through `keystone.api.validation`:
//! `Invalid input for field/attribute <last path element>. Value: <str(instance)>.
//! <message>`, or the bare message at the top level. The tag routes re-check with the older
//! `keystone.common.validation`, which shows `str(ValidationError)`: the message plus the
//! failing schema and instance pretty-printed (see [`legacy_error`]).

use crate::error::Error;
use crate::policy::python::{py_repr, py_str, string_repr};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// Where in the instance an error is: property names and array indexes.
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

/// The first error `jsonschema` would raise.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    pub path: Vec<PathItem>,
    pub instance: Value,
    pub message: String,
    /// The keyword that failed (`type`, `maxItems`, …) and the schema holding it.
    pub keyword: String,
    pub schema: Value,
}

impl SchemaError {
    /// `keystone.api.validation`'s wording.
    pub fn into_error(self) -> Error {
        match self.path.last() {
            Some(item) => Error::bad_request(format!(
                "Invalid input for field/attribute {}. Value: {}. {}",
                item.text(),
                py_str(&self.instance),
                self.message
            )),
            None => Error::bad_request(self.message),
        }
    }
}

impl From<SchemaError> for Error {
    fn from(e: SchemaError) -> Error {
        e.into_error()
    }
}

/// Check `instance` against `schema`; the first error in `jsonschema`'s order.
pub fn check(schema: &Value, instance: &Value) -> Result<(), SchemaError> {
    check_at(schema, instance, &mut Vec::new())
}

/// A query string as Keystone validates it: each parameter with its first value.
pub fn check_query(schema: &Value, pairs: &[(String, String)]) -> Result<(), SchemaError> {
    let mut map = Map::new();
    for (k, v) in pairs {
        if !map.contains_key(k) {
            map.insert(k.clone(), Value::String(v.clone()));
        }
    }
    check(schema, &Value::Object(map))
}

fn fail(
    path: &[PathItem],
    instance: &Value,
    schema: &Value,
    keyword: &str,
    message: String,
) -> Result<(), SchemaError> {
    Err(SchemaError {
        path: path.to_vec(),
        instance: instance.clone(),
        message,
        keyword: keyword.to_string(),
        schema: schema.clone(),
    })
}

fn is_type(instance: &Value, ty: &str) -> bool {
    match ty {
        "string" => instance.is_string(),
        "boolean" => instance.is_boolean(),
        "null" => instance.is_null(),
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "number" => instance.is_number(),
        // Python's jsonschema counts 1.0 as an integer too.
        "integer" => {
            instance.is_i64()
                || instance.is_u64()
                || instance.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    }
}

/// Python's `str.isspace()` for one character (also the ASCII separators 0x1c-0x1f).
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn matches_pattern(pattern: &str, text: &str) -> bool {
    match pattern {
        // re.search: any non-whitespace character.
        r"[\S]+" => text.chars().any(|c| !py_isspace(c)),
        "^[a-zA-Z0-9-]+$" => {
            let body = text.strip_suffix('\n').unwrap_or(text);
            !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        // `[^,/]` matches newlines too, so only the two characters matter.
        "^[^,/]*$" => !text.contains([',', '/']),
        // Schemas here use no other pattern; an unknown one must not let input through.
        _ => false,
    }
}

/// oslo's `uuidutils.is_uuid_like`: what Python's `uuid.UUID()` accepts, and whose
/// canonical form equals the input with `urn:`, `uuid:`, braces and dashes removed.
fn is_uuid_like(text: &str) -> bool {
    let normalised: String = text
        .replace("urn:", "")
        .replace("uuid:", "")
        .trim_matches(|c| c == '{' || c == '}')
        .replace('-', "")
        .to_lowercase();
    normalised.len() == 32 && normalised.chars().all(|c| c.is_ascii_hexdigit())
}

fn check_at(schema: &Value, instance: &Value, path: &mut Vec<PathItem>) -> Result<(), SchemaError> {
    let Some(keywords) = schema.as_object() else {
        return Ok(());
    };
    for (keyword, value) in keywords {
        match keyword.as_str() {
            "type" => {
                let types: Vec<&str> = match value {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !types.iter().any(|t| is_type(instance, t)) {
                    let names: Vec<String> = types.iter().map(|t| string_repr(t, false)).collect();
                    fail(
                        path,
                        instance,
                        schema,
                        keyword,
                        format!("{} is not of type {}", py_repr(instance), names.join(", ")),
                    )?;
                }
            }
            "enum" => {
                let choices = value.as_array().map(Vec::as_slice).unwrap_or_default();
                if !choices.iter().any(|c| c == instance) {
                    fail(
                        path,
                        instance,
                        schema,
                        keyword,
                        format!("{} is not one of {}", py_repr(instance), py_repr(value)),
                    )?;
                }
            }
            "minLength" | "maxLength" => {
                let (Some(text), Some(bound)) = (instance.as_str(), value.as_u64()) else {
                    continue;
                };
                // Python counts code points.
                let len = text.chars().count() as u64;
                let why = match keyword.as_str() {
                    "minLength" if len < bound && bound == 1 => Some("should be non-empty"),
                    "minLength" if len < bound => Some("is too short"),
                    "maxLength" if len > bound && bound == 0 => Some("is expected to be empty"),
                    "maxLength" if len > bound => Some("is too long"),
                    _ => None,
                };
                if let Some(why) = why {
                    fail(
                        path,
                        instance,
                        schema,
                        keyword,
                        format!("{} {why}", py_repr(instance)),
                    )?;
                }
            }
            "pattern" => {
                let (Some(text), Some(pattern)) = (instance.as_str(), value.as_str()) else {
                    continue;
                };
                if !matches_pattern(pattern, text) {
                    fail(
                        path,
                        instance,
                        schema,
                        keyword,
                        format!("{} does not match {}", py_repr(instance), py_repr(value)),
                    )?;
                }
            }
            "format" => {
                if let (Some(text), Some("uuid")) = (instance.as_str(), value.as_str()) {
                    if !is_uuid_like(text) {
                        fail(
                            path,
                            instance,
                            schema,
                            keyword,
                            format!("{} is not a 'uuid'", py_repr(instance)),
                        )?;
                    }
                }
            }
            "properties" => {
                let (Some(map), Some(props)) = (instance.as_object(), value.as_object()) else {
                    continue;
                };
                for (name, sub) in props {
                    if let Some(v) = map.get(name) {
                        path.push(PathItem::Key(name.clone()));
                        let result = check_at(sub, v, path);
                        path.pop();
                        result?;
                    }
                }
            }
            "required" => {
                let (Some(map), Some(names)) = (instance.as_object(), value.as_array()) else {
                    continue;
                };
                for name in names.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        fail(
                            path,
                            instance,
                            schema,
                            keyword,
                            format!("{} is a required property", string_repr(name, false)),
                        )?;
                    }
                }
            }
            "minProperties" => {
                let (Some(map), Some(bound)) = (instance.as_object(), value.as_u64()) else {
                    continue;
                };
                if (map.len() as u64) < bound {
                    let why = if bound == 1 {
                        "should be non-empty"
                    } else {
                        "does not have enough properties"
                    };
                    fail(
                        path,
                        instance,
                        schema,
                        keyword,
                        format!("{} {why}", py_repr(instance)),
                    )?;
                }
            }
            "additionalProperties" => {
                let Some(map) = instance.as_object() else {
                    continue;
                };
                if value != &Value::Bool(false) {
                    continue;
                }
                let declared = keywords.get("properties").and_then(Value::as_object);
                let mut extras: Vec<&String> = map
                    .keys()
                    .filter(|k| !declared.is_some_and(|d| d.contains_key(*k)))
                    .collect();
                if !extras.is_empty() {
                    extras.sort();
                    let verb = if extras.len() == 1 { "was" } else { "were" };
                    let names: Vec<String> = extras.iter().map(|k| string_repr(k, false)).collect();
                    fail(
                        path,
                        instance,
                        schema,
                        keyword,
                        format!(
                            "Additional properties are not allowed ({} {verb} unexpected)",
                            names.join(", ")
                        ),
                    )?;
                }
            }
            "items" => {
                let Some(items) = instance.as_array() else {
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    path.push(PathItem::Index(i));
                    let result = check_at(value, item, path);
                    path.pop();
                    result?;
                }
            }
            "maxItems" => {
                let (Some(items), Some(bound)) = (instance.as_array(), value.as_u64()) else {
                    continue;
                };
                if items.len() as u64 > bound {
                    let why = if bound == 0 {
                        "is expected to be empty"
                    } else {
                        "is too long"
                    };
                    fail(
                        path,
                        instance,
                        schema,
                        keyword,
                        format!("{} {why}", py_repr(instance)),
                    )?;
                }
            }
            "uniqueItems" => {
                let Some(items) = instance.as_array() else {
                    continue;
                };
                if value == &Value::Bool(true) && has_duplicates(items) {
                    fail(
                        path,
                        instance,
                        schema,
                        keyword,
                        format!("{} has non-unique elements", py_repr(instance)),
                    )?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn has_duplicates(items: &[Value]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items[i + 1..].iter().any(|b| a == b))
}

// ---- the older validator's text --------------------------------------------------------

/// `keystone.common.validation.lazy_validate`: a top-level error shows `str(error)` whole;
/// deeper ones are `Invalid input for field '<path>': <str(error)>`.
pub fn legacy_error(e: SchemaError) -> Error {
    let schema_path = "schema";
    let instance_path = if e.path.is_empty() {
        "instance".to_string()
    } else {
        let index: String = e
            .path
            .iter()
            .map(|p| match p {
                PathItem::Key(k) => format!("[{}]", string_repr(k, false)),
                PathItem::Index(i) => format!("[{i}]"),
            })
            .collect();
        format!("instance{index}")
    };
    let full = format!(
        "{}\n\nFailed validating {} in {schema_path}:\n    {}\n\nOn {instance_path}:\n    {}",
        e.message,
        string_repr(&e.keyword, false),
        indent_continuation(&pformat(&e.schema)),
        indent_continuation(&pformat(&e.instance)),
    );
    if e.path.is_empty() {
        Error::bad_request(full)
    } else {
        let joined: Vec<String> = e.path.iter().map(PathItem::text).collect();
        Error::bad_request(format!(
            "Invalid input for field '{}': {full}",
            joined.join("/")
        ))
    }
}

fn indent_continuation(text: &str) -> String {
    text.replace('\n', "\n    ")
}

const PPRINT_WIDTH: usize = 72;

/// Python's `pprint.pformat(thing, width=72, sort_dicts=False)` for what the tag routes can
/// show: strings, lists, and objects (one entry per line when the one-line form is too long).
pub fn pformat(value: &Value) -> String {
    let mut out = String::new();
    pformat_into(value, 0, 0, 0, &mut out);
    out
}

fn pformat_into(value: &Value, indent: usize, allowance: usize, level: usize, out: &mut String) {
    let rep = py_repr(value);
    let max_width = PPRINT_WIDTH.saturating_sub(indent + allowance);
    if rep.chars().count() <= max_width {
        out.push_str(&rep);
        return;
    }
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            format_items(
                items.iter().map(|v| (None, v)),
                items.len(),
                indent,
                allowance + 1,
                level + 1,
                out,
            );
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            format_items(
                map.iter().map(|(k, v)| (Some(k.as_str()), v)),
                map.len(),
                indent,
                allowance + 1,
                level + 1,
                out,
            );
            out.push('}');
        }
        Value::String(s) => pformat_str(s, indent, allowance, level + 1, out),
        _ => out.push_str(&rep),
    }
}

/// `_format_items` / `_format_dict_items`: one entry per line, indented one past the bracket.
fn format_items<'a>(
    entries: impl Iterator<Item = (Option<&'a str>, &'a Value)>,
    count: usize,
    indent: usize,
    allowance: usize,
    level: usize,
    out: &mut String,
) {
    let indent = indent + 1;
    for (i, (key, value)) in entries.enumerate() {
        let last = i + 1 == count;
        if i > 0 {
            out.push_str(",\n");
            out.push_str(&" ".repeat(indent));
        }
        let entry_allowance = if last { allowance } else { 1 };
        match key {
            Some(k) => {
                let krep = string_repr(k, false);
                let key_len = krep.chars().count();
                out.push_str(&krep);
                out.push_str(": ");
                pformat_into(value, indent + key_len + 2, entry_allowance, level, out);
            }
            None => pformat_into(value, indent, entry_allowance, level, out),
        }
    }
}

/// `_pprint_str`: a long string is cut after whitespace into adjacent literals, wrapped in
/// parentheses at the top level.
fn pformat_str(s: &str, mut indent: usize, mut allowance: usize, level: usize, out: &mut String) {
    if level == 1 {
        indent += 1;
        allowance += 1;
    }
    let width = PPRINT_WIDTH.saturating_sub(indent);
    let lines = split_lines_keep_ends(s);
    let mut chunks: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let last_line = i + 1 == lines.len();
        let rep = string_repr(line, false);
        let line_width = if last_line {
            width.saturating_sub(allowance)
        } else {
            width
        };
        if rep.chars().count() <= line_width {
            chunks.push(rep);
            continue;
        }
        let parts = whitespace_parts(line);
        let mut current = String::new();
        for (j, part) in parts.iter().enumerate() {
            let candidate = format!("{current}{part}");
            let part_width = if j + 1 == parts.len() && last_line {
                width.saturating_sub(allowance)
            } else {
                width
            };
            if string_repr(&candidate, false).chars().count() > part_width {
                if !current.is_empty() {
                    chunks.push(string_repr(&current, false));
                }
                current = part.to_string();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            chunks.push(string_repr(&current, false));
        }
    }
    if chunks.len() <= 1 {
        out.push_str(&string_repr(s, false));
        return;
    }
    if level == 1 {
        out.push('(');
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(chunk);
    }
    if level == 1 {
        out.push(')');
    }
}

/// `str.splitlines(True)` for the common line ends.
fn split_lines_keep_ends(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '\n' || c == '\r' {
            let end = i + c.len_utf8();
            // "\r\n" stays one line end.
            if c == '\r' && s[end..].starts_with('\n') {
                continue;
            }
            out.push(&s[start..end]);
            start = end;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// `re.findall(r'\S*\s*', line)` without the trailing empty match.
fn whitespace_parts(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in line.char_indices() {
        let space = py_isspace(c);
        if !space && in_space {
            parts.push(&line[start..i]);
            start = i;
        }
        in_space = space;
    }
    if start < line.len() {
        parts.push(&line[start..]);
    }
    parts
}

// ---- Keystone's schemas ---------------------------------------------------------------

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

/// Keystone's boolean strings as the value they stand for (`enabled: "false"` is stored as
/// false; Keystone itself fails with a 500 on them).
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "True" | "TRUE" | "true" | "1" | "y" | "Y" | "on" | "ON" | "yes" => Some(true),
            "False" | "FALSE" | "false" | "" | "0" | "n" | "N" | "off" | "OFF" | "no" => {
                Some(false)
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(schema: &Value, body: Value) -> String {
        check(schema, &body)
            .map_err(Error::from)
            .expect_err("invalid")
            .message
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
        let err = check_query(&PROJECT_LIST_QUERY, &pairs(&[("parent_id", "bad")])).unwrap_err();
        assert_eq!(
            err.into_error().message,
            "Invalid input for field/attribute parent_id. Value: bad. 'bad' is not a 'uuid'"
        );
        assert!(
            check_query(
                &PROJECT_LIST_QUERY,
                &pairs(&[("parent_id", "0e26a2b0-a3ce-4132-ac44-0af85cd6bf2b")])
            )
            .is_ok()
        );
        assert!(
            check_query(
                &PROJECT_LIST_QUERY,
                &pairs(&[("enabled", ""), ("enabled", "x")])
            )
            .is_ok()
        );
        assert!(check_query(&PROJECT_LIST_QUERY, &pairs(&[("domain_id", "a b")])).is_err());
        assert!(check_query(&PROJECT_LIST_QUERY, &pairs(&[("domain_id", "abc\n")])).is_ok());
    }

    #[test]
    fn legacy_messages_match_keystone() {
        let e = check(&TAGS, &json!({})).unwrap_err();
        assert_eq!(
            legacy_error(e).message,
            "{} is not of type 'array'\n\nFailed validating 'type' in schema:\n    {'type': 'array',\n     'items': {'type': 'string',\n               'minLength': 1,\n               'maxLength': 255,\n               'pattern': '^[^,/]*$'},\n     'required': [],\n     'maxItems': 80,\n     'uniqueItems': True}\n\nOn instance:\n    {}"
        );
        let e = check(&TAG, &json!("a,b")).unwrap_err();
        assert_eq!(
            legacy_error(e).message,
            "'a,b' does not match '^[^,/]*$'\n\nFailed validating 'pattern' in schema:\n    {'type': 'string',\n     'minLength': 1,\n     'maxLength': 255,\n     'pattern': '^[^,/]*$'}\n\nOn instance:\n    'a,b'"
        );
    }

    #[test]
    fn pformat_wraps_like_python() {
        let long: Vec<Value> = (0..30).map(|i| json!(format!("t{i}"))).collect();
        let text = pformat(&Value::Array(long));
        assert!(text.starts_with("['t0',\n 't1',\n"), "{text}");
        assert!(text.ends_with("\n 't29']"));
        let spaced = "word ".repeat(20);
        assert_eq!(
            pformat(&json!(spaced)),
            "('word word word word word word word word word word word word word '\n 'word word word word word word word ')"
        );
        assert_eq!(
            pformat(&json!([spaced, "x"])),
            "['word word word word word word word word word word word word word '\n 'word word word word word word word ',\n 'x']"
        );
        assert_eq!(
            pformat(&json!("x".repeat(80))),
            format!("'{}'", "x".repeat(80))
        );
    }

    #[test]
    fn booleans() {
        assert_eq!(as_bool(&json!("off")), Some(false));
        assert_eq!(as_bool(&json!("")), Some(false));
        assert_eq!(as_bool(&json!("yes")), Some(true));
        assert_eq!(as_bool(&json!(null)), None);
    }
}
