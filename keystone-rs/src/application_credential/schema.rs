//! The create request: Keystone's JSON schema with jsonschema's first error and Keystone's
//! message layout ("Invalid input for field/attribute <last path item>. Value: <str()>.
//! <message>"), and the `expires_at` parser (`utils.parse_expiration_date`).

use crate::error::{Error, Result};
use crate::fernet::pyrepr::{python_float_repr, python_str_repr};
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

/// One schema keyword; a node is a slice of keywords in the order Keystone's schema dict
/// lists them, because jsonschema reports the first failing keyword in that order.
enum Kw {
    Type(&'static [&'static str]),
    MinLength(usize),
    MaxLength(usize),
    /// The pattern as written (for the message) and its `re.search` equivalent.
    Pattern(&'static str, fn(&str) -> bool),
    Enum(&'static [&'static str]),
    Properties(&'static [(&'static str, &'static [Kw])]),
    Required(&'static [&'static str]),
    /// `additionalProperties: false`, against the sibling `Properties`.
    NoAdditional,
    MinProperties(usize),
    MaxProperties(usize),
    Items(&'static [Kw]),
}

/// Python's `str.isspace` (what `\s` means in a `str` pattern): Unicode whitespace plus the
/// four ASCII separators U+001C..U+001F.
fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `[\S]+` searched anywhere: one non-space character.
fn has_non_space(s: &str) -> bool {
    s.chars().any(|c| !py_isspace(c))
}

/// `^[a-zA-Z0-9-]+$`; Python's `$` also matches before one final newline.
fn is_id_string(s: &str) -> bool {
    let s = s.strip_suffix('\n').unwrap_or(s);
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `^/\.*` searched: starts with `/`.
fn starts_with_slash(s: &str) -> bool {
    s.starts_with('/')
}

const NAME: &[Kw] = &[
    Kw::Type(&["string"]),
    Kw::MinLength(1),
    Kw::MaxLength(255),
    Kw::Pattern(r"[\S]+", has_non_space),
];
const ID_STRING: &[Kw] = &[
    Kw::Type(&["string"]),
    Kw::MinLength(1),
    Kw::MaxLength(64),
    Kw::Pattern(r"^[a-zA-Z0-9-]+$", is_id_string),
];
const PATH: &[Kw] = &[
    Kw::Type(&["string"]),
    Kw::MinLength(0),
    Kw::MaxLength(225),
    Kw::Pattern(r"^/\.*", starts_with_slash),
];
pub const METHODS: &[&str] = &["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"];
const METHOD: &[Kw] = &[Kw::Type(&["string"]), Kw::Enum(METHODS)];
const STRING: &[Kw] = &[Kw::Type(&["string"])];
const STRING_OR_NULL: &[Kw] = &[Kw::Type(&["string", "null"])];

const ACCESS_RULE_ITEM: &[Kw] = &[
    Kw::Type(&["object"]),
    Kw::Properties(&[
        ("id", ID_STRING),
        ("path", PATH),
        ("service", ID_STRING),
        ("method", METHOD),
    ]),
];
const ROLE_ITEM: &[Kw] = &[
    Kw::Type(&["object"]),
    Kw::Properties(&[("id", ID_STRING), ("name", NAME)]),
    Kw::MinProperties(1),
    Kw::MaxProperties(1),
    Kw::NoAdditional,
];
const CREDENTIAL: &[Kw] = &[
    Kw::Type(&["object"]),
    Kw::Properties(&[
        ("id", STRING),
        ("secret", STRING_OR_NULL),
        ("name", NAME),
        ("description", STRING_OR_NULL),
        ("expires_at", STRING_OR_NULL),
        ("project_id", STRING),
        (
            "access_rules",
            &[Kw::Type(&["array"]), Kw::Items(ACCESS_RULE_ITEM)],
        ),
        ("unrestricted", &[Kw::Type(&["boolean", "null"])]),
        ("system", STRING_OR_NULL),
        ("roles", &[Kw::Type(&["array"]), Kw::Items(ROLE_ITEM)]),
    ]),
    Kw::NoAdditional,
    Kw::Required(&["name"]),
];
const CREATE_BODY: &[Kw] = &[
    Kw::Type(&["object"]),
    Kw::Properties(&[("application_credential", CREDENTIAL)]),
    Kw::Required(&["application_credential"]),
    Kw::NoAdditional,
];

/// Python's `repr()` of a JSON value.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => python_float_repr(f),
            _ => n.to_string(),
        },
        Value::String(s) => python_str_repr(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", python_str_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `str()`: strings bare, everything else as `repr()`.
fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn is_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => false,
    }
}

