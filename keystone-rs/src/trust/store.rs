//! SQL for Keystone's `trust` and `trust_role` tables, with Keystone's semantics: deletes are
//! soft (`deleted_at`), `expires_at` is kept twice (the DATETIME column and the
//! microsecond `expires_at_int`, which wins when set), uses are counted in `remaining_uses`.

use super::model::Trust;
use crate::db::AnyConnection;
use crate::db::json_blob::{json_text, parse_extra};
use crate::db::schema::{trust, trust_role};
use crate::error::{Error, Result};
use crate::identity::{from_epoch_micros, to_epoch_micros};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

type TrustRow = (
    String,
    String,
    String,
    Option<String>,
    bool,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<i32>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i32>,
);

#[allow(clippy::type_complexity)]
fn columns() -> (
    trust::id,
    trust::trustor_user_id,
    trust::trustee_user_id,
    trust::project_id,
    trust::impersonation,
    trust::deleted_at,
    trust::expires_at,
    trust::remaining_uses,
    trust::extra,
    trust::expires_at_int,
    trust::redelegated_trust_id,
    trust::redelegation_count,
) {
    (
        trust::id,
        trust::trustor_user_id,
        trust::trustee_user_id,
        trust::project_id,
        trust::impersonation,
        trust::deleted_at,
        trust::expires_at,
        trust::remaining_uses,
        trust::extra,
        trust::expires_at_int,
        trust::redelegated_trust_id,
        trust::redelegation_count,
    )
}

fn from_row(r: TrustRow) -> Trust {
    Trust {
        id: r.0,
        trustor_user_id: r.1,
        trustee_user_id: r.2,
        project_id: r.3,
        impersonation: r.4,
        deleted_at: r.5,
        expires_at: r.9.and_then(from_epoch_micros).or(r.6),
        remaining_uses: r.7,
        extra: parse_extra(r.8.as_deref()),
        redelegated_trust_id: r.10,
        redelegation_count: r.11,
        role_ids: Vec::new(),
    }
}

