//! SQL for Keystone's `registered_limit` and `limit` tables. A limit's service, region and
//! resource name live on its registered limit (Keystone's outer join). Lists carry no
//! ORDER BY, as Keystone's queries.

use super::model::{Limit, RegisteredLimit};
use crate::db::AnyConnection;
use crate::db::schema::{limit, registered_limit};
use crate::error::Result;
use diesel::prelude::*;

type RegisteredRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i32,
    Option<String>,
);

fn registered_from_row(r: RegisteredRow) -> RegisteredLimit {
    RegisteredLimit {
        id: r.0,
        service_id: r.1,
        region_id: r.2,
        resource_name: r.3,
        default_limit: r.4,
        description: r.5,
    }
}

macro_rules! registered_columns {
    () => {
        (
            registered_limit::id,
            registered_limit::service_id,
            registered_limit::region_id,
            registered_limit::resource_name,
            registered_limit::default_limit,
            registered_limit::description,
        )
    };
}

pub fn list_registered(conn: &mut AnyConnection) -> Result<Vec<RegisteredLimit>> {
    Ok(registered_limit::table
        .select(registered_columns!())
        .load::<RegisteredRow>(conn)?
        .into_iter()
        .map(registered_from_row)
        .collect())
}

pub fn get_registered(conn: &mut AnyConnection, id: &str) -> Result<Option<RegisteredLimit>> {
    Ok(registered_limit::table
        .filter(registered_limit::id.eq(id))
        .select(registered_columns!())
        .first::<RegisteredRow>(conn)
        .optional()?
        .map(registered_from_row))
}

/// The registered limits of a service, resource and region (`None` matches NULL), as
/// Keystone's uniqueness check and limit lookup filter them.
pub fn find_registered(
    conn: &mut AnyConnection,
    service_id: Option<&str>,
    resource_name: Option<&str>,
    region_id: Option<&str>,
) -> Result<Vec<RegisteredLimit>> {
    let mut q = registered_limit::table
        .select(registered_columns!())
        .into_boxed();
    q = match service_id {
        Some(s) => q.filter(registered_limit::service_id.eq(s.to_string())),
        None => q.filter(registered_limit::service_id.is_null()),
    };
    q = match resource_name {
        Some(s) => q.filter(registered_limit::resource_name.eq(s.to_string())),
        None => q.filter(registered_limit::resource_name.is_null()),
    };
    q = match region_id {
        Some(s) => q.filter(registered_limit::region_id.eq(s.to_string())),
        None => q.filter(registered_limit::region_id.is_null()),
    };
    Ok(q.load::<RegisteredRow>(conn)?
        .into_iter()
        .map(registered_from_row)
        .collect())
}

