//! Federated login, as Keystone's `mapped` auth plugin does it
//! (keystone/auth/plugins/mapped.py): an identity provider's assertion, run through the
//! protocol's mapping, becomes a user — a shadow user with the mapping's groups and
//! provisioned projects (ephemeral), or an existing local user (local) — and the
//! federation facts a token carries.
//!
//! The assertion's source is the caller's business: the trusted front end's headers
//! (`api/federation_auth.rs`) or any other validator that yields (name, value) pairs.

use super::providers::{self, IdentityProvider, Protocol};
use super::rules::{self, Assertion, Mapped, Version};
use super::{provider_store, store as mapping_store};
use crate::assignment::model::{Actor, GrantQuery, Target};
use crate::assignment::store as assignment_store;
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::fernet::FederatedInfo;
use crate::identity::store::{self as identity_store, federated as shadow, groups};
use crate::resource::store as resource_store;
use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Who a federated login authenticated.
#[derive(Debug, Clone, PartialEq)]
pub struct FederatedIdentity {
    pub user_id: String,
    /// For ephemeral (shadow) users: the identity provider, protocol and mapped groups
    /// the token carries. A mapping to a local user yields an ordinary token.
    pub federated: Option<FederatedInfo>,
}

/// Auth method names Keystone serves with its `Mapped` plugin.
pub const MAPPED_METHODS: &[&str] = &["mapped", "saml2", "openid", "x509"];

/// Keystone's `assert_enabled_identity_provider`: 404 for an unknown provider, 403 for a
/// disabled one.
pub fn enabled_idp(conn: &mut AnyConnection, idp_id: &str) -> Result<IdentityProvider> {
    let idp =
        provider_store::get_idp(conn, idp_id)?.ok_or_else(|| providers::idp_not_found(idp_id))?;
    if !idp.enabled {
        return Err(Error::new(
            StatusCode::FORBIDDEN,
            format!("Identity Provider {idp_id} is disabled"),
        ));
    }
    Ok(idp)
}

fn protocol_of(conn: &mut AnyConnection, idp_id: &str, protocol_id: &str) -> Result<Protocol> {
    provider_store::get_protocol(conn, idp_id, protocol_id)?
        .ok_or_else(|| providers::protocol_not_found(idp_id, protocol_id))
}

/// A mapping that cannot be applied is a failed authentication (Keystone turns the
/// mapping's `ValidationError` into `Unauthorized`).
fn mapping_refused(why: impl std::fmt::Display) -> Error {
    Error::unauthorized_because(format!("federated login: {why}"))
}

/// Keystone's `get_remote_id_parameter`: the protocol's own attribute, else
/// `[<protocol>] remote_id_attribute`, else `[federation] remote_id_attribute`.
fn remote_id_attribute<'a>(config: &'a Config, protocol: &'a Protocol) -> Option<&'a str> {
    protocol
        .remote_id_attribute
        .as_deref()
        .filter(|a| !a.is_empty())
        .or_else(|| config.get(&protocol.id, "remote_id_attribute"))
        .filter(|a| !a.is_empty())
        .or(config.federation.remote_id_attribute.as_deref())
        .filter(|a| !a.is_empty())
}

/// Keystone's `validate_idp`: when both a remote id attribute and the provider's remote
/// ids are known, the assertion must name one of those ids.
fn check_remote_id(
    config: &Config,
    idp: &IdentityProvider,
    protocol: &Protocol,
    assertion: &Assertion,
) -> Result<()> {
    let Some(attribute) = remote_id_attribute(config, protocol) else {
        return Ok(());
    };
    if idp.remote_ids.is_empty() {
        return Ok(());
    }
    let Some(remote_id) = assertion.get(attribute) else {
        return Err(mapping_refused(
            "Could not find Identity Provider identifier in environment",
        ));
    };
    if !idp.remote_ids.iter().any(|r| r == remote_id) {
        // Keystone's `Forbidden` is a SecurityError: the caller sees the generic text,
        // the reason stays on this side.
        return Err(Error::forbidden().with_detail(
            "Incoming identity provider identifier not included among the accepted identifiers.",
        ));
    }
    Ok(())
}

