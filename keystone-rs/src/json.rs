//! JSON bytes as Python Keystone writes them. Clients compare bodies, and tests compare
//! them byte for byte with the peer, so separators and escaping matter:
//! `json.dumps` uses `", "` / `": "` and escapes every non-ASCII character as `\uXXXX`;
//! Flask's `jsonify` (error bodies) is compact with the same escaping.

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `json.dumps` defaults: `", "` and `": "`.
    Python,
    /// `","` and `":"`.
    Compact,
}

struct AsciiFormatter {
    style: Style,
}

impl Formatter for AsciiFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(self.item_separator())
        }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(self.item_separator())
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(match self.style {
            Style::Python => b": ",
            Style::Compact => b":",
        })
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if fragment.is_ascii() {
            return w.write_all(fragment.as_bytes());
        }
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{:04x}", unit)?;
                }
            }
        }
        Ok(())
    }
}

impl AsciiFormatter {
    fn item_separator(&self) -> &'static [u8] {
        match self.style {
            Style::Python => b", ",
            Style::Compact => b",",
        }
    }
}

/// Serialise `value` the way Python would.
pub fn to_ascii_string<T: Serialize + ?Sized>(value: &T, style: Style) -> String {
    let mut out = Vec::with_capacity(256);
    write_ascii(&mut out, value, style);
    // The formatter only ever writes ASCII.
    String::from_utf8(out).expect("ASCII output")
}

/// Append `value` to `out` the way Python would serialise it (ASCII only).
pub fn write_ascii<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, style: Style) {
    let mut ser = Serializer::with_formatter(out, AsciiFormatter { style });
    // Serialising a serde_json::Value or our own derive types into memory cannot fail.
    value
        .serialize(&mut ser)
        .expect("in-memory JSON serialisation");
}

/// The body of a resource response: `json.dumps(...) + "\n"`.
pub fn resource_body<T: Serialize + ?Sized>(value: &T) -> String {
    let mut s = to_ascii_string(value, Style::Python);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_separators_and_ascii_escapes() {
        let v = json!({"a": [1, 2], "b": "é😀"});
        assert_eq!(
            to_ascii_string(&v, Style::Python),
            r#"{"a": [1, 2], "b": "\u00e9\ud83d\ude00"}"#
        );
        assert_eq!(
            to_ascii_string(&v, Style::Compact),
            r#"{"a":[1,2],"b":"\u00e9\ud83d\ude00"}"#
        );
    }

    #[test]
    fn keeps_insertion_order() {
        let v = json!({"z": 1, "a": 2});
        assert_eq!(to_ascii_string(&v, Style::Python), r#"{"z": 1, "a": 2}"#);
    }
}
