//! A `{"OS-TRUST:trust": {"id": …}}` scope: the trust, looked up before the methods run,
//! fixes the project; the issued token spends one of its uses.

use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::resource::store as resource_store;
use crate::token::model::ResolvedScope;
use crate::trust::{self, Trust, store::Use};
use actix_web::http::StatusCode;

/// Keystone turns a `TrustNotFound` anywhere in issuing into its generic 401 (a trust that
/// another request used up, or deleted, between the scope lookup and the issue too).
pub fn hide_missing_trust(e: Error) -> Error {
    if e.status == StatusCode::NOT_FOUND && e.message.starts_with("Could not find trust:") {
        Error::unauthorized_because(e.message)
    } else {
        e
    }
}

/// The trust and the scope it gives: its project (unknown or disabled is a generic 401,
/// as any requested project), or none for a trust without one.
pub fn scope(
    conn: &mut AnyConnection,
    config: &Config,
    id: &str,
) -> Result<(Trust, ResolvedScope)> {
    let trust = trust::get(conn, config, id).map_err(hide_missing_trust)?;
    let Some(project_id) = trust.project_id.clone() else {
        return Ok((trust, ResolvedScope::Unscoped));
    };
    let denied = |why: &str| Error::unauthorized_because(why.to_string());
    let project =
        resource_store::get_project(conn, &project_id)?.ok_or_else(|| denied("unknown project"))?;
    let domain_id = project.domain_id.clone().unwrap_or_default();
    let domain = resource_store::get_domain(conn, &domain_id)?
        .ok_or_else(|| denied("project's domain missing"))?;
    if !project.enabled || !domain.enabled {
        return Err(denied("project or its domain disabled"));
    }
    Ok((trust, ResolvedScope::Project { project, domain }))
}

/// Spend one use of the trust a token was just issued from, in the issuing transaction.
/// Two requests racing for the last use (on one node or several) cannot both have it: the
/// loser gets Keystone's `TrustUseLimitReached`.
pub fn spend_use(conn: &mut AnyConnection, id: &str) -> Result<()> {
    match trust::store::consume_use(conn, id)? {
        Use::Spent | Use::Unlimited => Ok(()),
        Use::Exhausted => Err(Error::new(
            StatusCode::FORBIDDEN,
            format!("No remaining uses for trust: {id}."),
        )),
        Use::Gone => Err(Error::unauthorized_because("trust deleted while issuing")),
    }
}
