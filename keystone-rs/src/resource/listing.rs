//! How Keystone lists projects and domains, beyond the shared machinery
//! (`db::listing`, `db::collection`): the project columns the resource driver filters on,
//! and the tag filters (`tags`, `tags-any`, `not-tags`, `not-tags-any`).
//!
//! Keystone's resource driver pages with `paginate_query`: rows ordered by `id`, after the
//! marker, at most `limit` (or `[DEFAULT] max_db_limit` when none) of them, and it assumes
//! the list was truncated whenever a limit is set and that many rows came back
//! (`Hints::assume_truncated`).

use crate::db::listing::{Column as SqlColumn, first};
use crate::error::Result;
use std::collections::BTreeSet;

/// The project columns SQL filters on (Keystone's `Project.attributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    Name,
    DomainId,
    Description,
    ParentId,
    Enabled,
    IsDomain,
}

/// With their lengths (`_WontMatch`: a longer value cannot match); `description` is
/// unbounded text, the flags booleans.
pub const COLUMNS: &[SqlColumn<Column>] = &[
    SqlColumn::text("id", Column::Id, 64),
    SqlColumn::text("name", Column::Name, 64),
    SqlColumn::text("domain_id", Column::DomainId, 64),
    SqlColumn::unbounded("description", Column::Description),
    SqlColumn::text("parent_id", Column::ParentId, 64),
    SqlColumn::boolean("enabled", Column::Enabled),
    SqlColumn::boolean("is_domain", Column::IsDomain),
];

/// The four tag filters, first value each, split at commas.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagFilters {
    pub tags: Option<Vec<String>>,
    pub tags_any: Option<Vec<String>>,
    pub not_tags: Option<Vec<String>>,
    pub not_tags_any: Option<Vec<String>>,
}

impl TagFilters {
    pub fn from_query(pairs: &[(String, String)]) -> TagFilters {
        let split =
            |name: &str| first(pairs, name).map(|v| v.split(',').map(str::to_string).collect());
        TagFilters {
            tags: split("tags"),
            tags_any: split("tags-any"),
            not_tags: split("not-tags"),
            not_tags_any: split("not-tags-any"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_none()
            && self.tags_any.is_none()
            && self.not_tags.is_none()
            && self.not_tags_any.is_none()
    }
}

/// Which project ids the tag filters let through.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Only(BTreeSet<String>),
    AllExcept(BTreeSet<String>),
}

impl Selection {
    pub fn admits(&self, id: &str) -> bool {
        match self {
            Selection::Only(ids) => ids.contains(id),
            Selection::AllExcept(ids) => !ids.contains(id),
        }
    }
}

/// Which projects a tag lookup wants: those carrying all, or any, of the tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMatch {
    All,
    Any,
}

