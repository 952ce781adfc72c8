//! Reading a policy file: one YAML mapping `rule_name: check_string` (JSON files are read the
//! same way, as oslo.policy 6 does). Values are resolved the way PyYAML's `safe_load` types
//! them (YAML 1.1: `yes`, `off`, `~`, `1:30`…), because what oslo.policy does with a rule
//! depends on that type: strings are the rule language, lists the legacy syntax, a falsy
//! value (null, false, 0, {}) is "always true", anything else makes the file fail to load.
//! Every rule keeps its line and column for messages.

use super::parser::{ListItem, RuleText};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One rule as written in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRule {
    pub name: String,
    pub text: RuleText,
    /// 1-based position of the rule's name.
    pub line: usize,
    pub column: usize,
    /// Set when the value was not a string or list but a falsy scalar that oslo.policy reads
    /// as "always true" (null, false, 0, {}): worth a warning.
    pub falsy_value: Option<String>,
}

/// Why a file could not be read as policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub rule: Option<String>,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(rule) = &self.rule {
            write!(f, "rule \"{rule}\"")?;
            if self.position.is_some() {
                f.write_str(" ")?;
            } else {
                f.write_str(": ")?;
            }
        }
        if let Some((line, column)) = self.position {
            write!(f, "at line {line}, column {column}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Documents nested deeper than this are refused (policy files need three levels).
const MAX_DEPTH: usize = 16;
/// Nodes after alias expansion, to refuse "billion laughs" documents.
const MAX_NODES: usize = 1_000_000;

#[derive(Debug, Clone)]
enum Node {
    Scalar {
        value: String,
        style: TScalarStyle,
        tag: Option<Tag>,
        mark: Marker,
    },
    Sequence {
        items: Vec<Node>,
        mark: Marker,
    },
    Mapping {
        entries: Vec<(Node, Node)>,
        mark: Marker,
    },
}

impl Node {
    fn mark(&self) -> Marker {
        match self {
            Node::Scalar { mark, .. }
            | Node::Sequence { mark, .. }
            | Node::Mapping { mark, .. } => *mark,
        }
    }

    fn size(&self) -> usize {
        match self {
            Node::Scalar { .. } => 1,
            Node::Sequence { items, .. } => 1 + items.iter().map(Node::size).sum::<usize>(),
            Node::Mapping { entries, .. } => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
        }
    }
}

fn position(mark: Marker) -> Option<(usize, usize)> {
    Some((mark.line(), mark.col() + 1))
}

fn error_at(mark: Marker, message: impl Into<String>) -> ParseError {
    ParseError {
        rule: None,
        position: position(mark),
        message: message.into(),
    }
}

/// Builds the node tree from parser events, iteratively.
fn load_document(text: &str) -> Result<Option<Node>, ParseError> {
    enum Open {
        Sequence(Vec<Node>, Marker, usize),
        Mapping(Vec<(Node, Node)>, Option<Node>, Marker, usize),
    }
    let mut parser = Parser::new_from_str(text);
    let mut open: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut documents = 0usize;
    let mut root: Option<Node> = None;
    let mut total_nodes = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| ParseError {
            rule: None,
            position: position(*e.marker()),
            message: e.info().to_string(),
        })?;
        let finished: Option<(Node, usize)> = match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(error_at(mark, "expected a single document in the stream"));
                }
                None
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => None,
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| error_at(mark, "unknown alias"))?;
                Some((node, 0))
            }
            Event::Scalar(value, style, anchor, tag) => Some((
                Node::Scalar {
                    value,
                    style,
                    tag,
                    mark,
                },
                anchor,
            )),
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "seq", mark)?;
                if open.len() >= MAX_DEPTH {
                    return Err(error_at(mark, "the document nests too deeply"));
                }
                open.push(Open::Sequence(Vec::new(), mark, anchor));
                None
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "map", mark)?;
                if open.len() >= MAX_DEPTH {
                    return Err(error_at(mark, "the document nests too deeply"));
                }
                open.push(Open::Mapping(Vec::new(), None, mark, anchor));
                None
            }
            Event::SequenceEnd => match open.pop() {
                Some(Open::Sequence(items, mark, anchor)) => {
                    Some((Node::Sequence { items, mark }, anchor))
                }
                _ => return Err(error_at(mark, "unbalanced sequence")),
            },
            Event::MappingEnd => match open.pop() {
                Some(Open::Mapping(entries, None, mark, anchor)) => {
                    Some((Node::Mapping { entries, mark }, anchor))
                }
                _ => return Err(error_at(mark, "unbalanced mapping")),
            },
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        total_nodes = total_nodes.saturating_add(node.size());
        if total_nodes > MAX_NODES {
            return Err(error_at(
                mark,
                "the document is too large (aliases expand too far)",
            ));
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match open.last_mut() {
            None => root = Some(node),
            Some(Open::Sequence(items, ..)) => items.push(node),
            Some(Open::Mapping(entries, pending_key, ..)) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(root)
}

const CORE_TAG: &str = "tag:yaml.org,2002:";

/// The non-specific tag `!` (yaml-rust2 reports it as an empty handle with suffix `!`).
fn is_non_specific(tag: &Tag) -> bool {
    tag.handle.is_empty() && tag.suffix == "!"
}

fn check_collection_tag(tag: Option<&Tag>, expected: &str, mark: Marker) -> Result<(), ParseError> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == CORE_TAG && t.suffix == expected => Ok(()),
        Some(t) if is_non_specific(t) => Ok(()),
        Some(t) => Err(error_at(
            mark,
            format!("unsupported tag {}{}", t.handle, t.suffix),
        )),
    }
}

