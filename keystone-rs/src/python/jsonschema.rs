//! python-jsonschema's first error, in Keystone's words: the one request validator every
//! subsystem feeds with its schemas as *data* (`serde_json::json!` in the key order of
//! Keystone's `schema.py` dicts).
//!
//! Keystone validates request bodies and queries with python-jsonschema 4.26
//! (`Draft202012Validator`, Keystone's format checker) and answers with the *first* error
//! `iter_errors` yields. Which error is first, and its text, are part of the API: clients see
//! `'x' is a required property`, `Additional properties are not allowed ('a', 'b' were
//! unexpected)`, `5 is not of type 'string', 'null'`, with the instance rendered by Python's
//! `repr`. python-jsonschema walks a schema's keywords in dict order and `properties` in
//! their order, sorts the unexpected names, lists `oneOf` matches in its own order, and words
//! each keyword's failure its own way (`should be non-empty` for `minLength: 1`, `is too
//! short` otherwise). The Rust `jsonschema` crate validates the same schemas but orders and
//! words its errors differently (it has no notion of Python's dict order or `repr`), so this
//! walk is written by hand, keyword by keyword after python-jsonschema's `_keywords.py`.
//!
//! Keystone has two wordings, and [`ValidationError`] renders both:
//! * `keystone.api.validation` (most routes): `Invalid input for field/attribute <last path
//!   element>. Value: <str(instance)>. <message>`, or the bare message at the top
//!   ([`ValidationError::api_message`], [`validate`], [`validate_query`]);
//! * `keystone.common.validation.lazy_validate` (auth, OS-OAUTH1, tags, password change):
//!   `Invalid input for field '<a/b>': <str(error)>`, where `str(error)` adds the failing
//!   schema and instance as `pprint` lays them out ([`ValidationError::legacy_message`],
//!   [`lazy_validate`]).
//!
//! Only what Keystone's served schemas need is modelled; [`unsupported`] lists anything else
//! a schema uses, and every subsystem's tests assert their schemas have none. Not modelled:
//! `$ref`, `patternProperties`, `propertyNames`, `if`/`then`/`else`, `prefixItems`,
//! `contains`, `multipleOf`, `unevaluated*`, schema-valued `additionalProperties`, and the
//! api validator's reading of numeric strings for `minimum`/`maximum` (plain numeric bounds
//! are checked).

use super::iso8601;
use super::pprint::pformat;
use super::repr::{float_repr, py_repr, py_str, string_repr};
use super::text::isspace;
use crate::error::Error;
use serde_json::{Map, Value};

/// One element of `error.path` or `error.schema_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathItem {
    Key(String),
    Index(usize),
}

impl PathItem {
    /// `str()` of the element.
    pub fn text(&self) -> String {
        match self {
            PathItem::Key(k) => k.clone(),
            PathItem::Index(i) => i.to_string(),
        }
    }

    /// `repr()` of the element.
    fn repr(&self) -> String {
        match self {
            PathItem::Key(k) => string_repr(k, false),
            PathItem::Index(i) => i.to_string(),
        }
    }
}

/// What python-jsonschema's first `ValidationError` carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    /// `error.message`.
    pub message: String,
    /// `error.validator`: the failing keyword (`None` for a `false` schema).
    pub keyword: Option<&'static str>,
    /// `error.path`: where the failing value sits in the instance.
    pub path: Vec<PathItem>,
    /// `error.schema_path`: the keywords and names leading to the failing keyword.
    pub schema_path: Vec<PathItem>,
    /// `error.instance`: the failing value.
    pub instance: Value,
    /// `error.schema`: the schema holding the failing keyword.
    pub schema: Value,
}

impl ValidationError {
    /// `keystone.api.validation`'s 400 text.
    pub fn api_message(&self) -> String {
        match self.path.last() {
            Some(last) => format!(
                "Invalid input for field/attribute {}. Value: {}. {}",
                last.text(),
                py_str(&self.instance),
                self.message
            ),
            None => self.message.clone(),
        }
    }

