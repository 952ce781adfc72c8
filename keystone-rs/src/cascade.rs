//! What deleting one entity does across subsystems: Keystone's managers and their
//! notification callbacks, written as plain calls in one place, inside the request's one
//! transaction. Each subsystem's store writes only its own tables; this file decides the
//! order. A route that deletes a user, group, role, project, domain, application
//! credential, service, endpoint, region or policy blob calls one of these and nothing else.

use crate::application_credential::store as app_cred_store;
use crate::assignment::{self, Target, store as assignment_store};
use crate::catalog::store as catalog_store;
use crate::credential::store as credential_store;
use crate::db::AnyConnection;
use crate::domain_config;
use crate::endpoint_policy::{self, store as endpoint_policy_store};
use crate::error::Result;
use crate::federation::provider_store as federation_store;
use crate::identity::{self, store as identity_store};
use crate::limit::store as limit_store;
use crate::oauth1;
use crate::oauth2::store as oauth2_store;
use crate::resource::delete::{self as resource_delete, Deletion};
use crate::resource::{Project, Settings};
use crate::revoke::{self, RevocationEvent};
use crate::trust::{self, store as trust_store};

/// `DELETE /v3/users/{user_id}`, and each user of a deleted domain: the user's application
/// credentials (with their OAuth2 client registrations) and access rules, the OS-OAUTH1
/// tokens it authorized (which Keystone leaves behind: api-ref/DEVIATIONS.md), its grants,
/// credentials and trusts, then the user itself and a user revocation event.
pub fn delete_user(conn: &mut AnyConnection, retention_secs: i64, user_id: &str) -> Result<()> {
    identity::users::require(conn, user_id)?;
    let credentials = app_cred_store::delete_for_user(conn, user_id)?;
    oauth2_store::delete_for_credentials(conn, &credentials)?;
    oauth1::on_user_deleted(conn, user_id)?;
    assignment_store::delete_grants_of_user(conn, user_id)?;
    credential_store::delete_for_user(conn, user_id)?;
    trust_store::soft_delete_for_user(conn, user_id)?;
    identity::users::delete(conn, retention_secs, user_id)
}

/// `DELETE /v3/groups/{group_id}`, and each group of a deleted domain: its grants, then the
/// group; its members' tokens are revoked when it held any role.
pub fn delete_group(conn: &mut AnyConnection, retention_secs: i64, group_id: &str) -> Result<()> {
    identity::groups::get(conn, group_id)?;
    let had_roles = assignment_store::actor_has_grants(conn, group_id)?;
    assignment_store::delete_grants_of_group(conn, group_id)?;
    identity::groups::delete(conn, retention_secs, group_id, had_roles)
}

/// `DELETE /v3/roles/{role_id}`: Keystone's role-deleted notification first (the
/// application credentials of every user holding a direct grant of the role on a project),
/// then the role with its grants and implications.
pub fn delete_role(conn: &mut AnyConnection, role_id: &str) -> Result<()> {
    assignment::check_role_deletable(conn, role_id)?;
    let credentials = app_cred_store::delete_for_role(conn, role_id)?;
    oauth2_store::delete_for_credentials(conn, &credentials)?;
    assignment_store::delete_role(conn, role_id)
}

/// `DELETE /v3/users/{user_id}/application_credentials/{id}`: the credential and its OAuth2
/// client registration. `false` when there was none.
pub fn delete_application_credential(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let deleted = app_cred_store::delete(conn, id)?;
    if deleted {
        oauth2_store::delete_for_credentials(conn, &[id.to_string()])?;
    }
    Ok(deleted)
}

/// `DELETE /v3/OS-TRUST/trusts/{trust_id}`: the trust and the trusts its trustor
/// redelegated from it (soft-deleted), each with a revocation event by trust id so that
/// every node refuses their tokens.
pub fn delete_trust(conn: &mut AnyConnection, retention_secs: i64, trust_id: &str) -> Result<()> {
    for id in trust::delete(conn, trust_id)? {
        let event = RevocationEvent {
            trust_id: Some(id),
            ..RevocationEvent::now()
        };
        revoke::store::insert(conn, &event, retention_secs)?;
    }
    Ok(())
}

/// `DELETE /v3/projects/{id}` (a domain too, when the id is one).
pub fn delete_project(conn: &mut AnyConnection, s: &Settings, id: &str) -> Result<()> {
    let plan = resource_delete::plan_project(conn, id)?;
    run(conn, s, plan)
}

/// `DELETE /v3/domains/{id}`.
pub fn delete_domain(conn: &mut AnyConnection, s: &Settings, id: &str) -> Result<()> {
    let plan = resource_delete::plan_domain(conn, id)?;
    run(conn, s, plan)
}

