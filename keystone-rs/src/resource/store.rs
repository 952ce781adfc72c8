//! SQL for `project` rows (projects and domains) with their `project_tag` and
//! `project_option` rows.

use super::listing::Column;
use super::model::{IMMUTABLE_OPTION_ID, IMMUTABLE_OPTION_NAME, Project, ROOT_DOMAIN_ID};
use crate::db::AnyConnection;
use crate::db::json_blob::parse_extra;
use crate::db::listing::{SqlFilters, lower, lower_nullable};
use crate::db::schema::{project, project_option, project_tag};
use crate::error::Result;
use crate::json::{Style, to_ascii_string};
use diesel::prelude::*;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A project hierarchy deeper than this is a corrupt one (Keystone's own limit is
/// `max_project_tree_depth`, 5 by default); walks stop there.
const MAX_WALK: usize = 256;

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
        tags: Vec::new(),
        options: Map::new(),
    }
}

/// Above this many projects listed in id order, their tags and options are read by the
/// range of their ids rather than an `IN` list of every id: preparing, binding and looking
/// up 1,000 parameters twice was a fifth of an unpaged listing's time at 1,000 projects.
/// Rows of projects inside the range but not listed are read and dropped.
const ID_LIST_MAX: usize = 200;

/// Fill in tags and options of loaded rows, two queries for all of them. `in_id_order`:
/// the rows are in the database's order of their ids (first and last bound the others).
fn with_details(
    conn: &mut AnyConnection,
    mut projects: Vec<Project>,
    in_id_order: bool,
) -> Result<Vec<Project>> {
    let (Some(first), Some(last)) = (projects.first(), projects.last()) else {
        return Ok(projects);
    };
    let by_range = in_id_order && projects.len() > ID_LIST_MAX;
    let ids: Vec<&str> = if by_range {
        vec![]
    } else {
        projects.iter().map(|p| p.id.as_str()).collect()
    };
    let mut tags_query = project_tag::table
        .order((project_tag::project_id, project_tag::name))
        .select((project_tag::project_id, project_tag::name))
        .into_boxed();
    let mut options_query = project_option::table
        .select((
            project_option::project_id,
            project_option::option_id,
            project_option::option_value,
        ))
        .into_boxed();
    if by_range {
        tags_query =
            tags_query.filter(project_tag::project_id.between(first.id.as_str(), last.id.as_str()));
        options_query = options_query
            .filter(project_option::project_id.between(first.id.as_str(), last.id.as_str()));
    } else {
        tags_query = tags_query.filter(project_tag::project_id.eq_any(&ids));
        options_query = options_query.filter(project_option::project_id.eq_any(&ids));
    }
    let tag_rows: Vec<(String, String)> = tags_query.load(conn)?;
    let option_rows: Vec<(String, String, Option<String>)> = options_query.load(conn)?;
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (pid, name) in tag_rows {
        tags.entry(pid).or_default().push(name);
    }
    let mut options: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (pid, option_id, value) in option_rows {
        // Only registered options are shown (Keystone's `ref_mapper_to_dict_options`).
        if option_id != IMMUTABLE_OPTION_ID {
            continue;
        }
        let value = value
            .and_then(|v| serde_json::from_str::<Value>(&v).ok())
            .unwrap_or(Value::Null);
        options
            .entry(pid)
            .or_default()
            .insert(IMMUTABLE_OPTION_NAME.into(), value);
    }
    for p in &mut projects {
        p.tags = tags.remove(&p.id).unwrap_or_default();
        p.options = options.remove(&p.id).unwrap_or_default();
    }
    Ok(projects)
}

fn one(conn: &mut AnyConnection, row: Option<Row>) -> Result<Option<Project>> {
    match row {
        Some(row) => Ok(with_details(conn, vec![from_row(row)], false)?.pop()),
        None => Ok(None),
    }
}

/// A project or domain row by id (never the root sentinel). The id must match exactly:
/// MySQL compares case-insensitively, Keystone re-checks the same way.
pub fn get_any(conn: &mut AnyConnection, id: &str) -> Result<Option<Project>> {
    if id == ROOT_DOMAIN_ID {
        return Ok(None);
    }
    let row: Option<Row> = project::table
        .filter(project::id.eq(id))
        .select(columns())
        .first(conn)
        .optional()?;
    one(conn, row.filter(|r| r.0 == id))
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
    one(conn, row)
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
    one(conn, row)
}

/// Projects (and domains) by id, in one query plus their details.
pub fn get_projects(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<Project>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<Row> = project::table
        .filter(project::id.eq_any(ids))
        .filter(project::id.ne(ROOT_DOMAIN_ID))
        .order(project::id)
        .select(columns())
        .load(conn)?;
    with_details(conn, rows.into_iter().map(from_row).collect(), true)
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
    Ok(parents(conn, project)?
        .into_iter()
        .take_while(|p| !p.is_domain)
        .map(|p| p.id)
        .collect())
}