/// The first failure: the last path item (if any), the failing instance, the message.
struct Failure {
    path_last: Option<String>,
    instance: Value,
    message: String,
}

fn fail(path: &[String], instance: &Value, message: String) -> Option<Failure> {
    Some(Failure {
        path_last: path.last().cloned(),
        instance: instance.clone(),
        message,
    })
}

fn check(value: &Value, node: &[Kw], path: &mut Vec<String>) -> Option<Failure> {
    let chars = value.as_str().map(|s| s.chars().count());
    for kw in node {
        let failure = match kw {
            Kw::Type(types) if !types.iter().any(|t| is_type(value, t)) => {
                let names: Vec<String> = types.iter().map(|t| format!("'{t}'")).collect();
                fail(
                    path,
                    value,
                    format!("{} is not of type {}", py_repr(value), names.join(", ")),
                )
            }
            Kw::MinLength(min) if chars.is_some_and(|n| n < *min) => {
                let why = if *min == 1 {
                    "should be non-empty"
                } else {
                    "is too short"
                };
                fail(path, value, format!("{} {why}", py_repr(value)))
            }
            Kw::MaxLength(max) if chars.is_some_and(|n| n > *max) => {
                let why = if *max == 0 {
                    "is expected to be empty"
                } else {
                    "is too long"
                };
                fail(path, value, format!("{} {why}", py_repr(value)))
            }
            Kw::Pattern(text, matches) if value.as_str().is_some_and(|s| !matches(s)) => fail(
                path,
                value,
                format!(
                    "{} does not match {}",
                    py_repr(value),
                    python_str_repr(text)
                ),
            ),
            Kw::Enum(allowed) if !value.as_str().is_some_and(|s| allowed.contains(&s)) => {
                let list: Vec<Value> = allowed.iter().map(|s| Value::from(*s)).collect();
                fail(
                    path,
                    value,
                    format!(
                        "{} is not one of {}",
                        py_repr(value),
                        py_repr(&Value::Array(list))
                    ),
                )
            }
            Kw::Properties(props) => value.as_object().and_then(|obj| {
                props.iter().find_map(|(name, sub)| {
                    let item = obj.get(*name)?;
                    path.push((*name).to_string());
                    let f = check(item, sub, path);
                    path.pop();
                    f
                })
            }),
            Kw::Required(names) => value.as_object().and_then(|obj| {
                names
                    .iter()
                    .find(|n| !obj.contains_key(**n))
                    .and_then(|n| fail(path, value, format!("'{n}' is a required property")))
            }),
            Kw::NoAdditional => value.as_object().and_then(|obj| {
                let known: Vec<&str> = node
                    .iter()
                    .filter_map(|k| match k {
                        Kw::Properties(p) => Some(p.iter().map(|(n, _)| *n)),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                let mut extras: Vec<&String> = obj
                    .keys()
                    .filter(|k| !known.contains(&k.as_str()))
                    .collect();
                extras.sort();
                if extras.is_empty() {
                    return None;
                }
                let verb = if extras.len() == 1 { "was" } else { "were" };
                let listed: Vec<String> = extras.iter().map(|e| python_str_repr(e)).collect();
                fail(
                    path,
                    value,
                    format!(
                        "Additional properties are not allowed ({} {verb} unexpected)",
                        listed.join(", ")
                    ),
                )
            }),
            Kw::MinProperties(min) => value.as_object().filter(|o| o.len() < *min).and_then(|_| {
                let why = if *min == 1 {
                    "should be non-empty"
                } else {
                    "does not have enough properties"
                };
                fail(path, value, format!("{} {why}", py_repr(value)))
            }),
            Kw::MaxProperties(max) => value.as_object().filter(|o| o.len() > *max).and_then(|_| {
                let why = if *max == 0 {
                    "is expected to be empty"
                } else {
                    "has too many properties"
                };
                fail(path, value, format!("{} {why}", py_repr(value)))
            }),
            Kw::Items(sub) => value.as_array().and_then(|items| {
                items.iter().enumerate().find_map(|(i, item)| {
                    path.push(i.to_string());
                    let f = check(item, sub, path);
                    path.pop();
                    f
                })
            }),
            _ => None,
        };
        if failure.is_some() {
            return failure;
        }
    }
    None
}

fn validate(value: &Value, node: &[Kw]) -> Result<()> {
    match check(value, node, &mut Vec::new()) {
        None => Ok(()),
        Some(f) => Err(Error::bad_request(match f.path_last {
            Some(last) => format!(
                "Invalid input for field/attribute {last}. Value: {}. {}",
                py_str(&f.instance),
                f.message
            ),
            None => f.message,
        })),
    }
}

/// A role named in the create request.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

/// A validated create request. Client-chosen `id` and `project_id` are accepted by the
/// schema and ignored, as Keystone does.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRequest {
    pub name: String,
    /// `None` when absent, null or empty: a secret is generated.
    pub secret: Option<String>,
    pub description: Option<String>,
    /// Unparsed; empty counts as absent.
    pub expires_at: Option<String>,
    pub unrestricted: Option<bool>,
    pub system: Option<String>,
    pub roles: Vec<RoleRef>,
    /// Raw items: Keystone acts on unknown keys only when it creates a rule from the item.
    pub access_rules: Vec<Map<String, Value>>,
}

fn string_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Validate `{"application_credential": {...}}` and take it apart.
pub fn parse_create(body: &Value) -> Result<CreateRequest> {
    validate(body, CREATE_BODY)?;
    let obj = body
        .get("application_credential")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::bad_request("'application_credential' is a required property"))?;
    let roles = obj
        .get("roles")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    if let Some(id) = item.get("id").and_then(Value::as_str) {
                        Some(RoleRef::Id(id.to_string()))
                    } else {
                        item.get("name")
                            .and_then(Value::as_str)
                            .map(|n| RoleRef::Name(n.to_string()))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let access_rules = obj
        .get("access_rules")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_object().cloned())
                .collect()
        })
        .unwrap_or_default();
    Ok(CreateRequest {
        name: obj
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        secret: string_field(obj, "secret"),
        description: obj
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        expires_at: string_field(obj, "expires_at"),
        unrestricted: obj.get("unrestricted").and_then(Value::as_bool),
        system: obj
            .get("system")
            .and_then(Value::as_str)
            .map(str::to_string),
        roles,
        access_rules,
    })
}

