//! Keystone's `wrap_collection` (`keystone/server/flask/common.py`): the filters no driver
//! satisfied (`filter_by_attributes`), the page size (`limit`), and the body with its
//! `links` (`self`, `previous`, and a `next` that repeats the query with the last member
//! as `marker`) and `truncated`.
//!
//! Why under `db/`, next to [`super::listing`]: it is the second half of the same
//! machinery and reads the same [`Hints`]; it needs nothing of a request or of the app
//! state (the route hands it a [`ListUrl`]), so it can sit below every subsystem, and the
//! routes in `api/` as well as any subsystem code that renders a list import it downward.
//! A separate file keeps JSON rendering out of what the stores import.

use super::listing::{Comparator, Filter, Hints, attr_as_boolean, first_values, query_pairs};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

/// Where a list request came from, for its `self` and `next` links.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListUrl {
    /// Keystone's base URL, without `/v3` (`context::base_url`).
    pub base: String,
    /// The request path as WSGI's `PATH_INFO` (percent-decoded), e.g. `/v3/users`.
    pub path: String,
    /// The raw query string, as the `self` link repeats it.
    pub query_string: String,
}

impl ListUrl {
    /// `base_url(PATH_INFO)`: the collection's URL without the query.
    fn collection(&self) -> String {
        base_url(&self.base, &self.path)
    }

    /// `full_url(PATH_INFO)`: the `self` link.
    fn full(&self) -> String {
        match self.query_string.as_str() {
            "" => self.collection(),
            query => format!("{}?{query}", self.collection()),
        }
    }
}

