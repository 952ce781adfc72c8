//! Domain-specific LDAP identity backends (Keystone's `[identity]
//! domain_specific_drivers_enabled` with `driver = ldap` in a domain's configuration).
//!
//! A domain's configuration comes from `keystone.<domain name>.conf` in
//! `[identity] domain_config_dir`, or from the database (`/v3/domains/{id}/config`) with
//! `domain_configurations_from_database`. Its users and groups are read from the
//! directory (read-only, as Keystone's driver is), get public ids through the id mapping
//! (`identity::mapping`, so Python Keystone derives the same ids), and a user who
//! authenticates is shadowed in SQL (`user` + `nonlocal_user`) as Keystone does, so role
//! assignments, tokens and `last_active_at` refer to a row. Every other domain stays SQL.
//!
//! This module answers in public ids; `directory` speaks the directory's local ids.

pub mod client;
pub mod directory;
pub mod options;

use crate::config::Config;
use crate::db::AnyConnection;
use crate::db::enums::EntityType;
use crate::db::listing::Hints;
use crate::error::{Error, Result};
use crate::identity::mapping::{self, LocalEntity};
use crate::identity::{Group, User, UserDetails};
use actix_web::http::StatusCode;
use client::Failure;
use directory::{Directory, LdapGroup, LdapUser};
use options::LdapOptions;
use serde_json::{Map, Value};

/// Keystone's `READ_ONLY_LDAP_ERROR_MESSAGE`.
pub const READ_ONLY: &str = "LDAP does not support write operations";

/// A domain served by a directory.
#[derive(Debug, Clone)]
pub struct LdapDomain {
    pub domain_id: String,
    pub options: LdapOptions,
}

/// The domain's identity configuration groups, from the database or its file.
fn domain_groups(
    conn: &mut AnyConnection,
    config: &Config,
    domain_id: &str,
) -> Result<Map<String, Value>> {
    if config.identity.domain_configurations_from_database {
        return crate::domain_config::config_with_sensitive(conn, domain_id, None, None);
    }
    let Some(domain) = crate::resource::store::get_domain(conn, domain_id)? else {
        return Ok(Map::new());
    };
    let file = config
        .identity
        .domain_config_dir
        .join(format!("keystone.{}.conf", domain.name));
    Ok(crate::domain_config::read_file(&file)
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default())
}

/// The directory serving `domain_id`, or `None` when the domain is on SQL (no
/// domain-specific configuration, or `[identity] driver = sql`).
pub fn backend_of(
    conn: &mut AnyConnection,
    config: &Config,
    domain_id: &str,
) -> Result<Option<LdapDomain>> {
    if !config.identity.domain_specific_drivers_enabled {
        return Ok(None);
    }
    let groups = domain_groups(conn, config, domain_id)?;
    let driver = groups
        .get("identity")
        .and_then(|g| g.get("driver"))
        .and_then(Value::as_str)
        .unwrap_or("sql");
    match driver {
        "sql" => Ok(None),
        "ldap" => {
            let empty = Map::new();
            let group = groups
                .get("ldap")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let options = LdapOptions::from_group(group).map_err(|e| {
                tracing::error!(domain = domain_id, error = ?e.detail, "invalid [ldap] options");
                unavailable(domain_id)
            })?;
            Ok(Some(LdapDomain {
                domain_id: domain_id.to_string(),
                options,
            }))
        }
        other => {
            tracing::error!(
                domain = domain_id,
                driver = other,
                "unknown identity driver"
            );
            Err(unavailable(domain_id))
        }
    }
}

/// The directory behind a public id from the id mapping (`_get_domain_driver_and_entity_id`):
/// its domain and the local id, when the id is of that kind and its domain is on LDAP.
pub fn resolve(
    conn: &mut AnyConnection,
    config: &Config,
    public_id: &str,
    kind: EntityType,
) -> Result<Option<(LdapDomain, String)>> {
    if !config.identity.domain_specific_drivers_enabled {
        return Ok(None);
    }
    let Some(e) = mapping::lookup(conn, public_id)? else {
        return Ok(None);
    };
    if e.entity_type != kind {
        return Ok(None);
    }
    Ok(backend_of(conn, config, &e.domain_id)?.map(|d| (d, e.local_id)))
}

/// The answer for a directory that cannot be used: 503, naming the domain only.
pub fn unavailable(domain_id: &str) -> Error {
    Error::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("The identity backend of domain {domain_id} is unavailable; please retry later."),
    )
}

fn failed(domain: &LdapDomain, f: Failure) -> Error {
    match f {
        Failure::Unreachable(why) => {
            tracing::error!(domain = %domain.domain_id, error = %why, "LDAP backend failed");
            unavailable(&domain.domain_id)
        }
        Failure::Refused => Error::unauthorized_because("LDAP bind refused"),
    }
}

