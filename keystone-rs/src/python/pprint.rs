//! Python's `pprint.pformat(thing, width=72, sort_dicts=False)` for JSON values: jsonschema
//! lays out the failing schema and instance with it in `str(ValidationError)`, the text
//! Keystone's older validator (`keystone.common.validation`) answers with.

use super::repr::{py_repr, string_repr};
use super::text::{isspace, splitlines_keepends};
use serde_json::Value;

const WIDTH: usize = 72;

/// `pprint.pformat(value, width=72, sort_dicts=False)`.
pub fn pformat(value: &Value) -> String {
    let mut out = String::new();
    format_value(value, 0, 0, 0, &mut out);
    out
}

/// `PrettyPrinter._format`: the one-line repr when it fits, else the type's layout.
fn format_value(value: &Value, indent: usize, allowance: usize, level: usize, out: &mut String) {
    let rep = py_repr(value);
    let max_width = WIDTH.saturating_sub(indent + allowance);
    if rep.chars().count() <= max_width {
        out.push_str(&rep);
        return;
    }
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            format_items(
                items.iter().map(|v| (None, v)),
                items.len(),
                indent,
                allowance + 1,
                level + 1,
                out,
            );
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            format_items(
                map.iter().map(|(k, v)| (Some(k.as_str()), v)),
                map.len(),
                indent,
                allowance + 1,
                level + 1,
                out,
            );
            out.push('}');
        }
        Value::String(s) => format_str(s, indent, allowance, level + 1, out),
        _ => out.push_str(&rep),
    }
}

/// `_format_items` / `_format_dict_items`: one entry per line, indented one past the bracket.
fn format_items<'a>(
    entries: impl Iterator<Item = (Option<&'a str>, &'a Value)>,
    count: usize,
    indent: usize,
    allowance: usize,
    level: usize,
    out: &mut String,
) {
    let indent = indent + 1;
    for (i, (key, value)) in entries.enumerate() {
        let last = i + 1 == count;
        if i > 0 {
            out.push_str(",\n");
            out.push_str(&" ".repeat(indent));
        }
        let entry_allowance = if last { allowance } else { 1 };
        match key {
            Some(k) => {
                let key_rep = string_repr(k, false);
                let key_len = key_rep.chars().count();
                out.push_str(&key_rep);
                out.push_str(": ");
                format_value(value, indent + key_len + 2, entry_allowance, level, out);
            }
            None => format_value(value, indent, entry_allowance, level, out),
        }
    }
}

/// `_pprint_str`: a long string is cut after whitespace into adjacent literals, wrapped in
/// parentheses at the top level.
fn format_str(s: &str, mut indent: usize, mut allowance: usize, level: usize, out: &mut String) {
    if level == 1 {
        indent += 1;
        allowance += 1;
    }
    let width = WIDTH.saturating_sub(indent);
    let width_of = |text: &str| string_repr(text, false).chars().count();
    let lines = splitlines_keepends(s);
    let mut chunks: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let last_line = i + 1 == lines.len();
        let line_width = if last_line {
            width.saturating_sub(allowance)
        } else {
            width
        };
        if width_of(line) <= line_width {
            chunks.push(string_repr(line, false));
            continue;
        }
        let parts = space_runs(line);
        let mut current = String::new();
        for (j, part) in parts.iter().enumerate() {
            let candidate = format!("{current}{part}");
            let part_width = if j + 1 == parts.len() && last_line {
                width.saturating_sub(allowance)
            } else {
                width
            };
            if width_of(&candidate) > part_width {
                if !current.is_empty() {
                    chunks.push(string_repr(&current, false));
                }
                current = (*part).to_string();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            chunks.push(string_repr(&current, false));
        }
    }
    if chunks.len() <= 1 {
        out.push_str(&string_repr(s, false));
        return;
    }
    if level == 1 {
        out.push('(');
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(chunk);
    }
    if level == 1 {
        out.push(')');
    }
}

/// `re.findall(r'\S*\s*', line)` without the final empty match.
fn space_runs(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in line.char_indices() {
        let space = isspace(c);
        if !space && in_space {
            parts.push(&line[start..i]);
            start = i;
        }
        in_space = space;
    }
    if start < line.len() {
        parts.push(&line[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pformat_wraps_like_python() {
        let long: Vec<Value> = (0..30).map(|i| json!(format!("t{i}"))).collect();
        let text = pformat(&Value::Array(long));
        assert!(text.starts_with("['t0',\n 't1',\n"), "{text}");
        assert!(text.ends_with("\n 't29']"));
        let spaced = "word ".repeat(20);
        assert_eq!(
            pformat(&json!(spaced)),
            "('word word word word word word word word word word word word word '\n 'word word word word word word word ')"
        );
        assert_eq!(
            pformat(&json!([spaced, "x"])),
            "['word word word word word word word word word word word word word '\n 'word word word word word word word ',\n 'x']"
        );
        assert_eq!(
            pformat(&json!("x".repeat(80))),
            format!("'{}'", "x".repeat(80))
        );
        assert_eq!(
            pformat(
                &json!({"type": "object", "properties": {"original_password": {"type": "string"}, "password": {"type": "string"}}, "required": ["original_password", "password"], "additionalProperties": false})
            ),
            "{'type': 'object',\n 'properties': {'original_password': {'type': 'string'},\n                'password': {'type': 'string'}},\n 'required': ['original_password', 'password'],\n 'additionalProperties': False}"
        );
    }
}
