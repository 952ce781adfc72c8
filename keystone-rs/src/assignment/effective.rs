//! Listing role assignments the way Keystone's assignment manager does
//! (`list_role_assignments`): the stored ones, or — in effective mode — what they amount to
//! for users once group membership, inheritance down the project tree and implied roles are
//! expanded. Tokens take their roles from the same expansion, so `GET
//! /v3/role_assignments?effective` and a token's `roles` can never disagree.
//!
//! The order of the results follows Keystone's, step by step, because clients (and the
//! byte-for-byte comparisons in our tests) see it.

use super::model::{Actor, Assignment, GrantQuery, Target};
use crate::error::Result;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The data the expansion reads. The SQL store implements it; unit tests use a map.
pub trait Directory {
    /// Stored project/domain assignments matching the driver's filters, in table order.
    fn grants(&mut self, query: &GrantQuery) -> Result<Vec<Assignment>>;
    /// Stored system assignments of one actor (by kind), or of everyone.
    fn system_grants(&mut self, actor: Option<&Actor>) -> Result<Vec<Assignment>>;
    /// The user's groups; an unknown user is Keystone's 404.
    fn group_ids_for_user(&mut self, user_id: &str) -> Result<Vec<String>>;
    /// Members of a group; an unknown group has none.
    fn user_ids_in_group(&mut self, group_id: &str) -> Result<Vec<String>>;
    /// The domain of a project; an unknown project is Keystone's 404.
    fn project_domain_id(&mut self, project_id: &str) -> Result<String>;
    /// Ancestors of a project, nearest first (Keystone includes the domain's own row).
    fn project_parent_ids(&mut self, project_id: &str) -> Result<Vec<String>>;
    /// Every project below a project, breadth first.
    fn projects_in_subtree(&mut self, project_id: &str) -> Result<Vec<String>>;
    /// Every project of a domain.
    fn projects_in_domain(&mut self, domain_id: &str) -> Result<Vec<String>>;
    /// The roles a prior role implies, in table order.
    fn implied_role_ids(&mut self, prior_role_id: &str) -> Result<Vec<String>>;
    /// Whether a role is global (no `domain_id`); an unknown role is not.
    fn role_is_global(&mut self, role_id: &str) -> Result<bool>;
}

/// The parameters of `list_role_assignments`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    pub role_id: Option<String>,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    /// `scope.system=all`.
    pub system: bool,
    pub domain_id: Option<String>,
    pub project_id: Option<String>,
    pub include_subtree: bool,
    /// `scope.OS-INHERIT:inherited_to`: `Some(true)` for `projects`, `Some(false)` for any
    /// other value, `None` when absent.
    pub inherited: Option<bool>,
    pub effective: bool,
    /// Only assignments sourced from these groups, not expanded to their members
    /// (internal callers).
    pub source_from_group_ids: Option<Vec<String>>,
    /// Drop domain-specific roles from effective results (they only serve to imply others).
    pub strip_domain_roles: bool,
}

impl Default for ListRequest {
    fn default() -> Self {
        ListRequest {
            role_id: None,
            user_id: None,
            group_id: None,
            system: false,
            domain_id: None,
            project_id: None,
            include_subtree: false,
            inherited: None,
            effective: false,
            source_from_group_ids: None,
            strip_domain_roles: true,
        }
    }
}

impl ListRequest {
    /// What a user's token gets on a project or domain.
    pub fn effective_for_user(user_id: &str, target: &Target) -> ListRequest {
        let mut req = ListRequest {
            user_id: Some(user_id.to_string()),
            effective: true,
            ..Default::default()
        };
        match target {
            Target::Project(id) => req.project_id = Some(id.clone()),
            Target::Domain(id) => req.domain_id = Some(id.clone()),
            Target::System => req.system = true,
        }
        req
    }
}

fn non_empty(v: Option<Vec<String>>) -> Option<Vec<String>> {
    v.filter(|v| !v.is_empty())
}

pub fn list(dir: &mut dyn Directory, req: &ListRequest) -> Result<Vec<Assignment>> {
    let subtree_ids = match (&req.project_id, req.include_subtree) {
        (Some(project_id), true) => Some(dir.projects_in_subtree(project_id)?),
        _ => None,
    };
    if req.effective {
        list_effective(dir, req, subtree_ids.as_deref())
    } else {
        list_direct(dir, req, subtree_ids.as_deref())
    }
}

/// The projects a project filter covers: the subtree first, then the project itself.
fn projects_of_interest(
    project_id: Option<&str>,
    subtree_ids: Option<&[String]>,
) -> Option<Vec<String>> {
    let project_id = project_id?;
    let mut ids: Vec<String> = subtree_ids.unwrap_or_default().to_vec();
    ids.push(project_id.to_string());
    Some(ids)
}

