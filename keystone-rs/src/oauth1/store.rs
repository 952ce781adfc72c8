//! SQL for `consumer`, `request_token`, `access_token`, and the OAuth1 nonces kept in
//! keystone-rs's `ksrs_replay` table.

use super::{AccessToken, Consumer, RequestToken};
use crate::db::AnyConnection;
use crate::db::json_blob::parse_extra;
use crate::db::replay;
use crate::db::schema::{access_token, consumer, request_token, role, role_option};
use crate::error::Result;
use crate::json::{Style, to_ascii_string};
use diesel::prelude::*;
use serde_json::{Map, Value};

// ---- consumers --------------------------------------------------------------------------

type ConsumerRow = (String, Option<String>, String, String);

fn consumer_from_row((id, description, secret, extra): ConsumerRow) -> Consumer {
    Consumer {
        id,
        description,
        secret,
        extra: parse_extra(Some(&extra)),
    }
}

fn consumer_columns() -> (
    consumer::id,
    consumer::description,
    consumer::secret,
    consumer::extra,
) {
    (
        consumer::id,
        consumer::description,
        consumer::secret,
        consumer::extra,
    )
}

fn extra_json(extra: &Map<String, Value>) -> String {
    to_ascii_string(extra, Style::Python)
}

pub fn insert_consumer(conn: &mut AnyConnection, c: &Consumer) -> Result<()> {
    diesel::insert_into(consumer::table)
        .values((
            consumer::id.eq(&c.id),
            consumer::description.eq(&c.description),
            consumer::secret.eq(&c.secret),
            consumer::extra.eq(extra_json(&c.extra)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get_consumer(conn: &mut AnyConnection, id: &str) -> Result<Option<Consumer>> {
    let row: Option<ConsumerRow> = consumer::table
        .filter(consumer::id.eq(id))
        .select(consumer_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(consumer_from_row))
}

pub fn list_consumers(conn: &mut AnyConnection) -> Result<Vec<Consumer>> {
    let rows: Vec<ConsumerRow> = consumer::table
        .select(consumer_columns())
        .order(consumer::id)
        .load(conn)?;
    Ok(rows.into_iter().map(consumer_from_row).collect())
}

/// Store a consumer's new description and extras (the secret never changes).
pub fn update_consumer(conn: &mut AnyConnection, c: &Consumer) -> Result<()> {
    diesel::update(consumer::table.filter(consumer::id.eq(&c.id)))
        .set((
            consumer::description.eq(&c.description),
            consumer::extra.eq(extra_json(&c.extra)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Delete a consumer with every request and access token issued to it. False if it did
/// not exist.
pub fn delete_consumer(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    diesel::delete(request_token::table.filter(request_token::consumer_id.eq(id))).execute(conn)?;
    diesel::delete(access_token::table.filter(access_token::consumer_id.eq(id))).execute(conn)?;
    let n = diesel::delete(consumer::table.filter(consumer::id.eq(id))).execute(conn)?;
    Ok(n > 0)
}

// ---- request tokens ---------------------------------------------------------------------

type RequestTokenRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
    Option<String>,
);

pub fn insert_request_token(conn: &mut AnyConnection, t: &RequestToken) -> Result<()> {
    diesel::insert_into(request_token::table)
        .values((
            request_token::id.eq(&t.id),
            request_token::request_secret.eq(&t.request_secret),
            request_token::verifier.eq(&t.verifier),
            request_token::authorizing_user_id.eq(&t.authorizing_user_id),
            request_token::requested_project_id.eq(&t.requested_project_id),
            request_token::role_ids.eq(&t.role_ids),
            request_token::consumer_id.eq(&t.consumer_id),
            request_token::expires_at.eq(&t.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get_request_token(conn: &mut AnyConnection, id: &str) -> Result<Option<RequestToken>> {
    let row: Option<RequestTokenRow> = request_token::table
        .filter(request_token::id.eq(id))
        .select((
            request_token::id,
            request_token::request_secret,
            request_token::verifier,
            request_token::authorizing_user_id,
            request_token::requested_project_id,
            request_token::role_ids,
            request_token::consumer_id,
            request_token::expires_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|r| RequestToken {
        id: r.0,
        request_secret: r.1,
        verifier: r.2,
        authorizing_user_id: r.3,
        requested_project_id: r.4,
        role_ids: r.5,
        consumer_id: r.6,
        expires_at: r.7,
    }))
}

/// Record who authorized a request token, for which roles, and the verifier to present.
pub fn authorize_request_token(
    conn: &mut AnyConnection,
    id: &str,
    user_id: &str,
    role_ids_json: &str,
    verifier: &str,
) -> Result<()> {
    diesel::update(request_token::table.filter(request_token::id.eq(id)))
        .set((
            request_token::authorizing_user_id.eq(user_id),
            request_token::role_ids.eq(role_ids_json),
            request_token::verifier.eq(verifier),
        ))
        .execute(conn)?;
    Ok(())
}

/// False when another exchange already consumed it: a request token is good for one
/// access token only, also across nodes racing on the same row.
pub fn delete_request_token(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let n = diesel::delete(request_token::table.filter(request_token::id.eq(id))).execute(conn)?;
    Ok(n == 1)
}

// ---- access tokens ----------------------------------------------------------------------

type AccessTokenRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

fn access_token_columns() -> (
    access_token::id,
    access_token::access_secret,
    access_token::authorizing_user_id,
    access_token::project_id,
    access_token::role_ids,
    access_token::consumer_id,
    access_token::expires_at,
) {
    (
        access_token::id,
        access_token::access_secret,
        access_token::authorizing_user_id,
        access_token::project_id,
        access_token::role_ids,
        access_token::consumer_id,
        access_token::expires_at,
    )
}

fn access_token_from_row(r: AccessTokenRow) -> AccessToken {
    AccessToken {
        id: r.0,
        access_secret: r.1,
        authorizing_user_id: r.2,
        project_id: r.3,
        role_ids: r.4,
        consumer_id: r.5,
        expires_at: r.6,
    }
}

pub fn insert_access_token(conn: &mut AnyConnection, t: &AccessToken) -> Result<()> {
    diesel::insert_into(access_token::table)
        .values((
            access_token::id.eq(&t.id),
            access_token::access_secret.eq(&t.access_secret),
            access_token::authorizing_user_id.eq(&t.authorizing_user_id),
            access_token::project_id.eq(&t.project_id),
            access_token::role_ids.eq(&t.role_ids),
            access_token::consumer_id.eq(&t.consumer_id),
            access_token::expires_at.eq(&t.expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get_access_token(conn: &mut AnyConnection, id: &str) -> Result<Option<AccessToken>> {
    let row: Option<AccessTokenRow> = access_token::table
        .filter(access_token::id.eq(id))
        .select(access_token_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(access_token_from_row))
}

pub fn list_access_tokens(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<AccessToken>> {
    let rows: Vec<AccessTokenRow> = access_token::table
        .filter(access_token::authorizing_user_id.eq(user_id))
        .select(access_token_columns())
        .order(access_token::id)
        .load(conn)?;
    Ok(rows.into_iter().map(access_token_from_row).collect())
}

pub fn delete_access_token(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let n = diesel::delete(access_token::table.filter(access_token::id.eq(id))).execute(conn)?;
    Ok(n > 0)
}

pub fn delete_tokens_of_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    diesel::delete(request_token::table.filter(request_token::authorizing_user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(access_token::table.filter(access_token::authorizing_user_id.eq(user_id)))
        .execute(conn)?;
    Ok(())
}

pub fn delete_tokens_for_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::delete(request_token::table.filter(request_token::requested_project_id.eq(project_id)))
        .execute(conn)?;
    diesel::delete(access_token::table.filter(access_token::project_id.eq(project_id)))
        .execute(conn)?;
    Ok(())
}

// ---- roles as the access-token role routes show them -------------------------------------

/// Ids of every role (global or domain-specific) with this name: Keystone's
/// `get_unique_role_by_name` needs exactly one.
pub fn role_ids_named(conn: &mut AnyConnection, name: &str) -> Result<Vec<String>> {
    Ok(role::table
        .filter(role::name.eq(name))
        .select(role::id)
        .load(conn)?)
}

/// A role's options as the role API renders them (`IMMU` → `immutable`).
pub fn role_options(conn: &mut AnyConnection, role_id: &str) -> Result<Map<String, Value>> {
    let rows: Vec<(String, Option<String>)> = role_option::table
        .filter(role_option::role_id.eq(role_id))
        .select((role_option::option_id, role_option::option_value))
        .load(conn)?;
    let mut options = Map::new();
    for (option_id, value) in rows {
        let name = match option_id.as_str() {
            "IMMU" => "immutable",
            _ => continue,
        };
        let value = value
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or(Value::Null);
        options.insert(name.into(), value);
    }
    Ok(options)
}

// ---- nonces -----------------------------------------------------------------------------

pub const NONCE_KIND: &str = "oauth1_nonce";

/// Remember a nonce until `expires_at_us` (µs since the epoch): [`replay::remember`].
pub fn remember_nonce(
    conn: &mut AnyConnection,
    value: &str,
    now_us: i64,
    expires_at_us: i64,
) -> Result<bool> {
    replay::remember(conn, NONCE_KIND, value, now_us, expires_at_us)
}

/// Forget nonces whose window has passed.
pub fn purge_expired_nonces(conn: &mut AnyConnection, now_us: i64) -> Result<usize> {
    replay::purge_expired(conn, NONCE_KIND, now_us)
}
