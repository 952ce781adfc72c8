//! Version discovery: the documents at `/` and `/v3` that keystoneauth reads to find the
//! v3 endpoint, and the JSON-home variant some tooling asks for.

pub mod json_home;

use crate::json::{Style, to_ascii_string};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

pub const JSON: &str = "application/json";
pub const JSON_HOME: &str = "application/json-home";

/// What Keystone 30 (and its HEAD) advertise; clients parse `id` as (major, minor).
const V3_ID: &str = "v3.14";
const V3_UPDATED: &str = "2020-04-07T00:00:00Z";
const V3_MEDIA_TYPE: &str = "application/vnd.openstack.identity-v3+json";

/// The v3 endpoint for a base URL (no trailing slash): always with a trailing slash.
pub fn v3_url(base: &str) -> String {
    format!("{base}/v3/")
}

fn v3_version(v3_url: &str) -> Value {
    json!({
        "id": V3_ID,
        "status": "stable",
        "updated": V3_UPDATED,
        "links": [{"rel": "self", "href": v3_url}],
        "media-types": [{"base": JSON, "type": V3_MEDIA_TYPE}],
    })
}

/// `GET /`: `{"versions": {"values": [...]}}`, `json.dumps` bytes, no trailing newline.
pub fn versions_body(v3_url: &str) -> String {
    to_ascii_string(
        &json!({"versions": {"values": [v3_version(v3_url)]}}),
        Style::Python,
    )
}

/// `GET /v3`: `{"version": {...}}`, `json.dumps` bytes, no trailing newline.
pub fn version_body(v3_url: &str) -> String {
    to_ascii_string(&json!({"version": v3_version(v3_url)}), Style::Python)
}

/// The JSON-home document with every path behind `prefix`.
pub fn json_home_document(prefix: &str) -> Value {
    let mut resources = Map::new();
    for link in json_home::LINKS {
        // A repeated relation keeps its first position and takes the last value, as a
        // Python dict does.
        resources.insert(link.relation_url(), link.render(prefix));
    }
    json!({"resources": resources})
}

/// The JSON-home bytes served at `/v3` (paths relative to it).
pub static JSON_HOME_V3: LazyLock<String> =
    LazyLock::new(|| to_ascii_string(&json_home_document(""), Style::Python));

/// The JSON-home bytes served at `/` (paths prefixed with `/v3`).
pub static JSON_HOME_ROOT: LazyLock<String> =
    LazyLock::new(|| to_ascii_string(&json_home_document("/v3"), Style::Python));

/// Whether the `Accept` header picks JSON-home over JSON, decided as werkzeug's
/// `accept_mimetypes.best_match([JSON, JSON_HOME])` does: no header, `*/*`, a tie, or no
/// match at all all mean JSON.
pub fn prefers_json_home(accept: Option<&str>) -> bool {
    best_match(accept, &[JSON, JSON_HOME]) == Some(JSON_HOME)
}

/// werkzeug's `accept_mimetypes.best_match(offers)`: the offer the client rates highest,
/// the more specific match then the earlier offer winning ties; `None` when none is
/// acceptable (no header at all accepts the first offer).
pub fn best_match<'a>(accept: Option<&str>, offers: &[&'a str]) -> Option<&'a str> {
    let items = parse_accept(accept.unwrap_or(""));
    let mut best: Option<&str> = None;
    let mut best_quality = -1.0_f64;
    let mut best_specificity: Vec<i8> = vec![-1];
    for &offered in offers {
        let Some(item) = items.iter().find(|item| item.matches(offered)) else {
            continue;
        };
        if item.quality <= 0.0 || item.quality < best_quality {
            continue;
        }
        let specificity = item.specificity();
        if item.quality > best_quality || specificity > best_specificity {
            best = Some(offered);
            best_quality = item.quality;
            best_specificity = specificity;
        }
    }
    best
}

/// One `Accept` entry, lower-cased and split: `type/subtype` parts, then the non-`q`
/// parameters as `key=value`.
#[derive(Debug)]
struct AcceptItem {
    parts: Vec<String>,
    params: Vec<String>,
    quality: f64,
}

impl AcceptItem {
    /// werkzeug counts every part that is not `*`, parameters included.
    fn specificity(&self) -> Vec<i8> {
        self.parts
            .iter()
            .chain(&self.params)
            .map(|p| i8::from(p != "*"))
            .collect()
    }

