//! The check tree a rule parses into, and its evaluation against credentials and a target.

use crate::python::{FormatError, Kind, classify_kind, percent_format, py_str, type_name};
use serde_json::{Map, Value};
use std::fmt;

/// One node of a parsed rule. `Display` gives oslo.policy's `str(check)` text.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// `@` (and the empty rule).
    True,
    /// `!`, and every rule that does not parse (fail closed).
    False,
    Not(Box<Check>),
    And(Vec<Check>),
    Or(Vec<Check>),
    /// `rule:<name>`: evaluate another rule; an undefined one is false.
    Rule(String),
    /// `role:<match>`: the substituted match equals one of the token's role names,
    /// ignoring case.
    Role(String),
    /// `<kind>:<match>`: see [`GenericCheck`].
    Generic(GenericCheck),
    /// `http:` / `https:`: remote checks. Parsed so that the loader can name them; policy
    /// files using them are refused, and should one be evaluated anyway it denies.
    Remote {
        kind: String,
        target: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenericCheck {
    pub kind: String,
    pub matcher: String,
    pub(crate) class: Kind,
}

impl GenericCheck {
    pub fn new(kind: &str, matcher: &str) -> GenericCheck {
        GenericCheck {
            kind: kind.to_string(),
            matcher: matcher.to_string(),
            class: classify_kind(kind),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::True => f.write_str("@"),
            Check::False => f.write_str("!"),
            Check::Not(inner) => write!(f, "not {inner}"),
            Check::And(items) => write_joined(f, items, " and "),
            Check::Or(items) => write_joined(f, items, " or "),
            Check::Rule(name) => write!(f, "rule:{name}"),
            Check::Role(matcher) => write!(f, "role:{matcher}"),
            Check::Generic(g) => write!(f, "{}:{}", g.kind, g.matcher),
            Check::Remote { kind, target } => write!(f, "{kind}:{target}"),
        }
    }
}

fn write_joined(f: &mut fmt::Formatter<'_>, items: &[Check], separator: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        write!(f, "{item}")?;
    }
    f.write_str(")")
}

/// Why a check could not be decided. oslo.policy raises in these cases (the request fails);
/// we deny the request and log the reason.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// The match's `%`-formatting failed for a reason other than a missing key.
    Format { check: String, reason: String },
    /// The check's kind is not something Python can read.
    Kind { check: String, reason: String },
    /// A credential path went through a value that is not a mapping.
    NotAMapping { check: String, found: &'static str },
    /// `rule:` references nested deeper than any sane policy (or a cycle).
    TooDeep { rule: String },
    /// A remote (`http:`) check was evaluated; we never call out.
    Remote { check: String },
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Format { check, reason } => write!(f, "check '{check}': {reason}"),
            EvalError::Kind { check, reason } => write!(f, "check '{check}': {reason}"),
            EvalError::NotAMapping { check, found } => {
                write!(
                    f,
                    "check '{check}': credential path goes through a {found}, not a mapping"
                )
            }
            EvalError::TooDeep { rule } => {
                write!(f, "rule references nest too deep (cycle?) at rule:{rule}")
            }
            EvalError::Remote { check } => write!(f, "remote check '{check}' is not supported"),
        }
    }
}

/// How deep `rule:` references may nest before evaluation gives up (cycles end here too).
pub const MAX_RULE_DEPTH: usize = 32;

/// What a check is evaluated against.
pub struct Evaluation<'a> {
    /// Finds the check of a named rule.
    pub rules: &'a dyn Fn(&str) -> Option<&'a Check>,
    /// The flattened target (`target.user.id`-style keys).
    pub target: &'a Map<String, Value>,
    /// The credentials (`Credentials::to_value`).
    pub creds: &'a Map<String, Value>,
}

impl Check {
    pub fn evaluate(&self, ctx: &Evaluation<'_>) -> Result<bool, EvalError> {
        self.eval(ctx, 0)
    }