/// A scalar typed as PyYAML's safe_load would.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Str(String),
    Null,
    Bool(bool),
    /// Integer or float; `zero` tells whether Python would find it falsy.
    Number {
        text: String,
        zero: bool,
    },
    Timestamp(String),
    /// `=`, PyYAML's "value" type, which safe_load cannot construct.
    ValueKey,
}

fn resolve_scalar(
    value: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    mark: Marker,
) -> Result<Scalar, ParseError> {
    if let Some(tag) = tag {
        return match (tag.handle.as_str(), tag.suffix.as_str()) {
            // A bare `!` is a YAML tag, not oslo's deny rule: PyYAML reads `a: !` as null,
            // which oslo.policy then treats as "always true". Refuse it rather than allow all.
            ("", "!") if value.is_empty() && style == TScalarStyle::Plain => Err(error_at(
                mark,
                "an unquoted ! is a YAML tag with no value, which oslo.policy would read as \"always allow\"; write \"!\" (quoted) to deny",
            )),
            (CORE_TAG, "str") | ("", "!") => Ok(Scalar::Str(value.to_string())),
            (CORE_TAG, "null") => Ok(Scalar::Null),
            (CORE_TAG, "bool" | "int" | "float") => {
                let resolved = resolve_plain(value);
                if matches!(resolved, Scalar::Str(_)) {
                    Err(error_at(
                        mark,
                        format!("'{value}' is not a valid !!{}", tag.suffix),
                    ))
                } else {
                    Ok(resolved)
                }
            }
            (handle, suffix) => Err(error_at(mark, format!("unsupported tag {handle}{suffix}"))),
        };
    }
    match style {
        TScalarStyle::Plain => Ok(resolve_plain(value)),
        _ => Ok(Scalar::Str(value.to_string())),
    }
}

/// PyYAML's implicit resolvers (YAML 1.1) for plain scalars.
fn resolve_plain(value: &str) -> Scalar {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Scalar::Bool(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Scalar::Bool(false);
        }
        "=" => return Scalar::ValueKey,
        _ => {}
    }
    if let Some(zero) = yaml11_int(value).or_else(|| yaml11_float(value)) {
        return Scalar::Number {
            text: value.to_string(),
            zero,
        };
    }
    if yaml11_timestamp(value) {
        return Scalar::Timestamp(value.to_string());
    }
    Scalar::Str(value.to_string())
}

fn all_chars(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(allowed)
}

