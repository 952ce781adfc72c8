//! Web single sign-on (Keystone's `AuthFederationWebSSO*Resource`): which dashboards a
//! login may return to, and the page that carries the token back to one.

use crate::config::Config;
use crate::error::{Error, Result};
use std::path::Path;

/// The callback page when `[federation] sso_callback_template` is unset and Keystone's
/// default file is absent: a form that posts `token` to the dashboard as soon as it loads,
/// as Keystone's `etc/sso_callback_template.html` does.
pub const BUILT_IN_TEMPLATE: &str = include_str!("sso_callback.html");

/// `[federation] sso_callback_template`'s default in Keystone.
pub const KEYSTONE_TEMPLATE_PATH: &str = "/etc/keystone/sso_callback_template.html";

/// Keystone's `_get_sso_origin_host`: the `origin` query parameter (already decoded once,
/// and `unquote_plus`ed once more, as Keystone does) must be one of `[federation]
/// trusted_dashboard`, each compared with its host name in lower case. Missing: 400;
/// untrusted: 401, its reason only logged (Keystone's `Unauthorized` is a security error).
pub fn trusted_origin(origin: Option<&str>, config: &Config) -> Result<String> {
    let Some(origin) = origin.filter(|o| !o.is_empty()) else {
        return Err(Error::bad_request(
            "Request must have an origin query parameter",
        ));
    };
    let host = unquote_plus(origin);
    if config
        .federation
        .trusted_dashboard
        .iter()
        .any(|t| lower_case_hostname(t) == host)
    {
        return Ok(host);
    }
    Err(Error::unauthorized_because(format!(
        "{host} is not a trusted dashboard host"
    )))
}

/// Python's `urllib.parse.unquote_plus`: `+` is a space, `%XX` a byte, the bytes UTF-8
/// (invalid sequences replaced).
fn unquote_plus(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Keystone's `lower_case_hostname`: the URL's network location in lower case.
fn lower_case_hostname(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    format!("{scheme}://{}{}", rest[..end].to_lowercase(), &rest[end..])
}

/// The callback page's text: the configured template, else Keystone's default file where
/// it exists, else [`BUILT_IN_TEMPLATE`]. Read on every login, as Keystone does.
pub fn template(config: &Config) -> Result<String> {
    let path = match &config.federation.sso_callback_template {
        Some(path) => path.as_path(),
        None if Path::new(KEYSTONE_TEMPLATE_PATH).is_file() => Path::new(KEYSTONE_TEMPLATE_PATH),
        None => return Ok(BUILT_IN_TEMPLATE.to_string()),
    };
    std::fs::read_to_string(path).map_err(|e| {
        Error::internal(format!(
            "[federation] sso_callback_template {}: {e}",
            path.display()
        ))
    })
}

/// Python's `string.Template(text).substitute(host=…, token=…)`: `$$` is `$`, `$name` and
/// `${name}` are replaced; any other placeholder is the template's fault.
pub fn render(text: &str, host: &str, token: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(text.len() + host.len() + token.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let (name, tail) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) if is_identifier(&braced[..end]) => (&braced[..end], &braced[end + 1..]),
                _ => {
                    return Err(format!(
                        "invalid placeholder at {}",
                        text.len() - rest.len() + at
                    ));
                }
            },
            None => {
                let len = identifier_len(after);
                if len == 0 {
                    return Err(format!(
                        "invalid placeholder at {}",
                        text.len() - rest.len() + at
                    ));
                }
                (&after[..len], &after[len..])
            }
        };
        match name {
            "host" => out.push_str(host),
            "token" => out.push_str(token),
            other => return Err(format!("no value for ${other}")),
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// The length of the identifier `text` starts with (`[_a-zA-Z][_a-zA-Z0-9]*`).
fn identifier_len(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return 0,
    }
    chars
        .find(|(_, c)| !(*c == '_' || c.is_ascii_alphanumeric()))
        .map_or(text.len(), |(i, _)| i)
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty() && identifier_len(text) == text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dashboards: &[&str]) -> Config {
        let text = dashboards
            .iter()
            .map(|d| format!("trusted_dashboard = {d}\n"))
            .collect::<String>();
        Config::parse(&format!("[federation]\n{text}"), None).unwrap()
    }

    #[test]
    fn origins_are_checked_as_keystone_checks_them() {
        let c = config(&["https://Dash.Example/auth/websso/", "http://other/x"]);
        assert_eq!(
            c.federation.trusted_dashboard,
            vec!["https://Dash.Example/auth/websso/", "http://other/x"]
        );
        assert_eq!(
            trusted_origin(Some("https://dash.example/auth/websso/"), &c).unwrap(),
            "https://dash.example/auth/websso/"
        );
        // Decoded once more, as Keystone's unquote_plus does.
        assert_eq!(
            trusted_origin(Some("https%3A%2F%2Fdash.example/auth/websso/"), &c).unwrap(),
            "https://dash.example/auth/websso/"
        );
        assert!(trusted_origin(Some("http://other/x"), &c).is_ok());
        let e = trusted_origin(None, &c).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(e.message, "Request must have an origin query parameter");
        assert_eq!(
            trusted_origin(Some(""), &c).unwrap_err().status.as_u16(),
            400
        );
        for bad in [
            "https://Dash.Example/auth/websso/",
            "https://dash.example/auth/websso",
            "https://evil.example/",
            "http://other/X",
        ] {
            let e = trusted_origin(Some(bad), &c).unwrap_err();
            assert_eq!(e.status.as_u16(), 401, "{bad}");
        }
        assert_eq!(
            trusted_origin(Some("http://x/"), &config(&[]))
                .unwrap_err()
                .status
                .as_u16(),
            401
        );
    }

    #[test]
    fn templates_substitute_as_python_string_template() {
        assert_eq!(
            render("a $host b ${token}c $$d", "H", "T").unwrap(),
            "a H b Tc $d"
        );
        assert_eq!(render("$host$token", "H", "T").unwrap(), "HT");
        assert!(render("$hostname", "H", "T").is_err());
        assert!(render("cost: $5", "H", "T").is_err());
        assert!(render("${host", "H", "T").is_err());
        assert!(render("end $", "H", "T").is_err());
        let page = render(BUILT_IN_TEMPLATE, "https://dash/websso/", "gAAAA-tok_en").unwrap();
        assert!(page.contains(r#"action="https://dash/websso/""#));
        assert!(page.contains(r#"name="token" id="token" value="gAAAA-tok_en""#));
        assert!(page.contains("document.forms['sso'].submit()"));
    }
}
