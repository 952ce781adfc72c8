//! The JSON-schema checks Keystone runs on catalog requests (keystone/catalog/schema.py),
//! reporting the first error jsonschema would find, in Keystone's words:
//! `Invalid input for field/attribute <last path element>. Value: <str(instance)>. <message>`,
//! or the bare message when the error is about the whole body.
//!
//! Only what these schemas use is modelled: `type`, `enum`, `minLength`, `maxLength`, the
//! endpoint URL `pattern`, `properties`, `required`, `minProperties` and a closed
//! `additionalProperties`. Keywords are checked in the order the schemas list them.

use crate::error::Error;
use crate::policy::python::{py_repr, py_str, string_repr};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    String,
    Boolean,
    Null,
    Object,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::String => "string",
            Ty::Boolean => "boolean",
            Ty::Null => "null",
            Ty::Object => "object",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Ty::String, Value::String(_))
                | (Ty::Boolean, Value::Bool(_))
                | (Ty::Null, Value::Null)
                | (Ty::Object, Value::Object(_))
        )
    }
}

/// One property's schema.
#[derive(Debug)]
pub enum Kind {
    Scalar(Scalar),
    Object(&'static ObjectSchema),
}

#[derive(Debug)]
pub struct Scalar {
    pub types: &'static [Ty],
    pub one_of: &'static [&'static str],
    pub min_len: Option<usize>,
    pub max_len: Option<usize>,
    /// `^[a-zA-Z0-9+.-]+:.+`, the endpoint URL pattern.
    pub url_pattern: bool,
}

impl Scalar {
    const fn of(types: &'static [Ty]) -> Scalar {
        Scalar {
            types,
            one_of: &[],
            min_len: None,
            max_len: None,
            url_pattern: false,
        }
    }

    const fn len(types: &'static [Ty], min_len: Option<usize>, max_len: Option<usize>) -> Scalar {
        Scalar {
            types,
            one_of: &[],
            min_len,
            max_len,
            url_pattern: false,
        }
    }
}

#[derive(Debug)]
pub struct Prop {
    pub name: &'static str,
    pub kind: Kind,
}

#[derive(Debug)]
pub struct ObjectSchema {
    pub props: &'static [Prop],
    pub required: &'static [&'static str],
    pub min_properties: usize,
    /// `additionalProperties: false`.
    pub closed: bool,
}

/// Where the first error was found and what jsonschema said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    pub path: Vec<String>,
    pub instance: Value,
    pub message: String,
}

impl SchemaError {
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

impl From<SchemaError> for Error {
    fn from(e: SchemaError) -> Error {
        e.into_error()
    }
}

/// jsonschema's message for a missing required property at the top of a body.
pub fn required_property(name: &str) -> Error {
    Error::bad_request(format!(
        "{} is a required property",
        string_repr(name, false)
    ))
}

impl ObjectSchema {
    /// The first error in `instance`, if any.
    pub fn check(&'static self, instance: &Value) -> Result<(), SchemaError> {
        check_object(self, instance, &mut Vec::new())
    }

