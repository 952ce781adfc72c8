//! OS-TRUST: a trustor delegates roles on a project to a trustee, who then obtains
//! trust-scoped tokens (Keystone's `keystone/trust/core.py` and the checks its token model
//! runs on trust-scoped tokens). Routes are in `api/trust.rs`; what deleting a trust does
//! beyond the trust (its revocation event) is in `cascade.rs`.

pub mod model;
pub mod schema;
pub mod store;

pub use model::{Trust, TrustToken};

use crate::application_credential::schema::parse_expiration;
use crate::assignment::effective::{ListRequest, unique_role_ids};
use crate::assignment::{self, Role, store as assignment_store};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::identity::{User, inactivity, store as identity_store};
use crate::resource::{Project, store as resource_store};
use chrono::NaiveDateTime;
use schema::{Count, CreateRequest, RoleRef};
use serde_json::Value;

/// `[trust] max_redelegation_count` (default 3). `[trust] allow_redelegation` is read by
/// nothing in Keystone 30 (the request's `allow_redelegation` decides), nor here.
pub fn max_redelegation_count(config: &Config) -> i64 {
    config
        .get("trust", "max_redelegation_count")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(3)
}

fn not_found(id: &str) -> Error {
    Error::could_not_find("trust", id)
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// The driver's `get_trust`: a trust that is soft-deleted, expired or used up is a 404.
pub fn get_usable(conn: &mut AnyConnection, id: &str) -> Result<Trust> {
    store::get(conn, id)?
        .filter(|t| t.is_usable(now()))
        .ok_or_else(|| not_found(id))
}

/// `get_trust_pedigree`: the trust, then each trust it was redelegated from.
pub fn pedigree(conn: &mut AnyConnection, id: &str) -> Result<Vec<Trust>> {
    let mut chain = vec![get_usable(conn, id)?];
    while let Some(parent) = chain.last().and_then(|t| t.redelegated_trust_id.clone()) {
        // A loop in stored data must not spin forever.
        if chain.iter().any(|t| t.id == parent) || chain.len() > 1000 {
            return Err(Error::forbidden().with_detail("redelegation loop"));
        }
        chain.push(get_usable(conn, &parent)?);
    }
    Ok(chain)
}

/// A user as `identity_api.get_user` shows it (inactivity turns `enabled` off).
fn load_user(conn: &mut AnyConnection, config: &Config, id: &str) -> Result<Option<User>> {
    let Some(mut user) = identity_store::get(conn, id)? else {
        return Ok(None);
    };
    inactivity::apply(conn, config, &mut user)?;
    Ok(Some(user))
}

/// The manager's `get_trust`: a redelegated trust is only valid while its whole chain is
/// (each link within its parent's limits, every trustee on the way enabled).
pub fn get(conn: &mut AnyConnection, config: &Config, id: &str) -> Result<Trust> {
    let trust = get_usable(conn, id)?;
    if trust.redelegated_trust_id.is_some() {
        let chain = pedigree(conn, id)?;
        let max = max_redelegation_count(config);
        for (parent, child) in chain.iter().skip(1).zip(chain.iter()) {
            check_redelegation(parent, &mut child.clone(), max)?;
            let enabled =
                load_user(conn, config, &parent.trustee_user_id)?.is_some_and(|u| u.enabled);
            if !enabled {
                return Err(Error::forbidden()
                    .with_detail("One of the trust agents is disabled or deleted"));
            }
        }
    }
    Ok(trust)
}

/// `_validate_redelegation`: what a trust made from `parent` may be. Fills in the parent's
/// expiry when the child has none. Keystone answers each refusal with a bare 403.
fn check_redelegation(parent: &Trust, child: &mut Trust, max: i64) -> Result<()> {
    let depth = i64::from(parent.redelegation_count.unwrap_or(0));
    if !(0 < depth && depth <= max) {
        return Err(Error::forbidden().with_detail(format!(
            "Remaining redelegation depth of {depth} out of allowed range of [0..{max}]"
        )));
    }
    if child.remaining_uses.is_some() {
        return Err(Error::forbidden().with_detail(
            "Field \"remaining_uses\" must not be set in order to redelegate a trust",
        ));
    }
    match (child.expires_at, parent.expires_at) {
        (Some(asked), Some(limit)) if limit < asked => {
            return Err(Error::forbidden().with_detail(
                "Requested expiration time is more than redelegated trust can provide",
            ));
        }
        (None, limit) => child.expires_at = limit,
        _ => {}
    }
    if child
        .role_ids
        .iter()
        .any(|id| !parent.role_ids.contains(id))
    {
        return Err(
            Error::forbidden().with_detail("Some of requested roles are not in redelegated trust")
        );
    }
    if !parent.impersonation && child.impersonation {
        return Err(Error::forbidden().with_detail(format!(
            "Impersonation is not allowed because redelegated trust does not specify \
             impersonation. Redelegated trust id: {}",
            parent.id
        )));
    }
    Ok(())
}

/// Role ids a user holds on a project, effectively, domain-specific roles included
/// (`get_roles_for_trustor_and_project`; an unknown project is its 404).
fn trustor_role_ids(
    conn: &mut AnyConnection,
    user_id: &str,
    project_id: Option<&str>,
) -> Result<Vec<String>> {
    let project_id = project_id.unwrap_or("None");
    resource_store::get_project(conn, project_id)?
        .ok_or_else(|| Error::could_not_find("project", project_id))?;
    let refs = assignment_store::list_assignments(
        conn,
        &ListRequest {
            user_id: Some(user_id.to_string()),
            project_id: Some(project_id.to_string()),
            effective: true,
            strip_domain_roles: false,
            ..Default::default()
        },
    )?;
    Ok(unique_role_ids(&refs))
}

/// The roles a trust-scoped token carries: the trust's roles and those they imply, each
/// still held by the (original) trustor on the project; domain-specific roles only serve
/// to imply. A delegated role the trustor lost invalidates the token (a bare 403).
pub fn token_roles(conn: &mut AnyConnection, trust: &Trust) -> Result<Vec<Role>> {
    let trustor = if trust.redelegated_trust_id.is_some() {
        pedigree(conn, &trust.id)?
            .last()
            .map(|t| t.trustor_user_id.clone())
            .unwrap_or_else(|| trust.trustor_user_id.clone())
    } else {
        trust.trustor_user_id.clone()
    };
    let delegated =
        assignment::expand_implied(&trust.role_ids, &assignment_store::implications(conn)?);
    let held = trustor_role_ids(conn, &trustor, trust.project_id.as_deref())?;
    // Keystone's own check against the direct trustor (`_validate_trust_scope`).
    let direct = if trustor == trust.trustor_user_id {
        None
    } else {
        Some(trustor_role_ids(
            conn,
            &trust.trustor_user_id,
            trust.project_id.as_deref(),
        )?)
    };
    if let Some(missing) = delegated
        .iter()
        .find(|id| !held.contains(id) || direct.as_ref().is_some_and(|d| !d.contains(id)))
    {
        return Err(Error::forbidden().with_detail(format!(
            "Trustee has no delegated roles (role {missing} no longer held by the trustor)"
        )));
    }
    let found = assignment_store::get_roles(conn, &delegated)?;
    Ok(delegated
        .iter()
        .filter_map(|id| found.iter().find(|r| &r.id == id))
        .filter(|r| r.domain_id.is_none())
        .cloned()
        .collect())
}

/// An enabled user's domain, or the 404 Keystone's token model answers.
fn enabled_domain(conn: &mut AnyConnection, user: &User, who: &str) -> Result<Project> {
    let domain = resource_store::get_domain(conn, &user.domain_id)?
        .ok_or_else(|| Error::could_not_find("domain", &user.domain_id))?;
    if !domain.enabled {
        return Err(Error::not_found(format!("{who} domain is disabled.")));
    }
    Ok(domain)
}

/// The checks Keystone's token model runs on a trust-scoped token, at issue and at every
/// validation (`_validate_token_user`): the trust is usable, the token's user is its
/// trustee, both users' domains are enabled, the trustor is enabled.
pub fn check_token(
    conn: &mut AnyConnection,
    config: &Config,
    trust_id: &str,
    token_user_id: &str,
) -> Result<TrustToken> {
    let trust = get(conn, config, trust_id)?;
    if trust.trustee_user_id != token_user_id {
        return Err(Error::forbidden().with_detail("User is not a trustee."));
    }
    let trustor = load_user(conn, config, &trust.trustor_user_id)?
        .ok_or_else(|| Error::could_not_find("user", &trust.trustor_user_id))?;
    let trustee = load_user(conn, config, &trust.trustee_user_id)?
        .ok_or_else(|| Error::could_not_find("user", &trust.trustee_user_id))?;
    let trustor_domain = enabled_domain(conn, &trustor, "Trustor")?;
    let trustee_domain = enabled_domain(conn, &trustee, "Trustee")?;
    if !trustor.enabled {
        return Err(Error::forbidden().with_detail("Trustor is disabled."));
    }
    Ok(TrustToken {
        trust,
        trustor,
        trustor_domain,
        trustee,
        trustee_domain,
    })
}

/// Who is creating a trust, as far as redelegation cares.
#[derive(Debug, Clone, Copy)]
pub struct Creator<'a> {
    /// The trust of a trust-scoped caller token.
    pub trust_id: Option<&'a str>,
    /// An OAuth1-delegated caller token.
    pub oauth1: bool,
}

