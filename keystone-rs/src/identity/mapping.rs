//! Keystone's id mapping (`id_mapping`): the public id of a user or group that lives in a
//! backend which does not generate UUIDs (an LDAP domain). The public id is Keystone's
//! `sha256` generator over the local entity, so every node — keystone-rs or Python
//! Keystone — that sees the same directory derives the same id, and the table only
//! remembers which domain and local id a public id stands for.

use crate::db::AnyConnection;
use crate::db::enums::EntityType;
use crate::db::schema::id_mapping;
use crate::error::Result;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What a public id stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalEntity {
    pub domain_id: String,
    pub local_id: String,
    pub entity_type: EntityType,
}

/// `id_generators/sha256.py`: the values of `{domain_id, entity_type, local_id}`, in key
/// order, hashed as UTF-8.
pub fn generate_public_id(domain_id: &str, local_id: &str, entity_type: EntityType) -> String {
    let mut h = Sha256::new();
    h.update(domain_id.as_bytes());
    h.update(entity_type.as_str().as_bytes());
    h.update(local_id.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `get_id_mapping`: the local entity behind a public id.
pub fn lookup(conn: &mut AnyConnection, public_id: &str) -> Result<Option<LocalEntity>> {
    let row: Option<(String, String, EntityType)> = id_mapping::table
        .filter(id_mapping::public_id.eq(public_id))
        .select((
            id_mapping::domain_id,
            id_mapping::local_id,
            id_mapping::entity_type,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(domain_id, local_id, entity_type)| LocalEntity {
        domain_id,
        local_id,
        entity_type,
    }))
}

/// `get_domain_mapping_list` for one entity type: local id → public id.
fn domain_mappings(
    conn: &mut AnyConnection,
    domain_id: &str,
    entity_type: EntityType,
) -> Result<HashMap<String, String>> {
    let rows: Vec<(String, String)> = id_mapping::table
        .filter(id_mapping::domain_id.eq(domain_id))
        .filter(id_mapping::entity_type.eq(entity_type))
        .select((id_mapping::local_id, id_mapping::public_id))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

fn insert(conn: &mut AnyConnection, public_id: &str, e: &LocalEntity) -> Result<()> {
    diesel::insert_into(id_mapping::table)
        .values((
            id_mapping::public_id.eq(public_id),
            id_mapping::domain_id.eq(&e.domain_id),
            id_mapping::local_id.eq(&e.local_id),
            id_mapping::entity_type.eq(e.entity_type),
        ))
        .execute(conn)?;
    Ok(())
}

/// `_set_domain_id_and_mapping` for one entity: the stored public id, else a new mapping
/// with the generated one.
pub fn public_id(conn: &mut AnyConnection, e: &LocalEntity) -> Result<String> {
    let found: Option<String> = id_mapping::table
        .filter(id_mapping::domain_id.eq(&e.domain_id))
        .filter(id_mapping::local_id.eq(&e.local_id))
        .filter(id_mapping::entity_type.eq(e.entity_type))
        .select(id_mapping::public_id)
        .first(conn)
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let id = generate_public_id(&e.domain_id, &e.local_id, e.entity_type);
    insert(conn, &id, e)?;
    Ok(id)
}

/// `_set_domain_id_and_mapping_for_list`: public ids for many local ids of one domain,
/// reading the domain's mappings once and creating the missing ones.
pub fn public_ids(
    conn: &mut AnyConnection,
    domain_id: &str,
    entity_type: EntityType,
    local_ids: &[String],
) -> Result<HashMap<String, String>> {
    let mut known = domain_mappings(conn, domain_id, entity_type)?;
    for local_id in local_ids {
        if known.contains_key(local_id) {
            continue;
        }
        let e = LocalEntity {
            domain_id: domain_id.to_string(),
            local_id: local_id.clone(),
            entity_type,
        };
        let id = generate_public_id(domain_id, local_id, entity_type);
        insert(conn, &id, &e)?;
        known.insert(local_id.clone(), id);
    }
    Ok(known)
}

/// `purge_mappings`' filter: each field given narrows what goes; none given purges every
/// mapping (keystone-manage mapping_purge --all).
#[derive(Debug, Default, Clone)]
pub struct Purge {
    pub domain_id: Option<String>,
    pub public_id: Option<String>,
    pub local_id: Option<String>,
    pub entity_type: Option<EntityType>,
}

/// `purge_mappings`: deletes the mappings that match; how many went. The public ids stay
/// derivable (sha256), so a purged mapping comes back with the same id when the entity is
/// next listed.
pub fn purge(conn: &mut AnyConnection, what: &Purge) -> Result<usize> {
    let mut q = id_mapping::table.select(id_mapping::public_id).into_boxed();
    if let Some(v) = &what.domain_id {
        q = q.filter(id_mapping::domain_id.eq(v.clone()));
    }
    if let Some(v) = &what.public_id {
        q = q.filter(id_mapping::public_id.eq(v.clone()));
    }
    if let Some(v) = &what.local_id {
        q = q.filter(id_mapping::local_id.eq(v.clone()));
    }
    if let Some(v) = what.entity_type {
        q = q.filter(id_mapping::entity_type.eq(v));
    }
    let ids: Vec<String> = q.load(conn)?;
    for chunk in ids.chunks(500) {
        diesel::delete(id_mapping::table.filter(id_mapping::public_id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ids_are_keystones_sha256_of_the_values_in_key_order() {
        // hashlib.sha256(b'd1' + b'user' + b'alice').hexdigest(), as sha256.py computes it
        // for {'domain_id': 'd1', 'local_id': 'alice', 'entity_type': 'user'}.
        assert_eq!(
            generate_public_id("d1", "alice", EntityType::User),
            "502ff5f0c85158c9ee6b9bc1e118e32ec0c91e39452f67738b36d8543d0551fc"
        );
        assert_eq!(
            generate_public_id("d1", "devs", EntityType::Group),
            "f0f2650b0a8d176df66231055d51417bb199220e0f187b3a4463ca9efd46501c"
        );
    }
}