/// Keystone's 403 for any write to a read-only LDAP domain.
pub fn read_only() -> Error {
    Error::new(StatusCode::FORBIDDEN, READ_ONLY)
}

fn open(domain: &LdapDomain) -> Result<Directory<'_>> {
    Directory::open(&domain.options).map_err(|f| failed(domain, f))
}

fn entity(domain: &LdapDomain, local_id: &str, entity_type: EntityType) -> LocalEntity {
    LocalEntity {
        domain_id: domain.domain_id.clone(),
        local_id: local_id.to_string(),
        entity_type,
    }
}

/// A directory user as the API shows it (public id, the domain, empty options).
fn user_model(domain: &LdapDomain, public_id: String, u: &LdapUser) -> UserDetails {
    let mut extra = Map::new();
    if let Some(d) = &u.description {
        extra.insert("description".into(), d.clone().into());
    }
    if let Some(m) = &u.email {
        extra.insert("email".into(), m.clone().into());
    }
    UserDetails {
        user: User {
            id: public_id,
            domain_id: domain.domain_id.clone(),
            name: u.name.clone(),
            enabled: u.enabled.unwrap_or(true),
            default_project_id: u.default_project_id.clone(),
            extra,
            password_expires_at: None,
            last_active_at: None,
            created_at: None,
        },
        options: Default::default(),
        federated: Vec::new(),
    }
}

fn group_model(domain: &LdapDomain, public_id: String, g: &LdapGroup) -> Group {
    Group {
        id: public_id,
        domain_id: domain.domain_id.clone(),
        name: g.name.clone(),
        description: g.description.clone(),
        extra: Map::new(),
    }
}

fn users_mapped(
    conn: &mut AnyConnection,
    domain: &LdapDomain,
    users: Vec<LdapUser>,
) -> Result<Vec<UserDetails>> {
    let local: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let ids = mapping::public_ids(conn, &domain.domain_id, EntityType::User, &local)?;
    Ok(users
        .iter()
        .filter_map(|u| Some(user_model(domain, ids.get(&u.id)?.clone(), u)))
        .collect())
}

fn groups_mapped(
    conn: &mut AnyConnection,
    domain: &LdapDomain,
    groups: Vec<LdapGroup>,
) -> Result<Vec<Group>> {
    let local: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let ids = mapping::public_ids(conn, &domain.domain_id, EntityType::Group, &local)?;
    Ok(groups
        .iter()
        .filter_map(|g| Some(group_model(domain, ids.get(&g.id)?.clone(), g)))
        .collect())
}

/// `list_users` on the domain's directory; the filters it could not answer stay in `hints`.
pub fn list_users(
    conn: &mut AnyConnection,
    domain: &LdapDomain,
    hints: &mut Hints,
) -> Result<Vec<UserDetails>> {
    let users = open(domain)?
        .list_users(hints)
        .map_err(|f| failed(domain, f))?;
    users_mapped(conn, domain, users)
}

pub fn list_groups(
    conn: &mut AnyConnection,
    domain: &LdapDomain,
    hints: &mut Hints,
) -> Result<Vec<Group>> {
    let groups = open(domain)?
        .list_groups(hints)
        .map_err(|f| failed(domain, f))?;
    groups_mapped(conn, domain, groups)
}

fn find_user(domain: &LdapDomain, local_id: &str) -> Result<LdapUser> {
    open(domain)?
        .get_user(local_id)
        .map_err(|f| failed(domain, f))?
        .ok_or_else(|| Error::could_not_find("user", local_id))
}

fn find_group(domain: &LdapDomain, local_id: &str) -> Result<LdapGroup> {
    open(domain)?
        .get_group(local_id)
        .map_err(|f| failed(domain, f))?
        .ok_or_else(|| Error::could_not_find("group", local_id))
}

pub fn get_user(
    conn: &mut AnyConnection,
    domain: &LdapDomain,
    local_id: &str,
) -> Result<UserDetails> {
    let u = find_user(domain, local_id)?;
    let id = mapping::public_id(conn, &entity(domain, &u.id, EntityType::User))?;
    Ok(user_model(domain, id, &u))
}

pub fn get_group(conn: &mut AnyConnection, domain: &LdapDomain, local_id: &str) -> Result<Group> {
    let g = find_group(domain, local_id)?;
    let id = mapping::public_id(conn, &entity(domain, &g.id, EntityType::Group))?;
    Ok(group_model(domain, id, &g))
}