    /// `keystone.common.validation`'s 400 text: `str(error)` behind the joined path.
    pub fn legacy_message(&self) -> String {
        let full = self.python_str();
        if self.path.is_empty() {
            return full;
        }
        let joined: Vec<String> = self.path.iter().map(PathItem::text).collect();
        format!("Invalid input for field '{}': {full}", joined.join("/"))
    }

    /// `str(error)`: the message, then the failing schema and instance pretty-printed.
    pub fn python_str(&self) -> String {
        let index = |container: &str, items: &[PathItem]| {
            let parts: String = items.iter().map(|i| format!("[{}]", i.repr())).collect();
            format!("{container}{parts}")
        };
        let schema_path = index(
            "schema",
            &self.schema_path[..self.schema_path.len().saturating_sub(1)],
        );
        let keyword = self
            .keyword
            .map_or("None".to_string(), |k| string_repr(k, false));
        format!(
            "{}\n\nFailed validating {keyword} in {schema_path}:\n    {}\n\nOn {}:\n    {}",
            self.message,
            pformat(&self.schema).replace('\n', "\n    "),
            index("instance", &self.path),
            pformat(&self.instance).replace('\n', "\n    "),
        )
    }
}

/// The first error python-jsonschema would raise for `instance`, if any.
pub fn first_error(schema: &Value, instance: &Value) -> Option<ValidationError> {
    Walk { root_repr: None }.descend(schema, instance, true)
}

/// A request body through `keystone.api.validation`: 400 with its wording.
pub fn validate(schema: &Value, instance: &Value) -> Result<(), Error> {
    match first_error(schema, instance) {
        Some(e) => Err(Error::bad_request(e.api_message())),
        None => Ok(()),
    }
}

/// A query string through `keystone.api.validation`: the instance is flask's
/// `ImmutableMultiDict` (each key's first value; its `repr` lists every pair).
pub fn validate_query(schema: &Value, pairs: &[(String, String)]) -> Result<(), Error> {
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
    let root_repr = format!("ImmutableMultiDict([{}])", items.join(", "));
    let walk = Walk {
        root_repr: Some(&root_repr),
    };
    match walk.descend(schema, &Value::Object(map), true) {
        Some(e) => Err(Error::bad_request(e.api_message())),
        None => Ok(()),
    }
}

/// `keystone.common.validation.lazy_validate`: 400 with the older wording.
pub fn lazy_validate(schema: &Value, instance: &Value) -> Result<(), Error> {
    match first_error(schema, instance) {
        Some(e) => Err(Error::bad_request(e.legacy_message())),
        None => Ok(()),
    }
}

/// The 400 text [`validate`] gives for an instance the schema refuses (for the schema files'
/// tests; empty when the instance is valid).
#[cfg(test)]
pub fn api_text(schema: &Value, instance: &Value) -> String {
    first_error(schema, instance)
        .map(|e| e.api_message())
        .unwrap_or_default()
}

/// The keywords, patterns and formats in `schema` this module does not model (empty for
/// every schema keystone-rs validates with it).
pub fn unsupported(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_unsupported(schema, &mut found);
    found
}

