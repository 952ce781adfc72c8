//! The registered defaults: `policy/policy.yaml` at the repository root, compiled in. The
//! file is an ordinary oslo.policy file (operators can read and copy from it); the facts
//! oslo.policy keeps beside the check string in code — scope_types, the deprecated check
//! string, "deprecated for removal" — sit in `#@` comment lines above each rule, one YAML
//! mapping per line, and the HTTP operations in plain `# METHOD /path` comments.

use super::check::Check;
use super::file::parse_policy_document;
use super::parser::{RuleText, parse_text};
use std::fmt;
use std::sync::LazyLock;
use yaml_rust2::{Yaml, YamlLoader};

pub const DEFAULT_POLICY_YAML: &str = include_str!("../../../policy/policy.yaml");

/// A token's scope, as oslo.policy derives it from the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    System,
    Domain,
    Project,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::System => "system",
            Scope::Domain => "domain",
            Scope::Project => "project",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "system" => Some(Scope::System),
            "domain" => Some(Scope::Domain),
            "project" => Some(Scope::Project),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The previous default of a rule (same name in every Keystone rule).
#[derive(Debug, Clone, PartialEq)]
pub struct DeprecatedRule {
    pub check_str: String,
    pub check: Check,
    /// Release it was deprecated in ("Stein", "Train").
    pub since: String,
}

/// A rule Keystone registers in code.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDefault {
    pub name: String,
    pub check_str: String,
    pub check: Check,
    /// Scopes a token may have; empty = any (never refused on scope).
    pub scope_types: Vec<Scope>,
    pub deprecated: Option<DeprecatedRule>,
    /// Still registered, but Keystone refuses it as an enforcement action.
    pub deprecated_for_removal: bool,
    /// "GET /v3/users/{user_id}", for documentation and dumps.
    pub operations: Vec<String>,
}

impl RuleDefault {
    pub fn new(name: &str, check_str: &str, scope_types: &[Scope]) -> RuleDefault {
        RuleDefault {
            name: name.to_string(),
            check_str: check_str.to_string(),
            check: parse_text(check_str).check,
            scope_types: scope_types.to_vec(),
            deprecated: None,
            deprecated_for_removal: false,
            operations: Vec::new(),
        }
    }

    pub fn with_deprecated(mut self, check_str: &str, since: &str) -> RuleDefault {
        self.deprecated = Some(DeprecatedRule {
            check_str: check_str.to_string(),
            check: parse_text(check_str).check,
            since: since.to_string(),
        });
        self
    }
}

static DEFAULTS: LazyLock<Result<Vec<RuleDefault>, String>> =
    LazyLock::new(|| parse_defaults(DEFAULT_POLICY_YAML));

/// Keystone's registered rules, in file order. An error here is a defect of the compiled-in
/// file (a unit test parses it), reported rather than panicking.
pub fn registered_defaults() -> Result<&'static [RuleDefault], String> {
    DEFAULTS.as_ref().map(Vec::as_slice).map_err(Clone::clone)
}

/// Parses a defaults file in the format of `policy/policy.yaml`.
pub fn parse_defaults(text: &str) -> Result<Vec<RuleDefault>, String> {
    let rules = parse_policy_document(text).map_err(|e| format!("policy/policy.yaml: {e}"))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut defaults = Vec::with_capacity(rules.len());
    for rule in rules {
        let RuleText::Text(check_str) = rule.text else {
            return Err(format!(
                "policy/policy.yaml: rule {} must be a string",
                rule.name
            ));
        };
        let parsed = parse_text(&check_str);
        if !parsed.problems.is_empty() {
            return Err(format!(
                "policy/policy.yaml: rule {}: {:?}",
                rule.name, parsed.problems
            ));
        }
        let mut default = RuleDefault {
            name: rule.name.clone(),
            check: parsed.check,
            check_str,
            scope_types: Vec::new(),
            deprecated: None,
            deprecated_for_removal: false,
            operations: Vec::new(),
        };
        // The comment block directly above the rule's line.
        let above = lines.get(..rule.line.saturating_sub(1)).unwrap_or_default();
        let block: Vec<&str> = above
            .iter()
            .rev()
            .take_while(|l| l.starts_with('#'))
            .copied()
            .collect();
        for line in block.into_iter().rev() {
            if let Some(meta) = line.strip_prefix("#@") {
                apply_metadata(&mut default, meta)
                    .map_err(|e| format!("policy/policy.yaml: rule {}: {e}", rule.name))?;
            } else if let Some(op) = line.strip_prefix("# ") {
                let method = op.split(' ').next().unwrap_or_default();
                if matches!(method, "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE") {
                    default.operations.push(op.to_string());
                }
            }
        }
        defaults.push(default);
    }
    Ok(defaults)
}

