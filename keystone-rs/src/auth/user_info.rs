//! Keystone's `BaseUserInfo`: the user a `{"user": {"id" | "name" + "domain"}}` method
//! payload names (password, totp), refused as Keystone refuses it before any secret is
//! looked at — so those refusals never count towards a lockout.

use super::scope::{DomainRef, find_domain, truthy_str};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::identity::{User, inactivity, store as identity_store};
use serde_json::{Map, Value};

/// The enabled user of an enabled domain that `user` names, ids and names tested for
/// truth (`_validate_and_normalize_auth_data`).
pub fn enabled_user(
    conn: &mut AnyConnection,
    config: &Config,
    user: &Map<String, Value>,
) -> Result<User> {
    let denied = |why: &str| Error::unauthorized_because(why.to_string());
    let name = truthy_str(user, "name");
    let id = truthy_str(user, "id");
    let mut found = if let Some(name) = name {
        let domain = user
            .get("domain")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::expecting("domain", "user"))?;
        let domain = match (truthy_str(domain, "name"), truthy_str(domain, "id")) {
            (Some(name), _) => DomainRef::Name(name),
            (None, Some(id)) => DomainRef::Id(id),
            (None, None) => return Err(Error::expecting("id or name", "domain")),
        };
        let domain = find_domain(conn, &domain)?.ok_or_else(|| denied("unknown user domain"))?;
        if !domain.enabled {
            return Err(denied("user domain disabled"));
        }
        identity_store::find_by_name(conn, &domain.id, &name)?
    } else if let Some(id) = id {
        identity_store::get(conn, &id)?
    } else {
        return Err(Error::expecting("id or name", "user"));
    }
    .ok_or_else(|| denied("unknown user"))?;
    inactivity::apply(conn, config, &mut found)?;
    if !found.enabled {
        return Err(denied("user disabled"));
    }
    let domain = crate::resource::store::get_domain(conn, &found.domain_id)?;
    if !domain.is_some_and(|d| d.enabled) {
        return Err(denied("user domain disabled"));
    }
    Ok(found)
}
