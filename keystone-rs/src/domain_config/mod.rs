//! Domain-specific configuration (Keystone's `domain_config_api`): per-domain `[identity]`
//! and `[ldap]` options stored in the database. Whitelisted options are shown by the API;
//! sensitive ones (`[ldap] password`) are stored in their own table and never shown.

pub mod store;

use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use actix_web::http::StatusCode;
use serde_json::{Map, Value};
use store::OptionRow;

/// How an option's default is read from keystone.conf (oslo.config's opt types).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    Float,
    List,
}

/// The options a domain may set, with Keystone's types and defaults, in Keystone's order
/// (`DomainConfigManager.whitelisted_options`).
const WHITELISTED: &[(&str, &[(&str, Kind, &str)])] = &[
    (
        "identity",
        &[
            ("driver", Kind::Str, "\"sql\""),
            ("list_limit", Kind::Int, "null"),
        ],
    ),
    (
        "ldap",
        &[
            ("url", Kind::Str, "\"ldap://localhost\""),
            ("user", Kind::Str, "null"),
            ("suffix", Kind::Str, "\"cn=example,cn=com\""),
            ("query_scope", Kind::Str, "\"one\""),
            ("page_size", Kind::Int, "0"),
            ("alias_dereferencing", Kind::Str, "\"default\""),
            ("debug_level", Kind::Int, "null"),
            ("chase_referrals", Kind::Bool, "null"),
            ("user_tree_dn", Kind::Str, "null"),
            ("user_filter", Kind::Str, "null"),
            ("user_objectclass", Kind::Str, "\"inetOrgPerson\""),
            ("user_id_attribute", Kind::Str, "\"cn\""),
            ("user_name_attribute", Kind::Str, "\"sn\""),
            ("user_mail_attribute", Kind::Str, "\"mail\""),
            ("user_description_attribute", Kind::Str, "\"description\""),
            ("user_pass_attribute", Kind::Str, "\"userPassword\""),
            ("user_enabled_attribute", Kind::Str, "\"enabled\""),
            ("user_enabled_invert", Kind::Bool, "false"),
            ("user_enabled_mask", Kind::Int, "0"),
            ("user_enabled_default", Kind::Str, "\"True\""),
            (
                "user_attribute_ignore",
                Kind::List,
                "[\"default_project_id\"]",
            ),
            ("user_default_project_id_attribute", Kind::Str, "null"),
            ("user_enabled_emulation", Kind::Bool, "false"),
            ("user_enabled_emulation_dn", Kind::Str, "null"),
            (
                "user_enabled_emulation_use_group_config",
                Kind::Bool,
                "false",
            ),
            ("user_additional_attribute_mapping", Kind::List, "[]"),
            ("group_tree_dn", Kind::Str, "null"),
            ("group_filter", Kind::Str, "null"),
            ("group_objectclass", Kind::Str, "\"groupOfNames\""),
            ("group_id_attribute", Kind::Str, "\"cn\""),
            ("group_name_attribute", Kind::Str, "\"ou\""),
            ("group_members_are_ids", Kind::Bool, "false"),
            ("group_member_attribute", Kind::Str, "\"member\""),
            ("group_desc_attribute", Kind::Str, "\"description\""),
            ("group_attribute_ignore", Kind::List, "[]"),
            ("group_additional_attribute_mapping", Kind::List, "[]"),
            ("tls_cacertfile", Kind::Str, "null"),
            ("tls_cacertdir", Kind::Str, "null"),
            ("use_tls", Kind::Bool, "false"),
            ("tls_req_cert", Kind::Str, "\"demand\""),
            ("use_pool", Kind::Bool, "true"),
            ("pool_size", Kind::Int, "10"),
            ("pool_retry_max", Kind::Int, "3"),
            ("pool_retry_delay", Kind::Float, "0.1"),
            ("pool_connection_timeout", Kind::Int, "-1"),
            ("pool_connection_lifetime", Kind::Int, "600"),
            ("use_auth_pool", Kind::Bool, "true"),
            ("auth_pool_size", Kind::Int, "100"),
            ("auth_pool_connection_lifetime", Kind::Int, "60"),
        ],
    ),
];

