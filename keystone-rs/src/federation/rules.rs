//! The mapping rule engine, as Keystone's `RuleProcessor` family evaluates it
//! (keystone/federation/utils.py): remote requirements (`any_one_of`, `not_any_of`,
//! `blacklist`, `whitelist`, each optionally as regular expressions), `{0}`-style
//! substitution of the matched values into the local side, and the transformation of
//! what matched into a user, group ids, groups by name and projects — with the
//! differences of schema versions 1.0, 2.0 (a mapping-level `domain` is the default of the
//! user's and the projects') and 3.0 (`projects_json`).
//!
//! Pure: nothing here reads the database. Resolving group names, shadowing the user and
//! provisioning projects is [`super::login`]'s work.

use crate::python::{literal_list, py_repr, py_str};
use serde_json::{Map, Value, json};

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

/// The attributes an identity provider asserted, as ordered (name, value) pairs; several
/// values of one attribute are `;`-separated in one value, as Keystone receives them from
/// Apache. Any assertion source (trusted front-end headers, an OpenID Connect validator)
/// produces one of these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assertion {
    pub attributes: Vec<(String, String)>,
    /// Names compare without regard to ASCII case: HTTP header names carry no case, so an
    /// assertion read from headers matches a rule's `REMOTE_USER` with a `remote_user`
    /// header.
    pub case_insensitive_names: bool,
}

impl Assertion {
    /// An assertion whose names compare exactly (Keystone's WSGI environ).
    pub fn exact(attributes: Vec<(String, String)>) -> Self {
        Assertion {
            attributes,
            case_insensitive_names: false,
        }
    }

    /// The value of an attribute: with repeated names, the last (a dict keeps the last).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .rev()
            .find(|(k, _)| {
                if self.case_insensitive_names {
                    k.eq_ignore_ascii_case(name)
                } else {
                    k == name
                }
            })
            .map(|(_, v)| v.as_str())
    }
}

/// What a mapping made of an assertion (Keystone's `mapped_properties`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapped {
    /// The first local `user` any matching rule produced, `type` defaulted to `ephemeral`
    /// (and, from schema 2.0, `domain` to the mapping-level domain).
    pub user: Map<String, Value>,
    /// `group` by id and `group_ids`, each once, in first-seen order.
    pub group_ids: Vec<String>,
    /// Groups by name: `{"name": …, "domain": {"id"|"name": …}}`.
    pub group_names: Vec<Value>,
    /// `projects` to provision: `{"name", "roles": [{"name"}], ["domain"]}`.
    pub projects: Vec<Value>,
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

    /// `ephemeral` unless the mapping said `local`.
    pub fn is_local_user(&self) -> bool {
        self.user.get("type").and_then(Value::as_str) == Some("local")
    }

    /// Keystone's mapping-engine result dict, as `keystone-manage mapping_engine` prints it.
    pub fn to_json(&self) -> Value {
        json!({
            "user": Value::Object(self.user.clone()),
            "group_ids": self.group_ids,
            "group_names": self.group_names,
            "projects": self.projects,
        })
    }
}

/// Which of Keystone's rule processors runs a mapping, by its `schema_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `RuleProcessor`.
    V1,
    /// `RuleProcessorToHonorDomainOption`.
    V2,
    /// `RuleProcessorForProjectJsonAttribute`.
    V3,
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, MappingError> {
        match text {
            "1.0" => Ok(Version::V1),
            "2.0" => Ok(Version::V2),
            "3.0" => Ok(Version::V3),
            other => fail(format!("unknown mapping schema version {other:?}")),
        }
    }

    /// From 3.0, project role assignments follow what the identity provider asserts.
    pub fn syncs_project_assignments(self) -> bool {
        self == Version::V3
    }
}

/// Run `rules` (a checked mapping's rules list) with schema 1.0 over (name, value) pairs
/// compared exactly (OAuth2 `tls_client_auth`).
pub fn process(rules: &Value, assertion: &[(String, String)]) -> Result<Mapped, MappingError> {
    process_with(Version::V1, rules, &Assertion::exact(assertion.to_vec()))
}

/// Keystone's `RuleProcessor.process` for the given schema version.
pub fn process_with(
    version: Version,
    rules: &Value,
    assertion: &Assertion,
) -> Result<Mapped, MappingError> {
    let Some(rules) = rules.as_array() else {
        return fail("the mapping has no rules list");
    };
    let mut identity_values: Vec<Map<String, Value>> = Vec::new();
    for rule in rules {
        let remote = rule.get("remote").and_then(Value::as_array);
        let local = rule.get("local").and_then(Value::as_array);
        let (Some(remote), Some(local)) = (remote, local) else {
            return fail("a rule lacks its local or remote list");
        };
        let Some(direct_maps) = verify_requirements(remote, assertion)? else {
            continue;
        };
        for l in local {
            let Value::Object(l) = l else {
                return fail("a local entry is not an object");
            };
            // Keystone means to copy the local side as is when nothing was matched, but
            // its `DirectMaps` is always truthy: every rule goes through `str.format`.
            identity_values.push(substitute(version, l, &direct_maps)?);
        }
    }
    transform(version, identity_values)
}