pub fn insert_registered(conn: &mut AnyConnection, r: &RegisteredLimit) -> Result<()> {
    diesel::insert_into(registered_limit::table)
        .values((
            registered_limit::id.eq(&r.id),
            registered_limit::service_id.eq(&r.service_id),
            registered_limit::region_id.eq(&r.region_id),
            registered_limit::resource_name.eq(&r.resource_name),
            registered_limit::default_limit.eq(r.default_limit),
            registered_limit::description.eq(&r.description),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_registered(conn: &mut AnyConnection, r: &RegisteredLimit) -> Result<()> {
    diesel::update(registered_limit::table.filter(registered_limit::id.eq(&r.id)))
        .set((
            registered_limit::service_id.eq(&r.service_id),
            registered_limit::region_id.eq(&r.region_id),
            registered_limit::resource_name.eq(&r.resource_name),
            registered_limit::default_limit.eq(r.default_limit),
            registered_limit::description.eq(&r.description),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_registered(conn: &mut AnyConnection, id: &str) -> Result<()> {
    diesel::delete(registered_limit::table.filter(registered_limit::id.eq(id))).execute(conn)?;
    Ok(())
}

/// Whether any limit refers to the registered limit.
pub fn is_referenced(conn: &mut AnyConnection, registered_limit_id: &str) -> Result<bool> {
    let n: i64 = limit::table
        .filter(limit::registered_limit_id.eq(registered_limit_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

type LimitRow = (
    String,
    Option<String>,
    Option<String>,
    i32,
    Option<String>,
    Option<String>,
);

pub fn list_limits(conn: &mut AnyConnection) -> Result<Vec<Limit>> {
    let rows = limit::table
        .select((
            limit::id,
            limit::project_id,
            limit::domain_id,
            limit::resource_limit,
            limit::description,
            limit::registered_limit_id,
        ))
        .load::<LimitRow>(conn)?;
    let registered = list_registered(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let reg =
                r.5.as_deref()
                    .and_then(|id| registered.iter().find(|x| x.id == id));
            Limit {
                id: r.0,
                project_id: r.1,
                domain_id: r.2,
                resource_limit: r.3,
                description: r.4,
                service_id: reg.and_then(|x| x.service_id.clone()),
                region_id: reg.and_then(|x| x.region_id.clone()),
                resource_name: reg.and_then(|x| x.resource_name.clone()),
                registered_limit_id: r.5,
            }
        })
        .collect())
}

pub fn get_limit(conn: &mut AnyConnection, id: &str) -> Result<Option<Limit>> {
    let row = limit::table
        .filter(limit::id.eq(id))
        .select((
            limit::id,
            limit::project_id,
            limit::domain_id,
            limit::resource_limit,
            limit::description,
            limit::registered_limit_id,
        ))
        .first::<LimitRow>(conn)
        .optional()?;
    let Some(r) = row else { return Ok(None) };
    let reg = match r.5.as_deref() {
        Some(rid) => get_registered(conn, rid)?,
        None => None,
    };
    Ok(Some(Limit {
        id: r.0,
        project_id: r.1,
        domain_id: r.2,
        resource_limit: r.3,
        description: r.4,
        service_id: reg.as_ref().and_then(|x| x.service_id.clone()),
        region_id: reg.as_ref().and_then(|x| x.region_id.clone()),
        resource_name: reg.as_ref().and_then(|x| x.resource_name.clone()),
        registered_limit_id: r.5,
    }))
}

/// Whether a limit of this registered limit exists for the project (or, without one, the
/// domain): Keystone's duplicate check.
pub fn limit_exists(
    conn: &mut AnyConnection,
    registered_limit_id: &str,
    project_id: Option<&str>,
    domain_id: Option<&str>,
) -> Result<bool> {
    let mut q = limit::table
        .filter(limit::registered_limit_id.eq(registered_limit_id.to_string()))
        .into_boxed();
    q = match project_id {
        Some(p) => q.filter(limit::project_id.eq(p.to_string())),
        None => match domain_id {
            Some(d) => q.filter(limit::domain_id.eq(d.to_string())),
            None => q.filter(limit::domain_id.is_null()),
        },
    };
    let n: i64 = q.count().get_result(conn)?;
    Ok(n > 0)
}

pub fn insert_limit(conn: &mut AnyConnection, l: &Limit) -> Result<()> {
    diesel::insert_into(limit::table)
        .values((
            limit::id.eq(&l.id),
            limit::project_id.eq(&l.project_id),
            limit::domain_id.eq(&l.domain_id),
            limit::resource_limit.eq(l.resource_limit),
            limit::description.eq(&l.description),
            limit::registered_limit_id.eq(&l.registered_limit_id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_limit(conn: &mut AnyConnection, l: &Limit) -> Result<()> {
    diesel::update(limit::table.filter(limit::id.eq(&l.id)))
        .set((
            limit::resource_limit.eq(l.resource_limit),
            limit::description.eq(&l.description),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_limit(conn: &mut AnyConnection, id: &str) -> Result<()> {
    diesel::delete(limit::table.filter(limit::id.eq(id))).execute(conn)?;
    Ok(())
}

/// Keystone's `delete_limits_for_project`, run for each deleted project (a deleted domain
/// too: its own domain-level limits keep their rows, as in Keystone, which matches on
/// `project_id` only).
pub fn delete_limits_for_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::delete(limit::table.filter(limit::project_id.eq(project_id))).execute(conn)?;
    Ok(())
}
