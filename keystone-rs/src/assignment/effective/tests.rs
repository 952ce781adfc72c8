//! The expansion against an in-memory directory: orders and shapes as Keystone produces
//! them (checked against a running Keystone 30 with the same fixture).

use super::*;
use crate::assignment::model::Indirect;
use crate::error::Error;
use std::collections::HashMap;

#[derive(Default)]
struct Fake {
    grants: Vec<Assignment>,
    system: Vec<Assignment>,
    members: HashMap<String, Vec<String>>,
    /// project → (domain, parent)
    projects: Vec<(String, String, Option<String>)>,
    implied: Vec<(String, String)>,
    domain_roles: Vec<String>,
}

impl Directory for Fake {
    fn grants(&mut self, q: &GrantQuery) -> Result<Vec<Assignment>> {
        Ok(self
            .grants
            .iter()
            .filter(|a| q.role_id.as_ref().is_none_or(|r| &a.role_id == r))
            .filter(|a| match (&q.group_ids, &q.user_id) {
                (Some(g), _) if !g.is_empty() => {
                    a.group_id().is_some_and(|id| g.iter().any(|x| x == id))
                }
                (_, Some(u)) => a.user_id() == Some(u.as_str()),
                _ => true,
            })
            .filter(|a| match (&q.project_ids, &q.domain_id) {
                (Some(p), _) if !p.is_empty() => {
                    a.project_id().is_some_and(|id| p.iter().any(|x| x == id))
                }
                (_, Some(d)) => a.domain_id() == Some(d.as_str()),
                _ => true,
            })
            .filter(|a| q.inherited.is_none_or(|i| a.inherited == i))
            .cloned()
            .collect())
    }
    fn system_grants(&mut self, actor: Option<&Actor>) -> Result<Vec<Assignment>> {
        Ok(self
            .system
            .iter()
            .filter(|a| actor.is_none_or(|x| &a.actor == x))
            .cloned()
            .collect())
    }
    fn group_ids_for_user(&mut self, user_id: &str) -> Result<Vec<String>> {
        Ok(self
            .members
            .iter()
            .filter(|(_, m)| m.iter().any(|u| u == user_id))
            .map(|(g, _)| g.clone())
            .collect())
    }
    fn user_ids_in_group(&mut self, group_id: &str) -> Result<Vec<String>> {
        Ok(self.members.get(group_id).cloned().unwrap_or_default())
    }
    fn project_domain_id(&mut self, project_id: &str) -> Result<String> {
        self.projects
            .iter()
            .find(|p| p.0 == project_id)
            .map(|p| p.1.clone())
            .ok_or_else(|| Error::could_not_find("project", project_id))
    }
    fn project_parent_ids(&mut self, project_id: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut cur = project_id.to_string();
        while let Some(parent) = self
            .projects
            .iter()
            .find(|p| p.0 == cur)
            .and_then(|p| p.2.clone())
        {
            out.push(parent.clone());
            cur = parent;
        }
        Ok(out)
    }
    fn projects_in_subtree(&mut self, project_id: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut frontier = vec![project_id.to_string()];
        while !frontier.is_empty() {
            let next: Vec<String> = self
                .projects
                .iter()
                .filter(|p| p.2.as_ref().is_some_and(|parent| frontier.contains(parent)))
                .map(|p| p.0.clone())
                .collect();
            out.extend(next.iter().cloned());
            frontier = next;
        }
        Ok(out)
    }
    fn projects_in_domain(&mut self, domain_id: &str) -> Result<Vec<String>> {
        Ok(self
            .projects
            .iter()
            .filter(|p| p.1 == domain_id)
            .map(|p| p.0.clone())
            .collect())
    }
    fn implied_role_ids(&mut self, prior: &str) -> Result<Vec<String>> {
        Ok(self
            .implied
            .iter()
            .filter(|(p, _)| p == prior)
            .map(|(_, i)| i.clone())
            .collect())
    }
    fn role_is_global(&mut self, role_id: &str) -> Result<bool> {
        Ok(!self.domain_roles.iter().any(|r| r == role_id))
    }
}

