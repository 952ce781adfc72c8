//! Python's printf-style `fmt % mapping`: oslo.policy evaluates a check's match by
//! `match % target`, and Keystone substitutes endpoint URLs the same way.

use super::repr::{py_ascii, py_repr, py_str, type_name};
use serde_json::{Map, Value};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
