//! Parsing `{"auth": {"identity": …, "scope": …}}` with Keystone's validation messages.

use super::scope::{ScopeRequest, parse_scope};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// De-duplicated, in request order.
    pub methods: Vec<String>,
    pub identity: Map<String, Value>,
    pub scope: ScopeRequest,
}

/// How Python's jsonschema shows a value in its messages (`repr`).
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// jsonschema-style 400: "Invalid input for field '<path>': <why>".
pub fn invalid_field(path: &str, why: &str) -> Error {
    Error::bad_request(format!("Invalid input for field '{path}': {why}"))
}

pub fn parse_auth_request(body: &Value, enabled_methods: &[String]) -> Result<AuthRequest> {
    let auth = match body.get("auth") {
        None | Some(Value::Null) => return Err(Error::expecting("auth", "request body")),
        Some(Value::Object(auth)) => auth,
        Some(other) => {
            return Err(invalid_field(
                "auth",
                &format!("{} is not of type 'object'", py_repr(other)),
            ));
        }
    };
    let identity = match auth.get("identity") {
        Some(Value::Object(identity)) => identity,
        None => return Err(invalid_field("auth", "'identity' is a required property")),
        Some(other) => {
            return Err(invalid_field(
                "identity",
                &format!("{} is not of type 'object'", py_repr(other)),
            ));
        }
    };
    let methods = match identity.get("methods") {
        Some(Value::Array(items)) => {
            let mut methods: Vec<String> = Vec::new();
            for item in items {
                let m = item.as_str().ok_or_else(|| {
                    invalid_field(
                        "identity/methods",
                        &format!("{} is not of type 'string'", py_repr(item)),
                    )
                })?;
                if !methods.iter().any(|x| x == m) {
                    methods.push(m.to_string());
                }
            }
            methods
        }
        None => {
            return Err(invalid_field(
                "identity",
                "'methods' is a required property",
            ));
        }
        Some(other) => {
            return Err(invalid_field(
                "identity/methods",
                &format!("{} is not of type 'array'", py_repr(other)),
            ));
        }
    };
    for method in &methods {
        if !identity.get(method).is_some_and(Value::is_object) {
            return Err(Error::expecting(method, "identity"));
        }
    }
    if let Some(unsupported) = methods.iter().find(|m| !enabled_methods.contains(m)) {
        return Err(unsupported_method(enabled_methods)
            .with_detail(format!("method {unsupported} not enabled")));
    }
    if methods.is_empty() {
        return Err(unsupported_method(enabled_methods));
    }
    let scope = parse_scope(auth.get("scope"))?;
    Ok(AuthRequest {
        methods,
        identity: identity.clone(),
        scope,
    })
}

pub fn unsupported_method(enabled_methods: &[String]) -> Error {
    Error::auth_plugin(
        "Attempted to authenticate with an unsupported method.",
        serde_json::json!({ "methods": enabled_methods }),
    )
}

/// `{"id"|"name": …}` references as the schema allows them.
pub fn optional_string(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid_field(
            &format!("{path}/{key}"),
            &format!("{} is not of type 'string'", py_repr(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enabled() -> Vec<String> {
        vec!["password".into(), "token".into()]
    }

    #[test]
    fn missing_auth_and_method_data() {
        let e = parse_auth_request(&json!({}), &enabled()).unwrap_err();
        assert!(
            e.message
                .starts_with("Expecting to find auth in request body.")
        );
        let e = parse_auth_request(
            &json!({"auth": {"identity": {"methods": ["password"]}}}),
            &enabled(),
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("Expecting to find password in identity.")
        );
    }

    #[test]
    fn unsupported_method_is_401_with_identity() {
        let body = json!({"auth": {"identity": {"methods": ["totp"], "totp": {}}}});
        let e = parse_auth_request(&body, &enabled()).unwrap_err();
        assert_eq!(e.status.as_u16(), 401);
        assert_eq!(e.identity, Some(json!({"methods": ["password", "token"]})));
    }

    #[test]
    fn methods_are_deduplicated() {
        let body =
            json!({"auth": {"identity": {"methods": ["password", "password"], "password": {}}}});
        assert_eq!(
            parse_auth_request(&body, &enabled()).unwrap().methods,
            vec!["password"]
        );
    }

    #[test]
    fn wrong_types_are_400() {
        for body in [
            json!({"auth": []}),
            json!({"auth": {"identity": []}}),
            json!({"auth": {"identity": {"methods": "password"}}}),
            json!({"auth": {"identity": {"methods": [1]}}}),
        ] {
            assert_eq!(
                parse_auth_request(&body, &enabled())
                    .unwrap_err()
                    .status
                    .as_u16(),
                400,
                "{body}"
            );
        }
    }
}