/// Keystone's WebSSO by protocol, first half: the remote id the assertion carries under
/// the remote id attribute of the first identity provider (in list order) that has this
/// protocol and whose attribute the assertion has.
pub fn websso_remote_id(
    conn: &mut AnyConnection,
    config: &Config,
    protocol_id: &str,
    assertion: &Assertion,
) -> Result<String> {
    for idp in provider_store::list_idps(conn)? {
        let Some(protocol) = provider_store::get_protocol(conn, &idp.id, protocol_id)? else {
            continue;
        };
        if let Some(remote_id) = remote_id_attribute(config, &protocol)
            .and_then(|a| assertion.get(a))
            .filter(|v| !v.is_empty())
        {
            return Ok(remote_id.to_string());
        }
    }
    Err(Error::unauthorized_because(
        "Missing entity ID from environment",
    ))
}

/// Keystone's `get_idp_from_remote_id`: the provider that lists `remote_id`, else 404.
pub fn idp_of_remote_id(conn: &mut AnyConnection, remote_id: &str) -> Result<String> {
    provider_store::list_idps(conn)?
        .into_iter()
        .find(|idp| idp.remote_ids.iter().any(|r| r == remote_id))
        .map(|idp| idp.id)
        .ok_or_else(|| providers::idp_not_found(remote_id))
}

/// What a login at `idp_id` over `protocol_id` needs before any assertion: an enabled
/// provider (404/403) that has the protocol (404).
pub fn check_target(conn: &mut AnyConnection, idp_id: &str, protocol_id: &str) -> Result<()> {
    enabled_idp(conn, idp_id)?;
    protocol_of(conn, idp_id, protocol_id).map(|_| ())
}

/// Log in with an assertion from `idp_id` over `protocol_id`: Keystone's
/// `handle_unscoped_token`, in the caller's transaction.
pub fn login(
    conn: &mut AnyConnection,
    config: &Config,
    idp_id: &str,
    protocol_id: &str,
    assertion: &Assertion,
) -> Result<FederatedIdentity> {
    let idp = enabled_idp(conn, idp_id)?;
    let protocol = protocol_of(conn, idp_id, protocol_id)?;
    check_remote_id(config, &idp, &protocol, assertion)?;
    let mapping = mapping_store::get(conn, &protocol.mapping_id)?
        .ok_or_else(|| Error::could_not_find("mapping", &protocol.mapping_id))?;
    let version = Version::parse(&mapping.schema_version).map_err(mapping_refused)?;
    let mut mapped =
        rules::process_with(version, &mapping.rules, assertion).map_err(mapping_refused)?;
    let group_ids = resolve_groups(conn, &mapping.id, &mapped)?;
    if mapped.is_local_user() {
        let user_id = local_user(conn, &mapped)?;
        return Ok(FederatedIdentity {
            user_id,
            federated: None,
        });
    }
    let shadow_user = prepare_user(conn, &mut mapped, &idp, assertion)?;
    let user_id = shadow(conn, config, &idp, protocol_id, &shadow_user, &group_ids)?;
    if !mapped.projects.is_empty() {
        provision_projects(conn, config, &mapped, &idp, &user_id, version)?;
    }
    Ok(FederatedIdentity {
        user_id,
        federated: Some(FederatedInfo {
            group_ids,
            identity_provider_id: idp.id,
            protocol_id: protocol_id.to_string(),
        }),
    })
}

/// Keystone's `handle_scoped_token`: a federated token presented to get another keeps
/// its federation facts while its provider is enabled, its protocol still has a mapping,
/// and its groups still exist.
pub fn check_presented(conn: &mut AnyConnection, federated: &FederatedInfo) -> Result<()> {
    enabled_idp(conn, &federated.identity_provider_id)?;
    let protocol = protocol_of(
        conn,
        &federated.identity_provider_id,
        &federated.protocol_id,
    )?;
    mapping_store::get(conn, &protocol.mapping_id)?
        .ok_or_else(|| Error::could_not_find("mapping", &protocol.mapping_id))?;
    check_groups_exist(conn, &protocol.mapping_id, &federated.group_ids)
}

