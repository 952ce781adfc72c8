//! Which backend serves a request of the user and group routes: the SQL tables, or the
//! directory of a domain-specific LDAP backend (`crate::ldap`). Reads of an LDAP domain
//! go to its directory; writes answer Keystone's read-only 403.

use crate::db::enums::EntityType;
use crate::error::{Error, Result};
use crate::ldap::LdapDomain;
use crate::state::State;
use crate::token::model::{ResolvedScope, Token};

/// Keystone's `_get_domain_id_for_list_request`: with domain-specific drivers, a list is
/// for the `domain_id` asked for, else the token's domain (a project's for a project
/// token); system tokens list through the default driver; anything else is a 401.
pub fn list_domain(
    state: &State,
    caller: &Token,
    query_domain: Option<&str>,
) -> Result<Option<String>> {
    if !state.config.identity.domain_specific_drivers_enabled {
        return Ok(None);
    }
    if let Some(d) = query_domain.filter(|d| !d.is_empty()) {
        return Ok(Some(d.to_string()));
    }
    match &caller.scope {
        ResolvedScope::Domain(d) => Ok(Some(d.id.clone())),
        ResolvedScope::Project { domain, .. } => Ok(Some(domain.id.clone())),
        ResolvedScope::System => Ok(None),
        ResolvedScope::Unscoped => Err(Error::unauthorized_because(
            "No domain information specified as part of list request",
        )),
    }
}

/// The directory serving a domain, if it is on LDAP.
pub async fn of_domain(state: &State, domain_id: Option<&str>) -> Result<Option<LdapDomain>> {
    let Some(domain_id) = domain_id.map(str::to_string) else {
        return Ok(None);
    };
    if !state.config.identity.domain_specific_drivers_enabled {
        return Ok(None);
    }
    let st = state.clone();
    state
        .db
        .read(move |conn| crate::ldap::backend_of(conn, &st.config, &domain_id))
        .await
}

/// The directory and local id behind a public user or group id, if it is an LDAP one.
pub async fn of_id(
    state: &State,
    public_id: &str,
    kind: EntityType,
) -> Result<Option<(LdapDomain, String)>> {
    if !state.config.identity.domain_specific_drivers_enabled {
        return Ok(None);
    }
    let (st, id) = (state.clone(), public_id.to_string());
    state
        .db
        .read(move |conn| crate::ldap::resolve(conn, &st.config, &id, kind))
        .await
}

/// Refuse a write to an LDAP user or group.
pub async fn refuse_write_to(state: &State, public_id: &str, kind: EntityType) -> Result<()> {
    match of_id(state, public_id, kind).await? {
        Some(_) => Err(crate::ldap::read_only()),
        None => Ok(()),
    }
}
