//! SQL for users: `user` + `local_user` (+ `nonlocal_user`, `federated_user` for names) +
//! `password` + `user_option`, and the rows that hang off a user. Group SQL is in
//! `store/groups.rs`.

pub mod federated;
pub mod groups;

use super::options::StoredOptions;
use super::{
    FederatedObject, NewUser, PasswordRecord, User, UserDetails, from_epoch_micros, to_epoch_micros,
};
use crate::db::AnyConnection;
use crate::db::json_blob::{json_text, parse_extra};
use crate::db::listing::{CmpOp, Comparator, Hints, attr_as_boolean, like_pattern, lower};
use crate::db::schema::{
    federated_user, local_user, nonlocal_user, password, user, user_group_membership, user_option,
};
use crate::error::{Error, Result};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{Map, Value};
use std::collections::HashMap;

type UserRow = (
    String,
    Option<String>,
    Option<bool>,
    Option<String>,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDate>,
);

fn user_columns() -> (
    user::id,
    user::extra,
    user::enabled,
    user::default_project_id,
    user::domain_id,
    user::created_at,
    user::last_active_at,
) {
    (
        user::id,
        user::extra,
        user::enabled,
        user::default_project_id,
        user::domain_id,
        user::created_at,
        user::last_active_at,
    )
}

/// Column widths of Keystone's schema: longer values can never match, or cannot be stored.
pub const ID_WIDTH: usize = 64;
pub const NAME_WIDTH: usize = 255;

/// Names of many users: the local name, else the non-local one, else a federated display name.
fn names_of(conn: &mut AnyConnection, ids: &[String]) -> Result<HashMap<String, String>> {
    let mut out: HashMap<String, String> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for chunk in ids.chunks(500) {
        let federated: Vec<(String, Option<String>)> = federated_user::table
            .filter(federated_user::user_id.eq_any(chunk))
            .order(federated_user::id.asc())
            .select((federated_user::user_id, federated_user::display_name))
            .load(conn)?;
        for (id, name) in federated {
            if let Some(name) = name {
                out.entry(id).or_insert(name);
            }
        }
        let nonlocal: Vec<(String, String)> = nonlocal_user::table
            .filter(nonlocal_user::user_id.eq_any(chunk))
            .select((nonlocal_user::user_id, nonlocal_user::name))
            .load(conn)?;
        out.extend(nonlocal);
        let local: Vec<(String, String)> = local_user::table
            .filter(local_user::user_id.eq_any(chunk))
            .select((local_user::user_id, local_user::name))
            .load(conn)?;
        out.extend(local);
    }
    Ok(out)
}

/// Current password expiry of many users (the newest password row of each).
fn expiries_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Option<NaiveDateTime>>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, i64, i32, Option<i64>, Option<NaiveDateTime>)> = password::table
            .inner_join(local_user::table.on(local_user::id.eq(password::local_user_id)))
            .filter(local_user::user_id.eq_any(chunk))
            .select((
                local_user::user_id,
                password::created_at_int,
                password::id,
                password::expires_at_int,
                password::expires_at,
            ))
            .load(conn)?;
        let mut newest: HashMap<String, (i64, i32, Option<NaiveDateTime>)> = HashMap::new();
        for (uid, created, pid, exp_int, exp_dt) in rows {
            let expiry = exp_int.and_then(from_epoch_micros).or(exp_dt);
            let e = newest.entry(uid).or_insert((created, pid, expiry));
            if (created, pid) > (e.0, e.1) {
                *e = (created, pid, expiry);
            }
        }
        out.extend(newest.into_iter().map(|(k, v)| (k, v.2)));
    }
    Ok(out)
}

fn build_many(conn: &mut AnyConnection, rows: Vec<UserRow>) -> Result<Vec<User>> {
    build_named(conn, rows.into_iter().map(|row| (row, None)).collect())
}