    fn eval(&self, ctx: &Evaluation<'_>, rule_depth: usize) -> Result<bool, EvalError> {
        match self {
            Check::True => Ok(true),
            Check::False => Ok(false),
            Check::Not(inner) => Ok(!inner.eval(ctx, rule_depth)?),
            Check::And(items) => {
                for item in items {
                    if !item.eval(ctx, rule_depth)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Check::Or(items) => {
                for item in items {
                    if item.eval(ctx, rule_depth)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Check::Rule(name) => match (ctx.rules)(name) {
                None => Ok(false),
                Some(_) if rule_depth >= MAX_RULE_DEPTH => {
                    Err(EvalError::TooDeep { rule: name.clone() })
                }
                Some(check) => check.eval(ctx, rule_depth + 1),
            },
            Check::Role(matcher) => {
                let Some(wanted) = substitute(self, matcher, ctx.target)? else {
                    return Ok(false);
                };
                let wanted = wanted.to_lowercase();
                match ctx.creds.get("roles") {
                    None => Ok(false),
                    Some(Value::Array(roles)) => Ok(roles.iter().any(|role| match role {
                        Value::String(name) => name.to_lowercase() == wanted,
                        _ => false,
                    })),
                    Some(other) => Err(EvalError::NotAMapping {
                        check: self.to_string(),
                        found: type_name(other),
                    }),
                }
            }
            Check::Generic(generic) => {
                let Some(wanted) = substitute(self, &generic.matcher, ctx.target)? else {
                    return Ok(false);
                };
                match &generic.class {
                    Kind::Literal(text) => Ok(*text == wanted),
                    Kind::Path(segments) => find_in_creds(self, ctx.creds, segments, &wanted),
                    Kind::Invalid(reason) => Err(EvalError::Kind {
                        check: self.to_string(),
                        reason: reason.clone(),
                    }),
                }
            }
            Check::Remote { .. } => Err(EvalError::Remote {
                check: self.to_string(),
            }),
        }
    }

    /// Every `rule:` name this check refers to.
    pub fn referenced_rules(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_rules(&mut out);
        out
    }

    fn collect_rules<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Check::Rule(name) => out.push(name),
            Check::Not(inner) => inner.collect_rules(out),
            Check::And(items) | Check::Or(items) => items.iter().for_each(|c| c.collect_rules(out)),
            _ => {}
        }
    }

    /// The first remote (`http:`/`https:`) check in the tree, if any.
    pub fn find_remote(&self) -> Option<&Check> {
        match self {
            Check::Remote { .. } => Some(self),
            Check::Not(inner) => inner.find_remote(),
            Check::And(items) | Check::Or(items) => items.iter().find_map(Check::find_remote),
            _ => None,
        }
    }
}

/// `match % target`: Some(text), or None when a referenced key is missing (check false).
fn substitute(
    check: &Check,
    matcher: &str,
    target: &Map<String, Value>,
) -> Result<Option<String>, EvalError> {
    match percent_format(matcher, target) {
        Ok(text) => Ok(Some(text)),
        Err(FormatError::MissingKey(_)) => Ok(None),
        Err(FormatError::Invalid(reason)) => Err(EvalError::Format {
            check: check.to_string(),
            reason,
        }),
    }
}

/// oslo.policy's GenericCheck path walk: each segment indexes a mapping; a list on the way
/// matches if any element matches the rest of the path; at the end `str(value) == wanted`.
fn find_in_creds(
    check: &Check,
    creds: &Map<String, Value>,
    segments: &[String],
    wanted: &str,
) -> Result<bool, EvalError> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(false);
    };
    match creds.get(first) {
        None => Ok(false),
        Some(value) => find_in_value(check, value, rest, wanted),
    }
}

fn find_in_value(
    check: &Check,
    value: &Value,
    segments: &[String],
    wanted: &str,
) -> Result<bool, EvalError> {
    if let Value::Array(items) = value {
        for item in items {
            if walk(check, item, segments, wanted)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    walk(check, value, segments, wanted)
}

fn walk(
    check: &Check,
    value: &Value,
    segments: &[String],
    wanted: &str,
) -> Result<bool, EvalError> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(py_str(value) == wanted);
    };
    match value {
        Value::Object(map) => match map.get(first) {
            None => Ok(false),
            Some(next) => find_in_value(check, next, rest, wanted),
        },
        other => Err(EvalError::NotAMapping {
            check: check.to_string(),
            found: type_name(other),
        }),
    }
}
