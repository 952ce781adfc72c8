//! Keystone's list machinery for the catalog collections: driver hints from the query
//! string (exact filters, `name__icontains`-style inexact ones, `limit`, `marker`), the
//! per-driver `list_limit`, truncation and the collection's `links`/`truncated` members.
//!
//! Exact filters on real columns run in SQL; when every filter did, the query asks for one
//! row more than the limit to learn whether the list was truncated (Keystone's driver
//! `truncated` decorator). Anything else (inexact filters, attributes kept in `extra`) is
//! applied here after loading, then the limit, as Keystone's `wrap_collection` does.

use crate::config::Config;
use crate::error::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Comparator {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    /// Anything else: Keystone ignores it (matches every row that has the attribute).
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub name: String,
    pub value: String,
    pub comparator: Comparator,
    pub case_sensitive: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hints {
    pub filters: Vec<Filter>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

/// The query string as `(key, value)` pairs, in order, repeats kept (werkzeug's MultiDict).
pub fn query_pairs(query_string: &str) -> Vec<(String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query_string)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// `[DEFAULT] max_db_limit` (Keystone's default 1000): the ceiling of a requested `limit`.
fn max_db_limit(config: &Config) -> i64 {
    config
        .get("DEFAULT", "max_db_limit")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1000)
}

/// `[catalog] list_limit or [DEFAULT] list_limit` (zero means unset, as in Python).
pub fn catalog_list_limit(config: &Config) -> Option<i64> {
    let catalog = config
        .get("catalog", "list_limit")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n != 0);
    catalog.or(config
        .default
        .list_limit
        .map(|n| n as i64)
        .filter(|n| *n != 0))
}

/// Python's `int(text)` for the `limit` parameter. Keystone answers 500 for a non-integer;
/// we refuse it as bad input.
fn parse_limit(text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let parsed = if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        trimmed.parse::<i64>().ok()
    } else {
        None
    };
    parsed.ok_or_else(|| Error::bad_request(format!("Invalid limit value: {text}")))
}

impl Hints {
    /// Keystone's `build_driver_hints(supported_filters)`.
    pub fn from_query(
        pairs: &[(String, String)],
        supported: &[&str],
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
                let comparator = match comparator {
                    "equals" => Comparator::Equals,
                    "contains" => Comparator::Contains,
                    "startswith" => Comparator::StartsWith,
                    "endswith" => Comparator::EndsWith,
                    _ => Comparator::Other,
                };
                hints.filters.push(Filter {
                    name: base.to_string(),
                    value: value.clone(),
                    comparator,
                    case_sensitive,
                });
            }
        }
        let first = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        hints.marker = first("marker")
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        if let Some(limit) = first("limit").filter(|l| !l.is_empty()) {
            hints.limit = Some(parse_limit(limit)?.min(max_db_limit(config)));
        }
        Ok(hints)
    }

    /// Keystone's manager `response_truncated`: the configured page size when the request
    /// set none.
    pub fn with_default_limit(mut self, limit: Option<i64>) -> Hints {
        if self.limit.is_none() {
            self.limit = limit;
        }
        self
    }

    /// Split off the exact filters SQL can satisfy. `columns` are `(name, max length)`.
    pub fn plan(&self, columns: &[(&str, usize)]) -> SqlPlan {
        let mut plan = SqlPlan::default();
        let mut remaining = Vec::new();
        for f in &self.filters {
            match columns.iter().find(|(name, _)| *name == f.name) {
                Some((_, max_len)) if f.comparator == Comparator::Equals => {
                    // Keystone's `_WontMatch`: a value longer than the column matches nothing.
                    if f.value.chars().count() > *max_len {
                        plan.cannot_match = true;
                    }
                    plan.equals.push((f.name.clone(), f.value.clone()));
                }
                _ => remaining.push(f.clone()),
            }
        }
        // Only a query that satisfies every filter may be limited in SQL.
        if remaining.is_empty() {
            plan.fetch = self.limit.map(|l| if l > 0 { l + 1 } else { 1 });
        }
        plan.remaining = remaining;
        plan
    }
}

/// What the SQL query does: exact filters and how many rows to fetch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlPlan {
    pub equals: Vec<(String, String)>,
    pub cannot_match: bool,
    /// Rows to fetch: the limit plus one, to detect truncation.
    pub fetch: Option<i64>,
    pub remaining: Vec<Filter>,
}

