//! SQL for the `policy` table (policy blobs) and `policy_association` (OS-ENDPOINT-POLICY).
//!
//! A policy row is Keystone's `PolicyModel`: `blob` and `extra` are `JsonBlob` columns,
//! written as `json.dumps` writes them so Python Keystone reads them back unchanged.

use super::{Association, Policy};
use crate::db::AnyConnection;
use crate::db::json_blob::{json_text, parse_extra};
use crate::db::schema::{policy, policy_association};
use crate::error::Result;
use diesel::prelude::*;
use serde_json::Value;

type PolicyRow = (String, String, String, Option<String>);

fn to_policy((id, policy_type, blob, extra): PolicyRow) -> Policy {
    Policy {
        id,
        policy_type,
        // A blob that is not JSON (never written by either implementation) shows as text.
        blob: serde_json::from_str(&blob).unwrap_or(Value::String(blob)),
        extra: parse_extra(extra.as_deref()),
    }
}

fn policy_columns() -> (policy::id, policy::type_, policy::blob, policy::extra) {
    (policy::id, policy::type_, policy::blob, policy::extra)
}

/// Every policy, in the table's natural order (Keystone's driver ignores the hints).
pub fn list_policies(conn: &mut AnyConnection) -> Result<Vec<Policy>> {
    let rows: Vec<PolicyRow> = policy::table.select(policy_columns()).load(conn)?;
    Ok(rows.into_iter().map(to_policy).collect())
}

pub fn get_policy(conn: &mut AnyConnection, id: &str) -> Result<Option<Policy>> {
    let row: Option<PolicyRow> = policy::table
        .filter(policy::id.eq(id))
        .select(policy_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(to_policy))
}

pub fn insert_policy(conn: &mut AnyConnection, p: &Policy) -> Result<()> {
    diesel::insert_into(policy::table)
        .values((
            policy::id.eq(&p.id),
            policy::type_.eq(&p.policy_type),
            policy::blob.eq(json_text(&p.blob)),
            policy::extra.eq(Some(json_text(&Value::Object(p.extra.clone())))),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_policy(conn: &mut AnyConnection, p: &Policy) -> Result<()> {
    diesel::update(policy::table.filter(policy::id.eq(&p.id)))
        .set((
            policy::type_.eq(&p.policy_type),
            policy::blob.eq(json_text(&p.blob)),
            policy::extra.eq(Some(json_text(&Value::Object(p.extra.clone())))),
        ))
        .execute(conn)?;
    Ok(())
}

/// `false` when there was no such policy.
pub fn delete_policy(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    Ok(diesel::delete(policy::table.filter(policy::id.eq(id))).execute(conn)? > 0)
}

// ---- associations ---------------------------------------------------------------------

type AssociationRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn to_association(
    (id, policy_id, endpoint_id, service_id, region_id): AssociationRow,
) -> Association {
    Association {
        id,
        policy_id,
        endpoint_id,
        service_id,
        region_id,
    }
}

fn association_columns() -> (
    policy_association::id,
    policy_association::policy_id,
    policy_association::endpoint_id,
    policy_association::service_id,
    policy_association::region_id,
) {
    (
        policy_association::id,
        policy_association::policy_id,
        policy_association::endpoint_id,
        policy_association::service_id,
        policy_association::region_id,
    )
}

/// The association rows for exactly this (endpoint, service, region) triple, `None`
/// meaning SQL NULL (SQLAlchemy's `== None` is `IS NULL`).
pub fn associations_for(
    conn: &mut AnyConnection,
    endpoint_id: Option<&str>,
    service_id: Option<&str>,
    region_id: Option<&str>,
) -> Result<Vec<Association>> {
    let mut query = policy_association::table
        .select(association_columns())
        .into_boxed();
    query = match endpoint_id {
        Some(e) => query.filter(policy_association::endpoint_id.eq(e)),
        None => query.filter(policy_association::endpoint_id.is_null()),
    };
    query = match service_id {
        Some(s) => query.filter(policy_association::service_id.eq(s)),
        None => query.filter(policy_association::service_id.is_null()),
    };
    query = match region_id {
        Some(r) => query.filter(policy_association::region_id.eq(r)),
        None => query.filter(policy_association::region_id.is_null()),
    };
    let rows: Vec<AssociationRow> = query.load(conn)?;
    Ok(rows.into_iter().map(to_association).collect())
}

pub fn associations_of_policy(
    conn: &mut AnyConnection,
    policy_id: &str,
) -> Result<Vec<Association>> {
    let rows: Vec<AssociationRow> = policy_association::table
        .filter(policy_association::policy_id.eq(policy_id))
        .select(association_columns())
        .load(conn)?;
    Ok(rows.into_iter().map(to_association).collect())
}

pub fn insert_association(conn: &mut AnyConnection, a: &Association) -> Result<()> {
    diesel::insert_into(policy_association::table)
        .values((
            policy_association::id.eq(&a.id),
            policy_association::policy_id.eq(&a.policy_id),
            policy_association::endpoint_id.eq(&a.endpoint_id),
            policy_association::service_id.eq(&a.service_id),
            policy_association::region_id.eq(&a.region_id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_association_policy(conn: &mut AnyConnection, id: &str, policy_id: &str) -> Result<()> {
    diesel::update(policy_association::table.filter(policy_association::id.eq(id)))
        .set(policy_association::policy_id.eq(policy_id))
        .execute(conn)?;
    Ok(())
}

pub fn delete_associations(conn: &mut AnyConnection, ids: &[String]) -> Result<()> {
    diesel::delete(policy_association::table.filter(policy_association::id.eq_any(ids)))
        .execute(conn)?;
    Ok(())
}

/// What deleting a policy, endpoint, service or regions leaves behind.
pub fn delete_for_policy(conn: &mut AnyConnection, policy_id: &str) -> Result<()> {
    diesel::delete(policy_association::table.filter(policy_association::policy_id.eq(policy_id)))
        .execute(conn)?;
    Ok(())
}

pub fn delete_for_endpoints(conn: &mut AnyConnection, endpoint_ids: &[String]) -> Result<()> {
    diesel::delete(
        policy_association::table.filter(policy_association::endpoint_id.eq_any(endpoint_ids)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn delete_for_service(conn: &mut AnyConnection, service_id: &str) -> Result<()> {
    diesel::delete(policy_association::table.filter(policy_association::service_id.eq(service_id)))
        .execute(conn)?;
    Ok(())
}

pub fn delete_for_regions(conn: &mut AnyConnection, region_ids: &[String]) -> Result<()> {
    diesel::delete(
        policy_association::table.filter(policy_association::region_id.eq_any(region_ids)),
    )
    .execute(conn)?;
    Ok(())
}
