//! `policy_check` (like oslopolicy-checker) and `policy_dump` (the effective rules).

use crate::config::Config;
use crate::db::Db;
use crate::policy::{Credentials, Decision, Enforcer, Outcome, RuleOrigin};
use crate::token::formatter::TokenFormatter;
use crate::token::validate;
use serde_json::Value;

/// Whose credentials to check: a token (validated against the database and keys, as the
/// server would) or a credentials JSON object in oslo.policy's shape.
pub enum Subject {
    Token(String),
    Credentials(Value),
}

fn optional_string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Credentials from oslo.policy-style JSON (`user_id`, `project_id`, `roles`, …).
pub fn credentials_from_json(v: &Value) -> anyhow::Result<Credentials> {
    if !v.is_object() {
        anyhow::bail!("credentials must be a JSON object");
    }
    let roles = v
        .get("roles")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Credentials {
        user_id: optional_string(v, "user_id"),
        user_domain_id: optional_string(v, "user_domain_id"),
        project_id: optional_string(v, "project_id"),
        project_domain_id: optional_string(v, "project_domain_id"),
        domain_id: optional_string(v, "domain_id"),
        system_scope: optional_string(v, "system_scope"),
        roles,
        is_admin_project: v
            .get("is_admin_project")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        token: v.get("token").cloned().unwrap_or(Value::Null),
        ..Default::default()
    })
}

fn describe_origin(origin: &Option<RuleOrigin>) -> String {
    match origin {
        None => "no such rule".into(),
        Some(RuleOrigin::Default) => "default".into(),
        Some(RuleOrigin::DefaultOrDeprecated) => "default or its deprecated rule".into(),
        Some(RuleOrigin::File { path, line }) => format!("{}:{line}", path.display()),
    }
}

/// One line for a decision: `allowed`/`denied`, the rule, its text and where it came from.
pub fn describe(decision: &Decision) -> String {
    let verdict = match &decision.outcome {
        Outcome::Allowed => "allowed".to_string(),
        Outcome::Denied => "denied".to_string(),
        Outcome::ScopeRefused { scope_types } => format!(
            "denied: a {:?}-scoped token is not among the rule's scope types {scope_types:?}",
            decision.token_scope
        ),
        other => format!("denied: {other:?}"),
    };
    format!(
        "{}: {verdict} (rule \"{}\" from {})",
        decision.rule,
        decision.check_str.as_deref().unwrap_or(""),
        describe_origin(&decision.origin)
    )
}

pub fn check(
    config: &Config,
    subject: Subject,
    action: &str,
    target: &Value,
) -> anyhow::Result<Decision> {
    let enforcer = Enforcer::from_config(config)?;
    let creds = match subject {
        Subject::Credentials(v) => credentials_from_json(&v)?,
        Subject::Token(token) => {
            let formatter = TokenFormatter::from_config(config)?;
            let db = Db::open(&config.database.connection, 1)?;
            let token = db
                .read_blocking(|conn| validate::validate(conn, &formatter, config, &token, false))
                .map_err(|e| anyhow::anyhow!("token: {}", e.message))?;
            crate::context::credentials(&token)
        }
    };
    Ok(enforcer.check(action, target, &creds))
}

/// The effective rules as a policy file (YAML), defaults merged with overrides.
pub fn dump(config: &Config) -> anyhow::Result<String> {
    let enforcer = Enforcer::from_config(config)?;
    let mut out = String::new();
    for rule in enforcer.effective_rules() {
        if !rule.scope_types.is_empty() {
            let scopes: Vec<&str> = rule.scope_types.iter().map(|s| s.as_str()).collect();
            out.push_str(&format!("# scope_types: {}\n", scopes.join(", ")));
        }
        if let RuleOrigin::File { path, line } = &rule.origin {
            out.push_str(&format!("# overridden in {}:{line}\n", path.display()));
        }
        out.push_str(&format!(
            "{}: {}\n",
            yaml_string(&rule.name),
            yaml_string(&rule.check_str)
        ));
    }
    Ok(out)
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML).
fn yaml_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_json_decides_like_the_enforcer() {
        let config = Config::default();
        let admin = json!({"user_id": "u", "project_id": "p", "project_domain_id": "default", "roles": ["admin"]});
        let d = check(
            &config,
            Subject::Credentials(admin),
            "identity:list_projects",
            &json!({}),
        )
        .unwrap();
        assert!(d.allowed(), "{}", describe(&d));
        let member = json!({"user_id": "u", "project_id": "p", "roles": ["member"]});
        let d = check(
            &config,
            Subject::Credentials(member),
            "identity:list_projects",
            &json!({}),
        )
        .unwrap();
        assert!(!d.allowed());
        assert!(describe(&d).starts_with("identity:list_projects: denied"));
    }

    #[test]
    fn dump_lists_every_registered_rule_as_yaml() {
        let text = dump(&Config::default()).unwrap();
        assert!(text.contains("\"identity:validate_token\": \""));
        assert!(text.lines().filter(|l| !l.starts_with('#')).count() > 150);
    }
}