impl SqlPlan {
    /// The values an exact filter on `column` asks for (usually zero or one).
    pub fn equals(&self, column: &str) -> Vec<String> {
        self.equals
            .iter()
            .filter(|(c, _)| c == column)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn exact_match(reference: &Map<String, Value>, f: &Filter) -> bool {
    // Keystone compares against `flatten_dict(ref)`: a nested object has no plain key.
    match reference.get(&f.name) {
        Some(Value::Object(_)) | None => false,
        Some(v) => v.as_str() == Some(f.value.as_str()),
    }
}

fn inexact_match(reference: &Map<String, Value>, f: &Filter) -> bool {
    let Some(target) = reference.get(&f.name) else {
        return false;
    };
    if f.comparator == Comparator::Other {
        return true;
    }
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

/// Finish a list as Keystone does: driver truncation, the remaining filters, the limit.
/// Returns the page and whether it was limited.
pub fn page(
    mut refs: Vec<Map<String, Value>>,
    hints: &Hints,
    plan: &SqlPlan,
) -> (Vec<Map<String, Value>>, bool) {
    if plan.cannot_match {
        return (Vec::new(), false);
    }
    let limit = hints.limit.map(|l| usize::try_from(l).unwrap_or(0));
    let mut driver_truncated = false;
    if let (Some(limit), Some(_)) = (limit, plan.fetch)
        && refs.len() > limit
    {
        refs.truncate(limit);
        driver_truncated = true;
    }
    refs.retain(|r| {
        plan.remaining.iter().all(|f| match f.comparator {
            Comparator::Equals => exact_match(r, f),
            _ => inexact_match(r, f),
        })
    });
    let limited = match limit {
        None => false,
        Some(_) if driver_truncated => true,
        Some(limit) if refs.len() > limit => {
            refs.truncate(limit);
            true
        }
        Some(_) => false,
    };
    (refs, limited)
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
    /// The collection's path, e.g. `/v3/endpoints`.
    pub path: &'a str,
    /// The raw query string, as the `self` link repeats it.
    pub query_string: &'a str,
    pub pairs: &'a [(String, String)],
}

/// The collection body: members (already with their links), then `links` and, when
/// limited, `truncated`.
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
    let last_id = members
        .last()
        .and_then(|m| m.get("id"))
        .map(crate::policy::python::py_str);
    let next = match (
        limited && (hints.limit.is_some() || hints.marker.is_some()),
        last_id,
    ) {
        (true, Some(last_id)) => {
            // `request.args.to_dict()`: first value of each key, in order; then marker and
            // limit replaced in place or appended.
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

    fn pairs(q: &str) -> Vec<(String, String)> {
        query_pairs(q)
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn builds_hints_like_keystone() {
        let c = Config::default();
        let h = Hints::from_query(
            &pairs("type=a&name__icontains=B&type__x=1&other=2&limit=5000&marker=m"),
            &["type", "name"],
            &c,
        )
        .unwrap();
        assert_eq!(h.filters.len(), 3);
        assert_eq!(h.filters[1].comparator, Comparator::Contains);
        assert!(!h.filters[1].case_sensitive);
        assert_eq!(h.filters[2].comparator, Comparator::Other);
        assert_eq!(h.limit, Some(1000));
        assert_eq!(h.marker.as_deref(), Some("m"));
        assert_eq!(
            Hints::from_query(&pairs("limit=abc"), &[], &c)
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
        assert_eq!(
            Hints::from_query(&pairs("limit="), &[], &c).unwrap().limit,
            None
        );
    }

    #[test]
    fn sql_plan_and_page() {
        let c = Config::default();
        let h = Hints::from_query(&pairs("interface=public&limit=1"), &["interface"], &c).unwrap();
        let plan = h.plan(&[("interface", 8)]);
        assert_eq!(plan.equals("interface"), vec!["public"]);
        assert_eq!(plan.fetch, Some(2));
        let (page1, limited) = page(
            vec![obj(json!({"id": "a"})), obj(json!({"id": "b"}))],
            &h,
            &plan,
        );
        assert_eq!((page1.len(), limited), (1, true));

        let h = Hints::from_query(&pairs("name=x&limit=1"), &["type", "name"], &c).unwrap();
        let plan = h.plan(&[("type", 255)]);
        assert_eq!(plan.fetch, None, "an in-memory filter defers the limit");
        let rows = vec![
            obj(json!({"id": "a", "name": "y"})),
            obj(json!({"id": "b", "name": "x"})),
        ];
        let (page1, limited) = page(rows, &h, &plan);
        assert_eq!(page1.len(), 1);
        assert!(!limited);

        let h = Hints::from_query(
            &pairs(&format!("interface={}", "x".repeat(9))),
            &["interface"],
            &c,
        )
        .unwrap();
        assert!(h.plan(&[("interface", 8)]).cannot_match);
    }

    #[test]
    fn inexact_filters() {
        let r = obj(json!({"type": "Identity", "n": 1}));
        let f = |name: &str, value: &str, comparator, case_sensitive| Filter {
            name: name.into(),
            value: value.into(),
            comparator,
            case_sensitive,
        };
        assert!(inexact_match(
            &r,
            &f("type", "DENT", Comparator::Contains, false)
        ));
        assert!(!inexact_match(
            &r,
            &f("type", "DENT", Comparator::Contains, true)
        ));
        assert!(inexact_match(
            &r,
            &f("type", "Id", Comparator::StartsWith, true)
        ));
        assert!(inexact_match(
            &r,
            &f("type", "zzz", Comparator::Other, true)
        ));
        assert!(!inexact_match(
            &r,
            &f("missing", "", Comparator::Other, true)
        ));
        assert!(!inexact_match(&r, &f("n", "1", Comparator::Contains, true)));
    }

    #[test]
    fn next_link_replaces_marker_and_limit() {
        let c = Config::default();
        let p = pairs("marker=old&limit=1&name=a b");
        let h = Hints::from_query(&p, &["name"], &c).unwrap();
        let url = ListUrl {
            base: "http://k",
            path: "/v3/things",
            query_string: "marker=old&limit=1&name=a+b",
            pairs: &p,
        };
        let body = collection("things", vec![json!({"id": "z/1"})], true, &h, &url);
        assert_eq!(
            body["links"]["next"],
            "http://k/v3/things?marker=z%2F1&limit=1&name=a+b"
        );
        assert_eq!(
            body["links"]["self"],
            "http://k/v3/things?marker=old&limit=1&name=a+b"
        );
        assert_eq!(body["truncated"], true);
        let url = ListUrl {
            base: "http://k",
            path: "/v3/things",
            query_string: "",
            pairs: &[],
        };
        let body = collection("things", vec![], false, &h, &url);
        assert_eq!(
            body.to_string(),
            r#"{"things":[],"links":{"next":null,"self":"http://k/v3/things","previous":null}}"#
        );
    }
}