fn is_zero_text(s: &str) -> bool {
    s.chars().all(|c| matches!(c, '0' | '_' | '.' | ':'))
}

/// Some(is zero) when `value` is a YAML 1.1 int.
fn yaml11_int(value: &str) -> Option<bool> {
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    if let Some(bits) = unsigned.strip_prefix("0b") {
        return all_chars(bits, |c| matches!(c, '0' | '1' | '_')).then(|| is_zero_text(bits));
    }
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return all_chars(hex, |c| c.is_ascii_hexdigit() || c == '_').then(|| is_zero_text(hex));
    }
    if unsigned == "0" {
        return Some(true);
    }
    if let Some(octal) = unsigned.strip_prefix('0') {
        return all_chars(octal, |c| matches!(c, '0'..='7' | '_')).then(|| is_zero_text(octal));
    }
    let mut parts = unsigned.split(':');
    let head = parts.next().unwrap_or_default();
    let head_ok = head.starts_with(|c: char| matches!(c, '1'..='9'))
        && all_chars(head, |c| c.is_ascii_digit() || c == '_');
    // Sexagesimal (base 60): 1:30:00.
    let tail_ok = parts.all(sexagesimal_part);
    (head_ok && tail_ok).then_some(false)
}

fn sexagesimal_part(part: &str) -> bool {
    let bytes = part.as_bytes();
    match bytes {
        [d] => d.is_ascii_digit(),
        [a, b] => matches!(a, b'0'..=b'5') && b.is_ascii_digit(),
        _ => false,
    }
}

/// Some(is zero) when `value` is a YAML 1.1 float.
fn yaml11_float(value: &str) -> Option<bool> {
    let signed = value.starts_with(['-', '+']);
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return Some(false);
    }
    if !signed && matches!(unsigned, ".nan" | ".NaN" | ".NAN") {
        return Some(false);
    }
    let (body, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    if let Some(exp) = exponent {
        let digits = exp.strip_prefix(['-', '+'])?;
        if !all_chars(digits, |c| c.is_ascii_digit()) {
            return None;
        }
    }
    let (int, frac) = body.split_once('.')?;
    if !frac.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return None;
    }
    let valid = if int.is_empty() {
        // ".5" is a float only without a sign, and needs digits after the point.
        !signed && !frac.is_empty()
    } else if int.contains(':') {
        exponent.is_none() && {
            let mut parts = int.split(':');
            let head = parts.next().unwrap_or_default();
            all_chars(head, |c| c.is_ascii_digit() || c == '_')
                && head.starts_with(|c: char| c.is_ascii_digit())
                && parts.all(sexagesimal_part)
        }
    } else {
        int.starts_with(|c: char| c.is_ascii_digit())
            && all_chars(int, |c| c.is_ascii_digit() || c == '_')
    };
    valid.then(|| is_zero_text(int) && is_zero_text(frac))
}

fn yaml11_timestamp(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    // The date part: YYYY-MM-DD (a bare date), or YYYY-M-D followed by a time.
    let Some(date_end) = b
        .iter()
        .position(|c| matches!(c, b'T' | b't' | b' ' | b'\t'))
    else {
        return b.len() == 10
            && digits(&b[0..4])
            && b[4] == b'-'
            && digits(&b[5..7])
            && b[7] == b'-'
            && digits(&b[8..10]);
    };
    let date: Vec<&[u8]> = b[..date_end].split(|c| *c == b'-').collect();
    matches!(date.as_slice(), [y, m, d] if y.len() == 4 && digits(y) && (1..=2).contains(&m.len()) && digits(m) && (1..=2).contains(&d.len()) && digits(d))
        && b[date_end..]
            .iter()
            .skip_while(|c| matches!(c, b'T' | b't' | b' ' | b'\t'))
            .filter(|c| **c == b':')
            .count()
            >= 2
}

