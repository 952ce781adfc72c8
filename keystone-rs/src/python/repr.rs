//! Python's `repr()` and `str()` of the values keystone-rs shows the way Keystone does: JSON
//! values (jsonschema messages, oslo.policy's `str()` of a target, catalog URL
//! substitution), msgpack values (the Fernet "not a recognized payload version" message) and
//! bytes.

use super::text::isprintable;
use serde_json::Value;

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
pub fn py_ascii(value: &Value) -> String {
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
            c if !ascii && isprintable(c) => out.push(c),
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

/// Python's `repr(bytes)`.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(char::from(quote));
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

/// Python's `repr()` of a value msgpack unpacked (`raw=False`): Keystone puts the repr of an
/// unknown Fernet payload "version" into its 404 message (for a receipt that is the user id
/// pair, `[True, b'\xe1M…']`), and clients see that text.
pub fn msgpack_repr(value: &rmpv::Value) -> String {
    use rmpv::Value as M;
    match value {
        M::Nil => "None".into(),
        M::Boolean(true) => "True".into(),
        M::Boolean(false) => "False".into(),
        M::Integer(n) => n.to_string(),
        M::F32(f) => float_repr(f64::from(*f)),
        M::F64(f) => float_repr(*f),
        M::String(s) => string_repr(s.as_str().unwrap_or_default(), false),
        M::Binary(b) => bytes_repr(b),
        M::Array(items) => {
            let inner: Vec<String> = items.iter().map(msgpack_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        M::Map(entries) => {
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", msgpack_repr(k), msgpack_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        M::Ext(code, data) => format!("ExtType(code={code}, data={})", bytes_repr(data)),
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

    #[test]
    fn bytes_and_msgpack_repr_match_python() {
        assert_eq!(bytes_repr(b"\xe1M\t"), "b'\\xe1M\\t'");
        assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(string_repr("it's", false), "\"it's\"");
        assert_eq!(string_repr("a\\b\u{1}\u{a0}", false), "'a\\\\b\\x01\\xa0'");
        let pair = rmpv::Value::Array(vec![
            rmpv::Value::Boolean(true),
            rmpv::Value::Binary(vec![0xe1, b'M']),
        ]);
        assert_eq!(msgpack_repr(&pair), "[True, b'\\xe1M']");
        assert_eq!(msgpack_repr(&rmpv::Value::F64(1e16)), "1e+16");
    }
}
