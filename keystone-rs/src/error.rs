//! The one error type. Every failure leaves the server as Keystone's error JSON:
//! `{"error":{"code":N,"message":"…","title":"…"}}` (compact, sorted keys, trailing newline),
//! because clients such as keystoneauth1 parse exactly that.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::Value;
use std::fmt;

/// Suffix Keystone appends to every `ValidationError` message.
const VALIDATION_SUFFIX: &str = " The server could not comply with the request since it is either \
malformed or otherwise incorrect. The client is assumed to be in error.";

const UNAUTHORIZED_TEXT: &str = "The request you have made requires authentication.";
const FORBIDDEN_TEXT: &str = "You are not authorized to perform the requested action.";
const INTERNAL_TEXT: &str =
    "An unexpected error prevented the server from fulfilling your request.";

/// Internal response header: the server's outer middleware replaces it by the auth
/// middleware's `WWW-Authenticate` (`Keystone uri="<base URL>"`, without `/v3`).
pub const MIDDLEWARE_401_MARKER: &str = "x-keystone-rs-middleware-401";

#[derive(Debug, Clone)]
pub struct Error {
    pub status: StatusCode,
    pub message: String,
    /// Extra `identity` member that auth-plugin failures carry.
    pub identity: Option<Value>,
    /// Detail kept for the log only (never rendered), e.g. a database error.
    pub detail: Option<String>,
    /// Set when Keystone's auth middleware, not Flask, renders the error (a token refused
    /// by its access rules): that renderer has its own JSON layout and its own
    /// `WWW-Authenticate` value (the base URL without `/v3`, added by the server's
    /// outer middleware, which knows the base URL).
    pub middleware_rendered: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
            identity: None,
            detail: None,
            middleware_rendered: false,
        }
    }

    /// Keystone's `ValidationError` "Expecting to find {attribute} in {target}."
    pub fn expecting(attribute: &str, target: &str) -> Self {
        Self::validation(format!("Expecting to find {attribute} in {target}."))
    }

    /// A 400 with Keystone's fixed ValidationError suffix.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("{}{}", message.into(), VALIDATION_SUFFIX),
        )
    }

    /// A 400 whose message is shown as is (schema errors, explicit texts).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn invalid_json() -> Self {
        Self::validation("Expecting to find valid JSON in request body.".to_string())
    }

    /// 401 with the generic text: Keystone hides the reason from the caller.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED_TEXT)
    }

    /// 401 whose reason is only logged.
    pub fn unauthorized_because(detail: impl Into<String>) -> Self {
        Self::unauthorized().with_detail(detail)
    }

    /// 401 with a message Keystone does show (built from named fields).
    pub fn unauthorized_shown(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 401 raised by an auth plugin: carries the `identity` member.
    pub fn auth_plugin(message: impl Into<String>, identity: Value) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, message);
        e.identity = Some(identity);
        e
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, FORBIDDEN_TEXT)
    }

    /// Keystone's `ForbiddenAction`: "…requested action: {action}."
    pub fn forbidden_action(action: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("You are not authorized to perform the requested action: {action}."),
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// Keystone's "Could not find {kind}: {id}." 404.
    pub fn could_not_find(kind: &str, id: &str) -> Self {
        Self::not_found(format!("Could not find {kind}: {id}."))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// Keystone's duplicate-entry 409.
    pub fn duplicate(kind: &str, field: &str, value: &str) -> Self {
        Self::conflict(format!(
            "Conflict occurred attempting to store {kind} - Duplicate entry found with {field} {value}."
        ))
    }

    pub fn service_unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable; please retry later.",
        )
        .with_detail(detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_TEXT).with_detail(detail)
    }

    /// The auth middleware's own 401 (see [`MIDDLEWARE_401_MARKER`]).
    pub fn middleware_unauthorized() -> Self {
        let mut e = Self::unauthorized();
        e.middleware_rendered = true;
        e
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn title(&self) -> &'static str {
        title_for(self.status)
    }

    /// The exact bytes Keystone's Flask `jsonify` produces: compact, keys sorted.
    pub fn body(&self) -> String {
        if self.middleware_rendered {
            // keystone's render_exception: json.dumps of code, title, message; no newline.
            let mut inner = serde_json::Map::new();
            inner.insert("code".into(), Value::from(self.status.as_u16()));
            inner.insert("title".into(), Value::from(self.title()));
            inner.insert("message".into(), Value::from(self.message.clone()));
            let mut outer = serde_json::Map::new();
            outer.insert("error".into(), Value::Object(inner));
            return crate::json::to_ascii_string(&Value::Object(outer), crate::json::Style::Python);
        }
        // serde_json::Map keeps insertion order (preserve_order), so insert sorted.
        let mut inner = serde_json::Map::new();
        inner.insert("code".into(), Value::from(self.status.as_u16()));
        if let Some(identity) = &self.identity {
            inner.insert("identity".into(), identity.clone());
        }
        inner.insert("message".into(), Value::from(self.message.clone()));
        inner.insert("title".into(), Value::from(self.title()));
        let mut outer = serde_json::Map::new();
        outer.insert("error".into(), Value::Object(inner));
        let mut s =
            crate::json::to_ascii_string(&Value::Object(outer), crate::json::Style::Compact);
        s.push('\n');
        s
    }
}

/// Reason phrases as Keystone's `title` field spells them.
pub fn title_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl std::error::Error for Error {}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), detail = ?self.detail, "request failed");
        } else if let Some(detail) = &self.detail {
            tracing::info!(status = self.status.as_u16(), detail = %detail, "request refused");
        }
        let mut response = HttpResponse::build(self.status);
        response.content_type("application/json");
        if self.middleware_rendered {
            response.insert_header((MIDDLEWARE_401_MARKER, "1"));
        }
        response.body(self.body())
    }
}

impl From<actix_web::error::BlockingError> for Error {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Error::internal(format!("blocking pool: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_compact_sorted_with_newline() {
        let e = Error::could_not_find("project", "abc");
        assert_eq!(
            e.body(),
            "{\"error\":{\"code\":404,\"message\":\"Could not find project: abc.\",\"title\":\"Not Found\"}}\n"
        );
    }

    #[test]
    fn identity_member_sorts_between_code_and_message() {
        let e = Error::auth_plugin(
            "Attempted to authenticate with an unsupported method.",
            serde_json::json!({"methods": ["password"]}),
        );
        assert!(e.body().starts_with(
            "{\"error\":{\"code\":401,\"identity\":{\"methods\":[\"password\"]},\"message\""
        ));
    }
}