/// [`build_many`] of rows that come with their local name when they have one (a list
/// joined to `local_user`): only the others' names are looked up. A local name is the one
/// shown whatever else the user has (see [`names_of`]).
fn build_named(
    conn: &mut AnyConnection,
    rows: Vec<(UserRow, Option<String>)>,
) -> Result<Vec<User>> {
    let ids: Vec<String> = rows.iter().map(|(r, _)| r.0.clone()).collect();
    let unnamed: Vec<String> = rows
        .iter()
        .filter(|(_, local_name)| local_name.is_none())
        .map(|(r, _)| r.0.clone())
        .collect();
    let mut names = names_of(conn, &unnamed)?;
    let mut expiries = expiries_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                (id, extra, enabled, default_project_id, domain_id, created_at, last_active_at),
                local_name,
            )| {
                User {
                    name: local_name.or_else(|| names.remove(&id)).unwrap_or_default(),
                    password_expires_at: expiries.remove(&id).flatten(),
                    id,
                    domain_id,
                    enabled: enabled.unwrap_or(false),
                    default_project_id,
                    extra: parse_extra(extra.as_deref()),
                    last_active_at,
                    created_at,
                }
            },
        )
        .collect())
}

pub fn get(conn: &mut AnyConnection, user_id: &str) -> Result<Option<User>> {
    let row: Option<UserRow> = user::table
        .filter(user::id.eq(user_id))
        .select(user_columns())
        .first(conn)
        .optional()?;
    Ok(build_many(conn, row.into_iter().collect())?.pop())
}

/// Users by id, in id order (missing ids are skipped).
pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<User>> {
    let mut rows: Vec<UserRow> = Vec::new();
    for chunk in ids.chunks(500) {
        rows.extend(
            user::table
                .filter(user::id.eq_any(chunk))
                .select(user_columns())
                .load::<UserRow>(conn)?,
        );
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    build_many(conn, rows)
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

/// Options of many users, each in `option_id` order (the order Keystone reads them back).
pub fn options_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, StoredOptions>> {
    let mut out: HashMap<String, StoredOptions> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, String, Option<String>)> = user_option::table
            .filter(user_option::user_id.eq_any(chunk))
            .order((user_option::user_id.asc(), user_option::option_id.asc()))
            .select((
                user_option::user_id,
                user_option::option_id,
                user_option::option_value,
            ))
            .load(conn)?;
        for (uid, oid, value) in rows {
            let value = value
                .and_then(|v| serde_json::from_str(&v).ok())
                .unwrap_or(Value::Null);
            out.entry(uid).or_default().push((oid, value));
        }
    }
    Ok(out)
}

/// Federated identities of many users, grouped by identity provider in row order.
fn federated_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<FederatedObject>>> {
    let mut out: HashMap<String, Vec<FederatedObject>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, String, String, String)> = federated_user::table
            .filter(federated_user::user_id.eq_any(chunk))
            .order(federated_user::id.asc())
            .select((
                federated_user::user_id,
                federated_user::idp_id,
                federated_user::protocol_id,
                federated_user::unique_id,
            ))
            .load(conn)?;
        for (uid, idp, protocol, unique) in rows {
            let list = out.entry(uid).or_default();
            match list.iter_mut().find(|o| o.idp_id == idp) {
                Some(o) => o.protocols.push((protocol, unique)),
                None => list.push(FederatedObject {
                    idp_id: idp,
                    protocols: vec![(protocol, unique)],
                }),
            }
        }
    }
    Ok(out)
}

/// Users with their options (and, for single users, federated objects).
pub fn details(
    conn: &mut AnyConnection,
    users: Vec<User>,
    with_federated: bool,
) -> Result<Vec<UserDetails>> {
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let mut options = options_of(conn, &ids)?;
    let mut federated = if with_federated {
        federated_of(conn, &ids)?
    } else {
        HashMap::new()
    };
    Ok(users
        .into_iter()
        .map(|u| UserDetails {
            options: options.remove(&u.id).unwrap_or_default(),
            federated: federated.remove(&u.id).unwrap_or_default(),
            user: u,
        })
        .collect())
}

pub fn get_details(conn: &mut AnyConnection, user_id: &str) -> Result<Option<UserDetails>> {
    match get(conn, user_id)? {
        Some(u) => Ok(details(conn, vec![u], true)?.pop()),
        None => Ok(None),
    }
}

/// The current password: the row with the greatest `created_at_int` (Keystone's order).
pub fn current_password(conn: &mut AnyConnection, user_id: &str) -> Result<Option<PasswordRecord>> {
    Ok(password_history(conn, user_id)?.pop())
}

