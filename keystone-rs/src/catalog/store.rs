//! SQL for services, endpoints, regions and the OS-EP-FILTER association tables.
//!
//! Lists carry no ORDER BY, as Keystone's queries: each backend returns its natural order,
//! the same one Keystone shows on that backend.

use super::endpoint_filter::EndpointGroup;
use super::{Endpoint, Region, Service};
use crate::db::AnyConnection;
use crate::db::json_blob::parse_extra;
use crate::db::listing::{Column, SqlFilters, lower, lower_nullable};
use crate::db::schema::{
    endpoint, endpoint_group, project_endpoint, project_endpoint_group, region, service,
};
use crate::error::Result;
use crate::json::{Style, to_ascii_string};
use diesel::prelude::*;
use serde_json::{Map, Value};

/// The `extra` column as Keystone writes it (`jsonutils.dumps`).
fn extra_text(extra: &Map<String, Value>) -> String {
    to_ascii_string(&Value::Object(extra.clone()), Style::Python)
}

// ---- services -------------------------------------------------------------------------

type ServiceRow = (String, Option<String>, bool, Option<String>);

fn service_columns() -> (
    service::id,
    service::type_,
    service::enabled,
    service::extra,
) {
    (
        service::id,
        service::type_,
        service::enabled,
        service::extra,
    )
}

fn to_service((id, service_type, enabled, extra): ServiceRow) -> Service {
    Service {
        id,
        service_type,
        enabled,
        extra: parse_extra(extra.as_deref()),
    }
}

pub fn enabled_services(conn: &mut AnyConnection) -> Result<Vec<Service>> {
    let rows: Vec<ServiceRow> = service::table
        .filter(service::enabled.eq(true))
        .select(service_columns())
        .load(conn)?;
    Ok(rows.into_iter().map(to_service).collect())
}

/// The service columns `GET /v3/services` filters on (Keystone's `Service.attributes`
/// that are among its filters; `name` lives in `extra`).
pub const SERVICE_COLUMNS: &[Column<&str>] = &[Column::text("type", "type", 255)];

/// `GET /v3/services`: the `type` filters SQL satisfies, at most `fetch` rows.
pub fn query_services(
    conn: &mut AnyConnection,
    sql: &SqlFilters<&str>,
    fetch: Option<i64>,
) -> Result<Vec<Service>> {
    if sql.cannot_match {
        return Ok(Vec::new());
    }
    let mut query = service::table.select(service_columns()).into_boxed();
    for value in sql.equals_on("type") {
        query = query.filter(service::type_.eq(value));
    }
    for pattern in sql.like_on("type") {
        query = query.filter(lower_nullable(service::type_).like(lower_nullable(Some(pattern))));
    }
    if let Some(n) = fetch {
        query = query.limit(n);
    }
    let rows: Vec<ServiceRow> = query.load(conn)?;
    Ok(rows.into_iter().map(to_service).collect())
}

pub fn get_service(conn: &mut AnyConnection, id: &str) -> Result<Option<Service>> {
    let row: Option<ServiceRow> = service::table
        .filter(service::id.eq(id))
        .select(service_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(to_service))
}