/// Parses a whole policy file into its rules, in file order (a repeated name keeps its
/// first position and its last value, like a Python dict).
pub fn parse_policy_document(text: &str) -> Result<Vec<FileRule>, ParseError> {
    match load_document(text) {
        Ok(root) => rules_from_yaml(root),
        Err(yaml_error) => match serde_json::from_str::<Value>(text) {
            // Valid JSON that our YAML reader trips on (PyYAML would read it): take it as JSON.
            Ok(Value::Object(map)) => rules_from_json(map),
            _ => Err(yaml_error),
        },
    }
}

fn rules_from_yaml(root: Option<Node>) -> Result<Vec<FileRule>, ParseError> {
    let entries = match root {
        None => return Ok(Vec::new()),
        Some(Node::Mapping { entries, .. }) => entries,
        Some(Node::Scalar {
            value,
            style,
            tag,
            mark,
        }) => {
            return match resolve_scalar(&value, style, tag.as_ref(), mark)? {
                Scalar::Null => Ok(Vec::new()),
                _ => Err(error_at(
                    mark,
                    "a policy file must be a mapping of rule names to rules",
                )),
            };
        }
        Some(Node::Sequence { mark, .. }) => {
            return Err(error_at(
                mark,
                "a policy file must be a mapping of rule names to rules",
            ));
        }
    };
    let mut rules: Vec<FileRule> = Vec::new();
    for (key, value) in entries {
        let key_mark = key.mark();
        let name = match key {
            Node::Scalar {
                value,
                style,
                tag,
                mark,
            } => match resolve_scalar(&value, style, tag.as_ref(), mark)? {
                Scalar::Str(name) => name,
                // A name Python would hold as int/bool/None can never be looked up by a
                // `rule:` reference or an action name, so it has no effect.
                other => {
                    tracing::warn!(
                        line = mark.line(),
                        "policy rule name {other:?} is not a string; ignored"
                    );
                    continue;
                }
            },
            _ => return Err(error_at(key_mark, "a rule name must be a string")),
        };
        let (text, falsy_value) = rule_value(value).map_err(|mut e| {
            e.rule = Some(name.clone());
            e
        })?;
        let (line, column) = position(key_mark).unwrap_or((0, 0));
        let rule = FileRule {
            name,
            text,
            line,
            column,
            falsy_value,
        };
        match rules.iter_mut().find(|r| r.name == rule.name) {
            Some(existing) => {
                existing.text = rule.text;
                existing.falsy_value = rule.falsy_value;
            }
            None => rules.push(rule),
        }
    }
    Ok(rules)
}

const ALWAYS_TRUE: RuleText = RuleText::List(Vec::new());

fn rule_value(node: Node) -> Result<(RuleText, Option<String>), ParseError> {
    match node {
        Node::Scalar {
            value,
            style,
            tag,
            mark,
        } => match resolve_scalar(&value, style, tag.as_ref(), mark)? {
            Scalar::Str(s) => Ok((RuleText::Text(s), None)),
            Scalar::Null => Ok((ALWAYS_TRUE, Some("null".into()))),
            Scalar::Bool(false) => Ok((ALWAYS_TRUE, Some(value))),
            Scalar::Number { zero: true, .. } => Ok((ALWAYS_TRUE, Some(value))),
            other => Err(error_at(
                mark,
                format!("expected a string (or a list of lists), found {other:?}"),
            )),
        },
        Node::Mapping { entries, mark } if entries.is_empty() => {
            let _ = mark;
            Ok((ALWAYS_TRUE, Some("{}".into())))
        }
        Node::Mapping { mark, .. } => Err(error_at(
            mark,
            "expected a string (or a list of lists), found a mapping",
        )),
        Node::Sequence { items, .. } => {
            let mut list = Vec::new();
            for item in items {
                match item {
                    Node::Scalar {
                        value,
                        style,
                        tag,
                        mark,
                    } => match resolve_scalar(&value, style, tag.as_ref(), mark)? {
                        Scalar::Str(s) => list.push(ListItem::Single(s)),
                        // Falsy entries are skipped by oslo.policy.
                        Scalar::Null | Scalar::Bool(false) | Scalar::Number { zero: true, .. } => {}
                        other => {
                            return Err(error_at(
                                mark,
                                format!("a list entry must be a string or a list, found {other:?}"),
                            ));
                        }
                    },
                    Node::Sequence { items, .. } => {
                        let mut all = Vec::new();
                        for inner in items {
                            match inner {
                                Node::Scalar {
                                    value,
                                    style,
                                    tag,
                                    mark,
                                } => match resolve_scalar(&value, style, tag.as_ref(), mark)? {
                                    Scalar::Str(s) => all.push(s),
                                    other => {
                                        return Err(error_at(
                                            mark,
                                            format!("a check must be a string, found {other:?}"),
                                        ));
                                    }
                                },
                                other => {
                                    return Err(error_at(other.mark(), "a check must be a string"));
                                }
                            }
                        }
                        list.push(ListItem::All(all));
                    }
                    Node::Mapping { entries, .. } if entries.is_empty() => {}
                    Node::Mapping { mark, .. } => {
                        return Err(error_at(mark, "a list entry must be a string or a list"));
                    }
                }
            }
            Ok((RuleText::List(list), None))
        }
    }
}