/// Keystone's `base_url(path)`: the base, `v3`, and the path without its slashes at
/// either end or its own leading `v3`.
pub fn base_url(base: &str, path: &str) -> String {
    let path = path.trim_end_matches('/').trim_start_matches('/');
    let path = match path.strip_prefix("v3") {
        Some(rest) => rest.trim_start_matches('/'),
        None => path,
    };
    [base.trim_end_matches('/'), "v3", path]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// What Python's `urllib.parse.quote_plus` leaves alone (space becomes `+` separately).
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Python's `urllib.parse.quote_plus` (what `urlencode` applies to keys and values).
pub fn quote_plus(text: &str) -> String {
    text.split(' ')
        .map(|part| utf8_percent_encode(part, QUOTE_PLUS).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// `utils.flatten_dict(ref).get(name)`: nested objects are reached by dotted names; an
/// object itself is never a value. Of keys that flatten alike the last one wins.
fn flattened<'a>(r: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let mut found = None;
    for (key, value) in r {
        match value {
            Value::Object(inner) => {
                if let Some(rest) = name
                    .strip_prefix(key.as_str())
                    .and_then(|r| r.strip_prefix('.'))
                {
                    found = flattened(inner, rest).or(found);
                }
            }
            _ if key == name => found = Some(value),
            _ => {}
        }
    }
    found
}

/// One filter of `filter_by_attributes` on one entity. Exact: a boolean attribute against
/// [`attr_as_boolean`] of the value, anything else must equal the string. Inexact: the
/// attribute must be there; Keystone only supports them on strings (and fails on anything
/// else), so any other value does not match; a comparator it does not know matches.
fn matches(r: &Value, f: &Filter) -> bool {
    let Some(r) = r.as_object() else {
        return false;
    };
    if f.comparator == Comparator::Equals {
        return match flattened(r, &f.name) {
            Some(Value::Bool(b)) => *b == attr_as_boolean(&f.value),
            Some(Value::String(s)) => *s == f.value,
            _ => false,
        };
    }
    let Some(target) = r.get(&f.name) else {
        return false;
    };
    let test: fn(&str, &str) -> bool = match f.comparator {
        Comparator::Contains => |t, v| t.contains(v),
        Comparator::StartsWith => |t, v| t.starts_with(v),
        Comparator::EndsWith => |t, v| t.ends_with(v),
        _ => return true,
    };
    let Some(target) = target.as_str() else {
        return false;
    };
    if f.case_sensitive {
        test(target, &f.value)
    } else {
        test(&target.to_lowercase(), &f.value.to_lowercase())
    }
}

/// `filter_by_attributes`: the filters the driver left, on the entities.
pub fn filter_refs(refs: Vec<Value>, hints: &Hints) -> Vec<Value> {
    refs.into_iter()
        .filter(|r| hints.filters.iter().all(|f| matches(r, f)))
        .collect()
}

/// `limit(refs, hints)`: whether the list counts as truncated (the driver said so, or it
/// is longer than the page), cutting it to the page when the driver did not.
pub fn limit_refs<T>(refs: &mut Vec<T>, hints: Option<&Hints>) -> bool {
    match hints.and_then(|h| h.limit) {
        None => false,
        Some(l) if l.truncated => true,
        Some(l) => {
            let limit = usize::try_from(l.limit).unwrap_or(0);
            let cut = refs.len() > limit;
            refs.truncate(limit);
            cut
        }
    }
}

/// `filter_by_attributes` then `limit`: the page, and whether it was limited.
pub fn page(refs: Vec<Value>, hints: Option<&Hints>) -> (Vec<Value>, bool) {
    let mut refs = match hints {
        Some(h) => filter_refs(refs, h),
        None => refs,
    };
    let limited = limit_refs(&mut refs, hints);
    (refs, limited)
}

/// The collection body of a page: the members (with their own links), then `links` and,
/// when limited, `truncated`. The `next` link, for a limited page, is the request's
/// parameters (first value each) with `marker` set to the last member's id and `limit`
/// to the page size, urlencoded.
pub fn body(
    key: &str,
    members: Vec<Value>,
    limited: bool,
    hints: Option<&Hints>,
    url: &ListUrl,
) -> Value {
    let last_id = members
        .last()
        .and_then(|m| m.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    body_of_page(
        key,
        Value::Array(members),
        limited,
        hints,
        url,
        last_id.as_deref(),
    )
}

/// [`body`] with its members given as one value (the array, or what stands in for it
/// where the members are written as text) and the last member's id.
pub fn body_of_page(
    key: &str,
    members: Value,
    limited: bool,
    hints: Option<&Hints>,
    url: &ListUrl,
    last_id: Option<&str>,
) -> Value {
    let limit = hints.and_then(|h| h.limit);
    let next = match (limited, last_id) {
        (true, Some(last_id)) => {
            let mut args = first_values(&query_pairs(&url.query_string));
            let mut set = |name: &str, value: String| match args.iter_mut().find(|(k, _)| k == name)
            {
                Some(slot) => slot.1 = value,
                None => args.push((name.to_string(), value)),
            };
            set("marker", last_id.to_string());
            if let Some(l) = limit {
                set("limit", l.limit.to_string());
            }
            let encoded: Vec<String> = args
                .iter()
                .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
                .collect();
            Value::from(format!("{}?{}", url.collection(), encoded.join("&")))
        }
        _ => Value::Null,
    };
    let mut links = Map::new();
    links.insert("next".into(), next);
    links.insert("self".into(), Value::from(url.full()));
    links.insert("previous".into(), Value::Null);
    let mut body = Map::new();
    body.insert(key.into(), members);
    body.insert("links".into(), Value::Object(links));
    if limited {
        body.insert("truncated".into(), Value::Bool(true));
    }
    Value::Object(body)
}

/// `wrap_collection(refs, hints)` for members that already carry their links.
pub fn wrap_collection(key: &str, refs: Vec<Value>, hints: Option<&Hints>, url: &ListUrl) -> Value {
    let (members, limited) = page(refs, hints);
    body(key, members, limited, hints, url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::json;

    fn hints(q: &str, supported: &[&str]) -> Hints {
        Hints::from_query(&query_pairs(q), supported, None, &Config::default()).unwrap()
    }

    fn url(path: &str, query_string: &str) -> ListUrl {
        ListUrl {
            base: "http://k".into(),
            path: path.into(),
            query_string: query_string.into(),
        }
    }

    #[test]
    fn next_link_replaces_marker_and_limit() {
        let q = "marker=old&limit=1&name=a+b&name=c";
        let h = hints(q, &["name"]);
        let body = body(
            "things",
            vec![json!({"id": "z/1"})],
            true,
            Some(&h),
            &url("/v3/things", q),
        );
        assert_eq!(
            body["links"]["next"],
            "http://k/v3/things?marker=z%2F1&limit=1&name=a+b"
        );
        assert_eq!(body["links"]["self"], format!("http://k/v3/things?{q}"));
        assert_eq!(body["truncated"], true);

        let h = hints("limit=2&name=a b", &["name"]);
        let body = wrap_collection(
            "users",
            vec![
                json!({"id": "a", "name": "a b"}),
                json!({"id": "b", "name": "a b"}),
            ],
            Some(&Hints {
                limit: Some(crate::db::listing::Limit {
                    limit: 1,
                    truncated: false,
                }),
                ..h
            }),
            &url("/v3/users/", "limit=2&name=a%20b"),
        );
        assert_eq!(
            crate::json::to_ascii_string(&body, crate::json::Style::Python),
            r#"{"users": [{"id": "a", "name": "a b"}], "links": {"next": "http://k/v3/users?limit=1&name=a+b&marker=a", "self": "http://k/v3/users?limit=2&name=a%20b", "previous": null}, "truncated": true}"#
        );
    }

    #[test]
    fn plain_collection() {
        let body = wrap_collection("things", vec![], None, &url("v3/things", ""));
        assert_eq!(
            body.to_string(),
            r#"{"things":[],"links":{"next":null,"self":"http://k/v3/things","previous":null}}"#
        );
        assert_eq!(base_url("http://k/", "/v3"), "http://k/v3");
        assert_eq!(quote_plus("a b/é~"), "a+b%2F%C3%A9~");
    }

    #[test]
    fn filter_by_attributes() {
        let refs = vec![
            json!({"id": "1", "name": "Alpha", "enabled": true, "options": {"x": "y"}, "n": 1}),
            json!({"id": "2", "name": "beta", "enabled": false, "d": null}),
        ];
        let ids = |q: &str, supported: &[&str]| -> Vec<String> {
            filter_refs(refs.clone(), &hints(q, supported))
                .iter()
                .map(|r| r["id"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(ids("name__startswith=A", &["name"]), ["1"]);
        assert_eq!(ids("name__istartswith=b", &["name"]), ["2"]);
        assert_eq!(ids("name__contains=ET", &["name"]), Vec::<String>::new());
        assert_eq!(ids("name__bogus=x", &["name"]), ["1", "2"]);
        assert_eq!(ids("enabled=No", &["enabled"]), ["2"]);
        assert_eq!(ids("options.x=y", &["options.x"]), ["1"]);
        assert_eq!(ids("options=y", &["options"]), Vec::<String>::new());
        assert_eq!(ids("n__contains=1", &["n"]), Vec::<String>::new());
        assert_eq!(ids("d__bogus=1", &["d"]), ["2"]);
        assert_eq!(ids("d__contains=N", &["d"]), Vec::<String>::new());
    }

    #[test]
    fn limit_follows_the_driver() {
        let mut h = hints("limit=2", &[]);
        let mut v = vec![1, 2, 3];
        assert!(limit_refs(&mut v, Some(&h)));
        assert_eq!(v, [1, 2]);
        assert!(!limit_refs(&mut v, Some(&h)));
        h.set_limit(5, true);
        assert!(limit_refs(&mut v, Some(&h)));
        assert_eq!(v, [1, 2]);
        assert!(!limit_refs(&mut v, None));
    }
}