/// The columns of `trust`; every other key of the request is kept in `extra`.
const COLUMNS: &[&str] = &[
    "id",
    "trustor_user_id",
    "trustee_user_id",
    "project_id",
    "impersonation",
    "expires_at",
    "remaining_uses",
    "deleted_at",
    "redelegated_trust_id",
    "redelegation_count",
];

/// Roles by id or by (global) name, in request order (`_normalize_role_list`).
fn normalize_roles(conn: &mut AnyConnection, roles: &[RoleRef]) -> Result<Vec<String>> {
    roles
        .iter()
        .map(|r| match r {
            RoleRef::Id(id) => Ok(id.clone()),
            RoleRef::Name(name) => assignment_store::find_global_role_by_name(conn, name)?
                .map(|role| role.id)
                .ok_or_else(|| Error::not_found(format!("Role {name} is not defined"))),
        })
        .collect()
}

/// Everything `POST /v3/OS-TRUST/trusts` does after policy and the caller checks, in
/// Keystone's order; stores the trust and returns it with its roles for the response.
pub fn create(
    conn: &mut AnyConnection,
    config: &Config,
    creator: Creator,
    req: &CreateRequest,
) -> Result<(Trust, Vec<Role>)> {
    identity_store::get(conn, &req.trustee_user_id)?
        .ok_or_else(|| Error::could_not_find("user", &req.trustee_user_id))?;
    let role_ids = normalize_roles(conn, &req.roles)?;

    // `_require_trustor_has_role_in_project`, against the start of the chain the request
    // names.
    let mut original: Option<Trust> = None;
    let mut next = req.redelegated_trust_id.clone();
    while let Some(id) = next {
        let t = get(conn, config, &id)?;
        next = t.redelegated_trust_id.clone();
        original = Some(t);
    }
    let held = match req.project_id.as_deref().filter(|p| !p.is_empty()) {
        Some(project_id) => {
            resource_store::get_project(conn, project_id)?
                .ok_or_else(|| Error::could_not_find("project", project_id))?;
            let (trustor, project) = match &original {
                Some(t) => (t.trustor_user_id.as_str(), t.project_id.as_deref()),
                None => (req.trustor_user_id.as_str(), Some(project_id)),
            };
            match project {
                Some(p) => trustor_role_ids(conn, trustor, Some(p))?,
                None => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    if let Some(missing) = role_ids.iter().find(|id| !held.contains(id)) {
        return Err(Error::could_not_find("role", missing));
    }
    let expires_at = match &req.expires_at {
        Some(text) => Some(parse_expiration(text, now())?),
        None => None,
    };
    let id = crate::identity::new_id();
    let redelegated = match (creator.trust_id, creator.oauth1) {
        (Some(trust_id), _) => Some(get(conn, config, trust_id)?),
        (None, true) => {
            return Err(Error::forbidden_action(
                "Redelegation allowed for delegated by trust only",
            ));
        }
        (None, false) => None,
    };

    let max = max_redelegation_count(config);
    let mut count = req.redelegation_count;
    let redelegatable = req.allow_redelegation && count != Count::Value(0);
    if !redelegatable {
        count = Count::Value(0);
        if req.remaining_uses.is_some_and(|n| n <= 0) {
            return Err(Error::bad_request(
                "remaining_uses must be a positive integer or null.",
            ));
        }
    } else {
        if let Count::Value(asked) = count {
            if asked > max {
                return Err(Error::forbidden().with_detail(format!(
                    "Requested redelegation depth of {asked} is greater than allowed {max}"
                )));
            }
        }
        if req.remaining_uses.is_some() {
            return Err(Error::bad_request(
                "remaining_uses must not be set if redelegation is allowed",
            ));
        }
    }
    let mut trust = Trust {
        id: id.clone(),
        trustor_user_id: req.trustor_user_id.clone(),
        trustee_user_id: req.trustee_user_id.clone(),
        project_id: req.project_id.clone(),
        impersonation: req.impersonation,
        expires_at,
        remaining_uses: req
            .remaining_uses
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        deleted_at: None,
        redelegated_trust_id: req.redelegated_trust_id.clone(),
        redelegation_count: None,
        extra: Default::default(),
        role_ids: role_ids.clone(),
    };
    if let Some(parent) = &redelegated {
        trust.redelegated_trust_id = Some(parent.id.clone());
        let remaining = i64::from(parent.redelegation_count.unwrap_or(0)) - 1;
        if redelegatable && matches!(count, Count::Value(asked) if asked != 0 && asked != remaining)
        {
            return Err(Error::forbidden().with_detail(
                "Modifying \"redelegation_count\" upon redelegation is forbidden. Omitting \
                 this parameter is advised.",
            ));
        }
        if count == Count::Absent {
            count = Count::Value(remaining);
        }
        for t in pedigree(conn, &parent.id)? {
            check_redelegation(&t, &mut trust, max)?;
        }
    }
    trust.redelegation_count = match count {
        Count::Absent => Some(max),
        Count::Null => None,
        Count::Value(n) => Some(n),
    }
    .map(|n| i32::try_from(n).unwrap_or(i32::MAX));

    // The request's other keys, in its order, with the normalised roles where it had them.
    let mut extra = serde_json::Map::new();
    for (key, value) in &req.body {
        if key == "roles" {
            extra.insert(key.clone(), roles_ref(&role_ids));
        } else if key != "allow_redelegation" && !COLUMNS.contains(&key.as_str()) {
            extra.insert(key.clone(), value.clone());
        }
    }
    if !extra.contains_key("roles") {
        extra.insert("roles".into(), roles_ref(&role_ids));
    }
    trust.extra = extra;
    store::insert(conn, &trust)?;
    let roles = roles_in_order(conn, &trust.role_ids)?;
    Ok((trust, roles))
}

fn roles_ref(ids: &[String]) -> Value {
    ids.iter().map(|id| serde_json::json!({"id": id})).collect()
}

/// The trust's roles in full, in its order; roles deleted since are left out.
pub fn roles_in_order(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Role>> {
    let found = assignment_store::get_roles(conn, ids)?;
    Ok(ids
        .iter()
        .filter_map(|id| found.iter().find(|r| &r.id == id).cloned())
        .collect())
}

/// `delete_trust`: the trust and, recursively, the trusts its trustor redelegated from
/// it. Returns every deleted id (each gets its revocation event from the caller).
pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<Vec<String>> {
    let trust = get_usable(conn, id)?;
    let mut deleted = Vec::new();
    let children = store::list(
        conn,
        &store::Filter {
            trustor_user_id: Some(trust.trustor_user_id.clone()),
            redelegated_trust_id: Some(id.to_string()),
            ..Default::default()
        },
    )?;
    for child in children {
        match delete(conn, &child.id) {
            Ok(ids) => deleted.extend(ids),
            // Gone meanwhile: nothing left to delete there.
            Err(e) if e.status.as_u16() == 404 => {}
            Err(e) => return Err(e),
        }
    }
    store::soft_delete(conn, id)?;
    deleted.push(id.to_string());
    Ok(deleted)
}