fn collect_unsupported(schema: &Value, found: &mut Vec<String>) {
    let Value::Object(keywords) = schema else {
        if !schema.is_boolean() {
            found.push(format!("schema {schema}"));
        }
        return;
    };
    for (keyword, arg) in keywords {
        match keyword.as_str() {
            // Annotations python-jsonschema ignores.
            "description" | "title" | "readOnly" | "x-openstack" | "default" | "examples" => {}
            "type" | "enum" | "const" | "minLength" | "maxLength" | "minProperties"
            | "maxProperties" | "minItems" | "maxItems" | "uniqueItems" | "required"
            | "dependentRequired" | "minimum" | "maximum" => {}
            "pattern" => {
                let known = arg.as_str().is_some_and(|p| search(p, "").is_some());
                if !known {
                    found.push(format!("pattern {arg}"));
                }
            }
            "format" => {
                if !matches!(arg.as_str(), Some("uuid" | "date-time")) {
                    found.push(format!("format {arg}"));
                }
            }
            "additionalProperties" => {
                if !arg.is_boolean() {
                    found.push("additionalProperties with a schema".into());
                }
            }
            "properties" => {
                for sub in arg.as_object().into_iter().flat_map(Map::values) {
                    collect_unsupported(sub, found);
                }
            }
            "items" | "not" => collect_unsupported(arg, found),
            "allOf" | "anyOf" | "oneOf" => {
                for sub in arg.as_array().into_iter().flatten() {
                    collect_unsupported(sub, found);
                }
            }
            other => found.push(format!("keyword {other}")),
        }
    }
}

/// `re.search(pattern, text)` for the patterns Keystone's schemas use; `None` for another.
fn search(pattern: &str, text: &str) -> Option<bool> {
    // Python's `$` also matches before a final newline.
    let before_final_newline = |t: &str| t.strip_suffix('\n').unwrap_or(t).to_string();
    Some(match pattern {
        // Any character `str.isspace` refuses.
        r"[\S]+" => text.chars().any(|c| !isspace(c)),
        r"^[a-zA-Z0-9-]+$" => {
            let body = before_final_newline(text);
            !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        // `[^,/]` matches newlines too, so only the two characters matter.
        r"^[^,/]*$" => !text.contains([',', '/']),
        // A scheme-like run, a colon, then one character that is not a newline.
        r"^[a-zA-Z0-9+.-]+:.+" => {
            let scheme = text
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
                .count();
            let mut rest = text.chars().skip(scheme);
            scheme > 0 && rest.next() == Some(':') && rest.next().is_some_and(|c| c != '\n')
        }
        r"^/\.*" => text.starts_with('/'),
        _ => return None,
    })
}

/// oslo's `uuidutils.is_uuid_like` (Keystone's `uuid` format): the text without `urn:`,
/// `uuid:`, braces and dashes, lowercased, is 32 hex digits.
fn is_uuid_like(text: &str) -> bool {
    let normalised = text
        .replace("urn:", "")
        .replace("uuid:", "")
        .trim_matches(['{', '}'])
        .replace('-', "")
        .to_lowercase();
    normalised.len() == 32 && normalised.chars().all(|c| c.is_ascii_hexdigit())
}

/// python-jsonschema's `_utils.equal`: booleans are not numbers, `1 == 1.0`.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(i, j)| equal(i, j))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// The Draft 2020-12 type checker.
fn is_type(instance: &Value, name: &str) -> bool {
    match name {
        "string" => instance.is_string(),
        "boolean" => instance.is_boolean(),
        "null" => instance.is_null(),
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "number" => instance.is_number(),
        // 1.0 counts as an integer.
        "integer" => {
            instance.is_i64()
                || instance.is_u64()
                || instance.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// `repr()` of a number, for bound messages.
fn number_repr(n: &Value) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => float_repr(f),
        _ => n.to_string(),
    }
}

/// "should be non-empty" for a lower bound of 1, "is expected to be empty" for an upper
/// bound of 0, the keyword's own text otherwise.
fn bound_word(bound: u64, edge: u64, at_edge: &'static str, other: &'static str) -> &'static str {
    if bound == edge { at_edge } else { other }
}

struct Walk<'a> {
    /// `repr()` of the root instance when it is not a plain dict (a query's MultiDict).
    root_repr: Option<&'a str>,
}

