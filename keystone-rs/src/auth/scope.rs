//! The `scope` of an auth request and its resolution to loaded entities.

use super::request::{invalid_field, optional_string};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::resource::{Project, store as resource_store};
use crate::token::model::ResolvedScope;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScopeRequest {
    /// No scope: default project scoping applies.
    Absent,
    Unscoped,
    ProjectId(String),
    ProjectName {
        name: String,
        domain: DomainRef,
    },
    Domain(DomainRef),
    System,
    Trust(String),
}

fn bad_scope() -> Error {
    Error::expecting(
        "system, project, domain, OS-TRUST:trust or unscoped",
        "scope",
    )
}

/// `{"id": …}` or `{"name": …}` (name wins, as in Keystone).
pub fn parse_domain_ref(obj: &Value, path: &str) -> Result<DomainRef> {
    let obj = obj
        .as_object()
        .ok_or_else(|| invalid_field(path, &format!("{obj} is not of type 'object'")))?;
    if let Some(name) = optional_string(obj, "name", path)? {
        return Ok(DomainRef::Name(name));
    }
    if let Some(id) = optional_string(obj, "id", path)? {
        return Ok(DomainRef::Id(id));
    }
    Err(invalid_field(path, "id or name must be present."))
}

pub fn parse_scope(scope: Option<&Value>) -> Result<ScopeRequest> {
    let obj: &Map<String, Value> = match scope {
        None | Some(Value::Null) => return Ok(ScopeRequest::Absent),
        Some(Value::String(s)) if s == "unscoped" => return Ok(ScopeRequest::Unscoped),
        Some(Value::String(_)) => return Err(bad_scope()),
        Some(Value::Object(obj)) => obj,
        Some(other) => {
            return Err(invalid_field(
                "scope",
                &format!(
                    "{} is not of type 'object', 'string'",
                    super::request::py_repr(other)
                ),
            ));
        }
    };
    let kinds = ["project", "domain", "OS-TRUST:trust", "system", "unscoped"];
    let present: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if present.len() != 1 {
        return Err(bad_scope());
    }
    match present[0] {
        "unscoped" => Ok(ScopeRequest::Unscoped),
        "system" => match &obj["system"] {
            Value::Object(_) => Ok(ScopeRequest::System),
            other => Err(invalid_field(
                "scope/system",
                &format!("{} is not of type 'object'", super::request::py_repr(other)),
            )),
        },
        "domain" => Ok(ScopeRequest::Domain(parse_domain_ref(
            &obj["domain"],
            "scope/domain",
        )?)),
        "OS-TRUST:trust" => {
            let t = obj["OS-TRUST:trust"]
                .as_object()
                .ok_or_else(|| invalid_field("scope/OS-TRUST:trust", "is not of type 'object'"))?;
            let id = optional_string(t, "id", "scope/OS-TRUST:trust")?
                .ok_or_else(|| Error::expecting("trust_id", "trust"))?;
            Ok(ScopeRequest::Trust(id))
        }
        _ => {
            let p = obj["project"]
                .as_object()
                .ok_or_else(|| invalid_field("scope/project", "is not of type 'object'"))?;
            if let Some(name) = optional_string(p, "name", "scope/project")? {
                let domain = p
                    .get("domain")
                    .ok_or_else(|| Error::expecting("domain", "project"))?;
                let domain = parse_domain_ref(domain, "scope/project/domain")?;
                return Ok(ScopeRequest::ProjectName { name, domain });
            }
            match optional_string(p, "id", "scope/project")? {
                Some(id) => Ok(ScopeRequest::ProjectId(id)),
                None => Err(invalid_field(
                    "scope/project",
                    "id or name must be present.",
                )),
            }
        }
    }
}

/// A domain by reference; `None` if unknown.
pub fn find_domain(conn: &mut AnyConnection, r: &DomainRef) -> Result<Option<Project>> {
    match r {
        DomainRef::Id(id) => resource_store::get_domain(conn, id),
        DomainRef::Name(name) => resource_store::find_domain_by_name(conn, name),
    }
}

/// Resolve a requested scope. Unknown or disabled targets are a generic 401, as Keystone.
pub fn resolve(conn: &mut AnyConnection, scope: &ScopeRequest) -> Result<Option<ResolvedScope>> {
    let denied = |why: &str| Error::unauthorized_because(why.to_string());
    Ok(Some(match scope {
        ScopeRequest::Absent => return Ok(None),
        ScopeRequest::Unscoped => ResolvedScope::Unscoped,
        ScopeRequest::System => ResolvedScope::System,
        // Resolved with its trust (auth/trust.rs) before this is asked.
        ScopeRequest::Trust(_) => return Err(denied("trust scope resolved elsewhere")),
        ScopeRequest::Domain(r) => {
            let domain = find_domain(conn, r)?.ok_or_else(|| denied("unknown domain"))?;
            if !domain.enabled {
                return Err(denied("domain disabled"));
            }
            ResolvedScope::Domain(domain)
        }
        ScopeRequest::ProjectId(_) | ScopeRequest::ProjectName { .. } => {
            let project = match scope {
                ScopeRequest::ProjectId(id) => resource_store::get_project(conn, id)?,
                ScopeRequest::ProjectName { name, domain } => match find_domain(conn, domain)? {
                    Some(d) => resource_store::find_project_by_name(conn, &d.id, name)?,
                    None => None,
                },
                _ => None,
            }
            .ok_or_else(|| denied("unknown project"))?;
            let domain_id = project.domain_id.clone().unwrap_or_default();
            let domain = resource_store::get_domain(conn, &domain_id)?
                .ok_or_else(|| denied("project's domain missing"))?;
            if !project.enabled || !domain.enabled {
                return Err(denied("project or its domain disabled"));
            }
            ResolvedScope::Project { project, domain }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scope_kinds() {
        assert_eq!(parse_scope(None).unwrap(), ScopeRequest::Absent);
        assert_eq!(
            parse_scope(Some(&json!("unscoped"))).unwrap(),
            ScopeRequest::Unscoped
        );
        assert_eq!(
            parse_scope(Some(&json!({"system": {"all": false}}))).unwrap(),
            ScopeRequest::System
        );
        assert_eq!(
            parse_scope(Some(&json!({"project": {"id": "p"}}))).unwrap(),
            ScopeRequest::ProjectId("p".into())
        );
        assert_eq!(
            parse_scope(Some(
                &json!({"project": {"id": "p", "name": "n", "domain": {"id": "d"}}})
            ))
            .unwrap(),
            ScopeRequest::ProjectName {
                name: "n".into(),
                domain: DomainRef::Id("d".into())
            }
        );
    }

    #[test]
    fn bad_scopes_are_400() {
        for s in [
            json!("foo"),
            json!({}),
            json!({"project": {"id": "p"}, "domain": {"id": "d"}}),
            json!(3),
        ] {
            assert_eq!(
                parse_scope(Some(&s)).unwrap_err().status.as_u16(),
                400,
                "{s}"
            );
        }
        let e = parse_scope(Some(&json!({"project": {"name": "n"}}))).unwrap_err();
        assert!(
            e.message
                .starts_with("Expecting to find domain in project.")
        );
    }
}