fn apply_metadata(default: &mut RuleDefault, text: &str) -> Result<(), String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| format!("metadata '{text}': {e}"))?;
    let Some(Yaml::Hash(map)) = docs.first() else {
        return Err(format!("metadata '{text}' is not a mapping"));
    };
    for (key, value) in map {
        match (key.as_str(), value) {
            (Some("scope_types"), Yaml::Array(items)) => {
                for item in items {
                    let scope = item
                        .as_str()
                        .and_then(Scope::parse)
                        .ok_or_else(|| format!("unknown scope {item:?}"))?;
                    default.scope_types.push(scope);
                }
            }
            (Some("deprecated"), Yaml::Hash(fields)) => {
                let field = |name: &str| {
                    fields
                        .get(&Yaml::String(name.into()))
                        .and_then(Yaml::as_str)
                };
                let check_str = field("check_str").ok_or("deprecated needs check_str")?;
                let parsed = parse_text(check_str);
                if !parsed.problems.is_empty() {
                    return Err(format!("deprecated check_str: {:?}", parsed.problems));
                }
                default.deprecated = Some(DeprecatedRule {
                    check_str: check_str.to_string(),
                    check: parsed.check,
                    since: field("since").unwrap_or_default().to_string(),
                });
            }
            (Some("deprecated_for_removal"), Yaml::Boolean(b)) => {
                default.deprecated_for_removal = *b
            }
            _ => return Err(format!("unknown metadata {key:?}: {value:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_in_defaults_parse_with_metadata() {
        let defaults = registered_defaults().unwrap();
        assert_eq!(defaults.len(), 204);
        let get_user = defaults
            .iter()
            .find(|d| d.name == "identity:get_user")
            .unwrap();
        assert_eq!(
            get_user.check_str,
            "(rule:admin_required) or (role:reader and system_scope:all) or (role:reader and token.domain.id:%(target.user.domain_id)s) or user_id:%(target.user.id)s"
        );
        assert_eq!(
            get_user.scope_types,
            vec![Scope::System, Scope::Domain, Scope::Project]
        );
        let deprecated = get_user.deprecated.as_ref().unwrap();
        assert_eq!(
            (deprecated.check_str.as_str(), deprecated.since.as_str()),
            ("rule:admin_or_owner", "Stein")
        );
        assert_eq!(
            get_user.operations,
            vec!["GET /v3/users/{user_id}", "HEAD /v3/users/{user_id}"]
        );

        let admin_required = defaults
            .iter()
            .find(|d| d.name == "admin_required")
            .unwrap();
        assert!(admin_required.scope_types.is_empty() && admin_required.deprecated.is_none());
        let revocation_list = defaults
            .iter()
            .find(|d| d.name == "identity:revocation_list")
            .unwrap();
        assert!(revocation_list.deprecated_for_removal);
        let ac = defaults
            .iter()
            .find(|d| d.name == "identity:create_application_credential")
            .unwrap();
        assert_eq!(ac.scope_types, vec![Scope::Project]);
        assert!(
            defaults
                .iter()
                .filter(|d| d.name == "identity:get_region")
                .all(|d| d.check_str.is_empty())
        );
    }

    #[test]
    fn bad_metadata_is_an_error() {
        assert!(parse_defaults("#@ scope_types: [galaxy]\n\"a\": \"@\"\n").is_err());
        assert!(parse_defaults("#@ colour: blue\n\"a\": \"@\"\n").is_err());
        assert!(parse_defaults("\"a\": \"role:x or\"\n").is_err());
        let ok = parse_defaults("# GET /x\n#@ scope_types: [project]\n\n\"a\": \"@\"\n").unwrap();
        // A blank line ends the block that belongs to a rule.
        assert!(ok[0].scope_types.is_empty() && ok[0].operations.is_empty());
    }
}