impl Walk<'_> {
    fn is_valid(&self, schema: &Value, instance: &Value, is_root: bool) -> bool {
        self.descend(schema, instance, is_root).is_none()
    }

    /// `iter_errors` up to its first error: keywords in the schema's order.
    fn descend(&self, schema: &Value, instance: &Value, is_root: bool) -> Option<ValidationError> {
        let repr = || match (is_root, self.root_repr) {
            (true, Some(r)) => r.to_string(),
            _ => py_repr(instance),
        };
        let keywords = match schema {
            Value::Object(k) => k,
            Value::Bool(false) => {
                return Some(ValidationError {
                    message: format!("False schema does not allow {}", repr()),
                    keyword: None,
                    path: Vec::new(),
                    schema_path: Vec::new(),
                    instance: instance.clone(),
                    schema: schema.clone(),
                });
            }
            _ => return None,
        };
        for (keyword, arg) in keywords {
            let Some((name, found)) =
                self.keyword(keyword, arg, keywords, instance, is_root, &repr)
            else {
                continue;
            };
            return Some(match found {
                Found::Here(message) => ValidationError {
                    message,
                    keyword: Some(name),
                    path: Vec::new(),
                    schema_path: vec![PathItem::Key(name.to_string())],
                    instance: instance.clone(),
                    schema: schema.clone(),
                },
                Found::Below {
                    mut error,
                    path,
                    schema_path,
                } => {
                    if let Some(p) = path {
                        error.path.insert(0, p);
                    }
                    if let Some(p) = schema_path {
                        error.schema_path.insert(0, p);
                    }
                    error.schema_path.insert(0, PathItem::Key(name.to_string()));
                    error
                }
            });
        }
        None
    }

    /// One keyword's first error; the keyword's static name comes back with it.
    fn keyword(
        &self,
        keyword: &str,
        arg: &Value,
        keywords: &Map<String, Value>,
        instance: &Value,
        is_root: bool,
        repr: &dyn Fn() -> String,
    ) -> Option<(&'static str, Found)> {
        let here = |name: &'static str, message: String| Some((name, Found::Here(message)));
        let text_len = instance.as_str().map(|s| s.chars().count() as u64);
        let object = instance.as_object();
        let array = instance.as_array();
        match keyword {
            "type" => {
                let types: Vec<&str> = match arg {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => return None,
                };
                if types.iter().any(|t| is_type(instance, t)) {
                    return None;
                }
                let names: Vec<String> = types.iter().map(|t| string_repr(t, false)).collect();
                here(
                    "type",
                    format!("{} is not of type {}", repr(), names.join(", ")),
                )
            }
            "enum" => {
                let options = arg.as_array()?;
                if options.iter().any(|o| equal(o, instance)) {
                    return None;
                }
                here("enum", format!("{} is not one of {}", repr(), py_repr(arg)))
            }
            "const" => (!equal(arg, instance)).then(|| {
                (
                    "const",
                    Found::Here(format!("{} was expected", py_repr(arg))),
                )
            }),
            "minLength" => {
                let bound = arg.as_u64()?;
                (text_len? < bound).then(|| {
                    let why = bound_word(bound, 1, "should be non-empty", "is too short");
                    ("minLength", Found::Here(format!("{} {why}", repr())))
                })
            }
            "maxLength" => {
                let bound = arg.as_u64()?;
                (text_len? > bound).then(|| {
                    let why = bound_word(bound, 0, "is expected to be empty", "is too long");
                    ("maxLength", Found::Here(format!("{} {why}", repr())))
                })
            }
            "pattern" => {
                let (text, pattern) = (instance.as_str()?, arg.as_str()?);
                // An unknown pattern fails closed (`unsupported` reports it in tests).
                if search(pattern, text).unwrap_or(false) {
                    return None;
                }
                here(
                    "pattern",
                    format!("{} does not match {}", repr(), py_repr(arg)),
                )
            }
            "format" => {
                let text = instance.as_str()?;
                let ok = match arg.as_str()? {
                    "uuid" => is_uuid_like(text),
                    "date-time" => iso8601::parse_date(text).is_some(),
                    _ => true,
                };
                if ok {
                    return None;
                }
                here("format", format!("{} is not a {}", repr(), py_repr(arg)))
            }
            "minimum" | "maximum" => {
                let (value, bound) = (instance.as_f64()?, arg.as_f64()?);
                if instance.is_boolean() {
                    return None;
                }
                if keyword == "minimum" && value < bound {
                    let message = format!(
                        "{} is less than the minimum of {}",
                        number_repr(instance),
                        number_repr(arg)
                    );
                    return here("minimum", message);
                }
                if keyword == "maximum" && value > bound {
                    let message = format!(
                        "{} is greater than the maximum of {}",
                        number_repr(instance),
                        number_repr(arg)
                    );
                    return here("maximum", message);
                }
                None
            }
            "properties" => {
                let (props, values) = (arg.as_object()?, object?);
                props.iter().find_map(|(name, sub)| {
                    let error = self.descend(sub, values.get(name)?, false)?;
                    Some((
                        "properties",
                        Found::Below {
                            error,
                            path: Some(PathItem::Key(name.clone())),
                            schema_path: Some(PathItem::Key(name.clone())),
                        },
                    ))
                })
            }
            "required" => {
                let (names, values) = (arg.as_array()?, object?);
                let missing = names
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|n| !values.contains_key(*n))?;
                here(
                    "required",
                    format!("{} is a required property", string_repr(missing, false)),
                )
            }
            "minProperties" | "maxProperties" => {
                let (bound, count) = (arg.as_u64()?, object?.len() as u64);
                if keyword == "minProperties" && count < bound {
                    let why = bound_word(
                        bound,
                        1,
                        "should be non-empty",
                        "does not have enough properties",
                    );
                    return here("minProperties", format!("{} {why}", repr()));
                }
                if keyword == "maxProperties" && count > bound {
                    let why = bound_word(
                        bound,
                        0,
                        "is expected to be empty",
                        "has too many properties",
                    );
                    return here("maxProperties", format!("{} {why}", repr()));
                }
                None
            }
            "additionalProperties" => {
                if arg != &Value::Bool(false) {
                    return None;
                }
                let declared = keywords.get("properties").and_then(Value::as_object);
                let mut extras: Vec<&String> = object?
                    .keys()
                    .filter(|k| !declared.is_some_and(|d| d.contains_key(*k)))
                    .collect();
                if extras.is_empty() {
                    return None;
                }
                extras.sort();
                let verb = if extras.len() == 1 { "was" } else { "were" };
                let names: Vec<String> = extras.iter().map(|k| string_repr(k, false)).collect();
                here(
                    "additionalProperties",
                    format!(
                        "Additional properties are not allowed ({} {verb} unexpected)",
                        names.join(", ")
                    ),
                )
            }
            "items" => array?.iter().enumerate().find_map(|(i, item)| {
                let error = self.descend(arg, item, false)?;
                Some((
                    "items",
                    Found::Below {
                        error,
                        path: Some(PathItem::Index(i)),
                        schema_path: None,
                    },
                ))
            }),
            "minItems" | "maxItems" => {
                let (bound, count) = (arg.as_u64()?, array?.len() as u64);
                if keyword == "minItems" && count < bound {
                    let why = bound_word(bound, 1, "should be non-empty", "is too short");
                    return here("minItems", format!("{} {why}", repr()));
                }
                if keyword == "maxItems" && count > bound {
                    let why = bound_word(bound, 0, "is expected to be empty", "is too long");
                    return here("maxItems", format!("{} {why}", repr()));
                }
                None
            }
            "uniqueItems" => {
                let items = array?;
                let duplicated = arg == &Value::Bool(true)
                    && items
                        .iter()
                        .enumerate()
                        .any(|(i, a)| items[i + 1..].iter().any(|b| equal(a, b)));
                duplicated.then(|| {
                    (
                        "uniqueItems",
                        Found::Here(format!("{} has non-unique elements", repr())),
                    )
                })
            }
            "dependentRequired" => {
                let (deps, values) = (arg.as_object()?, object?);
                deps.iter()
                    .filter(|(property, _)| values.contains_key(*property))
                    .find_map(|(property, needed)| {
                        let missing = needed
                            .as_array()?
                            .iter()
                            .filter_map(Value::as_str)
                            .find(|each| !values.contains_key(*each))?;
                        Some((
                            "dependentRequired",
                            Found::Here(format!(
                                "{} is a dependency of {}",
                                string_repr(missing, false),
                                string_repr(property, false)
                            )),
                        ))
                    })
            }
            "allOf" => arg.as_array()?.iter().enumerate().find_map(|(i, sub)| {
                let error = self.descend(sub, instance, is_root)?;
                Some((
                    "allOf",
                    Found::Below {
                        error,
                        path: None,
                        schema_path: Some(PathItem::Index(i)),
                    },
                ))
            }),
            "anyOf" => {
                let subs = arg.as_array()?;
                if subs.iter().any(|s| self.is_valid(s, instance, is_root)) {
                    return None;
                }
                here(
                    "anyOf",
                    format!("{} is not valid under any of the given schemas", repr()),
                )
            }
            "oneOf" => {
                let subs = arg.as_array()?;
                let Some(first) = subs
                    .iter()
                    .position(|s| self.is_valid(s, instance, is_root))
                else {
                    return here(
                        "oneOf",
                        format!("{} is not valid under any of the given schemas", repr()),
                    );
                };
                // The later matches first, then the first one.
                let mut valid: Vec<&Value> = subs[first + 1..]
                    .iter()
                    .filter(|s| self.is_valid(s, instance, is_root))
                    .collect();
                if valid.is_empty() {
                    return None;
                }
                valid.push(&subs[first]);
                let reprs: Vec<String> = valid.iter().map(|s| py_repr(s)).collect();
                here(
                    "oneOf",
                    format!("{} is valid under each of {}", repr(), reprs.join(", ")),
                )
            }
            "not" => self.is_valid(arg, instance, is_root).then(|| {
                (
                    "not",
                    Found::Here(format!(
                        "{} should not be valid under {}",
                        repr(),
                        py_repr(arg)
                    )),
                )
            }),
            _ => None,
        }
    }
}

