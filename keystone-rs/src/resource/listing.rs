//! How Keystone lists projects and domains: driver hints from the query string, the SQL the
//! resource driver runs (filters it can satisfy, `id` order, marker, page size), the tag
//! filters, the filters left for the API layer, and the collection's `links`/`truncated`.
//!
//! Keystone's resource driver pages with `paginate_query`: rows ordered by `id`, after the
//! marker, at most `limit` (or `[DEFAULT] max_db_limit` when none) of them, and it assumes
//! the list was truncated whenever a limit is set and that many rows came back.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::policy::python::py_str;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    /// A suffix Keystone does not know: kept, and matches any row having the attribute.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub name: String,
    pub value: String,
    pub comparator: Comparator,
    pub case_sensitive: bool,
}

/// The project columns SQL filters on, with their lengths (`_WontMatch`: a longer value
/// cannot match). `None` for unbounded text; booleans are compared as booleans.
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

impl Column {
    pub fn parse(name: &str) -> Option<Column> {
        Some(match name {
            "id" => Column::Id,
            "name" => Column::Name,
            "domain_id" => Column::DomainId,
            "description" => Column::Description,
            "parent_id" => Column::ParentId,
            "enabled" => Column::Enabled,
            "is_domain" => Column::IsDomain,
            _ => return None,
        })
    }

    fn max_len(self) -> Option<usize> {
        match self {
            Column::Description | Column::Enabled | Column::IsDomain => None,
            _ => Some(64),
        }
    }

    pub fn is_bool(self) -> bool {
        matches!(self, Column::Enabled | Column::IsDomain)
    }
}

/// What the driver's query does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlQuery {
    pub equals: Vec<(Column, String)>,
    pub bools: Vec<(Column, bool)>,
    /// Case-insensitive LIKE patterns (`%v%`, `v%`, `%v`), as SQLAlchemy's `ilike`, with
    /// the value's own `%` and `_` escaped by [`LIKE_ESCAPE`].
    pub ilike: Vec<(Column, String)>,
    pub marker: Option<String>,
    /// Rows to fetch at most.
    pub fetch: i64,
    /// A filter value longer than its column: the query cannot match anything.
    pub cannot_match: bool,
}

/// The LIKE escape character: one no backend treats specially in a string literal.
pub const LIKE_ESCAPE: char = '!';

/// A filter value matched literally inside a LIKE pattern. Keystone passes it unescaped,
/// so `%` and `_` act as wildcards there; we match what the client wrote (as the catalog
/// filters do).
fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == LIKE_ESCAPE || c == '%' || c == '_' {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
    out
}

/// oslo's `bool_from_string(value, default=True)`: only the false strings are false.
pub fn attr_as_boolean(value: &str) -> bool {
    !matches!(
        value.trim().to_lowercase().as_str(),
        "0" | "f" | "false" | "off" | "n" | "no"
    )
}

/// The query string as `(key, value)` pairs, in order, repeats kept (werkzeug's MultiDict).
pub fn query_pairs(query_string: &str) -> Vec<(String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query_string)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

pub fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `[DEFAULT] max_db_limit` (Keystone's default 1000).
fn max_db_limit(config: &Config) -> i64 {
    config
        .get("DEFAULT", "max_db_limit")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1000)
}

/// `[resource] list_limit or [DEFAULT] list_limit` (zero counts as unset, as in Python).
pub fn resource_list_limit(config: &Config) -> Option<i64> {
    config
        .resource
        .list_limit
        .filter(|n| *n != 0)
        .or(config.default.list_limit.filter(|n| *n != 0))
        .and_then(|n| i64::try_from(n).ok())
}

/// Python's `int(text)` (surrounding whitespace, a sign, `_` between digits). Keystone
/// answers 500 to anything else; we refuse it as bad input.
fn parse_limit(text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let unsigned = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let well_formed = !unsigned.is_empty()
        && !unsigned.starts_with('_')
        && !unsigned.ends_with('_')
        && !unsigned.contains("__")
        && unsigned.chars().all(|c| c.is_ascii_digit() || c == '_');
    well_formed
        .then(|| trimmed.replace('_', "").parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| Error::bad_request(format!("Invalid limit value: {text}")))
}

