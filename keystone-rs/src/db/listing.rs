//! Keystone's list machinery as the stores read it: the query string as flask's
//! `request.args`, `build_driver_hints` (`keystone/server/flask/common.py`), the
//! `driver_hints.Hints` a list request becomes (filters, `marker`, `limit` with its
//! `truncated` flag, `cannot_match`), the `truncated` driver decorator, `[DEFAULT]
//! max_db_limit` and the per-driver `list_limit`, and how a SQL driver satisfies filters
//! (`keystone/common/sql/core.py` `_filter`/`_limit`: exact matches, `ilike` patterns,
//! `_WontMatch`).
//!
//! One copy for every subsystem: a store imports this room (below every subsystem), the
//! subsystem declares only its columns ([`Column`]) and its own special filters. How the
//! rendered list looks (`wrap_collection`) is in [`super::collection`].
//!
//! Where Keystone crashes, keystone-rs answers 400: a `limit` that is not an integer, and a
//! negative one (Keystone hands it to SQL: SQLite reads `LIMIT -1` as "no limit",
//! PostgreSQL and MySQL refuse it, so Keystone's answer depends on the database).

use crate::config::Config;
use crate::error::{Error, Result};

// ---- the query string -------------------------------------------------------------------

/// The query string as `(key, value)` pairs, in order, repeats kept (werkzeug's MultiDict).
pub fn query_pairs(query_string: &str) -> Vec<(String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query_string)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// `request.args.get(key)`: the first value.
pub fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `request.args.to_dict()`: the first value of each key, in order of first appearance.
pub fn first_values(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        if !out.iter().any(|(seen, _)| seen == k) {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

/// `_extract_filter_values(filters)`: the declared filters present in the query, first
/// value each, for the policy target's `filter_attr`.
pub fn declared_filters(pairs: &[(String, String)], declared: &[&str]) -> Vec<(String, String)> {
    declared
        .iter()
        .filter_map(|name| first(pairs, name).map(|v| (name.to_string(), v.to_string())))
        .collect()
}

/// `query_filter_is_true`: the parameter is present and not `0`.
pub fn query_filter_is_true(pairs: &[(String, String)], name: &str) -> bool {
    first(pairs, name).is_some_and(|v| v != "0")
}

// ---- configuration ----------------------------------------------------------------------

/// `[DEFAULT] max_db_limit`'s default.
const DEFAULT_MAX_DB_LIMIT: i64 = 1000;

/// `[DEFAULT] max_db_limit`: no page is larger. oslo.config's IntOpt strips the text
/// (`int(' 5 ')` is 5).
pub fn max_db_limit(config: &Config) -> i64 {
    config
        .get("DEFAULT", "max_db_limit")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_DB_LIMIT)
}

/// A driver's `_get_list_limit()`: `CONF.<section>.list_limit or CONF.list_limit`, so an
/// unset or zero value falls through to `[DEFAULT]`, and zero there means no limit. A
/// negative value (which Keystone would hand to SQL) counts as unset.
pub fn list_limit(config: &Config, section: &str) -> Option<i64> {
    let read = |section: &str| -> Option<i64> {
        let typed = |n: Option<usize>| n.and_then(|n| i64::try_from(n).ok());
        match section {
            "DEFAULT" => typed(config.default.list_limit),
            "identity" => typed(config.identity.list_limit),
            "resource" => typed(config.resource.list_limit),
            other => config
                .get(other, "list_limit")
                .and_then(|v| v.trim().parse().ok()),
        }
        .filter(|n| *n > 0)
    };
    read(section).or_else(|| read("DEFAULT"))
}

// ---- booleans ---------------------------------------------------------------------------

/// oslo's `bool_from_string(value, default=default)`: the true and false strings, else
/// `default`.
fn bool_from_string_or(value: &str, default: bool) -> bool {
    match value.trim().to_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => true,
        "0" | "f" | "false" | "off" | "n" | "no" => false,
        _ => default,
    }
}

/// oslo's `bool_from_string(value)` (default False): how a boolean string is stored.
pub fn bool_from_string(value: &str) -> bool {
    bool_from_string_or(value, false)
}

/// Keystone's `utils.attr_as_boolean` (`bool_from_string(value, default=True)`): a boolean
/// filter value; only the false strings are false.
pub fn attr_as_boolean(value: &str) -> bool {
    bool_from_string_or(value, true)
}

// ---- hints ------------------------------------------------------------------------------

