//! Keystone's list handling (`driver_hints.Hints`, `build_driver_hints`, `wrap_collection`):
//! exact and inexact (`name__icontains=`) filters from the query string, `marker`/`limit`
//! pagination, `[DEFAULT] list_limit` / per-driver `list_limit`, the `truncated` flag and the
//! collection links. Drivers satisfy what they can in SQL and remove those filters; what is
//! left is applied to the rendered entities here, as Keystone's controller does.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::policy::python::py_str;
use crate::python::iso8601::parse_isotime;
use serde_json::{Map, Value};

/// Keystone's `[DEFAULT] max_db_limit`: no page is larger.
pub fn max_db_limit(config: &Config) -> usize {
    config
        .get("DEFAULT", "max_db_limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

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
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    /// A comparator Keystone does not know: SQL leaves it, the controller ignores it.
    Other(String),
    /// `password_expires_at` after translation (`lt:2016-12-08T22:02:00Z`).
    Compare(CmpOp),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub name: String,
    pub value: String,
    pub comparator: Comparator,
    pub case_sensitive: bool,
    /// The parsed timestamp of a `password_expires_at` filter.
    pub when: Option<chrono::NaiveDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub limit: usize,
    pub truncated: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Hints {
    pub filters: Vec<Filter>,
    pub marker: Option<String>,
    pub limit: Option<Limit>,
    /// A filter can never match (e.g. longer than its column): skip the query.
    pub cannot_match: bool,
}

impl Hints {
    pub fn set_limit(&mut self, limit: usize, truncated: bool) {
        self.limit = Some(Limit { limit, truncated });
    }

    pub fn exact(&self, name: &str) -> Option<&Filter> {
        self.filters
            .iter()
            .find(|f| f.name == name && f.comparator == Comparator::Equals)
    }

    pub fn add_exact(&mut self, name: &str, value: &str) {
        self.filters.push(Filter {
            name: name.into(),
            value: value.into(),
            comparator: Comparator::Equals,
            case_sensitive: false,
            when: None,
        });
    }

    /// The page size a SQL driver uses: the limit, else `max_db_limit`.
    pub fn limit_or_max(&self, max_db_limit: usize) -> usize {
        self.limit.map(|l| l.limit).unwrap_or(max_db_limit)
    }
}

/// The query string as flask's `request.args`: ordered `(key, value)` pairs.
pub fn query_pairs(query_string: &str) -> Vec<(String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query_string)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// `request.args` as a dict (first value of each key), for schema validation.
pub fn query_object(pairs: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if !m.contains_key(k) {
            m.insert(k.clone(), Value::from(v.clone()));
        }
    }
    Value::Object(m)
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `build_driver_hints`: supported keys become exact filters, `<key>__<comparator>` inexact
/// ones (`i` prefix = case-insensitive); `marker` and `limit` are read too.
pub fn build_hints(
    pairs: &[(String, String)],
    supported: &[&str],
    max_db_limit: usize,
) -> Result<Hints> {
    let mut hints = Hints::default();
    for (key, value) in pairs {
        if supported.contains(&key.as_str()) {
            hints.add_exact(key, value);
            continue;
        }
        for valid in supported {
            let Some(rest) = key.strip_prefix(valid).and_then(|r| r.strip_prefix("__")) else {
                continue;
            };
            let base = key.split("__").next().unwrap_or(valid);
            let (comparator, case_sensitive) = match rest.strip_prefix('i') {
                Some(c) => (c, false),
                None => (rest, true),
            };
            hints.filters.push(Filter {
                name: base.to_string(),
                value: value.clone(),
                comparator: match comparator {
                    "contains" => Comparator::Contains,
                    "startswith" => Comparator::StartsWith,
                    "endswith" => Comparator::EndsWith,
                    other => Comparator::Other(other.to_string()),
                },
                case_sensitive,
                when: None,
            });
        }
    }
    if let Some(marker) = first(pairs, "marker").filter(|m| !m.is_empty()) {
        hints.marker = Some(marker.to_string());
    }
    if let Some(limit) = first(pairs, "limit").filter(|l| !l.is_empty()) {
        // Keystone answers a non-numeric limit with a 500; a 400 says what is wrong.
        let n: i64 = limit.trim().parse().map_err(|_| {
            Error::bad_request(format!(
                "Invalid input for field/attribute limit. Value: {limit}. {} is not a valid integer",
                crate::policy::python::py_repr(&Value::from(limit))
            ))
        })?;
        let n = usize::try_from(n).map_err(|_| {
            Error::bad_request(format!("Invalid input for field/attribute limit. Value: {limit}. {n} is less than the minimum of 0"))
        })?;
        hints.set_limit(n.min(max_db_limit), false);
    }
    Ok(hints)
}

/// oslo's `bool_from_string(value, default=True)` (`utils.attr_as_boolean`).
pub fn attr_as_boolean(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "0" | "f" | "false" | "off" | "n" | "no"
    )
}

/// oslo's `bool_from_string(value)` (default False): how a boolean string is stored.
pub fn bool_from_string(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "on" | "y" | "yes"
    )
}