fn user(u: &str) -> Actor {
    Actor::User(u.into())
}
fn group(g: &str) -> Actor {
    Actor::Group(g.into())
}
fn project(p: &str) -> Target {
    Target::Project(p.into())
}
fn domain(d: &str) -> Target {
    Target::Domain(d.into())
}

/// The fixture compared with Keystone: domain D with P1 ⊃ P2; u1 in g1; roles a → b → c.
fn fixture() -> Fake {
    let mut f = Fake::default();
    f.projects = vec![
        ("P1".into(), "D".into(), Some("D".into())),
        ("P2".into(), "D".into(), Some("P1".into())),
    ];
    f.members.insert("g1".into(), vec!["u1".into()]);
    f.implied = vec![("a".into(), "b".into()), ("b".into(), "c".into())];
    f.grants = vec![
        Assignment::direct(user("u1"), project("P1"), "a", false),
        Assignment::direct(group("g1"), domain("D"), "c", false),
        Assignment::direct(user("u1"), domain("D"), "b", true),
        Assignment::direct(group("g1"), project("P1"), "a", true),
    ];
    f.system = vec![Assignment::direct(user("u1"), Target::System, "c", false)];
    f
}

fn short(refs: &[Assignment]) -> Vec<String> {
    refs.iter()
        .map(|a| {
            let actor = match &a.actor {
                Actor::User(u) => u.clone(),
                Actor::Group(g) => g.clone(),
            };
            let target = match &a.target {
                Target::Project(p) | Target::Domain(p) => p.clone(),
                Target::System => "system".into(),
            };
            let Indirect {
                group_id,
                project_id,
                domain_id,
                role_id,
            } = &a.indirect;
            let via: Vec<String> = [group_id, project_id, domain_id, role_id]
                .iter()
                .filter_map(|x| (*x).clone())
                .collect();
            format!(
                "{actor}@{target}:{}{}[{}]",
                a.role_id,
                if a.inherited { "+inh" } else { "" },
                via.join(",")
            )
        })
        .collect()
}

#[test]
fn direct_listing_ends_with_system_grants() {
    let mut f = fixture();
    let req = ListRequest {
        user_id: Some("u1".into()),
        ..Default::default()
    };
    assert_eq!(
        short(&list(&mut f, &req).unwrap()),
        vec!["u1@P1:a[]", "u1@D:b+inh[]", "u1@system:c[]"]
    );
}

#[test]
fn effective_listing_matches_keystones_order() {
    let mut f = fixture();
    let req = ListRequest {
        user_id: Some("u1".into()),
        effective: true,
        ..Default::default()
    };
    assert_eq!(
        short(&list(&mut f, &req).unwrap()),
        vec![
            "u1@P1:a[]",
            "u1@P1:b[D]",
            "u1@P2:b[D]",
            "u1@D:c[g1]",
            "u1@P2:a[g1,P1]",
            "u1@P2:b[g1,P1,a]",
            "u1@P2:c[g1,P1,b]",
            "u1@P2:c[D,b]",
            "u1@P1:c[D,b]",
            "u1@P1:b[a]",
            "u1@P1:c[b]",
        ]
    );
}

#[test]
fn inherited_grants_reach_children_not_the_assignment_point() {
    let mut f = fixture();
    let on = |f: &mut Fake, p: &str| {
        let req = ListRequest::effective_for_user("u1", &project(p));
        unique_role_ids(&list(f, &req).unwrap())
    };
    // P1: direct a (→ b → c) and the domain-inherited b; the group's inherited a stops above.
    assert_eq!(on(&mut f, "P1"), vec!["a", "b", "c"]);
    f.grants.remove(0);
    assert_eq!(on(&mut f, "P1"), vec!["b", "c"]);
    f.grants.remove(1);
    assert_eq!(on(&mut f, "P1"), Vec::<String>::new());
    assert_eq!(on(&mut f, "P2"), vec!["a", "b", "c"]);
}

