//! Access rules at request time: keystonemiddleware's `validate_allowed_request` and its
//! path patterns, which Keystone also applies to its own API as service type `identity`.

use super::AccessRule;
use serde_json::Value;

/// The service type Keystone's own auth middleware is configured with.
pub const IDENTITY_SERVICE_TYPE: &str = "identity";

/// keystonemiddleware's `_path_matches` translation: `{tag}` and a lone `*` match one path
/// segment, `**` anything; every other character is copied into the regular expression
/// unescaped (so `.` matches any character). Braces that do not form a `{…}` tag are
/// dropped, as its tokenizer skips them.
pub fn pattern_regex(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::from("^");
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '{' => {
                match chars
                    .get(i + 1..)
                    .and_then(|rest| rest.iter().position(|&x| x == '}'))
                {
                    Some(close) => {
                        out.push_str("[^/]+");
                        i += close + 2;
                    }
                    None => i += 1,
                }
            }
            '}' => i += 1,
            '*' if chars.get(i + 1) == Some(&'*') => {
                out.push_str(".*");
                i += 2;
            }
            '*' => {
                out.push_str("[^/]+");
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    out.push('$');
    out
}

/// Whether a request path matches a rule's path. A pattern that is not a valid regular
/// expression matches nothing (Python's `re` raises there and the request fails).
pub fn path_matches(request_path: &str, pattern: &str) -> bool {
    match regex_lite::Regex::new(&pattern_regex(pattern)) {
        Ok(re) => re.is_match(request_path),
        Err(_) => false,
    }
}

/// The request as the middleware sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// Percent-decoded, without the query string.
    pub path: &'a str,
    /// A valid `X-Service-Token` accompanied the request.
    pub service_token_valid: bool,
}

/// `validate_allowed_request` for a token whose application credential has these rules
/// (callers skip credentials without rules), with `catalog` the token's catalog.
pub fn request_allowed(
    rules: &[AccessRule],
    catalog: &Value,
    service_type: &str,
    req: RequestFacts<'_>,
) -> bool {
    // A token may always validate itself.
    if service_type == IDENTITY_SERVICE_TYPE
        && req.method == "GET"
        && req.path.ends_with("/v3/auth/tokens")
    {
        return true;
    }
    let in_catalog = catalog.as_array().is_some_and(|services| {
        services
            .iter()
            .any(|s| s.get("type").and_then(Value::as_str) == Some(service_type))
    });
    if !in_catalog {
        return false;
    }
    // A service token marks a service-to-service chain, not a user-facing request.
    if req.service_token_valid {
        return true;
    }
    rules.iter().any(|rule| {
        rule.method.as_deref() == Some(req.method)
            && rule.service.as_deref() == Some(service_type)
            && rule
                .path
                .as_deref()
                .is_some_and(|p| path_matches(req.path, p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_translate_as_keystonemiddleware() {
        assert_eq!(pattern_regex("/v3/users/{user_id}"), "^/v3/users/[^/]+$");
        assert_eq!(pattern_regex("/v3/users/*"), "^/v3/users/[^/]+$");
        assert_eq!(pattern_regex("/v2.1/servers/**"), "^/v2.1/servers/.*$");
        assert_eq!(pattern_regex("***"), "^.*[^/]+$");
        assert_eq!(pattern_regex("/a{b"), "^/ab$");
    }

    #[test]
    fn matching_keeps_the_unescaped_quirks() {
        assert!(path_matches("/v2x1/servers", "/v2.1/servers"));
        assert!(path_matches("/v2.1/servers/", "/v2.1/servers/**"));
        assert!(path_matches("/v2.1/servers/a/b", "/v2.1/servers/**"));
        assert!(!path_matches("/v2.1/servers", "/v2.1/servers/**"));
        assert!(path_matches("/v3/users/abc", "/v3/users/*"));
        assert!(!path_matches("/v3/users/abc/projects", "/v3/users/*"));
        assert!(!path_matches("/v3/users", "/v3/users/{id}"));
        // Not a valid expression: nothing matches, nothing panics.
        assert!(!path_matches("/v3/(", "/v3/("));
    }

    fn rule(service: &str, method: &str, path: &str) -> AccessRule {
        AccessRule {
            internal_id: 1,
            id: Some("r".into()),
            service: Some(service.into()),
            path: Some(path.into()),
            method: Some(method.into()),
            user_id: Some("u".into()),
        }
    }

    #[test]
    fn request_rules() {
        let catalog = json!([{"type": "identity", "endpoints": []}]);
        let rules = [rule("identity", "GET", "/v3/users/*")];
        let req = |method, path| RequestFacts {
            method,
            path,
            service_token_valid: false,
        };
        assert!(request_allowed(
            &rules,
            &catalog,
            "identity",
            req("GET", "/v3/users/x")
        ));
        assert!(!request_allowed(
            &rules,
            &catalog,
            "identity",
            req("GET", "/v3/projects")
        ));
        assert!(!request_allowed(
            &rules,
            &catalog,
            "identity",
            req("HEAD", "/v3/users/x")
        ));
        assert!(request_allowed(
            &rules,
            &catalog,
            "identity",
            req("GET", "/v3/auth/tokens")
        ));
        assert!(!request_allowed(
            &rules,
            &json!([]),
            "identity",
            req("GET", "/v3/users/x")
        ));
        let with_service = RequestFacts {
            service_token_valid: true,
            ..req("GET", "/v3/projects")
        };
        assert!(request_allowed(&rules, &catalog, "identity", with_service));
        let compute = [rule("compute", "GET", "/v3/users/*")];
        assert!(!request_allowed(
            &compute,
            &catalog,
            "identity",
            req("GET", "/v3/users/x")
        ));
    }
}
