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

pub fn parse_auth_request(body: &Value, enabled_methods: &[String]) -> Result<AuthRequest> {
    let auth = match body.get("auth") {
        None | Some(Value::Null) => return Err(Error::expecting("auth", "request body")),
        Some(auth) => auth,
    };
    // Keystone's schema and its own reference checks come before anything else.
    super::schema::validate_issue_token_auth(auth)?;
    let identity = auth
        .get("identity")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::expecting("identity", "auth"))?;
    let mut methods: Vec<String> = Vec::new();
    for method in identity
        .get("methods")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !methods.iter().any(|m| m == method) {
            methods.push(method.to_string());
        }
    }
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
    // An application credential fixes the scope: a scope in the request is refused before
    // it is read (`scope_not_allowed`).
    let scope = if methods
        .iter()
        .any(|m| m == crate::application_credential::METHOD)
    {
        ScopeRequest::Absent
    } else {
        parse_scope(auth.get("scope"))?
    };
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