fn list_direct(
    dir: &mut dyn Directory,
    req: &ListRequest,
    subtree_ids: Option<&[String]>,
) -> Result<Vec<Assignment>> {
    let mut out = Vec::new();
    if !req.system {
        out = dir.grants(&GrantQuery {
            role_id: req.role_id.clone(),
            user_id: req.user_id.clone(),
            group_ids: req.group_id.clone().map(|g| vec![g]),
            domain_id: req.domain_id.clone(),
            project_ids: projects_of_interest(req.project_id.as_deref(), subtree_ids),
            inherited: req.inherited,
        })?;
    }
    if req.system || (req.project_id.is_none() && req.domain_id.is_none()) {
        let actor = match (&req.user_id, &req.group_id) {
            (Some(user), _) => Some(Actor::User(user.clone())),
            (None, Some(group)) => Some(Actor::Group(group.clone())),
            (None, None) => None,
        };
        let mut system = dir.system_grants(actor.as_ref())?;
        if let Some(role_id) = &req.role_id {
            system.retain(|a| &a.role_id == role_id);
        }
        out.extend(system);
    }
    Ok(out)
}

/// Filters for one actor's assignments (`list_role_assignments_for_actor`).
struct ActorQuery<'a> {
    user_id: Option<&'a str>,
    group_ids: Option<&'a [String]>,
    project_id: Option<&'a str>,
    subtree_ids: Option<&'a [String]>,
    domain_id: Option<&'a str>,
    inherited: Option<bool>,
}

/// The stored assignments that can affect an actor on the targets of interest: the direct
/// ones, then the inherited ones (from the project's domain, then from its ancestors).
fn assignments_for_actor(dir: &mut dyn Directory, q: &ActorQuery<'_>) -> Result<Vec<Assignment>> {
    let of_interest = projects_of_interest(q.project_id, q.subtree_ids);
    let base = GrantQuery {
        role_id: None,
        user_id: q.user_id.map(str::to_string),
        group_ids: non_empty(q.group_ids.map(<[String]>::to_vec)),
        ..Default::default()
    };
    let mut refs = Vec::new();
    if q.inherited != Some(true) {
        refs.extend(dir.grants(&GrantQuery {
            domain_id: q.domain_id.map(str::to_string),
            project_ids: of_interest.clone(),
            inherited: Some(false),
            ..base.clone()
        })?);
    }
    if q.inherited != Some(false) {
        match q.project_id {
            Some(project_id) => {
                let domain_id = dir.project_domain_id(project_id)?;
                refs.extend(dir.grants(&GrantQuery {
                    domain_id: Some(domain_id),
                    inherited: Some(true),
                    ..base.clone()
                })?);
                let mut sources = dir.project_parent_ids(project_id)?;
                if q.subtree_ids.is_some_and(|s| !s.is_empty()) {
                    sources.extend(of_interest.unwrap_or_default());
                }
                if !sources.is_empty() {
                    refs.extend(dir.grants(&GrantQuery {
                        project_ids: Some(sources),
                        inherited: Some(true),
                        ..base.clone()
                    })?);
                }
            }
            None => refs.extend(dir.grants(&GrantQuery {
                inherited: Some(true),
                ..base
            })?),
        }
    }
    Ok(refs)
}

/// The stored assignments an effective listing expands: the actor's, then (for a user) their
/// groups'. None when the filters can only ever match nothing: groups are expanded to their
/// members, and domains inherit nothing.
fn stored_for_effective(
    dir: &mut dyn Directory,
    req: &ListRequest,
    subtree_ids: Option<&[String]>,
) -> Result<Option<Vec<Assignment>>> {
    if req.group_id.is_some() || (req.domain_id.is_some() && req.inherited == Some(true)) {
        return Ok(None);
    }
    let inherited = if req.domain_id.is_some() {
        Some(false)
    } else {
        req.inherited
    };
    let source_groups = req.source_from_group_ids.as_deref();
    let mut refs = assignments_for_actor(
        dir,
        &ActorQuery {
            user_id: req.user_id.as_deref(),
            group_ids: source_groups,
            project_id: req.project_id.as_deref(),
            subtree_ids,
            domain_id: req.domain_id.as_deref(),
            inherited,
        },
    )?;
    if let (None, Some(user_id)) = (source_groups, &req.user_id) {
        let group_ids = dir.group_ids_for_user(user_id)?;
        if !group_ids.is_empty() {
            refs.extend(assignments_for_actor(
                dir,
                &ActorQuery {
                    user_id: None,
                    group_ids: Some(&group_ids),
                    project_id: req.project_id.as_deref(),
                    subtree_ids,
                    domain_id: req.domain_id.as_deref(),
                    inherited,
                },
            )?);
        }
    }
    Ok(Some(refs))
}