const NO_IDENTITY_VALUES: &str = "Could not map any federated user properties to identity \
     values. Check debug logs or the mapping used for additional details.";

/// Keystone's `_transform`.
fn transform(
    version: Version,
    identity_values: Vec<Map<String, Value>>,
) -> Result<Mapped, MappingError> {
    if identity_values.is_empty() {
        return fail(NO_IDENTITY_VALUES);
    }
    let mut mapped = Mapped::default();
    let mut user_seen = false;
    // Groups by name, per domain name-or-id, in first-seen order (Keystone's
    // `groups_by_domain`).
    let mut groups_by_domain: Vec<(Option<String>, Vec<Value>)> = Vec::new();
    for value in &identity_values {
        if let Some(u) = value.get("user") {
            // Keystone keeps the first non-empty user and logs the others.
            if !user_seen {
                match u {
                    Value::Object(m) => {
                        user_seen = !m.is_empty();
                        mapped.user = m.clone();
                    }
                    _ => return fail("a local user is not an object"),
                }
            }
        }
        if let Some(group) = value.get("group") {
            if let Some(id) = group.get("id") {
                add_unique(&mut mapped.group_ids, py_str(id));
            } else if group.get("name").is_some() {
                let domain = group.get("domain");
                let key = domain
                    .and_then(|d| d.get("name").filter(|n| is_truthy(n)))
                    .or_else(|| domain.and_then(|d| d.get("id").filter(|n| is_truthy(n))))
                    .map(py_str);
                match groups_by_domain.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, groups)) => groups.push(group.clone()),
                    None => groups_by_domain.push((key, vec![group.clone()])),
                }
                // Keystone extends with every group seen so far (its generator runs over
                // the whole table each time).
                mapped.group_names.extend(groups_by_name(&groups_by_domain));
            }
        }
        if value.contains_key("groups") {
            mapped.group_names.extend(normalize_groups(value)?);
        }
        if let Some(ids) = value.get("group_ids") {
            for id in literal_eval_list(ids) {
                add_unique(&mut mapped.group_ids, id);
            }
        }
        if value.contains_key("projects") || value.contains_key("projects_json") {
            mapped.projects = extract_projects(version, value)?;
        }
    }
    // Keystone passes the *last* identity value's `domain` as the default.
    let default_domain = identity_values
        .last()
        .and_then(|v| v.get("domain"))
        .cloned()
        .unwrap_or(Value::Null);
    normalize_user(version, &mut mapped.user, default_domain)?;
    Ok(mapped)
}

fn add_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn is_truthy(v: &Value) -> bool {
    crate::python::is_truthy(v)
}

/// Keystone's `extract_groups`: per domain, each name once (its last dict, at its first
/// place).
fn groups_by_name(groups_by_domain: &[(Option<String>, Vec<Value>)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (_, groups) in groups_by_domain {
        let mut by_name: Vec<(String, Value)> = Vec::new();
        for g in groups {
            let name = g.get("name").map(py_str).unwrap_or_default();
            match by_name.iter_mut().find(|(n, _)| *n == name) {
                Some(entry) => entry.1 = g.clone(),
                None => by_name.push((name, g.clone())),
            }
        }
        out.extend(by_name.into_iter().map(|(_, g)| g));
    }
    out
}

/// Keystone's `_ast_literal_eval`: a list literal's items, else the text itself.
fn literal_eval_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => literal_list(s).unwrap_or_else(|| vec![s.clone()]),
        Value::Array(items) => items.iter().map(py_str).collect(),
        other => vec![py_str(other)],
    }
}

fn both_groups_and_domain(identity_value: &Map<String, Value>) -> MappingError {
    MappingError(format!(
        "Invalid rule: {}. Both 'groups' and 'domain' keywords must be specified.",
        py_repr(&Value::Object(identity_value.clone()))
    ))
}

