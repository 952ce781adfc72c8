//! Endpoint URL templates. Keystone turns `$(name)s` into `%(name)s` and applies Python's
//! `%` operator with a whitelisted mapping, so every printf feature Python has (widths,
//! `%r`, `%%`, and the errors) shows through; we reuse the policy engine's `%` emulation.

use crate::python::{FormatError, percent_format};
use serde_json::{Map, Value};

/// The only names a URL may use (Keystone's `WHITELISTED_PROPERTIES`).
const WHITELIST: [&str; 5] = [
    "tenant_id",
    "project_id",
    "user_id",
    "compute_host",
    "public_endpoint",
];

/// What `$(name)s` placeholders may refer to when a catalog is rendered.
#[derive(Debug, Clone, Default)]
pub struct Substitutions {
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    /// `[DEFAULT] public_endpoint`; unset renders as Python's `None`, as Keystone's does.
    pub public_endpoint: Option<String>,
}

fn python_template(url: &str) -> String {
    url.replace("$(", "%(")
}

/// Keystone's `check_endpoint_url`: the URL must format with every whitelisted name bound
/// to an empty string. `false` means "Cannot create an endpoint with an invalid URL".
pub fn is_valid_template(url: &str) -> bool {
    let mapping: Map<String, Value> = WHITELIST
        .iter()
        .map(|k| (k.to_string(), Value::from("")))
        .collect();
    percent_format(&python_template(url), &mapping).is_ok()
}

/// Whether the URL names the user (`$(user_id)s`): only then does the catalog differ from
/// one user to another on the same project.
pub fn uses_user_id(url: &str) -> bool {
    python_template(url).contains("%(user_id)")
}

/// Whether the URL names the project (`$(project_id)s`, `$(tenant_id)s`).
pub fn uses_project_id(url: &str) -> bool {
    let template = python_template(url);
    template.contains("%(project_id)") || template.contains("%(tenant_id)")
}

/// Keystone's `format_url` for the catalog. `None` drops the endpoint: a name the token
/// cannot supply (a project id in a domain-scoped token), a malformed template, or an
/// empty result.
pub fn substitute_url(url: &str, subs: &Substitutions) -> Option<String> {
    let template = python_template(url);
    // Python would format its private mapping object for a conversion without a key
    // (`<…WhiteListedItemFilter object at 0x…>`); such a URL is useless, so we drop it.
    if has_unkeyed_conversion(&template) {
        return None;
    }
    let mut mapping = Map::new();
    if let Some(user_id) = &subs.user_id {
        mapping.insert("user_id".into(), user_id.clone().into());
    }
    if let Some(project_id) = &subs.project_id {
        mapping.insert("tenant_id".into(), project_id.clone().into());
        mapping.insert("project_id".into(), project_id.clone().into());
    }
    mapping.insert(
        "public_endpoint".into(),
        subs.public_endpoint
            .clone()
            .map_or(Value::Null, Value::from),
    );
    match percent_format(&template, &mapping) {
        Ok(formatted) if !formatted.is_empty() => Some(formatted),
        Ok(_) | Err(FormatError::MissingKey(_)) | Err(FormatError::Invalid(_)) => None,
    }
}

#[cfg(test)]
#[test]
fn user_id_use_is_seen_in_either_spelling() {
    assert!(uses_user_id("http://x/$(user_id)s"));
    assert!(uses_user_id("http://x/%(user_id)r"));
    assert!(!uses_user_id("http://x/$(project_id)s/user_id"));
    assert!(uses_project_id("http://x/$(tenant_id)s"));
    assert!(uses_project_id("http://x/%(project_id)s"));
    assert!(!uses_project_id("http://x/$(user_id)s/project_id"));
}

fn has_unkeyed_conversion(template: &str) -> bool {
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('%') | Some('(') => {}
                _ => return true,
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(id: &str) -> Substitutions {
        Substitutions {
            user_id: Some("u1".into()),
            project_id: Some(id.into()),
            public_endpoint: None,
        }
    }

    #[test]
    fn substitutes_like_python() {
        let subs = project("p1");
        assert_eq!(
            substitute_url("http://x/v2/$(project_id)s", &subs).as_deref(),
            Some("http://x/v2/p1")
        );
        assert_eq!(
            substitute_url("http://x/$(tenant_id)s/$(user_id)s", &subs).as_deref(),
            Some("http://x/p1/u1")
        );
        assert_eq!(
            substitute_url("http://x/$(project_id)r", &subs).as_deref(),
            Some("http://x/'p1'")
        );
        assert_eq!(
            substitute_url("http://x/$(project_id)4s|", &subs).as_deref(),
            Some("http://x/  p1|")
        );
        assert_eq!(
            substitute_url("http://x/100%%", &subs).as_deref(),
            Some("http://x/100%")
        );
        assert_eq!(
            substitute_url("$(public_endpoint)s/x", &subs).as_deref(),
            Some("None/x")
        );
        assert_eq!(
            substitute_url("http://x/v3", &Substitutions::default()).as_deref(),
            Some("http://x/v3")
        );
    }

    #[test]
    fn drops_what_keystone_drops() {
        let unscoped = Substitutions {
            user_id: Some("u".into()),
            ..Default::default()
        };
        assert_eq!(substitute_url("http://x/$(project_id)s", &unscoped), None);
        let subs = project("p1");
        for url in [
            "http://x/$(bogus)s",
            "http://x/$(compute_host)s",
            "http://x/$(project_id",
            "http://x/%20b",
            "%s",
            "$(project_id).0s",
        ] {
            assert_eq!(substitute_url(url, &subs), None, "{url}");
        }
    }

    #[test]
    fn templates_checked_at_create() {
        assert!(is_valid_template(
            "http://x/$(project_id)s/$(compute_host)s"
        ));
        assert!(is_valid_template("http://x/%s"));
        assert!(!is_valid_template("http://x/$(bogus)s"));
        assert!(!is_valid_template("http://x/%20b"));
        assert!(!is_valid_template("http://x/$(project_id)d"));
        assert!(!is_valid_template("http://x/$(project_id"));
    }
}