/// Every stored password of the user, oldest first.
pub fn password_history(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<PasswordRecord>> {
    type Row = (
        Option<String>,
        Option<i64>,
        Option<NaiveDateTime>,
        i64,
        NaiveDateTime,
        bool,
    );
    let rows: Vec<Row> = password::table
        .inner_join(local_user::table.on(local_user::id.eq(password::local_user_id)))
        .filter(local_user::user_id.eq(user_id))
        .order((password::created_at_int.asc(), password::id.asc()))
        .select((
            password::password_hash,
            password::expires_at_int,
            password::expires_at,
            password::created_at_int,
            password::created_at,
            password::self_service,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(hash, expires_int, expires_dt, created_int, created_dt, self_service)| {
                PasswordRecord {
                    hash,
                    expires_at: expires_int.and_then(from_epoch_micros).or(expires_dt),
                    created_at: if created_int != 0 {
                        from_epoch_micros(created_int)
                    } else {
                        Some(created_dt)
                    },
                    self_service,
                }
            },
        )
        .collect())
}

fn local_id(conn: &mut AnyConnection, user_id: &str) -> Result<Option<i32>> {
    Ok(local_user::table
        .filter(local_user::user_id.eq(user_id))
        .select(local_user::id)
        .first(conn)
        .optional()?)
}

/// The user row and its local_user row (bootstrap's short form).
pub fn create_local(conn: &mut AnyConnection, new: &NewUser) -> Result<()> {
    insert_user(
        conn,
        &new.id,
        &new.domain_id,
        &new.extra,
        new.enabled,
        new.default_project_id.as_deref(),
    )?;
    insert_local_user(conn, &new.id, &new.domain_id, &new.name)?;
    if let Some(hash) = &new.password_hash {
        add_password(conn, &new.id, hash, false)?;
    }
    Ok(())
}

pub fn insert_user(
    conn: &mut AnyConnection,
    id: &str,
    domain_id: &str,
    extra: &Map<String, Value>,
    enabled: bool,
    default_project_id: Option<&str>,
) -> Result<()> {
    diesel::insert_into(user::table)
        .values((
            user::id.eq(id),
            user::extra.eq(json_text(&Value::Object(extra.clone()))),
            user::enabled.eq(Some(enabled)),
            user::default_project_id.eq(default_project_id),
            user::created_at.eq(Some(Utc::now().naive_utc())),
            user::domain_id.eq(domain_id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_local_user(
    conn: &mut AnyConnection,
    user_id: &str,
    domain_id: &str,
    name: &str,
) -> Result<()> {
    diesel::insert_into(local_user::table)
        .values((
            local_user::user_id.eq(user_id),
            local_user::domain_id.eq(domain_id),
            local_user::name.eq(name),
            local_user::failed_auth_count.eq(Some(0)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Append a password row (bootstrap and tests): no expiry, one old row kept.
pub fn add_password(
    conn: &mut AnyConnection,
    user_id: &str,
    hash: &str,
    self_service: bool,
) -> Result<()> {
    set_password(
        conn,
        user_id,
        &NewPassword {
            hash: Some(hash),
            self_service,
            expires_at: None,
            keep_previous: 1,
        },
    )
}

/// A password to store as the user's current one.
pub struct NewPassword<'a> {
    /// `None` stores a row without a hash (`"password": null`): no password login.
    pub hash: Option<&'a str>,
    pub self_service: bool,
    pub expires_at: Option<NaiveDateTime>,
    /// How many previous rows survive (`unique_last_password_count`, at least 1).
    pub keep_previous: usize,
}

/// Keystone's password setter: trim the history, expire the older passwords now, append.
pub fn set_password(conn: &mut AnyConnection, user_id: &str, new: &NewPassword<'_>) -> Result<()> {
    let local_id = local_id(conn, user_id)?.ok_or_else(|| {
        Error::validation("Cannot set a password for a user that is not stored locally.")
    })?;
    let now = Utc::now().naive_utc();
    let rows: Vec<(i32, i64)> = password::table
        .filter(password::local_user_id.eq(local_id))
        .order((password::created_at_int.asc(), password::id.asc()))
        .select((password::id, password::created_at_int))
        .load(conn)?;
    let keep = new.keep_previous.max(1);
    if rows.len() > keep {
        let drop: Vec<i32> = rows.iter().take(rows.len() - keep).map(|r| r.0).collect();
        diesel::delete(password::table.filter(password::id.eq_any(drop))).execute(conn)?;
    }
    let now_us = to_epoch_micros(now);
    diesel::update(
        password::table
            .filter(password::local_user_id.eq(local_id))
            .filter(
                password::expires_at_int
                    .is_null()
                    .or(password::expires_at_int.gt(now_us)),
            ),
    )
    .set((
        password::expires_at_int.eq(Some(now_us)),
        password::expires_at.eq(Some(now)),
    ))
    .execute(conn)?;
    diesel::insert_into(password::table)
        .values((
            password::local_user_id.eq(local_id),
            password::password_hash.eq(new.hash),
            password::created_at_int.eq(now_us),
            password::created_at.eq(now),
            password::self_service.eq(new.self_service),
            password::expires_at_int.eq(new.expires_at.map(to_epoch_micros)),
            password::expires_at.eq(new.expires_at),
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

/// Keystone's `last_active_at` (see `identity::inactivity`).
pub fn set_last_active(conn: &mut AnyConnection, user_id: &str, day: NaiveDate) -> Result<()> {
    diesel::update(user::table.filter(user::id.eq(user_id)))
        .set(user::last_active_at.eq(Some(day)))
        .execute(conn)?;
    Ok(())
}

/// `keystone-manage reset_last_active`: every user never seen active counts as active on
/// `day`. Returns how many users changed.
pub fn reset_unset_last_active(conn: &mut AnyConnection, day: NaiveDate) -> Result<usize> {
    Ok(
        diesel::update(user::table.filter(user::last_active_at.is_null()))
            .set(user::last_active_at.eq(Some(day)))
            .execute(conn)?,
    )
}

/// Store the attributes of the `user` row.
pub fn update_user_row(
    conn: &mut AnyConnection,
    user_id: &str,
    extra: &Map<String, Value>,
    enabled: bool,
    default_project_id: Option<&str>,
) -> Result<()> {
    diesel::update(user::table.filter(user::id.eq(user_id)))
        .set((
            user::extra.eq(json_text(&Value::Object(extra.clone()))),
            user::enabled.eq(Some(enabled)),
            user::default_project_id.eq(default_project_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Rename: the local name, or the first federated display name, or the non-local name.
pub fn rename(conn: &mut AnyConnection, user_id: &str, name: &str) -> Result<()> {
    let fed: Option<i32> = federated_user::table
        .filter(federated_user::user_id.eq(user_id))
        .order(federated_user::id.asc())
        .select(federated_user::id)
        .first(conn)
        .optional()?;
    if let Some(id) = fed {
        diesel::update(federated_user::table.filter(federated_user::id.eq(id)))
            .set(federated_user::display_name.eq(Some(name)))
            .execute(conn)?;
    } else if local_id(conn, user_id)?.is_some() {
        diesel::update(local_user::table.filter(local_user::user_id.eq(user_id)))
            .set(local_user::name.eq(name))
            .execute(conn)?;
    }
    Ok(())
}

/// The failed-login counter of a local user: `(failed_auth_count, failed_auth_at)`.
pub fn failed_auth(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Option<(i32, Option<NaiveDateTime>)>> {
    let row: Option<(Option<i32>, Option<NaiveDateTime>)> = local_user::table
        .filter(local_user::user_id.eq(user_id))
        .select((local_user::failed_auth_count, local_user::failed_auth_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(count, at)| (count.unwrap_or(0), at)))
}

/// Count one more failed login now, or start counting again at one (`restart`). One
/// UPDATE, so concurrent failures on other nodes are never lost to a read-modify-write.
pub fn record_failed_auth(conn: &mut AnyConnection, user_id: &str, restart: bool) -> Result<()> {
    let now = Utc::now().naive_utc();
    let target = local_user::table.filter(local_user::user_id.eq(user_id));
    if restart {
        diesel::update(target)
            .set((
                local_user::failed_auth_count.eq(Some(1)),
                local_user::failed_auth_at.eq(Some(now)),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set((
                local_user::failed_auth_count.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Integer>,
                >(
                    "COALESCE(failed_auth_count, 0) + 1"
                )),
                local_user::failed_auth_at.eq(Some(now)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Enabling a user clears its failed-login counter (Keystone's `enabled` setter).
pub fn reset_failed_auth(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    diesel::update(local_user::table.filter(local_user::user_id.eq(user_id)))
        .set((
            local_user::failed_auth_count.eq(Some(0)),
            local_user::failed_auth_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replace the stored options with `options` (rows for ids not listed are deleted).
pub fn write_options(
    conn: &mut AnyConnection,
    user_id: &str,
    options: &[(String, Value)],
) -> Result<()> {
    diesel::delete(user_option::table.filter(user_option::user_id.eq(user_id))).execute(conn)?;
    for (id, value) in options {
        diesel::insert_into(user_option::table)
            .values((
                user_option::user_id.eq(user_id),
                user_option::option_id.eq(id),
                user_option::option_value.eq(Some(json_text(value))),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Is `name` taken by another local user of the domain?
pub fn local_name_taken(
    conn: &mut AnyConnection,
    domain_id: &str,
    name: &str,
    except: Option<&str>,
) -> Result<bool> {
    let owner: Option<String> = local_user::table
        .filter(local_user::domain_id.eq(domain_id))
        .filter(local_user::name.eq(name))
        .select(local_user::user_id)
        .first(conn)
        .optional()?;
    Ok(owner.is_some_and(|o| Some(o.as_str()) != except))
}

pub fn idp_exists(conn: &mut AnyConnection, idp_id: &str) -> Result<bool> {
    use crate::db::schema::identity_provider as idp;
    Ok(idp::table
        .filter(idp::id.eq(idp_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn protocol_exists(conn: &mut AnyConnection, idp_id: &str, protocol_id: &str) -> Result<bool> {
    use crate::db::schema::federation_protocol as fp;
    Ok(fp::table
        .filter(fp::idp_id.eq(idp_id))
        .filter(fp::id.eq(protocol_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Replace the user's federated identities.
pub fn write_federated(
    conn: &mut AnyConnection,
    user_id: &str,
    display_name: &str,
    objects: &[FederatedObject],
) -> Result<()> {
    diesel::delete(federated_user::table.filter(federated_user::user_id.eq(user_id)))
        .execute(conn)?;
    for o in objects {
        for (protocol, unique) in &o.protocols {
            diesel::insert_into(federated_user::table)
                .values((
                    federated_user::user_id.eq(user_id),
                    federated_user::idp_id.eq(&o.idp_id),
                    federated_user::protocol_id.eq(protocol),
                    federated_user::unique_id.eq(unique),
                    federated_user::display_name.eq(Some(display_name)),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Delete a user's own rows: memberships, the id mapping, options, passwords, the local,
/// non-local and federated identities, the user. What other subsystems keep about the user
/// goes in `crate::cascade::delete_user`.
pub fn delete_user(conn: &mut AnyConnection, user_id: &str) -> Result<()> {
    use crate::db::schema::{expiring_user_group_membership as eugm, id_mapping};
    diesel::delete(user_group_membership::table.filter(user_group_membership::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(eugm::table.filter(eugm::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(id_mapping::table.filter(id_mapping::public_id.eq(user_id))).execute(conn)?;
    diesel::delete(user_option::table.filter(user_option::user_id.eq(user_id))).execute(conn)?;
    if let Some(local) = local_id(conn, user_id)? {
        diesel::delete(password::table.filter(password::local_user_id.eq(local))).execute(conn)?;
    }
    diesel::delete(local_user::table.filter(local_user::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(nonlocal_user::table.filter(nonlocal_user::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(federated_user::table.filter(federated_user::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(user::table.filter(user::id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// The users of a domain, in id order (a deleted domain's users go one by one).
pub fn user_ids_in_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<Vec<String>> {
    Ok(user::table
        .filter(user::domain_id.eq(domain_id))
        .order(user::id)
        .select(user::id)
        .load(conn)?)
}

/// A deleted project is no user's default project any more.
pub fn clear_default_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::update(user::table.filter(user::default_project_id.eq(project_id)))
        .set(user::default_project_id.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

/// Ids of the groups the user belongs to, including federated memberships that have not
/// expired (what Keystone's `list_groups_for_user` returns, used for effective roles).
pub fn group_ids(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<String>> {
    let mut ids: Vec<String> = user_group_membership::table
        .filter(user_group_membership::user_id.eq(user_id))
        .select(user_group_membership::group_id)
        .load(conn)?;
    for (gid, _) in groups::active_expiring_memberships(conn, user_id, None)? {
        if !ids.contains(&gid) {
            ids.push(gid);
        }
    }
    Ok(ids)
}

/// Where a user list comes from.
pub enum UserSource<'a> {
    All,
    /// Members of a group (ordinary memberships).
    Group(&'a str),
}

/// Keystone's SQL `list_users` / `list_users_in_group`: the filters it can satisfy
/// (`domain_id`, `enabled`, `name` exact or case-insensitive, `password_expires_at`, the
/// federated `idp_id`/`protocol_id`/`unique_id`) are applied here and removed from `hints`;
/// ordered by id, from after `marker`, at most one page.
/// The value of a list's exact-match filter on `name`, if it has one.
fn equals_filter(filters: &[crate::db::listing::Filter], name: &str) -> Option<String> {
    filters
        .iter()
        .find(|f| f.name == name && matches!(f.comparator, Comparator::Equals))
        .map(|f| f.value.clone())
}

pub fn list(
    conn: &mut AnyConnection,
    source: UserSource<'_>,
    hints: &mut Hints,
    max_db_limit: i64,
) -> Result<Vec<User>> {
    let mut query = user::table
        .left_join(local_user::table.on(local_user::user_id.eq(user::id)))
        .select((user_columns(), local_user::name.nullable()))
        .order(user::id.asc())
        .into_boxed();
    if let UserSource::Group(group_id) = source {
        let members = user_group_membership::table
            .filter(user_group_membership::group_id.eq(group_id.to_string()))
            .select(user_group_membership::user_id);
        query = query.filter(user::id.eq_any(members));
    }
    let mut satisfied = Vec::new();
    for (i, f) in hints.filters.iter().enumerate() {
        let width = if f.name == "name" {
            NAME_WIDTH
        } else {
            ID_WIDTH
        };
        match (f.name.as_str(), &f.comparator) {
            ("password_expires_at", Comparator::Compare(op)) => {
                let Some(when) = super::listing::password_expiry(f) else {
                    continue;
                };
                let micros = to_epoch_micros(when);
                // One arm per operator: a boxed subselect cannot be dispatched per backend.
                macro_rules! expiring {
                    ($cmp:ident) => {
                        password::table
                            .filter(password::expires_at_int.$cmp(micros))
                            .select(password::local_user_id)
                    };
                }
                query = match op {
                    CmpOp::Lt => {
                        query.filter(local_user::id.assume_not_null().eq_any(expiring!(lt)))
                    }
                    CmpOp::Lte => {
                        query.filter(local_user::id.assume_not_null().eq_any(expiring!(le)))
                    }
                    CmpOp::Gt => {
                        query.filter(local_user::id.assume_not_null().eq_any(expiring!(gt)))
                    }
                    CmpOp::Gte => {
                        query.filter(local_user::id.assume_not_null().eq_any(expiring!(ge)))
                    }
                    CmpOp::Eq => {
                        query.filter(local_user::id.assume_not_null().eq_any(expiring!(eq)))
                    }
                    CmpOp::Neq => {
                        query.filter(local_user::id.assume_not_null().eq_any(expiring!(ne)))
                    }
                };
                satisfied.push(i);
            }
            ("domain_id" | "name", Comparator::Equals) if f.value.chars().count() > width => {
                hints.cannot_match = true;
                return Ok(vec![]);
            }
            ("domain_id", Comparator::Equals) => {
                query = query.filter(user::domain_id.eq(f.value.clone()));
                satisfied.push(i);
            }
            ("name", Comparator::Equals) => {
                query = query.filter(local_user::name.eq(f.value.clone()));
                // The local user's domain is the user's: said on local_user too, it lets the
                // database find the name through local_user's (domain_id, name) index
                // instead of walking every user and probing local_user for each.
                if let Some(domain_id) = equals_filter(&hints.filters, "domain_id") {
                    query = query.filter(local_user::domain_id.eq(domain_id));
                }
                satisfied.push(i);
            }
            ("enabled", Comparator::Equals) => {
                query = query.filter(user::enabled.eq(attr_as_boolean(&f.value)));
                satisfied.push(i);
            }
            ("idp_id" | "protocol_id" | "unique_id", Comparator::Equals) => {
                let value = f.value.clone();
                let fed = federated_user::table.select(federated_user::user_id);
                query = match f.name.as_str() {
                    "idp_id" => {
                        query.filter(user::id.eq_any(fed.filter(federated_user::idp_id.eq(value))))
                    }
                    "protocol_id" => query
                        .filter(user::id.eq_any(fed.filter(federated_user::protocol_id.eq(value)))),
                    _ => query
                        .filter(user::id.eq_any(fed.filter(federated_user::unique_id.eq(value)))),
                };
                satisfied.push(i);
            }
            ("domain_id" | "name", comparator) if !f.case_sensitive => {
                let Some(pattern) = like_pattern(comparator, &f.value) else {
                    continue;
                };
                if f.value.chars().count() > width {
                    hints.cannot_match = true;
                    return Ok(vec![]);
                }
                query = if f.name == "name" {
                    query.filter(lower(local_user::name.assume_not_null()).like(lower(pattern)))
                } else {
                    query.filter(lower(user::domain_id).like(lower(pattern)))
                };
                satisfied.push(i);
            }
            _ => {}
        }
    }
    for i in satisfied.into_iter().rev() {
        hints.filters.remove(i);
    }
    if let Some(marker) = &hints.marker {
        let exists: i64 = user::table
            .filter(user::id.eq(marker.clone()))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(Error::not_found(format!(
                "Marker {marker} could not be found."
            )));
        }
        query = query.filter(user::id.gt(marker.clone()));
    }
    let limit = hints.limit_or_max(max_db_limit);
    let rows: Vec<(UserRow, Option<String>)> = query.limit(limit).load(conn)?;
    build_named(conn, rows)
}

/// Keystone's cleanup after an identity provider or one of its protocols is deleted: the
/// `federated_user` rows naming it (all of the IdP's when `protocol_id` is `None`) go, and
/// with the whole IdP its expiring group memberships. Returns the users that had such a
/// row and now have no name source left (no local, non-local or federated row): Keystone
/// deletes those users; the caller decides how (cascade.rs).
pub fn forget_federated_identities(
    conn: &mut AnyConnection,
    idp_id: &str,
    protocol_id: Option<&str>,
) -> Result<Vec<String>> {
    use crate::db::schema::expiring_user_group_membership as eugm;
    let mut rows = federated_user::table
        .filter(federated_user::idp_id.eq(idp_id))
        .into_boxed();
    if let Some(protocol_id) = protocol_id {
        rows = rows.filter(federated_user::protocol_id.eq(protocol_id));
    }
    let mut user_ids: Vec<String> = rows.select(federated_user::user_id).load(conn)?;
    user_ids.sort();
    user_ids.dedup();
    let of_idp = federated_user::table.filter(federated_user::idp_id.eq(idp_id));
    match protocol_id {
        Some(protocol_id) => {
            diesel::delete(of_idp.filter(federated_user::protocol_id.eq(protocol_id)))
                .execute(conn)?
        }
        None => diesel::delete(of_idp).execute(conn)?,
    };
    if protocol_id.is_none() {
        diesel::delete(eugm::table.filter(eugm::idp_id.eq(idp_id))).execute(conn)?;
    }
    let mut orphans = Vec::new();
    for user_id in user_ids {
        let named = |n: i64| n > 0;
        let local: i64 = local_user::table
            .filter(local_user::user_id.eq(&user_id))
            .count()
            .get_result(conn)?;
        let nonlocal: i64 = nonlocal_user::table
            .filter(nonlocal_user::user_id.eq(&user_id))
            .count()
            .get_result(conn)?;
        let federated: i64 = federated_user::table
            .filter(federated_user::user_id.eq(&user_id))
            .count()
            .get_result(conn)?;
        if !(named(local) || named(nonlocal) || named(federated)) {
            orphans.push(user_id);
        }
    }
    Ok(orphans)
}

/// Keystone's `_shadow_nonlocal_user`: the first authentication of a user from a
/// non-SQL backend (an LDAP domain) gives it a `user` row and a `nonlocal_user` name, so
/// assignments, tokens and `last_active_at` have a row to refer to. Later ones keep it.
pub fn shadow_nonlocal_user(
    conn: &mut AnyConnection,
    id: &str,
    domain_id: &str,
    name: &str,
    extra: &Map<String, Value>,
) -> Result<()> {
    let known: i64 = user::table
        .filter(user::id.eq(id))
        .count()
        .get_result(conn)?;
    if known > 0 {
        return Ok(());
    }
    insert_user(conn, id, domain_id, extra, true, None)?;
    diesel::insert_into(nonlocal_user::table)
        .values((
            nonlocal_user::domain_id.eq(domain_id),
            nonlocal_user::name.eq(name),
            nonlocal_user::user_id.eq(id),
        ))
        .execute(conn)?;
    Ok(())
}
