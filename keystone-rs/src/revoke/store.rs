//! `revocation_event` rows.

use super::RevocationEvent;
use crate::db::AnyConnection;
use crate::db::schema::revocation_event as re;
use crate::error::{Error, Result};
use chrono::NaiveDateTime;
use diesel::prelude::*;

type Row = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    NaiveDateTime,
    Option<String>,
    Option<String>,
);

fn columns() -> (
    re::domain_id,
    re::project_id,
    re::user_id,
    re::role_id,
    re::trust_id,
    re::consumer_id,
    re::access_token_id,
    re::issued_before,
    re::expires_at,
    re::revoked_at,
    re::audit_id,
    re::audit_chain_id,
) {
    (
        re::domain_id,
        re::project_id,
        re::user_id,
        re::role_id,
        re::trust_id,
        re::consumer_id,
        re::access_token_id,
        re::issued_before,
        re::expires_at,
        re::revoked_at,
        re::audit_id,
        re::audit_chain_id,
    )
}

fn from_row(r: Row) -> RevocationEvent {
    RevocationEvent {
        domain_id: r.0,
        project_id: r.1,
        user_id: r.2,
        role_id: r.3,
        trust_id: r.4,
        consumer_id: r.5,
        access_token_id: r.6,
        issued_before: r.7,
        expires_at: r.8,
        revoked_at: r.9,
        audit_id: r.10,
        audit_chain_id: r.11,
    }
}

/// Store an event and prune the ones older than the retention window, in the caller's
/// transaction (Keystone prunes only when it writes).
pub fn insert(
    conn: &mut AnyConnection,
    event: &RevocationEvent,
    retention_secs: i64,
) -> Result<()> {
    if !event.has_matcher() {
        return Err(Error::internal(
            "refusing to write a revocation event that matches every token",
        ));
    }
    let cutoff = event.revoked_at - chrono::Duration::seconds(retention_secs);
    diesel::delete(re::table.filter(re::revoked_at.lt(cutoff))).execute(conn)?;
    diesel::insert_into(re::table)
        .values((
            re::domain_id.eq(&event.domain_id),
            re::project_id.eq(&event.project_id),
            re::user_id.eq(&event.user_id),
            re::role_id.eq(&event.role_id),
            re::trust_id.eq(&event.trust_id),
            re::consumer_id.eq(&event.consumer_id),
            re::access_token_id.eq(&event.access_token_id),
            re::issued_before.eq(event.issued_before),
            re::expires_at.eq(event.expires_at),
            re::revoked_at.eq(event.revoked_at),
            re::audit_id.eq(&event.audit_id),
            re::audit_chain_id.eq(&event.audit_chain_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Events ordered by `revoked_at`, optionally only those revoked strictly after `since`.
/// Validation matches tokens against all of them in memory ([`RevocationEvent::matches`],
/// the list cached between writes), which also sidesteps SQLite's text comparison of
/// DATETIME values written by different implementations.
pub fn list(
    conn: &mut AnyConnection,
    since: Option<NaiveDateTime>,
) -> Result<Vec<RevocationEvent>> {
    let mut query = re::table
        .select(columns())
        .order((re::revoked_at.asc(), re::id.asc()))
        .into_boxed();
    if let Some(since) = since {
        query = query.filter(re::revoked_at.gt(since));
    }
    Ok(query.load::<Row>(conn)?.into_iter().map(from_row).collect())
}
