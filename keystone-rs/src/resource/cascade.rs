//! What Keystone's other managers do, through their notification callbacks, when a project
//! or a domain is deleted: drop the grants on it, the credentials, trusts, limits and
//! endpoint associations of a project, users' default project, and — for a domain — the
//! users and groups it owns and its domain-specific configuration.
//!
//! These are SQL on other subsystems' tables, kept here so a project or domain delete is one
//! transaction; they are candidates to move into those subsystems' stores.

use crate::db::AnyConnection;
use crate::db::enums::AssignmentType;
use crate::db::schema::{
    access_rule, application_credential, assignment, config_register, credential,
    expiring_user_group_membership, federated_user, group, id_mapping, limit, local_user,
    nonlocal_user, password, project_endpoint, project_endpoint_group, sensitive_config,
    system_assignment, trust, user, user_group_membership, user_option, whitelisted_config,
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

fn delete_grants_by(conn: &mut AnyConnection, actor_id: &str, kind: AssignmentType) -> Result<()> {
    diesel::delete(
        assignment::table
            .filter(assignment::actor_id.eq(actor_id))
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

/// `identity_api.delete_group`: memberships, grants (system ones too), the id mapping and
/// the group. Returns the members whose tokens must be revoked: all of them when the group
/// held any grant, as Keystone does.
pub fn delete_group(conn: &mut AnyConnection, group_id: &str) -> Result<Vec<String>> {
    let grants: i64 = assignment::table
        .filter(assignment::actor_id.eq(group_id))
        .count()
        .get_result(conn)?;
    let system_grants: i64 = system_assignment::table
        .filter(system_assignment::actor_id.eq(group_id))
        .count()
        .get_result(conn)?;
    let members: Vec<String> = user_group_membership::table
        .filter(user_group_membership::group_id.eq(group_id))
        .select(user_group_membership::user_id)
        .load(conn)?;
    diesel::delete(
        user_group_membership::table.filter(user_group_membership::group_id.eq(group_id)),
    )
    .execute(conn)?;
    diesel::delete(
        expiring_user_group_membership::table
            .filter(expiring_user_group_membership::group_id.eq(group_id)),
    )
    .execute(conn)?;
    for kind in [AssignmentType::GroupProject, AssignmentType::GroupDomain] {
        delete_grants_by(conn, group_id, kind)?;
    }
    diesel::delete(system_assignment::table.filter(system_assignment::actor_id.eq(group_id)))
        .execute(conn)?;
    diesel::delete(id_mapping::table.filter(id_mapping::public_id.eq(group_id))).execute(conn)?;
    diesel::delete(group::table.filter(group::id.eq(group_id))).execute(conn)?;
    Ok(if grants + system_grants > 0 {
        members
    } else {
        Vec::new()
    })
}

/// `identity_api.delete_user` and the `user deleted` callbacks: grants, memberships,
/// credentials, application credentials and access rules, trusts (soft-deleted), the id
/// mapping, and the user with its local/non-local/federated rows, passwords and options.
pub fn delete_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    for kind in [AssignmentType::UserProject, AssignmentType::UserDomain] {
        delete_grants_by(conn, user_id, kind)?;
    }
    diesel::delete(system_assignment::table.filter(system_assignment::actor_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(user_group_membership::table.filter(user_group_membership::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(
        expiring_user_group_membership::table
            .filter(expiring_user_group_membership::user_id.eq(user_id)),
    )
    .execute(conn)?;
    diesel::delete(credential::table.filter(credential::user_id.eq(user_id))).execute(conn)?;
    // Their roles and access-rule links go with them (ON DELETE CASCADE).
    diesel::delete(
        application_credential::table.filter(application_credential::user_id.eq(user_id)),
    )
    .execute(conn)?;
    diesel::delete(access_rule::table.filter(access_rule::user_id.eq(user_id))).execute(conn)?;
    diesel::update(
        trust::table
            .filter(
                trust::trustor_user_id
                    .eq(user_id)
                    .or(trust::trustee_user_id.eq(user_id)),
            )
            .filter(trust::deleted_at.is_null()),
    )
    .set(trust::deleted_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)?;
    diesel::delete(id_mapping::table.filter(id_mapping::public_id.eq(user_id))).execute(conn)?;
    let local_ids: Vec<i32> = local_user::table
        .filter(local_user::user_id.eq(user_id))
        .select(local_user::id)
        .load(conn)?;
    diesel::delete(password::table.filter(password::local_user_id.eq_any(&local_ids)))
        .execute(conn)?;
    diesel::delete(local_user::table.filter(local_user::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(nonlocal_user::table.filter(nonlocal_user::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(federated_user::table.filter(federated_user::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(user_option::table.filter(user_option::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(user::table.filter(user::id.eq(user_id))).execute(conn)?;
    Ok(())
}