/// Stored apart and never shown (`DomainConfigManager.sensitive_options`).
const SENSITIVE: &[(&str, &[&str])] = &[("identity", &[]), ("ldap", &["password"])];

fn whitelisted(group: &str) -> Option<&'static [(&'static str, Kind, &'static str)]> {
    WHITELISTED
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, o)| *o)
}

fn sensitive(group: &str) -> Option<&'static [&'static str]> {
    SENSITIVE.iter().find(|(g, _)| *g == group).map(|(_, o)| *o)
}

fn is_whitelisted(group: &str, option: &str) -> bool {
    whitelisted(group).is_some_and(|o| o.iter().any(|(n, _, _)| *n == option))
}

pub fn is_sensitive(group: &str, option: &str) -> bool {
    sensitive(group).is_some_and(|o| o.contains(&option))
}

/// Keystone's `InvalidDomainConfig` (403).
pub fn invalid(reason: &str) -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        format!("Invalid domain specific configuration: {reason}."),
    )
}

fn not_found(domain_id: &str, what: &str) -> Error {
    Error::not_found(format!(
        "Could not find {what} in domain configuration for domain {domain_id}."
    ))
}

fn option_in_group(group: &str, option: &str) -> String {
    format!("option {option} in group {group}")
}

/// `_assert_valid_group_and_option`.
pub fn assert_valid_group_and_option(group: Option<&str>, option: Option<&str>) -> Result<()> {
    let Some(group) = group else {
        return Ok(());
    };
    if whitelisted(group).is_none() && sensitive(group).is_none() {
        return Err(invalid(&format!(
            "Group {group} is not supported for domain specific configurations"
        )));
    }
    if let Some(option) = option
        && !is_whitelisted(group, option)
        && !is_sensitive(group, option)
    {
        return Err(invalid(&format!(
            "Option {option} in group {group} is not supported for domain specific configurations"
        )));
    }
    Ok(())
}

/// A request's `config`, checked as `_assert_valid_config` does: groups of options, each
/// group a non-empty object, every option supported.
pub fn assert_valid_config(config: &Value) -> Result<&Map<String, Value>> {
    if !crate::python::is_truthy(config) {
        return Err(invalid("No options specified"));
    }
    // Keystone fails with a 500 on a config that is not an object; refuse it as bad input.
    let Some(groups) = config.as_object() else {
        return Err(Error::validation(
            "Expecting to find config in request body as an object.",
        ));
    };
    for (group, options) in groups {
        let Some(options) = options.as_object().filter(|o| !o.is_empty()) else {
            return Err(invalid(&format!(
                "The value of group {group} specified in the config should be a dictionary of options"
            )));
        };
        for option in options.keys() {
            assert_valid_group_and_option(Some(group), Some(option))?;
        }
    }
    Ok(groups)
}

fn to_rows(config: &Map<String, Value>) -> Vec<OptionRow> {
    let mut rows = Vec::new();
    for (group, options) in config {
        if let Some(options) = options.as_object() {
            for (option, value) in options {
                rows.push(OptionRow {
                    group: group.clone(),
                    option: option.clone(),
                    value: value.clone(),
                });
            }
        }
    }
    rows
}

/// `_list_to_config`: `{group: {option: value}}`, or `{option: value}` for one option.
fn rows_to_config(rows: Vec<OptionRow>, req_option: Option<&str>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    if rows.is_empty() {
        return Ok(out);
    }
    if let Some(req) = req_option {
        if rows.len() > 1 || rows[0].option != req {
            return Err(Error::internal(
                "An unexpected error occurred when retrieving domain configs",
            ));
        }
        let row = rows.into_iter().next().expect("one row");
        out.insert(row.option, row.value);
        return Ok(out);
    }
    for row in rows {
        let group = out
            .entry(row.group)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(g) = group {
            g.insert(row.option, row.value);
        }
    }
    Ok(out)
}

