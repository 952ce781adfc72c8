//! Claims → the assertion attributes mod_auth_openidc gives Keystone, so that a mapping
//! written for an Apache deployment reads the same names here.
//!
//! mod_auth_openidc sets each claim twice (`OIDCPassClaimsAs both`, its default): as an
//! environment variable named `<prefix><claim>`, and as a request header of the same name,
//! which WSGI presents as `HTTP_<PREFIX_CLAIM>` (upper case, `-` → `_`). mod_wsgi 4.3+ drops
//! headers whose names hold anything but letters, digits and `-` (so `OIDC-email` arrives
//! as `HTTP_OIDC_EMAIL` but `OIDC-preferred_username` only as the variable). Keystone reads
//! both from the WSGI environ, e.g. `remote_id_attribute = HTTP_OIDC_ISS`. Values: strings
//! as they are, booleans `1`/`0`, integers in decimal, other numbers as C's `%lf` (six
//! decimals), objects as compact JSON, arrays as their string and boolean elements joined
//! by the delimiter (other elements dropped); `null` sets nothing.

use super::settings::OidcSettings;
use serde_json::{Map, Value};

/// A claim's value as mod_auth_openidc renders it; `None` when it sets nothing.
pub fn render_value(value: &Value, delimiter: &str) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => i.to_string(),
            None => match n.as_u64() {
                Some(u) => u.to_string(),
                None => format!("{:.6}", n.as_f64().unwrap_or(0.0)),
            },
        }),
        Value::Object(_) => Some(value.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|item| match item {
                    Value::String(s) => Some(s.clone()),
                    Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(delimiter),
        ),
        Value::Null => None,
    }
}

/// A claim name made fit for a header name: controls and RFC 2616 separators become `-`.
fn normalize_name(claim: &str) -> String {
    const SEPARATORS: &str = "()<>@,;:\\\"/[]?={} \t";
    claim
        .chars()
        .map(|c| {
            if (c as u32) < 32 || c as u32 == 127 || SEPARATORS.contains(c) {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// The WSGI name of the header `name`, or `None` when mod_wsgi would drop it.
pub fn wsgi_header_name(name: &str) -> Option<String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return None;
    }
    Some(format!(
        "HTTP_{}",
        name.to_ascii_uppercase().replace('-', "_")
    ))
}

/// The assertion for a validated token's claims: `REMOTE_USER` first (from
/// `remote_user_claim`), then every claim as its variable, then the header forms, each in
/// the order the claims came.
pub fn assertion(
    claims: &Map<String, Value>,
    settings: &OidcSettings,
) -> Result<Vec<(String, String)>, String> {
    let remote_user = claims
        .get(&settings.remote_user_claim)
        .and_then(|v| render_value(v, &settings.claim_delimiter))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("token has no {} claim", settings.remote_user_claim))?;
    let rendered: Vec<(String, String)> = claims
        .iter()
        .filter_map(|(claim, value)| {
            let value = render_value(value, &settings.claim_delimiter)?;
            Some((
                format!("{}{}", settings.claim_prefix, normalize_name(claim)),
                value,
            ))
        })
        .collect();
    let headers: Vec<(String, String)> = rendered
        .iter()
        .filter_map(|(name, value)| Some((wsgi_header_name(name)?, value.clone())))
        .collect();
    let mut out = Vec::with_capacity(1 + rendered.len() + headers.len());
    out.push(("REMOTE_USER".to_string(), remote_user));
    out.extend(rendered);
    out.extend(headers);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(prefix: &str, delimiter: &str) -> OidcSettings {
        OidcSettings::from_section("openid_connect:idp:openid", |o| match o {
            "issuer" => Some("https://idp.example".into()),
            "audiences" => Some("keystone".into()),
            "claim_prefix" => Some(prefix.into()),
            "claim_delimiter" => Some(delimiter.into()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn values_render_as_mod_auth_openidc_renders_them() {
        assert_eq!(render_value(&json!("a b"), ","), Some("a b".into()));
        assert_eq!(render_value(&json!(true), ","), Some("1".into()));
        assert_eq!(render_value(&json!(false), ","), Some("0".into()));
        assert_eq!(render_value(&json!(-42), ","), Some("-42".into()));
        assert_eq!(render_value(&json!(1.5), ","), Some("1.500000".into()));
        assert_eq!(
            render_value(&json!({"b": 1, "a": [1, "x"]}), ","),
            Some(r#"{"b":1,"a":[1,"x"]}"#.into())
        );
        assert_eq!(
            render_value(&json!(["admins", true, 3, null, {"x": 1}, "devs"]), ";"),
            Some("admins;1;devs".into())
        );
        assert_eq!(render_value(&json!([]), ","), Some(String::new()));
        assert_eq!(render_value(&json!(null), ","), None);
    }

    #[test]
    fn names_are_the_variable_and_the_wsgi_header() {
        let claims = json!({"sub": "u1", "iss": "https://idp.example", "preferred_username": "ann",
            "groups": ["a", "b"], "weird name:x": "v", "gone": null});
        let got = assertion(claims.as_object().unwrap(), &settings("OIDC-", ";")).unwrap();
        let want: Vec<(String, String)> = [
            ("REMOTE_USER", "u1"),
            ("OIDC-sub", "u1"),
            ("OIDC-iss", "https://idp.example"),
            ("OIDC-preferred_username", "ann"),
            ("OIDC-groups", "a;b"),
            ("OIDC-weird-name-x", "v"),
            ("HTTP_OIDC_SUB", "u1"),
            ("HTTP_OIDC_ISS", "https://idp.example"),
            ("HTTP_OIDC_GROUPS", "a;b"),
            ("HTTP_OIDC_WEIRD_NAME_X", "v"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn mod_auth_openidcs_own_default_prefix_has_no_header_form() {
        let claims = json!({"sub": "u1"});
        let got = assertion(claims.as_object().unwrap(), &settings("OIDC_CLAIM_", ",")).unwrap();
        assert_eq!(
            got,
            vec![
                ("REMOTE_USER".to_string(), "u1".to_string()),
                ("OIDC_CLAIM_sub".to_string(), "u1".to_string())
            ]
        );
    }

    #[test]
    fn no_remote_user_claim_is_a_refusal() {
        let claims = json!({"iss": "x"});
        assert!(assertion(claims.as_object().unwrap(), &settings("OIDC-", ",")).is_err());
        let claims = json!({"sub": ""});
        assert!(assertion(claims.as_object().unwrap(), &settings("OIDC-", ",")).is_err());
    }
}