/// A list request: Keystone's driver hints plus the tag filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hints {
    pub filters: Vec<Filter>,
    pub marker: Option<String>,
    pub limit: Option<i64>,
}

impl Hints {
    /// `build_driver_hints(supported, default_limit)`: exact filters for the supported
    /// names, `name__icontains`-style inexact ones, the marker, and the page size (the
    /// `limit` parameter, else the configured list limit, capped at `max_db_limit`).
    pub fn from_query(
        pairs: &[(String, String)],
        supported: &[&str],
        default_limit: Option<i64>,
        config: &Config,
    ) -> Result<Hints> {
        let mut hints = Hints::default();
        for (key, value) in pairs {
            if supported.contains(&key.as_str()) {
                hints.filters.push(Filter {
                    name: key.clone(),
                    value: value.clone(),
                    comparator: Comparator::Equals,
                    case_sensitive: false,
                });
                continue;
            }
            for valid in supported {
                let Some(suffix) = key.strip_prefix(&format!("{valid}__")) else {
                    continue;
                };
                let (comparator, case_sensitive) = match suffix.strip_prefix('i') {
                    Some(rest) => (rest, false),
                    None => (suffix, true),
                };
                hints.filters.push(Filter {
                    name: valid.to_string(),
                    value: value.clone(),
                    comparator: match comparator {
                        "equals" => Comparator::Equals,
                        "contains" => Comparator::Contains,
                        "startswith" => Comparator::StartsWith,
                        "endswith" => Comparator::EndsWith,
                        _ => Comparator::Other,
                    },
                    case_sensitive,
                });
            }
        }
        hints.marker = first(pairs, "marker")
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        // An empty `limit=` counts as absent; the list limit then applies.
        hints.limit = match first(pairs, "limit").filter(|l| !l.is_empty()) {
            Some(text) => Some(parse_limit(text)?),
            None => default_limit,
        }
        .map(|l| l.min(max_db_limit(config)));
        Ok(hints)
    }

    pub fn add_filter(&mut self, name: &str, value: &str) {
        self.filters.push(Filter {
            name: name.to_string(),
            value: value.to_string(),
            comparator: Comparator::Equals,
            case_sensitive: false,
        });
    }

    /// Keystone's `sql.filter_query` and `paginate_query`: the filters SQL satisfies, and
    /// the ones left for [`filter_refs`].
    pub fn plan(&self, config: &Config) -> (SqlQuery, Vec<Filter>) {
        let mut sql = SqlQuery {
            marker: self.marker.clone(),
            // `get_limit_or_max`: a zero limit fetches the maximum page.
            fetch: match self.limit {
                Some(l) if l > 0 => l,
                _ => max_db_limit(config),
            },
            ..SqlQuery::default()
        };
        let mut remaining = Vec::new();
        for f in &self.filters {
            let Some(column) = Column::parse(&f.name) else {
                remaining.push(f.clone());
                continue;
            };
            let too_long = column
                .max_len()
                .is_some_and(|max| f.value.chars().count() > max);
            match f.comparator {
                Comparator::Equals if column.is_bool() => {
                    sql.bools.push((column, attr_as_boolean(&f.value)))
                }
                Comparator::Equals => {
                    sql.cannot_match |= too_long;
                    sql.equals.push((column, f.value.clone()));
                }
                Comparator::Contains | Comparator::StartsWith | Comparator::EndsWith
                    if !f.case_sensitive && !column.is_bool() =>
                {
                    sql.cannot_match |= too_long;
                    let value = escape_like(&f.value);
                    let pattern = match f.comparator {
                        Comparator::Contains => format!("%{value}%"),
                        Comparator::StartsWith => format!("{value}%"),
                        _ => format!("%{value}"),
                    };
                    sql.ilike.push((column, pattern));
                }
                _ => remaining.push(f.clone()),
            }
        }
        (sql, remaining)
    }

