//! SQL for Keystone's domain configuration tables: `whitelisted_config` and
//! `sensitive_config` (`value` is a JSON document, Keystone's `JsonBlob`) and the
//! `config_register` of domain-specific driver registrations. No ORDER BY, as Keystone's.

use crate::db::AnyConnection;
use crate::db::schema::{config_register, sensitive_config, whitelisted_config};
use crate::error::{Error, Result};
use crate::json::{Style, to_ascii_string};
use diesel::prelude::*;
use serde_json::Value;

/// One stored option.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionRow {
    pub group: String,
    pub option: String,
    pub value: Value,
}

fn decode(group: String, option: String, text: String) -> Result<OptionRow> {
    let value = serde_json::from_str(&text).map_err(|e| {
        // Never the value itself: it may be a secret.
        Error::internal(format!(
            "domain config option {group}.{option} is not JSON: {:?}",
            e.classify()
        ))
    })?;
    Ok(OptionRow {
        group,
        option,
        value,
    })
}

macro_rules! list_from {
    ($t:ident, $conn:expr, $domain_id:expr, $group:expr, $option:expr) => {{
        let mut q = $t::table
            .filter($t::domain_id.eq($domain_id.to_string()))
            .select(($t::group, $t::option, $t::value))
            .into_boxed();
        if let Some(g) = $group {
            q = q.filter($t::group.eq(g.to_string()));
            if let Some(o) = $option {
                q = q.filter($t::option.eq(o.to_string()));
            }
        }
        q.load::<(String, String, String)>($conn)?
            .into_iter()
            .map(|(g, o, v)| decode(g, o, v))
            .collect::<Result<Vec<_>>>()
    }};
}

/// Keystone's `list_config_options(domain_id, group, option, sensitive)`: the option
/// filter only applies with a group.
pub fn list(
    conn: &mut AnyConnection,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
    sensitive: bool,
) -> Result<Vec<OptionRow>> {
    if sensitive {
        list_from!(sensitive_config, conn, domain_id, group, option)
    } else {
        list_from!(whitelisted_config, conn, domain_id, group, option)
    }
}

/// Both tables' rows for the domain (or one group, or one option of it).
pub fn delete(
    conn: &mut AnyConnection,
    domain_id: &str,
    group: Option<&str>,
    option: Option<&str>,
) -> Result<()> {
    macro_rules! delete_from {
        ($t:ident) => {{
            let mut q = diesel::delete($t::table)
                .filter($t::domain_id.eq(domain_id.to_string()))
                .into_boxed();
            if let Some(g) = group {
                q = q.filter($t::group.eq(g.to_string()));
                if let Some(o) = option {
                    q = q.filter($t::option.eq(o.to_string()));
                }
            }
            q.execute(conn)?;
        }};
    }
    delete_from!(whitelisted_config);
    delete_from!(sensitive_config);
    Ok(())
}

pub fn insert(
    conn: &mut AnyConnection,
    domain_id: &str,
    row: &OptionRow,
    sensitive: bool,
) -> Result<()> {
    let value = to_ascii_string(&row.value, Style::Python);
    if sensitive {
        diesel::insert_into(sensitive_config::table)
            .values((
                sensitive_config::domain_id.eq(domain_id),
                sensitive_config::group.eq(&row.group),
                sensitive_config::option.eq(&row.option),
                sensitive_config::value.eq(value),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(whitelisted_config::table)
            .values((
                whitelisted_config::domain_id.eq(domain_id),
                whitelisted_config::group.eq(&row.group),
                whitelisted_config::option.eq(&row.option),
                whitelisted_config::value.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Keystone's `release_registration(domain_id)`: whatever the domain registered.
pub fn release_registrations(conn: &mut AnyConnection, domain_id: &str) -> Result<()> {
    diesel::delete(config_register::table.filter(config_register::domain_id.eq(domain_id)))
        .execute(conn)?;
    Ok(())
}