/// Keystone's `list_project_parents`: every ancestor, nearest first, the domain included.
pub fn parents(conn: &mut AnyConnection, project: &Project) -> Result<Vec<Project>> {
    let mut out: Vec<Project> = Vec::new();
    let mut next = project.parent_id.clone();
    while let Some(parent_id) = next {
        if parent_id == project.id || out.iter().any(|p| p.id == parent_id) || out.len() >= MAX_WALK
        {
            tracing::error!(project_id = %project.id, "circular reference in the project hierarchy");
            break;
        }
        let Some(parent) = get_any(conn, &parent_id)? else {
            break;
        };
        next = parent.parent_id.clone();
        out.push(parent);
    }
    Ok(out)
}

/// Keystone's `list_projects_in_subtree`: children level by level (domains' children too).
pub fn subtree(conn: &mut AnyConnection, project_id: &str) -> Result<Vec<Project>> {
    let mut out: Vec<Project> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::from([project_id.to_string()]);
    let mut frontier = vec![project_id.to_string()];
    let mut depth = 0;
    while !frontier.is_empty() && depth < MAX_WALK {
        let children = children_of(conn, &frontier)?;
        frontier = Vec::new();
        for child in children {
            if !seen.insert(child.id.clone()) {
                tracing::error!(project_id = %child.id, "circular reference in the project hierarchy");
                continue;
            }
            frontier.push(child.id.clone());
            out.push(child);
        }
        depth += 1;
    }
    Ok(out)
}

fn children_of(conn: &mut AnyConnection, parent_ids: &[String]) -> Result<Vec<Project>> {
    let rows: Vec<Row> = project::table
        .filter(project::parent_id.eq_any(parent_ids))
        .filter(project::id.ne(ROOT_DOMAIN_ID))
        .order(project::id)
        .select(columns())
        .load(conn)?;
    with_details(conn, rows.into_iter().map(from_row).collect(), true)
}