/// The whole config, sensitive options included (only for the checks below, never shown).
pub fn config_with_sensitive(
    conn: &mut AnyConnection,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<Map<String, Value>> {
    let mut rows = store::list(conn, domain_id, group, option, false)?;
    rows.extend(store::list(conn, domain_id, group, option, true)?);
    rows_to_config(rows, None)
}

/// `PUT /v3/domains/{id}/config`: replaces the domain's whole config; answers the
/// whitelisted part and whether there was a config before.
pub fn create_config(
    conn: &mut AnyConnection,
    domain_id: &str,
    config: &Value,
) -> Result<(Map<String, Value>, bool)> {
    let had_config = !config_with_sensitive(conn, domain_id, None, None)?.is_empty();
    let groups = assert_valid_config(config)?;
    store::delete(conn, domain_id, None, None)?;
    for row in to_rows(groups) {
        let sensitive = is_sensitive(&row.group, &row.option);
        store::insert(conn, domain_id, &row, sensitive)?;
    }
    let shown = rows_to_config(store::list(conn, domain_id, None, None, false)?, None)?;
    Ok((shown, had_config))
}

/// `GET /v3/domains/{id}/config[/{group}[/{option}]]`: whitelisted options only.
pub fn get_config(
    conn: &mut AnyConnection,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<Map<String, Value>> {
    assert_valid_group_and_option(group, option)?;
    let rows = store::list(conn, domain_id, group, option, false)?;
    if !rows.is_empty() {
        return rows_to_config(rows, option);
    }
    let what = match (group, option) {
        (Some(g), Some(o)) => option_in_group(g, o),
        (Some(g), None) => format!("group {g}"),
        _ => "any options".to_string(),
    };
    Err(not_found(domain_id, &what))
}

/// `PATCH /v3/domains/{id}/config[/{group}[/{option}]]`: merges the options given into the
/// stored config; with a group (and option) only that one, which must already exist.
pub fn update_config(
    conn: &mut AnyConnection,
    domain_id: &str,
    config: &Value,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<Map<String, Value>> {
    let wrapped;
    let update = match (group, option) {
        (Some(g), Some(_)) => {
            let mut m = Map::new();
            m.insert(g.to_string(), config.clone());
            wrapped = Value::Object(m);
            &wrapped
        }
        _ => config,
    };
    let groups = assert_valid_config(update)?;
    assert_valid_group_and_option(group, option)?;
    if let Some(group) = group {
        let options_of = |g: &str| groups.get(g).and_then(Value::as_object).map_or(0, Map::len);
        if groups.len() != 1 || (option.is_some() && options_of(group) != 1) {
            return Err(invalid(&match option {
                Some(option) => format!(
                    "Trying to update option {option} in group {group}, so that, and only that, option must be specified  in the config"
                ),
                None => format!(
                    "Trying to update group {group}, so that, and only that, group must be specified in the config"
                ),
            }));
        }
        if !groups.contains_key(group) {
            let other = groups.keys().next().cloned().unwrap_or_default();
            return Err(invalid(&format!(
                "request to update group {group}, but config provided contains group {other} instead"
            )));
        }
        if let Some(option) = option {
            let given = groups.get(group).and_then(Value::as_object);
            if !given.is_some_and(|o| o.contains_key(option)) {
                let other = given
                    .and_then(|o| o.keys().next().cloned())
                    .unwrap_or_default();
                return Err(invalid(&format!(
                    "Trying to update option {option} in group {group}, but config provided contains option {other} instead"
                )));
            }
        }
        if config_with_sensitive(conn, domain_id, Some(group), option)?.is_empty() {
            return Err(not_found(
                domain_id,
                &match option {
                    Some(option) => option_in_group(group, option),
                    None => format!("group {group}"),
                },
            ));
        }
    }
    for row in to_rows(groups) {
        store::delete(conn, domain_id, Some(&row.group), Some(&row.option))?;
        let sensitive = is_sensitive(&row.group, &row.option);
        store::insert(conn, domain_id, &row, sensitive)?;
    }
    get_config(conn, domain_id, None, None)
}

/// `DELETE /v3/domains/{id}/config[/{group}[/{option}]]`.
pub fn delete_config(
    conn: &mut AnyConnection,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<()> {
    assert_valid_group_and_option(group, option)?;
    if let Some(group) = group {
        let current = config_with_sensitive(conn, domain_id, None, None)?;
        let current_group = current
            .get(group)
            .and_then(Value::as_object)
            .filter(|g| !g.is_empty());
        let Some(current_group) = current_group else {
            return Err(not_found(domain_id, &format!("group {group}")));
        };
        if let Some(option) = option
            && !current_group
                .get(option)
                .is_some_and(crate::python::is_truthy)
        {
            return Err(not_found(domain_id, &option_in_group(group, option)));
        }
    }
    store::delete(conn, domain_id, group, option)
}

/// What deleting a domain removes: its options and its driver registrations.
pub fn delete_for_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<()> {
    store::delete(conn, domain_id, None, None)?;
    store::release_registrations(conn, domain_id)
}

/// An option's value in keystone.conf, typed as oslo.config would, else Keystone's default.
fn conf_value(config: &Config, group: &str, option: &str, kind: Kind, default: &str) -> Value {
    let fallback = || serde_json::from_str(default).unwrap_or(Value::Null);
    let Some(text) = config.get(group, option).map(str::trim) else {
        return fallback();
    };
    match kind {
        Kind::Str => Value::from(text),
        Kind::Int => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| fallback()),
        Kind::Float => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(fallback),
        Kind::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Bool(true),
            "false" | "0" | "no" | "off" => Value::Bool(false),
            _ => fallback(),
        },
        Kind::List => Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Value::from)
                .collect(),
        ),
    }
}

