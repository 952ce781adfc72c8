//! Deleting projects and domains as Keystone does, in one transaction: the row, what other
//! subsystems keep about it, and a revocation event per deleted project (and per deleted
//! user) so existing tokens stop validating.

use super::{
    Project, Settings, cascade, delete_forbidden, domain_not_found, forbidden, project_not_found,
    store,
};
use crate::db::AnyConnection;
use crate::error::Result;
use crate::identity;
use crate::revoke::{self, RevocationEvent};

/// `DELETE /v3/projects/{id}`: a leaf project, or a disabled domain with everything in it
/// (a domain is a project acting as one).
pub fn delete_project(conn: &mut AnyConnection, s: &Settings, id: &str) -> Result<()> {
    let project = store::get_any(conn, id)?.ok_or_else(|| project_not_found(id))?;
    if project.is_domain {
        return delete_domain_tree(conn, s, &project);
    }
    delete_leaf(conn, s, &project)
}

/// `DELETE /v3/domains/{id}`.
pub fn delete_domain(conn: &mut AnyConnection, s: &Settings, id: &str) -> Result<()> {
    let domain = store::get_domain(conn, id)?.ok_or_else(|| domain_not_found(id))?;
    delete_domain_tree(conn, s, &domain)
}

/// Keystone's `_delete_project` without cascade.
fn delete_leaf(conn: &mut AnyConnection, s: &Settings, p: &Project) -> Result<()> {
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
    cascade::delete_project_assignments(conn, &p.id)?;
    cascade::delete_project_dependents(conn, &p.id)?;
    crate::oauth1::on_project_deleted(conn, &p.id)?;
    revoke::store::insert(
        conn,
        &RevocationEvent::for_project(&p.id),
        s.revocation_retention_secs,
    )
}

/// Keystone's `_delete_domain`: only a disabled, mutable domain; its projects leaves first,
/// then its groups and users, then the domain itself, its grants and its configuration.
fn delete_domain_tree(conn: &mut AnyConnection, s: &Settings, domain: &Project) -> Result<()> {
    if domain.is_immutable() {
        return Err(delete_forbidden("domain", &domain.id));
    }
    if domain.enabled {
        return Err(forbidden(
            "Cannot delete a domain that is enabled, please disable it first.",
        ));
    }
    let projects = store::projects_in_domain(conn, &domain.id)?;
    let mut order: Vec<&Project> = Vec::new();
    for root in projects
        .iter()
        .filter(|p| p.parent_id.as_deref() == Some(domain.id.as_str()))
    {
        leaves_first(root, &projects, &mut order);
    }
    for p in order {
        delete_leaf(conn, s, p)?;
    }
    // Through identity's own deletes, so their cascades (application credentials, OAuth1
    // delegations, revocation events) are the same as for DELETE /v3/users and /v3/groups.
    for group_id in cascade::group_ids_in_domain(conn, &domain.id)? {
        identity::groups::delete(conn, s.revocation_retention_secs, &group_id)?;
    }
    for user_id in cascade::user_ids_in_domain(conn, &domain.id)? {
        identity::users::delete(conn, s.revocation_retention_secs, &user_id)?;
    }
    delete_leaf(conn, s, domain)?;
    cascade::delete_domain_config(conn, &domain.id)?;
    cascade::delete_domain_assignments(conn, &domain.id)
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
