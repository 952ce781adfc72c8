//! The `scope` of an auth request and its resolution to loaded entities.

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

/// A string member of a reference, if Python finds it truthy (the schema made it a string).
pub fn truthy_str(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `AuthInfo._lookup_domain`'s reading of `{"id": …}` / `{"name": …}`: a truthy name wins,
/// else the id (an empty or missing one then finds nothing: a 401).
fn domain_ref(obj: &Value) -> DomainRef {
    let empty = Map::new();
    let obj = obj.as_object().unwrap_or(&empty);
    match truthy_str(obj, "name") {
        Some(name) => DomainRef::Name(name),
        None => DomainRef::Id(truthy_str(obj, "id").unwrap_or_default()),
    }
}

/// The scope of a request `validate_issue_token_auth` accepted, read as
/// `AuthInfo._validate_and_normalize_scope_data` does.
pub fn parse_scope(scope: Option<&Value>) -> Result<ScopeRequest> {
    let obj: &Map<String, Value> = match scope {
        None | Some(Value::Null) => return Ok(ScopeRequest::Absent),
        Some(Value::String(s)) if s == "unscoped" => return Ok(ScopeRequest::Unscoped),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(bad_scope()),
    };
    let kinds = ["project", "domain", "OS-TRUST:trust", "system", "unscoped"];
    let present: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    let [kind] = present.as_slice() else {
        return Err(bad_scope());
    };
    let empty = Map::new();
    let member = obj.get(*kind).and_then(Value::as_object).unwrap_or(&empty);
    match *kind {
        "unscoped" => Ok(ScopeRequest::Unscoped),
        "system" => Ok(ScopeRequest::System),
        "domain" => Ok(ScopeRequest::Domain(domain_ref(&obj["domain"]))),
        "OS-TRUST:trust" => truthy_str(member, "id")
            .map(ScopeRequest::Trust)
            .ok_or_else(|| Error::expecting("trust_id", "trust")),
        _ => match truthy_str(member, "name") {
            Some(name) => {
                let domain = member
                    .get("domain")
                    .ok_or_else(|| Error::expecting("domain", "project"))?;
                Ok(ScopeRequest::ProjectName {
                    name,
                    domain: domain_ref(domain),
                })
            }
            None => Ok(ScopeRequest::ProjectId(
                truthy_str(member, "id").unwrap_or_default(),
            )),
        },
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
        ScopeRequest::Trust(_) => return Err(denied("trust scope is not supported")),
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
            json!({"OS-TRUST:trust": {"id": ""}}),
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
        let e = parse_scope(Some(&json!({"OS-TRUST:trust": {}}))).unwrap_err();
        assert!(
            e.message
                .starts_with("Expecting to find trust_id in trust.")
        );
        // Keystone tests names and ids for truth: an empty name falls back to the id.
        assert_eq!(
            parse_scope(Some(&json!({"project": {"name": "", "id": "p"}}))).unwrap(),
            ScopeRequest::ProjectId("p".into())
        );
        assert_eq!(
            parse_scope(Some(&json!({"domain": {"name": "", "id": "d"}}))).unwrap(),
            ScopeRequest::Domain(DomainRef::Id("d".into()))
        );
    }
}

/// A project scope Keystone imposes rather than the request asks for (an OAuth1 access
/// token's, an application credential's, a certificate user's default project): the
/// project and its domain must exist (404) and be enabled.
pub fn enabled_project_scope(conn: &mut AnyConnection, project_id: &str) -> Result<ResolvedScope> {
    let project = resource_store::get_project(conn, project_id)?
        .ok_or_else(|| Error::could_not_find("project", project_id))?;
    let domain_id = project.domain_id.clone().unwrap_or_default();
    let domain = resource_store::get_domain(conn, &domain_id)?
        .ok_or_else(|| Error::could_not_find("domain", &domain_id))?;
    let scope = ResolvedScope::Project { project, domain };
    scope.check_enabled()?;
    Ok(scope)
}
