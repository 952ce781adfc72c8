//! SQL for the `credential` table (Keystone's own, shared with Python Keystone). Only this
//! file writes it. Blobs arrive here sealed; nothing here sees a plaintext.

use super::model::StoredCredential;
use crate::db::AnyConnection;
use crate::db::schema::credential;
use crate::error::{Error, Result};
use diesel::prelude::*;

type Row = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
);

const COLUMNS: (
    credential::id,
    credential::user_id,
    credential::project_id,
    credential::type_,
    credential::extra,
    credential::key_hash,
    credential::encrypted_blob,
) = (
    credential::id,
    credential::user_id,
    credential::project_id,
    credential::type_,
    credential::extra,
    credential::key_hash,
    credential::encrypted_blob,
);

fn from_row(r: Row) -> StoredCredential {
    StoredCredential {
        id: r.0,
        user_id: r.1,
        project_id: r.2,
        type_: r.3,
        extra: r.4,
        key_hash: r.5,
        encrypted_blob: r.6,
    }
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<StoredCredential>> {
    Ok(credential::table
        .filter(credential::id.eq(id))
        .select(COLUMNS)
        .first::<Row>(conn)
        .optional()?
        .map(from_row))
}

/// Exact-match filters (Keystone's hints for `user_id` and `type`), ordered by id.
pub fn list(
    conn: &mut AnyConnection,
    user_id: Option<&str>,
    type_: Option<&str>,
) -> Result<Vec<StoredCredential>> {
    let mut q = credential::table.select(COLUMNS).into_boxed();
    if let Some(u) = user_id {
        q = q.filter(credential::user_id.eq(u.to_string()));
    }
    if let Some(t) = type_ {
        q = q.filter(credential::type_.eq(t.to_string()));
    }
    Ok(q.order(credential::id.asc())
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

pub fn count_for_user(conn: &mut AnyConnection, user_id: &str) -> Result<i64> {
    Ok(credential::table
        .filter(credential::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

/// Insert; an existing id is Keystone's 409.
pub fn insert(conn: &mut AnyConnection, c: &StoredCredential) -> Result<()> {
    if get(conn, &c.id)?.is_some() {
        return Err(Error::duplicate("credential", "id", &c.id));
    }
    diesel::insert_into(credential::table)
        .values((
            credential::id.eq(&c.id),
            credential::user_id.eq(&c.user_id),
            credential::project_id.eq(&c.project_id),
            credential::type_.eq(&c.type_),
            credential::extra.eq(&c.extra),
            credential::key_hash.eq(&c.key_hash),
            credential::encrypted_blob.eq(&c.encrypted_blob),
        ))
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Error::duplicate("credential", "id", &c.id),
            other => other.into(),
        })?;
    Ok(())
}

/// Replace every column but the id. `false` when the row is gone.
pub fn update(conn: &mut AnyConnection, c: &StoredCredential) -> Result<bool> {
    let n = diesel::update(credential::table.filter(credential::id.eq(&c.id)))
        .set((
            credential::user_id.eq(&c.user_id),
            credential::project_id.eq(&c.project_id),
            credential::type_.eq(&c.type_),
            credential::extra.eq(&c.extra),
            credential::key_hash.eq(&c.key_hash),
            credential::encrypted_blob.eq(&c.encrypted_blob),
        ))
        .execute(conn)?;
    Ok(n > 0)
}

/// Re-seal one blob (credential_migrate): only if it still has the hash it was read with,
/// so a concurrent update by another node is never overwritten with stale text.
pub fn reseal(
    conn: &mut AnyConnection,
    id: &str,
    old_hash: &str,
    key_hash: &str,
    encrypted_blob: &str,
) -> Result<bool> {
    let n = diesel::update(
        credential::table
            .filter(credential::id.eq(id))
            .filter(credential::key_hash.eq(old_hash)),
    )
    .set((
        credential::key_hash.eq(key_hash),
        credential::encrypted_blob.eq(encrypted_blob),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    Ok(diesel::delete(credential::table.filter(credential::id.eq(id))).execute(conn)? > 0)
}

/// Keystone's `delete_credentials_for_user` (user deleted).
pub fn delete_for_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    diesel::delete(credential::table.filter(credential::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// Keystone's `delete_credentials_for_project` (project deleted).
pub fn delete_for_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::delete(credential::table.filter(credential::project_id.eq(project_id)))
        .execute(conn)?;
    Ok(())
}

/// Ids and key hashes of every credential (rotation and migration look at all of them).
pub fn key_hashes(conn: &mut AnyConnection) -> Result<Vec<(String, String)>> {
    Ok(credential::table
        .select((credential::id, credential::key_hash))
        .order(credential::id.asc())
        .load(conn)?)
}
