//! User resource options: Keystone's registry of `user_option` rows. Each option has a
//! four-character id stored in the database and a name used in the API; values are stored
//! as JSON text. The ids must never change: databases written by Python Keystone use them.

use serde_json::{Map, Value, json};

/// One registered option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserOption {
    pub id: &'static str,
    pub name: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boolean,
    /// A list of lists of method names (`multi_factor_auth_rules`).
    RuleList,
}

/// Keystone's registration order, which is also the order its create responses use.
pub const USER_OPTIONS: [UserOption; 7] = [
    UserOption {
        id: "1000",
        name: "ignore_change_password_upon_first_use",
        kind: Kind::Boolean,
    },
    UserOption {
        id: "1001",
        name: "ignore_password_expiry",
        kind: Kind::Boolean,
    },
    UserOption {
        id: "1002",
        name: "ignore_lockout_failure_attempts",
        kind: Kind::Boolean,
    },
    UserOption {
        id: "1003",
        name: "lock_password",
        kind: Kind::Boolean,
    },
    UserOption {
        id: "1004",
        name: "ignore_user_inactivity",
        kind: Kind::Boolean,
    },
    UserOption {
        id: "MFAR",
        name: "multi_factor_auth_rules",
        kind: Kind::RuleList,
    },
    UserOption {
        id: "MFAE",
        name: "multi_factor_auth_enabled",
        kind: Kind::Boolean,
    },
];

pub const IGNORE_CHANGE_PASSWORD: &str = "1000";
pub const IGNORE_PASSWORD_EXPIRY: &str = "1001";
pub const IGNORE_LOCKOUT: &str = "1002";
pub const LOCK_PASSWORD: &str = "1003";
pub const IGNORE_USER_INACTIVITY: &str = "1004";

pub fn by_id(id: &str) -> Option<&'static UserOption> {
    USER_OPTIONS.iter().find(|o| o.id == id)
}

pub fn by_name(name: &str) -> Option<&'static UserOption> {
    USER_OPTIONS.iter().find(|o| o.name == name)
}

/// The JSON schema of the `options` object (every option nullable: null removes it).
pub fn json_schema() -> Value {
    let mut properties = Map::new();
    for opt in USER_OPTIONS {
        let schema = match opt.kind {
            Kind::Boolean => json!({"type": ["boolean", "null"], "enum": [true, false, null]}),
            Kind::RuleList => json!({
                "type": ["array", "null"],
                "items": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": true},
                "uniqueItems": true
            }),
        };
        properties.insert(opt.name.to_string(), schema);
    }
    json!({"type": "object", "properties": Value::Object(properties), "additionalProperties": false})
}

/// A user's stored options, in the order Keystone would list them.
pub type StoredOptions = Vec<(String, Value)>;

/// The API form: `{name: value}` for registered ids; rows of unknown ids are not shown.
pub fn to_json(stored: &[(String, Value)]) -> Value {
    let mut m = Map::new();
    for (id, value) in stored {
        if let Some(opt) = by_id(id) {
            m.insert(opt.name.to_string(), value.clone());
        }
    }
    Value::Object(m)
}

/// The requested changes `(option_id, Some(value) | None to remove)`, in registry order
/// (Keystone walks its registry, not the request).
pub fn changes(requested: &Map<String, Value>) -> Vec<(&'static str, Option<Value>)> {
    USER_OPTIONS
        .iter()
        .filter_map(|opt| {
            requested
                .get(opt.name)
                .map(|v| (opt.id, if v.is_null() { None } else { Some(v.clone()) }))
        })
        .collect()
}

/// Apply changes to the current options the way Keystone's attribute-mapped collection
/// does: replaced values keep their place, new ones go last, null removes.
pub fn apply(
    current: &[(String, Value)],
    changes: &[(&'static str, Option<Value>)],
) -> StoredOptions {
    let mut out: StoredOptions = current.to_vec();
    for (id, value) in changes {
        let pos = out.iter().position(|(k, _)| k == id);
        match (pos, value) {
            (Some(i), None) => {
                out.remove(i);
            }
            (Some(i), Some(v)) => {
                if let Some(slot) = out.get_mut(i) {
                    slot.1 = v.clone();
                }
            }
            (None, Some(v)) => out.push((id.to_string(), v.clone())),
            (None, None) => {}
        }
    }
    out
}

/// Whether a boolean option is set to true.
pub fn is_true(stored: &[(String, Value)], id: &str) -> bool {
    stored
        .iter()
        .any(|(k, v)| k == id && v == &Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_follow_the_registry_and_apply_keeps_positions() {
        let requested = json!({"multi_factor_auth_enabled": false, "ignore_password_expiry": null});
        let ch = changes(requested.as_object().unwrap());
        assert_eq!(ch, vec![("1001", None), ("MFAE", Some(json!(false)))]);
        let current = vec![
            ("1001".to_string(), json!(true)),
            ("MFAR".to_string(), json!([["password"]])),
        ];
        let after = apply(&current, &ch);
        assert_eq!(
            to_json(&after),
            json!({"multi_factor_auth_rules": [["password"]], "multi_factor_auth_enabled": false})
        );
        assert!(!is_true(&after, IGNORE_PASSWORD_EXPIRY));
    }

    #[test]
    fn unknown_ids_are_hidden() {
        assert_eq!(to_json(&[("ZZZZ".into(), json!(1))]), json!({}));
    }
}
