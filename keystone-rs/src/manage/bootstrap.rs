//! `bootstrap`: the default domain, an admin project, user and role (with Keystone's
//! reader/member/manager/admin/service roles and their implications), system admin, and
//! the identity service with its endpoints. Idempotent, as keystone-manage's.

use crate::assignment::store as roles;
use crate::catalog::{Endpoint, store as catalog};
use crate::config::Config;
use crate::db::{AnyConnection, Db};
use crate::error::Result;
use crate::identity::{NewUser, password, store as users};
use crate::resource::{ROOT_DOMAIN_ID, store as resource};

#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    pub password: String,
    pub username: String,
    pub project_name: String,
    pub role_name: String,
    pub service_name: String,
    pub region_id: Option<String>,
    pub public_url: Option<String>,
    pub internal_url: Option<String>,
    pub admin_url: Option<String>,
}

impl BootstrapOptions {
    pub fn with_password(password: String) -> Self {
        BootstrapOptions {
            password,
            username: "admin".into(),
            project_name: "admin".into(),
            role_name: "admin".into(),
            service_name: "keystone".into(),
            region_id: None,
            public_url: None,
            internal_url: None,
            admin_url: None,
        }
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Find a global role by name or create it; returns its id.
fn ensure_role(conn: &mut AnyConnection, name: &str) -> Result<String> {
    if let Some(role) = roles::find_global_role_by_name(conn, name)? {
        return Ok(role.id);
    }
    let id = new_id();
    roles::insert_role(conn, &id, name, true)?;
    Ok(id)
}

pub fn run(config: &Config, db: &Db, opts: &BootstrapOptions) -> Result<()> {
    // Hash outside the transaction: bcrypt takes a while and holds no lock.
    let hash = password::hash_password(&opts.password, &config.identity)?;
    db.write_blocking(|conn| {
        let domain_id = config.identity.default_domain_id.clone();
        if resource::get_domain(conn, &domain_id)?.is_none() {
            resource::insert(
                conn,
                &resource::NewProject {
                    id: &domain_id,
                    name: "Default",
                    description: "The default domain",
                    enabled: true,
                    domain_id: ROOT_DOMAIN_ID,
                    parent_id: None,
                    is_domain: true,
                },
            )?;
        }
        let project_id = match resource::find_project_by_name(conn, &domain_id, &opts.project_name)?
        {
            Some(p) => p.id,
            None => {
                let id = new_id();
                resource::insert(
                    conn,
                    &resource::NewProject {
                        id: &id,
                        name: &opts.project_name,
                        description: "Bootstrap project for initializing the cloud.",
                        enabled: true,
                        domain_id: &domain_id,
                        parent_id: Some(&domain_id),
                        is_domain: false,
                    },
                )?;
                id
            }
        };

        let reader = ensure_role(conn, "reader")?;
        let member = ensure_role(conn, "member")?;
        let manager = ensure_role(conn, "manager")?;
        let admin = ensure_role(conn, &opts.role_name)?;
        ensure_role(conn, "service")?;
        roles::add_implication(conn, &admin, &manager)?;
        roles::add_implication(conn, &manager, &member)?;
        roles::add_implication(conn, &member, &reader)?;

        let user_id = match users::find_by_name(conn, &domain_id, &opts.username)? {
            Some(user) => {
                // keystone-manage re-enables the user and resets a changed password.
                if !user.enabled {
                    users::set_enabled(conn, &user.id, true)?;
                }
                let current = users::current_password(conn, &user.id)?.and_then(|p| p.hash);
                if !current.is_some_and(|h| password::verify_password(&opts.password, &h)) {
                    users::add_password(conn, &user.id, &hash, false)?;
                }
                user.id
            }
            None => {
                let id = new_id();
                users::create_local(
                    conn,
                    &NewUser {
                        id: id.clone(),
                        domain_id: domain_id.clone(),
                        name: opts.username.clone(),
                        enabled: true,
                        default_project_id: None,
                        extra: Default::default(),
                        password_hash: Some(hash.clone()),
                    },
                )?;
                id
            }
        };
        roles::grant(
            conn,
            roles::AssignmentType::UserProject,
            &user_id,
            &project_id,
            &admin,
            false,
        )?;
        roles::grant_system(conn, roles::USER_SYSTEM, &user_id, &admin)?;

        if let Some(region) = &opts.region_id {
            if !catalog::region_exists(conn, region)? {
                catalog::insert_region(conn, region)?;
            }
        }
        let service_id =
            match catalog::find_service_by_type_and_name(conn, "identity", &opts.service_name)? {
                Some(s) => s.id,
                None => {
                    let id = new_id();
                    catalog::insert_service(conn, &id, "identity", &opts.service_name)?;
                    id
                }
            };
        let existing = catalog::list_endpoints(conn)?;
        for (interface, url) in [
            ("public", &opts.public_url),
            ("internal", &opts.internal_url),
            ("admin", &opts.admin_url),
        ] {
            let Some(url) = url else { continue };
            let found = existing.iter().find(|e| {
                e.service_id == service_id
                    && e.interface == interface
                    && e.region_id == opts.region_id
            });
            match found {
                Some(e) if &e.url != url => catalog::update_endpoint_url(conn, &e.id, url)?,
                Some(_) => {}
                None => catalog::insert_endpoint(
                    conn,
                    &Endpoint {
                        id: new_id(),
                        interface: interface.into(),
                        service_id: service_id.clone(),
                        url: url.clone(),
                        enabled: true,
                        region_id: opts.region_id.clone(),
                        extra: Default::default(),
                    },
                )?,
            }
        }
        Ok(())
    })
}

/// True when nothing has been bootstrapped yet (no default domain).
pub fn is_empty(config: &Config, db: &Db) -> Result<bool> {
    db.read_blocking(|conn| {
        Ok(resource::get_domain(conn, &config.identity.default_domain_id)?.is_none())
    })
}