fn rules_from_json(map: serde_json::Map<String, Value>) -> Result<Vec<FileRule>, ParseError> {
    let mut rules = Vec::new();
    for (name, value) in map {
        let fail = |message: &str| ParseError {
            rule: Some(name.clone()),
            position: None,
            message: message.to_string(),
        };
        let (text, falsy_value) = match value {
            Value::String(s) => (RuleText::Text(s), None),
            Value::Null => (ALWAYS_TRUE, Some("null".into())),
            Value::Bool(false) => (ALWAYS_TRUE, Some("false".into())),
            Value::Number(n) if n.as_f64() == Some(0.0) => (ALWAYS_TRUE, Some(n.to_string())),
            Value::Object(o) if o.is_empty() => (ALWAYS_TRUE, Some("{}".into())),
            Value::Array(items) => {
                let mut list = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => list.push(ListItem::Single(s)),
                        Value::Null | Value::Bool(false) => {}
                        Value::Number(n) if n.as_f64() == Some(0.0) => {}
                        Value::Array(inner) => {
                            let all: Option<Vec<String>> = inner
                                .into_iter()
                                .map(|v| v.as_str().map(str::to_string))
                                .collect();
                            list.push(ListItem::All(
                                all.ok_or_else(|| fail("a check must be a string"))?,
                            ));
                        }
                        _ => return Err(fail("a list entry must be a string or a list")),
                    }
                }
                (RuleText::List(list), None)
            }
            _ => return Err(fail("expected a string (or a list of lists)")),
        };
        rules.push(FileRule {
            name,
            text,
            line: 0,
            column: 0,
            falsy_value,
        });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rule: &FileRule) -> &str {
        match &rule.text {
            RuleText::Text(s) => s,
            RuleText::List(_) => "<list>",
        }
    }

    #[test]
    fn reads_yaml_with_positions() {
        let rules = parse_policy_document("# c\n\"a\": \"role:x\"\nb: rule:a or role:y\n'c': ''\n")
            .unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            (
                rules[0].name.as_str(),
                text(&rules[0]),
                rules[0].line,
                rules[0].column
            ),
            ("a", "role:x", 2, 1)
        );
        assert_eq!(text(&rules[1]), "rule:a or role:y");
        assert_eq!(text(&rules[2]), "");
    }

    #[test]
    fn reads_json() {
        let rules = parse_policy_document(
            "{\n\t\"a\": \"role:x\",\n\t\"b\": [[\"role:y\", \"role:z\"], \"role:w\"]\n}",
        )
        .unwrap();
        assert_eq!(text(&rules[0]), "role:x");
        assert_eq!(
            rules[1].text,
            RuleText::List(vec![
                ListItem::All(vec!["role:y".into(), "role:z".into()]),
                ListItem::Single("role:w".into())
            ])
        );
    }

    #[test]
    fn empty_documents_are_no_rules() {
        assert!(parse_policy_document("").unwrap().is_empty());
        assert!(
            parse_policy_document("# only comments\n")
                .unwrap()
                .is_empty()
        );
        assert!(parse_policy_document("---\n~\n").unwrap().is_empty());
        assert!(parse_policy_document("{}").unwrap().is_empty());
    }

    #[test]
    fn falsy_values_are_always_true_like_oslo() {
        let rules = parse_policy_document("a:\nb: false\nc: 0\nd: ~\ne: {}\n").unwrap();
        for rule in &rules {
            assert_eq!(rule.text, ALWAYS_TRUE, "{}", rule.name);
            assert!(rule.falsy_value.is_some());
        }
    }

    #[test]
    fn wrong_types_name_rule_and_position() {
        let err = parse_policy_document("a: role:x\nb: 1\n").unwrap_err();
        assert_eq!(err.rule.as_deref(), Some("b"));
        assert_eq!(err.position, Some((2, 4)));
        assert!(
            err.to_string()
                .starts_with("rule \"b\" at line 2, column 4: "),
            "{err}"
        );
        for bad in [
            "a: yes\n",
            "a: 1:30\n",
            "a: 2001-12-14\n",
            "a: 1.5\n",
            "a: {x: y}\n",
            "a: [1]\n",
            "a: [[1]]\n",
            "a: !!binary aGk=\n",
        ] {
            assert!(parse_policy_document(bad).is_err(), "{bad}");
        }
        assert!(parse_policy_document("- a\n").is_err());
        let err = parse_policy_document("a: !\n").unwrap_err();
        assert!(err.to_string().contains("quoted"), "{err}");
        assert!(parse_policy_document("a: =\n").is_err());
        assert_eq!(
            text(&parse_policy_document("a: ! role:x\n").unwrap()[0]),
            "role:x"
        );
        assert_eq!(text(&parse_policy_document("a: \"!\"\n").unwrap()[0]), "!");
        assert!(parse_policy_document("a: b\n---\nc: d\n").is_err());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_policy_document("a: \"role:x\n").unwrap_err();
        assert!(err.position.is_some(), "{err}");
        let err = parse_policy_document("a: role:x\n  b: [\n").unwrap_err();
        assert!(err.position.is_some(), "{err}");
    }

    #[test]
    fn anchors_and_quoted_numbers() {
        let rules = parse_policy_document("a: &x role:x\nb: *x\nc: \"1\"\nd: !!str 1\n").unwrap();
        assert_eq!(text(&rules[1]), "role:x");
        assert_eq!(text(&rules[2]), "1");
        assert_eq!(text(&rules[3]), "1");
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert!(parse_policy_document(laughs).is_err());
    }

    #[test]
    fn yaml11_scalars() {
        assert_eq!(
            resolve_plain("0"),
            Scalar::Number {
                text: "0".into(),
                zero: true
            }
        );
        assert_eq!(
            resolve_plain("0.0"),
            Scalar::Number {
                text: "0.0".into(),
                zero: true
            }
        );
        assert!(matches!(
            resolve_plain("-1_000"),
            Scalar::Number { zero: false, .. }
        ));
        assert!(matches!(resolve_plain("0x1F"), Scalar::Number { .. }));
        assert!(
            matches!(resolve_plain("1e5"), Scalar::Str(_)),
            "YAML 1.1 floats need a dot"
        );
        assert!(matches!(resolve_plain("1.0e+5"), Scalar::Number { .. }));
        assert!(matches!(resolve_plain("190:20:30"), Scalar::Number { .. }));
        assert!(matches!(
            resolve_plain("2001-12-14t21:59:43.10-05:00"),
            Scalar::Timestamp(_)
        ));
        assert!(matches!(resolve_plain("role:admin"), Scalar::Str(_)));
        assert!(matches!(resolve_plain("is_admin:1"), Scalar::Str(_)));
        assert!(matches!(resolve_plain("1:%(x)s"), Scalar::Str(_)));
        assert_eq!(resolve_plain("Off"), Scalar::Bool(false));
        assert!(matches!(resolve_plain("-.5"), Scalar::Str(_)));
        assert!(matches!(resolve_plain(".5"), Scalar::Number { .. }));
    }
}
