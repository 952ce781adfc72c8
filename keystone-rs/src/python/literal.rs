//! The part of Python's `ast.literal_eval` oslo.policy leans on: a generic check
//! `kind:match` first tries `literal_eval(kind)`, and rules written for Keystone depend on
//! which kinds Python reads as literals and on the `str()` of what it reads.

use super::repr::{bytes_repr, float_repr};

/// What the left side of a generic check `kind:match` is, decided once at parse time the
/// way `ast.literal_eval(kind)` decides it at every evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A Python literal; the payload is `str()` of its value (`'x'` → `x`, `None` → `None`).
    Literal(String),
    /// Not a literal: a dotted path into the credentials (`token.project.domain.id`).
    Path(Vec<String>),
    /// Text Python cannot read (its SyntaxError), or a literal we do not model (bytes,
    /// complex, containers). Evaluating such a check is an error, so the request is denied.
    Invalid(String),
}

pub fn classify_kind(kind: &str) -> Kind {
    if let Some(text) = literal_str(kind) {
        return Kind::Literal(text);
    }
    if is_path_expression(kind) {
        return Kind::Path(kind.split('.').map(str::to_string).collect());
    }
    Kind::Invalid(format!(
        "'{kind}' is neither a Python literal nor a credential path"
    ))
}

/// `ast.literal_eval(text)` when it reads a flat list of scalar literals (strings,
/// numbers, `True`/`False`/`None`), as the `str()` of each item; None for anything else
/// (not a list, nested containers, not Python). What Keystone's mapping engine needs to
/// read back the `repr()` of a multi-valued match (`"['a', 'b']"`).
pub fn literal_list(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in inner.chars() {
        match quote {
            Some(q) => {
                current.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    current.push(c);
                }
                '[' | ']' | '(' | ')' | '{' | '}' => return None,
                ',' => {
                    items.push(std::mem::take(&mut current));
                }
                c => current.push(c),
            },
        }
    }
    if quote.is_some() {
        return None;
    }
    // One trailing comma is allowed; an empty item elsewhere is a SyntaxError.
    if !current.trim().is_empty() {
        items.push(current);
    } else if !items.is_empty() {
        // `[a, ]`: fine; `[a,,]` fails below on the empty item.
    } else if !inner.trim().is_empty() {
        return None;
    }
    items
        .iter()
        .map(|item| literal_str(item.trim()).filter(|_| !item.trim().is_empty()))
        .collect()
}

/// `str(ast.literal_eval(text))` for the literals we model, or None.
fn literal_str(text: &str) -> Option<String> {
    match text {
        "True" | "False" | "None" => return Some(text.to_string()),
        "..." => return Some("Ellipsis".into()),
        "[]" | "()" | "{}" | "set()" => return Some(text.to_string()),
        _ => {}
    }
    if let Some(s) = string_literals(text) {
        return Some(s);
    }
    // literal_eval accepts one sign in front of a number.
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    };
    let number = number_literal(digits)?;
    match number {
        Number::Int(magnitude) if magnitude == "0" => Some(magnitude),
        Number::Int(magnitude) => Some(format!("{sign}{magnitude}")),
        Number::Float(f) => Some(float_repr(if sign == "-" { -f } else { f })),
    }
}

enum Number {
    /// Decimal digits of the magnitude, normalised (no underscores or leading zeros).
    Int(String),
    Float(f64),
}