    /// Query parameters as Keystone validates them: each key with its first value.
    pub fn check_query(&'static self, pairs: &[(String, String)]) -> Result<(), SchemaError> {
        let mut map = Map::new();
        for (k, v) in pairs {
            if !map.contains_key(k) {
                map.insert(k.clone(), Value::String(v.clone()));
            }
        }
        self.check(&Value::Object(map))
    }
}

fn fail(path: &[String], instance: &Value, message: String) -> Result<(), SchemaError> {
    Err(SchemaError {
        path: path.to_vec(),
        instance: instance.clone(),
        message,
    })
}

fn type_message(instance: &Value, types: &[Ty]) -> String {
    let names: Vec<String> = types.iter().map(|t| string_repr(t.name(), false)).collect();
    format!("{} is not of type {}", py_repr(instance), names.join(", "))
}

fn check_object(
    schema: &'static ObjectSchema,
    instance: &Value,
    path: &mut Vec<String>,
) -> Result<(), SchemaError> {
    let Value::Object(map) = instance else {
        return fail(path, instance, type_message(instance, &[Ty::Object]));
    };
    for prop in schema.props {
        let Some(value) = map.get(prop.name) else {
            continue;
        };
        path.push(prop.name.to_string());
        let result = match &prop.kind {
            Kind::Scalar(s) => check_scalar(s, value, path),
            Kind::Object(inner) => check_object(inner, value, path),
        };
        path.pop();
        result?;
    }
    for name in schema.required {
        if !map.contains_key(*name) {
            return fail(
                path,
                instance,
                format!("{} is a required property", string_repr(name, false)),
            );
        }
    }
    if map.len() < schema.min_properties {
        let why = if schema.min_properties == 1 {
            "should be non-empty"
        } else {
            "does not have enough properties"
        };
        return fail(path, instance, format!("{} {why}", py_repr(instance)));
    }
    if schema.closed {
        let mut extras: Vec<&String> = map
            .keys()
            .filter(|k| !schema.props.iter().any(|p| p.name == k.as_str()))
            .collect();
        if !extras.is_empty() {
            extras.sort();
            let verb = if extras.len() == 1 { "was" } else { "were" };
            let joined: Vec<String> = extras.iter().map(|k| string_repr(k, false)).collect();
            return fail(
                path,
                instance,
                format!(
                    "Additional properties are not allowed ({} {verb} unexpected)",
                    joined.join(", ")
                ),
            );
        }
    }
    Ok(())
}

fn check_scalar(schema: &Scalar, instance: &Value, path: &[String]) -> Result<(), SchemaError> {
    if !schema.types.is_empty() && !schema.types.iter().any(|t| t.accepts(instance)) {
        return fail(path, instance, type_message(instance, schema.types));
    }
    if !schema.one_of.is_empty() && !schema.one_of.iter().any(|e| instance.as_str() == Some(*e)) {
        let choices: Vec<String> = schema
            .one_of
            .iter()
            .map(|e| string_repr(e, false))
            .collect();
        return fail(
            path,
            instance,
            format!(
                "{} is not one of [{}]",
                py_repr(instance),
                choices.join(", ")
            ),
        );
    }
    let Value::String(text) = instance else {
        return Ok(());
    };
    // Python counts code points.
    let len = text.chars().count();
    if let Some(min) = schema.min_len
        && len < min
    {
        let why = if min == 1 {
            "should be non-empty"
        } else {
            "is too short"
        };
        return fail(path, instance, format!("{} {why}", py_repr(instance)));
    }
    if let Some(max) = schema.max_len
        && len > max
    {
        return fail(path, instance, format!("{} is too long", py_repr(instance)));
    }
    if schema.url_pattern && !matches_url_pattern(text) {
        return fail(
            path,
            instance,
            format!("{} does not match '^[a-zA-Z0-9+.-]+:.+'", py_repr(instance)),
        );
    }
    Ok(())
}

/// `re.search(r'^[a-zA-Z0-9+.-]+:.+', text)`: a scheme-like run, a colon, then at least one
/// character that is not a newline (`.` does not match one).
fn matches_url_pattern(text: &str) -> bool {
    let scheme_len = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
        .count();
    let mut rest = text.chars().skip(scheme_len);
    scheme_len > 0 && rest.next() == Some(':') && rest.next().is_some_and(|c| c != '\n')
}

// ---- the schemas ----------------------------------------------------------------------

const STRING: &[Ty] = &[Ty::String];
const STRING_OR_NULL: &[Ty] = &[Ty::String, Ty::Null];
const BOOLEAN: &[Ty] = &[Ty::Boolean];
const INTERFACES: &[&str] = &["admin", "internal", "public"];

const SERVICE_PROPS: &[Prop] = &[
    Prop {
        name: "enabled",
        kind: Kind::Scalar(Scalar::of(BOOLEAN)),
    },
    Prop {
        name: "type",
        kind: Kind::Scalar(Scalar::len(STRING, Some(1), Some(255))),
    },
    Prop {
        name: "name",
        kind: Kind::Scalar(Scalar::len(STRING, Some(1), Some(255))),
    },
];

static SERVICE_CREATE_MEMBER: ObjectSchema = ObjectSchema {
    props: SERVICE_PROPS,
    required: &["type"],
    min_properties: 0,
    closed: false,
};
static SERVICE_UPDATE_MEMBER: ObjectSchema = ObjectSchema {
    props: SERVICE_PROPS,
    required: &[],
    min_properties: 1,
    closed: false,
};

/// `POST /v3/services` (Keystone's schema does not require `service` itself).
pub static SERVICE_CREATE: ObjectSchema = ObjectSchema {
    props: &[Prop {
        name: "service",
        kind: Kind::Object(&SERVICE_CREATE_MEMBER),
    }],
    required: &[],
    min_properties: 0,
    closed: false,
};

/// `PATCH /v3/services/{service_id}`.
pub static SERVICE_UPDATE: ObjectSchema = ObjectSchema {
    props: &[Prop {
        name: "service",
        kind: Kind::Object(&SERVICE_UPDATE_MEMBER),
    }],
    required: &["service"],
    min_properties: 0,
    closed: false,
};

const INTERFACE: Scalar = Scalar {
    types: STRING,
    one_of: INTERFACES,
    min_len: None,
    max_len: None,
    url_pattern: false,
};
const URL: Scalar = Scalar {
    types: STRING,
    one_of: &[],
    min_len: Some(0),
    max_len: Some(225),
    url_pattern: true,
};

/// Keystone's `_endpoint_properties`, in its order; `with_id` puts the create-only `id` first.
macro_rules! endpoint_props {
    ($($id:expr)?) => {
        &[
            $($id,)?
            Prop { name: "enabled", kind: Kind::Scalar(Scalar::of(BOOLEAN)) },
            Prop { name: "interface", kind: Kind::Scalar(INTERFACE) },
            Prop { name: "region_id", kind: Kind::Scalar(Scalar::of(STRING_OR_NULL)) },
            Prop { name: "region", kind: Kind::Scalar(Scalar::of(STRING_OR_NULL)) },
            Prop { name: "service_id", kind: Kind::Scalar(Scalar::of(STRING)) },
            Prop { name: "url", kind: Kind::Scalar(URL) },
            Prop { name: "name", kind: Kind::Scalar(Scalar::of(STRING)) },
            Prop { name: "description", kind: Kind::Scalar(Scalar::of(STRING_OR_NULL)) },
        ]
    };
}

static ENDPOINT_CREATE_MEMBER: ObjectSchema = ObjectSchema {
    props: endpoint_props!(Prop {
        name: "id",
        kind: Kind::Scalar(Scalar::of(STRING))
    }),
    required: &["interface", "service_id", "url"],
    min_properties: 0,
    closed: false,
};
static ENDPOINT_UPDATE_MEMBER: ObjectSchema = ObjectSchema {
    props: endpoint_props!(),
    required: &[],
    min_properties: 1,
    closed: false,
};

/// `POST /v3/endpoints`.
pub static ENDPOINT_CREATE: ObjectSchema = ObjectSchema {
    props: &[Prop {
        name: "endpoint",
        kind: Kind::Object(&ENDPOINT_CREATE_MEMBER),
    }],
    required: &[],
    min_properties: 0,
    closed: true,
};

/// `PATCH /v3/endpoints/{endpoint_id}`.
pub static ENDPOINT_UPDATE: ObjectSchema = ObjectSchema {
    props: &[Prop {
        name: "endpoint",
        kind: Kind::Object(&ENDPOINT_UPDATE_MEMBER),
    }],
    required: &["endpoint"],
    min_properties: 0,
    closed: true,
};

/// `GET /v3/endpoints` query (unknown parameters are allowed).
pub static ENDPOINT_LIST_QUERY: ObjectSchema = ObjectSchema {
    props: &[
        Prop {
            name: "interface",
            kind: Kind::Scalar(INTERFACE),
        },
        Prop {
            name: "region_id",
            kind: Kind::Scalar(Scalar::of(STRING_OR_NULL)),
        },
        Prop {
            name: "service_id",
            kind: Kind::Scalar(Scalar::of(STRING)),
        },
    ],
    required: &[],
    min_properties: 0,
    closed: false,
};

const REGION_ID: Scalar = Scalar::len(STRING_OR_NULL, Some(1), Some(255));
const REGION_DESCRIPTION: Scalar = Scalar::len(STRING_OR_NULL, None, Some(255));

static REGION_CREATE_MEMBER: ObjectSchema = ObjectSchema {
    props: &[
        Prop {
            name: "description",
            kind: Kind::Scalar(REGION_DESCRIPTION),
        },
        // An empty id is allowed on create: it asks for a generated one.
        Prop {
            name: "id",
            kind: Kind::Scalar(Scalar::len(STRING_OR_NULL, Some(0), Some(255))),
        },
        Prop {
            name: "parent_region_id",
            kind: Kind::Scalar(REGION_ID),
        },
    ],
    required: &[],
    min_properties: 0,
    closed: false,
};
static REGION_UPDATE_MEMBER: ObjectSchema = ObjectSchema {
    props: &[
        Prop {
            name: "description",
            kind: Kind::Scalar(REGION_DESCRIPTION),
        },
        Prop {
            name: "id",
            kind: Kind::Scalar(REGION_ID),
        },
        Prop {
            name: "parent_region_id",
            kind: Kind::Scalar(REGION_ID),
        },
    ],
    required: &[],
    min_properties: 1,
    closed: false,
};

/// `POST /v3/regions` and `PUT /v3/regions/{region_id}` (Keystone misspells
/// `additionalProperties` here, so the top level stays open).
pub static REGION_CREATE: ObjectSchema = ObjectSchema {
    props: &[Prop {
        name: "region",
        kind: Kind::Object(&REGION_CREATE_MEMBER),
    }],
    required: &["region"],
    min_properties: 0,
    closed: false,
};

/// `PATCH /v3/regions/{region_id}`.
pub static REGION_UPDATE: ObjectSchema = ObjectSchema {
    props: &[Prop {
        name: "region",
        kind: Kind::Object(&REGION_UPDATE_MEMBER),
    }],
    required: &["region"],
    min_properties: 0,
    closed: true,
};

/// `GET /v3/regions` query: only `parent_region_id` (so `limit` is refused too).
pub static REGION_LIST_QUERY: ObjectSchema = ObjectSchema {
    props: &[Prop {
        name: "parent_region_id",
        kind: Kind::Scalar(REGION_ID),
    }],
    required: &[],
    min_properties: 0,
    closed: true,
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(schema: &'static ObjectSchema, body: Value) -> String {
        schema
            .check(&body)
            .map_err(Error::from)
            .expect_err("invalid")
            .message
    }

    #[test]
    fn messages_match_keystone() {
        assert_eq!(
            message(&SERVICE_CREATE, json!({"service": {}})),
            "Invalid input for field/attribute service. Value: {}. 'type' is a required property"
        );
        assert_eq!(
            message(&SERVICE_CREATE, json!({"service": {"type": ""}})),
            "Invalid input for field/attribute type. Value: . '' should be non-empty"
        );
        assert_eq!(
            message(
                &SERVICE_CREATE,
                json!({"service": {"type": {"a": [1, true, null, "s", 1.5]}}})
            ),
            "Invalid input for field/attribute type. Value: {'a': [1, True, None, 's', 1.5]}. \
             {'a': [1, True, None, 's', 1.5]} is not of type 'string'"
        );
        // `enabled` comes before `name` in Keystone's schema.
        assert_eq!(
            message(
                &SERVICE_CREATE,
                json!({"service": {"type": "x", "name": 5, "enabled": 3}})
            ),
            "Invalid input for field/attribute enabled. Value: 3. 3 is not of type 'boolean'"
        );
        assert_eq!(
            message(&SERVICE_UPDATE, json!({"service": {}})),
            "Invalid input for field/attribute service. Value: {}. {} should be non-empty"
        );
        assert_eq!(
            message(&SERVICE_UPDATE, json!({})),
            "'service' is a required property"
        );
        assert_eq!(
            message(
                &ENDPOINT_CREATE,
                json!({"endpoint": {"interface": "bogus", "service_id": "s", "url": "http://x"}})
            ),
            "Invalid input for field/attribute interface. Value: bogus. 'bogus' is not one of ['admin', 'internal', 'public']"
        );
        assert_eq!(
            message(
                &ENDPOINT_CREATE,
                json!({"endpoint": {"interface": "public", "service_id": "s"}})
            ),
            "Invalid input for field/attribute endpoint. Value: {'interface': 'public', 'service_id': 's'}. \
             'url' is a required property"
        );
        assert_eq!(
            message(
                &ENDPOINT_CREATE,
                json!({"endpoint": {"interface": "public", "service_id": "s", "url": "not a url"}})
            ),
            "Invalid input for field/attribute url. Value: not a url. 'not a url' does not match '^[a-zA-Z0-9+.-]+:.+'"
        );
        assert_eq!(
            message(
                &ENDPOINT_UPDATE,
                json!({"endpoint": {"url": "http://x"}, "b": 1, "a": 2})
            ),
            "Additional properties are not allowed ('a', 'b' were unexpected)"
        );
        assert_eq!(
            message(&REGION_UPDATE, json!({"region": {"parent_region_id": ""}})),
            "Invalid input for field/attribute parent_region_id. Value: . '' should be non-empty"
        );
        assert!(
            message(
                &REGION_CREATE,
                json!({"region": {"description": "x".repeat(256)}})
            )
            .ends_with("is too long")
        );
    }

    #[test]
    fn valid_bodies_pass() {
        assert!(
            SERVICE_CREATE.check(&json!({})).is_ok(),
            "Keystone does not require `service`"
        );
        assert!(
            REGION_CREATE
                .check(&json!({"region": {"id": ""}, "x": 1}))
                .is_ok()
        );
        assert!(ENDPOINT_CREATE
            .check(&json!({"endpoint": {"interface": "admin", "service_id": "s", "url": "a:b", "region": null, "x": 1}}))
            .is_ok());
    }

    #[test]
    fn query_uses_first_values() {
        let pairs = vec![
            ("interface".to_string(), "public".to_string()),
            ("interface".to_string(), "x".to_string()),
        ];
        assert!(ENDPOINT_LIST_QUERY.check_query(&pairs).is_ok());
        let pairs = vec![("limit".to_string(), "1".to_string())];
        assert_eq!(
            REGION_LIST_QUERY
                .check_query(&pairs)
                .map_err(Error::from)
                .unwrap_err()
                .message,
            "Additional properties are not allowed ('limit' was unexpected)"
        );
    }

    #[test]
    fn url_pattern() {
        for ok in ["http://x", "a:b", "mailto:x", "h+t.t-p:x\ny"] {
            assert!(matches_url_pattern(ok), "{ok}");
        }
        for bad in ["", ":x", "http:", "http:\n", "ht tp://x", "/v3"] {
            assert!(!matches_url_pattern(bad), "{bad}");
        }
    }
}
