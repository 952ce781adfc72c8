//! A validated token as Keystone's `{"token": …}` body, with its catalog.

use super::cache::CatalogProject;
use super::formatter::TokenFormatter;
use super::model::{BodyAroundCatalog, RenderedCatalog, ResolvedScope, Token};
use crate::catalog;
use crate::config::Config;
use crate::db::{AnyConnection, Db, MaybeConn};
use crate::error::Result;
use crate::fernet::keystone_time;
use crate::identity::model::User;
use crate::json::{Style, to_ascii_string};
use actix_web::web::Bytes;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Keystone's `password_expires_at`: no `Z`, real microseconds.
fn password_expiry(user: &User) -> Value {
    match user.password_expires_at {
        Some(t) => Value::from(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
        None => Value::Null,
    }
}

fn id_name(id: &str, name: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), id.into());
    m.insert("name".into(), name.into());
    Value::Object(m)
}

/// Keystone's `get_enabled_service_providers`, as token bodies show them (read once per
/// state of the database, like everything else a token refers to).
pub fn service_providers(
    conn: &mut MaybeConn,
    cache: &super::cache::ValidationCache,
) -> Result<Arc<Vec<Value>>> {
    cache
        .service_providers
        .get_or_load_value(cache, (), || Ok(Arc::new(read_service_providers(conn)?)))
}

fn read_service_providers(conn: &mut MaybeConn) -> Result<Vec<Value>> {
    Ok(crate::federation::provider_store::list_sps(conn.get()?)?
        .into_iter()
        .filter(|sp| sp.enabled)
        .map(|sp| {
            let mut m = Map::new();
            m.insert("auth_url".into(), sp.auth_url.into());
            m.insert("id".into(), sp.id.into());
            m.insert("sp_url".into(), sp.sp_url.into());
            Value::Object(m)
        })
        .collect())
}

/// The catalog for a token's scope (Keystone's `get_v3_catalog`; endpoints whose URL
/// needs a project id are left out of domain- and system-scoped catalogs).
pub fn catalog_for(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    token: &Token,
) -> Result<Value> {
    Ok(
        cached_catalog(&mut MaybeConn::open(conn), tokens, config, token)?
            .value
            .clone(),
    )
}

fn cached_catalog(
    conn: &mut MaybeConn,
    tokens: &TokenFormatter,
    config: &Config,
    token: &Token,
) -> Result<Arc<RenderedCatalog>> {
    let cache = &tokens.cache;
    cache.sync(conn)?;
    let depends = cache.catalog_dependence.get_or_load_value(cache, (), || {
        Ok(Arc::new(catalog::dependence(conn.get()?)?))
    })?;
    let user = match depends.user {
        true => token.catalog_user_id().to_string(),
        false => String::new(),
    };
    let project = match token.project_id() {
        None => CatalogProject::None,
        Some(id) if depends.on_project(id) => CatalogProject::Project(id.to_string()),
        Some(_) => CatalogProject::Any,
    };
    let key = (user, project);
    cache.catalogs.get_or_load_value(cache, key, || {
        let value = catalog::v3_catalog(
            conn.get()?,
            config,
            token.catalog_user_id(),
            token.project_id(),
        )?;
        let json = to_ascii_string(&value, Style::Python);
        Ok(Arc::new(RenderedCatalog { value, json }))
    })
}

/// [`catalog_for`] from an async handler: from the cache when it holds it, else on the
/// blocking pool.
pub async fn catalog_async(
    db: &Db,
    tokens: &Arc<TokenFormatter>,
    config: &Arc<Config>,
    token: &Token,
) -> Result<Arc<RenderedCatalog>> {
    match cached_catalog(&mut MaybeConn::none(), tokens, config, token) {
        Err(e) if crate::db::needs_database(&e) => {}
        done => return done,
    }
    let (tokens, config, token) = (tokens.clone(), config.clone(), token.clone());
    db.read(move |conn| cached_catalog(&mut MaybeConn::open(conn), &tokens, &config, &token))
        .await
}

/// Stands for the catalog in a rendered body until its text replaces it: random per
/// process, so no stored name can spell it.
static CATALOG_PLACEHOLDER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("ksrs-catalog-{}", uuid::Uuid::new_v4().simple()));

/// A token's body as Keystone's JSON text ([`render`]), split where the catalog goes
/// ([`BodyAroundCatalog`]).
pub fn body_around_catalog(token: &Token) -> BodyAroundCatalog {
    if matches!(token.scope, ResolvedScope::Unscoped) {
        return BodyAroundCatalog {
            before: render_json_without_catalog(token).into(),
            after: None,
        };
    }
    let placeholder = Value::from(CATALOG_PLACEHOLDER.as_str());
    let text = to_ascii_string(&render(token, Some(placeholder)), Style::Python);
    let marker = format!("\"{}\"", CATALOG_PLACEHOLDER.as_str());
    let (before, after) = text
        .split_once(&marker)
        .expect("the rendered body holds the placeholder");
    BodyAroundCatalog {
        before: Bytes::copy_from_slice(before.as_bytes()),
        after: Some(Bytes::copy_from_slice(after.as_bytes())),
    }
}

