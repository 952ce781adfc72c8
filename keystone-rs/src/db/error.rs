//! How database failures become Keystone's errors: a duplicate is Keystone's 409, a lost
//! connection 503 (the pool recovers by itself), text the database cannot hold a 400,
//! anything else a 500.

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
            // A NUL character (PostgreSQL), or characters outside the column's character
            // set (MySQL's utf8mb3): the request's text, not the server, is at fault. Python
            // Keystone answers 500 here.
            D::DatabaseError(_, info) if unstorable_text(info.message()) => Error::bad_request(
                "Invalid input: the request contains characters the database cannot store.",
            )
            .with_detail(info.message().to_string()),
            _ if is_connection_lost(&e) => Error::service_unavailable(e.to_string()),
            _ => Error::internal(format!("database: {e}")),
        }
    }
}

fn unstorable_text(message: &str) -> bool {
    message.contains("invalid byte sequence for encoding")
        || message.contains("Incorrect string value")
        || message.contains("Illegal mix of collations")
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::service_unavailable(format!("database pool: {e}"))
    }
}
