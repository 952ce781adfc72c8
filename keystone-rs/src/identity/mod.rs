//! Identity: users, groups, group membership and passwords.
//!
//! `users` and `groups` hold the operations (Keystone's identity manager and SQL driver
//! rules, on one connection inside the caller's transaction); `http` serves them;
//! `store` is the SQL; `schema` reproduces Keystone's request validation, `listing` the
//! `password_expires_at` list filter (the rest of list handling is `db::listing`).

pub mod groups;
pub mod inactivity;
pub mod listing;
pub mod lockout;
pub mod mapping;
pub mod model;
pub mod options;
pub mod password;
pub mod remote;
pub mod schema;
pub mod store;
pub mod users;

use chrono::NaiveDateTime;

pub use model::{FederatedObject, Group, NewUser, PasswordRecord, User, UserDetails};

/// Keystone's microseconds-since-epoch encoding (`DateTimeInt` columns).
pub fn from_epoch_micros(us: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.naive_utc())
}

pub fn to_epoch_micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

/// A new public id: uuid4 hex, as Keystone generates.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
