//! Every response a black-box test sees is checked against api-ref/openapi.yaml: the route
//! and status must be documented, and a JSON body must match the documented schema.

use serde_json::{Map, Value};
use std::sync::OnceLock;
use yaml_rust2::{Yaml, YamlLoader};

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(s) => s
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(s.clone())),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::from(s.clone()),
        Yaml::Boolean(b) => Value::from(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    other => format!("{other:?}"),
                };
                m.insert(key, yaml_to_json(v));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

/// OpenAPI 3.0's `nullable: true` is not JSON Schema: turn it into a `null` type.
fn nullable_to_json_schema(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.remove("nullable") == Some(Value::Bool(true)) {
                match m.get("type").cloned() {
                    Some(Value::String(t)) => {
                        m.insert("type".into(), Value::Array(vec![t.into(), "null".into()]));
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(m));
                        m.insert(
                            "anyOf".into(),
                            Value::Array(vec![inner, serde_json::json!({"type": "null"})]),
                        );
                    }
                }
            }
            for child in m.values_mut() {
                nullable_to_json_schema(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(nullable_to_json_schema),
        _ => {}
    }
}

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api-ref/openapi.yaml");
        let text = std::fs::read_to_string(path).expect("api-ref/openapi.yaml");
        let docs = YamlLoader::load_from_str(&text).expect("openapi.yaml is YAML");
        let mut doc = yaml_to_json(&docs[0]);
        nullable_to_json_schema(&mut doc);
        doc
    })
}

/// Does a documented template (`/v3/users/{user_id}`) match a concrete path?
fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| (a.starts_with('{') && a.ends_with('}') && !b.is_empty()) || a == b)
}

/// A JSON pointer segment inside a URI fragment: `~` and `/` escaped, braces
/// percent-encoded.
fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// Follow `$ref`s of a response object (responses may be references too).
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..8 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => match doc.pointer(r.trim_start_matches('#')) {
                Some(target) => v = target,
                None => break,
            },
            None => break,
        }
    }
    v
}

/// Panics when the exchange is not what api-ref documents.
pub fn check(method: &str, path: &str, status: u16, content_type: Option<&str>, body: &str) {
    let doc = document();
    let path_only = path.split('?').next().unwrap_or(path);
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return;
    };
    // Prefer the literal route over a templated one (`/v3/auth/tokens` over `/v3/auth/{x}`).
    let mut candidates: Vec<&String> = paths
        .keys()
        .filter(|t| template_matches(t, path_only))
        .collect();
    candidates.sort_by_key(|t| t.matches('{').count());
    let Some(template) = candidates.first() else {
        // Unknown routes are the werkzeug 404 page; nothing to document.
        assert_eq!(
            status, 404,
            "{method} {path} answered {status} but is not in api-ref/openapi.yaml"
        );
        return;
    };
    let method_lc = method.to_ascii_lowercase();
    let Some(operation) = paths[*template].get(&method_lc) else {
        assert_eq!(
            status, 405,
            "{method} {template} answered {status} but api-ref does not document {method}"
        );
        return;
    };
    if status == 405 || status == 413 {
        return; // framework-level answers, the same on every route
    }
    let responses = operation.get("responses").cloned().unwrap_or(Value::Null);
    // Every authenticated operation can answer 401 (no valid token) and 403 (policy): the
    // document declares that once, through the global `security`, not per operation.
    let authenticated = operation
        .get("security")
        .and_then(Value::as_array)
        .is_none_or(|s| !s.is_empty());
    if authenticated
        && (status == 401 || status == 403)
        && responses.get(status.to_string()).is_none()
    {
        return;
    }
    // Any operation can answer 503 while the database is unreachable, with the error JSON:
    // declared once, in `info.description`.
    if status == 503 && responses.get("503").is_none() {
        let error: Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{method} {path} 503: not the error JSON ({e}): {body}"));
        assert_eq!(error["error"]["code"], 503, "{method} {path}: {body}");
        assert_eq!(error["error"]["title"], "Service Unavailable", "{body}");
        assert!(error["error"]["message"].is_string(), "{body}");
        return;
    }
    let Some(response) = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"))
    else {
        panic!(
            "{method} {template} ({path}) answered {status}, which api-ref does not document for it"
        );
    };
    let response = resolve(doc, response);
    let is_json = content_type.is_some_and(|c| c.starts_with("application/json"));
    if !is_json || body.is_empty() || method == "HEAD" {
        return;
    }
    if response
        .pointer("/content/application~1json/schema")
        .is_none()
    {
        return;
    }
    let instance: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{method} {path}: invalid JSON ({e}): {body}"));
    // Validate against the whole document so `#/components/...` references resolve.
    let status_key = if responses.get(status.to_string()).is_some() {
        status.to_string()
    } else {
        "default".into()
    };
    let mut root = doc.clone();
    let pointer = match responses[&status_key].get("$ref").and_then(Value::as_str) {
        // The response is itself a reference: the schema sits inside its target.
        Some(r) => format!("{r}/content/application~1json/schema"),
        None => format!(
            "#/paths/{}/{}/responses/{}/content/application~1json/schema",
            pointer_escape(template),
            method_lc,
            status_key
        ),
    };
    if let Value::Object(m) = &mut root {
        m.insert("$ref".into(), Value::String(pointer));
        m.insert(
            "$schema".into(),
            Value::String("http://json-schema.org/draft-04/schema#".into()),
        );
    }
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("api-ref schema for {method} {template}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: body does not match api-ref: {errors:#?}\n{body}"
    );
}

#[test]
#[should_panic(expected = "does not match api-ref")]
fn a_body_off_schema_fails() {
    check(
        "GET",
        "/v3/auth/catalog",
        200,
        Some("application/json"),
        r#"{"catalog": 5, "links": {"self": "x"}}"#,
    );
}

#[test]
#[should_panic(expected = "does not match api-ref")]
fn null_where_not_nullable_fails() {
    check(
        "GET",
        "/v3/auth/system",
        200,
        Some("application/json"),
        r#"{"system": null, "links": {"self": "x"}}"#,
    );
}

#[test]
fn nullable_fields_accept_null() {
    check(
        "GET",
        "/v3/auth/projects",
        200,
        Some("application/json"),
        r#"{"projects": [], "links": {"self": "x", "next": null, "previous": null}}"#,
    );
}

#[test]
#[should_panic(expected = "does not document")]
fn an_undocumented_status_fails() {
    check(
        "GET",
        "/v3/auth/catalog",
        418,
        Some("application/json"),
        "{}",
    );
}