fn run(conn: &mut AnyConnection, s: &Settings, plan: Deletion) -> Result<()> {
    match plan {
        Deletion::Project(project) => delete_leaf(conn, s, &project),
        Deletion::Domain { domain, projects } => {
            for project in &projects {
                delete_leaf(conn, s, project)?;
            }
            // The same deletes as DELETE /v3/groups and /v3/users, cascades included.
            for group_id in identity_store::groups::ids_in_domain(conn, &domain.id)? {
                delete_group(conn, s.revocation_retention_secs, &group_id)?;
            }
            for user_id in identity_store::user_ids_in_domain(conn, &domain.id)? {
                delete_user(conn, s.revocation_retention_secs, &user_id)?;
            }
            // Keystone's `_cleanup_identity_provider` on DOMAIN_DELETED.
            for idp_id in federation_store::idp_ids_in_domain(conn, &domain.id)? {
                delete_identity_provider(conn, s.revocation_retention_secs, &idp_id)?;
            }
            delete_leaf(conn, s, &domain)?;
            domain_config::delete_for_domain(conn, &domain.id)?;
            assignment_store::delete_grants_on(conn, &Target::Domain(domain.id.clone()))
        }
    }
}

/// One project (or the domain itself, last): the row and its revocation event, then
/// `_post_delete_cleanup_project` and the `project deleted` callbacks — grants on it,
/// credentials, trusts and limits, endpoint associations, users' default project, OAuth1
/// tokens for it.
fn delete_leaf(conn: &mut AnyConnection, s: &Settings, p: &Project) -> Result<()> {
    resource_delete::delete_one(conn, s, p)?;
    assignment_store::delete_grants_on(conn, &Target::Project(p.id.clone()))?;
    credential_store::delete_for_project(conn, &p.id)?;
    trust_store::soft_delete_for_project(conn, &p.id)?;
    limit_store::delete_limits_for_project(conn, &p.id)?;
    catalog_store::delete_project_associations(conn, &p.id)?;
    identity_store::clear_default_project(conn, &p.id)?;
    oauth1::on_project_deleted(conn, &p.id)
}

// ---- the catalog and endpoint policies --------------------------------------------------
//
// Keystone registered these policy-association cleanups as callbacks on endpoint, service,
// region and policy deletion until its flask rewrite dropped the controller that held them;
// keystone-rs keeps doing them (api-ref/DEVIATIONS.md).

/// `DELETE /v3/services/{id}`: the service with its endpoints (and their project
/// associations), and every policy association naming the service or those endpoints.
pub fn delete_service(conn: &mut AnyConnection, id: &str) -> Result<()> {
    let endpoint_ids = crate::catalog::delete_service(conn, id)?;
    endpoint_policy_store::delete_for_endpoints(conn, &endpoint_ids)?;
    endpoint_policy_store::delete_for_service(conn, id)
}

/// `DELETE /v3/endpoints/{id}`: the endpoint, its project associations (Keystone's
/// `_on_project_or_endpoint_delete`) and its policy associations.
pub fn delete_endpoint(conn: &mut AnyConnection, id: &str) -> Result<()> {
    crate::catalog::delete_endpoint(conn, id)?;
    endpoint_policy_store::delete_for_endpoints(conn, &[id.to_string()])
}

/// `DELETE /v3/regions/{id}`: the region and its descendants, and the service+region
/// policy associations naming any of them.
pub fn delete_region(conn: &mut AnyConnection, id: &str) -> Result<()> {
    let deleted = crate::catalog::delete_region(conn, id)?;
    endpoint_policy_store::delete_for_regions(conn, &deleted)
}

/// `DELETE /v3/policies/{id}`: the blob and its associations.
pub fn delete_policy(conn: &mut AnyConnection, id: &str) -> Result<()> {
    endpoint_policy::delete_policy(conn, id)?;
    endpoint_policy_store::delete_for_policy(conn, id)
}

// ---- federation -------------------------------------------------------------------------

/// `DELETE /v3/OS-FEDERATION/identity_providers/{idp_id}` (and each IdP of a deleted
/// domain): its federated users' `federated_user` rows and expiring group memberships,
/// then its protocols, remote ids and the IdP. Users left with no name source are deleted
/// as Keystone's `_delete_orphaned_users` does, here through [`delete_user`], so their
/// tokens are revoked and their grants and credentials go too. `false` when there is no
/// such IdP.
pub fn delete_identity_provider(
    conn: &mut AnyConnection,
    retention_secs: i64,
    idp_id: &str,
) -> Result<bool> {
    if federation_store::get_idp(conn, idp_id)?.is_none() {
        return Ok(false);
    }
    let orphans = identity_store::forget_federated_identities(conn, idp_id, None)?;
    federation_store::delete_idp(conn, idp_id)?;
    for user_id in orphans {
        delete_user(conn, retention_secs, &user_id)?;
    }
    Ok(true)
}

/// `DELETE …/identity_providers/{idp_id}/protocols/{protocol_id}`: the protocol, the
/// `federated_user` rows naming it and the users that leaves nameless. `false` when there
/// is no such protocol.
pub fn delete_protocol(
    conn: &mut AnyConnection,
    retention_secs: i64,
    idp_id: &str,
    protocol_id: &str,
) -> Result<bool> {
    if federation_store::get_protocol(conn, idp_id, protocol_id)?.is_none() {
        return Ok(false);
    }
    let orphans = identity_store::forget_federated_identities(conn, idp_id, Some(protocol_id))?;
    federation_store::delete_protocol(conn, idp_id, protocol_id)?;
    for user_id in orphans {
        delete_user(conn, retention_secs, &user_id)?;
    }
    Ok(true)
}
