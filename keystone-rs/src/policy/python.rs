//! The bits of Python the rule language leans on. oslo.policy evaluates a check by
//! `match % target` (printf-style formatting with a mapping), by `str()` of whatever value it
//! finds, and by `ast.literal_eval` of the check's kind. Rules written for Keystone depend on
//! the exact text those produce (`None`, `True`, `['a', 'b']`, `1.0`), so we reproduce them
//! for the values JSON can carry.

use serde_json::{Map, Value};

/// Python's `str(value)`.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr(value)` for the JSON value's Python counterpart.
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, false, &mut out);
    out
}

/// Python's `ascii(value)`: `repr` with every non-ASCII character escaped.
fn py_ascii(value: &Value) -> String {
    let mut out = String::new();
    write_repr(value, true, &mut out);
    out
}

// Containers nest in the value itself; serde_json refuses documents nested deeper than 128
// levels, so recursion here is bounded by what a JSON value can hold.
fn write_repr(value: &Value, ascii: bool, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&float_repr(n.as_f64().unwrap_or(f64::NAN)));
            }
        }
        Value::String(s) => out.push_str(&string_repr(s, ascii)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(item, ascii, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&string_repr(k, ascii));
                out.push_str(": ");
                write_repr(v, ascii, out);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has a single quote and no double one.
pub fn string_repr(s: &str, ascii: bool) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_ascii() => out.push(c),
            c if !ascii && is_printable(c) => out.push(c),
            c => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
        }
    }
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable()` for one non-ASCII character: control,
/// separator, format and private-use characters are not printable. (Unassigned code points,
/// which Python also escapes, would need Unicode tables and are treated as printable.)
fn is_printable(c: char) -> bool {
    let code = c as u32;
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format_chars = [
        (0x00ad, 0x00ad),
        (0x0600, 0x0605),
        (0x061c, 0x061c),
        (0x06dd, 0x06dd),
        (0x070f, 0x070f),
        (0x0890, 0x0891),
        (0x08e2, 0x08e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
    ];
    let private_use = [(0xe000, 0xf8ff), (0xf0000, 0xffffd), (0x100000, 0x10fffd)];
    let noncharacters = code & 0xfffe == 0xfffe || (0xfdd0..=0xfdef).contains(&code);
    !(noncharacters
        || format_chars
            .iter()
            .chain(private_use.iter())
            .any(|&(lo, hi)| (lo..=hi).contains(&code)))
}

/// Python's `repr(float)`: the shortest text that reads back to the same double, in fixed
/// notation for exponents -4..16 (with at least one decimal), else `1e+16` style.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-5", "1e16", "0e0".
    let sci = format!("{f:e}");
    let (negative, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci.as_str()),
    };
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Position of the decimal point counted from the first digit.
    let point = exponent + 1;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4 < point && point <= 16) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exponent.unsigned_abs()));
    } else if point <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if point >= digits.len() {
            out.push_str(&digits);
            out.push_str(&"0".repeat(point - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Why `match % target` did not produce a string.
#[derive(Debug, Clone, PartialEq)]
pub enum FormatError {
    /// `%(key)s` names a key the target lacks: oslo.policy makes the check false.
    MissingKey(String),
    /// Anything else Python would raise (ValueError, TypeError): the check cannot be decided.
    Invalid(String),
}

/// Widths beyond this are refused rather than allocated.
const MAX_FORMAT_WIDTH: usize = 4096;

/// Python's `fmt % mapping`, for the conversions `s r a c d i u x X o e E f F` with flags,
/// width and precision, and `%%`. As in Python, one conversion without a key may come
/// before any keyed one and formats the whole mapping. `*` widths and `g`/`G` are refused
/// as invalid (rules never use them; refusing fails closed).
pub fn percent_format(fmt: &str, mapping: &Map<String, Value>) -> Result<String, FormatError> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::with_capacity(fmt.len());
    // Built only if an unkeyed conversion asks for it: targets can be large.
    let mut whole: Option<Value> = None;
    let mut unkeyed_available = true;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(&next) = chars.get(i) else {
            return Err(FormatError::Invalid("incomplete format".into()));
        };
        if next == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        let value = if next == '(' {
            // The key runs to the matching parenthesis; Python counts nested pairs.
            i += 1;
            let key_start = i;
            let mut depth = 1usize;
            loop {
                match chars.get(i) {
                    None => return Err(FormatError::Invalid("incomplete format key".into())),
                    Some('(') => depth += 1,
                    Some(')') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    Some(_) => {}
                }
                i += 1;
            }
            let key: String = chars.get(key_start..i).unwrap_or_default().iter().collect();
            i += 1;
            unkeyed_available = false;
            mapping.get(&key).ok_or(FormatError::MissingKey(key))?
        } else if unkeyed_available {
            unkeyed_available = false;
            &*whole.insert(Value::Object(mapping.clone()))
        } else {
            return Err(FormatError::Invalid(
                "not enough arguments for format string".into(),
            ));
        };

        let mut spec = Spec::default();
        while let Some(&flag) = chars.get(i) {
            match flag {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alternate = true,
                '0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if chars.get(i) == Some(&'*') {
            return Err(FormatError::Invalid("* wants int".into()));
        }
        spec.width = read_number(&chars, &mut i)?.unwrap_or(0);
        if chars.get(i) == Some(&'.') {
            i += 1;
            if chars.get(i) == Some(&'*') {
                return Err(FormatError::Invalid("* wants int".into()));
            }
            spec.precision = Some(read_number(&chars, &mut i)?.unwrap_or(0));
        }
        if matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let Some(&conversion) = chars.get(i) else {
            return Err(FormatError::Invalid("incomplete format".into()));
        };
        i += 1;
        let text = match conversion {
            's' => spec.pad_text(py_str(value)),
            'r' => spec.pad_text(py_repr(value)),
            'a' => spec.pad_text(py_ascii(value)),
            'c' => spec.pad(String::new(), python_char(value)?.to_string(), ' '),
            'd' | 'i' | 'u' => {
                let n = python_int(value, conversion)?;
                spec.pad_number(n < 0, spec.with_precision(n.unsigned_abs().to_string()))
            }
            'x' | 'X' | 'o' => {
                let n = python_index(value, conversion)?;
                let (digits, prefix) = match conversion {
                    'x' => (format!("{:x}", n.unsigned_abs()), "0x"),
                    'X' => (format!("{:X}", n.unsigned_abs()), "0X"),
                    _ => (format!("{:o}", n.unsigned_abs()), "0o"),
                };
                let digits = spec.with_precision(digits);
                let body = if spec.alternate {
                    format!("{prefix}{digits}")
                } else {
                    digits
                };
                spec.pad_number(n < 0, body)
            }
            'e' | 'E' | 'f' | 'F' => {
                let f = python_float(value, conversion)?;
                let body = format_float(
                    f.abs(),
                    conversion,
                    spec.precision.unwrap_or(6),
                    spec.alternate,
                );
                spec.pad_number(f.is_sign_negative() && !f.is_nan(), body)
            }
            other => {
                return Err(FormatError::Invalid(format!(
                    "unsupported format character '{other}' (0x{:x}) at index {}",
                    other as u32,
                    i - 1
                )));
            }
        };
        out.push_str(&text);
    }
    Ok(out)
}

fn read_number(chars: &[char], i: &mut usize) -> Result<Option<usize>, FormatError> {
    let start = *i;
    let mut n: usize = 0;
    while let Some(d) = chars.get(*i).and_then(|c| c.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(d as usize);
        *i += 1;
    }
    if *i == start {
        return Ok(None);
    }
    if n > MAX_FORMAT_WIDTH {
        return Err(FormatError::Invalid("width too big".into()));
    }
    Ok(Some(n))
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alternate: bool,
    width: usize,
    precision: Option<usize>,
}

impl Spec {
    fn pad_text(&self, text: String) -> String {
        let text: String = match self.precision {
            Some(p) => text.chars().take(p).collect(),
            None => text,
        };
        self.pad(String::new(), text, ' ')
    }

    /// Integer precision is a minimum digit count.
    fn with_precision(&self, digits: String) -> String {
        match self.precision {
            Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
            _ => digits,
        }
    }

    fn pad_number(&self, negative: bool, body: String) -> String {
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        let fill = if self.zero && !self.left { '0' } else { ' ' };
        // Zero fill goes after an alternate-form prefix ("0x0001"), as Python does.
        let (sign, body) = match body.get(..2) {
            Some(prefix @ ("0x" | "0X" | "0o")) if fill == '0' && self.alternate => (
                format!("{sign}{prefix}"),
                body.get(2..).unwrap_or_default().to_string(),
            ),
            _ => (sign.to_string(), body),
        };
        self.pad(sign, body, fill)
    }

    /// Pads to the width; zero fill goes between the sign and the digits.
    fn pad(&self, sign: String, body: String, fill: char) -> String {
        let len = sign.chars().count() + body.chars().count();
        let missing = self.width.saturating_sub(len);
        let padding: String =
            std::iter::repeat_n(if self.left { ' ' } else { fill }, missing).collect();
        if self.left {
            format!("{sign}{body}{padding}")
        } else if fill == '0' {
            format!("{sign}{padding}{body}")
        } else {
            format!("{padding}{sign}{body}")
        }
    }
}

/// `%e`/`%f` of a non-negative float, Python's way (`1.000000e+00`).
fn format_float(f: f64, conversion: char, precision: usize, alternate: bool) -> String {
    let upper = conversion.is_ascii_uppercase();
    if !f.is_finite() {
        let text = if f.is_nan() { "nan" } else { "inf" };
        return if upper {
            text.to_uppercase()
        } else {
            text.to_string()
        };
    }
    let text = if matches!(conversion, 'e' | 'E') {
        let sci = format!("{f:.precision$e}");
        let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exponent: i64 = exponent.parse().unwrap_or(0);
        let mut mantissa = mantissa.to_string();
        if alternate && !mantissa.contains('.') {
            mantissa.push('.');
        }
        format!(
            "{mantissa}e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.unsigned_abs()
        )
    } else {
        let mut fixed = format!("{f:.precision$}");
        if alternate && !fixed.contains('.') {
            fixed.push('.');
        }
        fixed
    };
    if upper { text.to_uppercase() } else { text }
}

/// Python's `int(value)` as `%d` applies it: numbers and booleans only.
fn python_int(value: &Value, conversion: char) -> Result<i128, FormatError> {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.is_finite() && f.abs() < 1e38 {
                Ok(f.trunc() as i128)
            } else {
                Err(FormatError::Invalid(
                    "cannot convert float to integer".into(),
                ))
            }
        }
        other => python_index(other, conversion).map_err(|_| {
            FormatError::Invalid(format!(
                "%{conversion} format: a real number is required, not {}",
                type_name(other)
            ))
        }),
    }
}

/// `%x`/`%o`: integers (and booleans) only.
fn python_index(value: &Value, conversion: char) -> Result<i128, FormatError> {
    match value {
        Value::Bool(b) => Ok(i128::from(*b)),
        Value::Number(n) if !n.is_f64() => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .ok_or_else(|| FormatError::Invalid("integer out of range".into())),
        other => Err(FormatError::Invalid(format!(
            "%{conversion} format: an integer is required, not {}",
            type_name(other)
        ))),
    }
}

fn python_float(value: &Value, conversion: char) -> Result<f64, FormatError> {
    match value {
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
        other => Err(FormatError::Invalid(format!(
            "%{conversion} format: must be real number, not {}",
            type_name(other)
        ))),
    }
}

fn python_char(value: &Value) -> Result<char, FormatError> {
    let invalid = || FormatError::Invalid("%c requires an int or a unicode character".into());
    match value {
        Value::String(s) if s.chars().count() == 1 => s.chars().next().ok_or_else(invalid),
        Value::Bool(_) | Value::Number(_) => {
            let code = python_index(value, 'c').map_err(|_| invalid())?;
            u32::try_from(code)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| FormatError::Invalid("%c arg not in range(0x110000)".into()))
        }
        _ => Err(invalid()),
    }
}

/// Python's type name of a JSON value, for messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's truthiness of a JSON value.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

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
        Some(true) => Some(bytes_repr(&value)),
    }
}

/// Python's `repr(bytes)`; `content` holds one char per byte (all below 256).
fn bytes_repr(content: &str) -> String {
    let quote = if content.contains('\'') && !content.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for c in content.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\x{:02x}", c as u32)),
        }
    }
    out.push(quote);
    out
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
    use serde_json::json;

    #[test]
    fn str_of_values_matches_python() {
        assert_eq!(py_str(&json!(null)), "None");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(7)), "7");
        assert_eq!(py_str(&json!(1.0)), "1.0");
        assert_eq!(py_str(&json!("x")), "x");
        assert_eq!(py_str(&json!([1, "x", null])), "[1, 'x', None]");
        assert_eq!(
            py_str(&json!({"a": [true], "b": "it's"})),
            "{'a': [True], 'b': \"it's\"}"
        );
        assert_eq!(py_repr(&json!("a'b\"c\n")), "'a\\'b\"c\\n'");
        assert_eq!(py_repr(&json!("é\u{7}\u{200b}")), "'é\\x07\\u200b'");
        assert_eq!(py_ascii(&json!("é")), "'\\xe9'");
    }

    #[test]
    fn float_repr_matches_python() {
        for (f, text) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.5, "1.5"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456.789, "123456.789"),
            (1e300, "1e+300"),
            (-2.5e-10, "-2.5e-10"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(float_repr(f), text, "{f}");
        }
    }

    fn mapping() -> Map<String, Value> {
        json!({"a": 1, "b": null, "c": [1, "x"], "d": 1.5, "e": "xyz", "a(b)": 7})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn percent_format_matches_python() {
        let m = mapping();
        for (fmt, expected) in [
            ("%(a)s", "1"),
            ("%%", "%"),
            ("x%(b)sy", "xNoney"),
            ("%(c)s", "[1, 'x']"),
            ("%(d)d", "1"),
            ("%(a)5s|", "    1|"),
            ("%(a)-5s|", "1    |"),
            ("%(e).1s", "x"),
            ("%(e)5.2s", "   xy"),
            ("%(a(b))s", "7"),
            ("%(a)05d", "00001"),
            ("%(a)+d", "+1"),
            ("%(e)r", "'xyz'"),
            ("%(a)ls", "1"),
            ("plain", "plain"),
        ] {
            assert_eq!(percent_format(fmt, &m), Ok(expected.to_string()), "{fmt}");
        }
        assert_eq!(
            percent_format("%(zz)s %z", &m),
            Err(FormatError::MissingKey("zz".into()))
        );
        assert_eq!(
            percent_format(
                "%s",
                &json!({"a": 1}).as_object().cloned().unwrap_or_default()
            ),
            Ok("{'a': 1}".into())
        );
        for (fmt, expected) in [
            ("%(a)x", "1"),
            ("%(a)#x", "0x1"),
            ("%(a)#o", "0o1"),
            ("%(a)5.1f", "  1.0"),
            ("%(a)e", "1.000000e+00"),
            ("%(a)#5x", "  0x1"),
            ("%(a)#05x", "0x001"),
            ("%(a)-#6o|", "0o1   |"),
            ("%(a)c", "\u{1}"),
            ("%(d).3e", "1.500e+00"),
            ("%(b)s%s", "None"),
        ] {
            let result = percent_format(fmt, &m);
            if fmt == "%(b)s%s" {
                assert!(matches!(result, Err(FormatError::Invalid(_))), "{fmt}");
            } else {
                assert_eq!(result, Ok(expected.to_string()), "{fmt}");
            }
        }
        for bad in [
            "%(a",
            "%(a)",
            "%(a)z",
            "%z %(zz)s",
            "100%",
            "%s %s",
            "%(e)d",
            "%(a)%",
            "%(a)*s",
            "%(d)x",
            "%(e)f",
            "%(a)g",
        ] {
            assert!(
                matches!(percent_format(bad, &m), Err(FormatError::Invalid(_))),
                "{bad}"
            );
        }
    }

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
