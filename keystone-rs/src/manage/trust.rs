//! `keystone-manage trust_flush`: purge soft-deleted trusts, and trusts expired before a
//! date, optionally only those of one project, trustor or trustee.

use crate::config::Config;
use crate::db::Db;
use crate::trust::store::{Flush, flush};
use chrono::{NaiveDate, NaiveDateTime};

/// keystone-manage's `--date`: `DD-MM-YYYY` (midnight UTC); none means now.
pub fn parse_date(date: Option<&str>) -> anyhow::Result<NaiveDateTime> {
    match date {
        None => Ok(chrono::Utc::now().naive_utc()),
        Some(text) => NaiveDate::parse_from_str(text.trim(), "%d-%m-%Y")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .ok_or_else(|| {
                anyhow::anyhow!("'{text}' Invalid input for date, should be DD-MM-YYYY")
            }),
    }
}

/// Run the purge in one transaction; returns how many trusts went.
pub fn trust_flush(config: &Config, what: Flush, date: Option<&str>) -> anyhow::Result<usize> {
    let date = parse_date(date)?;
    let db = Db::open(&config.database.connection, 1).map_err(super::for_operator)?;
    db.write_blocking(|conn| flush(conn, &what, date))
        .map_err(super::for_operator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_keystone_manage_takes_them() {
        assert_eq!(
            parse_date(Some("24-11-2026")).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 24)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        );
        assert!(parse_date(Some("2026-11-24")).is_err());
        assert!(parse_date(Some("31-02-2026")).is_err());
        assert!(parse_date(None).is_ok());
    }
}