/// `password_expires_at=[op:]timestamp` → a comparison filter (`_translate_expired_password_hints`).
pub fn translate_password_expiry(hints: &mut Hints) -> Result<()> {
    for f in hints
        .filters
        .iter_mut()
        .filter(|f| f.name == "password_expires_at")
    {
        // The operator is recognised only when the ':' sits at index 2 or 3.
        let colon_early = f.value.get(2..4).is_some_and(|s| s.contains(':'));
        let (op, timestamp) = if colon_early {
            f.value.split_once(':').unwrap_or(("eq", f.value.as_str()))
        } else {
            ("eq", f.value.as_str())
        };
        let when = parse_isotime(timestamp).ok_or_else(|| {
            Error::bad_request(
                "Timestamp not in expected format. The server could not comply with the request since it is \
                 either malformed or otherwise incorrect. The client is assumed to be in error.",
            )
        })?;
        let op = match op {
            "lt" => CmpOp::Lt,
            "lte" => CmpOp::Lte,
            "gt" => CmpOp::Gt,
            "gte" => CmpOp::Gte,
            "eq" => CmpOp::Eq,
            "neq" => CmpOp::Neq,
            other => {
                // Keystone's `InvalidOperatorError`: no ValidationError suffix.
                return Err(Error::bad_request(format!(
                    "The given operator {other} is not valid. It must be one of the following: 'eq', 'neq', 'lt', \
                     'lte', 'gt', or 'gte'."
                )));
            }
        };
        f.comparator = Comparator::Compare(op);
        f.when = Some(when);
    }
    Ok(())
}

/// `filter_by_attributes` on rendered entities for filters the driver left.
pub fn filter_entities(refs: Vec<Value>, hints: &Hints) -> Vec<Value> {
    let mut refs = refs;
    for f in &hints.filters {
        refs.retain(|r| match &f.comparator {
            Comparator::Equals => {
                let flat = crate::policy::flatten(r);
                match flat.get(&f.name) {
                    Some(Value::Bool(b)) => *b == attr_as_boolean(&f.value),
                    Some(Value::String(s)) => s == &f.value,
                    _ => false,
                }
            }
            Comparator::Compare(_) => true,
            comparator => match r.get(&f.name) {
                None => false,
                Some(target) => {
                    let target = py_str(target);
                    let (value, target) = if f.case_sensitive {
                        (f.value.clone(), target)
                    } else {
                        (f.value.to_lowercase(), target.to_lowercase())
                    };
                    match comparator {
                        Comparator::Contains => target.contains(&value),
                        Comparator::StartsWith => target.starts_with(&value),
                        Comparator::EndsWith => target.ends_with(&value),
                        _ => true,
                    }
                }
            },
        });
    }
    refs
}

/// Python's `urllib.parse.quote_plus` (what `urlencode` uses).
fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// What `wrap_collection` needs to know about the request.
pub struct CollectionRequest<'a> {
    pub base_url: &'a str,
    /// The request path as WSGI's PATH_INFO (percent-decoded), e.g. `/v3/users`.
    pub path: &'a str,
    pub query_string: &'a str,
    pub pairs: &'a [(String, String)],
}

