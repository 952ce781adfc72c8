//! The `password` auth method: user by id, or by name within a domain.

use super::MethodOutcome;
use super::scope::{DomainRef, find_domain, truthy_str};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::db::enums::EntityType;
use crate::error::{Error, Result};
use crate::identity::options::{self, IGNORE_PASSWORD_EXPIRY};
use crate::identity::{inactivity, lockout, password::check_password, store as identity_store};
use crate::ldap::Login;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};

/// The user whose password was just refused. A failed request's work is rolled back, so
/// the lockout counter is written afterwards, in a transaction of its own
/// ([`lockout::record_failure`]).
#[derive(Debug, Clone, Default)]
pub struct FailedLogin(Arc<Mutex<Option<String>>>);

impl FailedLogin {
    pub fn set(&self, user_id: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(user_id.to_string());
        }
    }

    pub fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

pub fn authenticate(
    conn: &mut AnyConnection,
    config: &Config,
    data: &Value,
    failed: &FailedLogin,
) -> Result<MethodOutcome> {
    let user_obj = data
        .get("user")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::expecting("user", "password"))?;
    let password = user_obj
        .get("password")
        .and_then(Value::as_str)
        .map(str::to_string);
    let denied = |why: &str| Error::unauthorized_because(why.to_string());
    if let Some(user_id) = directory_login(conn, config, user_obj, password.as_deref())? {
        return Ok(MethodOutcome {
            user_id,
            ..Default::default()
        });
    }
    let user = super::user_info::enabled_user(conn, config, user_obj)?;
    let options = identity_store::options_of(conn, std::slice::from_ref(&user.id))?
        .remove(&user.id)
        .unwrap_or_default();
    lockout::check_not_locked(conn, config, &user.id, &options)?;
    let record = identity_store::current_password(conn, &user.id)?;
    let hash = record.as_ref().and_then(|r| r.hash.clone());
    // A missing password or a user without one is a wrong password to Keystone: it counts.
    let matches = match (&password, &hash) {
        (Some(p), Some(h)) => check_password(p, h, &config.identity)?,
        _ => false,
    };
    if !matches {
        failed.set(&user.id);
        return Err(denied("wrong password"));
    }
    let exempt = options::is_true(&options, IGNORE_PASSWORD_EXPIRY);
    if let Some(expires) = record.and_then(|r| r.expires_at).filter(|_| !exempt) {
        if expires <= chrono::Utc::now().naive_utc() {
            return Err(Error::unauthorized_shown(format!(
                "The password is expired and needs to be changed for user: {}.",
                user.id
            )));
        }
    }
    lockout::record_success(conn, &user.id)?;
    inactivity::record_activity(conn, &user)?;
    Ok(MethodOutcome {
        user_id: user.id,
        ..Default::default()
    })
}

/// A password login of a user of an LDAP domain (Keystone's `authenticate` through the
/// domain's driver): the user's own bind, then its shadow row and `last_active_at`.
/// `None` when the user named is not of such a domain.
fn directory_login(
    conn: &mut AnyConnection,
    config: &Config,
    user: &Map<String, Value>,
    password: Option<&str>,
) -> Result<Option<String>> {
    if !config.identity.domain_specific_drivers_enabled {
        return Ok(None);
    }
    let denied = |why: &str| Error::unauthorized_because(why.to_string());
    let (ldap, login) = if let Some(name) = truthy_str(user, "name") {
        let Some(domain) = user.get("domain").and_then(Value::as_object) else {
            return Ok(None);
        };
        let domain = match (truthy_str(domain, "name"), truthy_str(domain, "id")) {
            (Some(name), _) => DomainRef::Name(name),
            (None, Some(id)) => DomainRef::Id(id),
            (None, None) => return Ok(None),
        };
        let Some(domain) = find_domain(conn, &domain)? else {
            return Ok(None);
        };
        let Some(ldap) = crate::ldap::backend_of(conn, config, &domain.id)? else {
            return Ok(None);
        };
        (ldap, Login::Name(name))
    } else if let Some(id) = truthy_str(user, "id") {
        match crate::ldap::resolve(conn, config, &id, EntityType::User)? {
            Some((ldap, local)) => (ldap, Login::LocalId(local)),
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    let domain = crate::resource::store::get_domain(conn, &ldap.domain_id)?;
    if !domain.is_some_and(|d| d.enabled) {
        return Err(denied("user domain disabled"));
    }
    let found = crate::ldap::authenticate(conn, &ldap, login, password.unwrap_or_default())?;
    inactivity::record_activity(conn, &found)?;
    Ok(Some(found.id))
}