    /// The driver's truncation guess: a limit was set and a full page came back.
    pub fn driver_truncated(&self, rows: usize) -> bool {
        self.limit
            .is_some_and(|l| i64::try_from(rows).unwrap_or(i64::MAX) >= l)
    }
}

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

/// `filter_by_attributes`: the filters SQL left, on the API dicts.
pub fn filter_refs(refs: Vec<Map<String, Value>>, filters: &[Filter]) -> Vec<Map<String, Value>> {
    refs.into_iter()
        .filter(|r| filters.iter().all(|f| matches_filter(r, f)))
        .collect()
}

fn matches_filter(r: &Map<String, Value>, f: &Filter) -> bool {
    let target = r.get(&f.name);
    if f.comparator == Comparator::Equals {
        return match target {
            Some(Value::Bool(b)) => *b == attr_as_boolean(&f.value),
            Some(Value::String(s)) => *s == f.value,
            _ => false,
        };
    }
    let Some(target) = target else {
        return false;
    };
    if f.comparator == Comparator::Other {
        return true;
    }
    // Keystone only supports inexact filters on strings (and fails on anything else).
    let Some(target) = target.as_str() else {
        return false;
    };
    let (value, target) = if f.case_sensitive {
        (f.value.clone(), target.to_string())
    } else {
        (f.value.to_lowercase(), target.to_lowercase())
    };
    match f.comparator {
        Comparator::Contains => target.contains(&value),
        Comparator::StartsWith => target.starts_with(&value),
        Comparator::EndsWith => target.ends_with(&value),
        Comparator::Equals | Comparator::Other => true,
    }
}

/// `wrap_collection`'s `limit()`: whether the list counts as truncated, cutting it to the
/// page size when the driver did not.
pub fn limit_refs<T>(refs: &mut Vec<T>, hints: &Hints, driver_truncated: bool) -> bool {
    let Some(limit) = hints.limit else {
        return false;
    };
    if driver_truncated {
        return true;
    }
    let limit = usize::try_from(limit).unwrap_or(0);
    if refs.len() > limit {
        refs.truncate(limit);
        return true;
    }
    false
}

/// What Python's `urllib.parse.quote_plus` leaves alone (space becomes `+` separately).
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