/// `base_url(path)`: the base, `/v3`, and the path without its own `v3` prefix.
pub fn url_for(base_url: &str, path: &str) -> String {
    let p = path.trim_end_matches('/').trim_start_matches('/');
    let p = match p.strip_prefix("v3") {
        Some(rest) => rest.trim_start_matches('/'),
        None => p,
    };
    let parts: Vec<&str> = [base_url.trim_end_matches('/'), "v3", p]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    parts.join("/")
}

/// `wrap_collection`: leftover filters, the limit, the links and `truncated`.
pub fn wrap_collection(
    key: &str,
    refs: Vec<Value>,
    hints: Option<&Hints>,
    req: &CollectionRequest<'_>,
) -> Value {
    let refs = match hints {
        Some(h) => filter_entities(refs, h),
        None => refs,
    };
    let (limited, refs) = match hints.and_then(|h| h.limit) {
        None => (false, refs),
        Some(l) if l.truncated => (true, refs),
        Some(l) if refs.len() > l.limit => (true, refs.into_iter().take(l.limit).collect()),
        Some(_) => (false, refs),
    };
    let mut self_url = url_for(req.base_url, req.path);
    if !req.query_string.is_empty() {
        self_url = format!("{self_url}?{}", req.query_string);
    }
    let mut next = Value::Null;
    if let Some(h) = hints {
        if (h.limit.is_some() || h.marker.is_some()) && limited {
            if let Some(last_id) = refs
                .last()
                .and_then(|r| r.get("id"))
                .and_then(Value::as_str)
            {
                let mut args: Vec<(String, String)> = Vec::new();
                for (k, v) in req.pairs {
                    if !args.iter().any(|(ak, _)| ak == k) {
                        args.push((k.clone(), v.clone()));
                    }
                }
                let mut set = |k: &str, v: String| match args.iter_mut().find(|(ak, _)| ak == k) {
                    Some(slot) => slot.1 = v,
                    None => args.push((k.to_string(), v)),
                };
                set("marker", last_id.to_string());
                let limit = h
                    .limit
                    .map(|l| l.limit.to_string())
                    .or_else(|| first(req.pairs, "limit").map(str::to_string));
                if let Some(limit) = limit {
                    set("limit", limit);
                }
                let query: Vec<String> = args
                    .iter()
                    .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
                    .collect();
                next = Value::from(format!(
                    "{}?{}",
                    url_for(req.base_url, req.path),
                    query.join("&")
                ));
            }
        }
    }
    let mut links = Map::new();
    links.insert("next".into(), next);
    links.insert("self".into(), Value::from(self_url));
    links.insert("previous".into(), Value::Null);
    let mut body = Map::new();
    body.insert(key.into(), Value::Array(refs));
    body.insert("links".into(), Value::Object(links));
    if limited {
        body.insert("truncated".into(), Value::Bool(true));
    }
    Value::Object(body)
}