fn number_literal(text: &str) -> Option<Number> {
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            // After the prefix Python allows an underscore before each digit.
            let rest = rest.strip_prefix('_').unwrap_or(rest);
            if !digit_part(rest, |c| c.is_digit(radix)) {
                return None;
            }
            let digits: String = rest.chars().filter(|c| *c != '_').collect();
            return u128::from_str_radix(&digits, radix)
                .ok()
                .map(|n| Number::Int(n.to_string()));
        }
    }
    let is_decimal = |c: char| c.is_ascii_digit();
    if digit_part(&lower, is_decimal) {
        let digits: String = lower.chars().filter(|c| *c != '_').collect();
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Some(Number::Int("0".into()));
        }
        // Python forbids leading zeros in a non-zero decimal integer ("01").
        if trimmed.len() != digits.len() {
            return None;
        }
        return Some(Number::Int(trimmed.to_string()));
    }
    // Floats: [digits] "." [digits] with at least one digit, and/or an exponent.
    let (body, exponent) = match lower.split_once('e') {
        Some((body, exp)) => {
            let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if !digit_part(exp_digits, is_decimal) {
                return None;
            }
            (body, Some(exp))
        }
        None => (lower.as_str(), None),
    };
    let valid_body = match body.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() || digit_part(int, is_decimal))
                && (frac.is_empty() || digit_part(frac, is_decimal))
                && !(int.is_empty() && frac.is_empty())
        }
        None => exponent.is_some() && digit_part(body, is_decimal),
    };
    if !valid_body {
        return None;
    }
    let cleaned: String = lower.chars().filter(|c| *c != '_').collect();
    cleaned.parse::<f64>().ok().map(Number::Float)
}

/// One or more digits, with single underscores allowed only between digits.
fn digit_part(text: &str, is_digit: impl Fn(char) -> bool) -> bool {
    let mut previous_digit = false;
    let mut any = false;
    for c in text.chars() {
        if c == '_' {
            if !previous_digit {
                return false;
            }
            previous_digit = false;
        } else if is_digit(c) {
            previous_digit = true;
            any = true;
        } else {
            return false;
        }
    }
    any && previous_digit
}

/// `str()` of one or more adjacent Python string literals (`'a'`, `"b"`, `u'c'`, `r'\d'`,
/// `'''e'''`), or of bytes literals (`b'x'`, whose `str()` is `b'x'`); None otherwise.
fn string_literals(text: &str) -> Option<String> {
    let mut rest = text;
    let mut value = String::new();
    let mut kind: Option<bool> = None; // Some(is_bytes) once a literal was read
    while !rest.is_empty() {
        let prefix_len = rest.find(['\'', '"'])?;
        let prefix = rest.get(..prefix_len)?.to_ascii_lowercase();
        let (raw, bytes) = match prefix.as_str() {
            "" | "u" => (false, false),
            "r" => (true, false),
            "b" => (false, true),
            "br" | "rb" => (true, true),
            _ => return None,
        };
        // Python refuses to concatenate bytes and str literals.
        if kind.is_some_and(|was_bytes| was_bytes != bytes) {
            return None;
        }
        kind = Some(bytes);
        let body = rest.get(prefix_len..)?;
        let quote = body.chars().next()?;
        let triple: String = std::iter::repeat_n(quote, 3).collect();
        let delimiter = if body.starts_with(&triple) {
            triple
        } else {
            quote.to_string()
        };
        let inner = body.get(delimiter.len()..)?;
        let (content, consumed) = scan_string_body(inner, &delimiter, raw, bytes)?;
        value.push_str(&content);
        rest = inner.get(consumed..)?;
    }
    match kind {
        None => None,
        Some(false) => Some(value),
        // Every char of a bytes literal is below 256 (`scan_string_body` refuses others).
        Some(true) => Some(bytes_repr(
            &value.chars().map(|c| c as u32 as u8).collect::<Vec<u8>>(),
        )),
    }
}

