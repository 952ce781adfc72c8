//! Keystone's attribute-mapping JSON schemas (keystone/federation/utils.py
//! `IDP_ATTRIBUTE_MAPPING_SCHEMA_1_0` and its 2.0 and 3.0 extensions), checked as Draft 4.

use crate::error::{Error, Result};
use serde_json::{Value, json};
use std::sync::LazyLock;

fn domain() -> Value {
    json!({
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
        "additionalProperties": false
    })
}

fn projects(with_domain: bool) -> Value {
    let mut properties = json!({
        "name": {"type": "string"},
        "roles": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}},
                "additionalProperties": false
            }
        }
    });
    if with_domain {
        properties["domain"] = domain();
    }
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "roles"],
            "additionalProperties": false,
            "properties": properties
        }
    })
}

fn remote_filter(key: &str) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["type", key],
        "properties": {
            "type": {"type": "string"},
            key: {"type": "array"},
            "regex": {"type": "boolean"}
        }
    })
}

/// The schema of one version: "1.0", "2.0" (projects may name a domain) or "3.0" (adds
/// `projects_json`).
fn mapping_schema(version: &str) -> Value {
    let mut local = json!({
        "user": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "email": {"type": "string"},
                "domain": {"$ref": "#/definitions/domain"},
                "type": {"type": "string", "enum": ["ephemeral", "local"]}
            },
            "additionalProperties": false
        },
        "projects": projects(version != "1.0"),
        "group": {
            "type": "object",
            "oneOf": [
                {"$ref": "#/definitions/group_by_id"},
                {"$ref": "#/definitions/group_by_name"}
            ]
        },
        "groups": {"type": "string"},
        "group_ids": {"type": "string"},
        "domain": {"$ref": "#/definitions/domain"}
    });
    if version == "3.0" {
        local["projects_json"] = json!({"type": "string"});
    }
    json!({
        "type": "object",
        "required": ["rules"],
        "properties": {
            "rules": {
                "minItems": 1,
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["local", "remote"],
                    "additionalProperties": false,
                    "properties": {
                        "local": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": false,
                                "properties": local
                            }
                        },
                        "remote": {
                            "minItems": 1,
                            "type": "array",
                            "items": {
                                "type": "object",
                                "oneOf": [
                                    {"$ref": "#/definitions/empty"},
                                    {"$ref": "#/definitions/any_one_of"},
                                    {"$ref": "#/definitions/not_any_of"},
                                    {"$ref": "#/definitions/blacklist"},
                                    {"$ref": "#/definitions/whitelist"}
                                ]
                            }
                        }
                    }
                }
            },
            "schema_version": {"type": "string"}
        },
        "definitions": {
            "empty": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"type": "string"}},
                "additionalProperties": false
            },
            "any_one_of": remote_filter("any_one_of"),
            "not_any_of": remote_filter("not_any_of"),
            "blacklist": remote_filter("blacklist"),
            "whitelist": remote_filter("whitelist"),
            "domain": domain(),
            "group_by_id": {
                "type": "object",
                "properties": {"id": {"type": "string"}},
                "additionalProperties": false,
                "required": ["id"]
            },
            "group_by_name": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "domain": {"$ref": "#/definitions/domain"}
                },
                "additionalProperties": false,
                "required": ["name", "domain"]
            }
        }
    })
}

pub const VERSIONS: &[&str] = &["1.0", "2.0", "3.0"];

static VALIDATORS: LazyLock<Vec<(&'static str, jsonschema::Validator)>> = LazyLock::new(|| {
    VERSIONS
        .iter()
        .map(|v| {
            let validator = jsonschema::draft4::new(&mapping_schema(v))
                .expect("Keystone's mapping schemas are valid Draft 4");
            (*v, validator)
        })
        .collect()
});

/// Check a mapping object against its version's schema. Keystone's 400 lists every
/// violation, sorted, one per line (the wording is the JSON-schema library's). An unknown
/// version is a 400 here (Keystone fails with a 500: api-ref/DEVIATIONS.md).
pub fn check(version: &str, mapping: &Value) -> Result<()> {
    let validator = VALIDATORS
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, validator)| validator)
        .ok_or_else(|| {
            Error::bad_request(format!(
                "Unsupported schema_version {version}; supported: {}.",
                VERSIONS.join(", ")
            ))
        })?;
    let mut messages: Vec<String> = validator
        .iter_errors(mapping)
        .map(|e| e.to_string())
        .collect();
    if messages.is_empty() {
        return Ok(());
    }
    messages.sort();
    let mut text = messages.join("\n");
    text.push('\n');
    Err(Error::bad_request(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(rules: Value) -> Value {
        json!({"rules": rules, "schema_version": "1.0"})
    }

    #[test]
    fn accepts_the_oauth2_example() {
        let m = rules(json!([{
            "local": [{"user": {"name": "{0}", "id": "{1}", "email": "{2}",
                                "domain": {"name": "{3}", "id": "{4}"}}}],
            "remote": [{"type": "SSL_CLIENT_SUBJECT_DN_CN"},
                       {"type": "SSL_CLIENT_SUBJECT_DN_UID"},
                       {"type": "SSL_CLIENT_SUBJECT_DN_EMAILADDRESS"},
                       {"type": "SSL_CLIENT_SUBJECT_DN_O"},
                       {"type": "SSL_CLIENT_SUBJECT_DN_DC"},
                       {"type": "SSL_CLIENT_ISSUER_DN_CN", "any_one_of": ["root_a.openstack.host"]}]
        }]));
        check("1.0", &m).unwrap();
    }

    #[test]
    fn refuses_what_keystone_refuses() {
        for bad in [
            json!({"schema_version": "1.0"}),
            rules(json!([])),
            rules(json!([{"local": [{"user": {"nam": "{0}"}}], "remote": [{"type": "a"}]}])),
            rules(json!([{"local": [], "remote": []}])),
            rules(
                json!([{"local": [], "remote": [{"type": "a", "any_one_of": ["x"], "not_any_of": ["y"]}]}]),
            ),
            rules(json!([{"local": [{"user": {"type": "other"}}], "remote": [{"type": "a"}]}])),
            rules(
                json!([{"local": [], "remote": [{"type": "a", "regex": "yes", "whitelist": []}]}]),
            ),
            rules(json!([{"local": [], "remote": [{"type": "a"}], "extra": 1}])),
        ] {
            let e = check("1.0", &bad).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
        }
        assert!(check("9.9", &rules(json!([]))).is_err());
    }

    #[test]
    fn projects_domain_needs_version_2() {
        let m = |v: &str| {
            json!({"schema_version": v, "rules": [{"local": [{"projects": [
                {"name": "p", "roles": [{"name": "member"}], "domain": {"id": "default"}}]}],
                "remote": [{"type": "a"}]}]})
        };
        assert!(check("1.0", &m("1.0")).is_err());
        check("2.0", &m("2.0")).unwrap();
        check("3.0", &m("3.0")).unwrap();
    }
}
