//! SQL for services, endpoints and regions.

use super::{Endpoint, Service};
use crate::db::AnyConnection;
use crate::db::schema::{endpoint, region, service};
use crate::error::Result;
use crate::identity::store::parse_extra;
use diesel::prelude::*;

pub fn list_services(conn: &mut AnyConnection) -> Result<Vec<Service>> {
    let rows: Vec<(String, Option<String>, bool, Option<String>)> = service::table
        .select((
            service::id,
            service::type_,
            service::enabled,
            service::extra,
        ))
        .order(service::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, t, enabled, extra)| Service {
            id,
            service_type: t.unwrap_or_default(),
            enabled,
            extra: parse_extra(extra.as_deref()),
        })
        .collect())
}

pub fn list_endpoints(conn: &mut AnyConnection) -> Result<Vec<Endpoint>> {
    let rows: Vec<(
        String,
        String,
        String,
        String,
        Option<String>,
        bool,
        Option<String>,
    )> = endpoint::table
        .select((
            endpoint::id,
            endpoint::interface,
            endpoint::service_id,
            endpoint::url,
            endpoint::extra,
            endpoint::enabled,
            endpoint::region_id,
        ))
        .order(endpoint::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, interface, service_id, url, extra, enabled, region_id)| Endpoint {
                id,
                interface,
                service_id,
                url,
                enabled,
                region_id,
                extra: parse_extra(extra.as_deref()),
            },
        )
        .collect())
}

pub fn find_service_by_type_and_name(
    conn: &mut AnyConnection,
    service_type: &str,
    name: &str,
) -> Result<Option<Service>> {
    Ok(list_services(conn)?.into_iter().find(|s| {
        s.service_type == service_type && s.extra.get("name").and_then(|v| v.as_str()) == Some(name)
    }))
}

pub fn insert_service(
    conn: &mut AnyConnection,
    id: &str,
    service_type: &str,
    name: &str,
) -> Result<()> {
    diesel::insert_into(service::table)
        .values((
            service::id.eq(id),
            service::type_.eq(Some(service_type)),
            service::enabled.eq(true),
            service::extra.eq(Some(serde_json::json!({"name": name}).to_string())),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn region_exists(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let n: i64 = region::table
        .filter(region::id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert_region(conn: &mut AnyConnection, id: &str) -> Result<()> {
    diesel::insert_into(region::table)
        .values((
            region::id.eq(id),
            region::description.eq(""),
            region::parent_region_id.eq(None::<String>),
            region::extra.eq(Some("{}")),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_endpoint(conn: &mut AnyConnection, e: &Endpoint) -> Result<()> {
    diesel::insert_into(endpoint::table)
        .values((
            endpoint::id.eq(&e.id),
            endpoint::legacy_endpoint_id.eq(None::<String>),
            endpoint::interface.eq(&e.interface),
            endpoint::service_id.eq(&e.service_id),
            endpoint::url.eq(&e.url),
            endpoint::extra.eq(Some(serde_json::Value::Object(e.extra.clone()).to_string())),
            endpoint::enabled.eq(e.enabled),
            endpoint::region_id.eq(&e.region_id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_endpoint_url(conn: &mut AnyConnection, id: &str, url: &str) -> Result<()> {
    diesel::update(endpoint::table.filter(endpoint::id.eq(id)))
        .set(endpoint::url.eq(url))
        .execute(conn)?;
    Ok(())
}
