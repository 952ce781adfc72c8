//! How database failures become Keystone's errors: a duplicate is Keystone's 409, a lost
//! connection 503 (the pool recovers by itself), anything else a 500.

use super::is_connection_lost;
use crate::error::Error;

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match &e {
            D::NotFound => Error::not_found("Could not find the requested entity."),
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Error::conflict(
                "Conflict occurred attempting to store the entity - Duplicate entry.",
            )
            .with_detail(info.message().to_string()),
            _ if is_connection_lost(&e) => Error::service_unavailable(e.to_string()),
            _ => Error::internal(format!("database: {e}")),
        }
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::service_unavailable(format!("database pool: {e}"))
    }
}
