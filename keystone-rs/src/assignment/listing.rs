//! `GET /v3/roles` filtering and limiting as Keystone's driver hints do it: exact filters
//! and case-insensitive comparators in SQL, case-sensitive comparators afterwards, the page
//! limit (`?limit=`, else `[role] list_limit`, else `[DEFAULT] list_limit`) in SQL when every
//! filter ran there, and `truncated` plus a `next` link when the page was cut.

use super::model::{NULL_DOMAIN_ID, Role};
use super::store::RoleQuery;
use crate::config::Config;
use crate::error::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Column lengths: a longer value can match nothing (Keystone's `_WontMatch`).
const NAME_LEN: usize = 255;
const DOMAIN_ID_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparator {
    Contains,
    StartsWith,
    EndsWith,
    /// A suffix Keystone does not know: it filters nothing but keeps SQL from limiting.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
struct Inexact {
    field: &'static str,
    value: String,
    comparator: Comparator,
}

/// A role list request, split into what SQL runs and what runs afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleListing {
    pub sql: RoleQuery,
    /// Case-sensitive comparators (and unknown ones), applied to the rows SQL returned.
    after: Vec<Inexact>,
    pub limit: Option<i64>,
    cannot_match: bool,
}

/// The query string as `(key, value)` pairs in order, repeats kept (werkzeug's MultiDict).
pub fn query_pairs(query_string: &str) -> Vec<(String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query_string)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

pub fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn like_pattern(comparator: Comparator, value: &str) -> Option<String> {
    let v = value.to_lowercase();
    match comparator {
        Comparator::Contains => Some(format!("%{v}%")),
        Comparator::StartsWith => Some(format!("{v}%")),
        Comparator::EndsWith => Some(format!("%{v}")),
        Comparator::Unknown => None,
    }
}

fn parse_comparator(suffix: &str) -> (Comparator, bool) {
    let (name, case_sensitive) = match suffix.strip_prefix('i') {
        Some(rest) => (rest, false),
        None => (suffix, true),
    };
    let comparator = match name {
        "contains" => Comparator::Contains,
        "startswith" => Comparator::StartsWith,
        "endswith" => Comparator::EndsWith,
        _ => Comparator::Unknown,
    };
    (comparator, case_sensitive)
}

/// `[role] list_limit`, else `[DEFAULT] list_limit` (0 means none, as in Python).
fn configured_limit(config: &Config) -> Option<i64> {
    config
        .list_limit("role")
        .map(|n| n as i64)
        .filter(|n| *n != 0)
}

fn max_db_limit(config: &Config) -> i64 {
    config
        .get("DEFAULT", "max_db_limit")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1000)
}

impl RoleListing {
    pub fn from_query(pairs: &[(String, String)], config: &Config) -> Result<RoleListing> {
        let mut listing = RoleListing {
            sql: RoleQuery::default(),
            after: Vec::new(),
            limit: None,
            cannot_match: false,
        };
        let mut has_domain_filter = false;
        for (key, value) in pairs {
            let (field, rest) = match key.split_once("__") {
                Some((field, rest)) => (field, Some(rest)),
                None => (key.as_str(), None),
            };
            let (field, max_len): (&'static str, usize) = match field {
                "name" => ("name", NAME_LEN),
                "domain_id" => ("domain_id", DOMAIN_ID_LEN),
                _ => continue,
            };
            match rest {
                None => {
                    if value.chars().count() > max_len {
                        listing.cannot_match = true;
                    }
                    if field == "name" {
                        listing.sql.names.push(value.clone());
                    } else {
                        has_domain_filter = true;
                        listing.sql.domain_ids.push(value.clone());
                    }
                }
                Some(suffix) => {
                    let (comparator, case_sensitive) = parse_comparator(suffix);
                    match (case_sensitive, like_pattern(comparator, value)) {
                        (false, Some(pattern)) => {
                            if value.chars().count() > max_len {
                                listing.cannot_match = true;
                            }
                            if field == "name" {
                                listing.sql.name_like.push(pattern);
                            } else {
                                listing.sql.domain_like.push(pattern);
                            }
                        }
                        _ => listing.after.push(Inexact {
                            field,
                            value: value.clone(),
                            comparator,
                        }),
                    }
                }
            }
        }
        // Without a domain filter Keystone lists the global roles only.
        if !has_domain_filter && !pairs.iter().any(|(k, v)| k == "domain_id" && !v.is_empty()) {
            listing.sql.domain_ids.push(NULL_DOMAIN_ID.to_string());
        }
        listing.limit = match first(pairs, "limit").filter(|l| !l.is_empty()) {
            Some(text) => Some(parse_limit(text)?.min(max_db_limit(config))),
            None => configured_limit(config),
        };
        if listing.after.is_empty() {
            listing.sql.fetch = listing.limit.map(|l| l.max(0) + 1);
        }
        Ok(listing)
    }

