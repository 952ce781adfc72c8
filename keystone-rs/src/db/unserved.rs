//! Tables of Keystone subsystems keystone-rs does not serve yet (credentials, trusts). Python Keystone sharing the database may have written
//! rows there; the deletes Keystone cascades into them happen here, in the deleting
//! request's transaction, so nothing dangles. Each function moves into its subsystem's
//! store when that subsystem lands.

use crate::db::AnyConnection;
use crate::db::schema::{credential, trust};
use crate::error::Result;
use chrono::Utc;
use diesel::prelude::*;

/// A deleted user's credentials, and the trusts it is trustor or trustee of (soft-deleted,
/// as Keystone's trust driver does).
pub fn delete_for_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    diesel::delete(credential::table.filter(credential::user_id.eq(user_id))).execute(conn)?;
    diesel::update(
        trust::table.filter(trust::deleted_at.is_null()).filter(
            trust::trustor_user_id
                .eq(user_id)
                .or(trust::trustee_user_id.eq(user_id)),
        ),
    )
    .set(trust::deleted_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)?;
    Ok(())
}

/// A deleted project's credentials and trusts (soft-deleted).
pub fn delete_for_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::delete(credential::table.filter(credential::project_id.eq(project_id)))
        .execute(conn)?;
    diesel::update(
        trust::table
            .filter(trust::project_id.eq(project_id))
            .filter(trust::deleted_at.is_null()),
    )
    .set(trust::deleted_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)?;
    Ok(())
}
