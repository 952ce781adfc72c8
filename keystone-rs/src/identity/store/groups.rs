//! SQL for groups and group membership (`group`, `user_group_membership`,
//! `expiring_user_group_membership`).

use super::ID_WIDTH;
use crate::db::AnyConnection;
use crate::db::json_blob::{json_text, parse_extra};
use crate::db::listing::{Comparator, Hints, like_pattern, lower};
use crate::db::schema::{
    expiring_user_group_membership as eugm, group, identity_provider, user_group_membership as ugm,
};
use crate::error::{Error, Result};
use crate::identity::Group;
use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use serde_json::{Map, Value};

/// Keystone's `group.name` is VARCHAR(64).
pub const GROUP_NAME_WIDTH: usize = 64;

type Row = (String, String, String, Option<String>, Option<String>);

fn columns() -> (
    group::id,
    group::domain_id,
    group::name,
    group::description,
    group::extra,
) {
    (
        group::id,
        group::domain_id,
        group::name,
        group::description,
        group::extra,
    )
}

fn from_row((id, domain_id, name, description, extra): Row) -> Group {
    Group {
        id,
        domain_id,
        name,
        description,
        extra: parse_extra(extra.as_deref()),
    }
}

pub fn get(conn: &mut AnyConnection, group_id: &str) -> Result<Option<Group>> {
    let row: Option<Row> = group::table
        .filter(group::id.eq(group_id))
        .select(columns())
        .first(conn)
        .optional()?;
    Ok(row.map(from_row))
}

pub fn name_taken(
    conn: &mut AnyConnection,
    domain_id: &str,
    name: &str,
    except: Option<&str>,
) -> Result<bool> {
    let owner: Option<String> = group::table
        .filter(group::domain_id.eq(domain_id))
        .filter(group::name.eq(name))
        .select(group::id)
        .first(conn)
        .optional()?;
    Ok(owner.is_some_and(|o| Some(o.as_str()) != except))
}