fn quote_plus(text: &str) -> String {
    text.split(' ')
        .map(|part| utf8_percent_encode(part, QUOTE_PLUS).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// Where a list request came from, for its `self` and `next` links.
#[derive(Debug, Clone, Copy)]
pub struct ListUrl<'a> {
    /// Keystone's base URL, without `/v3`.
    pub base: &'a str,
    /// The collection's path, e.g. `/v3/projects`.
    pub path: &'a str,
    /// The raw query string, as the `self` link repeats it.
    pub query_string: &'a str,
    pub pairs: &'a [(String, String)],
}

/// The collection body: members (with their links), then `links` and, when limited,
/// `truncated`. The `next` link is Keystone's: the request's parameters (first value each)
/// with `marker` set to the last member and `limit` to the page size.
pub fn collection(
    key: &str,
    members: Vec<Value>,
    limited: bool,
    hints: &Hints,
    url: &ListUrl,
) -> Value {
    let ListUrl {
        base,
        path,
        query_string,
        pairs,
    } = *url;
    let self_url = if query_string.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{query_string}")
    };
    let last_id = members.last().and_then(|m| m.get("id")).map(py_str);
    let next = match (
        limited && (hints.limit.is_some() || hints.marker.is_some()),
        last_id,
    ) {
        (true, Some(last_id)) => {
            let mut args: Vec<(String, String)> = Vec::new();
            for (k, v) in pairs {
                if !args.iter().any(|(seen, _)| seen == k) {
                    args.push((k.clone(), v.clone()));
                }
            }
            let mut set = |name: &str, value: String| match args.iter_mut().find(|(k, _)| k == name)
            {
                Some(slot) => slot.1 = value,
                None => args.push((name.to_string(), value)),
            };
            set("marker", last_id);
            if let Some(limit) = hints.limit {
                set("limit", limit.to_string());
            }
            let encoded: Vec<String> = args
                .iter()
                .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
                .collect();
            Value::from(format!("{base}{path}?{}", encoded.join("&")))
        }
        _ => Value::Null,
    };
    let mut body = Map::new();
    body.insert(key.to_string(), Value::Array(members));
    let mut links = Map::new();
    links.insert("next".into(), next);
    links.insert("self".into(), self_url.into());
    links.insert("previous".into(), Value::Null);
    body.insert("links".into(), Value::Object(links));
    if limited {
        body.insert("truncated".into(), true.into());
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hints_like_keystone() {
        let c = Config::default();
        let pairs =
            query_pairs("name__icontains=A&name__startswith=b&enabled=0&limit=5000&marker=m&x=1");
        let h = Hints::from_query(&pairs, &["name", "enabled"], Some(3), &c).unwrap();
        assert_eq!(h.filters.len(), 3);
        assert_eq!(h.limit, Some(1000));
        assert_eq!(h.marker.as_deref(), Some("m"));
        let (sql, remaining) = h.plan(&c);
        assert_eq!(sql.ilike, vec![(Column::Name, "%A%".to_string())]);
        let h =
            Hints::from_query(&query_pairs("name__icontains=5%25_!"), &["name"], None, &c).unwrap();
        assert_eq!(
            h.plan(&c).0.ilike,
            vec![(Column::Name, "%5!%!_!!%".to_string())]
        );
        assert_eq!(sql.bools, vec![(Column::Enabled, false)]);
        assert_eq!(
            remaining.len(),
            1,
            "case-sensitive filters stay for the API layer"
        );
        let h = Hints::from_query(&query_pairs("limit="), &[], Some(3), &c).unwrap();
        assert_eq!(h.limit, Some(3));
        assert!(Hints::from_query(&query_pairs("limit=abc"), &[], None, &c).is_err());
        assert_eq!(
            Hints::from_query(&query_pairs("limit=+1_0"), &[], None, &c)
                .unwrap()
                .limit,
            Some(10)
        );
        let h = Hints::from_query(&query_pairs("limit=0"), &[], None, &c).unwrap();
        assert_eq!(h.plan(&c).0.fetch, 1000);
        assert!(h.driver_truncated(0));
        let h = Hints::from_query(
            &query_pairs(&format!("name={}", "x".repeat(65))),
            &["name"],
            None,
            &c,
        )
        .unwrap();
        assert!(h.plan(&c).0.cannot_match);
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

    #[test]
    fn remaining_filters_and_links() {
        let refs = vec![
            json!({"id": "1", "name": "Alpha"})
                .as_object()
                .cloned()
                .unwrap(),
            json!({"id": "2", "name": "beta"})
                .as_object()
                .cloned()
                .unwrap(),
        ];
        let f = Filter {
            name: "name".into(),
            value: "A".into(),
            comparator: Comparator::StartsWith,
            case_sensitive: true,
        };
        assert_eq!(filter_refs(refs.clone(), &[f]).len(), 1);
        let f = Filter {
            name: "name".into(),
            value: "x".into(),
            comparator: Comparator::Other,
            case_sensitive: true,
        };
        assert_eq!(filter_refs(refs, &[f]).len(), 2);

        let c = Config::default();
        let pairs = query_pairs("limit=2&name=a b");
        let h = Hints::from_query(&pairs, &["name"], None, &c).unwrap();
        let url = ListUrl {
            base: "http://k",
            path: "/v3/projects",
            query_string: "limit=2&name=a+b",
            pairs: &pairs,
        };
        let body = collection("projects", vec![json!({"id": "z/1"})], true, &h, &url);
        assert_eq!(
            body["links"]["next"],
            "http://k/v3/projects?limit=2&name=a+b&marker=z%2F1"
        );
        assert_eq!(body["truncated"], true);
        let mut v = vec![1, 2, 3];
        assert!(limit_refs(&mut v, &h, false));
        assert_eq!(v, vec![1, 2]);
    }
}
