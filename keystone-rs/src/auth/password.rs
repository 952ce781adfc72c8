//! The `password` auth method: user by id, or by name within a domain.

use super::MethodOutcome;
use super::request::{invalid_field, optional_string};
use super::scope::{find_domain, parse_domain_ref};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::identity::{password::check_password, store as identity_store};
use serde_json::Value;

pub fn authenticate(
    conn: &mut AnyConnection,
    config: &Config,
    data: &Value,
) -> Result<MethodOutcome> {
    let path = "identity/password/user";
    let user_obj = match data.get("user") {
        Some(Value::Object(u)) => u,
        None => return Err(Error::expecting("user", "password")),
        Some(other) => {
            return Err(invalid_field(
                path,
                &format!("{other} is not of type 'object'"),
            ));
        }
    };
    let name = optional_string(user_obj, "name", path)?;
    let id = optional_string(user_obj, "id", path)?;
    let password = optional_string(user_obj, "password", path)?;
    let denied = |why: &str| Error::unauthorized_because(why.to_string());

    // Keystone: a name (with its domain) wins over an id.
    let user = if let Some(name) = name {
        let domain = user_obj
            .get("domain")
            .ok_or_else(|| Error::expecting("domain", "user"))?;
        let domain = parse_domain_ref(domain, &format!("{path}/domain"))?;
        let domain = find_domain(conn, &domain)?.ok_or_else(|| denied("unknown user domain"))?;
        if !domain.enabled {
            return Err(denied("user domain disabled"));
        }
        identity_store::find_by_name(conn, &domain.id, &name)?
    } else if let Some(id) = id {
        identity_store::get(conn, &id)?
    } else {
        return Err(Error::bad_request(format!(
            "Invalid input for field {path}: id or name must be present."
        )));
    }
    .ok_or_else(|| denied("unknown user"))?;

    let password = password.ok_or_else(|| denied("no password given"))?;
    let record = identity_store::current_password(conn, &user.id)?;
    let hash = record
        .as_ref()
        .and_then(|r| r.hash.clone())
        .ok_or_else(|| denied("user has no password"))?;
    if !check_password(&password, &hash, &config.identity)? {
        return Err(denied("wrong password"));
    }
    if !user.enabled {
        return Err(denied("user disabled"));
    }
    let domain = crate::resource::store::get_domain(conn, &user.domain_id)?;
    if !domain.is_some_and(|d| d.enabled) {
        return Err(denied("user domain disabled"));
    }
    if let Some(expires) = record.and_then(|r| r.expires_at) {
        if expires <= chrono::Utc::now().naive_utc() {
            return Err(Error::unauthorized_shown(format!(
                "The password is expired and needs to be changed for user: {}.",
                user.id
            )));
        }
    }
    Ok(MethodOutcome {
        user_id: user.id,
        ..Default::default()
    })
}
