//! Keystone's `mapping` table. `rules` is double-encoded, as Keystone's `JsonBlob` column
//! holds the already-dumped rules: a JSON string whose content is the JSON list.

use super::Mapping;
use crate::db::AnyConnection;
use crate::db::schema::mapping as t;
use crate::error::{Error, Result};
use crate::json::{Style, to_ascii_string};
use diesel::prelude::*;
use serde_json::Value;

fn encode_rules(rules: &Value) -> String {
    to_ascii_string(
        &Value::from(to_ascii_string(rules, Style::Python)),
        Style::Python,
    )
}

/// The rules of a row; a row some other writer stored single-encoded reads as well.
fn decode_rules(text: &str) -> Result<Value> {
    let outer: Value = serde_json::from_str(text)
        .map_err(|e| Error::internal(format!("mapping rules are not JSON: {e}")))?;
    match outer {
        Value::String(inner) => serde_json::from_str(&inner)
            .map_err(|e| Error::internal(format!("mapping rules are not JSON: {e}"))),
        other => Ok(other),
    }
}

fn from_row((id, rules, schema_version): (String, String, String)) -> Result<Mapping> {
    Ok(Mapping {
        id,
        rules: decode_rules(&rules)?,
        schema_version,
    })
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Mapping>> {
    t::table
        .filter(t::id.eq(id))
        .select((t::id, t::rules, t::schema_version))
        .first::<(String, String, String)>(conn)
        .optional()?
        .map(from_row)
        .transpose()
}

pub fn list(conn: &mut AnyConnection) -> Result<Vec<Mapping>> {
    t::table
        .select((t::id, t::rules, t::schema_version))
        .order(t::id)
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

fn duplicate() -> Error {
    Error::conflict("Conflict occurred attempting to store mapping - Duplicate entry.")
}

pub fn create(conn: &mut AnyConnection, mapping: &Mapping) -> Result<()> {
    if get(conn, &mapping.id)?.is_some() {
        return Err(duplicate());
    }
    diesel::insert_into(t::table)
        .values((
            t::id.eq(&mapping.id),
            t::rules.eq(encode_rules(&mapping.rules)),
            t::schema_version.eq(&mapping.schema_version),
        ))
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => duplicate(),
            other => other.into(),
        })?;
    Ok(())
}

/// Replace a mapping's rules and schema version; false when there is no such mapping.
pub fn update(conn: &mut AnyConnection, mapping: &Mapping) -> Result<bool> {
    Ok(diesel::update(t::table.filter(t::id.eq(&mapping.id)))
        .set((
            t::rules.eq(encode_rules(&mapping.rules)),
            t::schema_version.eq(&mapping.schema_version),
        ))
        .execute(conn)?
        == 1)
}

pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    Ok(diesel::delete(t::table.filter(t::id.eq(id))).execute(conn)? == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_double_encoded_like_keystones() {
        let rules =
            serde_json::json!([{"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "CN"}]}]);
        let text = encode_rules(&rules);
        assert_eq!(
            text,
            r#""[{\"local\": [{\"user\": {\"name\": \"{0}\"}}], \"remote\": [{\"type\": \"CN\"}]}]""#
        );
        assert_eq!(decode_rules(&text).unwrap(), rules);
        assert_eq!(decode_rules(&rules.to_string()).unwrap(), rules);
    }
}
