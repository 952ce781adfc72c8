//! Building the target dict the way Keystone's RBAC enforcer does (spec §5.2): a nested
//! dict of path variables, `target.<entity>`, `request_body` and `filter_attr`, flattened
//! into dotted keys before evaluation.

use serde_json::{Map, Value};

/// Deeper nesting than this is kept as a value instead of being flattened further; targets
/// are built by our own handlers and never come close.
const MAX_FLATTEN_DEPTH: usize = 64;

/// Keystone's `flatten_dict`: nested objects become `a.b.c` keys; lists and scalars stay
/// values; an empty nested object contributes nothing. A non-object flattens to nothing.
pub fn flatten(value: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(map) = value {
        flatten_into(map, "", 0, &mut out);
    }
    out
}

fn flatten_into(
    map: &Map<String, Value>,
    parent: &str,
    depth: usize,
    out: &mut Map<String, Value>,
) {
    for (key, value) in map {
        let name = if parent.is_empty() {
            key.clone()
        } else {
            format!("{parent}.{key}")
        };
        match value {
            Value::Object(inner) if depth < MAX_FLATTEN_DEPTH => {
                flatten_into(inner, &name, depth + 1, out)
            }
            other => {
                out.insert(name, other.clone());
            }
        }
    }
}

/// Assembles a target in Keystone's priority order; later calls of the same kind add to or
/// replace earlier ones. `build()` flattens.
#[derive(Debug, Clone, Default)]
pub struct TargetBuilder {
    root: Map<String, Value>,
}

impl TargetBuilder {
    pub fn new() -> TargetBuilder {
        TargetBuilder::default()
    }

    /// A URL path variable (`user_id`, `project_id`, …), at the top level.
    pub fn path_var(mut self, name: &str, value: impl Into<Value>) -> TargetBuilder {
        self.root.insert(name.to_string(), value.into());
        self
    }

    /// One entity under `target.<name>` (`target.user.id`, `target.user.domain_id`, …),
    /// added to what `target` already holds.
    pub fn entity(mut self, name: &str, value: Value) -> TargetBuilder {
        let target = self
            .root
            .entry("target")
            .or_insert_with(|| Value::Object(Map::new()));
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        if let Value::Object(map) = target {
            map.insert(name.to_string(), value);
        }
        self
    }

    /// An explicit target object replacing whatever `target` held (Keystone's
    /// `target_attr` / `build_target`).
    pub fn target(mut self, value: Value) -> TargetBuilder {
        self.root.insert("target".into(), value);
        self
    }

    /// The JSON request body under `request_body.*`; an empty or falsy body adds nothing.
    pub fn request_body(mut self, body: &Value) -> TargetBuilder {
        if crate::python::is_truthy(body) {
            self.root.insert("request_body".into(), body.clone());
        }
        self
    }

    /// Query parameters the API declares as filters, under `filter_attr.*`; none adds nothing.
    pub fn filters<I, K, V>(mut self, filters: I) -> TargetBuilder
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        let map: Map<String, Value> = filters
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if !map.is_empty() {
            self.root.insert("filter_attr".into(), Value::Object(map));
        }
        self
    }

    /// The nested dict, before flattening.
    pub fn nested(&self) -> Value {
        Value::Object(self.root.clone())
    }

    /// The flattened target to hand to the enforcer.
    pub fn build(self) -> Value {
        Value::Object(flatten(&Value::Object(self.root)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_like_keystone() {
        let flat = flatten(&json!({
            "user_id": "u",
            "target": {"user": {"id": "u", "options": {}, "tags": ["a"], "domain_id": null}},
            "": {"x": 1}
        }));
        assert_eq!(
            Value::Object(flat),
            json!({"user_id": "u", "target.user.id": "u", "target.user.tags": ["a"], "target.user.domain_id": null, "x": 1})
        );
        assert!(flatten(&json!([1])).is_empty());
    }

    #[test]
    fn builder_namespaces_body_and_filters() {
        let target = TargetBuilder::new()
            .path_var("user_id", "u1")
            .entity("user", json!({"id": "u1", "domain_id": "d"}))
            .entity("project", json!({"id": "p"}))
            .request_body(&json!({"user": {"name": "n"}, "user_id": "evil"}))
            .request_body(&json!({}))
            .filters([("domain_id", "d"), ("scope.project.id", "p")])
            .build();
        assert_eq!(
            target,
            json!({
                "user_id": "u1",
                "target.user.id": "u1",
                "target.user.domain_id": "d",
                "target.project.id": "p",
                "request_body.user.name": "n",
                "request_body.user_id": "evil",
                "filter_attr.domain_id": "d",
                "filter_attr.scope.project.id": "p"
            })
        );
        let empty = TargetBuilder::new()
            .filters(Vec::<(String, String)>::new())
            .request_body(&json!(null))
            .build();
        assert_eq!(empty, json!({}));
    }
}