fn timestamp_error() -> Error {
    Error::new(
        actix_web::http::StatusCode::BAD_REQUEST,
        "Timestamp not in expected format. The server could not comply with the request since \
         it is either malformed or otherwise incorrect. The client is assumed to be in error.",
    )
}

/// `utils.parse_expiration_date`: append `Z` unless present, parse as the `iso8601`
/// library does, refuse a time before now.
pub fn parse_expiration(text: &str, now: NaiveDateTime) -> Result<NaiveDateTime> {
    let zoned = if text.ends_with('Z') {
        text.to_string()
    } else {
        format!("{text}Z")
    };
    let at = parse_iso8601_utc(&zoned).ok_or_else(timestamp_error)?;
    if at < now {
        return Err(Error::validation(
            "The 'expires_at' must not be before now.",
        ));
    }
    Ok(at)
}

/// Exactly `n` ASCII digits at `pos`.
fn digits(b: &[u8], pos: usize, n: usize) -> Option<u32> {
    let slice = b.get(pos..pos + n)?;
    if !slice.iter().all(u8::is_ascii_digit) {
        return None;
    }
    slice.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

/// `-D{1,2}` (two digits preferred) or `DD`, in the regex's order of preference.
fn date_field_options(b: &[u8], pos: usize) -> Vec<(u32, usize)> {
    let mut out = Vec::new();
    if b.get(pos) == Some(&b'-') {
        if let Some(v) = digits(b, pos + 1, 2) {
            out.push((v, pos + 3));
        }
        if let Some(v) = digits(b, pos + 1, 1) {
            out.push((v, pos + 2));
        }
    }
    if let Some(v) = digits(b, pos, 2) {
        out.push((v, pos + 2));
    }
    out
}

/// `(:?MM)?` options at `pos`, preferred first.
fn minute_options(b: &[u8], pos: usize) -> Vec<(Option<u32>, usize)> {
    let mut out = Vec::new();
    if let Some(v) = digits(b, pos + 1, 2).filter(|_| b.get(pos) == Some(&b':')) {
        out.push((Some(v), pos + 3));
    }
    if let Some(v) = digits(b, pos, 2) {
        out.push((Some(v), pos + 2));
    }
    out.push((None, pos));
    out
}

/// `(:?S{1,2}([.,]F+)?)?` options at `pos`: (second, fraction digits, end).
fn second_options(b: &[u8], pos: usize) -> Vec<(Option<(u32, String)>, usize)> {
    let mut out = Vec::new();
    let starts: Vec<usize> = if b.get(pos) == Some(&b':') {
        vec![pos + 1, pos]
    } else {
        vec![pos]
    };
    for start in starts {
        for n in [2, 1] {
            let Some(sec) = digits(b, start, n) else {
                continue;
            };
            let after = start + n;
            if matches!(b.get(after), Some(b'.') | Some(b',')) {
                let run = b
                    .get(after + 1..)
                    .map(|rest| rest.iter().take_while(|c| c.is_ascii_digit()).count())
                    .unwrap_or(0);
                for len in (1..=run).rev() {
                    let frac = b
                        .get(after + 1..after + 1 + len)
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .unwrap_or_default();
                    out.push((Some((sec, frac)), after + 1 + len));
                }
            }
            out.push((Some((sec, String::new())), after));
        }
    }
    out.push((None, pos));
    out
}

/// The `iso8601` regex for a string whose zone is the final `Z` (the only zone that can
/// match once `Z` was appended), then datetime construction, which fails on the first
/// structural match rather than trying another.
fn parse_iso8601_utc(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let end = b
        .len()
        .checked_sub(1)
        .filter(|&i| b.get(i) == Some(&b'Z'))?;
    let year = digits(b, 0, 4)?;
    for (month, p1) in date_field_options(b, 4) {
        for (day, p2) in date_field_options(b, p1) {
            if !matches!(b.get(p2), Some(b' ') | Some(b'T')) {
                continue;
            }
            let Some(hour) = digits(b, p2 + 1, 2) else {
                continue;
            };
            for (minute, p3) in minute_options(b, p2 + 3) {
                for (second, p4) in second_options(b, p3) {
                    if p4 == end {
                        return build(year, month, day, hour, minute, second);
                    }
                }
            }
        }
    }
    None
}

fn build(
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: Option<u32>,
    second: Option<(u32, String)>,
) -> Option<NaiveDateTime> {
    let (sec, frac) = second.unwrap_or((0, String::new()));
    // int(Decimal("0.<frac>") * 1000000): the first six digits, truncated.
    let mut micros = frac.chars().take(6).collect::<String>();
    while micros.len() < 6 {
        micros.push('0');
    }
    let micros: u32 = micros.parse().ok()?;
    if year == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?.and_hms_micro_opt(
        hour,
        minute.unwrap_or(0),
        sec,
        micros,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(body: Value) -> String {
        parse_create(&body).unwrap_err().message
    }

    #[test]
    fn messages_match_the_peer() {
        // Expected texts observed on Python Keystone 30.
        assert_eq!(
            message(json!({})),
            "'application_credential' is a required property"
        );
        assert_eq!(
            message(json!({"application_credential": {}})),
            "Invalid input for field/attribute application_credential. Value: {}. 'name' is a required property"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": "x", "foo": 1}})),
            "Invalid input for field/attribute application_credential. Value: {'name': 'x', 'foo': 1}. Additional properties are not allowed ('foo' was unexpected)"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": "e17", "foo": 1, "bar": 2}})),
            "Invalid input for field/attribute application_credential. Value: {'name': 'e17', 'foo': 1, 'bar': 2}. Additional properties are not allowed ('bar', 'foo' were unexpected)"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": "x"}, "y": 1})),
            "Additional properties are not allowed ('y' was unexpected)"
        );
        assert_eq!(
            message(json!({"application_credential": 5})),
            "Invalid input for field/attribute application_credential. Value: 5. 5 is not of type 'object'"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": "   "}})),
            "Invalid input for field/attribute name. Value:    . '   ' does not match '[\\\\S]+'"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": ""}})),
            "Invalid input for field/attribute name. Value: . '' should be non-empty"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": "x", "description": 5, "foo": 1}})),
            "Invalid input for field/attribute description. Value: 5. 5 is not of type 'string', 'null'"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": "x", "roles": [{}]}})),
            "Invalid input for field/attribute 0. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            message(
                json!({"application_credential": {"name": "x", "roles": [{"id": "a", "name": "b"}]}})
            ),
            "Invalid input for field/attribute 0. Value: {'id': 'a', 'name': 'b'}. {'id': 'a', 'name': 'b'} has too many properties"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": "x", "roles": 5}})),
            "Invalid input for field/attribute roles. Value: 5. 5 is not of type 'array'"
        );
        assert_eq!(
            message(
                json!({"application_credential": {"name": "x", "access_rules": [{"service": "compute", "path": "/v2", "method": "get"}]}})
            ),
            "Invalid input for field/attribute method. Value: get. 'get' is not one of ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT']"
        );
        assert_eq!(
            message(
                json!({"application_credential": {"name": "x", "access_rules": [{"service": "object_store", "path": "/v2", "method": "GET"}]}})
            ),
            "Invalid input for field/attribute service. Value: object_store. 'object_store' does not match '^[a-zA-Z0-9-]+$'"
        );
        assert_eq!(
            message(
                json!({"application_credential": {"name": "x", "access_rules": [{"service": "c", "path": "v2", "method": "GET"}]}})
            ),
            "Invalid input for field/attribute path. Value: v2. 'v2' does not match '^/\\\\.*'"
        );
        assert_eq!(
            message(json!({"application_credential": {"name": "x", "unrestricted": "yes"}})),
            "Invalid input for field/attribute unrestricted. Value: yes. 'yes' is not of type 'boolean', 'null'"
        );
    }

    #[test]
    fn accepted_bodies_are_taken_apart() {
        let r = parse_create(&json!({"application_credential": {
            "name": "n", "secret": "", "expires_at": "", "id": "ignored", "project_id": "ignored",
            "roles": [{"id": "r1"}, {"name": "member"}],
            "access_rules": [{"service": "compute\n", "path": "/v2", "method": "GET", "x": 1}],
            "unrestricted": null, "system": "all"}}))
        .unwrap();
        assert_eq!(r.secret, None);
        assert_eq!(r.expires_at, None);
        assert_eq!(r.unrestricted, None);
        assert_eq!(r.system.as_deref(), Some("all"));
        assert_eq!(
            r.roles,
            vec![RoleRef::Id("r1".into()), RoleRef::Name("member".into())]
        );
        assert_eq!(r.access_rules.len(), 1);
    }

    fn at(text: &str) -> Option<String> {
        let now = NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)?;
        parse_expiration(text, now)
            .ok()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
    }

    #[test]
    fn expiry_formats_as_the_iso8601_library() {
        // Outcomes observed with oslo_utils.timeutils.parse_isotime on the peer.
        assert_eq!(
            at("2030-01-01T00").as_deref(),
            Some("2030-01-01 00:00:00.000000")
        );
        assert_eq!(
            at("2030-01-01T00:00").as_deref(),
            Some("2030-01-01 00:00:00.000000")
        );
        assert_eq!(
            at("2030-01-01 00:00:00Z").as_deref(),
            Some("2030-01-01 00:00:00.000000")
        );
        assert_eq!(
            at("2030-01-01T00:00:00.5").as_deref(),
            Some("2030-01-01 00:00:00.500000")
        );
        assert_eq!(
            at("2030-01-01T00:00:00,5").as_deref(),
            Some("2030-01-01 00:00:00.500000")
        );
        assert_eq!(
            at("20300101T000000").as_deref(),
            Some("2030-01-01 00:00:00.000000")
        );
        assert_eq!(
            at("2030-1-1T00:00:00").as_deref(),
            Some("2030-01-01 00:00:00.000000")
        );
        assert_eq!(
            at("2030-01-01T000000").as_deref(),
            Some("2030-01-01 00:00:00.000000")
        );
        assert_eq!(
            at("2030-01-01T00:00:00.1234567").as_deref(),
            Some("2030-01-01 00:00:00.123456")
        );
        assert_eq!(
            at("2099-12-31T23:59:59.123456").as_deref(),
            Some("2099-12-31 23:59:59.123456")
        );
        for bad in [
            "2030",
            "2030-01",
            "2099-12-31",
            "2030-01-01T00:00:00+02:00",
            "2030-01-01T00:00:00-0200",
            "2030-01-01T00:00:60",
            "2099-12-31T24:00:00",
            "garbage",
            "",
            "0000-01-01T00:00:00",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
        let e = parse_expiration(
            "1999-01-01T00:00:00",
            NaiveDate::from_ymd_opt(2000, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or_default(),
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("The 'expires_at' must not be before now.")
        );
    }
}
