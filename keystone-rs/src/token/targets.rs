//! What a user may scope a token to (`/v3/auth/projects`, `/v3/auth/domains`), read through
//! the validation cache: the effective targets are worked out once per user and state of
//! the database, as Keystone memoizes `list_projects_for_user`, and the projects come from
//! the same cache token validation fills.

use super::cache::ValidationCache;
use crate::assignment::store as assignment_store;
use crate::db::{AnyConnection, MaybeConn};
use crate::error::Result;
use crate::json::{Style, to_ascii_string, write_ascii};
use crate::resource::model::project_url;
use crate::resource::{Project, store as resource_store};
use std::collections::HashMap;
use std::sync::Arc;

/// Project ids and domain ids with an effective role, each sorted and without repeats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeTargets {
    pub project_ids: Vec<String>,
    pub domain_ids: Vec<String>,
}

/// The targets of a user and, for a federated token, of the groups it carries (those are
/// not stored memberships, so that part is read each time). The cached entry itself when
/// there are no such groups: nothing is copied per request.
pub fn scope_targets(
    conn: &mut AnyConnection,
    cache: &ValidationCache,
    user_id: &str,
    federated_groups: &[String],
) -> Result<Arc<ScopeTargets>> {
    let mut maybe = MaybeConn::open(conn);
    cache.sync(&mut maybe)?;
    let own = cache
        .scope_targets
        .get_or_load_value(cache, user_id.to_string(), || {
            let (project_ids, domain_ids) =
                assignment_store::targets_with_roles(maybe.get()?, user_id)?;
            Ok(Arc::new(ScopeTargets {
                project_ids,
                domain_ids,
            }))
        })?;
    if federated_groups.is_empty() {
        return Ok(own);
    }
    let (projects, domains) = assignment_store::targets_of_groups(conn, federated_groups)?;
    let mut all = own.as_ref().clone();
    for (ids, more) in [
        (&mut all.project_ids, projects),
        (&mut all.domain_ids, domains),
    ] {
        ids.extend(more);
        ids.sort();
        ids.dedup();
    }
    Ok(Arc::new(all))
}

/// A project as the resource API lists it, rendered once per state of the database.
/// `to_project_json` is `project_ref` plus `links`, and `links` names the request's base
/// URL: the text is kept open where `links` goes.
#[derive(Debug)]
pub struct ListedProject {
    /// `project_ref`'s text without its closing brace; `None` when the extras hold a `links`
    /// member of their own, which only the JSON form merges `self` into.
    open_text: Option<String>,
    project: Project,
}

impl ListedProject {
    pub fn new(project: Project) -> Self {
        let open_text = (!project.extra.contains_key("links")).then(|| {
            let mut text = to_ascii_string(&project.project_ref(), Style::Python);
            text.pop(); // the closing brace
            text
        });
        ListedProject { open_text, project }
    }

    /// Whether this is the rendering of exactly `project` (a row just read).
    pub fn shows(&self, project: &Project) -> bool {
        self.project == *project
    }

    pub fn id(&self) -> &str {
        &self.project.id
    }

    /// Append the text of `to_project_json(base_url)` to `out`.
    pub fn write_text(&self, base_url: &str, out: &mut Vec<u8>) {
        let Some(open) = &self.open_text else {
            write_ascii(out, &self.project.to_project_json(base_url), Style::Python);
            return;
        };
        out.extend_from_slice(open.as_bytes());
        out.extend_from_slice(b", \"links\": {\"self\": ");
        write_ascii(
            out,
            project_url(base_url, &self.project.id).as_str(),
            Style::Python,
        );
        out.extend_from_slice(b"}}");
    }
}

/// The projects with these ids (as Keystone's `list_projects_from_ids`: a project acting
/// as a domain included), in the order given, from the validation cache; the missing ones
/// are read in one query. Unknown ids are left out.
pub fn listed_projects(
    conn: &mut AnyConnection,
    cache: &ValidationCache,
    ids: &[String],
) -> Result<Vec<Arc<ListedProject>>> {
    cache
        .listed_projects
        .get_many_or_load(cache, ids, |missing| {
            Ok(resource_store::get_projects(conn, missing)?
                .into_iter()
                .map(keyed)
                .collect())
        })
}

/// A project rendered for the cache of listed projects, keyed by its id.
fn keyed(project: Project) -> (String, Arc<ListedProject>) {
    (project.id.clone(), Arc::new(ListedProject::new(project)))
}

/// Rows `/v3/projects` just read, as listed: each one's text from the cache when the cached
/// project is that very row, else rendered now (and kept, unless the cache holds another
/// state of it: a write elsewhere the cache has not noticed yet).
pub fn listed_rows(cache: &ValidationCache, rows: Vec<Project>) -> Result<Vec<Arc<ListedProject>>> {
    let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let cached = cache
        .listed_projects
        .get_many_or_load(cache, &ids, |missing| {
            // only when some are missing: a listing the cache holds whole looks up nothing more
            let by_id: HashMap<&str, &Project> = rows.iter().map(|p| (p.id.as_str(), p)).collect();
            Ok(missing
                .iter()
                .filter_map(|id| by_id.get(id.as_str()))
                .map(|p| keyed((*p).clone()))
                .collect())
        })?;
    Ok(rows
        .into_iter()
        .zip(cached)
        .map(|(row, listed)| {
            if listed.shows(&row) {
                listed
            } else {
                Arc::new(ListedProject::new(row))
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn project(extra: Value) -> Project {
        Project {
            id: "p\u{e9}1".into(),
            name: "n \"quoted\"".into(),
            description: None,
            enabled: true,
            domain_id: Some("d".into()),
            parent_id: Some("d".into()),
            is_domain: false,
            extra: extra.as_object().cloned().unwrap_or_default(),
            tags: vec!["t1".into(), "t2".into()],
            options: json!({"immutable": true}).as_object().cloned().unwrap(),
        }
    }

    #[test]
    fn listed_text_is_the_json_forms_text() {
        for extra in [
            json!({}),
            json!({"colour": "blue", "n": [1, 2]}),
            json!({"links": {"related": "x"}}),
            json!({"links": "not an object"}),
        ] {
            let p = project(extra.clone());
            for base in ["http://k:5000", "https://h/identity\u{7f}\"x"] {
                let expected = to_ascii_string(&p.to_project_json(base), Style::Python);
                let mut text = b"[".to_vec();
                ListedProject::new(p.clone()).write_text(base, &mut text);
                assert_eq!(text[1..], *expected.as_bytes(), "{extra}");
            }
        }
    }
}