/// Keystone's `list_projects_by_tags`, step by step, with "every project" kept symbolic so
/// no unbounded id list is loaded. `lookup(All | Any, tags)` gives the ids of the projects
/// carrying all / any of the tags.
///
/// Keystone's quirks are kept: an empty intermediate result counts as "no restriction yet"
/// for `not-tags`, and `not-tags` with `not-tags-any` adds the second blacklist's projects
/// instead of removing them.
pub fn select_by_tags(
    filters: &TagFilters,
    mut lookup: impl FnMut(TagMatch, &[String]) -> Result<BTreeSet<String>>,
) -> Result<Selection> {
    let mut selected = Selection::Only(BTreeSet::new());
    if let Some(tags) = &filters.tags {
        selected = Selection::Only(lookup(TagMatch::All, tags)?);
    }
    if let Some(tags) = &filters.tags_any {
        let mut any = lookup(TagMatch::Any, tags)?;
        if filters.tags.is_some() {
            if let Selection::Only(ids) = &selected {
                any = any.intersection(ids).cloned().collect();
            }
        }
        selected = Selection::Only(any);
    }
    let exclude = |selected: Selection, blacklist: BTreeSet<String>| match selected {
        Selection::Only(ids) if ids.is_empty() => Selection::AllExcept(blacklist),
        Selection::Only(ids) => Selection::Only(ids.difference(&blacklist).cloned().collect()),
        Selection::AllExcept(mut ids) => {
            ids.extend(blacklist);
            Selection::AllExcept(ids)
        }
    };
    if let Some(tags) = &filters.not_tags {
        selected = exclude(selected, lookup(TagMatch::All, tags)?);
    }
    if let Some(tags) = &filters.not_tags_any {
        let blacklist = lookup(TagMatch::Any, tags)?;
        selected = if filters.not_tags.is_some() {
            match selected {
                Selection::Only(mut ids) => {
                    ids.extend(blacklist);
                    Selection::Only(ids)
                }
                Selection::AllExcept(ids) => {
                    Selection::AllExcept(ids.difference(&blacklist).cloned().collect())
                }
            }
        } else {
            exclude(selected, blacklist)
        };
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::db::listing::{Hints, query_pairs};

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn project_columns() {
        let c = Config::default();
        let hints = |q: &str| {
            Hints::from_query(
                &query_pairs(q),
                &["name", "enabled", "description"],
                None,
                &c,
            )
            .unwrap()
        };
        let mut h =
            hints("name__icontains=A&name__startswith=b&enabled=0&description__iendswith=d");
        let sql = h.sql_filters(COLUMNS);
        assert_eq!(
            sql.like,
            [
                (Column::Name, "%A%".to_string()),
                (Column::Description, "%d".to_string())
            ]
        );
        assert_eq!(sql.bools, [(Column::Enabled, false)]);
        assert_eq!(
            h.filters.len(),
            1,
            "case-sensitive filters stay for the API layer"
        );
        let mut h = hints(&format!("name={}", "x".repeat(65)));
        assert!(h.sql_filters(COLUMNS).cannot_match);
        let mut h = hints(&format!("description={}", "x".repeat(65)));
        assert!(!h.sql_filters(COLUMNS).cannot_match);
    }

    #[test]
    fn tag_selection_follows_keystone() {
        // p1 has a and b, p2 has a, p3 has c.
        let lookup = |m: TagMatch, t: &[String]| -> Result<BTreeSet<String>> {
            let has = |p: &str, tag: &String| match p {
                "p1" => tag == "a" || tag == "b",
                "p2" => tag == "a",
                _ => tag == "c",
            };
            Ok(["p1", "p2", "p3"]
                .into_iter()
                .filter(|p| match m {
                    TagMatch::All => t.iter().all(|tag| has(p, tag)),
                    TagMatch::Any => t.iter().any(|tag| has(p, tag)),
                })
                .map(str::to_string)
                .collect())
        };
        let f = |q: &str| TagFilters::from_query(&query_pairs(q));
        assert_eq!(
            select_by_tags(&f("tags=a,b"), lookup).unwrap(),
            Selection::Only(set(&["p1"]))
        );
        assert_eq!(
            select_by_tags(&f("not-tags=a"), lookup).unwrap(),
            Selection::AllExcept(set(&["p1", "p2"]))
        );
        // `tags` matched nothing: `not-tags` then starts from every project, as in Keystone.
        assert_eq!(
            select_by_tags(&f("tags=zz&not-tags=a"), lookup).unwrap(),
            Selection::AllExcept(set(&["p1", "p2"]))
        );
        assert_eq!(
            select_by_tags(&f("tags=a&not-tags=a,b"), lookup).unwrap(),
            Selection::Only(set(&["p2"]))
        );
        assert_eq!(
            select_by_tags(&f("not-tags=a&not-tags-any=c"), lookup).unwrap(),
            Selection::AllExcept(set(&["p1", "p2"]))
        );
        assert_eq!(
            select_by_tags(&f("not-tags-any=a"), lookup).unwrap(),
            Selection::AllExcept(set(&["p1", "p2"]))
        );
        assert_eq!(
            select_by_tags(&f("tags-any=a&tags=a,b"), lookup).unwrap(),
            Selection::Only(set(&["p1"]))
        );
    }
}