pub fn insert_service_row(conn: &mut AnyConnection, s: &Service) -> Result<()> {
    diesel::insert_into(service::table)
        .values((
            service::id.eq(&s.id),
            service::type_.eq(&s.service_type),
            service::enabled.eq(s.enabled),
            service::extra.eq(Some(extra_text(&s.extra))),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_service_row(conn: &mut AnyConnection, s: &Service) -> Result<()> {
    diesel::update(service::table.filter(service::id.eq(&s.id)))
        .set((
            service::type_.eq(&s.service_type),
            service::enabled.eq(s.enabled),
            service::extra.eq(Some(extra_text(&s.extra))),
        ))
        .execute(conn)?;
    Ok(())
}

/// Delete a service with its endpoints (and their project associations). `false` when
/// there was no such service.
pub fn delete_service_cascade(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let endpoint_ids: Vec<String> = endpoint::table
        .filter(endpoint::service_id.eq(id))
        .select(endpoint::id)
        .load(conn)?;
    diesel::delete(
        project_endpoint::table.filter(project_endpoint::endpoint_id.eq_any(&endpoint_ids)),
    )
    .execute(conn)?;
    diesel::delete(endpoint::table.filter(endpoint::service_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(service::table.filter(service::id.eq(id))).execute(conn)? > 0)
}

pub fn endpoint_ids_of_service(conn: &mut AnyConnection, service_id: &str) -> Result<Vec<String>> {
    Ok(endpoint::table
        .filter(endpoint::service_id.eq(service_id))
        .select(endpoint::id)
        .load(conn)?)
}

pub fn find_service_by_type_and_name(
    conn: &mut AnyConnection,
    service_type: &str,
    name: &str,
) -> Result<Option<Service>> {
    let rows: Vec<ServiceRow> = service::table
        .filter(service::type_.eq(service_type))
        .select(service_columns())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(to_service)
        .find(|s| s.extra.get("name").and_then(|v| v.as_str()) == Some(name)))
}

/// Bootstrap's identity service.
pub fn insert_service(
    conn: &mut AnyConnection,
    id: &str,
    service_type: &str,
    name: &str,
) -> Result<()> {
    let mut extra = Map::new();
    extra.insert("name".into(), name.into());
    insert_service_row(
        conn,
        &Service {
            id: id.into(),
            service_type: Some(service_type.into()),
            enabled: true,
            extra,
        },
    )
}

// ---- endpoints ------------------------------------------------------------------------

type EndpointRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    Option<String>,
);

fn endpoint_columns() -> (
    endpoint::id,
    endpoint::interface,
    endpoint::service_id,
    endpoint::url,
    endpoint::extra,
    endpoint::enabled,
    endpoint::region_id,
) {
    (
        endpoint::id,
        endpoint::interface,
        endpoint::service_id,
        endpoint::url,
        endpoint::extra,
        endpoint::enabled,
        endpoint::region_id,
    )
}

fn to_endpoint(
    (id, interface, service_id, url, extra, enabled, region_id): EndpointRow,
) -> Endpoint {
    Endpoint {
        id,
        interface,
        service_id,
        url,
        enabled,
        region_id,
        extra: parse_extra(extra.as_deref()),
    }
}

/// Every endpoint (the catalog needs them all; so does bootstrap).
pub fn list_endpoints(conn: &mut AnyConnection) -> Result<Vec<Endpoint>> {
    let rows: Vec<EndpointRow> = endpoint::table.select(endpoint_columns()).load(conn)?;
    Ok(rows.into_iter().map(to_endpoint).collect())
}

/// The endpoint columns `GET /v3/endpoints` filters on.
pub const ENDPOINT_COLUMNS: &[Column<&str>] = &[
    Column::text("interface", "interface", 8),
    Column::text("service_id", "service_id", 64),
    Column::text("region_id", "region_id", 255),
];

/// `GET /v3/endpoints`: the `interface`, `service_id`, `region_id` filters SQL satisfies,
/// at most `fetch` rows.
pub fn query_endpoints(
    conn: &mut AnyConnection,
    sql: &SqlFilters<&str>,
    fetch: Option<i64>,
) -> Result<Vec<Endpoint>> {
    if sql.cannot_match {
        return Ok(Vec::new());
    }
    let mut query = endpoint::table.select(endpoint_columns()).into_boxed();
    for value in sql.equals_on("interface") {
        query = query.filter(endpoint::interface.eq(value));
    }
    for value in sql.equals_on("service_id") {
        query = query.filter(endpoint::service_id.eq(value));
    }
    for value in sql.equals_on("region_id") {
        query = query.filter(endpoint::region_id.eq(value));
    }
    for pattern in sql.like_on("interface") {
        query = query.filter(lower(endpoint::interface).like(lower(pattern)));
    }
    for pattern in sql.like_on("service_id") {
        query = query.filter(lower(endpoint::service_id).like(lower(pattern)));
    }
    for pattern in sql.like_on("region_id") {
        query =
            query.filter(lower_nullable(endpoint::region_id).like(lower_nullable(Some(pattern))));
    }
    if let Some(n) = fetch {
        query = query.limit(n);
    }
    let rows: Vec<EndpointRow> = query.load(conn)?;
    Ok(rows.into_iter().map(to_endpoint).collect())
}

pub fn get_endpoint(conn: &mut AnyConnection, id: &str) -> Result<Option<Endpoint>> {
    let row: Option<EndpointRow> = endpoint::table
        .filter(endpoint::id.eq(id))
        .select(endpoint_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(to_endpoint))
}

pub fn insert_endpoint(conn: &mut AnyConnection, e: &Endpoint) -> Result<()> {
    diesel::insert_into(endpoint::table)
        .values((
            endpoint::id.eq(&e.id),
            endpoint::legacy_endpoint_id.eq(None::<String>),
            endpoint::interface.eq(&e.interface),
            endpoint::service_id.eq(&e.service_id),
            endpoint::url.eq(&e.url),
            endpoint::extra.eq(Some(extra_text(&e.extra))),
            endpoint::enabled.eq(e.enabled),
            endpoint::region_id.eq(&e.region_id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_endpoint_row(conn: &mut AnyConnection, e: &Endpoint) -> Result<()> {
    diesel::update(endpoint::table.filter(endpoint::id.eq(&e.id)))
        .set((
            endpoint::interface.eq(&e.interface),
            endpoint::service_id.eq(&e.service_id),
            endpoint::url.eq(&e.url),
            endpoint::extra.eq(Some(extra_text(&e.extra))),
            endpoint::enabled.eq(e.enabled),
            endpoint::region_id.eq(&e.region_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// `legacy_endpoint_id` is a column no API output shows; only a request naming it sets it.
pub fn set_legacy_endpoint_id(
    conn: &mut AnyConnection,
    id: &str,
    legacy: Option<&str>,
) -> Result<()> {
    diesel::update(endpoint::table.filter(endpoint::id.eq(id)))
        .set(endpoint::legacy_endpoint_id.eq(legacy))
        .execute(conn)?;
    Ok(())
}

pub fn update_endpoint_url(conn: &mut AnyConnection, id: &str, url: &str) -> Result<()> {
    diesel::update(endpoint::table.filter(endpoint::id.eq(id)))
        .set(endpoint::url.eq(url))
        .execute(conn)?;
    Ok(())
}

/// Delete an endpoint and its project associations. `false` when there was none.
pub fn delete_endpoint(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    diesel::delete(project_endpoint::table.filter(project_endpoint::endpoint_id.eq(id)))
        .execute(conn)?;
    Ok(diesel::delete(endpoint::table.filter(endpoint::id.eq(id))).execute(conn)? > 0)
}

// ---- regions --------------------------------------------------------------------------

type RegionRow = (String, String, Option<String>, Option<String>);

fn region_columns() -> (
    region::id,
    region::description,
    region::parent_region_id,
    region::extra,
) {
    (
        region::id,
        region::description,
        region::parent_region_id,
        region::extra,
    )
}

fn to_region((id, description, parent_region_id, extra): RegionRow) -> Region {
    Region {
        id,
        description,
        parent_region_id,
        extra: parse_extra(extra.as_deref()),
    }
}

/// The region column `GET /v3/regions` filters on.
pub const REGION_COLUMNS: &[Column<&str>] =
    &[Column::text("parent_region_id", "parent_region_id", 255)];

/// `GET /v3/regions`: the `parent_region_id` filters SQL satisfies, at most `fetch` rows.
pub fn query_regions(
    conn: &mut AnyConnection,
    sql: &SqlFilters<&str>,
    fetch: Option<i64>,
) -> Result<Vec<Region>> {
    if sql.cannot_match {
        return Ok(Vec::new());
    }
    let mut query = region::table.select(region_columns()).into_boxed();
    for value in sql.equals_on("parent_region_id") {
        query = query.filter(region::parent_region_id.eq(value));
    }
    for pattern in sql.like_on("parent_region_id") {
        query = query
            .filter(lower_nullable(region::parent_region_id).like(lower_nullable(Some(pattern))));
    }
    if let Some(n) = fetch {
        query = query.limit(n);
    }
    let rows: Vec<RegionRow> = query.load(conn)?;
    Ok(rows.into_iter().map(to_region).collect())
}

pub fn get_region(conn: &mut AnyConnection, id: &str) -> Result<Option<Region>> {
    let row: Option<RegionRow> = region::table
        .filter(region::id.eq(id))
        .select(region_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(to_region))
}

pub fn region_exists(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    Ok(get_region(conn, id)?.is_some())
}

/// Bootstrap's region: no description, no parent.
pub fn insert_region(conn: &mut AnyConnection, id: &str) -> Result<()> {
    insert_region_row(
        conn,
        &Region {
            id: id.into(),
            description: String::new(),
            parent_region_id: None,
            extra: Map::new(),
        },
    )
}

pub fn insert_region_row(conn: &mut AnyConnection, r: &Region) -> Result<()> {
    diesel::insert_into(region::table)
        .values((
            region::id.eq(&r.id),
            region::description.eq(&r.description),
            region::parent_region_id.eq(&r.parent_region_id),
            region::extra.eq(Some(extra_text(&r.extra))),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_region_row(conn: &mut AnyConnection, r: &Region) -> Result<()> {
    diesel::update(region::table.filter(region::id.eq(&r.id)))
        .set((
            region::description.eq(&r.description),
            region::parent_region_id.eq(&r.parent_region_id),
            region::extra.eq(Some(extra_text(&r.extra))),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn child_region_ids(conn: &mut AnyConnection, parents: &[String]) -> Result<Vec<String>> {
    Ok(region::table
        .filter(region::parent_region_id.eq_any(parents))
        .select(region::id)
        .load(conn)?)
}

pub fn regions_have_endpoints(conn: &mut AnyConnection, ids: &[String]) -> Result<bool> {
    let n: i64 = endpoint::table
        .filter(endpoint::region_id.eq_any(ids))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn delete_regions(conn: &mut AnyConnection, ids: &[String]) -> Result<()> {
    diesel::delete(region::table.filter(region::id.eq_any(ids))).execute(conn)?;
    Ok(())
}

// ---- OS-EP-FILTER: endpoint groups and project associations -------------------------

/// A deleted project's endpoint and endpoint-group associations (OS-EP-FILTER).
pub fn delete_project_associations(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::delete(project_endpoint::table.filter(project_endpoint::project_id.eq(project_id)))
        .execute(conn)?;
    diesel::delete(
        project_endpoint_group::table.filter(project_endpoint_group::project_id.eq(project_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// The endpoints directly associated with a project, in the table's natural order.
pub fn project_endpoint_ids(conn: &mut AnyConnection, project_id: &str) -> Result<Vec<String>> {
    Ok(project_endpoint::table
        .filter(project_endpoint::project_id.eq(project_id))
        .select(project_endpoint::endpoint_id)
        .load(conn)?)
}

/// The projects an endpoint is directly associated with.
pub fn project_ids_for_endpoint(
    conn: &mut AnyConnection,
    endpoint_id: &str,
) -> Result<Vec<String>> {
    Ok(project_endpoint::table
        .filter(project_endpoint::endpoint_id.eq(endpoint_id))
        .select(project_endpoint::project_id)
        .load(conn)?)
}

pub fn project_endpoint_exists(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    project_id: &str,
) -> Result<bool> {
    let n: i64 = project_endpoint::table
        .filter(project_endpoint::endpoint_id.eq(endpoint_id))
        .filter(project_endpoint::project_id.eq(project_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert_project_endpoint(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    project_id: &str,
) -> Result<()> {
    diesel::insert_into(project_endpoint::table)
        .values((
            project_endpoint::endpoint_id.eq(endpoint_id),
            project_endpoint::project_id.eq(project_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// `false` when there was no such association.
pub fn delete_project_endpoint(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    project_id: &str,
) -> Result<bool> {
    Ok(diesel::delete(
        project_endpoint::table
            .filter(project_endpoint::endpoint_id.eq(endpoint_id))
            .filter(project_endpoint::project_id.eq(project_id)),
    )
    .execute(conn)?
        > 0)
}

type EndpointGroupRow = (String, String, Option<String>, String);

fn to_endpoint_group((id, name, description, filters): EndpointGroupRow) -> EndpointGroup {
    EndpointGroup {
        id,
        name,
        description,
        filters: parse_extra(Some(&filters)),
    }
}

fn endpoint_group_columns() -> (
    endpoint_group::id,
    endpoint_group::name,
    endpoint_group::description,
    endpoint_group::filters,
) {
    (
        endpoint_group::id,
        endpoint_group::name,
        endpoint_group::description,
        endpoint_group::filters,
    )
}

/// The endpoint-group attributes SQL filters on.
pub const ENDPOINT_GROUP_COLUMNS: &[Column<&str>] = &[Column::text("name", "name", 255)];

/// `GET /v3/OS-EP-FILTER/endpoint_groups`: the `name` filters, in SQL as Keystone's
/// `filter_limit_query`.
pub fn query_endpoint_groups(
    conn: &mut AnyConnection,
    sql: &SqlFilters<&str>,
    fetch: Option<i64>,
) -> Result<Vec<EndpointGroup>> {
    if sql.cannot_match {
        return Ok(Vec::new());
    }
    let mut query = endpoint_group::table
        .select(endpoint_group_columns())
        .into_boxed();
    for value in sql.equals_on("name") {
        query = query.filter(endpoint_group::name.eq(value));
    }
    for pattern in sql.like_on("name") {
        query = query.filter(lower(endpoint_group::name).like(lower(pattern)));
    }
    if let Some(n) = fetch {
        query = query.limit(n);
    }
    let rows: Vec<EndpointGroupRow> = query.load(conn)?;
    Ok(rows.into_iter().map(to_endpoint_group).collect())
}

pub fn get_endpoint_group(conn: &mut AnyConnection, id: &str) -> Result<Option<EndpointGroup>> {
    let row: Option<EndpointGroupRow> = endpoint_group::table
        .filter(endpoint_group::id.eq(id))
        .select(endpoint_group_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(to_endpoint_group))
}

/// `filters` as Keystone's `JsonBlob` writes it, so either implementation reads it.
fn filters_text(filters: &Map<String, Value>) -> String {
    extra_text(filters)
}

pub fn insert_endpoint_group(conn: &mut AnyConnection, g: &EndpointGroup) -> Result<()> {
    diesel::insert_into(endpoint_group::table)
        .values((
            endpoint_group::id.eq(&g.id),
            endpoint_group::name.eq(&g.name),
            endpoint_group::description.eq(&g.description),
            endpoint_group::filters.eq(filters_text(&g.filters)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_endpoint_group(conn: &mut AnyConnection, g: &EndpointGroup) -> Result<()> {
    diesel::update(endpoint_group::table.filter(endpoint_group::id.eq(&g.id)))
        .set((
            endpoint_group::name.eq(&g.name),
            endpoint_group::description.eq(&g.description),
            endpoint_group::filters.eq(filters_text(&g.filters)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The group and its project associations.
pub fn delete_endpoint_group(conn: &mut AnyConnection, id: &str) -> Result<()> {
    diesel::delete(
        project_endpoint_group::table.filter(project_endpoint_group::endpoint_group_id.eq(id)),
    )
    .execute(conn)?;
    diesel::delete(endpoint_group::table.filter(endpoint_group::id.eq(id))).execute(conn)?;
    Ok(())
}

/// The groups associated with a project, in the table's natural order.
/// Every project with an OS-EP-FILTER association, direct or through an endpoint group.
pub fn filtered_project_ids(conn: &mut AnyConnection) -> Result<Vec<String>> {
    let mut ids: Vec<String> = project_endpoint::table
        .select(project_endpoint::project_id)
        .distinct()
        .load(conn)?;
    ids.extend(
        project_endpoint_group::table
            .select(project_endpoint_group::project_id)
            .distinct()
            .load::<String>(conn)?,
    );
    Ok(ids)
}

pub fn endpoint_group_ids_for_project(
    conn: &mut AnyConnection,
    project_id: &str,
) -> Result<Vec<String>> {
    Ok(project_endpoint_group::table
        .filter(project_endpoint_group::project_id.eq(project_id))
        .select(project_endpoint_group::endpoint_group_id)
        .load(conn)?)
}

pub fn project_ids_for_endpoint_group(
    conn: &mut AnyConnection,
    endpoint_group_id: &str,
) -> Result<Vec<String>> {
    Ok(project_endpoint_group::table
        .filter(project_endpoint_group::endpoint_group_id.eq(endpoint_group_id))
        .select(project_endpoint_group::project_id)
        .load(conn)?)
}

pub fn project_endpoint_group_exists(
    conn: &mut AnyConnection,
    endpoint_group_id: &str,
    project_id: &str,
) -> Result<bool> {
    let n: i64 = project_endpoint_group::table
        .filter(project_endpoint_group::endpoint_group_id.eq(endpoint_group_id))
        .filter(project_endpoint_group::project_id.eq(project_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert_project_endpoint_group(
    conn: &mut AnyConnection,
    endpoint_group_id: &str,
    project_id: &str,
) -> Result<()> {
    diesel::insert_into(project_endpoint_group::table)
        .values((
            project_endpoint_group::endpoint_group_id.eq(endpoint_group_id),
            project_endpoint_group::project_id.eq(project_id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete_project_endpoint_group(
    conn: &mut AnyConnection,
    endpoint_group_id: &str,
    project_id: &str,
) -> Result<bool> {
    Ok(diesel::delete(
        project_endpoint_group::table
            .filter(project_endpoint_group::endpoint_group_id.eq(endpoint_group_id))
            .filter(project_endpoint_group::project_id.eq(project_id)),
    )
    .execute(conn)?
        > 0)
}
