//! Services, endpoints and regions, and the catalog rendered into tokens
//! (shared/spec/tokens-api.md §5).

pub mod store;

use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Service {
    pub id: String,
    pub service_type: String,
    pub enabled: bool,
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: String,
    pub interface: String,
    pub service_id: String,
    pub url: String,
    pub enabled: bool,
    pub region_id: Option<String>,
    pub extra: Map<String, Value>,
}

/// What `$(name)s` placeholders in endpoint URLs may refer to.
#[derive(Debug, Clone, Default)]
pub struct Substitutions {
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub public_endpoint: Option<String>,
}

/// Substitute `$(name)s` placeholders. `None` when the URL needs a value the token does
/// not have, names an unknown placeholder or is malformed: Keystone drops that endpoint.
pub fn substitute_url(url: &str, subs: &Substitutions) -> Option<String> {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find(")s")?;
        let name = &after[..end];
        let value = match name {
            "tenant_id" | "project_id" => subs.project_id.as_deref()?,
            "user_id" => subs.user_id.as_deref()?,
            "public_endpoint" => subs.public_endpoint.as_deref()?,
            _ => return None,
        };
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// The catalog: enabled services with their enabled endpoints, in Keystone's key order.
pub fn render(services: &[Service], endpoints: &[Endpoint], subs: &Substitutions) -> Value {
    let catalog = services
        .iter()
        .filter(|s| s.enabled)
        .map(|service| {
            let eps: Vec<Value> = endpoints
                .iter()
                .filter(|e| e.enabled && e.service_id == service.id)
                .filter_map(|e| {
                    let url = substitute_url(&e.url, subs)?;
                    let mut m = e.extra.clone();
                    m.insert("id".into(), e.id.clone().into());
                    m.insert("interface".into(), e.interface.clone().into());
                    m.insert("region_id".into(), e.region_id.clone().into());
                    m.insert("url".into(), url.into());
                    m.insert("region".into(), e.region_id.clone().into());
                    Some(Value::Object(m))
                })
                .collect();
            let mut m = Map::new();
            m.insert("endpoints".into(), Value::Array(eps));
            m.insert("id".into(), service.id.clone().into());
            m.insert("type".into(), service.service_type.clone().into());
            m.insert(
                "name".into(),
                service
                    .extra
                    .get("name")
                    .cloned()
                    .unwrap_or_else(|| "".into()),
            );
            Value::Object(m)
        })
        .collect();
    Value::Array(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_known_placeholders() {
        let subs = Substitutions {
            project_id: Some("p1".into()),
            ..Default::default()
        };
        assert_eq!(
            substitute_url("http://x/v2/$(project_id)s", &subs).as_deref(),
            Some("http://x/v2/p1")
        );
        assert_eq!(
            substitute_url("http://x/v2/$(tenant_id)s/a", &subs).as_deref(),
            Some("http://x/v2/p1/a")
        );
    }

    #[test]
    fn drops_unusable_urls() {
        let none = Substitutions::default();
        assert_eq!(substitute_url("http://x/$(project_id)s", &none), None);
        assert_eq!(substitute_url("http://x/$(bogus)s", &none), None);
        assert_eq!(substitute_url("http://x/$(project_id", &none), None);
        assert_eq!(
            substitute_url("http://x/v3", &none).as_deref(),
            Some("http://x/v3")
        );
    }
}
