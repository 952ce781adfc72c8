//! SQL for `project` rows (projects and domains).

use super::{Project, ROOT_DOMAIN_ID};
use crate::db::AnyConnection;
use crate::db::schema::project;
use crate::error::Result;
use crate::identity::store::parse_extra;
use diesel::prelude::*;

type Row = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<bool>,
    String,
    Option<String>,
    bool,
);

fn columns() -> (
    project::id,
    project::name,
    project::extra,
    project::description,
    project::enabled,
    project::domain_id,
    project::parent_id,
    project::is_domain,
) {
    (
        project::id,
        project::name,
        project::extra,
        project::description,
        project::enabled,
        project::domain_id,
        project::parent_id,
        project::is_domain,
    )
}

fn from_row(r: Row) -> Project {
    let (id, name, extra, description, enabled, domain_id, parent_id, is_domain) = r;
    Project {
        id,
        name,
        description,
        enabled: enabled.unwrap_or(false),
        domain_id: (domain_id != ROOT_DOMAIN_ID).then_some(domain_id),
        parent_id,
        is_domain,
        extra: parse_extra(extra.as_deref()),
    }
}

/// A project or domain row by id (never the root sentinel).
pub fn get_any(conn: &mut AnyConnection, id: &str) -> Result<Option<Project>> {
    if id == ROOT_DOMAIN_ID {
        return Ok(None);
    }
    let row: Option<Row> = project::table
        .filter(project::id.eq(id))
        .select(columns())
        .first(conn)
        .optional()?;
    Ok(row.map(from_row))
}

pub fn get_project(conn: &mut AnyConnection, id: &str) -> Result<Option<Project>> {
    Ok(get_any(conn, id)?.filter(|p| !p.is_domain))
}

pub fn get_domain(conn: &mut AnyConnection, id: &str) -> Result<Option<Project>> {
    Ok(get_any(conn, id)?.filter(|p| p.is_domain))
}

pub fn find_domain_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Project>> {
    let row: Option<Row> = project::table
        .filter(project::domain_id.eq(ROOT_DOMAIN_ID))
        .filter(project::is_domain.eq(true))
        .filter(project::name.eq(name))
        .select(columns())
        .first(conn)
        .optional()?;
    Ok(row.map(from_row))
}

pub fn find_project_by_name(
    conn: &mut AnyConnection,
    domain_id: &str,
    name: &str,
) -> Result<Option<Project>> {
    let row: Option<Row> = project::table
        .filter(project::domain_id.eq(domain_id))
        .filter(project::is_domain.eq(false))
        .filter(project::name.eq(name))
        .select(columns())
        .first(conn)
        .optional()?;
    Ok(row.map(from_row))
}

/// Projects by id, in one query.
pub fn get_projects(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Project>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<Row> = project::table
        .filter(project::id.eq_any(ids))
        .filter(project::id.ne(ROOT_DOMAIN_ID))
        .select(columns())
        .load(conn)?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// Every project of a domain (for inherited domain grants).
pub fn project_ids_in_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<Vec<String>> {
    Ok(project::table
        .filter(project::domain_id.eq(domain_id))
        .filter(project::is_domain.eq(false))
        .select(project::id)
        .load(conn)?)
}

/// The ancestors of a project, nearest first (stops at the domain).
pub fn ancestor_ids(conn: &mut AnyConnection, project: &Project) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut next = project.parent_id.clone();
    // The hierarchy depth is bounded by Keystone's max_project_tree_depth; guard cycles anyway.
    while let Some(parent) = next {
        if out.contains(&parent) || out.len() > 64 {
            break;
        }
        match get_any(conn, &parent)? {
            Some(p) if !p.is_domain => {
                next = p.parent_id.clone();
                out.push(p.id);
            }
            _ => break,
        }
    }
    Ok(out)
}

pub struct NewProject<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub enabled: bool,
    pub domain_id: &'a str,
    pub parent_id: Option<&'a str>,
    pub is_domain: bool,
}

pub fn insert(conn: &mut AnyConnection, p: &NewProject<'_>) -> Result<()> {
    diesel::insert_into(project::table)
        .values((
            project::id.eq(p.id),
            project::name.eq(p.name),
            project::extra.eq(Some("{}")),
            project::description.eq(Some(p.description)),
            project::enabled.eq(Some(p.enabled)),
            project::domain_id.eq(p.domain_id),
            project::parent_id.eq(p.parent_id),
            project::is_domain.eq(p.is_domain),
        ))
        .execute(conn)?;
    Ok(())
}