/// The operators `_translate_expired_password_hints` puts in a filter's comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
    Eq,
    Neq,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparator {
    /// A plain `name=value`, or `name__equals` / `name__iequals`.
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    /// A suffix Keystone does not know: SQL leaves it, and in memory it matches every
    /// entity that has the attribute.
    Other(String),
    /// An ordering comparison (`password_expires_at=lt:…` once identity translated it).
    Compare(CmpOp),
}

impl Comparator {
    fn parse(name: &str) -> Comparator {
        match name {
            "equals" => Comparator::Equals,
            "contains" => Comparator::Contains,
            "startswith" => Comparator::StartsWith,
            "endswith" => Comparator::EndsWith,
            other => Comparator::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub name: String,
    pub value: String,
    pub comparator: Comparator,
    pub case_sensitive: bool,
}

/// `hints.limit`: the page size, and whether the driver already cut the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub limit: i64,
    pub truncated: bool,
}

/// Keystone's `driver_hints.Hints`. A driver removes the filters it satisfies; the rest
/// are applied to the rendered entities ([`super::collection::filter_refs`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hints {
    pub filters: Vec<Filter>,
    pub marker: Option<String>,
    pub limit: Option<Limit>,
    /// A filter can never match (longer than its column): the query is skipped.
    pub cannot_match: bool,
}

/// Python's `int(text)` of the `limit` parameter: surrounding whitespace, a sign, `_`
/// between digits; a value beyond `i64` saturates (Python's int is unbounded and is capped
/// at `max_db_limit` anyway). Not an integer, or negative: 400 (Keystone: 500, or whatever
/// its database makes of a negative `LIMIT`).
pub fn parse_limit(text: &str) -> Result<i64> {
    let invalid = || Error::bad_request(format!("Invalid limit value: {text}"));
    let trimmed = text.trim();
    let (negative, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let well_formed = !unsigned.is_empty()
        && !unsigned.starts_with('_')
        && !unsigned.ends_with('_')
        && !unsigned.contains("__")
        && unsigned.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(invalid());
    }
    let digits = unsigned.replace('_', "");
    if digits.bytes().all(|b| b == b'0') {
        return Ok(0);
    }
    if negative {
        return Err(invalid());
    }
    Ok(digits.parse().unwrap_or(i64::MAX))
}

impl Hints {
    /// `build_driver_hints(supported_filters, default_limit)`: supported keys become exact
    /// filters, `<key>__<comparator>` inexact ones (an `i` prefix: case-insensitive); then
    /// the marker, and the page size: the `limit` parameter (an empty one sets none), else
    /// `default_limit`, at most `max_db_limit`. No query string at all: empty hints.
    pub fn from_query(
        pairs: &[(String, String)],
        supported: &[&str],
        default_limit: Option<i64>,
        config: &Config,
    ) -> Result<Hints> {
        let mut hints = Hints::default();
        if pairs.is_empty() {
            return Ok(hints);
        }
        for (key, value) in pairs {
            if supported.contains(&key.as_str()) {
                hints.add_filter(key, value);
                continue;
            }
            for valid in supported {
                if !key.starts_with(&format!("{valid}__")) {
                    continue;
                }
                let Some((base, comparator)) = key.split_once("__") else {
                    continue;
                };
                let (comparator, case_sensitive) = match comparator.strip_prefix('i') {
                    Some(rest) => (rest, false),
                    None => (comparator, true),
                };
                hints.filters.push(Filter {
                    name: base.to_string(),
                    value: value.clone(),
                    comparator: Comparator::parse(comparator),
                    case_sensitive,
                });
            }
        }
        hints.marker = first(pairs, "marker")
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        let limit = match first(pairs, "limit") {
            Some(text) if text.is_empty() => None,
            Some(text) => Some(parse_limit(text)?),
            None => default_limit.filter(|l| *l != 0),
        };
        if let Some(limit) = limit {
            hints.set_limit(limit.min(max_db_limit(config)), false);
        }
        Ok(hints)
    }

    /// `add_filter(name, value)`: an exact, case-insensitive filter.
    pub fn add_filter(&mut self, name: &str, value: &str) {
        self.filters.push(Filter {
            name: name.to_string(),
            value: value.to_string(),
            comparator: Comparator::Equals,
            case_sensitive: false,
        });
    }

    /// `get_exact_filter_by_name`.
    pub fn exact(&self, name: &str) -> Option<&Filter> {
        self.filters
            .iter()
            .find(|f| f.name == name && f.comparator == Comparator::Equals)
    }

