//! OS-OAUTH1: consumers, request and access tokens, and the delegation an access token
//! carries into Keystone tokens (shared/spec/oauth1.md). Rows are Keystone's `consumer`,
//! `request_token` and `access_token` tables, so Python Keystone can share the database.

pub mod http;
pub mod schema;
pub mod signature;
pub mod store;

use crate::assignment::{Role, expand_implied, store as assignment_store};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::token::provider::ResolvedScope;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rand::seq::SliceRandom;
use serde_json::{Map, Value};

/// A consumer. The secret is stored in plaintext: HMAC needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub id: String,
    pub description: Option<String>,
    pub secret: String,
    pub extra: Map<String, Value>,
}

impl Consumer {
    /// Keystone's consumer JSON: extra attributes first, then `id`, `description` (and
    /// `secret` only in the create response), then `links`.
    pub fn to_json(&self, base_url: &str, with_secret: bool) -> Value {
        let mut m = self.extra.clone();
        m.remove("links");
        m.insert("id".into(), self.id.clone().into());
        m.insert("description".into(), self.description.clone().into());
        if with_secret {
            m.insert("secret".into(), self.secret.clone().into());
        }
        m.insert(
            "links".into(),
            serde_json::json!({"self": format!("{base_url}/v3/OS-OAUTH1/consumers/{}", self.id)}),
        );
        Value::Object(m)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestToken {
    pub id: String,
    pub request_secret: String,
    /// Set when authorized.
    pub verifier: Option<String>,
    pub authorizing_user_id: Option<String>,
    pub requested_project_id: String,
    /// JSON list of role ids, set when authorized.
    pub role_ids: Option<String>,
    pub consumer_id: String,
    /// Keystone's ISO string, `None` = never expires.
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub id: String,
    pub access_secret: String,
    pub authorizing_user_id: String,
    pub project_id: String,
    /// JSON list of the delegated role ids, as authorized (not expanded).
    pub role_ids: String,
    pub consumer_id: String,
    pub expires_at: Option<String>,
}

impl AccessToken {
    pub fn role_ids(&self) -> Vec<String> {
        parse_role_ids(&self.role_ids)
    }

    /// The API view: never the secret, never the role ids; links by the authorizing user.
    pub fn to_json(&self, base_url: &str) -> Value {
        let path = format!(
            "{base_url}/v3/users/{}/OS-OAUTH1/access_tokens/{}",
            self.authorizing_user_id, self.id
        );
        serde_json::json!({
            "id": self.id,
            "authorizing_user_id": self.authorizing_user_id,
            "project_id": self.project_id,
            "consumer_id": self.consumer_id,
            "expires_at": self.expires_at,
            "links": {"roles": format!("{path}/roles"), "self": path},
        })
    }
}

/// What a Keystone token obtained through an access token says about it (`OS-OAUTH1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    pub access_token_id: String,
    pub consumer_id: String,
}

/// A JSON list of strings; anything else (a corrupt row) delegates nothing.
pub fn parse_role_ids(text: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(text).unwrap_or_default()
}

/// Role ids as Keystone stores them (`json.dumps` of a list).
pub fn role_ids_json(ids: &[String]) -> String {
    crate::json::to_ascii_string(ids, crate::json::Style::Python)
}

/// uuid4 hex, Keystone's format for ids and secrets.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// 8 distinct characters of the verifier alphabet, from the OS-seeded CSPRNG.
pub fn new_verifier() -> String {
    let chars: Vec<char> = signature::VERIFIER_CHARS.chars().collect();
    chars.choose_multiple(&mut rand::thread_rng(), 8).collect()
}

/// `now + seconds` in Keystone's `YYYY-MM-DDTHH:MM:SS.000000Z`; `None` when the duration is
/// 0 (never expires).
pub fn expiry_after(now: DateTime<Utc>, seconds: i64) -> Option<String> {
    (seconds > 0).then(|| crate::token::keystone_time(now + Duration::seconds(seconds)))
}

/// Keystone compares stored ISO strings after parsing them; one that does not parse is
/// treated as expired (fail closed).
pub fn is_expired(expires_at: Option<&str>, now: DateTime<Utc>) -> bool {
    let Some(text) = expires_at else {
        return false;
    };
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        });
    match parsed {
        Ok(at) => now > at,
        Err(_) => true,
    }
}

