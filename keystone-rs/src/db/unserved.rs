//! Tables of Keystone subsystems keystone-rs does not serve yet (credentials, limits,
//! domain configuration). Python Keystone sharing the database may have written
//! rows there; the deletes Keystone cascades into them happen here, in the deleting
//! request's transaction, so nothing dangles. Each function moves into its subsystem's
//! store when that subsystem lands.

use crate::db::AnyConnection;
use crate::db::schema::{config_register, credential, limit, sensitive_config, whitelisted_config};
use crate::error::Result;
use diesel::prelude::*;

/// A deleted user's credentials.
pub fn delete_for_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    diesel::delete(credential::table.filter(credential::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// A deleted project's credentials and limits.
pub fn delete_for_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::delete(credential::table.filter(credential::project_id.eq(project_id)))
        .execute(conn)?;
    diesel::delete(limit::table.filter(limit::project_id.eq(project_id))).execute(conn)?;
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