    pub fn set_limit(&mut self, limit: i64, truncated: bool) {
        self.limit = Some(Limit { limit, truncated });
    }

    /// The manager's `response_truncated`: the driver's list limit when the request set
    /// no page size.
    pub fn set_default_limit(&mut self, list_limit: Option<i64>) {
        if let (None, Some(limit)) = (self.limit, list_limit) {
            self.set_limit(limit, false);
        }
    }

    /// `get_limit_or_max()`: the page a paginating SQL driver fetches (a zero limit
    /// fetches the maximum page).
    pub fn limit_or_max(&self, max_db_limit: i64) -> i64 {
        match self.limit {
            Some(l) if l.limit != 0 => l.limit,
            _ => max_db_limit,
        }
    }

    /// The `truncated` driver decorator: with a limit and no filters, ask the driver for
    /// one row more, then cut back to the limit and say whether that cut anything.
    pub fn truncated<T>(
        &mut self,
        driver: impl FnOnce(&mut Hints) -> Result<Vec<T>>,
    ) -> Result<Vec<T>> {
        let Some(l) = self.limit.filter(|_| self.filters.is_empty()) else {
            return driver(self);
        };
        self.set_limit(l.limit.saturating_add(1), false);
        let mut rows = driver(self)?;
        let cut = rows.len() > Self::len(l.limit);
        rows.truncate(Self::len(l.limit));
        self.set_limit(l.limit, cut);
        Ok(rows)
    }

    /// A paginating driver's guess (`if len(data) >= hints.limit['limit']`): a full page
    /// counts as truncated.
    pub fn assume_truncated(&mut self, rows: usize) {
        if let Some(l) = &mut self.limit {
            if rows >= Self::len(l.limit) {
                l.truncated = true;
            }
        }
    }

    /// `filter_limit_query`'s `_limit`: when SQL satisfied every filter, the rows to fetch
    /// (one more than the limit, so that [`Hints::cut_fetched`] knows whether more match).
    pub fn fetch_one_more(&self) -> Option<i64> {
        self.limit
            .filter(|_| self.filters.is_empty())
            .map(|l| l.limit.saturating_add(1))
    }

    /// After a [`Hints::fetch_one_more`] query: cut to the limit, marking the list
    /// truncated when that cut anything.
    pub fn cut_fetched<T>(&mut self, rows: &mut Vec<T>) {
        if self.fetch_one_more().is_none() {
            return;
        }
        if let Some(l) = &mut self.limit {
            if rows.len() > Self::len(l.limit) {
                rows.truncate(Self::len(l.limit));
                l.truncated = true;
            }
        }
    }

    fn len(limit: i64) -> usize {
        usize::try_from(limit).unwrap_or(0)
    }

    /// `sql._filter`: take out the filters SQL can satisfy on `columns` (exact matches on
    /// any of them, case-insensitive `contains`/`startswith`/`endswith` on text ones) and
    /// say what the query must do. A value longer than its column sets `cannot_match`
    /// (`_WontMatch`).
    pub fn sql_filters<C: Copy>(&mut self, columns: &[Column<C>]) -> SqlFilters<C> {
        let mut sql = SqlFilters::default();
        let mut remaining = Vec::new();
        for f in std::mem::take(&mut self.filters) {
            let Some(column) = columns.iter().find(|c| c.name == f.name) else {
                remaining.push(f);
                continue;
            };
            let too_long = match column.kind {
                ColumnKind::Text(Some(max)) => f.value.chars().count() > max,
                _ => false,
            };
            match (&f.comparator, column.kind) {
                (Comparator::Equals, ColumnKind::Bool) => {
                    sql.bools.push((column.key, attr_as_boolean(&f.value)))
                }
                (Comparator::Equals, ColumnKind::Text(_)) => {
                    sql.cannot_match |= too_long;
                    sql.equals.push((column.key, f.value));
                }
                (comparator, ColumnKind::Text(_)) if !f.case_sensitive => {
                    match like_pattern(comparator, &f.value) {
                        Some(pattern) => {
                            sql.cannot_match |= too_long;
                            sql.like.push((column.key, pattern));
                        }
                        None => remaining.push(f),
                    }
                }
                _ => remaining.push(f),
            }
        }
        self.filters = remaining;
        self.cannot_match |= sql.cannot_match;
        sql
    }
}

// ---- SQL --------------------------------------------------------------------------------

/// What a column holds, for [`Hints::sql_filters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A string column of this many characters at most (`None`: unbounded text).
    Text(Option<usize>),
    /// Compared with [`attr_as_boolean`] of the filter value; never a `LIKE`.
    Bool,
}

