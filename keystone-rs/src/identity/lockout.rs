//! `[security_compliance]` account lockout: after `lockout_failure_attempts` wrong
//! passwords in a row a local user cannot authenticate by password, for
//! `lockout_duration` seconds after the last failure (forever when the duration is 0),
//! until an administrator re-enables it or one correct login after the lockout ends.
//! The counter lives in `local_user.failed_auth_count` / `failed_auth_at`, as Keystone's
//! SQL identity driver keeps it, so nodes of either implementation share it.

use super::options::{self, IGNORE_LOCKOUT, StoredOptions};
use super::store;
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use chrono::{Duration, NaiveDateTime, Utc};

/// Keystone's `AccountLocked`, which its audit wrapper turns into a plain Unauthorized:
/// the caller is not told the account is locked (the log is).
pub fn account_locked(user_id: &str) -> Error {
    Error::unauthorized_because(format!("account locked for user {user_id}"))
}

/// Whether the lockout has run out: the counter is then restarted, not continued.
fn lock_expired(config: &Config, count: i32, last_failure: Option<NaiveDateTime>) -> bool {
    let sc = &config.security_compliance;
    let Some(max) = sc.lockout_failure_attempts.filter(|m| *m > 0) else {
        return false;
    };
    if i64::from(count) < i64::from(max) || sc.lockout_duration <= 0 {
        return false;
    }
    // A count without a time (written by hand) is treated as long past.
    last_failure
        .is_none_or(|at| at + Duration::seconds(sc.lockout_duration) <= Utc::now().naive_utc())
}

/// Keystone's `_is_account_locked`: refuses a locked user; a lockout that has run out is
/// cleared here, as Keystone does before it checks the password.
pub fn check_not_locked(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    options: &StoredOptions,
) -> Result<()> {
    let sc = &config.security_compliance;
    let Some(max) = sc.lockout_failure_attempts.filter(|m| *m > 0) else {
        return Ok(());
    };
    if options::is_true(options, IGNORE_LOCKOUT) {
        return Ok(());
    }
    let Some((count, at)) = store::failed_auth(conn, user_id)? else {
        return Ok(());
    };
    if i64::from(count) < i64::from(max) {
        return Ok(());
    }
    if lock_expired(config, count, at) {
        return store::reset_failed_auth(conn, user_id);
    }
    Err(account_locked(user_id))
}

/// Count a wrong password (Keystone's `_record_failed_auth`). Runs in its own transaction
/// after the failed request's work was rolled back, so it must decide for itself whether
/// an expired lockout restarts the count.
pub fn record_failure(conn: &mut AnyConnection, config: &Config, user_id: &str) -> Result<()> {
    let Some((count, at)) = store::failed_auth(conn, user_id)? else {
        return Ok(());
    };
    store::record_failed_auth(conn, user_id, lock_expired(config, count, at))
}

/// A correct password clears the counter (only written when there is one to clear).
pub fn record_success(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    match store::failed_auth(conn, user_id)? {
        Some((count, _)) if count != 0 => store::reset_failed_auth(conn, user_id),
        _ => Ok(()),
    }
}
