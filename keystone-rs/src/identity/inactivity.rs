//! `[security_compliance] disable_user_account_days_inactive`, Keystone's `User.enabled`
//! hybrid property: a user that has not authenticated with a password for that many days
//! reads as disabled — it cannot authenticate, its tokens stop validating, the API shows
//! `"enabled": false` — unless its `ignore_user_inactivity` option is true, until an
//! administrator enables it again. The `enabled` column keeps its value (so `?enabled=`
//! filters see the stored value, as Keystone's do) until the user is next updated.
//!
//! `user.last_active_at` (a date) moves on with each successful password authentication
//! (Keystone writes it whether or not the option is set) and when the user is enabled while
//! the option is set; a user never seen active counts from its `created_at`.

use super::options::{self, IGNORE_USER_INACTIVITY, StoredOptions};
use super::{User, UserDetails, store};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::Result;
use chrono::{NaiveDate, Utc};

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Whether the option is set.
pub fn enforced(config: &Config) -> bool {
    max_days(config).is_some()
}

fn max_days(config: &Config) -> Option<u32> {
    config
        .security_compliance
        .disable_user_account_days_inactive
        .filter(|d| *d > 0)
}

/// An enabled user past the limit, before its `ignore_user_inactivity` option is read
/// (false, without any look at the database, when the option is unset).
pub fn past_limit(config: &Config, user: &User) -> bool {
    past_limit_on(config, user, today())
}

fn past_limit_on(config: &Config, user: &User, today: NaiveDate) -> bool {
    let Some(max) = max_days(config) else {
        return false;
    };
    let last_active = user
        .last_active_at
        .or_else(|| user.created_at.map(|t| t.date()));
    user.enabled && last_active.is_some_and(|d| (today - d).num_days() >= i64::from(max))
}

/// Whether an enabled user counts as disabled for inactivity (reads its options only
/// when it is past the limit).
pub fn is_inactive(conn: &mut AnyConnection, config: &Config, user: &User) -> Result<bool> {
    if !past_limit(config, user) {
        return Ok(false);
    }
    let stored = store::options_of(conn, std::slice::from_ref(&user.id))?
        .remove(&user.id)
        .unwrap_or_default();
    Ok(!options::is_true(&stored, IGNORE_USER_INACTIVITY))
}

/// The user as Keystone shows it: `enabled` false when inactive.
pub fn apply(conn: &mut AnyConnection, config: &Config, user: &mut User) -> Result<()> {
    if is_inactive(conn, config, user)? {
        user.enabled = false;
    }
    Ok(())
}

/// [`is_inactive`] for a user whose options are already loaded.
pub fn is_inactive_with(config: &Config, user: &User, stored: &StoredOptions) -> bool {
    past_limit(config, user) && !options::is_true(stored, IGNORE_USER_INACTIVITY)
}

/// [`apply`] for a user whose options are already loaded.
pub fn apply_details(config: &Config, details: &mut UserDetails) {
    if is_inactive_with(config, &details.user, &details.options) {
        details.user.enabled = false;
    }
}

/// A successful password authentication: today becomes the user's last active day (one
/// write per user and day at most).
pub fn record_activity(conn: &mut AnyConnection, user: &User) -> Result<()> {
    let today = today();
    if user.last_active_at == Some(today) {
        return Ok(());
    }
    store::set_last_active(conn, &user.id, today)
}

/// `keystone-manage reset_last_active`: users with no `last_active_at` get today, so the
/// inactivity limit counts from now for them rather than from their creation.
pub fn reset_last_active(conn: &mut AnyConnection) -> Result<usize> {
    store::reset_unset_last_active(conn, today())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn user(enabled: bool, last: Option<&str>, created: Option<&str>) -> User {
        User {
            id: "u".into(),
            domain_id: "default".into(),
            name: "n".into(),
            enabled,
            default_project_id: None,
            extra: Default::default(),
            password_expires_at: None,
            last_active_at: last.map(|d| d.parse().unwrap()),
            created_at: created
                .map(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap()),
        }
    }

    #[test]
    fn limit_counts_whole_days_from_last_activity_else_creation() {
        let mut config = Config::default();
        let today: NaiveDate = "2026-03-10".parse().unwrap();
        let old = user(true, Some("2026-03-07"), None);
        assert!(!past_limit_on(&config, &old, today), "option unset");
        config
            .security_compliance
            .disable_user_account_days_inactive = Some(3);
        assert!(past_limit_on(&config, &old, today));
        assert!(!past_limit_on(
            &config,
            &user(true, Some("2026-03-08"), None),
            today
        ));
        assert!(!past_limit_on(
            &config,
            &user(false, Some("2026-03-01"), None),
            today
        ));
        // never active: from created_at, as Keystone's property does
        assert!(past_limit_on(
            &config,
            &user(true, None, Some("2026-03-07 23:59:59")),
            today
        ));
        assert!(!past_limit_on(
            &config,
            &user(true, None, Some("2026-03-08 00:00:00")),
            today
        ));
        assert!(!past_limit_on(&config, &user(true, None, None), today));
    }
}
