//! Users and groups that live outside the SQL tables: the domains whose identity driver
//! is not SQL (domain-specific LDAP backends). The backend registers itself once at
//! startup; the few places that must see such users and groups before or beside their
//! SQL shadow (grant targets, a token's group roles) ask here. Without a registration
//! every answer is "not a remote entity", which is the single-SQL-driver deployment.

use super::{Group, User};
use crate::db::AnyConnection;
use crate::error::Result;
use std::sync::OnceLock;

pub trait RemoteIdentity: Send + Sync {
    /// The user behind a public id, when a non-SQL backend serves its domain.
    fn user(&self, conn: &mut AnyConnection, public_id: &str) -> Result<Option<User>>;
    /// The group behind a public id, when a non-SQL backend serves its domain.
    fn group(&self, conn: &mut AnyConnection, public_id: &str) -> Result<Option<Group>>;
    /// The public ids of a remote user's groups; `None` for a user the backend does not serve.
    fn group_ids_of(
        &self,
        conn: &mut AnyConnection,
        public_id: &str,
    ) -> Result<Option<Vec<String>>>;
    /// The public ids of a remote group's members; `None` for a group it does not serve.
    fn member_ids_of(
        &self,
        conn: &mut AnyConnection,
        public_id: &str,
    ) -> Result<Option<Vec<String>>>;
}

static REMOTE: OnceLock<Box<dyn RemoteIdentity>> = OnceLock::new();

/// Install the backend (the first registration wins: one per process).
pub fn register(backend: Box<dyn RemoteIdentity>) {
    let _ = REMOTE.set(backend);
}

pub fn user(conn: &mut AnyConnection, public_id: &str) -> Result<Option<User>> {
    match REMOTE.get() {
        Some(r) => r.user(conn, public_id),
        None => Ok(None),
    }
}

pub fn group(conn: &mut AnyConnection, public_id: &str) -> Result<Option<Group>> {
    match REMOTE.get() {
        Some(r) => r.group(conn, public_id),
        None => Ok(None),
    }
}

pub fn group_ids_of(conn: &mut AnyConnection, public_id: &str) -> Result<Option<Vec<String>>> {
    match REMOTE.get() {
        Some(r) => r.group_ids_of(conn, public_id),
        None => Ok(None),
    }
}

pub fn member_ids_of(conn: &mut AnyConnection, public_id: &str) -> Result<Option<Vec<String>>> {
    match REMOTE.get() {
        Some(r) => r.member_ids_of(conn, public_id),
        None => Ok(None),
    }
}
