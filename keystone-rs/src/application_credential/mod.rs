//! Application credentials and access rules (shared/spec/application-credentials.md):
//! the create rules and the roles a credential's token carries (the guards against
//! delegated tokens are `crate::token::delegated`).
//!
//! Cascades (`crate::cascade` calls these inside the deleting transaction):
//! * a user deleted → [`store::delete_for_user`] (credentials and access rules);
//! * a role deleted → [`store::delete_for_role`] before its assignments go.
//!
//! Keystone deliberately does *not* delete credentials when a grant is revoked, a user is
//! disabled, a password changes or the project is deleted: their tokens fail or narrow
//! through validation (roles are re-intersected, the project is re-read) instead.

pub mod access;
pub mod model;
pub mod schema;
pub mod store;

pub use model::{AccessRule, ApplicationCredential, RoleWithOptions};

use crate::assignment::RoleRef;
use crate::assignment::{Role, store as assignment_store};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::resource::Project;
use base64::Engine;
use chrono::NaiveDateTime;
use rand::RngCore;
use schema::CreateRequest;
use serde_json::{Map, Value};

/// The auth method name (and the entry in a token's `methods`).
pub const METHOD: &str = "application_credential";

/// Keystone's generated secret: 64 random bytes, URL-safe base64 without padding
/// (86 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 64];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Roles of a token from this credential on its project: the stored roles the user still
/// holds there (direct, group, inherited, implied), in stored order. A stored role that no
/// longer exists is Keystone's 404.
pub fn token_roles(
    conn: &mut AnyConnection,
    ac: &ApplicationCredential,
    project: &Project,
) -> Result<Vec<Role>> {
    let stored = store::roles_with_options(conn, &ac.role_ids)?;
    let effective = assignment_store::roles_on_project(conn, &ac.user_id, project)?;
    Ok(stored
        .into_iter()
        .map(|r| r.role)
        .filter(|r| effective.iter().any(|e| e.id == r.id))
        .collect())
}

/// `[application_credential] user_limit` (-1, the default, is unlimited).
fn user_limit(config: &Config) -> i64 {
    config
        .get("application_credential", "user_limit")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}

/// A create request checked against the caller and the database, ready for hashing and
/// storing (Keystone's order of checks up to the insert).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub project_id: Option<String>,
    pub role_ids: Vec<String>,
    pub expires_at: Option<NaiveDateTime>,
    /// Items with an `id` each.
    pub access_rules: Vec<Map<String, Value>>,
}

fn unassigned_role() -> Error {
    Error::bad_request(
        "Invalid application credential: Cannot create an application credential with \
         unassigned role",
    )
}

/// Requested roles: names resolved (404 / ambiguity 400), implied roles appended the way
/// Keystone's loop over a growing list does, all within the caller's token roles. None
/// requested: the token's roles.
fn requested_roles(
    conn: &mut AnyConnection,
    token_roles: &[Role],
    req: &[RoleRef],
) -> Result<Vec<String>> {
    if req.is_empty() {
        return Ok(token_roles.iter().map(|r| r.id.clone()).collect());
    }
    let mut ids = Vec::new();
    for r in req {
        match r {
            RoleRef::Id(id) => ids.push(id.clone()),
            RoleRef::Name(name) => {
                let found = store::role_ids_named(conn, name)?;
                match found.as_slice() {
                    [] => return Err(Error::not_found(format!("Role {name} is not defined"))),
                    [one] => ids.push(one.clone()),
                    _ => {
                        return Err(Error::bad_request(format!(
                            "There are multiple role entities named '{name}'. Please use ID \
                             instead of names to resolve the ambiguity."
                        )));
                    }
                }
            }
        }
    }
    let implications = assignment_store::implications(conn)?;
    let mut i = 0;
    while let Some(id) = ids.get(i).cloned() {
        for implied in implications.get(&id).into_iter().flatten() {
            if !ids.contains(implied) {
                ids.push(implied.clone());
            }
        }
        i += 1;
    }
    if ids
        .iter()
        .any(|id| !token_roles.iter().any(|r| &r.id == id))
    {
        return Err(unassigned_role());
    }
    Ok(ids)
}

/// Everything Keystone checks before it stores a credential, in its order: roles, expiry,
/// rule ids, the per-user limit, the roles against the user's effective assignments.
/// `token_roles` and `project` are the creating token's roles and project.
pub fn prepare_create(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    token_roles: &[Role],
    project: Option<&Project>,
    req: &CreateRequest,
    now: NaiveDateTime,
) -> Result<Prepared> {
    let role_ids = requested_roles(conn, token_roles, &req.roles)?;
    let expires_at = req
        .expires_at
        .as_deref()
        .map(|t| schema::parse_expiration(t, now))
        .transpose()?;
    let access_rules = req
        .access_rules
        .iter()
        .map(|item| {
            let mut item = item.clone();
            if !item.contains_key("id") {
                item.insert(
                    "id".into(),
                    uuid::Uuid::new_v4().simple().to_string().into(),
                );
            }
            item
        })
        .collect();
    let limit = user_limit(config);
    if limit >= 0 && store::count_for_user(conn, user_id)? >= limit {
        return Err(Error::new(
            actix_web::http::StatusCode::FORBIDDEN,
            format!(
                "Unable to create additional application credentials, maximum of {limit} \
                 already exceeded for user."
            ),
        ));
    }
    let project_id = project.map(|p| p.id.clone());
    if let Some(project) = project {
        let effective = assignment_store::roles_on_project(conn, user_id, project)?;
        if let Some(missing) = role_ids
            .iter()
            .find(|id| !effective.iter().any(|e| &e.id == *id))
        {
            return Err(Error::bad_request(format!(
                "Invalid application credential: Could not find role assignment with role: \
                 {missing}, user or group: {user_id}, project, domain, or system: {}.",
                project.id
            )));
        }
    }
    Ok(Prepared {
        project_id,
        role_ids,
        expires_at,
        access_rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_look_like_keystones() {
        let a = generate_secret();
        assert_eq!(a.len(), 86);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, generate_secret());
    }
}