/// `GET /v3/domains/config[/{group}[/{option}]]/default`: what keystone.conf sets (or
/// Keystone's defaults) for the whitelisted options.
pub fn config_default(
    config: &Config,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<Map<String, Value>> {
    assert_valid_group_and_option(group, option)?;
    let mut rows = Vec::new();
    let mut push = |g: &str, (o, kind, default): &(&str, Kind, &str)| {
        rows.push(OptionRow {
            group: g.to_string(),
            option: o.to_string(),
            value: conf_value(config, g, o, *kind, default),
        });
    };
    match group {
        Some(g) => {
            let options = whitelisted(g).unwrap_or(&[]);
            match option {
                Some(o) => {
                    let Some(spec) = options.iter().find(|(n, _, _)| *n == o) else {
                        return Err(invalid(&format!(
                            "Reading the default for option {o} in group {g} is not supported"
                        )));
                    };
                    push(g, spec);
                }
                None => options.iter().for_each(|spec| push(g, spec)),
            }
        }
        None => {
            for (g, options) in WHITELISTED {
                options.iter().for_each(|spec| push(g, spec));
            }
        }
    }
    rows_to_config(rows, option)
}

/// `GET /v3/domains/{id}/config/security_compliance[/{option}]`: the two password-rule
/// options every user may read, for the default domain only.
pub fn security_compliance_config(
    config: &Config,
    domain_id: &str,
    option: Option<&str>,
) -> Result<Map<String, Value>> {
    if domain_id != config.identity.default_domain_id {
        return Err(invalid(
            "Reading security compliance information for any domain other than the default domain is not allowed or supported.",
        ));
    }
    const READABLE: &[&str] = &["password_regex", "password_regex_description"];
    if option.is_some_and(|o| !READABLE.contains(&o)) {
        return Err(invalid(
            "Reading security compliance values other than password_regex and password_regex_description is not allowed.",
        ));
    }
    let value = |o: &str| {
        let sc = &config.security_compliance;
        let v = match o {
            "password_regex" => sc.password_regex.as_ref().map(|r| r.pattern.clone()),
            _ => sc.password_regex_description.clone(),
        };
        v.map(Value::from).unwrap_or(Value::Null)
    };
    let rows = READABLE
        .iter()
        .filter(|o| option.is_none_or(|want| want == **o))
        .map(|o| OptionRow {
            group: "security_compliance".into(),
            option: o.to_string(),
            value: value(o),
        })
        .collect();
    rows_to_config(rows, option)
}

/// A `keystone.<domain name>.conf` file's sections and options as strings (the first
/// value of a repeated option).
pub fn read_file(file: &std::path::Path) -> Option<Value> {
    let text = std::fs::read_to_string(file).ok()?;
    let ini = ini::Ini::load_from_str_noescape(&text).ok()?;
    let mut groups = Map::new();
    for (section, props) in ini.iter() {
        let group = groups
            .entry(section.unwrap_or("DEFAULT").to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(options) = group {
            for (k, v) in props.iter() {
                options
                    .entry(k.to_string())
                    .or_insert_with(|| Value::from(v));
            }
        }
    }
    // Sections with no options (only `[DEFAULT]` when the file has none) are not groups.
    groups.retain(|_, v| v.as_object().is_some_and(|o| !o.is_empty()));
    Some(Value::Object(groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_like_keystone() {
        assert_eq!(
            assert_valid_config(&json!({})).unwrap_err().message,
            "Invalid domain specific configuration: No options specified."
        );
        assert_eq!(
            assert_valid_config(&json!({"ldap": {}}))
                .unwrap_err()
                .message,
            "Invalid domain specific configuration: The value of group ldap specified in the config should be a dictionary of options."
        );
        assert_eq!(
            assert_valid_config(&json!({"ldap": {"nope": 1}}))
                .unwrap_err()
                .message,
            "Invalid domain specific configuration: Option nope in group ldap is not supported for domain specific configurations."
        );
        assert_eq!(
            assert_valid_config(&json!({"token": {"x": 1}}))
                .unwrap_err()
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            assert_valid_config(&json!("abc")).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert!(assert_valid_config(&json!({"ldap": {"password": "x", "url": "y"}})).is_ok());
        assert!(is_sensitive("ldap", "password"));
        assert!(!is_sensitive("ldap", "url"));
    }

    #[test]
    fn defaults_follow_keystone_conf() {
        let config = Config::parse(
            "[ldap]\nurl = ldap://x\nuse_tls = true\npage_size = 7\n",
            None,
        )
        .expect("config");
        let d = config_default(&config, Some("ldap"), Some("url")).expect("url");
        assert_eq!(Value::Object(d), json!({"url": "ldap://x"}));
        let d = config_default(&config, Some("ldap"), None).expect("ldap");
        let d = d["ldap"].as_object().expect("group").clone();
        assert_eq!(d["use_tls"], json!(true));
        assert_eq!(d["page_size"], json!(7));
        assert_eq!(d["pool_retry_delay"], json!(0.1));
        assert_eq!(d["user_attribute_ignore"], json!(["default_project_id"]));
        assert!(d.get("password").is_none());
        let all = config_default(&config, None, None).expect("all");
        assert_eq!(
            all["identity"],
            json!({"driver": "sql", "list_limit": null})
        );
        assert_eq!(
            config_default(&config, Some("ldap"), Some("password"))
                .unwrap_err()
                .message,
            "Invalid domain specific configuration: Reading the default for option password in group ldap is not supported."
        );
    }
}