pub fn insert(conn: &mut AnyConnection, g: &Group) -> Result<()> {
    diesel::insert_into(group::table)
        .values((
            group::id.eq(&g.id),
            group::domain_id.eq(&g.domain_id),
            group::name.eq(&g.name),
            group::description.eq(&g.description),
            group::extra.eq(Some(json_text(&Value::Object(g.extra.clone())))),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut AnyConnection, g: &Group) -> Result<()> {
    diesel::update(group::table.filter(group::id.eq(&g.id)))
        .set((
            group::name.eq(&g.name),
            group::description.eq(&g.description),
            group::extra.eq(Some(json_text(&Value::Object(g.extra.clone())))),
        ))
        .execute(conn)?;
    Ok(())
}

/// Delete a group's own rows: memberships, the id mapping, the group. Its grants go in
/// `crate::cascade::delete_group`.
pub fn delete(conn: &mut AnyConnection, group_id: &str) -> Result<()> {
    use crate::db::schema::id_mapping;
    diesel::delete(ugm::table.filter(ugm::group_id.eq(group_id))).execute(conn)?;
    diesel::delete(eugm::table.filter(eugm::group_id.eq(group_id))).execute(conn)?;
    diesel::delete(id_mapping::table.filter(id_mapping::public_id.eq(group_id))).execute(conn)?;
    diesel::delete(group::table.filter(group::id.eq(group_id))).execute(conn)?;
    Ok(())
}

/// The groups of a domain, in id order.
pub fn ids_in_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<Vec<String>> {
    Ok(group::table
        .filter(group::domain_id.eq(domain_id))
        .order(group::id)
        .select(group::id)
        .load(conn)?)
}

pub fn member_ids(conn: &mut AnyConnection, group_id: &str) -> Result<Vec<String>> {
    Ok(ugm::table
        .filter(ugm::group_id.eq(group_id))
        .select(ugm::user_id)
        .order(ugm::user_id.asc())
        .load(conn)?)
}

pub fn is_member(conn: &mut AnyConnection, user_id: &str, group_id: &str) -> Result<bool> {
    let n: i64 = ugm::table
        .filter(ugm::user_id.eq(user_id))
        .filter(ugm::group_id.eq(group_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn add_member(conn: &mut AnyConnection, user_id: &str, group_id: &str) -> Result<()> {
    if !is_member(conn, user_id, group_id)? {
        diesel::insert_into(ugm::table)
            .values((ugm::user_id.eq(user_id), ugm::group_id.eq(group_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Remove an ordinary membership; false when there was none.
pub fn remove_member(conn: &mut AnyConnection, user_id: &str, group_id: &str) -> Result<bool> {
    let n = diesel::delete(
        ugm::table
            .filter(ugm::user_id.eq(user_id))
            .filter(ugm::group_id.eq(group_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Federated (expiring) memberships of the user that are still valid, with their expiry:
/// `last_verified` + the identity provider's `authorization_ttl` minutes (else
/// `[federation] default_authorization_ttl`, 0 by default, i.e. already expired).
pub fn active_expiring_memberships(
    conn: &mut AnyConnection,
    user_id: &str,
    default_ttl_minutes: Option<i64>,
) -> Result<Vec<(String, NaiveDateTime)>> {
    let rows: Vec<(String, NaiveDateTime, Option<i32>)> = eugm::table
        .inner_join(identity_provider::table.on(identity_provider::id.eq(eugm::idp_id)))
        .filter(eugm::user_id.eq(user_id))
        .select((
            eugm::group_id,
            eugm::last_verified,
            identity_provider::authorization_ttl,
        ))
        .load(conn)?;
    let now = Utc::now().naive_utc();
    Ok(rows
        .into_iter()
        .filter_map(|(gid, verified, ttl)| {
            let ttl = ttl
                .map(i64::from)
                .filter(|t| *t != 0)
                .or(default_ttl_minutes)
                .unwrap_or(0);
            let expires = verified + Duration::minutes(ttl);
            (expires > now).then_some((gid, expires))
        })
        .collect())
}

/// Groups by id, in id order.
pub fn get_many(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Group>> {
    let mut rows: Vec<Row> = Vec::new();
    for chunk in ids.chunks(500) {
        rows.extend(
            group::table
                .filter(group::id.eq_any(chunk))
                .select(columns())
                .load::<Row>(conn)?,
        );
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows.into_iter().map(from_row).collect())
}

type GroupSql = (Text, Text, Text, Nullable<Text>, Nullable<Text>);
type Boxed = group::BoxedQuery<'static, crate::db::MultiBackend, GroupSql>;

/// Apply the filters SQL can satisfy to a group query, removing them from `hints`.
/// `None` when a filter can never match (a value wider than its column).
fn filtered(mut query: Boxed, hints: &mut Hints) -> Option<Boxed> {
    let mut satisfied = Vec::new();
    for (i, f) in hints.filters.iter().enumerate() {
        let width = if f.name == "name" {
            GROUP_NAME_WIDTH
        } else {
            ID_WIDTH
        };
        let too_wide = f.value.chars().count() > width;
        match (f.name.as_str(), &f.comparator) {
            ("name" | "domain_id", Comparator::Equals) if too_wide => {
                hints.cannot_match = true;
                return None;
            }
            ("name", Comparator::Equals) => query = query.filter(group::name.eq(f.value.clone())),
            ("domain_id", Comparator::Equals) => {
                query = query.filter(group::domain_id.eq(f.value.clone()))
            }
            ("name" | "domain_id", comparator) if !f.case_sensitive => {
                let Some(pattern) = like_pattern(comparator, &f.value) else {
                    continue;
                };
                if too_wide {
                    hints.cannot_match = true;
                    return None;
                }
                query = if f.name == "name" {
                    query.filter(lower(group::name).like(lower(pattern)))
                } else {
                    query.filter(lower(group::domain_id).like(lower(pattern)))
                };
            }
            _ => continue,
        }
        satisfied.push(i);
    }
    for i in satisfied.into_iter().rev() {
        hints.filters.remove(i);
    }
    Some(query)
}

/// Keystone's SQL `list_groups`: filters, `marker`, one page ordered by id.
pub fn list(conn: &mut AnyConnection, hints: &mut Hints, max_db_limit: i64) -> Result<Vec<Group>> {
    let query = group::table
        .select(columns())
        .order(group::id.asc())
        .into_boxed();
    let Some(mut query) = filtered(query, hints) else {
        return Ok(vec![]);
    };
    if let Some(marker) = &hints.marker {
        let exists: i64 = group::table
            .filter(group::id.eq(marker.clone()))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(Error::not_found(format!(
                "Marker {marker} could not be found."
            )));
        }
        query = query.filter(group::id.gt(marker.clone()));
    }
    let limit = hints.limit_or_max(max_db_limit);
    let rows: Vec<Row> = query.limit(limit).load(conn)?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The groups of a user (ordinary memberships), filtered; the caller applies the limit,
/// which gives what Keystone's `filter_limit_query` gives.
pub fn list_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    hints: &mut Hints,
    max_db_limit: i64,
) -> Result<Vec<Group>> {
    let members = ugm::table
        .filter(ugm::user_id.eq(user_id.to_string()))
        .select(ugm::group_id);
    let query = group::table
        .select(columns())
        .filter(group::id.eq_any(members))
        .order(group::id.asc())
        .into_boxed();
    let Some(query) = filtered(query, hints) else {
        return Ok(vec![]);
    };
    let rows: Vec<Row> = query.limit(max_db_limit).load(conn)?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// A fresh group value for inserts.
pub fn new_group(
    id: String,
    domain_id: String,
    name: String,
    description: Option<String>,
    extra: Map<String, Value>,
) -> Group {
    Group {
        id,
        domain_id,
        name,
        description,
        extra,
    }
}
