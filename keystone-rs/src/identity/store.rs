//! SQL for users: `user` + `local_user` (+ `nonlocal_user` for names) + `password`.

use super::{NewUser, PasswordRecord, User, from_epoch_micros, to_epoch_micros};
use crate::db::AnyConnection;
use crate::db::schema::{local_user, nonlocal_user, password, user};
use crate::error::Result;
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

type UserRow = (String, Option<String>, Option<bool>, Option<String>, String);

fn user_columns() -> (
    user::id,
    user::extra,
    user::enabled,
    user::default_project_id,
    user::domain_id,
) {
    (
        user::id,
        user::extra,
        user::enabled,
        user::default_project_id,
        user::domain_id,
    )
}

pub fn parse_extra(extra: Option<&str>) -> serde_json::Map<String, serde_json::Value> {
    match extra.and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok()) {
        Some(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

fn name_of(conn: &mut AnyConnection, user_id: &str) -> Result<Option<String>> {
    let local: Option<String> = local_user::table
        .filter(local_user::user_id.eq(user_id))
        .select(local_user::name)
        .first(conn)
        .optional()?;
    if local.is_some() {
        return Ok(local);
    }
    Ok(nonlocal_user::table
        .filter(nonlocal_user::user_id.eq(user_id))
        .select(nonlocal_user::name)
        .first(conn)
        .optional()?)
}

fn build(conn: &mut AnyConnection, row: UserRow) -> Result<User> {
    let (id, extra, enabled, default_project_id, domain_id) = row;
    let name = name_of(conn, &id)?.unwrap_or_default();
    let password_expires_at = current_password(conn, &id)?.and_then(|p| p.expires_at);
    Ok(User {
        id,
        domain_id,
        name,
        enabled: enabled.unwrap_or(false),
        default_project_id,
        extra: parse_extra(extra.as_deref()),
        password_expires_at,
    })
}

pub fn get(conn: &mut AnyConnection, user_id: &str) -> Result<Option<User>> {
    let row: Option<UserRow> = user::table
        .filter(user::id.eq(user_id))
        .select(user_columns())
        .first(conn)
        .optional()?;
    row.map(|r| build(conn, r)).transpose()
}

pub fn find_by_name(conn: &mut AnyConnection, domain_id: &str, name: &str) -> Result<Option<User>> {
    let id: Option<String> = local_user::table
        .filter(local_user::domain_id.eq(domain_id))
        .filter(local_user::name.eq(name))
        .select(local_user::user_id)
        .first(conn)
        .optional()?;
    let id = match id {
        Some(id) => Some(id),
        None => nonlocal_user::table
            .filter(nonlocal_user::domain_id.eq(domain_id))
            .filter(nonlocal_user::name.eq(name))
            .select(nonlocal_user::user_id)
            .first(conn)
            .optional()?,
    };
    match id {
        Some(id) => get(conn, &id),
        None => Ok(None),
    }
}

/// The current password: the row with the greatest `created_at_int` (Keystone's order).
pub fn current_password(conn: &mut AnyConnection, user_id: &str) -> Result<Option<PasswordRecord>> {
    let row: Option<(Option<String>, Option<i64>, Option<NaiveDateTime>)> = password::table
        .inner_join(local_user::table.on(local_user::id.eq(password::local_user_id)))
        .filter(local_user::user_id.eq(user_id))
        .order((password::created_at_int.desc(), password::id.desc()))
        .select((
            password::password_hash,
            password::expires_at_int,
            password::expires_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(hash, expires_int, expires_dt)| PasswordRecord {
        hash,
        expires_at: expires_int.and_then(from_epoch_micros).or(expires_dt),
    }))
}

pub fn create_local(conn: &mut AnyConnection, new: &NewUser) -> Result<()> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(user::table)
        .values((
            user::id.eq(&new.id),
            user::extra.eq(serde_json::Value::Object(new.extra.clone()).to_string()),
            user::enabled.eq(Some(new.enabled)),
            user::default_project_id.eq(&new.default_project_id),
            user::created_at.eq(Some(now)),
            user::domain_id.eq(&new.domain_id),
        ))
        .execute(conn)?;
    diesel::insert_into(local_user::table)
        .values((
            local_user::user_id.eq(&new.id),
            local_user::domain_id.eq(&new.domain_id),
            local_user::name.eq(&new.name),
            local_user::failed_auth_count.eq(Some(0)),
        ))
        .execute(conn)?;
    if let Some(hash) = &new.password_hash {
        add_password(conn, &new.id, hash, false)?;
    }
    Ok(())
}

/// Append a password row (history is kept, as Keystone does); the newest row wins.
pub fn add_password(
    conn: &mut AnyConnection,
    user_id: &str,
    hash: &str,
    self_service: bool,
) -> Result<()> {
    let local_id: i32 = local_user::table
        .filter(local_user::user_id.eq(user_id))
        .select(local_user::id)
        .first(conn)?;
    let now = Utc::now().naive_utc();
    // Older passwords expire now, as Keystone marks them when a new one is set.
    diesel::update(
        password::table
            .filter(password::local_user_id.eq(local_id))
            .filter(
                password::expires_at_int
                    .is_null()
                    .or(password::expires_at_int.gt(to_epoch_micros(now))),
            ),
    )
    .set((
        password::expires_at_int.eq(Some(to_epoch_micros(now))),
        password::expires_at.eq(Some(now)),
    ))
    .execute(conn)?;
    diesel::insert_into(password::table)
        .values((
            password::local_user_id.eq(local_id),
            password::password_hash.eq(Some(hash)),
            password::created_at_int.eq(to_epoch_micros(now)),
            password::created_at.eq(now),
            password::self_service.eq(self_service),
            password::expires_at_int.eq(None::<i64>),
            password::expires_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_enabled(conn: &mut AnyConnection, user_id: &str, enabled: bool) -> Result<()> {
    diesel::update(user::table.filter(user::id.eq(user_id)))
        .set(user::enabled.eq(Some(enabled)))
        .execute(conn)?;
    Ok(())
}

/// Ids of the groups the user belongs to.
pub fn group_ids(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<String>> {
    use crate::db::schema::user_group_membership as m;
    Ok(m::table
        .filter(m::user_id.eq(user_id))
        .select(m::group_id)
        .load(conn)?)
}