/// A model attribute SQL can filter on: its name in the hints and the store's handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<C> {
    pub name: &'static str,
    pub key: C,
    pub kind: ColumnKind,
}

impl<C> Column<C> {
    pub const fn text(name: &'static str, key: C, max_len: usize) -> Column<C> {
        Column {
            name,
            key,
            kind: ColumnKind::Text(Some(max_len)),
        }
    }

    pub const fn unbounded(name: &'static str, key: C) -> Column<C> {
        Column {
            name,
            key,
            kind: ColumnKind::Text(None),
        }
    }

    pub const fn boolean(name: &'static str, key: C) -> Column<C> {
        Column {
            name,
            key,
            kind: ColumnKind::Bool,
        }
    }
}

/// The filters a store applies to its query.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFilters<C> {
    pub equals: Vec<(C, String)>,
    pub bools: Vec<(C, bool)>,
    /// `lower(column) LIKE lower(pattern)`: SQLAlchemy's `ilike` ([`like_pattern`]).
    pub like: Vec<(C, String)>,
    /// The query can match nothing: skip it.
    pub cannot_match: bool,
}

impl<C> Default for SqlFilters<C> {
    fn default() -> Self {
        SqlFilters {
            equals: Vec::new(),
            bools: Vec::new(),
            like: Vec::new(),
            cannot_match: false,
        }
    }
}

impl<C: PartialEq + Copy> SqlFilters<C> {
    /// The values the exact filters on `key` ask for (usually zero or one).
    pub fn equals_on(&self, key: C) -> impl Iterator<Item = String> + '_ {
        self.equals
            .iter()
            .filter(move |(c, _)| *c == key)
            .map(|(_, v)| v.clone())
    }

    /// The `LIKE` patterns on `key`.
    pub fn like_on(&self, key: C) -> impl Iterator<Item = String> + '_ {
        self.like
            .iter()
            .filter(move |(c, _)| *c == key)
            .map(|(_, v)| v.clone())
    }
}

/// The pattern of Keystone's `column.ilike('%{}%'.format(value))` (and `{}%`, `%{}`): the
/// value goes in as written, so its `%` and `_` are wildcards there too, and the store
/// compares `lower(column) LIKE lower(pattern)` as SQLAlchemy's `ilike` does outside
/// PostgreSQL. `None` for a comparator SQL does not satisfy.
pub fn like_pattern(comparator: &Comparator, value: &str) -> Option<String> {
    match comparator {
        Comparator::Contains => Some(format!("%{value}%")),
        Comparator::StartsWith => Some(format!("{value}%")),
        Comparator::EndsWith => Some(format!("%{value}")),
        _ => None,
    }
}

