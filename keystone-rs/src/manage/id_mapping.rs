//! `keystone-manage mapping_populate` and `mapping_purge`: the id mapping of LDAP domains
//! (`identity::mapping`), filled ahead of the first listing or emptied.

use crate::config::Config;
use crate::db::Db;
use crate::db::enums::EntityType;
use crate::db::listing::Hints;
use crate::identity::mapping::{self, Purge};

/// What `mapping_populate` did.
#[derive(Debug, PartialEq)]
pub enum Populated {
    /// No domain of that name: Keystone prints this line and still exits 0.
    NoSuchDomain(String),
    /// The domain's users listed through its backend: the mapped ones (0 on SQL, whose
    /// users carry their own ids).
    Users(usize),
}

/// `MappingPopulate`: Keystone lists the domain's users, which creates the mapping of each
/// one not yet mapped; so does this.
pub fn populate(config: &Config, domain_name: &str) -> anyhow::Result<Populated> {
    let db = Db::open(&config.database.connection, 1).map_err(super::for_operator)?;
    db.write_blocking(|conn| {
        let Some(domain) = crate::resource::store::find_domain_by_name(conn, domain_name)? else {
            return Ok(Populated::NoSuchDomain(format!(
                "Invalid domain name: {domain_name}"
            )));
        };
        match crate::ldap::backend_of(conn, config, &domain.id)? {
            None => Ok(Populated::Users(0)),
            Some(ldap) => {
                let users = crate::ldap::list_users(conn, &ldap, &mut Hints::default())?;
                Ok(Populated::Users(users.len()))
            }
        }
    })
    .map_err(super::for_operator)
}

/// mapping_purge's options as given on the command line.
#[derive(Debug, Default)]
pub struct PurgeOptions {
    pub all: bool,
    pub domain_name: Option<String>,
    pub public_id: Option<String>,
    pub local_id: Option<String>,
    pub entity_type: Option<EntityType>,
}

/// `validate_options`: at least one option, and `--all` alone.
fn validate(o: &PurgeOptions) -> anyhow::Result<()> {
    let narrowed = o.domain_name.is_some()
        || o.public_id.is_some()
        || o.local_id.is_some()
        || o.entity_type.is_some();
    if !o.all && !narrowed {
        anyhow::bail!("At least one option must be provided");
    }
    if o.all && narrowed {
        anyhow::bail!("--all option cannot be mixed with other options");
    }
    Ok(())
}

/// `MappingPurge`: deletes the mappings matching every option given; how many went.
pub fn purge(config: &Config, o: &PurgeOptions) -> anyhow::Result<usize> {
    validate(o)?;
    let db = Db::open(&config.database.connection, 1).map_err(super::for_operator)?;
    let domain_id = match &o.domain_name {
        None => None,
        Some(name) => Some(
            db.read_blocking(|conn| crate::resource::store::find_domain_by_name(conn, name))
                .map_err(super::for_operator)?
                .ok_or_else(|| {
                    anyhow::anyhow!("Unknown domain '{name}' specified by --domain-name")
                })?
                .id,
        ),
    };
    let what = Purge {
        domain_id,
        public_id: o.public_id.clone(),
        local_id: o.local_id.clone(),
        entity_type: o.entity_type,
    };
    db.write_blocking(|conn| mapping::purge(conn, &what))
        .map_err(super::for_operator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_needs_one_option_and_all_stands_alone() {
        let none = PurgeOptions::default();
        assert_eq!(
            validate(&none).unwrap_err().to_string(),
            "At least one option must be provided"
        );
        let mixed = PurgeOptions {
            all: true,
            entity_type: Some(EntityType::User),
            ..Default::default()
        };
        assert_eq!(
            validate(&mixed).unwrap_err().to_string(),
            "--all option cannot be mixed with other options"
        );
        let all = PurgeOptions {
            all: true,
            ..Default::default()
        };
        assert!(validate(&all).is_ok());
        let one = PurgeOptions {
            local_id: Some("alice".into()),
            ..Default::default()
        };
        assert!(validate(&one).is_ok());
    }
}