/// The roles a Keystone token obtained through `access_token_id` carries, computed at issue
/// and at every validation: the delegated role ids expanded by implication, kept only
/// while the authorizing user still holds them on the project. A vanished access token is
/// Keystone's 404 "Access token not found".
pub fn token_roles(
    conn: &mut AnyConnection,
    access_token_id: &str,
    user_id: &str,
    scope: &ResolvedScope,
) -> Result<(Vec<Role>, Delegation)> {
    let access_token = store::get_access_token(conn, access_token_id)?
        .ok_or_else(|| Error::not_found("Access token not found"))?;
    let delegation = Delegation {
        access_token_id: access_token.id.clone(),
        consumer_id: access_token.consumer_id.clone(),
    };
    let ResolvedScope::Project { project, .. } = scope else {
        return Ok((vec![], delegation));
    };
    if access_token.authorizing_user_id != user_id || access_token.project_id != project.id {
        return Ok((vec![], delegation));
    }
    let held = assignment_store::roles_on_project(conn, user_id, project)?;
    let implications = assignment_store::implications(conn)?;
    let delegated = expand_implied(&access_token.role_ids(), &implications);
    let roles = delegated
        .iter()
        .filter_map(|id| held.iter().find(|r| &r.id == id).cloned())
        .collect();
    Ok((roles, delegation))
}

/// Keystone's HTTP answer to a refused signed request: oauthlib errors are 400 with
/// their description (and Keystone's extra period), failed credentials a generic 401.
pub fn refusal_error(refusal: signature::Refusal) -> Error {
    match refusal {
        signature::Refusal::Invalid { error, description } => Error::bad_request(format!(
            "Validation failed with errors: {error}, detail message is: {description}."
        )),
        signature::Refusal::Unauthorized(why) => Error::unauthorized_because(why),
    }
}

/// Beyond Keystone: a nonce is accepted once per consumer while its timestamp is inside
/// the accepted window, on every node sharing the database. A replay is a generic 401.
pub fn remember_nonce(
    conn: &mut AnyConnection,
    signed: &signature::CheckedRequest,
    now: DateTime<Utc>,
) -> Result<()> {
    let value = crate::db::replay::scoped_value(&signed.consumer_key, &signed.nonce);
    let window_end = signed.timestamp + signature::TIMESTAMP_LIFETIME_SECS + 1;
    let expires_at_us = window_end.saturating_mul(1_000_000);
    if store::remember_nonce(conn, &value, now.timestamp_micros(), expires_at_us)? {
        Ok(())
    } else {
        Err(Error::unauthorized_because("OAuth1 nonce replayed"))
    }
}

/// When this process last purged expired nonces.
pub static NONCE_PURGE: crate::db::replay::PurgeClock = crate::db::replay::PurgeClock::new();

/// Called when a user is deleted: Keystone leaves the user's request and access tokens
/// behind (api-ref/DEVIATIONS.md); we remove them in the same transaction.
pub fn on_user_deleted(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    store::delete_tokens_of_user(conn, user_id)
}

/// Called when a project is deleted: its request and access tokens go with it.
pub fn on_project_deleted(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    store::delete_tokens_for_project(conn, project_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn verifiers_are_eight_distinct_alphabet_characters() {
        for _ in 0..50 {
            let v = new_verifier();
            assert!(signature::is_valid_verifier(&v), "{v}");
            let mut chars: Vec<char> = v.chars().collect();
            chars.sort();
            chars.dedup();
            assert_eq!(chars.len(), 8);
        }
    }

    #[test]
    fn expiry_strings_and_comparison() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 40, 19).unwrap();
        assert_eq!(
            expiry_after(now, 28800).as_deref(),
            Some("2026-11-24T20:40:19.000000Z")
        );
        assert_eq!(expiry_after(now, 0), None);
        assert!(!is_expired(None, now));
        assert!(!is_expired(Some("2026-11-24T12:40:19.000000Z"), now));
        assert!(is_expired(Some("2026-11-24T12:40:18.000000Z"), now));
        assert!(!is_expired(Some("2026-11-24T12:40:20.000000"), now));
        assert!(is_expired(Some("garbage"), now));
    }

    #[test]
    fn role_ids_round_trip_in_python_json() {
        let ids = vec!["a".to_string(), "b".to_string()];
        assert_eq!(role_ids_json(&ids), r#"["a", "b"]"#);
        assert_eq!(parse_role_ids(r#"["a", "b"]"#), ids);
        assert!(parse_role_ids("not json").is_empty());
    }

    #[test]
    fn consumer_json_key_order() {
        let mut extra = Map::new();
        extra.insert("foo".into(), "bar".into());
        let c = Consumer {
            id: "c1".into(),
            description: None,
            secret: "s".into(),
            extra,
        };
        assert_eq!(
            crate::json::to_ascii_string(&c.to_json("http://k", true), crate::json::Style::Python),
            r#"{"foo": "bar", "id": "c1", "description": null, "secret": "s", "links": {"self": "http://k/v3/OS-OAUTH1/consumers/c1"}}"#
        );
    }
}