#[test]
fn domain_roles_only_imply() {
    let mut f = fixture();
    f.domain_roles = vec!["a".into()];
    let req = ListRequest::effective_for_user("u1", &project("P1"));
    assert_eq!(
        unique_role_ids(&list(&mut f, &req).unwrap()),
        vec!["b", "c"]
    );
}

#[test]
fn implication_cycles_terminate() {
    let mut f = fixture();
    f.implied.push(("c".into(), "a".into()));
    let req = ListRequest::effective_for_user("u1", &domain("D"));
    let ids = unique_role_ids(&list(&mut f, &req).unwrap());
    assert_eq!(ids, vec!["c", "a", "b"]);
}

#[test]
fn effective_with_a_group_filter_is_empty_and_unknown_projects_are_404() {
    let mut f = fixture();
    let req = ListRequest {
        group_id: Some("g1".into()),
        effective: true,
        ..Default::default()
    };
    assert!(list(&mut f, &req).unwrap().is_empty());
    let req = ListRequest::effective_for_user("u1", &project("nope"));
    assert_eq!(list(&mut f, &req).unwrap_err().status.as_u16(), 404);
}

/// What Keystone's `list_projects_for_user` / `list_domains_for_user` read off the listing.
fn targets_of_listing(f: &mut Fake, req: &ListRequest) -> (Vec<String>, Vec<String>) {
    let refs = list(f, req).unwrap();
    let mut projects: Vec<String> = refs
        .iter()
        .filter_map(|r| r.project_id().map(str::to_string))
        .collect();
    let mut domains: Vec<String> = refs
        .iter()
        .filter_map(|r| r.domain_id().map(str::to_string))
        .collect();
    for ids in [&mut projects, &mut domains] {
        ids.sort();
        ids.dedup();
    }
    (projects, domains)
}

#[test]
fn targets_are_the_listings_targets() {
    let by_user = ListRequest {
        user_id: Some("u1".into()),
        effective: true,
        ..Default::default()
    };
    let groups = vec!["g1".to_string()];
    let by_groups = ListRequest {
        source_from_group_ids: Some(groups.clone()),
        effective: true,
        ..Default::default()
    };
    let variants: Vec<Box<dyn Fn(&mut Fake)>> = vec![
        Box::new(|_| {}),
        // A domain role that implies a global one still shows its target; one that implies
        // nothing global does not.
        Box::new(|f| f.domain_roles = vec!["a".into()]),
        Box::new(|f| f.domain_roles = vec!["a".into(), "b".into(), "c".into()]),
        Box::new(|f| {
            f.domain_roles = vec!["c".into()];
            f.implied.clear();
        }),
        Box::new(|f| f.implied.push(("c".into(), "a".into()))),
        // A third level, inherited from the middle, and a grant on an unrelated domain.
        Box::new(|f| {
            f.projects
                .push(("P3".into(), "D".into(), Some("P2".into())));
            f.projects.push(("Q1".into(), "E".into(), Some("E".into())));
            f.grants
                .push(Assignment::direct(group("g1"), project("P2"), "b", true));
            f.grants
                .push(Assignment::direct(user("u1"), domain("E"), "a", true));
        }),
    ];
    for (i, change) in variants.iter().enumerate() {
        let mut f = fixture();
        change(&mut f);
        let expected = targets_of_listing(&mut f, &by_user);
        assert_eq!(
            targets(&mut f, Holder::User("u1")).unwrap(),
            expected,
            "variant {i}"
        );
        let expected = targets_of_listing(&mut f, &by_groups);
        assert_eq!(
            targets(&mut f, Holder::Groups(&groups)).unwrap(),
            expected,
            "variant {i}, groups"
        );
    }
    let mut f = fixture();
    assert_eq!(
        targets(&mut f, Holder::User("u1")).unwrap(),
        (
            vec!["P1".to_string(), "P2".to_string()],
            vec!["D".to_string()]
        )
    );
    assert_eq!(
        targets(&mut f, Holder::Groups(&[])).unwrap(),
        (vec![], vec![])
    );
}