diesel::define_sql_function! {
    /// SQL `lower()`, for SQLAlchemy's `ilike` on every backend.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// SQL `lower()` of a nullable column.
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(q: &str, supported: &[&str]) -> Result<Hints> {
        Hints::from_query(&query_pairs(q), supported, None, &Config::default())
    }

    #[test]
    fn builds_hints_like_keystone() {
        let h = hints(
            "type=a&name__icontains=B&type__x=1&other=2&name__equals=e&limit=5000&marker=m",
            &["type", "name"],
        )
        .unwrap();
        let kinds: Vec<(&str, &Comparator, bool)> = h
            .filters
            .iter()
            .map(|f| (f.name.as_str(), &f.comparator, f.case_sensitive))
            .collect();
        assert_eq!(
            kinds,
            [
                ("type", &Comparator::Equals, false),
                ("name", &Comparator::Contains, false),
                ("type", &Comparator::Other("x".into()), true),
                ("name", &Comparator::Equals, true),
            ]
        );
        assert_eq!(h.limit.map(|l| l.limit), Some(1000));
        assert_eq!(h.marker.as_deref(), Some("m"));
        assert_eq!(hints("limit=", &[]).unwrap().limit, None);
    }

    #[test]
    fn limit_is_python_int() {
        let limit = |q: &str| hints(q, &[]).map(|h| h.limit.map(|l| l.limit));
        assert_eq!(limit("limit=%205%20").unwrap(), Some(5));
        assert_eq!(limit("limit=%2B1_0").unwrap(), Some(10));
        assert_eq!(limit("limit=-0").unwrap(), Some(0));
        assert_eq!(limit("limit=99999999999999999999999").unwrap(), Some(1000));
        for bad in ["abc", "-1", "1__0", "_1", "1_", "++1", "1.5"] {
            let e = limit(&format!("limit={}", bad.replace('+', "%2B"))).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
            assert_eq!(e.message, format!("Invalid limit value: {bad}"));
        }
    }

    #[test]
    fn default_and_list_limits() {
        let c = Config::default();
        let with_default = |q: &str| {
            Hints::from_query(&query_pairs(q), &[], Some(3), &c)
                .unwrap()
                .limit
                .map(|l| l.limit)
        };
        assert_eq!(with_default("x=1"), Some(3));
        // `args.get("limit", default)` is the empty string: no limit from the builder.
        assert_eq!(with_default("limit="), None);
        // No query string at all: `build_driver_hints` returns before reading the default.
        assert_eq!(with_default(""), None);
        let c = Config::parse(
            "[DEFAULT]\nlist_limit = 4\nmax_db_limit = 7\n[catalog]\nlist_limit = 0\n[role]\nlist_limit = 2\n",
            None,
        )
        .unwrap();
        assert_eq!(list_limit(&c, "catalog"), Some(4));
        assert_eq!(list_limit(&c, "role"), Some(2));
        assert_eq!(list_limit(&Config::default(), "identity"), None);
        assert_eq!(max_db_limit(&c), 7);
        let mut h = Hints::default();
        h.set_default_limit(Some(9));
        assert_eq!(h.limit.map(|l| l.limit), Some(9));
        h.set_default_limit(Some(1));
        assert_eq!(h.limit.map(|l| l.limit), Some(9));
    }

    #[test]
    fn truncation_like_the_drivers() {
        let mut h = hints("limit=2", &[]).unwrap();
        let rows = h
            .truncated(|h| {
                assert_eq!(h.limit.map(|l| l.limit), Some(3));
                Ok(vec![1, 2, 3])
            })
            .unwrap();
        assert_eq!(rows, [1, 2]);
        assert_eq!(
            h.limit,
            Some(Limit {
                limit: 2,
                truncated: true
            })
        );
        let mut h = hints("limit=2&name=x", &["name"]).unwrap();
        h.truncated(|h| {
            assert_eq!(h.limit_or_max(1000), 2);
            h.assume_truncated(2);
            Ok(vec![1, 2])
        })
        .unwrap();
        assert!(h.limit.is_some_and(|l| l.truncated));
        let h = hints("limit=0", &[]).unwrap();
        assert_eq!(h.limit_or_max(1000), 1000);

        let mut h = hints("limit=1", &[]).unwrap();
        assert_eq!(h.fetch_one_more(), Some(2));
        let mut rows = vec!["a", "b"];
        h.cut_fetched(&mut rows);
        assert_eq!((rows.len(), h.limit.unwrap().truncated), (1, true));
    }

    #[test]
    fn sql_takes_what_it_can() {
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum Col {
            Name,
            Enabled,
        }
        let columns = [
            Column::text("name", Col::Name, 4),
            Column::boolean("enabled", Col::Enabled),
        ];
        let mut h = hints(
            "name__icontains=5%25_&enabled=0&name__contains=X&name__bogus=1&extra=1&limit=1",
            &["name", "enabled", "extra"],
        )
        .unwrap();
        let sql = h.sql_filters(&columns);
        assert_eq!(sql.like, vec![(Col::Name, "%5%_%".to_string())]);
        assert_eq!(sql.bools, vec![(Col::Enabled, false)]);
        assert_eq!(
            h.filters.len(),
            3,
            "case-sensitive, unknown and unmapped stay"
        );
        assert_eq!(h.fetch_one_more(), None, "filters left: no SQL limit");
        assert!(!h.cannot_match);
        let mut h = hints("name=abcde", &["name"]).unwrap();
        assert!(h.sql_filters(&columns).cannot_match && h.cannot_match);
    }

    #[test]
    fn query_helpers() {
        let p = query_pairs("a=1&b=2&a=3&flag=0&on");
        assert_eq!(first_values(&p)[0], ("a".to_string(), "1".to_string()));
        assert_eq!(
            declared_filters(&p, &["b", "zz", "a"]),
            [("b".into(), "2".into()), ("a".into(), "1".into())]
        );
        assert!(!query_filter_is_true(&p, "flag"));
        assert!(query_filter_is_true(&p, "on"));
        assert!(!attr_as_boolean(" No "));
        assert!(attr_as_boolean("maybe"));
        assert!(!bool_from_string("maybe"));
    }
}