    fn matches(&self, offered: &str) -> bool {
        let (Some(kind), Some(subtype)) = (self.parts.first(), self.parts.get(1)) else {
            return false;
        };
        // What werkzeug sees as parameters includes any extra `/` parts.
        let extra = self.parts.len() > 2 || !self.params.is_empty();
        let (offered_kind, offered_subtype) = offered.split_once('/').unwrap_or((offered, ""));
        if kind == "*" {
            return subtype == "*";
        }
        kind == offered_kind && (subtype == "*" || (subtype == offered_subtype && !extra))
    }
}

/// Parses like werkzeug's `parse_accept_header`: entries with an invalid `q` are dropped;
/// the result is sorted by specificity, then quality, both descending (stable).
fn parse_accept(header: &str) -> Vec<AcceptItem> {
    let mut items: Vec<AcceptItem> = header
        .split(',')
        .filter_map(|entry| {
            let (media, rest) = entry.split_once(';').unwrap_or((entry, ""));
            let media = media.trim_matches([' ', '\t']).to_ascii_lowercase();
            if media.is_empty() {
                return None;
            }
            let mut quality = 1.0;
            let mut params = Vec::new();
            for param in rest.split(';') {
                let Some((key, value)) = param.trim_matches([' ', '\t']).split_once('=') else {
                    continue;
                };
                let key = key.to_ascii_lowercase();
                if key.is_empty() || value.is_empty() {
                    continue;
                }
                if key == "q" {
                    quality = parse_quality(value.trim_matches([' ', '\t']))?;
                } else {
                    params.push(format!("{key}={}", value.to_ascii_lowercase()));
                }
            }
            let parts = media
                .split('/')
                .map(|p| p.trim_matches([' ', '\t']).to_string())
                .collect();
            Some(AcceptItem {
                parts,
                params,
                quality,
            })
        })
        .collect();
    items.sort_by(|a, b| {
        (b.specificity(), b.quality)
            .partial_cmp(&(a.specificity(), a.quality))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    items
}

/// `-?\d+(\.\d+)?` within [0, 1], else the entry is ignored.
fn parse_quality(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(whole) || !is_digits(fraction) {
        return None;
    }
    let q: f64 = text.parse().ok()?;
    (0.0..=1.0).contains(&q).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_keystone_30s_relations() {
        assert_eq!(json_home::LINKS.len(), 121);
        let core = json_home::LINKS
            .iter()
            .filter(|l| l.relation.extension.is_none())
            .count();
        assert_eq!((core, 121 - core), (63, 58));
    }

    #[test]
    fn accept_negotiation_matches_werkzeug() {
        let home = |accept: &str| prefers_json_home(Some(accept));
        assert!(!prefers_json_home(None));
        assert!(!home(""));
        assert!(!home("*/*"));
        assert!(!home("application/*"));
        assert!(!home("application/json"));
        assert!(!home("text/html"));
        assert!(!home("application/json-home;q=0.5, application/json"));
        assert!(!home("application/json, application/json-home"));
        assert!(!home("application/json-home, application/json"));
        assert!(!home("application/json-home; charset=utf-8"));
        assert!(!home("application/json-home;q=2"));
        assert!(!home("application/json-home;q=0"));
        assert!(home("application/json-home"));
        assert!(home("APPLICATION/JSON-HOME"));
        assert!(home("application/json;q=0.5, application/json-home"));
        assert!(home("application/json-home, */*;q=0.8"));
        assert!(home("text/html, application/json-home"));
        // More specific entries sort first: the parameterised JSON entry cannot match.
        assert!(home("application/json;v=1, application/json-home;q=0.9"));
        // Cross-checked with werkzeug 3: specificity beats order, quality beats both.
        assert!(home("application/*, application/json-home"));
        assert!(home("application/*;q=0.9, application/json-home;q=0.9"));
        assert!(!home("*/*;q=0.9, application/json-home;q=0.5"));
        assert!(!home("application/json-home;q=1.0, application/json;q=1"));
    }

    #[test]
    fn quality_values() {
        assert_eq!(parse_quality("0.5"), Some(0.5));
        assert_eq!(parse_quality("1"), Some(1.0));
        assert_eq!(parse_quality("-0"), Some(0.0));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality(".5"), None);
        assert_eq!(parse_quality("5."), None);
        assert_eq!(parse_quality("x"), None);
    }
}