fn list_effective(
    dir: &mut dyn Directory,
    req: &ListRequest,
    subtree_ids: Option<&[String]>,
) -> Result<Vec<Assignment>> {
    let Some(refs) = stored_for_effective(dir, req, subtree_ids)? else {
        return Ok(Vec::new());
    };
    let source_groups = req.source_from_group_ids.as_deref();
    let expand_groups = source_groups.is_none();
    let mut expanded = Vec::new();
    for r in refs {
        expanded.extend(expand_indirect(
            dir,
            r,
            req.user_id.as_deref(),
            req.project_id.as_deref(),
            subtree_ids,
            expand_groups,
        )?);
    }
    let mut refs = add_implied_roles(dir, expanded)?;
    if req.strip_domain_roles {
        let mut kept = Vec::with_capacity(refs.len());
        for r in refs {
            if dir.role_is_global(&r.role_id)? {
                kept.push(r);
            }
        }
        refs = kept;
    }
    if let Some(role_id) = &req.role_id {
        refs.retain(|r| &r.role_id == role_id);
    }
    Ok(refs)
}

/// Whose effective assignments [`targets`] looks at.
pub enum Holder<'a> {
    /// A user, with their groups.
    User(&'a str),
    /// These groups alone (a federated token's).
    Groups(&'a [String]),
}

/// The projects and the domains on which the effective listing of a holder shows any
/// assignment (sorted, without repeats): what Keystone's `list_projects_for_user` and
/// `list_domains_for_user` keep of that listing. Worked out without building it: a target
/// shows up when an assignment reaches it (directly or by inheritance) with a role that is
/// global or implies one, whoever of the groups holds it — so neither group members nor
/// implied roles are expanded, and no assignment is copied per inheriting project.
pub fn targets(dir: &mut dyn Directory, holder: Holder<'_>) -> Result<(Vec<String>, Vec<String>)> {
    let req = match holder {
        Holder::User(user_id) => ListRequest {
            user_id: Some(user_id.to_string()),
            effective: true,
            ..Default::default()
        },
        Holder::Groups([]) => return Ok((vec![], vec![])),
        Holder::Groups(group_ids) => ListRequest {
            source_from_group_ids: Some(group_ids.to_vec()),
            effective: true,
            ..Default::default()
        },
    };
    let refs = stored_for_effective(dir, &req, None)?.unwrap_or_default();
    let mut shown_roles: HashMap<String, bool> = HashMap::new();
    let mut inheriting_from: HashSet<Target> = HashSet::new();
    let (mut projects, mut domains) = (BTreeSet::new(), BTreeSet::new());
    for r in refs {
        let shown = match shown_roles.get(&r.role_id) {
            Some(known) => *known,
            None => {
                let shown = implies_a_global_role(dir, &r.role_id)?;
                shown_roles.insert(r.role_id.clone(), shown);
                shown
            }
        };
        if !shown {
            continue;
        }
        match (r.target, r.inherited) {
            (Target::Project(id), false) => {
                projects.insert(id);
            }
            (Target::Domain(id), false) => {
                domains.insert(id);
            }
            (target, true) if inheriting_from.insert(target.clone()) => match &target {
                Target::Domain(id) => projects.extend(dir.projects_in_domain(id)?),
                Target::Project(id) => projects.extend(dir.projects_in_subtree(id)?),
                Target::System => {}
            },
            _ => {}
        }
    }
    Ok((
        projects.into_iter().collect(),
        domains.into_iter().collect(),
    ))
}

/// Whether an assignment of this role survives `strip_domain_roles` in some form: the role
/// is global, or implies (through any chain) a global one.
fn implies_a_global_role(dir: &mut dyn Directory, role_id: &str) -> Result<bool> {
    let mut seen = HashSet::new();
    let mut pending = vec![role_id.to_string()];
    while let Some(next) = pending.pop() {
        if !seen.insert(next.clone()) {
            continue;
        }
        if dir.role_is_global(&next)? {
            return Ok(true);
        }
        pending.extend(dir.implied_role_ids(&next)?);
    }
    Ok(false)
}

/// A group assignment as one of its members holds it.
fn as_member(r: &Assignment, user_id: &str) -> Assignment {
    let mut copy = r.clone();
    if let Actor::Group(group_id) = &r.actor {
        copy.indirect.group_id = Some(group_id.clone());
    }
    copy.actor = Actor::User(user_id.to_string());
    copy
}

fn expand_group(
    dir: &mut dyn Directory,
    r: &Assignment,
    user_id: Option<&str>,
) -> Result<Vec<Assignment>> {
    if let Some(user_id) = user_id {
        return Ok(vec![as_member(r, user_id)]);
    }
    let Actor::Group(group_id) = &r.actor else {
        return Ok(vec![r.clone()]);
    };
    let members = dir.user_ids_in_group(group_id)?;
    Ok(members.iter().map(|u| as_member(r, u)).collect())
}

/// An inherited assignment as it lands on one project below its target.
fn on_inheriting_project(r: &Assignment, project_id: &str) -> Assignment {
    let mut copy = r.clone();
    match &r.target {
        Target::Project(source) => copy.indirect.project_id = Some(source.clone()),
        Target::Domain(source) => copy.indirect.domain_id = Some(source.clone()),
        Target::System => {}
    }
    copy.target = Target::Project(project_id.to_string());
    copy.inherited = false;
    copy
}

fn expand_inherited(
    dir: &mut dyn Directory,
    r: &Assignment,
    user_id: Option<&str>,
    project_id: Option<&str>,
    subtree_ids: Option<&[String]>,
    expand_groups: bool,
) -> Result<Vec<Assignment>> {
    let project_ids = match (project_id, &r.target) {
        (Some(project_id), _) => {
            let mut ids = vec![project_id.to_string()];
            if let Some(subtree) = subtree_ids.filter(|s| !s.is_empty()) {
                ids.extend(subtree.iter().cloned());
                // Assigned inside the subtree: only the part below the assignment point
                // inherits it.
                if let Target::Project(source) = &r.target {
                    if ids.contains(source) {
                        ids = dir.projects_in_subtree(source)?;
                    }
                }
            }
            ids
        }
        (None, Target::Domain(domain_id)) => dir.projects_in_domain(domain_id)?,
        (None, Target::Project(source)) => dir.projects_in_subtree(source)?,
        (None, Target::System) => Vec::new(),
    };
    let sources = match (&r.actor, expand_groups) {
        (Actor::Group(_), true) => expand_group(dir, r, user_id)?,
        _ => vec![r.clone()],
    };
    let mut out = Vec::new();
    for source in &sources {
        out.extend(project_ids.iter().map(|p| on_inheriting_project(source, p)));
    }
    Ok(out)
}

fn expand_indirect(
    dir: &mut dyn Directory,
    r: Assignment,
    user_id: Option<&str>,
    project_id: Option<&str>,
    subtree_ids: Option<&[String]>,
    expand_groups: bool,
) -> Result<Vec<Assignment>> {
    if r.inherited {
        return expand_inherited(dir, &r, user_id, project_id, subtree_ids, expand_groups);
    }
    if matches!(r.actor, Actor::Group(_)) && expand_groups {
        return expand_group(dir, &r, user_id);
    }
    Ok(vec![r])
}

/// Keystone's `add_implied_roles`: every assignment is followed by copies for the roles its
/// role implies (recursively), each copy remembering its prior role. The work list is a
/// stack, and a copy equal to one already examined stops a cycle — both as Keystone does,
/// which fixes the order of the results. Keystone keeps the examined ones in a list, which
/// makes a user with thousands of assignments (many groups, inheritance) quadratic; a set
/// answers the same question in constant time.
pub fn add_implied_roles(
    dir: &mut dyn Directory,
    refs: Vec<Assignment>,
) -> Result<Vec<Assignment>> {
    let mut to_check = refs.clone();
    let mut results = refs;
    let mut checked: HashSet<Assignment> = Default::default();
    let mut implied_cache: HashMap<String, Vec<String>> = Default::default();
    while let Some(next) = to_check.pop() {
        let implied = match implied_cache.get(&next.role_id) {
            Some(ids) => ids.clone(),
            None => {
                let ids = dir.implied_role_ids(&next.role_id)?;
                implied_cache.insert(next.role_id.clone(), ids.clone());
                ids
            }
        };
        checked.insert(next.clone());
        for implied_id in implied {
            let mut copy = next.clone();
            copy.role_id = implied_id;
            copy.indirect.role_id = Some(next.role_id.clone());
            if checked.contains(&copy) {
                continue;
            }
            results.push(copy.clone());
            to_check.push(copy);
        }
    }
    Ok(results)
}

/// Role ids in first-seen order, without repeats.
pub fn unique_role_ids(refs: &[Assignment]) -> Vec<String> {
    let mut seen = HashSet::new();
    refs.iter()
        .filter(|r| seen.insert(r.role_id.as_str()))
        .map(|r| r.role_id.clone())
        .collect()
}

#[cfg(test)]
mod tests;
