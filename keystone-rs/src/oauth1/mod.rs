//! OS-OAUTH1: consumers, request and access tokens, and the delegation an access token
//! carries into Keystone tokens (shared/spec/oauth1.md). Rows are Keystone's `consumer`,
//! `request_token` and `access_token` tables, so Python Keystone can share the database.

pub mod model;
pub mod schema;
pub mod signature;
pub mod store;

use crate::assignment::{Role, expand_implied, store as assignment_store};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::resource::model::Project;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rand::seq::SliceRandom;

pub use model::{AccessToken, Consumer, Delegation, RequestToken, parse_role_ids};

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
    (seconds > 0).then(|| crate::fernet::keystone_time(now + Duration::seconds(seconds)))
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
    project: Option<&Project>,
) -> Result<(Vec<Role>, Delegation)> {
    let access_token = store::get_access_token(conn, access_token_id)?
        .ok_or_else(|| Error::not_found("Access token not found"))?;
    let delegation = Delegation {
        access_token_id: access_token.id.clone(),
        consumer_id: access_token.consumer_id.clone(),
    };
    let Some(project) = project else {
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

/// Expired nonces go now and then, after a signed request has been served.
pub async fn purge_nonces_if_due(db: &crate::db::Db) {
    crate::db::replay::purge_if_due(db, &NONCE_PURGE, store::NONCE_KIND).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::Map;

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
