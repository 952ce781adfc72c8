//! The mapping rule engine, as Keystone's `RuleProcessor` (schema version 1.0, the one
//! `tls_client_auth` uses) evaluates it, for what a local `user` needs: remote requirements
//! with `any_one_of`, `not_any_of`, `blacklist` and `whitelist` (optionally as regular
//! expressions), and `{0}`-style substitution of the matched values into the local side.
//!
//! Not evaluated here: groups, projects and domains of the local side are carried through
//! untouched (no group resolution, no ephemeral users) — nothing in keystone-rs consumes
//! them yet.

use crate::python::py_repr;
use serde_json::{Map, Value};

/// Why a mapping did not produce identity values. Keystone raises a 400-class error for
/// most of these and crashes (500) on malformed format strings or regular expressions;
/// callers turn every one into their own refusal.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingError(pub String);

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(why: impl Into<String>) -> Result<T, MappingError> {
    Err(MappingError(why.into()))
}

/// What a mapping made of an assertion: the first local `user` any matching rule produced
/// (Keystone ignores later ones), with `type` defaulted to `ephemeral`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub user: Map<String, Value>,
}

impl Mapped {
    /// A string attribute of the user (`name`, `id`, `email`), when present and non-empty
    /// (Keystone compares only truthy values).
    pub fn user_attr(&self, key: &str) -> Option<&str> {
        self.user
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `user.domain.id` / `user.domain.name`, when present and non-empty.
    pub fn user_domain_attr(&self, key: &str) -> Option<&str> {
        self.user
            .get("domain")
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// One matched remote requirement: a single value substitutes as itself, several as
/// Python's list repr (Keystone's `DirectMaps`).
type DirectMap = Vec<String>;

/// Run `rules` (a checked mapping's rules list) against an assertion: attribute name →
/// value, several values separated by `;`.
pub fn process(rules: &Value, assertion: &[(String, String)]) -> Result<Mapped, MappingError> {
    let assertion: Vec<(&str, Vec<String>)> = assertion
        .iter()
        .map(|(k, v)| (k.as_str(), v.split(';').map(str::to_string).collect()))
        .collect();
    let Some(rules) = rules.as_array() else {
        return fail("the mapping has no rules list");
    };
    let mut identity_values: Vec<Value> = Vec::new();
    for rule in rules {
        let remote = rule.get("remote").and_then(Value::as_array);
        let local = rule.get("local").and_then(Value::as_array);
        let (Some(remote), Some(local)) = (remote, local) else {
            return fail("a rule lacks its local or remote list");
        };
        let Some(direct_maps) = verify_requirements(remote, &assertion)? else {
            continue;
        };
        if direct_maps.is_empty() {
            identity_values.extend(local.iter().cloned());
        } else {
            for l in local {
                identity_values.push(substitute(l, &direct_maps)?);
            }
        }
    }
    transform(&identity_values)
}

/// Keystone's `_transform`, for the user.
fn transform(identity_values: &[Value]) -> Result<Mapped, MappingError> {
    if identity_values.is_empty() {
        return fail(
            "Could not map any federated user properties to identity values. Check debug \
             logs or the mapping used for additional details.",
        );
    }
    let mut user = Map::new();
    for value in identity_values {
        if let Some(u) = value.get("user") {
            if user.is_empty() {
                match u {
                    Value::Object(m) => user = m.clone(),
                    _ => return fail("a local user is not an object"),
                }
            }
        }
        // `groups` by name need a domain (Keystone's `_normalize_groups`).
        if let Some(groups) = value.get("groups") {
            let by_json = groups.as_str().is_some_and(|g| g.contains("name"));
            if !by_json && value.get("domain").is_none() {
                return fail("Both 'groups' and 'domain' keywords must be specified.");
            }
        }
    }
    match user.get("type") {
        None | Some(Value::Null) => {
            user.insert("type".into(), "ephemeral".into());
        }
        Some(Value::String(t)) if t == "ephemeral" || t == "local" => {}
        Some(other) => return fail(format!("User type {} not supported", py_repr(other))),
    }
    Ok(Mapped { user })
}

/// Keystone's `_verify_all_requirements`: `None` when the rule does not apply, else the
/// values to substitute, in requirement order (`any_one_of`/`not_any_of` add none).
fn verify_requirements(
    requirements: &[Value],
    assertion: &[(&str, Vec<String>)],
) -> Result<Option<Vec<DirectMap>>, MappingError> {
    let mut direct_maps = Vec::new();
    for requirement in requirements {
        let Some(kind) = requirement.get("type").and_then(Value::as_str) else {
            return fail("a remote requirement has no type");
        };
        // Repeated attribute names: the dict Keystone builds keeps the last.
        let Some(values) = assertion
            .iter()
            .rev()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
        else {
            return Ok(None);
        };
        let regex = requirement
            .get("regex")
            .is_some_and(|r| r.as_bool() == Some(true));
        if let Some(wanted) = present(requirement, "any_one_of") {
            if matches(wanted, values, regex)?.is_empty() {
                return Ok(None);
            }
            continue;
        }
        if let Some(unwanted) = present(requirement, "not_any_of") {
            if !matches(unwanted, values, regex)?.is_empty() {
                return Ok(None);
            }
            continue;
        }
        let kept = if let Some(blacklist) = present(requirement, "blacklist") {
            let hits = matches(blacklist, values, regex)?;
            unique(values.iter().filter(|v| !hits.contains(v)).cloned())
        } else if let Some(whitelist) = present(requirement, "whitelist") {
            unique(matches(whitelist, values, regex)?.into_iter())
        } else {
            values.clone()
        };
        direct_maps.push(kept);
    }
    Ok(Some(direct_maps))
}

/// A requirement's filter list (`null` counts as absent, as Keystone's `is not None`).
fn present<'a>(requirement: &'a Value, key: &str) -> Option<&'a Value> {
    requirement.get(key).filter(|v| !v.is_null())
}

/// Keystone builds blacklist/whitelist results through a set: each value once.
fn unique(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The assertion values the filter list selects: equal to one of its strings, or with
/// `regex`, matched anywhere by one of its patterns (Python's `re.search`).
fn matches(filter: &Value, values: &[String], regex: bool) -> Result<Vec<String>, MappingError> {
    let Some(filter) = filter.as_array() else {
        return fail("a remote filter is not a list");
    };
    if !regex {
        return Ok(values
            .iter()
            .filter(|v| filter.iter().any(|f| f.as_str() == Some(v.as_str())))
            .cloned()
            .collect());
    }
    let mut patterns = Vec::new();
    for f in filter {
        let Some(p) = f.as_str() else {
            return fail("a regular expression is not a string");
        };
        patterns.push(
            fancy_regex::Regex::new(p)
                .map_err(|e| MappingError(format!("invalid regular expression {p:?}: {e}")))?,
        );
    }
    let mut out = Vec::new();
    for v in values {
        let mut hit = false;
        for p in &patterns {
            if p.is_match(v)
                .map_err(|e| MappingError(format!("regular expression failed: {e}")))?
            {
                hit = true;
                break;
            }
        }
        if hit {
            out.push(v.clone());
        }
    }
    Ok(out)
}

/// Keystone's `_update_local_mapping`: every string of the local side is a Python format
/// string over the direct maps.
fn substitute(local: &Value, direct_maps: &[DirectMap]) -> Result<Value, MappingError> {
    match local {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k.clone(), substitute_value(v, direct_maps)?);
            }
            Ok(Value::Object(out))
        }
        _ => fail("a local entry is not an object"),
    }
}

