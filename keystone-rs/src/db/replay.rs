//! keystone-rs's `ksrs_replay` table: one-time values (OAuth1 nonces, OAuth2 JWT ids) that
//! must be accepted once while they are valid, on every node sharing the database.

use super::AnyConnection;
use super::schema::ksrs_replay;
use crate::error::Result;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::sync::atomic::{AtomicI64, Ordering};

/// `ksrs_replay.value` holds 255 characters.
const MAX_VALUE: usize = 255;

/// `prefix:value`, with an over-long value replaced by its SHA-256 (clients choose nonces
/// and `jti`s of any length).
pub fn scoped_value(prefix: &str, value: &str) -> String {
    let joined = format!("{prefix}:{value}");
    if joined.len() <= MAX_VALUE {
        return joined;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}:sha256:{hex}")
}

/// Remember `value` of `kind` until `expires_at_us` (µs since the epoch), in the caller's
/// transaction. False when it is already remembered and not yet expired — by this node or
/// any other sharing the database: the table's primary key turns a race between two
/// replays into a unique violation. Only the one row is touched, so concurrent requests
/// never lock each other (purging is [`purge_expired`], in a transaction of its own).
pub fn remember(
    conn: &mut AnyConnection,
    kind: &str,
    value: &str,
    now_us: i64,
    expires_at_us: i64,
) -> Result<bool> {
    let row = ksrs_replay::table
        .filter(ksrs_replay::kind.eq(kind))
        .filter(ksrs_replay::value.eq(value));
    let existing: Option<i64> = row.select(ksrs_replay::expires_at).first(conn).optional()?;
    match existing {
        Some(until) if until >= now_us => Ok(false),
        // An expired row not purged yet: take it over, unless another request just did.
        Some(_) => {
            let n = diesel::update(row.filter(ksrs_replay::expires_at.lt(now_us)))
                .set(ksrs_replay::expires_at.eq(expires_at_us))
                .execute(conn)?;
            Ok(n == 1)
        }
        None => super::insert_unless_taken(conn, |conn| {
            diesel::insert_into(ksrs_replay::table)
                .values((
                    ksrs_replay::kind.eq(kind),
                    ksrs_replay::value.eq(value),
                    ksrs_replay::expires_at.eq(expires_at_us),
                ))
                .execute(conn)
        }),
    }
}

/// Forget values of `kind` whose window has passed.
pub fn purge_expired(conn: &mut AnyConnection, kind: &str, now_us: i64) -> Result<usize> {
    Ok(diesel::delete(
        ksrs_replay::table
            .filter(ksrs_replay::kind.eq(kind))
            .filter(ksrs_replay::expires_at.lt(now_us)),
    )
    .execute(conn)?)
}

const PURGE_INTERVAL_SECS: i64 = 60;

/// When this process last purged a kind (seconds since the epoch).
pub struct PurgeClock(AtomicI64);

impl PurgeClock {
    pub const fn new() -> Self {
        PurgeClock(AtomicI64::new(0))
    }

    /// True at most once a minute per process: then the caller purges expired values, in a
    /// transaction of its own (a range delete inside every request's transaction would
    /// make concurrent requests wait on each other's gap locks on MySQL).
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        let now = now.timestamp();
        let last = self.0.load(Ordering::Relaxed);
        now - last >= PURGE_INTERVAL_SECS
            && self
                .0
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl Default for PurgeClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Purge expired values of `kind` if `clock` says it is time; a failure only logs (the
/// next purge catches up).
pub async fn purge_if_due(db: &super::Db, clock: &PurgeClock, kind: &'static str) {
    let now = Utc::now();
    if !clock.due(now) {
        return;
    }
    let now_us = now.timestamp_micros();
    if let Err(e) = db
        .write(move |conn| purge_expired(conn, kind, now_us))
        .await
    {
        tracing::warn!(error = %e, kind, "purging expired one-time values failed; next time");
    }
}
