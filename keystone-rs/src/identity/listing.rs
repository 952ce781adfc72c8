//! Identity's own list filter: `password_expires_at=[op:]timestamp`, which Keystone's
//! identity manager turns into a comparison before the SQL driver sees it. The rest of the
//! list machinery is shared (`db::listing`, `db::collection`).

use crate::db::listing::{CmpOp, Comparator, Filter, Hints};
use crate::error::{Error, Result};
use crate::python::iso8601::parse_isotime;

/// How a translated filter carries its timestamp (naive UTC) to the SQL driver.
const EXPIRY_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// The timestamp of a translated `password_expires_at` filter.
pub fn password_expiry(f: &Filter) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(&f.value, EXPIRY_FORMAT).ok()
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
        f.value = when.format(EXPIRY_FORMAT).to_string();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::db::listing::query_pairs;

    fn hints(q: &str) -> Hints {
        Hints::from_query(
            &query_pairs(q),
            &["password_expires_at"],
            None,
            &Config::default(),
        )
        .unwrap()
    }

    #[test]
    fn password_expiry_translation() {
        let mut h = hints("password_expires_at=lt:2030-01-01T00:00:00Z");
        translate_password_expiry(&mut h).unwrap();
        assert_eq!(h.filters[0].comparator, Comparator::Compare(CmpOp::Lt));
        assert_eq!(
            password_expiry(&h.filters[0])
                .map(|t| t.to_string())
                .as_deref(),
            Some("2030-01-01 00:00:00")
        );
        let mut h = hints("password_expires_at=xx:2030-01-01T00:00:00Z");
        assert_eq!(
            translate_password_expiry(&mut h).unwrap_err().message,
            "The given operator xx is not valid. It must be one of the following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'."
        );
        let mut h = hints("password_expires_at=lt:garbage");
        assert!(
            translate_password_expiry(&mut h)
                .unwrap_err()
                .message
                .starts_with("Timestamp not in expected format.")
        );
        let mut h = hints("password_expires_at=2030");
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
}