fn substitute_value(value: &Value, direct_maps: &[DirectMap]) -> Result<Value, MappingError> {
    match value {
        Value::Object(_) => substitute(value, direct_maps),
        Value::Array(items) => items
            .iter()
            .map(|i| substitute(i, direct_maps))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::String(s) => python_format(s, direct_maps).map(Value::String),
        _ => fail("a local value is not a string"),
    }
}

/// The text a direct map formats as: its only value, or Python's repr of the list.
fn direct_map_text(map: &DirectMap) -> String {
    match map.as_slice() {
        [one] => one.clone(),
        many => py_repr(&Value::Array(
            many.iter().map(|s| Value::from(s.as_str())).collect(),
        )),
    }
}

/// `str.format(*args)` for positional fields: `{}`, `{0}`, and `{{`/`}}` escapes.
/// Conversions, format specs and named fields are refused (Keystone would crash on named
/// fields, and its mappings never use the others).
pub fn python_format(template: &str, direct_maps: &[DirectMap]) -> Result<String, MappingError> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    let mut auto_index = 0usize;
    let (mut used_auto, mut used_manual) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '}' => return fail("Single '}' encountered in format string"),
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => return fail("Single '{' encountered in format string"),
                    }
                }
                let index = if field.is_empty() {
                    used_auto = true;
                    auto_index += 1;
                    auto_index - 1
                } else if field.bytes().all(|b| b.is_ascii_digit()) {
                    used_manual = true;
                    field
                        .parse()
                        .map_err(|_| MappingError(format!("bad field {field:?}")))?
                } else {
                    return fail(format!("unsupported replacement field {{{field}}}"));
                };
                if used_auto && used_manual {
                    return fail("cannot mix automatic and manual field numbering");
                }
                let map = direct_maps.get(index).ok_or_else(|| {
                    MappingError(format!(
                        "the rule refers to remote match {index}, which does not exist"
                    ))
                })?;
                out.push_str(&direct_map_text(map));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assertion(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn maps_the_common_name_into_the_user_name() {
        let rules = json!([{"local": [{"user": {"name": "{0}"}}],
                            "remote": [{"type": "SSL_CLIENT_SUBJECT_DN_CN"}]}]);
        let m = process(&rules, &assertion(&[("SSL_CLIENT_SUBJECT_DN_CN", "alice")])).unwrap();
        assert_eq!(m.user_attr("name"), Some("alice"));
        assert_eq!(m.user["type"], "ephemeral");
    }

    #[test]
    fn any_one_of_gates_without_adding_a_match() {
        let rules = json!([{"local": [{"user": {"name": "{0}", "domain": {"id": "{1}"}}}],
            "remote": [{"type": "CN"}, {"type": "ISSUER", "any_one_of": ["root_a"]}, {"type": "DC"}]}]);
        let ok = assertion(&[("CN", "bob"), ("ISSUER", "root_a"), ("DC", "default")]);
        let m = process(&rules, &ok).unwrap();
        assert_eq!(m.user_domain_attr("id"), Some("default"));
        let other = assertion(&[("CN", "bob"), ("ISSUER", "root_b"), ("DC", "default")]);
        assert!(
            process(&rules, &other).is_err(),
            "no rule matched: no identity values"
        );
    }

    #[test]
    fn not_any_of_and_regex() {
        let rules = json!([{"local": [{"user": {"name": "{0}"}}],
            "remote": [{"type": "CN"}, {"type": "O", "not_any_of": ["^Evil"], "regex": true}]}]);
        assert!(process(&rules, &assertion(&[("CN", "x"), ("O", "Good Corp")])).is_ok());
        assert!(process(&rules, &assertion(&[("CN", "x"), ("O", "Evil Corp")])).is_err());
    }

    #[test]
    fn whitelist_and_blacklist_filter_multi_values() {
        let rules = json!([{"local": [{"user": {"name": "{0}", "email": "{1}"}}],
            "remote": [{"type": "G", "whitelist": ["a", "c"]}, {"type": "H", "blacklist": ["x"]}]}]);
        let m = process(&rules, &assertion(&[("G", "a;b"), ("H", "x;y;z")])).unwrap();
        assert_eq!(m.user_attr("name"), Some("a"));
        assert_eq!(m.user_attr("email"), Some("['y', 'z']"));
    }

    #[test]
    fn missing_attribute_skips_the_rule_and_later_rules_apply() {
        let rules = json!([
            {"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "UID"}]},
            {"local": [{"user": {"name": "fixed {{literal}}"}}], "remote": [{"type": "CN"}]}
        ]);
        let m = process(&rules, &assertion(&[("CN", "c")])).unwrap();
        assert_eq!(m.user_attr("name"), Some("fixed {literal}"));
    }

    #[test]
    fn rules_without_direct_maps_keep_their_text() {
        let rules = json!([{"local": [{"user": {"name": "{0}"}}],
                            "remote": [{"type": "CN", "any_one_of": ["c"]}]}]);
        let m = process(&rules, &assertion(&[("CN", "c")])).unwrap();
        assert_eq!(m.user_attr("name"), Some("{0}"));
    }

    #[test]
    fn bad_references_and_formats_are_errors_not_panics() {
        for template in ["{1}", "{name}", "{", "}", "{0!r}", "{}{0}"] {
            let rules =
                json!([{"local": [{"user": {"name": template}}], "remote": [{"type": "CN"}]}]);
            assert!(
                process(&rules, &assertion(&[("CN", "c")])).is_err(),
                "{template}"
            );
        }
        let rules = json!([{"local": [{"user": {"name": "{0}"}}],
                            "remote": [{"type": "CN", "any_one_of": ["("], "regex": true}]}]);
        assert!(process(&rules, &assertion(&[("CN", "c")])).is_err());
    }

    #[test]
    fn last_duplicate_attribute_wins() {
        let rules = json!([{"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "OU"}]}]);
        let m = process(&rules, &assertion(&[("OU", "first"), ("OU", "last")])).unwrap();
        assert_eq!(m.user_attr("name"), Some("last"));
    }
}