/// Store a new trust and its roles. A row equal in trustor, trustee, project,
/// impersonation and expiry is Keystone's 409 by id.
pub fn insert(conn: &mut AnyConnection, t: &Trust) -> Result<()> {
    let inserted = diesel::insert_into(trust::table)
        .values((
            trust::id.eq(&t.id),
            trust::trustor_user_id.eq(&t.trustor_user_id),
            trust::trustee_user_id.eq(&t.trustee_user_id),
            trust::project_id.eq(&t.project_id),
            trust::impersonation.eq(t.impersonation),
            trust::deleted_at.eq(None::<NaiveDateTime>),
            trust::expires_at.eq(t.expires_at),
            trust::expires_at_int.eq(t.expires_at.map(to_epoch_micros)),
            trust::remaining_uses.eq(t.remaining_uses),
            trust::extra.eq(json_text(&Value::Object(t.extra.clone()))),
            trust::redelegated_trust_id.eq(&t.redelegated_trust_id),
            trust::redelegation_count.eq(t.redelegation_count),
        ))
        .execute(conn);
    match inserted {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Err(Error::duplicate("trust", "ID", &t.id)),
        other => {
            other?;
        }
    }
    for role_id in &t.role_ids {
        diesel::insert_into(trust_role::table)
            .values((
                trust_role::trust_id.eq(&t.id),
                trust_role::role_id.eq(role_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A trust by id, soft-deleted or not, with its role ids. Usability is the caller's
/// question ([`Trust::is_usable`]).
pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Trust>> {
    let row: Option<TrustRow> = trust::table
        .filter(trust::id.eq(id))
        .select(columns())
        .first(conn)
        .optional()?;
    let Some(mut t) = row.map(from_row) else {
        return Ok(None);
    };
    t.role_ids = trust_role::table
        .filter(trust_role::trust_id.eq(id))
        .select(trust_role::role_id)
        .load(conn)?;
    Ok(Some(t))
}

/// Which live trusts to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub trustor_user_id: Option<String>,
    pub trustee_user_id: Option<String>,
    pub redelegated_trust_id: Option<String>,
}

/// The trusts not soft-deleted (expired ones included, as Keystone lists them), without
/// their roles, in the order the database gives (Keystone asks for none: on a shared
/// database both list alike).
pub fn list(conn: &mut AnyConnection, f: &Filter) -> Result<Vec<Trust>> {
    let mut q = trust::table
        .filter(trust::deleted_at.is_null())
        .select(columns())
        .into_boxed();
    if let Some(id) = &f.trustor_user_id {
        q = q.filter(trust::trustor_user_id.eq(id.clone()));
    }
    if let Some(id) = &f.trustee_user_id {
        q = q.filter(trust::trustee_user_id.eq(id.clone()));
    }
    if let Some(id) = &f.redelegated_trust_id {
        q = q.filter(trust::redelegated_trust_id.eq(id.clone()));
    }
    let rows: Vec<TrustRow> = q.load(conn)?;
    Ok(rows.into_iter().map(from_row).collect())
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Soft-delete one trust; `false` when there is no such row.
pub fn soft_delete(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let n = diesel::update(trust::table.filter(trust::id.eq(id)))
        .set(trust::deleted_at.eq(Some(now())))
        .execute(conn)?;
    Ok(n > 0)
}

/// A deleted user's trusts, as trustor or trustee (Keystone's user-deleted callback).
pub fn soft_delete_for_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    diesel::update(
        trust::table.filter(trust::deleted_at.is_null()).filter(
            trust::trustor_user_id
                .eq(user_id)
                .or(trust::trustee_user_id.eq(user_id)),
        ),
    )
    .set(trust::deleted_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

/// A deleted project's trusts (`delete_trusts_for_project`).
pub fn soft_delete_for_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::update(
        trust::table
            .filter(trust::project_id.eq(project_id))
            .filter(trust::deleted_at.is_null()),
    )
    .set(trust::deleted_at.eq(Some(now())))
    .execute(conn)?;
    Ok(())
}

/// What spending one use of a trust found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A limited trust gave one of its uses.
    Spent,
    /// No limit: nothing to count.
    Unlimited,
    /// None left (another request, maybe on another node, took the last one).
    Exhausted,
    /// Deleted meanwhile.
    Gone,
}

/// Spend one use: a single conditional UPDATE, so that concurrent requests on any number
/// of nodes never spend more uses than the trust has.
pub fn consume_use(conn: &mut AnyConnection, id: &str) -> Result<Use> {
    let spent = diesel::update(
        trust::table
            .filter(trust::id.eq(id))
            .filter(trust::deleted_at.is_null())
            .filter(trust::remaining_uses.gt(0)),
    )
    .set(trust::remaining_uses.eq(trust::remaining_uses - 1))
    .execute(conn)?;
    if spent == 1 {
        return Ok(Use::Spent);
    }
    let left: Option<Option<i32>> = trust::table
        .filter(trust::id.eq(id))
        .filter(trust::deleted_at.is_null())
        .select(trust::remaining_uses)
        .first(conn)
        .optional()?;
    Ok(match left {
        None => Use::Gone,
        Some(None) => Use::Unlimited,
        Some(Some(_)) => Use::Exhausted,
    })
}

/// `keystone-manage trust_flush`'s selection.
#[derive(Debug, Clone, Default)]
pub struct Flush {
    pub project_id: Option<String>,
    pub trustor_user_id: Option<String>,
    pub trustee_user_id: Option<String>,
}

/// Remove (for good) the trusts soft-deleted, or expired before `date`, that match; their
/// `trust_role` rows go with them. Returns how many trusts were removed.
pub fn flush(conn: &mut AnyConnection, f: &Flush, date: NaiveDateTime) -> Result<usize> {
    let date_micros = to_epoch_micros(date);
    let mut q = trust::table
        .filter(
            trust::deleted_at
                .is_not_null()
                .or(trust::expires_at_int
                    .lt(date_micros)
                    .or(trust::expires_at_int
                        .is_null()
                        .and(trust::expires_at.lt(date)))),
        )
        .select(trust::id)
        .into_boxed();
    if let Some(id) = &f.project_id {
        q = q.filter(trust::project_id.eq(id.clone()));
    }
    if let Some(id) = &f.trustor_user_id {
        q = q.filter(trust::trustor_user_id.eq(id.clone()));
    }
    if let Some(id) = &f.trustee_user_id {
        q = q.filter(trust::trustee_user_id.eq(id.clone()));
    }
    let ids: Vec<String> = q.load(conn)?;
    for chunk in ids.chunks(500) {
        diesel::delete(trust_role::table.filter(trust_role::trust_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(trust::table.filter(trust::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(ids.len())
}