/// `list_groups_for_user`.
pub fn groups_of_user(
    conn: &mut AnyConnection,
    domain: &LdapDomain,
    local_user_id: &str,
    hints: &mut Hints,
) -> Result<Vec<Group>> {
    let mut dir = open(domain)?;
    let user = dir
        .get_user(local_user_id)
        .map_err(|f| failed(domain, f))?
        .ok_or_else(|| Error::could_not_find("user", local_user_id))?;
    let groups = dir.groups_of(&user, hints).map_err(|f| failed(domain, f))?;
    groups_mapped(conn, domain, groups)
}

/// `list_users_in_group`.
pub fn users_in_group(
    conn: &mut AnyConnection,
    domain: &LdapDomain,
    local_group_id: &str,
) -> Result<Vec<UserDetails>> {
    let mut dir = open(domain)?;
    let group = dir
        .get_group(local_group_id)
        .map_err(|f| failed(domain, f))?
        .ok_or_else(|| Error::could_not_find("group", local_group_id))?;
    let users = dir.members_of(&group).map_err(|f| failed(domain, f))?;
    users_mapped(conn, domain, users)
}

/// `check_user_in_group`: the user must exist; then whether it is a member.
pub fn is_member(domain: &LdapDomain, local_user_id: &str, local_group_id: &str) -> Result<bool> {
    find_user(domain, local_user_id)?;
    let mut dir = open(domain)?;
    let group = dir
        .get_group(local_group_id)
        .map_err(|f| failed(domain, f))?
        .ok_or_else(|| Error::could_not_find("group", local_group_id))?;
    let members = dir.members_of(&group).map_err(|f| failed(domain, f))?;
    Ok(members.iter().any(|m| m.id == local_user_id))
}

/// Which user a password request names: its local id (from a public id) or its name.
pub enum Login {
    LocalId(String),
    Name(String),
}

/// Keystone's `authenticate` for a directory user: the user's own bind, then its public
/// id and its SQL shadow. Any refusal — unknown user, empty or wrong password, disabled
/// user — is a 401.
pub fn authenticate(
    conn: &mut AnyConnection,
    domain: &LdapDomain,
    login: Login,
    password: &str,
) -> Result<User> {
    let denied = |why: &str| Error::unauthorized_because(why.to_string());
    let mut dir = open(domain)?;
    let found = match login {
        Login::LocalId(id) => dir.get_user(&id),
        Login::Name(name) => dir.user_by_name(&name),
    }
    .map_err(|f| failed(domain, f))?
    .ok_or_else(|| denied("unknown user"))?;
    dir.authenticate(&found, password)
        .map_err(|f| failed(domain, f))?;
    let id = mapping::public_id(conn, &entity(domain, &found.id, EntityType::User))?;
    let shown = user_model(domain, id, &found);
    if !shown.user.enabled {
        return Err(denied("user disabled"));
    }
    let user = shown.user;
    crate::identity::store::shadow_nonlocal_user(
        conn,
        &user.id,
        &user.domain_id,
        &user.name,
        &user.extra,
    )?;
    Ok(user)
}

/// The directory as [`crate::identity::remote`] sees it.
pub struct Remote {
    pub config: std::sync::Arc<Config>,
}

impl crate::identity::remote::RemoteIdentity for Remote {
    fn user(&self, conn: &mut AnyConnection, public_id: &str) -> Result<Option<User>> {
        match resolve(conn, &self.config, public_id, EntityType::User)? {
            Some((domain, local)) => match find_user(&domain, &local) {
                Ok(u) => Ok(Some(user_model(&domain, public_id.to_string(), &u).user)),
                Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    fn group(&self, conn: &mut AnyConnection, public_id: &str) -> Result<Option<Group>> {
        match resolve(conn, &self.config, public_id, EntityType::Group)? {
            Some((domain, local)) => match find_group(&domain, &local) {
                Ok(g) => Ok(Some(group_model(&domain, public_id.to_string(), &g))),
                Err(e) if e.status == StatusCode::NOT_FOUND => Ok(None),
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    fn group_ids_of(
        &self,
        conn: &mut AnyConnection,
        public_id: &str,
    ) -> Result<Option<Vec<String>>> {
        match resolve(conn, &self.config, public_id, EntityType::User)? {
            Some((domain, local)) => {
                let groups = groups_of_user(conn, &domain, &local, &mut Hints::default())?;
                Ok(Some(groups.into_iter().map(|g| g.id).collect()))
            }
            None => Ok(None),
        }
    }

    fn member_ids_of(
        &self,
        conn: &mut AnyConnection,
        public_id: &str,
    ) -> Result<Option<Vec<String>>> {
        match resolve(conn, &self.config, public_id, EntityType::Group)? {
            Some((domain, local)) => {
                let users = users_in_group(conn, &domain, &local)?;
                Ok(Some(users.into_iter().map(|u| u.user.id).collect()))
            }
            None => Ok(None),
        }
    }
}
