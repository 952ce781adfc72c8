//! The API form of a role assignment (Keystone's `RoleAssignmentsResource._format_entity`):
//! `links` (`membership`, `assignment`, `prior_role`), `scope`, `user` or `group`, `role`,
//! with names when `include_names` asked for them. The `assignment` link names the grant
//! the entry comes from; `prior_role` repeats Keystone's own (reversed) path.

use super::model::{Actor, Assignment, Target};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// `{id, name}` of a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainName {
    pub id: String,
    pub name: String,
}

/// Names of the entities the listed assignments mention (Keystone's
/// `_get_names_from_role_assignments`). A user or group that no longer exists has empty
/// names, as in Keystone.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// user id → (name, domain)
    pub users: HashMap<String, (String, DomainName)>,
    pub groups: HashMap<String, (String, DomainName)>,
    /// project id → (name, domain)
    pub projects: HashMap<String, (String, DomainName)>,
    pub domains: HashMap<String, String>,
    /// role id → (name, its domain for domain-specific roles)
    pub roles: HashMap<String, (String, Option<DomainName>)>,
}

fn empty_domain() -> DomainName {
    DomainName {
        id: String::new(),
        name: String::new(),
    }
}

fn named_with_domain(id: &str, entry: Option<&(String, DomainName)>) -> Value {
    let (name, domain) = entry
        .cloned()
        .unwrap_or_else(|| (String::new(), empty_domain()));
    json!({"id": id, "name": name, "domain": {"id": domain.id, "name": domain.name}})
}

pub fn assignment_json(a: &Assignment, base_url: &str, names: Option<&Names>) -> Value {
    let mut links = Map::new();
    let mut entity = Map::new();
    let mut inherited = a.inherited;
    let mut scope = Map::new();
    let mut path = match &a.target {
        Target::Project(project_id) => {
            let project = match names {
                Some(n) => named_with_domain(project_id, n.projects.get(project_id)),
                None => json!({"id": project_id}),
            };
            scope.insert("project".into(), project);
            if let Some(domain_id) = &a.indirect.domain_id {
                inherited = true;
                format!("/domains/{domain_id}")
            } else if let Some(source) = &a.indirect.project_id {
                inherited = true;
                format!("/projects/{source}")
            } else {
                format!("/projects/{project_id}")
            }
        }
        Target::Domain(domain_id) => {
            let domain = match names {
                Some(n) => {
                    json!({"id": domain_id, "name": n.domains.get(domain_id).cloned().unwrap_or_default()})
                }
                None => json!({"id": domain_id}),
            };
            scope.insert("domain".into(), domain);
            format!("/domains/{domain_id}")
        }
        Target::System => {
            scope.insert("system".into(), json!({"all": true}));
            "/system".to_string()
        }
    };

    let actor = match &a.actor {
        Actor::User(user_id) => {
            let user = match names {
                Some(n) => named_with_domain(user_id, n.users.get(user_id)),
                None => json!({"id": user_id}),
            };
            match &a.indirect.group_id {
                Some(group_id) => {
                    links.insert(
                        "membership".into(),
                        format!("{base_url}/v3/groups/{group_id}/users/{user_id}").into(),
                    );
                    path.push_str(&format!("/groups/{group_id}"));
                }
                None => path.push_str(&format!("/users/{user_id}")),
            }
            ("user", user)
        }
        Actor::Group(group_id) => {
            let group = match names {
                Some(n) => named_with_domain(group_id, n.groups.get(group_id)),
                None => json!({"id": group_id}),
            };
            path.push_str(&format!("/groups/{group_id}"));
            ("group", group)
        }
    };

    let role = match names {
        Some(n) => {
            let (name, domain) = n.roles.get(&a.role_id).cloned().unwrap_or_default();
            let mut role = json!({"id": a.role_id, "name": name});
            if let (Some(domain), Value::Object(m)) = (domain, &mut role) {
                m.insert(
                    "domain".into(),
                    json!({"id": domain.id, "name": domain.name}),
                );
            }
            role
        }
        None => json!({"id": a.role_id}),
    };
    let prior_role_link = match &a.indirect.role_id {
        Some(prior) => {
            path.push_str(&format!("/roles/{prior}"));
            Some(format!(
                "{base_url}/v3/prior_role/{}/implies/{prior}",
                a.role_id
            ))
        }
        None => {
            path.push_str(&format!("/roles/{}", a.role_id));
            None
        }
    };

    if inherited {
        scope.insert("OS-INHERIT:inherited_to".into(), "projects".into());
        path = format!("/OS-INHERIT{path}/inherited_to_projects");
    }
    links.insert("assignment".into(), format!("{base_url}/v3{path}").into());
    if let Some(link) = prior_role_link {
        links.insert("prior_role".into(), link.into());
    }

    entity.insert("links".into(), Value::Object(links));
    entity.insert("scope".into(), Value::Object(scope));
    entity.insert(actor.0.into(), actor.1);
    entity.insert("role".into(), role);
    Value::Object(entity)
}