/// Reads up to the closing delimiter; returns the decoded text and the bytes consumed
/// (closing delimiter included).
fn scan_string_body(
    inner: &str,
    delimiter: &str,
    raw: bool,
    bytes: bool,
) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = inner.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if inner.get(index..)?.starts_with(delimiter) {
            return Some((out, index + delimiter.len()));
        }
        // Bytes literals hold ASCII only.
        if bytes && !c.is_ascii() {
            return None;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let (_, escaped) = chars.next()?;
        if raw {
            out.push('\\');
            out.push(escaped);
            continue;
        }
        match escaped {
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            // In bytes literals \u, \U and \N are not escapes.
            'u' | 'U' | 'N' if bytes => {
                out.push('\\');
                out.push(escaped);
            }
            'x' | 'u' | 'U' => {
                let count = match escaped {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut code = 0u32;
                for _ in 0..count {
                    let (_, h) = chars.next()?;
                    code = code * 16 + h.to_digit(16)?;
                }
                out.push(char::from_u32(code)?);
            }
            '0'..='7' => {
                let mut code = escaped.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek().and_then(|(_, d)| d.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                if bytes && code > 0xff {
                    return None;
                }
                out.push(char::from_u32(code)?);
            }
            // \N{name} needs the Unicode name table: not modelled.
            'N' => return None,
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    None
}

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

fn is_identifier(segment: &str) -> bool {
    let mut chars = segment.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Whether Python reads the kind as an expression that is not a literal (literal_eval's
/// ValueError), which oslo.policy then treats as a dotted credential path. We accept dotted
/// names, and names joined by `-` (`token.OS-OAUTH1.access_token_id` is `token.OS - OAUTH1…`
/// to Python, and its path still reaches the `OS-OAUTH1` key).
fn is_path_expression(kind: &str) -> bool {
    let unsigned = kind.strip_prefix(['-', '+']).unwrap_or(kind);
    !unsigned.is_empty()
        && unsigned.split('-').all(|operand| {
            let mut segments = operand.split('.');
            let first_ok = segments.next().is_some_and(|first| {
                is_identifier(first)
                    && (!PYTHON_KEYWORDS.contains(&first)
                        || matches!(first, "True" | "False" | "None"))
            });
            first_ok && segments.all(|s| is_identifier(s) && !PYTHON_KEYWORDS.contains(&s))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_kinds_match_literal_eval() {
        for (kind, text) in [
            ("'member'", "member"),
            ("\"x\"", "x"),
            ("u'x'", "x"),
            ("r'\\n'", "\\n"),
            ("'a''b'", "ab"),
            ("'''x'''", "x"),
            ("'\\x41\\n'", "A\n"),
            ("True", "True"),
            ("None", "None"),
            ("1", "1"),
            ("-1", "-1"),
            ("+1", "1"),
            ("-0", "0"),
            ("1_000", "1000"),
            ("0x_1f", "31"),
            ("0o17", "15"),
            ("0b1", "1"),
            ("00", "0"),
            ("1.", "1.0"),
            (".5", "0.5"),
            ("1e3", "1000.0"),
            ("1_0.0_1", "10.01"),
            ("-0.0", "-0.0"),
            ("1e400", "inf"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("...", "Ellipsis"),
            ("[]", "[]"),
            ("b'x'", "b'x'"),
            ("b\"it's\"", "b\"it's\""),
            ("b'\\x00\\u'", "b'\\x00\\\\u'"),
        ] {
            assert_eq!(classify_kind(kind), Kind::Literal(text.into()), "{kind}");
        }
    }

    #[test]
    fn non_literal_kinds() {
        assert_eq!(classify_kind("user_id"), Kind::Path(vec!["user_id".into()]));
        assert_eq!(
            classify_kind("token.OS-OAUTH1.id"),
            Kind::Path(vec!["token".into(), "OS-OAUTH1".into(), "id".into()])
        );
        assert_eq!(
            classify_kind("None.x"),
            Kind::Path(vec!["None".into(), "x".into()])
        );
        for invalid in [
            "", "01", "1abc", "if", "a.if", "a..b", "a.", "'x", "b'é'", "b'x'u'y'", "1j", "--1",
            "a+b", "a.None",
        ] {
            assert!(
                matches!(classify_kind(invalid), Kind::Invalid(_)),
                "{invalid}"
            );
        }
    }
}