/// Keystone's `validate_mapped_group_ids`. Keystone answers a missing group with a 500
/// (`MappedGroupNotFound`); it is a failed login here.
fn check_groups_exist(conn: &mut AnyConnection, mapping_id: &str, ids: &[String]) -> Result<()> {
    for id in ids {
        if groups::get(conn, id)?.is_none() {
            return Err(mapping_refused(format!(
                "Group {id} returned by mapping {mapping_id} was not found in the backend."
            )));
        }
    }
    Ok(())
}

/// A domain given as `{"id"}` or `{"name"}` (Keystone's `resolve_domain`).
fn domain_id_of(conn: &mut AnyConnection, domain: &Value) -> Result<String> {
    if let Some(id) = domain
        .get("id")
        .filter(|v| crate::python::is_truthy(v))
        .and_then(Value::as_str)
    {
        return Ok(id.to_string());
    }
    let Some(name) = domain.get("name").and_then(Value::as_str) else {
        return Err(mapping_refused("a mapped domain has neither id nor name"));
    };
    resource_store::find_domain_by_name(conn, name)?
        .map(|d| d.id)
        .ok_or_else(|| Error::could_not_find("domain", name))
}

/// Keystone's `apply_mapping_filter` group handling: ids must exist, names are looked up
/// in their domain (unknown names are skipped); each id once.
fn resolve_groups(
    conn: &mut AnyConnection,
    mapping_id: &str,
    mapped: &Mapped,
) -> Result<Vec<String>> {
    check_groups_exist(conn, mapping_id, &mapped.group_ids)?;
    let mut ids = mapped.group_ids.clone();
    for group in &mapped.group_names {
        let domain = group.get("domain").cloned().unwrap_or(Value::Null);
        let domain_id = domain_id_of(conn, &domain)?;
        let Some(name) = group.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(id) = shadow::group_id_by_name(conn, &domain_id, name)?
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A mapping to a `local` user: that user must exist, enabled, in an enabled domain
/// (Keystone's `UserAuthInfo`).
fn local_user(conn: &mut AnyConnection, mapped: &Mapped) -> Result<String> {
    let user = match mapped.user_attr("id") {
        Some(id) => identity_store::get(conn, id)?,
        None => {
            let Some(name) = mapped.user_attr("name") else {
                return Err(mapping_refused("a local user needs an id or a name"));
            };
            let domain = mapped.user.get("domain").cloned().unwrap_or(Value::Null);
            if domain.is_null() {
                return Err(mapping_refused("a local user by name needs a domain"));
            }
            let domain_id = match domain_id_of(conn, &domain) {
                Ok(id) => id,
                Err(e) if e.status == StatusCode::NOT_FOUND => {
                    return Err(mapping_refused(e.message));
                }
                Err(e) => return Err(e),
            };
            identity_store::find_by_name(conn, &domain_id, name)?
        }
    };
    let user = user.ok_or_else(|| mapping_refused("the mapped local user does not exist"))?;
    let domain_enabled =
        resource_store::get_domain(conn, &user.domain_id)?.is_some_and(|d| d.enabled);
    if !user.enabled || !domain_enabled {
        return Err(mapping_refused("the mapped local user is disabled"));
    }
    Ok(user.id)
}

/// The shadow user a mapping describes, once named and placed in a domain.
struct ShadowUser {
    unique_id: String,
    name: String,
    domain_id: String,
    email: Option<String>,
}

/// Keystone's `validate_and_prepare_federated_user`: a name (else the id, else
/// `REMOTE_USER`), the URL-quoted id as the unique id, and the domain (the provider's
/// unless the mapping names one).
fn prepare_user(
    conn: &mut AnyConnection,
    mapped: &mut Mapped,
    idp: &IdentityProvider,
    assertion: &Assertion,
) -> Result<ShadowUser> {
    let id = mapped.user_attr("id").map(str::to_string);
    let name = mapped
        .user_attr("name")
        .map(str::to_string)
        .or_else(|| assertion.get("REMOTE_USER").map(str::to_string))
        .filter(|n| !n.is_empty());
    let (unique, name) = match (id, name) {
        (None, None) => {
            return Err(mapping_refused(
                "Could not map user while setting ephemeral user identity. Either mapping \
                 rules must specify user id/name or REMOTE_USER environment variable must be set.",
            ));
        }
        (Some(id), None) => (id.clone(), id),
        (None, Some(name)) => (name.clone(), name),
        (Some(id), Some(name)) => (id, name),
    };
    let unique_id = url_quote(&unique);
    let domain = match mapped.user.get("domain") {
        Some(d) if d.is_object() => d.clone(),
        _ => json!({"id": idp.domain_id}),
    };
    let domain_id = domain_id_of(conn, &domain)?;
    mapped.user.insert("id".into(), unique_id.clone().into());
    mapped.user.insert("name".into(), name.clone().into());
    mapped
        .user
        .insert("domain".into(), json!({"id": domain_id}));
    Ok(ShadowUser {
        unique_id,
        name,
        domain_id,
        email: mapped.user_attr("email").map(str::to_string),
    })
}

/// Python's `urllib.parse.quote(text)` (safe: `/` and the unreserved characters).
fn url_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Keystone's public id of a federated user: its `sha256` id generator over the sorted
/// local entity (`domain_id`, `entity_type`, `local_id`), so that every node — Python or
/// Rust — derives the same id for the same identity.
pub fn federated_user_id(domain_id: &str, unique_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(domain_id.as_bytes());
    h.update(b"user");
    h.update(unique_id.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Keystone's `shadow_federated_user`: create or refresh the shadow user, mark it active
/// today, and refresh its expiring group memberships (revoking its tokens when they
/// changed for a user seen before).
fn shadow(
    conn: &mut AnyConnection,
    config: &Config,
    idp: &IdentityProvider,
    protocol_id: &str,
    user: &ShadowUser,
    group_ids: &[String],
) -> Result<String> {
    let existing = shadow::user_id_of(conn, &idp.id, protocol_id, &user.unique_id)?;
    let user_id = match &existing {
        Some(id) => {
            shadow::set_display_name(conn, &idp.id, protocol_id, &user.unique_id, &user.name)?;
            if let Some(email) = &user.email {
                shadow::set_email(conn, id, email)?;
            }
            id.clone()
        }
        None => {
            let id = federated_user_id(&user.domain_id, &user.unique_id);
            if identity_store::get(conn, &id)?.is_some() {
                return Err(Error::conflict(
                    "Conflict occurred attempting to store federated_user - Duplicate entry.",
                ));
            }
            shadow::create(
                conn,
                &shadow::NewFederatedUser {
                    user_id: &id,
                    domain_id: &user.domain_id,
                    idp_id: &idp.id,
                    protocol_id,
                    unique_id: &user.unique_id,
                    display_name: &user.name,
                    email: user.email.as_deref(),
                },
            )?;
            id
        }
    };
    identity_store::set_last_active(conn, &user_id, chrono::Utc::now().date_naive())?;
    let mut changed = false;
    for group_id in group_ids {
        changed |= shadow::refresh_membership(conn, &user_id, group_id)?;
    }
    changed |= !shadow::drop_stale_memberships(conn, &user_id, &idp.id, group_ids)?.is_empty();
    if changed && existing.is_some() {
        // One second back: a token issued in this very second is not revoked.
        let mut event = crate::revoke::RevocationEvent::for_user(&user_id);
        event.issued_before -= chrono::Duration::seconds(1);
        crate::revoke::store::insert(conn, &event, crate::revoke::retention_secs(config))?;
    }
    Ok(user_id)
}

/// The role a mapped project names: a global one, else one of the user's domain
/// (Keystone's `validate_shadow_mapping`).
fn mapped_role(
    conn: &mut AnyConnection,
    name: &str,
    user_domain_id: &str,
    idp_id: &str,
) -> Result<String> {
    let roles = assignment_store::roles_named(conn, name)?;
    if let Some(global) = roles.iter().find(|r| r.domain_id.is_none()) {
        return Ok(global.id.clone());
    }
    let Some(role) = roles.first() else {
        return Err(Error::could_not_find("role", name));
    };
    if role.domain_id.as_deref() != Some(user_domain_id) {
        return Err(Error::new(
            StatusCode::FORBIDDEN,
            format!(
                "role: {name} must be within the same domain as the identity provider: {idp_id}."
            ),
        ));
    }
    Ok(role.id.clone())
}

/// Keystone's `configure_federated_projects`: every mapped project exists (created in
/// its domain, the provider's by default) and the user holds exactly the mapped roles
/// there — removing others only from schema 3.0, which also drops the user's roles on
/// projects the assertion no longer names.
fn provision_projects(
    conn: &mut AnyConnection,
    config: &Config,
    mapped: &Mapped,
    idp: &IdentityProvider,
    user_id: &str,
    version: Version,
) -> Result<()> {
    let user_domain_id = mapped
        .user_domain_attr("id")
        .unwrap_or(&idp.domain_id)
        .to_string();
    // Every role is checked before anything is created.
    let mut wanted: Vec<(Value, Vec<String>)> = Vec::new();
    for project in &mapped.projects {
        let mut role_ids = Vec::new();
        for role in project
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = role.get("name").and_then(Value::as_str).unwrap_or_default();
            let id = mapped_role(conn, name, &user_domain_id, &idp.id)?;
            if !role_ids.contains(&id) {
                role_ids.push(id);
            }
        }
        wanted.push((project.clone(), role_ids));
    }
    let actor = Actor::User(user_id.to_string());
    let held = assignment_store::list_grants(
        conn,
        &GrantQuery {
            user_id: Some(user_id.to_string()),
            ..Default::default()
        },
    )?;
    let settings = crate::resource::Settings::from_config(config);
    let mut processed: Vec<String> = Vec::new();
    for (project, role_ids) in wanted {
        let domain = match project.get("domain") {
            Some(d) if d.is_object() => d.clone(),
            _ => json!({"id": idp.domain_id}),
        };
        let domain_id = domain_id_of(conn, &domain)?;
        let name = project
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let project_id = match resource_store::find_project_by_name(conn, &domain_id, name)? {
            Some(p) => p.id,
            None => {
                let mut body = Map::new();
                body.insert("name".into(), name.into());
                body.insert("domain_id".into(), domain_id.clone().into());
                crate::resource::create_project(conn, &settings, &body, None)?.id
            }
        };
        processed.push(project_id.clone());
        let target = Target::Project(project_id.clone());
        let current: Vec<&String> = held
            .iter()
            .filter(|a| a.target == target && a.actor == actor && !a.inherited)
            .map(|a| &a.role_id)
            .collect();
        for role_id in &current {
            if !role_ids.contains(role_id) && version.syncs_project_assignments() {
                assignment_store::delete_grant(conn, &actor, &target, role_id, false)?;
            }
        }
        for role_id in &role_ids {
            if !current.contains(&role_id) {
                assignment_store::create_grant(conn, &actor, &target, role_id, false)?;
            }
        }
    }
    if version.syncs_project_assignments() {
        for a in &held {
            if let Target::Project(project_id) = &a.target
                && a.actor == actor
                && !processed.contains(project_id)
            {
                assignment_store::delete_grant(conn, &actor, &a.target, &a.role_id, a.inherited)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_python() {
        assert_eq!(url_quote("a b/c@d~é"), "a%20b/c%40d~%C3%A9");
    }

    #[test]
    fn federated_ids_follow_keystones_sha256_generator() {
        // hashlib.sha256(b"default" + b"user" + b"alice").hexdigest()
        assert_eq!(
            federated_user_id("default", "alice"),
            "c43e4dd25aba357630477a0f49fde7da8567b753ddd430c9555ad09aa2a76e9e"
        );
    }
}
