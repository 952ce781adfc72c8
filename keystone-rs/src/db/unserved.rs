//! Tables of Keystone subsystems keystone-rs does not serve yet (limits, domain
//! configuration). Python Keystone sharing the database may have written
//! rows there; the deletes Keystone cascades into them happen here, in the deleting
//! request's transaction, so nothing dangles. Each function moves into its subsystem's
//! store when that subsystem lands.

use crate::db::AnyConnection;
use crate::db::schema::{config_register, limit, sensitive_config, whitelisted_config};
use crate::error::Result;
use diesel::prelude::*;

/// A deleted project's limits.
pub fn delete_for_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
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