    pub fn cannot_match(&self) -> bool {
        self.cannot_match
    }

    /// The page and whether it was cut.
    pub fn finish(&self, mut roles: Vec<Role>) -> (Vec<Role>, bool) {
        roles.retain(|r| self.after.iter().all(|f| inexact_match(r, f)));
        match self.limit {
            Some(limit) => {
                let limit = usize::try_from(limit.max(0)).unwrap_or(0);
                if roles.len() > limit {
                    roles.truncate(limit);
                    (roles, true)
                } else {
                    (roles, false)
                }
            }
            None => (roles, false),
        }
    }
}

fn inexact_match(role: &Role, f: &Inexact) -> bool {
    let target = match f.field {
        "name" => role.name.as_str(),
        // A global role's `domain_id` is None: Keystone's check needs the key and a string.
        _ => match &role.domain_id {
            Some(d) => d.as_str(),
            None => return f.comparator == Comparator::Unknown,
        },
    };
    match f.comparator {
        Comparator::Contains => target.contains(&f.value),
        Comparator::StartsWith => target.starts_with(&f.value),
        Comparator::EndsWith => target.ends_with(&f.value),
        Comparator::Unknown => true,
    }
}

/// Python's `int()` of the `limit` parameter. Keystone answers 500 for a non-integer; that
/// is bad input, so 400.
fn parse_limit(text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::bad_request(format!("Invalid limit value: {text}")));
    }
    trimmed
        .parse::<i64>()
        .map_err(|_| Error::bad_request(format!("Invalid limit value: {text}")))
}

/// What `urllib.parse.quote_plus` leaves alone.
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

/// A collection's `links`: `self` repeats the query string as sent; `next` (for a cut page)
/// is the query with `marker` set to the last id and `limit`, as Keystone builds it.
pub fn collection_links(
    base_url: &str,
    path: &str,
    query_string: &str,
    next: Option<(&str, i64)>,
) -> serde_json::Value {
    let path = path.trim_end_matches('/');
    let self_url = if query_string.is_empty() {
        format!("{base_url}{path}")
    } else {
        format!("{base_url}{path}?{query_string}")
    };
    let next_url = next.map(|(marker, limit)| {
        let mut args: Vec<(String, String)> = Vec::new();
        for (k, v) in query_pairs(query_string) {
            if !args.iter().any(|(existing, _)| existing == &k) {
                args.push((k, v));
            }
        }
        for (key, value) in [("marker", marker.to_string()), ("limit", limit.to_string())] {
            match args.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => args.push((key.to_string(), value)),
            }
        }
        let encoded: Vec<String> = args
            .iter()
            .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
            .collect();
        format!("{base_url}{path}?{}", encoded.join("&"))
    });
    serde_json::json!({"next": next_url, "self": self_url, "previous": null})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        query_pairs(q)
    }

    #[test]
    fn global_roles_unless_a_domain_is_named() {
        let c = Config::default();
        let l = RoleListing::from_query(&pairs("name=a"), &c).unwrap();
        assert_eq!(l.sql.names, vec!["a"]);
        assert_eq!(l.sql.domain_ids, vec![NULL_DOMAIN_ID]);
        let l = RoleListing::from_query(&pairs("domain_id=d&name__icontains=AB"), &c).unwrap();
        assert_eq!(l.sql.domain_ids, vec!["d"]);
        assert_eq!(l.sql.name_like, vec!["%ab%"]);
        assert_eq!(l.sql.fetch, None);
    }

    #[test]
    fn limits_and_case_sensitive_filters() {
        let c = Config::parse("[role]\nlist_limit = 2\n", None).unwrap();
        let l = RoleListing::from_query(&pairs(""), &c).unwrap();
        assert_eq!((l.limit, l.sql.fetch), (Some(2), Some(3)));
        let l = RoleListing::from_query(&pairs("name__contains=X&limit=5"), &c).unwrap();
        assert_eq!((l.limit, l.sql.fetch), (Some(5), None));
        let roles = vec![Role::new("1", "aXb", None), Role::new("2", "axb", None)];
        let (page, cut) = l.finish(roles);
        assert_eq!((page.len(), cut), (1, false));
        assert!(RoleListing::from_query(&pairs("limit=x"), &c).is_err());
    }

    #[test]
    fn links() {
        let v = collection_links("http://k", "/v3/roles", "name=a%20b", None);
        assert_eq!(v["self"], "http://k/v3/roles?name=a%20b");
        let v = collection_links(
            "http://k",
            "/v3/roles",
            "limit=1&name=a b",
            Some(("id1", 1)),
        );
        assert_eq!(v["next"], "http://k/v3/roles?limit=1&name=a+b&marker=id1");
    }
}
