//! Keystone's `identity_provider`, `idp_remote_ids`, `federation_protocol` and
//! `service_provider` tables.

use super::providers::{IdentityProvider, Protocol, ServiceProvider};
use crate::db::AnyConnection;
use crate::db::schema::{
    federation_protocol as fp, identity_provider as idp, idp_remote_ids as rid,
    service_provider as sp,
};
use crate::error::{Error, Result};
use diesel::prelude::*;

type IdpRow = (String, String, bool, Option<String>, Option<i32>);

fn idp_columns() -> (
    idp::id,
    idp::domain_id,
    idp::enabled,
    idp::description,
    idp::authorization_ttl,
) {
    (
        idp::id,
        idp::domain_id,
        idp::enabled,
        idp::description,
        idp::authorization_ttl,
    )
}

fn remote_ids_of(conn: &mut AnyConnection, idp_id: &str) -> Result<Vec<String>> {
    Ok(rid::table
        .filter(rid::idp_id.eq(idp_id))
        .order(rid::remote_id.asc())
        .select(rid::remote_id)
        .load(conn)?)
}

fn from_row(
    conn: &mut AnyConnection,
    (id, domain_id, enabled, description, authorization_ttl): IdpRow,
) -> Result<IdentityProvider> {
    let remote_ids = remote_ids_of(conn, &id)?;
    Ok(IdentityProvider {
        id,
        domain_id,
        enabled,
        description,
        remote_ids,
        authorization_ttl,
    })
}

pub fn get_idp(conn: &mut AnyConnection, id: &str) -> Result<Option<IdentityProvider>> {
    let row: Option<IdpRow> = idp::table
        .filter(idp::id.eq(id))
        .select(idp_columns())
        .first(conn)
        .optional()?;
    row.map(|r| from_row(conn, r)).transpose()
}

pub fn list_idps(conn: &mut AnyConnection) -> Result<Vec<IdentityProvider>> {
    let rows: Vec<IdpRow> = idp::table
        .select(idp_columns())
        .order(idp::id.asc())
        .load(conn)?;
    rows.into_iter().map(|r| from_row(conn, r)).collect()
}

/// The ids of the identity providers of a domain.
pub fn idp_ids_in_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<Vec<String>> {
    Ok(idp::table
        .filter(idp::domain_id.eq(domain_id))
        .order(idp::id.asc())
        .select(idp::id)
        .load(conn)?)
}

/// Keystone's conflict texts for an identity provider (`_handle_idp_conflict`).
fn idp_conflict(details: String) -> Error {
    Error::conflict(format!(
        "Conflict occurred attempting to store identity_provider - {details}."
    ))
}

/// Refuse a remote id another identity provider holds.
fn check_remote_ids(conn: &mut AnyConnection, provider: &IdentityProvider) -> Result<()> {
    for remote_id in &provider.remote_ids {
        let owner: Option<Option<String>> = rid::table
            .filter(rid::remote_id.eq(remote_id))
            .select(rid::idp_id)
            .first(conn)
            .optional()?;
        if let Some(owner) = owner
            && owner.as_deref() != Some(provider.id.as_str())
        {
            return Err(idp_conflict(format!("Duplicate remote ID: {remote_id}")));
        }
    }
    Ok(())
}

/// The id must be free and no remote id taken.
pub fn check_idp_insertable(conn: &mut AnyConnection, provider: &IdentityProvider) -> Result<()> {
    if get_idp(conn, &provider.id)?.is_some() {
        return Err(idp_conflict(format!("Duplicate entry: {}", provider.id)));
    }
    check_remote_ids(conn, provider)
}

