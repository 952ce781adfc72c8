//! The oslo.policy rule language: tokenizer and the greedy shift-reduce parser, reproduced
//! reduction for reduction so that precedence (`not` > `and` > `or`) and every odd corner
//! (quoted tokens, glued parentheses, what fails) come out as oslo.policy has them.
//!
//! A rule that does not parse becomes `Check::False` (fail closed), as in oslo.policy; the
//! problems found are returned alongside so the loader can log or refuse them.

use super::check::{Check, GenericCheck};

/// Nesting deeper than this (e.g. thousands of `not`) is refused as unparseable: it keeps
/// evaluation's recursion bounded. oslo.policy fails similarly, on Python's recursion limit.
pub const MAX_NESTING: usize = 64;

/// Something noteworthy about a parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The rule as a whole does not parse; it evaluates as `!`.
    Unparseable,
    /// A token with no `kind:` part (and not `@`/`!`): that check is `!`.
    NotACheck(String),
    /// An `http:`/`https:` check.
    Remote(String),
    /// Nested deeper than [`MAX_NESTING`]; the rule evaluates as `!`.
    TooDeep,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Unparseable => f.write_str("the rule does not parse; it denies everything"),
            Problem::NotACheck(token) => {
                write!(f, "'{token}' is not a check (no ':'); it is false")
            }
            Problem::Remote(token) => write!(
                f,
                "remote check '{token}' (http/https checks are not supported)"
            ),
            Problem::TooDeep => write!(
                f,
                "the rule nests deeper than {MAX_NESTING} levels; it denies everything"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub check: Check,
    pub problems: Vec<Problem>,
}

