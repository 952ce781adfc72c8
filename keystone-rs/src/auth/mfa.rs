//! Keystone's `UserMFARulesValidator` and the auth receipt answer (`receipt/handlers.py`).
//!
//! A user's `multi_factor_auth_rules` (user option `MFAR`) lists sets of methods; unless
//! `multi_factor_auth_enabled` (`MFAE`) is false, a token is issued only when the methods
//! that succeeded — with those of a presented token or receipt — cover one rule. Only
//! methods in `[auth] methods` count: a rule naming none of them is ignored, and when every
//! rule is ignored the user is let in (LP#2102096, so a bad configuration cannot lock
//! everyone out). Otherwise the answer is a 401 carrying a receipt of what succeeded.

use crate::identity::options::StoredOptions;
use crate::receipt::Receipt;
use serde_json::{Value, json};

const RULES: &str = "MFAR";
const ENABLED: &str = "MFAE";

/// `_parse_rule_structure`: what of the stored rules can be used — lists of strings, not
/// empty, duplicates within a rule dropped. Anything else is ignored, never an error.
pub fn rules(options: &StoredOptions) -> Vec<Vec<String>> {
    let Some(Value::Array(stored)) = option(options, RULES) else {
        return Vec::new();
    };
    stored
        .iter()
        .filter_map(|rule| {
            let items = rule.as_array().filter(|items| !items.is_empty())?;
            let mut methods: Vec<String> = Vec::new();
            for item in items {
                let name = item.as_str()?;
                if !methods.iter().any(|m| m == name) {
                    methods.push(name.to_string());
                }
            }
            Some(methods)
        })
        .collect()
}

fn option<'a>(options: &'a StoredOptions, id: &str) -> Option<&'a Value> {
    options.iter().find(|(k, _)| k == id).map(|(_, v)| v)
}

/// Python truth of `options.get('multi_factor_auth_enabled', True)`.
fn enabled(options: &StoredOptions) -> bool {
    match option(options, ENABLED) {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::Null) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// `check_auth_methods_against_rules`: may a token be issued to a user with these options
/// for these methods?
pub fn satisfied(options: &StoredOptions, loaded: &[String], methods: &[String]) -> bool {
    let rules = rules(options);
    if rules.is_empty() || !enabled(options) {
        return true;
    }
    let mut any_usable_rule = false;
    for rule in &rules {
        let usable: Vec<&String> = rule.iter().filter(|m| loaded.contains(m)).collect();
        if usable.is_empty() {
            continue;
        }
        any_usable_rule = true;
        if usable.iter().all(|m| methods.contains(m)) {
            return true;
        }
    }
    !any_usable_rule
}

/// `ReceiptModel.required_methods`: the rules (their loaded methods) that share a method
/// with what already succeeded.
pub fn required_methods(
    options: &StoredOptions,
    loaded: &[String],
    methods: &[String],
) -> Vec<Vec<String>> {
    rules(options)
        .into_iter()
        .map(|rule| {
            rule.into_iter()
                .filter(|m| loaded.contains(m))
                .collect::<Vec<_>>()
        })
        .filter(|rule| rule.iter().any(|m| methods.contains(m)))
        .collect()
}

/// The 401 body (`_render_receipt_response_from_model`), in Keystone's key order.
pub fn receipt_body(
    receipt: &Receipt,
    user_name: &str,
    domain: (&str, &str),
    required: &[Vec<String>],
) -> Value {
    json!({
        "receipt": {
            "methods": receipt.methods,
            "user": {
                "id": receipt.user_id,
                "name": user_name,
                "domain": {"id": domain.0, "name": domain.1},
            },
            "expires_at": crate::fernet::keystone_time(receipt.expires_at),
            "issued_at": crate::fernet::keystone_time(receipt.issued_at),
        },
        "required_auth_methods": required,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(rules: Value, enabled: Option<Value>) -> StoredOptions {
        let mut o = vec![(RULES.to_string(), rules)];
        if let Some(e) = enabled {
            o.push((ENABLED.to_string(), e));
        }
        o
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keystone_unit_cases() {
        // keystone/tests/unit/test_auth_plugin.py TestAuthMFA.
        let loaded = names(&["password", "application_credential", "totp"]);
        let o = opts(json!([["password", "totp"]]), Some(json!(true)));
        assert!(satisfied(&o, &loaded, &names(&["password", "totp"])));
        assert!(!satisfied(&o, &loaded, &names(&["totp"])));
        assert!(!satisfied(&o, &loaded, &names(&["password"])));
        let o = opts(json!([["password", "totp"], ["password", "fake"]]), None);
        assert!(!satisfied(&o, &loaded, &names(&["totp"])));
        assert!(satisfied(&o, &loaded, &names(&["password"])));
        // A rule of only unknown methods is ignored; all ignored lets the user in.
        let o = opts(json!([["password", "totp"], ["fake"]]), None);
        assert!(!satisfied(&o, &loaded, &names(&["password"])));
        let o = opts(json!([["fake"], ["other"]]), None);
        assert!(satisfied(&o, &loaded, &names(&["password"])));
    }

    #[test]
    fn disabled_empty_and_corrupt_rules_do_not_apply() {
        let loaded = names(&["password", "totp"]);
        let just_password = names(&["password"]);
        let o = opts(json!([["password", "totp"]]), Some(json!(false)));
        assert!(satisfied(&o, &loaded, &just_password));
        assert!(satisfied(&opts(json!([]), None), &loaded, &just_password));
        assert!(satisfied(&opts(json!("x"), None), &loaded, &just_password));
        assert!(satisfied(
            &opts(json!([[], [1], "x"]), None),
            &loaded,
            &just_password
        ));
        assert!(satisfied(&Vec::new(), &loaded, &just_password));
    }

    #[test]
    fn required_methods_share_a_method_with_what_succeeded() {
        let loaded = names(&["password", "totp", "token"]);
        let o = opts(
            json!([
                ["password", "totp"],
                ["token", "totp"],
                ["password", "fake"]
            ]),
            None,
        );
        assert_eq!(
            required_methods(&o, &loaded, &names(&["password"])),
            vec![names(&["password", "totp"]), names(&["password"])]
        );
    }
}
