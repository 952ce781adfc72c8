//! What Keystone's other managers do, through their notification callbacks, when a project
//! or a domain is deleted: drop the grants on it, the credentials, trusts, limits and
//! endpoint associations of a project, users' default project, and — for a domain — its
//! domain-specific configuration (its users and groups go through identity's own deletes).
//!
//! These are SQL on other subsystems' tables, kept here so a project or domain delete is one
//! transaction; they are candidates to move into those subsystems' stores.

use crate::db::AnyConnection;
use crate::db::enums::AssignmentType;
use crate::db::schema::{
    assignment, config_register, credential, group, limit, project_endpoint,
    project_endpoint_group, sensitive_config, trust, user, whitelisted_config,
};
use crate::error::Result;
use chrono::Utc;
use diesel::prelude::*;

/// `assignment_api.delete_project_assignments`: user and group grants on the project.
pub fn delete_project_assignments(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    for kind in [AssignmentType::UserProject, AssignmentType::GroupProject] {
        delete_grants_on(conn, project_id, kind)?;
    }
    Ok(())
}

// One statement per kind: PostgreSQL binds the enum column's values one at a time.
fn delete_grants_on(conn: &mut AnyConnection, target_id: &str, kind: AssignmentType) -> Result<()> {
    diesel::delete(
        assignment::table
            .filter(assignment::target_id.eq(target_id))
            .filter(assignment::type_.eq(kind)),
    )
    .execute(conn)?;
    Ok(())
}

/// `assignment_api._delete_domain_assignments`: user and group grants on the domain.
pub fn delete_domain_assignments(conn: &mut AnyConnection, domain_id: &str) -> Result<()> {
    for kind in [AssignmentType::UserDomain, AssignmentType::GroupDomain] {
        delete_grants_on(conn, domain_id, kind)?;
    }
    Ok(())
}

/// The rest of `_post_delete_cleanup_project` and the `project deleted` callbacks:
/// credentials, trusts (soft-deleted), limits, endpoint and endpoint-group associations,
/// and users whose default project it was.
pub fn delete_project_dependents(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::delete(credential::table.filter(credential::project_id.eq(project_id)))
        .execute(conn)?;
    diesel::update(
        trust::table
            .filter(trust::project_id.eq(project_id))
            .filter(trust::deleted_at.is_null()),
    )
    .set(trust::deleted_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)?;
    diesel::delete(limit::table.filter(limit::project_id.eq(project_id))).execute(conn)?;
    diesel::delete(project_endpoint::table.filter(project_endpoint::project_id.eq(project_id)))
        .execute(conn)?;
    diesel::delete(
        project_endpoint_group::table.filter(project_endpoint_group::project_id.eq(project_id)),
    )
    .execute(conn)?;
    diesel::update(user::table.filter(user::default_project_id.eq(project_id)))
        .set(user::default_project_id.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

/// `domain_config_api.delete_config_options` and `release_registration`.
pub fn delete_domain_config(conn: &mut AnyConnection, domain_id: &str) -> Result<()> {
    diesel::delete(whitelisted_config::table.filter(whitelisted_config::domain_id.eq(domain_id)))
        .execute(conn)?;
    diesel::delete(sensitive_config::table.filter(sensitive_config::domain_id.eq(domain_id)))
        .execute(conn)?;
    diesel::delete(config_register::table.filter(config_register::domain_id.eq(domain_id)))
        .execute(conn)?;
    Ok(())
}

pub fn group_ids_in_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<Vec<String>> {
    Ok(group::table
        .filter(group::domain_id.eq(domain_id))
        .order(group::id)
        .select(group::id)
        .load(conn)?)
}

pub fn user_ids_in_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<Vec<String>> {
    Ok(user::table
        .filter(user::domain_id.eq(domain_id))
        .order(user::id)
        .select(user::id)
        .load(conn)?)
}