/// Keystone's `is_leaf_project`.
pub fn has_children(conn: &mut AnyConnection, project_id: &str) -> Result<bool> {
    let n: i64 = project::table
        .filter(project::parent_id.eq(project_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The projects whose `domain_id` is this domain (not the domain itself).
pub fn projects_in_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<Vec<Project>> {
    let rows: Vec<Row> = project::table
        .filter(project::domain_id.eq(domain_id))
        .filter(project::id.ne(domain_id))
        .order(project::id)
        .select(columns())
        .load(conn)?;
    with_details(conn, rows.into_iter().map(from_row).collect(), true)
}

/// Does a row with this id exist (a list marker)?
pub fn exists(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let n: i64 = project::table
        .filter(project::id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The resource driver's `list_projects`: the SQL filters, `id` order, after the marker,
/// at most `fetch` rows.
pub fn list(
    conn: &mut AnyConnection,
    q: &SqlFilters<Column>,
    marker: Option<&str>,
    fetch: i64,
) -> Result<Vec<Project>> {
    if q.cannot_match {
        return Ok(vec![]);
    }
    let mut query = project::table
        .select(columns())
        .filter(project::id.ne(ROOT_DOMAIN_ID))
        .order(project::id.asc())
        .into_boxed();
    for (column, value) in &q.equals {
        let value = value.clone();
        query = match column {
            Column::Id => query.filter(project::id.eq(value)),
            Column::Name => query.filter(project::name.eq(value)),
            Column::DomainId => query.filter(project::domain_id.eq(value)),
            Column::Description => query.filter(project::description.eq(value)),
            Column::ParentId => query.filter(project::parent_id.eq(value)),
            Column::Enabled | Column::IsDomain => query,
        };
    }
    for (column, value) in &q.bools {
        query = match column {
            Column::Enabled => query.filter(project::enabled.eq(*value)),
            Column::IsDomain => query.filter(project::is_domain.eq(*value)),
            _ => query,
        };
    }
    for (column, pattern) in &q.like {
        let pattern = pattern.clone();
        query = match column {
            Column::Id => query.filter(lower(project::id).like(lower(pattern))),
            Column::Name => query.filter(lower(project::name).like(lower(pattern))),
            Column::DomainId => query.filter(lower(project::domain_id).like(lower(pattern))),
            Column::Description => query
                .filter(lower_nullable(project::description).like(lower_nullable(Some(pattern)))),
            Column::ParentId => {
                query.filter(lower_nullable(project::parent_id).like(lower_nullable(Some(pattern))))
            }
            Column::Enabled | Column::IsDomain => query,
        };
    }
    if let Some(marker) = marker {
        query = query.filter(project::id.gt(marker.to_string()));
    }
    let rows: Vec<Row> = query.limit(fetch.max(0)).load(conn)?;
    with_details(conn, rows.into_iter().map(from_row).collect(), true)
}

/// Ids of the projects carrying every one of `tags`.
pub fn ids_with_all_tags(conn: &mut AnyConnection, tags: &[String]) -> Result<BTreeSet<String>> {
    let wanted: BTreeSet<&str> = tags.iter().map(String::as_str).collect();
    let rows: Vec<(String, String)> = project_tag::table
        .filter(project_tag::name.eq_any(tags))
        .select((project_tag::project_id, project_tag::name))
        .load(conn)?;
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (pid, name) in rows {
        found.entry(pid).or_default().insert(name);
    }
    Ok(found
        .into_iter()
        .filter(|(_, have)| wanted.iter().all(|t| have.contains(*t)))
        .map(|(pid, _)| pid)
        .collect())
}

/// Ids of the projects carrying any of `tags`.
pub fn ids_with_any_tag(conn: &mut AnyConnection, tags: &[String]) -> Result<BTreeSet<String>> {
    let rows: Vec<String> = project_tag::table
        .filter(project_tag::name.eq_any(tags))
        .select(project_tag::project_id)
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The `extra` column as Keystone's JsonBlob writes it (`json.dumps`).
fn extra_text(extra: &Map<String, Value>) -> String {
    to_ascii_string(&Value::Object(extra.clone()), Style::Python)
}

fn stored_domain_id(p: &Project) -> &str {
    p.domain_id.as_deref().unwrap_or(ROOT_DOMAIN_ID)
}

/// Store a new project or domain with its tags and options.
pub fn insert_project(conn: &mut AnyConnection, p: &Project) -> Result<()> {
    diesel::insert_into(project::table)
        .values((
            project::id.eq(&p.id),
            project::name.eq(&p.name),
            project::extra.eq(Some(extra_text(&p.extra))),
            project::description.eq(&p.description),
            project::enabled.eq(Some(p.enabled)),
            project::domain_id.eq(stored_domain_id(p)),
            project::parent_id.eq(&p.parent_id),
            project::is_domain.eq(p.is_domain),
        ))
        .execute(conn)?;
    replace_tags(conn, &p.id, &p.tags)?;
    write_options(conn, &p.id, &p.options)?;
    Ok(())
}

/// Store the attributes, extras and tags of an existing project; `options` are set or
/// (when null) removed one by one, others stay.
pub fn update_project(conn: &mut AnyConnection, p: &Project) -> Result<()> {
    diesel::update(project::table.filter(project::id.eq(&p.id)))
        .set((
            project::name.eq(&p.name),
            project::extra.eq(Some(extra_text(&p.extra))),
            project::description.eq(&p.description),
            project::enabled.eq(Some(p.enabled)),
            project::domain_id.eq(stored_domain_id(p)),
            project::parent_id.eq(&p.parent_id),
            project::is_domain.eq(p.is_domain),
        ))
        .execute(conn)?;
    replace_tags(conn, &p.id, &p.tags)?;
    write_options(conn, &p.id, &p.options)?;
    Ok(())
}

pub fn replace_tags(conn: &mut AnyConnection, project_id: &str, tags: &[String]) -> Result<()> {
    diesel::delete(project_tag::table.filter(project_tag::project_id.eq(project_id)))
        .execute(conn)?;
    for tag in tags {
        diesel::insert_into(project_tag::table)
            .values((
                project_tag::project_id.eq(project_id),
                project_tag::name.eq(tag),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Keystone's `resource_options_ref_to_mapper`: a null value removes the option.
fn write_options(
    conn: &mut AnyConnection,
    project_id: &str,
    options: &Map<String, Value>,
) -> Result<()> {
    let Some(value) = options.get(IMMUTABLE_OPTION_NAME) else {
        return Ok(());
    };
    diesel::delete(
        project_option::table
            .filter(project_option::project_id.eq(project_id))
            .filter(project_option::option_id.eq(IMMUTABLE_OPTION_ID)),
    )
    .execute(conn)?;
    if !value.is_null() {
        diesel::insert_into(project_option::table)
            .values((
                project_option::project_id.eq(project_id),
                project_option::option_id.eq(IMMUTABLE_OPTION_ID),
                project_option::option_value.eq(Some(to_ascii_string(value, Style::Python))),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Remove a project row and its tags and options.
pub fn delete_project(conn: &mut AnyConnection, project_id: &str) -> Result<()> {
    diesel::delete(project_tag::table.filter(project_tag::project_id.eq(project_id)))
        .execute(conn)?;
    diesel::delete(project_option::table.filter(project_option::project_id.eq(project_id)))
        .execute(conn)?;
    diesel::delete(project::table.filter(project::id.eq(project_id))).execute(conn)?;
    Ok(())
}

/// What `manage bootstrap` stores: a plain project or domain row.
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