/// A keyword's failure: its own message, or an error found below it.
enum Found {
    Here(String),
    Below {
        error: ValidationError,
        /// The instance step (`properties`, `items`).
        path: Option<PathItem>,
        /// The schema step after the keyword (a property name, an `allOf` index).
        schema_path: Option<PathItem>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api(schema: &Value, instance: Value) -> String {
        first_error(schema, &instance)
            .map(|e| e.api_message())
            .unwrap_or_default()
    }

    fn legacy(schema: &Value, instance: Value) -> String {
        first_error(schema, &instance)
            .map(|e| e.legacy_message())
            .unwrap_or_default()
    }

    // Expected texts produced with python-jsonschema 4.26 (Draft202012Validator) and
    // Keystone's two message layouts.
    #[test]
    fn keyword_messages_match_python_jsonschema() {
        let s = json!({
            "type": "object",
            "properties": {
                "s": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[a-zA-Z0-9-]+$"},
                "e": {"enum": [1, "a", null]},
                "c": {"const": true},
                "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 2.5},
                "o": {"type": "object", "minProperties": 2, "maxProperties": 2},
                "a": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3, "uniqueItems": true},
                "u": {"type": "string", "format": "uuid"},
                "any": {"anyOf": [{"type": "string"}, {"type": "null"}]}
            },
            "required": ["s"],
            "dependentRequired": {"a": ["o"]},
            "additionalProperties": false
        });
        for (instance, expected) in [
            (json!([]), "[] is not of type 'object'"),
            (json!({}), "'s' is a required property"),
            (
                json!({"s": "x"}),
                "Invalid input for field/attribute s. Value: x. 'x' is too short",
            ),
            (
                json!({"s": "xxxx"}),
                "Invalid input for field/attribute s. Value: xxxx. 'xxxx' is too long",
            ),
            (
                json!({"s": "a b"}),
                "Invalid input for field/attribute s. Value: a b. 'a b' does not match '^[a-zA-Z0-9-]+$'",
            ),
            (
                json!({"s": "ab", "e": true}),
                "Invalid input for field/attribute e. Value: True. True is not one of [1, 'a', None]",
            ),
            (json!({"s": "ab", "e": 1.0}), ""),
            (
                json!({"s": "ab", "c": 1}),
                "Invalid input for field/attribute c. Value: 1. True was expected",
            ),
            (
                json!({"s": "ab", "n": 0}),
                "Invalid input for field/attribute n. Value: 0. 0 is less than the minimum of 1",
            ),
            (
                json!({"s": "ab", "n": 3}),
                "Invalid input for field/attribute n. Value: 3. 3 is greater than the maximum of 2.5",
            ),
            (
                json!({"s": "ab", "n": 1.5}),
                "Invalid input for field/attribute n. Value: 1.5. 1.5 is not of type 'integer', 'null'",
            ),
            (json!({"s": "ab", "n": 2.0}), ""),
            (
                json!({"s": "ab", "o": {"x": 1}}),
                "Invalid input for field/attribute o. Value: {'x': 1}. {'x': 1} does not have enough properties",
            ),
            (
                json!({"s": "ab", "o": {"x": 1, "y": 2, "z": 3}}),
                "Invalid input for field/attribute o. Value: {'x': 1, 'y': 2, 'z': 3}. {'x': 1, 'y': 2, 'z': 3} has too many properties",
            ),
            (
                json!({"s": "ab", "a": ["x", 1]}),
                "Invalid input for field/attribute 1. Value: 1. 1 is not of type 'string'",
            ),
            (
                json!({"s": "ab", "a": ["x"]}),
                "Invalid input for field/attribute a. Value: ['x']. ['x'] is too short",
            ),
            (
                json!({"s": "ab", "a": ["x", "x"]}),
                "Invalid input for field/attribute a. Value: ['x', 'x']. ['x', 'x'] has non-unique elements",
            ),
            (
                json!({"s": "ab", "a": ["x", "y"]}),
                "'o' is a dependency of 'a'",
            ),
            (
                json!({"s": "ab", "u": "nope"}),
                "Invalid input for field/attribute u. Value: nope. 'nope' is not a 'uuid'",
            ),
            (
                json!({"s": "ab", "u": "{0E26A2B0-A3CE-4132-AC44-0AF85CD6BF2B}"}),
                "",
            ),
            (
                json!({"s": "ab", "any": 1}),
                "Invalid input for field/attribute any. Value: 1. 1 is not valid under any of the given schemas",
            ),
            (
                json!({"s": "ab", "zz": 1, "b": 2, "é": 3}),
                "Additional properties are not allowed ('b', 'zz', 'é' were unexpected)",
            ),
        ] {
            assert_eq!(api(&s, instance.clone()), expected, "{instance}");
        }
        assert_eq!(
            api(&json!({"maxLength": 0, "minItems": 1}), json!("x")),
            "'x' is expected to be empty"
        );
        assert_eq!(
            api(&json!({"minItems": 1}), json!([])),
            "[] should be non-empty"
        );
    }