/// The `truncated` driver decorator around a SQL list: with a limit and no filters, ask
/// for one more row to know whether the list was cut; with filters, the driver assumes a
/// full page was cut (`len >= limit`), as Keystone's SQL driver does.
pub fn run_truncated<T>(
    hints: &mut Hints,
    query: impl FnOnce(&mut Hints) -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    match hints.limit {
        Some(l) if hints.filters.is_empty() => {
            hints.set_limit(l.limit + 1, false);
            let mut rows = query(hints)?;
            if rows.len() > l.limit {
                rows.truncate(l.limit);
                hints.set_limit(l.limit, true);
            } else {
                hints.set_limit(l.limit, false);
            }
            Ok(rows)
        }
        _ => {
            let rows = query(hints)?;
            if let Some(l) = hints.limit {
                if rows.len() >= l.limit {
                    hints.set_limit(l.limit, true);
                }
            }
            Ok(rows)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(q: &str) -> Vec<(String, String)> {
        query_pairs(q)
    }

    #[test]
    fn hints_from_query() {
        let h = build_hints(
            &pairs("name=a&email=x&name__icontains=B&name__contains=c&limit=5&marker=m"),
            &["name"],
            1000,
        )
        .unwrap();
        assert_eq!(h.filters.len(), 3);
        assert_eq!(h.filters[1].comparator, Comparator::Contains);
        assert!(!h.filters[1].case_sensitive);
        assert!(h.filters[2].case_sensitive);
        assert_eq!(
            h.limit,
            Some(Limit {
                limit: 5,
                truncated: false
            })
        );
        assert_eq!(h.marker.as_deref(), Some("m"));
        assert_eq!(
            build_hints(&pairs("limit=5000"), &[], 1000)
                .unwrap()
                .limit
                .unwrap()
                .limit,
            1000
        );
        assert_eq!(
            build_hints(&pairs("limit=abc"), &[], 1000)
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
    }

    #[test]
    fn password_expiry_translation() {
        let mut h = build_hints(
            &pairs("password_expires_at=lt:2030-01-01T00:00:00Z"),
            &["password_expires_at"],
            1000,
        )
        .unwrap();
        translate_password_expiry(&mut h).unwrap();
        assert_eq!(h.filters[0].comparator, Comparator::Compare(CmpOp::Lt));
        let mut h = build_hints(
            &pairs("password_expires_at=xx:2030-01-01T00:00:00Z"),
            &["password_expires_at"],
            1000,
        )
        .unwrap();
        assert_eq!(
            translate_password_expiry(&mut h).unwrap_err().message,
            "The given operator xx is not valid. It must be one of the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'."
        );
        let mut h = build_hints(
            &pairs("password_expires_at=lt:garbage"),
            &["password_expires_at"],
            1000,
        )
        .unwrap();
        assert!(
            translate_password_expiry(&mut h)
                .unwrap_err()
                .message
                .starts_with("Timestamp not in expected format.")
        );
        let mut h = build_hints(
            &pairs("password_expires_at=2030"),
            &["password_expires_at"],
            1000,
        )
        .unwrap();
        translate_password_expiry(&mut h).unwrap();
        assert_eq!(h.filters[0].comparator, Comparator::Compare(CmpOp::Eq));
    }

    #[test]
    fn isotime_forms() {
        let t = |s| parse_isotime(s).map(|t| t.to_string());
        assert_eq!(t("2030").as_deref(), Some("2030-01-01 00:00:00"));
        assert_eq!(
            t("2016-12-08T22:02:00Z").as_deref(),
            Some("2016-12-08 22:02:00")
        );
        assert_eq!(
            t("2016-12-08T22:02:00.5+01:00").as_deref(),
            Some("2016-12-08 21:02:00.500")
        );
        assert_eq!(t("garbage"), None);
    }

    #[test]
    fn collection_links_and_truncation() {
        let p = pairs("limit=1");
        let req = CollectionRequest {
            base_url: "http://k",
            path: "/v3/users",
            query_string: "limit=1",
            pairs: &p,
        };
        let mut h = build_hints(&p, &[], 1000).unwrap();
        h.set_limit(1, true);
        let body = wrap_collection("users", vec![json!({"id": "a"})], Some(&h), &req);
        assert_eq!(
            crate::json::to_ascii_string(&body, crate::json::Style::Python),
            r#"{"users": [{"id": "a"}], "links": {"next": "http://k/v3/users?limit=1&marker=a", "self": "http://k/v3/users?limit=1", "previous": null}, "truncated": true}"#
        );
    }

    #[test]
    fn leftover_filters_apply_to_entities() {
        let mut h = Hints::default();
        h.filters.push(Filter {
            name: "name".into(),
            value: "I4".into(),
            comparator: Comparator::Contains,
            case_sensitive: true,
            when: None,
        });
        assert!(filter_entities(vec![json!({"name": "i4id"})], &h).is_empty());
        h.filters[0].case_sensitive = false;
        assert_eq!(filter_entities(vec![json!({"name": "i4id"})], &h).len(), 1);
        let mut h = Hints::default();
        h.add_exact("enabled", "false");
        assert_eq!(
            filter_entities(
                vec![json!({"enabled": false}), json!({"enabled": true})],
                &h
            )
            .len(),
            1
        );
    }
}
