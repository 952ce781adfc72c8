//! Keystone's rules for deleting projects and domains: what may be deleted, in which order,
//! and the resource side of each deletion (the row and a revocation event per project, so
//! existing tokens stop validating). `crate::cascade` runs these with what the other
//! subsystems keep about each project, in one transaction.

use super::{
    Project, Settings, delete_forbidden, domain_not_found, forbidden, project_not_found, store,
};
use crate::db::AnyConnection;
use crate::error::Result;
use crate::revoke::{self, RevocationEvent};

/// What a delete request resolves to.
pub enum Deletion {
    /// A project that must be a leaf when its turn comes.
    Project(Project),
    /// A disabled, mutable domain and its projects, leaves first.
    Domain {
        domain: Project,
        projects: Vec<Project>,
    },
}

/// `DELETE /v3/projects/{id}`: a leaf project, or a domain with everything in it (a domain
/// is a project acting as one).
pub fn plan_project(conn: &mut AnyConnection, id: &str) -> Result<Deletion> {
    let project = store::get_any(conn, id)?.ok_or_else(|| project_not_found(id))?;
    if project.is_domain {
        return plan_domain_tree(conn, project);
    }
    Ok(Deletion::Project(project))
}

/// `DELETE /v3/domains/{id}`.
pub fn plan_domain(conn: &mut AnyConnection, id: &str) -> Result<Deletion> {
    let domain = store::get_domain(conn, id)?.ok_or_else(|| domain_not_found(id))?;
    plan_domain_tree(conn, domain)
}

/// Keystone's `_delete_domain` checks: only a disabled, mutable domain; its projects go
/// leaves first.
fn plan_domain_tree(conn: &mut AnyConnection, domain: Project) -> Result<Deletion> {
    if domain.is_immutable() {
        return Err(delete_forbidden("domain", &domain.id));
    }
    if domain.enabled {
        return Err(forbidden(
            "Cannot delete a domain that is enabled, please disable it first.",
        ));
    }
    let all = store::projects_in_domain(conn, &domain.id)?;
    let mut order: Vec<&Project> = Vec::new();
    for root in all
        .iter()
        .filter(|p| p.parent_id.as_deref() == Some(domain.id.as_str()))
    {
        leaves_first(root, &all, &mut order);
    }
    let projects = order.into_iter().cloned().collect();
    Ok(Deletion::Domain { domain, projects })
}

/// Keystone's `_delete_project` without cascade: an immutable project or one that still
/// has children is refused; else the row goes and a project revocation event is stored.
pub fn delete_one(conn: &mut AnyConnection, s: &Settings, p: &Project) -> Result<()> {
    if p.is_immutable() {
        return Err(delete_forbidden(
            if p.is_domain { "domain" } else { "project" },
            &p.id,
        ));
    }
    if store::has_children(conn, &p.id)? {
        return Err(forbidden(format!(
            "Cannot delete the project {} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree.",
            p.id
        )));
    }
    store::delete_project(conn, &p.id)?;
    revoke::store::insert(
        conn,
        &RevocationEvent::for_project(&p.id),
        s.revocation_retention_secs,
    )
}

/// Depth first, children before their parent; a project seen twice (a corrupt, circular
/// hierarchy) is skipped as Keystone does.
fn leaves_first<'a>(p: &'a Project, all: &'a [Project], out: &mut Vec<&'a Project>) {
    if out.iter().any(|seen| seen.id == p.id) {
        return;
    }
    let mut stack: Vec<(&Project, bool)> = vec![(p, false)];
    while let Some((node, expanded)) = stack.pop() {
        if expanded {
            if !out.iter().any(|seen| seen.id == node.id) {
                out.push(node);
            }
            continue;
        }
        stack.push((node, true));
        for child in all
            .iter()
            .filter(|c| c.parent_id.as_deref() == Some(node.id.as_str()))
            .filter(|c| !out.iter().any(|seen| seen.id == c.id) && c.id != node.id)
        {
            if stack.iter().any(|(s, _)| s.id == child.id) {
                continue;
            }
            stack.push((child, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn p(id: &str, parent: &str) -> Project {
        Project {
            id: id.into(),
            name: id.into(),
            description: None,
            enabled: false,
            domain_id: Some("d".into()),
            parent_id: Some(parent.into()),
            is_domain: false,
            extra: Map::new(),
            tags: vec![],
            options: Map::new(),
        }
    }

    #[test]
    fn children_go_before_parents() {
        let all = vec![p("a", "d"), p("b", "a"), p("c", "b"), p("e", "a")];
        let mut out = Vec::new();
        leaves_first(&all[0], &all, &mut out);
        let ids: Vec<&str> = out.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids.len(), 4);
        let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap_or(99);
        assert!(pos("c") < pos("b") && pos("b") < pos("a") && pos("e") < pos("a"));
    }

    #[test]
    fn cycles_terminate() {
        let all = vec![p("a", "b"), p("b", "a")];
        let mut out = Vec::new();
        leaves_first(&all[0], &all, &mut out);
        assert_eq!(out.len(), 2);
    }
}