    #[test]
    fn one_of_and_not_word_their_schemas() {
        let s = json!({
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}, {"required": ["c"]}],
            "not": {"required": ["x"]}
        });
        assert_eq!(
            api(&s, json!({"a": 1, "b": 1, "c": 1})),
            "{'a': 1, 'b': 1, 'c': 1} is valid under each of {'required': ['b']}, {'required': ['c']}, {'required': ['a']}"
        );
        assert_eq!(
            api(&s, json!({})),
            "{} is not valid under any of the given schemas"
        );
        assert_eq!(
            api(&s, json!({"a": 1, "x": 1})),
            "{'a': 1, 'x': 1} should not be valid under {'required': ['x']}"
        );
    }

    #[test]
    fn queries_show_the_multidict() {
        let s = json!({"type": "object", "not": {"required": ["a", "b"]}, "properties": {"a": {"minLength": 1}}});
        let pairs = |q: &[(&str, &str)]| -> Vec<(String, String)> {
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let e = validate_query(&s, &pairs(&[("a", "1"), ("b", "2"), ("a", "")])).unwrap_err();
        assert_eq!(
            e.message,
            "ImmutableMultiDict([('a', '1'), ('b', '2'), ('a', '')]) should not be valid under {'required': ['a', 'b']}"
        );
        let e = validate_query(&s, &pairs(&[("a", ""), ("a", "x")])).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid input for field/attribute a. Value: . '' should be non-empty"
        );
    }

    #[test]
    fn legacy_text_is_str_of_the_error() {
        let s = json!({
            "type": "object",
            "properties": {
                "identity": {
                    "type": "object",
                    "properties": {"methods": {"type": "array", "items": {"type": "string"}}},
                    "required": ["methods"]
                }
            },
            "required": ["identity"]
        });
        // The peer's answer (spec vector err_schema.json).
        assert_eq!(
            legacy(&s, json!({"identity": {"methods": "password"}})),
            "Invalid input for field 'identity/methods': 'password' is not of type 'array'\n\nFailed validating 'type' in schema['properties']['identity']['properties']['methods']:\n    {'type': 'array', 'items': {'type': 'string'}}\n\nOn instance['identity']['methods']:\n    'password'"
        );
        assert_eq!(
            legacy(&s, json!({"identity": {"methods": [1]}})),
            "Invalid input for field 'identity/methods/0': 1 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['identity']['properties']['methods']['items']:\n    {'type': 'string'}\n\nOn instance['identity']['methods'][0]:\n    1"
        );
        assert_eq!(
            legacy(&s, json!({})),
            "'identity' is a required property\n\nFailed validating 'required' in schema:\n    {'type': 'object',\n     'properties': {'identity': {'type': 'object',\n                                 'properties': {'methods': {'type': 'array',\n                                                            'items': {'type': 'string'}}},\n                                 'required': ['methods']}},\n     'required': ['identity']}\n\nOn instance:\n    {}"
        );
        let all_of = json!({"allOf": [{"type": "object"}, {"required": ["a"]}]});
        assert_eq!(
            legacy(&all_of, json!({})),
            "'a' is a required property\n\nFailed validating 'required' in schema['allOf'][1]:\n    {'required': ['a']}\n\nOn instance:\n    {}"
        );
    }

    #[test]
    fn patterns_search_as_python_re() {
        for (pattern, text, expected) in [
            (r"[\S]+", " \u{1c}\t", false),
            (r"[\S]+", " x ", true),
            (r"^[a-zA-Z0-9-]+$", "abc\n", true),
            (r"^[a-zA-Z0-9-]+$", "abc\n\n", false),
            (r"^[a-zA-Z0-9-]+$", "", false),
            (r"^[^,/]*$", "a\nb", true),
            (r"^[^,/]*$", "a/b", false),
            (r"^[a-zA-Z0-9+.-]+:.+", "h+t.t-p:x\ny", true),
            (r"^[a-zA-Z0-9+.-]+:.+", "http:\n", false),
            (r"^[a-zA-Z0-9+.-]+:.+", ":x", false),
            (r"^/\.*", "/v2", true),
            (r"^/\.*", "v2", false),
        ] {
            assert_eq!(search(pattern, text), Some(expected), "{pattern} {text:?}");
        }
        assert_eq!(search("^x$", "x"), None);
        assert_eq!(
            unsupported(&json!({"properties": {"a": {"pattern": "^x$", "$ref": "#"}}})),
            vec!["pattern \"^x$\"".to_string(), "keyword $ref".to_string()]
        );
    }
}
