//! The `application_credential` auth method: a credential by id, or by name with its
//! owner by id or by name and domain (application-credentials.md §9).

use super::MethodOutcome;
use crate::application_credential::{ApplicationCredential, store};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::identity::{inactivity, password::check_password, store as identity_store};
use crate::python::{is_truthy, py_repr, py_str};
use crate::resource::{Project, store as resource_store};
use crate::token::model::ResolvedScope;
use serde_json::{Map, Value, json};

/// The value under `key` if Python would find it truthy.
fn truthy_get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| is_truthy(v))
}

/// How Keystone quotes an id that is not a string (`str()` of it).
fn as_text(value: &Value) -> String {
    py_str(value)
}

fn denied(why: &str) -> Error {
    Error::unauthorized_because(why.to_string())
}

/// The 401 Keystone answers when the auth request carries a scope.
pub fn scope_not_allowed() -> Error {
    Error::auth_plugin(
        "Error authenticating with application credential: Application credentials cannot \
         request a scope.",
        json!({}),
    )
}

fn get_by_id(conn: &mut AnyConnection, id: &Value) -> Result<ApplicationCredential> {
    let id = as_text(id);
    store::get(conn, &id)?.ok_or_else(|| Error::could_not_find("Application Credential", &id))
}

/// A domain named in the payload: unknown or disabled is a generic 401.
fn find_enabled_domain(conn: &mut AnyConnection, domain: &Value) -> Result<Project> {
    let obj = domain.as_object().ok_or_else(|| {
        Error::bad_request(format!(
            "Invalid input for field 'identity/application_credential/user/domain': {} is not \
             of type 'object'",
            py_repr(domain)
        ))
    })?;
    let found = if let Some(name) = truthy_get(obj, "name") {
        resource_store::find_domain_by_name(conn, &as_text(name))?
    } else if let Some(id) = truthy_get(obj, "id") {
        resource_store::get_domain(conn, &as_text(id))?
    } else {
        None
    }
    .ok_or_else(|| denied("unknown user domain"))?;
    if !found.enabled {
        return Err(denied("user domain disabled"));
    }
    Ok(found)
}

fn user_object(data: &Map<String, Value>) -> Result<&Map<String, Value>> {
    match data.get("user") {
        Some(Value::Object(u)) if !u.is_empty() => Ok(u),
        other if !other.is_some_and(is_truthy) => {
            Err(Error::expecting("user", "application credential"))
        }
        Some(other) => Err(Error::bad_request(format!(
            "Invalid input for field 'identity/application_credential/user': {} is not of type \
             'object'",
            py_repr(other)
        ))),
        None => Err(Error::expecting("user", "application credential")),
    }
}

/// The credential the payload names, as Keystone finds it while working out the token's
/// scope, before any authentication: an unknown id is a 404, an unknown user name a 404,
/// no single credential of that name a 401.
pub fn lookup(conn: &mut AnyConnection, data: &Value) -> Result<ApplicationCredential> {
    let empty = Map::new();
    let obj = data.as_object().unwrap_or(&empty);
    if let Some(id) = truthy_get(obj, "id") {
        return get_by_id(conn, id);
    }
    let name = truthy_get(obj, "name")
        .map(as_text)
        .ok_or_else(|| Error::expecting("name or ID", "application credential"))?;
    let user = user_object(obj)?;
    let user_id = if let Some(id) = truthy_get(user, "id") {
        as_text(id)
    } else {
        let domain = user
            .get("domain")
            .ok_or_else(|| Error::expecting("domain", "user"))?;
        let domain = find_enabled_domain(conn, domain)?;
        let user_name = truthy_get(user, "name")
            .map(as_text)
            .ok_or_else(|| Error::expecting("id or name", "user"))?;
        identity_store::find_by_name(conn, &domain.id, &user_name)?
            .ok_or_else(|| Error::could_not_find("user", &user_name))?
            .id
    };
    let mut found = store::list_for_user(conn, &user_id, Some(&name))?;
    match (found.pop(), found.is_empty()) {
        (Some(ac), true) => Ok(ac),
        _ => Err(denied("no single application credential of that name")),
    }
}

/// Authenticate: the owner must exist and be enabled in an enabled domain, the secret must
/// match (Keystone's password check, with its length rule) and the credential be unexpired.
pub fn authenticate(
    conn: &mut AnyConnection,
    config: &Config,
    data: &Value,
) -> Result<MethodOutcome> {
    let ac = match lookup(conn, data) {
        Ok(ac) => ac,
        // By now the scope phase has reported these; a vanished credential is a 401.
        Err(e) if e.status.as_u16() == 404 => return Err(denied("credential vanished")),
        Err(e) => return Err(e),
    };
    check_owner(conn, config, &ac)?;
    let secret = data
        .get("secret")
        .and_then(Value::as_str)
        .ok_or_else(|| denied("no secret"))?;
    if !secret_matches(conn, config, &ac, secret)? {
        return Err(denied("wrong secret"));
    }
    check_unexpired(&ac)?;
    Ok(MethodOutcome {
        user_id: ac.user_id.clone(),
        application_credential: Some(ac),
        ..Default::default()
    })
}

/// The owner must exist and be enabled in an enabled domain.
pub fn check_owner(
    conn: &mut AnyConnection,
    config: &Config,
    ac: &ApplicationCredential,
) -> Result<()> {
    let user = identity_store::get(conn, &ac.user_id)?.ok_or_else(|| denied("unknown owner"))?;
    let domain = resource_store::get_domain(conn, &user.domain_id)?;
    if !domain.is_some_and(|d| d.enabled) {
        return Err(denied("owner's domain disabled"));
    }
    if !user.enabled || inactivity::is_inactive(conn, config, &user)? {
        return Err(denied("owner disabled"));
    }
    Ok(())
}

/// Keystone's password check (with its length rule) of a presented secret.
pub fn secret_matches(
    conn: &mut AnyConnection,
    config: &Config,
    ac: &ApplicationCredential,
    secret: &str,
) -> Result<bool> {
    let hash = store::secret_hash(conn, &ac.id)?.ok_or_else(|| denied("credential vanished"))?;
    check_password(secret, &hash, &config.identity)
}

pub fn check_unexpired(ac: &ApplicationCredential) -> Result<()> {
    if ac.is_expired(chrono::Utc::now().naive_utc()) {
        return Err(denied("credential expired"));
    }
    Ok(())
}

/// The token's scope: the credential's project, which must exist and be enabled with its
/// domain (Keystone's 404s), or no scope for a credential created with an unscoped token.
pub fn scope(conn: &mut AnyConnection, ac: &ApplicationCredential) -> Result<ResolvedScope> {
    let Some(project_id) = &ac.project_id else {
        return Ok(ResolvedScope::Unscoped);
    };
    super::scope::enabled_project_scope(conn, project_id)
}
