//! The roles a token carries: the user's own on the scope, or what a delegation (an
//! application credential, an OAuth1 access token, a trust) still grants. The one place that knows
//! the delegation kinds: a new kind is one more arm here.

use super::cache::ValidationCache;
use super::model::ResolvedScope;
use crate::application_credential::{self as app_cred, model::ApplicationCredential};
use crate::assignment::model::{Actor, Role, Target};
use crate::assignment::store as assignment_store;
use crate::db::{AnyConnection, MaybeConn};
use crate::error::Result;
use crate::oauth1::model::Delegation;
use crate::trust::Trust;
use std::sync::Arc;

/// A credential token's roles: only project-scoped credentials carry any.
fn app_cred_roles(
    conn: &mut MaybeConn,
    ac: &ApplicationCredential,
    scope: &ResolvedScope,
) -> Result<Vec<Role>> {
    match scope {
        ResolvedScope::Project { project, .. } => app_cred::token_roles(conn.get()?, ac, project),
        _ => Ok(vec![]),
    }
}

/// The token's roles: the user's on the scope; for an application-credential token the
/// credential's roles the user still holds; for an OAuth1 token the delegated ones it still
/// holds (a deleted access token is a 404, as Keystone); for a trust-scoped token the
/// trust's roles its trustor still holds.
pub(super) fn token_roles(
    conn: &mut MaybeConn,
    cache: &ValidationCache,
    user_id: &str,
    scope: &ResolvedScope,
    delegation: Delegated,
) -> Result<(Arc<Vec<Role>>, Option<Delegation>)> {
    let Delegated {
        access_token_id,
        application_credential,
        trust,
        federated_groups,
    } = delegation;
    if let Some(trust) = trust {
        return Ok((
            Arc::new(crate::trust::token_roles(conn.get()?, trust)?),
            None,
        ));
    }
    if let Some(groups) = federated_groups
        && !matches!(scope, ResolvedScope::Unscoped | ResolvedScope::System)
    {
        return Ok((
            Arc::new(federated_roles(conn.get()?, user_id, groups, scope)?),
            None,
        ));
    }
    if let Some(ac) = application_credential {
        return Ok((Arc::new(app_cred_roles(conn, ac, scope)?), None));
    }
    match access_token_id {
        Some(id) => {
            let (roles, delegation) =
                crate::oauth1::token_roles(conn.get()?, id, user_id, scope.project())?;
            Ok((Arc::new(roles), Some(delegation)))
        }
        None => {
            let key = (user_id.to_string(), scope_key(scope));
            let roles = cache.roles.get_or_load_value(cache, key, || {
                Ok(Arc::new(roles_for(conn.get()?, user_id, scope)?))
            })?;
            Ok((roles, None))
        }
    }
}

/// What delegated a token, if anything: at most one of these is set.
#[derive(Default, Clone, Copy)]
pub(super) struct Delegated<'a> {
    pub access_token_id: Option<&'a str>,
    pub application_credential: Option<&'a ApplicationCredential>,
    pub trust: Option<&'a Trust>,
    /// A federated token's groups: its roles come from them as well.
    pub federated_groups: Option<&'a [String]>,
}

/// The roles cache's name for a scope.
fn scope_key(scope: &ResolvedScope) -> String {
    match scope {
        ResolvedScope::Unscoped => "unscoped".into(),
        ResolvedScope::System => "system".into(),
        ResolvedScope::Domain(d) => format!("domain:{}", d.id),
        ResolvedScope::Project { project, .. } => format!("project:{}", project.id),
    }
}

pub fn roles_for(
    conn: &mut AnyConnection,
    user_id: &str,
    scope: &ResolvedScope,
) -> Result<Vec<Role>> {
    match scope {
        ResolvedScope::Unscoped => Ok(vec![]),
        ResolvedScope::Project { project, .. } => {
            assignment_store::roles_on_project(conn, user_id, project)
        }
        ResolvedScope::Domain(domain) => {
            assignment_store::roles_on_domain(conn, user_id, &domain.id)
        }
        ResolvedScope::System => assignment_store::roles_on_system(conn, user_id),
    }
}

/// Keystone's `_get_federated_roles`: the token's groups' roles on the scope, the groups'
/// and the user's system roles, then the user's own roles on the scope — each role once.
fn federated_roles(
    conn: &mut AnyConnection,
    user_id: &str,
    group_ids: &[String],
    scope: &ResolvedScope,
) -> Result<Vec<Role>> {
    let target = match scope {
        ResolvedScope::Project { project, .. } => Target::Project(project.id.clone()),
        ResolvedScope::Domain(d) => Target::Domain(d.id.clone()),
        _ => return Ok(vec![]),
    };
    let mut roles = assignment_store::roles_of_groups(conn, group_ids, &target)?;
    for group_id in group_ids {
        roles.extend(assignment_store::system_roles(
            conn,
            &Actor::Group(group_id.clone()),
        )?);
    }
    roles.extend(assignment_store::system_roles(
        conn,
        &Actor::User(user_id.to_string()),
    )?);
    roles.extend(roles_for(conn, user_id, scope)?);
    let mut unique: Vec<Role> = Vec::new();
    for role in roles {
        if !unique.iter().any(|r| r.id == role.id) {
            unique.push(role);
        }
    }
    Ok(unique)
}
