//! The application credential create request: Keystone's JSON schema
//! (keystone/application_credential/schema.py) as data in its key order, checked by
//! [`crate::python::jsonschema`], and the `expires_at` parser (`utils.parse_expiration_date`).

use crate::assignment::RoleRef;
use crate::error::{Error, Result};
use crate::python::{iso8601, jsonschema};
use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// The access rule methods Keystone knows.
pub const METHODS: &[&str] = &["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"];

fn name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"})
}

fn id_string() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"})
}

/// `application_credential_create_request_body`.
pub static CREATE_BODY: LazyLock<Value> = LazyLock::new(|| {
    let access_rule = json!({
        "type": "object",
        "properties": {
            "id": id_string(),
            "path": {"type": "string", "minLength": 0, "maxLength": 225, "pattern": r"^/\.*"},
            "service": id_string(),
            "method": {"type": "string", "enum": METHODS}
        }
    });
    let role = json!({
        "type": "object",
        "properties": {"id": id_string(), "name": name()},
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": false
    });
    json!({
        "type": "object",
        "properties": {"application_credential": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "secret": {"type": ["string", "null"]},
                "name": name(),
                "description": {"type": ["string", "null"]},
                "expires_at": {"type": ["string", "null"]},
                "project_id": {"type": "string"},
                "access_rules": {"type": "array", "items": access_rule},
                "unrestricted": {"type": ["boolean", "null"]},
                "system": {"type": ["string", "null"]},
                "roles": {"type": "array", "items": role}
            },
            "additionalProperties": false,
            "required": ["name"]
        }},
        "required": ["application_credential"],
        "additionalProperties": false
    })
});

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
    jsonschema::validate(&CREATE_BODY, body)?;
    let obj = body
        .get("application_credential")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::bad_request("'application_credential' is a required property"))?;
    let roles = RoleRef::list(obj.get("roles"));
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
    // With the `Z` appended no other zone can match: the time is UTC.
    let at = iso8601::parse_date(&zoned)
        .map(|d| d.utc())
        .ok_or_else(timestamp_error)?;
    if at < now {
        return Err(Error::validation(
            "The 'expires_at' must not be before now.",
        ));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

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

    #[test]
    fn schema_uses_only_what_the_checker_models() {
        assert!(jsonschema::unsupported(&CREATE_BODY).is_empty());
    }
}