/// [`render`] as Keystone's JSON text, without a catalog (`?nocatalog`, unscoped tokens).
pub fn render_json_without_catalog(token: &Token) -> String {
    to_ascii_string(&render(token, None), Style::Python)
}

/// The `{"token": …}` body, in Keystone's key order (tokens-api.md §3).
pub fn render(token: &Token, catalog: Option<Value>) -> Value {
    let mut t = Map::new();
    t.insert("methods".into(), token.payload.methods.clone().into());
    let mut user = Map::new();
    user.insert(
        "domain".into(),
        id_name(&token.user_domain.id, &token.user_domain.name),
    );
    user.insert("id".into(), token.user.id.clone().into());
    user.insert("name".into(), token.user.name.clone().into());
    // A federated token's user shows its federation instead of a password expiry.
    match token.federated() {
        Some(f) => {
            let groups: Vec<Value> = f
                .group_ids
                .iter()
                .map(|id| serde_json::json!({"id": id}))
                .collect();
            let mut fed = Map::new();
            fed.insert("groups".into(), groups.into());
            fed.insert(
                "identity_provider".into(),
                serde_json::json!({"id": f.identity_provider_id}),
            );
            fed.insert("protocol".into(), serde_json::json!({"id": f.protocol_id}));
            user.insert("OS-FEDERATION".into(), Value::Object(fed));
        }
        None => {
            user.insert("password_expires_at".into(), password_expiry(&token.user));
        }
    }
    t.insert("user".into(), Value::Object(user));
    t.insert("audit_ids".into(), token.payload.audit_ids.clone().into());
    t.insert(
        "expires_at".into(),
        keystone_time(token.payload.expires_at).into(),
    );
    t.insert("issued_at".into(), keystone_time(token.issued_at).into());
    // Keystone's federated roles are whole role dicts.
    let roles: Vec<Value> = token
        .roles
        .iter()
        .map(|r| match token.federated() {
            Some(_) => r.to_dict(),
            None => id_name(&r.id, &r.name),
        })
        .collect();
    match &token.scope {
        ResolvedScope::Unscoped => {}
        ResolvedScope::System => {
            t.insert("roles".into(), roles.into());
            t.insert("system".into(), serde_json::json!({"all": true}));
        }
        ResolvedScope::Domain(d) => {
            t.insert("domain".into(), id_name(&d.id, &d.name));
            t.insert("roles".into(), roles.into());
        }
        ResolvedScope::Project { project, domain } => {
            if let Some(trust) = &token.trust {
                t.insert("OS-TRUST:trust".into(), trust.token_json());
            }
            let mut p = Map::new();
            p.insert("domain".into(), id_name(&domain.id, &domain.name));
            p.insert("id".into(), project.id.clone().into());
            p.insert("name".into(), project.name.clone().into());
            t.insert("project".into(), Value::Object(p));
            match &token.trust {
                // Keystone's trust branch shows whole role dicts and no `is_domain`.
                Some(_) => {
                    let full: Vec<Value> = token.roles.iter().map(|r| r.to_dict()).collect();
                    t.insert("roles".into(), full.into());
                }
                None => {
                    t.insert("is_domain".into(), project.is_domain.into());
                    t.insert("roles".into(), roles.into());
                }
            }
        }
    }
    if let Some(catalog) = catalog {
        if !matches!(token.scope, ResolvedScope::Unscoped) {
            t.insert("catalog".into(), catalog);
        }
    }
    if !token.service_providers.is_empty() {
        t.insert(
            "service_providers".into(),
            Value::Array(token.service_providers.as_ref().clone()),
        );
    }
    if let Some(d) = &token.oauth1 {
        t.insert(
            "OS-OAUTH1".into(),
            serde_json::json!({"access_token_id": d.access_token_id, "consumer_id": d.consumer_id}),
        );
    }
    if let Some(ac) = &token.application_credential {
        t.insert("application_credential".into(), ac.token_json());
    }
    if let Some(thumbprint) = &token.payload.thumbprint {
        t.insert(
            "oauth2_credential".into(),
            serde_json::json!({"x5t#S256": thumbprint}),
        );
    }
    let mut outer = Map::new();
    outer.insert("token".into(), Value::Object(t));
    Value::Object(outer)
}