/// A rule value as a policy file can hold it: the rule language, or the legacy list of lists.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleText {
    Text(String),
    /// Outer list is OR, inner lists AND; a bare string item is a one-element list.
    List(Vec<ListItem>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ListItem {
    Single(String),
    All(Vec<String>),
}

pub fn parse(rule: &RuleText) -> Parsed {
    match rule {
        RuleText::Text(text) => parse_text(text),
        RuleText::List(items) => parse_list(items),
    }
}

/// oslo.policy's `_parse_check`: one `kind:match` token.
fn parse_check(token: &str, problems: &mut Vec<Problem>) -> Check {
    match token {
        "!" => return Check::False,
        "@" => return Check::True,
        _ => {}
    }
    let Some((kind, matcher)) = token.split_once(':') else {
        problems.push(Problem::NotACheck(token.to_string()));
        return Check::False;
    };
    match kind {
        "http" | "https" => {
            problems.push(Problem::Remote(token.to_string()));
            Check::Remote {
                kind: kind.to_string(),
                target: matcher.to_string(),
            }
        }
        "rule" => Check::Rule(matcher.to_string()),
        "role" => Check::Role(matcher.to_string()),
        _ => Check::Generic(GenericCheck::new(kind, matcher)),
    }
}

/// The legacy list-of-lists syntax. Each string is one check (not the rule language).
fn parse_list(items: &[ListItem]) -> Parsed {
    let mut problems = Vec::new();
    if items.is_empty() {
        return Parsed {
            check: Check::True,
            problems,
        };
    }
    let mut any_of = Vec::new();
    for item in items {
        let all_of: Vec<&str> = match item {
            ListItem::Single(s) if s.is_empty() => continue,
            ListItem::Single(s) => vec![s.as_str()],
            ListItem::All(v) if v.is_empty() => continue,
            ListItem::All(v) => v.iter().map(String::as_str).collect(),
        };
        let mut checks: Vec<Check> = all_of
            .iter()
            .map(|s| parse_check(s, &mut problems))
            .collect();
        match checks.len() {
            1 => any_of.extend(checks.pop()),
            _ => any_of.push(Check::And(checks)),
        }
    }
    let check = match any_of.len() {
        0 => Check::False,
        1 => any_of.pop().unwrap_or(Check::False),
        _ => Check::Or(any_of),
    };
    Parsed { check, problems }
}

/// Parser stack entries. Checks carry their nesting depth so limits cost nothing to keep.
#[derive(Debug)]
enum Token {
    Check(Check, usize),
    AndExpr(Vec<(Check, usize)>),
    OrExpr(Vec<(Check, usize)>),
    And,
    Or,
    Not,
    LeftParen,
    RightParen,
    /// A quoted token: oslo.policy never reduces it, so its presence fails the parse.
    Str,
}

fn tokenize(rule: &str, problems: &mut Vec<Problem>) -> Vec<Token> {
    let mut tokens = Vec::new();
    for word in rule
        .split(crate::python::text::isspace)
        .filter(|w| !w.is_empty())
    {
        let clean = word.trim_start_matches('(');
        let leading = word.len() - clean.len();
        tokens.extend(std::iter::repeat_with(|| Token::LeftParen).take(leading));
        if clean.is_empty() {
            continue;
        }
        let word = clean;
        let clean = word.trim_end_matches(')');
        let trailing = word.len() - clean.len();
        match clean.to_lowercase().as_str() {
            "and" => tokens.push(Token::And),
            "or" => tokens.push(Token::Or),
            "not" => tokens.push(Token::Not),
            _ if clean.is_empty() => {}
            _ => {
                // The quote test looks at the token before its trailing parentheses go.
                let mut chars = word.chars();
                let first = chars.next();
                let last = chars.next_back();
                let quoted = matches!(
                    (first, last),
                    (Some('"'), Some('"')) | (Some('\''), Some('\''))
                );
                if quoted {
                    tokens.push(Token::Str);
                } else {
                    tokens.push(Token::Check(parse_check(clean, problems), 0));
                }
            }
        }
        tokens.extend(std::iter::repeat_with(|| Token::RightParen).take(trailing));
    }
    tokens
}

fn check_of(token: Token) -> Option<(Check, usize)> {
    match token {
        Token::Check(c, d) => Some((c, d)),
        Token::AndExpr(items) => Some(combine(items, Check::And)),
        Token::OrExpr(items) => Some(combine(items, Check::Or)),
        _ => None,
    }
}

fn combine(items: Vec<(Check, usize)>, build: fn(Vec<Check>) -> Check) -> (Check, usize) {
    let depth = items.iter().map(|(_, d)| *d).max().unwrap_or(0) + 1;
    (build(items.into_iter().map(|(c, _)| c).collect()), depth)
}

struct TooDeep;

fn within_limit(depth: usize) -> Result<usize, TooDeep> {
    if depth > MAX_NESTING {
        Err(TooDeep)
    } else {
        Ok(depth)
    }
}

/// Greedy reduction after each shift, exactly oslo.policy's `ParseState.reduce` patterns.
fn reduce(stack: &mut Vec<Token>) -> Result<(), TooDeep> {
    loop {
        let n = stack.len();
        if n >= 3 {
            let pattern = match (&stack[n - 3], &stack[n - 2], &stack[n - 1]) {
                (
                    Token::LeftParen,
                    Token::Check(..) | Token::AndExpr(_) | Token::OrExpr(_),
                    Token::RightParen,
                ) => 1,
                (Token::Check(..), Token::And, Token::Check(..)) => 2,
                (Token::AndExpr(_), Token::And, Token::Check(..)) => 3,
                (Token::OrExpr(_), Token::And, Token::Check(..)) => 4,
                (Token::Check(..) | Token::AndExpr(_), Token::Or, Token::Check(..)) => 5,
                (Token::OrExpr(_), Token::Or, Token::Check(..)) => 6,
                _ => 0,
            };
            if pattern != 0 {
                let c = stack.pop();
                let b = stack.pop();
                let a = stack.pop();
                let (Some(a), Some(b), Some(c)) = (a, b, c) else {
                    return Ok(());
                };
                let reduced = match pattern {
                    1 => match check_of(b) {
                        Some((check, depth)) => Token::Check(check, within_limit(depth)?),
                        None => return Ok(()),
                    },
                    2 => match (a, c) {
                        (Token::Check(x, dx), Token::Check(y, dy)) => {
                            within_limit(dx.max(dy) + 1)?;
                            Token::AndExpr(vec![(x, dx), (y, dy)])
                        }
                        _ => return Ok(()),
                    },
                    3 | 6 => match (a, c) {
                        (Token::AndExpr(mut items), Token::Check(y, dy)) => {
                            within_limit(dy + 1)?;
                            items.push((y, dy));
                            Token::AndExpr(items)
                        }
                        (Token::OrExpr(mut items), Token::Check(y, dy)) => {
                            within_limit(dy + 1)?;
                            items.push((y, dy));
                            Token::OrExpr(items)
                        }
                        _ => return Ok(()),
                    },
                    4 => match (a, c) {
                        // `A or B and C`: `and` binds tighter, so C joins the last operand.
                        (Token::OrExpr(mut items), Token::Check(y, dy)) => {
                            let Some((last, dl)) = items.pop() else {
                                return Ok(());
                            };
                            let joined = match last {
                                Check::And(mut all) => {
                                    all.push(y);
                                    (Check::And(all), dl.max(dy + 1))
                                }
                                other => (Check::And(vec![other, y]), dl.max(dy) + 1),
                            };
                            within_limit(joined.1 + 1)?;
                            items.push(joined);
                            Token::OrExpr(items)
                        }
                        _ => return Ok(()),
                    },
                    _ => match (check_of(a), c) {
                        (Some((x, dx)), Token::Check(y, dy)) => {
                            within_limit(dx.max(dy) + 1)?;
                            Token::OrExpr(vec![(x, dx), (y, dy)])
                        }
                        _ => return Ok(()),
                    },
                };
                stack.push(reduced);
                continue;
            }
        }
        if n >= 2
            && matches!(
                (&stack[n - 2], &stack[n - 1]),
                (Token::Not, Token::Check(..))
            )
            && let Some(Token::Check(inner, depth)) = stack.pop()
        {
            stack.pop();
            stack.push(Token::Check(
                Check::Not(Box::new(inner)),
                within_limit(depth + 1)?,
            ));
            continue;
        }
        return Ok(());
    }
}

/// The rule language. The empty string is `@`; anything that does not reduce to a single
/// expression is `!`.
pub fn parse_text(rule: &str) -> Parsed {
    let mut problems = Vec::new();
    if rule.is_empty() {
        return Parsed {
            check: Check::True,
            problems,
        };
    }
    let mut stack = Vec::new();
    for token in tokenize(rule, &mut problems) {
        stack.push(token);
        if reduce(&mut stack).is_err() {
            // Drop the partial tree iteratively-shallow: every entry is within the limit.
            problems.push(Problem::TooDeep);
            return Parsed {
                check: Check::False,
                problems,
            };
        }
    }
    let result = if stack.len() == 1 {
        stack.pop().and_then(check_of)
    } else {
        None
    };
    match result {
        Some((check, _)) => Parsed { check, problems },
        None => {
            problems.push(Problem::Unparseable);
            Parsed {
                check: Check::False,
                problems,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(rule: &str) -> String {
        parse_text(rule).check.to_string()
    }

    #[test]
    fn precedence_is_not_and_or() {
        assert_eq!(shape("a:1 or b:2 and c:3"), "(a:1 or (b:2 and c:3))");
        assert_eq!(
            shape("a:1 or not b:2 and c:3"),
            "(a:1 or (not b:2 and c:3))"
        );
        assert_eq!(shape("a:1 and b:2 or c:3"), "((a:1 and b:2) or c:3)");
        assert_eq!(shape("not a:1 and b:2"), "(not a:1 and b:2)");
        assert_eq!(
            shape("a:1 or b:2 and c:3 and d:4 or e:5"),
            "(a:1 or (b:2 and c:3 and d:4) or e:5)"
        );
        assert_eq!(shape("(a:1 or b:2) and c:3"), "((a:1 or b:2) and c:3)");
        assert_eq!(shape("not (a:1 or b:2)"), "not (a:1 or b:2)");
        assert_eq!(shape("not not a:1"), "not not a:1");
        assert_eq!(
            shape("A:1 AND b:2 Or NOT c:3"),
            "((A:1 and b:2) or not c:3)"
        );
    }

    #[test]
    fn parentheses_glue_to_checks() {
        assert_eq!(shape("(role:a or role:b)"), "(role:a or role:b)");
        assert_eq!(shape("((role:a))"), "role:a");
        assert_eq!(shape("(not role:a)"), "not role:a");
        assert_eq!(
            shape("role:a and (role:b or role:c)"),
            "(role:a and (role:b or role:c))"
        );
    }

    #[test]
    fn failures_are_false() {
        for rule in [
            " ",
            "()",
            "a:1 b:2",
            "and",
            "or a:1",
            "a:1 or",
            "not",
            "'quoted'",
            "'x':'y'",
            "(a:1",
            "a:1)",
            "a:1 (b:2)",
        ] {
            let parsed = parse_text(rule);
            assert_eq!(parsed.check, Check::False, "{rule:?}");
            assert!(parsed.problems.contains(&Problem::Unparseable), "{rule:?}");
        }
        assert_eq!(parse_text("foo").check, Check::False);
        assert_eq!(
            parse_text("foo").problems,
            vec![Problem::NotACheck("foo".into())]
        );
        assert_eq!(parse_text("").check, Check::True);
        assert_eq!(parse_text("@").check, Check::True);
        assert_eq!(parse_text("!").check, Check::False);
        assert!(parse_text("!").problems.is_empty());
    }

    #[test]
    fn check_kinds() {
        assert_eq!(parse_text("rule:x").check, Check::Rule("x".into()));
        assert_eq!(parse_text("role:x").check, Check::Role("x".into()));
        // The kind is case-sensitive: `Role:` is a generic check.
        assert!(matches!(parse_text("Role:x").check, Check::Generic(_)));
        assert_eq!(shape("a:b:c"), "a:b:c");
        let remote = parse_text("http://example.com/%(x)s");
        assert!(matches!(remote.check, Check::Remote { .. }));
        assert_eq!(
            remote.problems,
            vec![Problem::Remote("http://example.com/%(x)s".into())]
        );
    }

    #[test]
    fn legacy_lists() {
        let list = |items: Vec<ListItem>| parse_list(&items).check.to_string();
        assert_eq!(list(vec![]), "@");
        assert_eq!(list(vec![ListItem::All(vec![])]), "!");
        assert_eq!(
            list(vec![
                ListItem::All(vec!["role:a".into(), "role:b".into()]),
                ListItem::Single("role:c".into())
            ]),
            "((role:a and role:b) or role:c)"
        );
        // Inside lists each string is a single check, not the rule language.
        assert_eq!(
            list(vec![ListItem::Single("role:a or role:b".into())]),
            "role:a or role:b"
        );
        assert_eq!(
            parse_list(&[ListItem::Single("role:a or role:b".into())]).check,
            Check::Role("a or role:b".into())
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let rule = format!("{}role:a", "not ".repeat(100_000));
        let parsed = parse_text(&rule);
        assert_eq!(parsed.check, Check::False);
        assert!(parsed.problems.contains(&Problem::TooDeep));
        let rule = format!(
            "{}role:a{}",
            "(role:b and ".repeat(10_000),
            ")".repeat(10_000)
        );
        assert_eq!(parse_text(&rule).check, Check::False);
        // Within the limit it still works.
        let rule = format!("{}role:a", "not ".repeat(10));
        assert!(matches!(parse_text(&rule).check, Check::Not(_)));
    }
}
