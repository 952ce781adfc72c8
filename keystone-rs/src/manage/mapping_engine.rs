//! `keystone-manage mapping_engine --rules FILE --input FILE [--prefix P] [--engine-debug]
//! [--mapping-schema-version V]`: run a federation mapping over an assertion file locally,
//! with Keystone's file formats, checks and messages, on keystone-rs's rule engine
//! ([`crate::federation::rules`]).
//!
//! Prints Keystone's result dict: the user, group ids, groups by name and projects.

use serde_json::{Value, json};

/// Why the command stops: printed as keystone-manage's `SystemExit(message)` (exit 1).
#[derive(Debug)]
pub struct Refusal(pub String);

pub struct Request<'a> {
    pub rules: &'a str,
    pub input: &'a str,
    pub prefix: Option<&'a str>,
    pub engine_debug: bool,
    pub schema_version: Option<&'a str>,
}

/// The rules file: JSON, a list of rules or `{"rules": [...]}`.
fn read_rules(path: &str) -> Result<Value, Refusal> {
    let bytes = std::fs::read(path).map_err(|e| {
        Refusal(format!(
            "Error while opening file {path}: [Errno {}] {}: '{path}'",
            e.raw_os_error().unwrap_or(0),
            io_reason(&e)
        ))
    })?;
    let rules: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Refusal(format!("Error while parsing rules {path}: {e}")))?;
    Ok(match rules {
        Value::Array(list) => json!({ "rules": list }),
        other => other,
    })
}

/// Python's wording of the common OS errors (`strerror`).
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}

/// The assertion file: `key: value` lines; only keys starting with the prefix, if given.
fn read_assertion(path: &str, prefix: Option<&str>) -> Result<Vec<(String, String)>, Refusal> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Refusal(format!(
            "Error while opening file {path}: [Errno {}] {}: '{path}'",
            e.raw_os_error().unwrap_or(0),
            io_reason(&e)
        ))
    })?;
    let mut assertion: Vec<(String, String)> = Vec::new();
    for (number, line) in text.trim().lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(Refusal(format!(
                "assertion file {path} at line {} expected 'key: value' but found '{line}' see \
                 help for file format",
                number + 1
            )));
        };
        let (key, value) = (key.trim(), value.trim());
        if prefix.is_some_and(|p| !key.starts_with(p)) {
            continue;
        }
        // A dict: a repeated key keeps its first place and its last value.
        match assertion.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => assertion.push((key.to_string(), value.to_string())),
        }
    }
    Ok(assertion)
}

/// Run the command: the text to print on stdout, or why not.
pub fn run(request: &Request<'_>) -> Result<String, Refusal> {
    let rules = read_rules(request.rules)?;
    let mut mapping = rules.clone();
    let version = match request.schema_version {
        Some(v) => v.to_string(),
        None => match mapping.get("schema_version").and_then(Value::as_str) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => {
                tracing::warn!(
                    "No schema version defined in rules. Therefore, we will use the default as [1.0]."
                );
                "1.0".to_string()
            }
        },
    };
    if let Value::Object(m) = &mut mapping {
        m.remove("schema_version");
    }
    crate::federation::schema::check(&version, &mapping)
        .map_err(|e| Refusal(e.detail.unwrap_or(e.message)))?;
    tracing::info!("Attribute mapping rules are valid.");

    let assertion = read_assertion(request.input, request.prefix)?;
    let mut out = String::new();
    if request.engine_debug {
        let as_dict: serde_json::Map<String, Value> = assertion
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        out.push_str(&format!("Using Rules:\n{}\n", python_indent2(&rules)));
        out.push_str(&format!(
            "Using Assertion:\n{}\n",
            python_indent2(&Value::Object(as_dict))
        ));
    }
    // keystone-manage runs the schema-1.0 processor whatever the version (its
    // `RuleProcessor`), without a database: group names stay names.
    let mapped = crate::federation::rules::process_with(
        crate::federation::rules::Version::V1,
        &rules["rules"],
        &crate::federation::rules::Assertion::exact(assertion),
    )
    .map_err(|e| Refusal(e.0))?;
    let result = mapped.to_json();
    out.push_str(&python_indent2(&result));
    out.push('\n');
    Ok(out)
}

/// `json.dumps(value, indent=2)`: serde_json's pretty layout with Python's ASCII escapes.
fn python_indent2(value: &Value) -> String {
    let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
    let mut out = String::with_capacity(pretty.len());
    for c in pretty.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_layout() {
        assert_eq!(
            python_indent2(&json!({"user": {"name": "zoë"}, "projects": []})),
            "{\n  \"user\": {\n    \"name\": \"zo\\u00eb\"\n  },\n  \"projects\": []\n}"
        );
    }
}
