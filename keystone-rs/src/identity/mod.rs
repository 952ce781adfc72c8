//! Users (and, later, groups): lookups for authentication and the user API.

pub mod password;
pub mod store;

use chrono::NaiveDateTime;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// When the current password expires, if it does.
    pub password_expires_at: Option<NaiveDateTime>,
}

/// The user's current password row.
#[derive(Debug, Clone)]
pub struct PasswordRecord {
    pub hash: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
}

/// What creating a local (SQL) user needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub password_hash: Option<String>,
}

/// Keystone's microseconds-since-epoch encoding (`DateTimeInt` columns).
pub fn from_epoch_micros(us: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.naive_utc())
}

pub fn to_epoch_micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}