/// Keystone's `_normalize_groups`: names with the rule's `domain`, or (when the text
/// mentions `name`) a list of `JSON:{"name": …, "domain": …}` entries.
fn normalize_groups(identity_value: &Map<String, Value>) -> Result<Vec<Value>, MappingError> {
    let groups = identity_value.get("groups").cloned().unwrap_or(Value::Null);
    let mentions_name = match &groups {
        Value::String(s) => s.contains("name"),
        Value::Array(items) => items.iter().any(|i| i.as_str() == Some("name")),
        Value::Object(m) => m.contains_key("name"),
        _ => false,
    };
    if mentions_name {
        let mut out = Vec::new();
        for g in literal_eval_list(&groups) {
            let group = match g.strip_prefix("JSON:") {
                // Keystone's `lstrip('JSON:')` strips those characters, not the prefix.
                Some(_) => {
                    let text = g.trim_start_matches(['J', 'S', 'O', 'N', ':']);
                    serde_json::from_str::<Value>(text)
                        .map_err(|e| MappingError(format!("a JSON group is not valid JSON: {e}")))?
                }
                None => Value::String(g),
            };
            match &group {
                Value::Object(m) if m.contains_key("domain") && m.contains_key("name") => {}
                Value::Object(m) if m.contains_key("domain") => {
                    return fail("a JSON group has no name");
                }
                // Keystone would carry a string that mentions `domain` on and crash on it.
                Value::String(s) if s.contains("domain") => {
                    return fail(format!("group {} is not a JSON object", py_repr(&group)));
                }
                _ => return Err(both_groups_and_domain(identity_value)),
            }
            out.push(group);
        }
        return Ok(out);
    }
    let Some(domain) = identity_value.get("domain") else {
        return Err(both_groups_and_domain(identity_value));
    };
    Ok(literal_eval_list(&groups)
        .into_iter()
        .map(|name| json!({"name": name, "domain": domain}))
        .collect())
}

/// `extract_projects` of each processor.
fn extract_projects(
    version: Version,
    identity_value: &Map<String, Value>,
) -> Result<Vec<Value>, MappingError> {
    let mut projects = match identity_value.get("projects") {
        None => Vec::new(),
        Some(Value::Array(p)) => p.clone(),
        Some(_) => return fail("projects is not a list"),
    };
    if version == Version::V1 {
        return Ok(projects);
    }
    if version == Version::V3 {
        match identity_value.get("projects_json") {
            None => {}
            Some(Value::Array(p)) => projects.extend(p.iter().cloned()),
            Some(_) => return fail("projects_json did not refer to a remote match"),
        }
    }
    let default = identity_value.get("domain").cloned().unwrap_or(Value::Null);
    for project in &mut projects {
        if let Value::Object(p) = project
            && !p.get("domain").is_some_and(is_truthy)
        {
            p.insert("domain".into(), default.clone());
        }
    }
    Ok(projects)
}

/// `normalize_user` of each processor.
fn normalize_user(
    version: Version,
    user: &mut Map<String, Value>,
    default_domain: Value,
) -> Result<(), MappingError> {
    match user.get("type") {
        None | Some(Value::Null) => {
            user.insert("type".into(), "ephemeral".into());
        }
        Some(Value::String(t)) if t == "ephemeral" || t == "local" => {}
        Some(other) => return fail(format!("User type {} not supported", py_str(other))),
    }
    if version != Version::V1 && !user.get("domain").is_some_and(is_truthy) {
        user.insert("domain".into(), default_domain);
    }
    Ok(())
}

/// Keystone's `_verify_all_requirements`: `None` when the rule does not apply, else the
/// values to substitute, in requirement order (`any_one_of`/`not_any_of` add none).
fn verify_requirements(
    requirements: &[Value],
    assertion: &Assertion,
) -> Result<Option<Vec<DirectMap>>, MappingError> {
    let mut direct_maps = Vec::new();
    for requirement in requirements {
        let Some(kind) = requirement.get("type").and_then(Value::as_str) else {
            return fail("a remote requirement has no type");
        };
        let Some(values) = assertion.get(kind) else {
            return Ok(None);
        };
        let values: Vec<String> = values.split(';').map(str::to_string).collect();
        let regex = requirement
            .get("regex")
            .is_some_and(|r| r.as_bool() == Some(true));
        if let Some(wanted) = present(requirement, "any_one_of") {
            if matches(wanted, &values, regex)?.is_empty() {
                return Ok(None);
            }
            continue;
        }
        if let Some(unwanted) = present(requirement, "not_any_of") {
            if !matches(unwanted, &values, regex)?.is_empty() {
                return Ok(None);
            }
            continue;
        }
        let kept = if let Some(blacklist) = present(requirement, "blacklist") {
            let hits = matches(blacklist, &values, regex)?;
            unique(values.iter().filter(|v| !hits.contains(v)).cloned())
        } else if let Some(whitelist) = present(requirement, "whitelist") {
            unique(matches(whitelist, &values, regex)?.into_iter())
        } else {
            values
        };
        direct_maps.push(kept);
    }
    Ok(Some(direct_maps))
}

