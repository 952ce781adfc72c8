//! SQL for shadow users of federated identities (`user` + `federated_user`) and their
//! expiring group memberships, as Keystone's `ShadowUsers` driver writes them.

use crate::db::AnyConnection;
use crate::db::json_blob::{json_text, parse_extra};
use crate::db::schema::{expiring_user_group_membership as eugm, federated_user, group, user};
use crate::error::Result;
use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;

/// The user id of a federated identity, if it was seen before.
pub fn user_id_of(
    conn: &mut AnyConnection,
    idp_id: &str,
    protocol_id: &str,
    unique_id: &str,
) -> Result<Option<String>> {
    Ok(federated_user::table
        .filter(federated_user::idp_id.eq(idp_id))
        .filter(federated_user::protocol_id.eq(protocol_id))
        .filter(federated_user::unique_id.eq(unique_id))
        .select(federated_user::user_id)
        .first(conn)
        .optional()?)
}

/// What a new shadow user is made of.
pub struct NewFederatedUser<'a> {
    pub user_id: &'a str,
    pub domain_id: &'a str,
    pub idp_id: &'a str,
    pub protocol_id: &'a str,
    pub unique_id: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
}

/// Keystone's `create_federated_user`: an enabled `user` row (the e-mail in `extra`) and
/// its `federated_user` row.
pub fn create(conn: &mut AnyConnection, new: &NewFederatedUser<'_>) -> Result<()> {
    let mut extra = serde_json::Map::new();
    if let Some(email) = new.email {
        extra.insert("email".into(), email.into());
    }
    diesel::insert_into(user::table)
        .values((
            user::id.eq(new.user_id),
            user::extra.eq(json_text(&Value::Object(extra))),
            user::enabled.eq(Some(true)),
            user::created_at.eq(Some(Utc::now().naive_utc())),
            user::domain_id.eq(new.domain_id),
        ))
        .execute(conn)?;
    diesel::insert_into(federated_user::table)
        .values((
            federated_user::user_id.eq(new.user_id),
            federated_user::idp_id.eq(new.idp_id),
            federated_user::protocol_id.eq(new.protocol_id),
            federated_user::unique_id.eq(new.unique_id),
            federated_user::display_name.eq(Some(new.display_name)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Keystone's `update_federated_user_display_name`.
pub fn set_display_name(
    conn: &mut AnyConnection,
    idp_id: &str,
    protocol_id: &str,
    unique_id: &str,
    display_name: &str,
) -> Result<()> {
    diesel::update(
        federated_user::table
            .filter(federated_user::idp_id.eq(idp_id))
            .filter(federated_user::protocol_id.eq(protocol_id))
            .filter(federated_user::unique_id.eq(unique_id)),
    )
    .set(federated_user::display_name.eq(Some(display_name)))
    .execute(conn)?;
    Ok(())
}

/// The e-mail an identity provider asserts replaces the stored one (`extra.email`).
pub fn set_email(conn: &mut AnyConnection, user_id: &str, email: &str) -> Result<()> {
    let stored: Option<Option<String>> = user::table
        .filter(user::id.eq(user_id))
        .select(user::extra)
        .first(conn)
        .optional()?;
    let mut extra = parse_extra(stored.flatten().as_deref());
    extra.insert("email".into(), email.into());
    diesel::update(user::table.filter(user::id.eq(user_id)))
        .set(user::extra.eq(Some(json_text(&Value::Object(extra)))))
        .execute(conn)?;
    Ok(())
}

/// Keystone's `add_user_to_group_expires`: refresh the membership's `last_verified`, or
/// add it under the identity provider of the user's first federated identity. `true` when
/// the membership is new.
pub fn refresh_membership(conn: &mut AnyConnection, user_id: &str, group_id: &str) -> Result<bool> {
    let now = Utc::now().naive_utc();
    let updated = diesel::update(
        eugm::table
            .filter(eugm::user_id.eq(user_id))
            .filter(eugm::group_id.eq(group_id)),
    )
    .set(eugm::last_verified.eq(now))
    .execute(conn)?;
    if updated > 0 {
        return Ok(false);
    }
    let idp_id: Option<String> = federated_user::table
        .filter(federated_user::user_id.eq(user_id))
        .order(federated_user::id.asc())
        .select(federated_user::idp_id)
        .first(conn)
        .optional()?;
    let Some(idp_id) = idp_id else {
        return Err(crate::error::Error::could_not_find("user", user_id));
    };
    diesel::insert_into(eugm::table)
        .values((
            eugm::user_id.eq(user_id),
            eugm::group_id.eq(group_id),
            eugm::idp_id.eq(idp_id),
            eugm::last_verified.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Keystone's `cleanup_stale_group_memberships`: drop this identity provider's expiring
/// memberships of groups the assertion no longer grants; the group ids removed.
pub fn drop_stale_memberships(
    conn: &mut AnyConnection,
    user_id: &str,
    idp_id: &str,
    current: &[String],
) -> Result<Vec<String>> {
    let existing: Vec<String> = eugm::table
        .filter(eugm::user_id.eq(user_id))
        .filter(eugm::idp_id.eq(idp_id))
        .select(eugm::group_id)
        .load(conn)?;
    let stale: Vec<String> = existing
        .into_iter()
        .filter(|g| !current.contains(g))
        .collect();
    if !stale.is_empty() {
        diesel::delete(
            eugm::table
                .filter(eugm::user_id.eq(user_id))
                .filter(eugm::idp_id.eq(idp_id))
                .filter(eugm::group_id.eq_any(&stale)),
        )
        .execute(conn)?;
    }
    Ok(stale)
}

/// A group's id by name within a domain (Keystone's `get_group_by_name`).
pub fn group_id_by_name(
    conn: &mut AnyConnection,
    domain_id: &str,
    name: &str,
) -> Result<Option<String>> {
    Ok(group::table
        .filter(group::domain_id.eq(domain_id))
        .filter(group::name.eq(name))
        .select(group::id)
        .first(conn)
        .optional()?)
}