fn write_remote_ids(conn: &mut AnyConnection, provider: &IdentityProvider) -> Result<()> {
    diesel::delete(rid::table.filter(rid::idp_id.eq(&provider.id))).execute(conn)?;
    for remote_id in &provider.remote_ids {
        diesel::insert_into(rid::table)
            .values((rid::idp_id.eq(&provider.id), rid::remote_id.eq(remote_id)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_idp(conn: &mut AnyConnection, provider: &IdentityProvider) -> Result<()> {
    check_idp_insertable(conn, provider)?;
    diesel::insert_into(idp::table)
        .values((
            idp::id.eq(&provider.id),
            idp::domain_id.eq(&provider.domain_id),
            idp::enabled.eq(provider.enabled),
            idp::description.eq(&provider.description),
            idp::authorization_ttl.eq(provider.authorization_ttl),
        ))
        .execute(conn)?;
    write_remote_ids(conn, provider)
}

/// Replace the mutable attributes and the remote ids.
pub fn update_idp(conn: &mut AnyConnection, provider: &IdentityProvider) -> Result<()> {
    check_remote_ids(conn, provider)?;
    diesel::update(idp::table.filter(idp::id.eq(&provider.id)))
        .set((
            idp::enabled.eq(provider.enabled),
            idp::description.eq(&provider.description),
            idp::authorization_ttl.eq(provider.authorization_ttl),
        ))
        .execute(conn)?;
    write_remote_ids(conn, provider)
}

/// The identity provider with its protocols and remote ids; false when there is none.
/// The rows of other rooms that name it are cascade.rs's business, first.
pub fn delete_idp(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    diesel::delete(fp::table.filter(fp::idp_id.eq(id))).execute(conn)?;
    diesel::delete(rid::table.filter(rid::idp_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(idp::table.filter(idp::id.eq(id))).execute(conn)? == 1)
}

// ---- protocols ---------------------------------------------------------------------------

type ProtocolRow = (String, String, String, Option<String>);

fn protocol_from((id, idp_id, mapping_id, remote_id_attribute): ProtocolRow) -> Protocol {
    Protocol {
        id,
        idp_id,
        mapping_id,
        remote_id_attribute,
    }
}

pub fn get_protocol(conn: &mut AnyConnection, idp_id: &str, id: &str) -> Result<Option<Protocol>> {
    let row: Option<ProtocolRow> = fp::table
        .filter(fp::idp_id.eq(idp_id))
        .filter(fp::id.eq(id))
        .select((fp::id, fp::idp_id, fp::mapping_id, fp::remote_id_attribute))
        .first(conn)
        .optional()?;
    Ok(row.map(protocol_from))
}

pub fn list_protocols(conn: &mut AnyConnection, idp_id: &str) -> Result<Vec<Protocol>> {
    let rows: Vec<ProtocolRow> = fp::table
        .filter(fp::idp_id.eq(idp_id))
        .order(fp::id.asc())
        .select((fp::id, fp::idp_id, fp::mapping_id, fp::remote_id_attribute))
        .load(conn)?;
    Ok(rows.into_iter().map(protocol_from).collect())
}

pub fn insert_protocol(conn: &mut AnyConnection, p: &Protocol) -> Result<()> {
    diesel::insert_into(fp::table)
        .values((
            fp::id.eq(&p.id),
            fp::idp_id.eq(&p.idp_id),
            fp::mapping_id.eq(&p.mapping_id),
            fp::remote_id_attribute.eq(&p.remote_id_attribute),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_protocol(conn: &mut AnyConnection, p: &Protocol) -> Result<()> {
    diesel::update(
        fp::table
            .filter(fp::idp_id.eq(&p.idp_id))
            .filter(fp::id.eq(&p.id)),
    )
    .set((
        fp::mapping_id.eq(&p.mapping_id),
        fp::remote_id_attribute.eq(&p.remote_id_attribute),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn delete_protocol(conn: &mut AnyConnection, idp_id: &str, id: &str) -> Result<bool> {
    Ok(diesel::delete(
        fp::table
            .filter(fp::idp_id.eq(idp_id))
            .filter(fp::id.eq(id)),
    )
    .execute(conn)?
        == 1)
}

// ---- service providers -------------------------------------------------------------------

type SpRow = (String, String, bool, Option<String>, String, String);

fn sp_columns() -> (
    sp::auth_url,
    sp::id,
    sp::enabled,
    sp::description,
    sp::relay_state_prefix,
    sp::sp_url,
) {
    (
        sp::auth_url,
        sp::id,
        sp::enabled,
        sp::description,
        sp::relay_state_prefix,
        sp::sp_url,
    )
}

fn sp_from(
    (auth_url, id, enabled, description, relay_state_prefix, sp_url): SpRow,
) -> ServiceProvider {
    ServiceProvider {
        auth_url,
        id,
        enabled,
        description,
        relay_state_prefix,
        sp_url,
    }
}

pub fn get_sp(conn: &mut AnyConnection, id: &str) -> Result<Option<ServiceProvider>> {
    let row: Option<SpRow> = sp::table
        .filter(sp::id.eq(id))
        .select(sp_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(sp_from))
}

pub fn list_sps(conn: &mut AnyConnection) -> Result<Vec<ServiceProvider>> {
    let rows: Vec<SpRow> = sp::table
        .select(sp_columns())
        .order(sp::id.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(sp_from).collect())
}

pub fn insert_sp(conn: &mut AnyConnection, s: &ServiceProvider) -> Result<()> {
    diesel::insert_into(sp::table)
        .values((
            sp::auth_url.eq(&s.auth_url),
            sp::id.eq(&s.id),
            sp::enabled.eq(s.enabled),
            sp::description.eq(&s.description),
            sp::relay_state_prefix.eq(&s.relay_state_prefix),
            sp::sp_url.eq(&s.sp_url),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_sp(conn: &mut AnyConnection, s: &ServiceProvider) -> Result<()> {
    diesel::update(sp::table.filter(sp::id.eq(&s.id)))
        .set((
            sp::auth_url.eq(&s.auth_url),
            sp::enabled.eq(s.enabled),
            sp::description.eq(&s.description),
            sp::relay_state_prefix.eq(&s.relay_state_prefix),
            sp::sp_url.eq(&s.sp_url),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_sp(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    Ok(diesel::delete(sp::table.filter(sp::id.eq(id))).execute(conn)? == 1)
}