/// One matched remote requirement: a single value substitutes as itself, several as
/// Python's list repr (Keystone's `DirectMaps`).
type DirectMap = Vec<String>;

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
/// string over the direct maps; from schema 3.0, `projects_json` (and a `projects` string)
/// name one match whose text is a JSON list of projects.
fn substitute(
    version: Version,
    local: &Map<String, Value>,
    direct_maps: &[DirectMap],
) -> Result<Map<String, Value>, MappingError> {
    let mut out = Map::new();
    for (k, v) in local {
        let projects_ref =
            version == Version::V3 && (k == "projects_json" || (k == "projects" && v.is_string()));
        let new = if projects_ref {
            projects_json(k, v, direct_maps)?
        } else {
            substitute_value(version, v, direct_maps)?
        };
        out.insert(k.clone(), new);
    }
    Ok(out)
}

fn substitute_value(
    version: Version,
    value: &Value,
    direct_maps: &[DirectMap],
) -> Result<Value, MappingError> {
    match value {
        Value::Object(m) => substitute(version, m, direct_maps).map(Value::Object),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Object(m) => substitute(version, m, direct_maps).map(Value::Object),
                _ => fail("a local list item is not an object"),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::String(s) => python_format(s, direct_maps).map(Value::String),
        _ => fail("a local value is not a string"),
    }
}

/// Schema 3.0's `projects_json`: `{N}` (or `N`) names the match holding the projects.
fn projects_json(
    key: &str,
    rule: &Value,
    direct_maps: &[DirectMap],
) -> Result<Value, MappingError> {
    let text = rule.as_str().unwrap_or_default();
    // Keystone's `re.match(r"\{?(\d+)\}?", rule)`: anchored at the start only.
    let digits: String = text
        .strip_prefix('{')
        .unwrap_or(text)
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.is_empty() {
        return fail(format!(
            "The rule [{text}] for key [{key}] does not match the expected pattern [\\{{?(\\d+)\\}}?]."
        ));
    }
    let map = digits
        .parse::<usize>()
        .ok()
        .and_then(|i| direct_maps.get(i))
        .ok_or_else(|| {
            MappingError(format!(
                "the rule refers to remote match {digits}, which does not exist"
            ))
        })?;
    let projects = match map.as_slice() {
        [one] => serde_json::from_str::<Value>(one)
            .map_err(|e| MappingError(format!("{key} is not valid JSON: {e}")))?,
        many => Value::Array(many.iter().map(|s| Value::from(s.as_str())).collect()),
    };
    if let Some(e) = crate::python::jsonschema::first_error(&projects_schema_2_0(), &projects) {
        return fail(format!("{}\n", e.message));
    }
    Ok(projects)
}

/// Keystone's `PROJECTS_SCHEMA_2_0`.
fn projects_schema_2_0() -> Value {
    let domain = json!({"type": "object", "properties": {"id": {"type": "string"},
        "name": {"type": "string"}}, "additionalProperties": false});
    json!({"type": "array", "items": {"type": "object", "required": ["name", "roles"],
        "additionalProperties": false, "properties": {"name": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}}, "additionalProperties": false}},
        "domain": domain}}})
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
    fn rules_without_direct_maps_still_format() {
        let rules = json!([{"local": [{"user": {"name": "{0}"}}],
                            "remote": [{"type": "CN", "any_one_of": ["c"]}]}]);
        assert!(process(&rules, &assertion(&[("CN", "c")])).is_err());
    }

    /// Keystone's own `RuleProcessor` on each case of
    /// tests/vectors/federation/mapping_engine.json (generate.py there).
    #[test]
    fn agrees_with_keystones_rule_processor() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/federation/mapping_engine.json"
        );
        let cases: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(cases.len() > 20);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let version = Version::parse(case["schema_version"].as_str().unwrap()).unwrap();
            let pairs: Vec<(String, String)> = case["assertion"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
                .collect();
            let got = process_with(version, &case["rules"], &Assertion::exact(pairs));
            match case.get("expected") {
                None => assert!(got.is_err(), "{name}: expected {}", case["error"]),
                Some(expected) => {
                    let mut got = got.unwrap_or_else(|e| panic!("{name}: {e}")).to_json();
                    let mut expected = expected.clone();
                    for v in [&mut got, &mut expected] {
                        // A Python set: compared as a set.
                        let mut ids: Vec<Value> = v["group_ids"].as_array().unwrap().clone();
                        ids.sort_by_key(|i| i.to_string());
                        v["group_ids"] = Value::Array(ids);
                    }
                    assert_eq!(got, expected, "{name}");
                }
            }
        }
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
