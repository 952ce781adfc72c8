//! A validated token as Keystone's `{"token": …}` body, with its catalog.

use super::cache::CatalogProject;
use super::formatter::TokenFormatter;
use super::model::{BodyAroundCatalog, RenderedCatalog, ResolvedScope, Token};
use crate::assignment::model::Role;
use crate::catalog;
use crate::config::Config;
use crate::db::{AnyConnection, Db, MaybeConn};
use crate::error::Result;
use crate::fernet::keystone_time;
use crate::json::{Style, to_ascii_string};
use crate::resource::model::Project;
use actix_web::web::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

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
) -> Result<Arc<RenderedCatalog>> {
    cached_catalog(&mut MaybeConn::open(conn), tokens, config, token)
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

/// A token's body as Keystone's JSON text ([`TokenBody`]), split where the catalog goes
/// ([`BodyAroundCatalog`]).
pub fn body_around_catalog(token: &Token) -> BodyAroundCatalog {
    if matches!(token.scope, ResolvedScope::Unscoped) {
        return BodyAroundCatalog {
            before: render_json_without_catalog(token).into(),
            after: None,
        };
    }
    let placeholder = Value::from(CATALOG_PLACEHOLDER.as_str());
    let text = to_ascii_string(&TokenBody::of(token, Some(&placeholder)), Style::Python);
    let marker = format!("\"{}\"", CATALOG_PLACEHOLDER.as_str());
    let (before, after) = text
        .split_once(&marker)
        .expect("the rendered body holds the placeholder");
    BodyAroundCatalog {
        before: Bytes::copy_from_slice(before.as_bytes()),
        after: Some(Bytes::copy_from_slice(after.as_bytes())),
    }
}

/// A token's body as Keystone's JSON text, without a catalog (`?nocatalog`, unscoped tokens).
pub fn render_json_without_catalog(token: &Token) -> String {
    to_ascii_string(&TokenBody::of(token, None), Style::Python)
}

/// The whole body as Keystone's JSON text, with the catalog's cached text spliced in
/// (issue, EC2/S3 authentication).
pub fn render_text(token: &Token, catalog: Option<&RenderedCatalog>) -> Bytes {
    match catalog {
        Some(catalog) => body_around_catalog(token).with(catalog),
        None => render_json_without_catalog(token).into(),
    }
}

/// What `{"token": …}` holds, without the catalog, as a JSON value (the `token` of policy
/// credentials).
pub fn token_value(token: &Token) -> Value {
    serde_json::to_value(TokenBody::of(token, None).token).unwrap_or(Value::Null)
}

/// The `{"token": …}` body in Keystone's key order (tokens-api.md §3), serialised straight
/// from the token's fields: a validation that misses the cache renders this once, and
/// building a `Value` tree first cost a copy of every string and a map per object.
#[derive(Serialize)]
struct TokenBody<'a> {
    token: TokenFields<'a>,
}

/// Fields in the order Keystone writes them; each scope fills its own, so one order serves
/// all (system: roles, system; domain: domain, roles; project: trust, project, is_domain,
/// roles).
#[derive(Serialize)]
struct TokenFields<'a> {
    methods: &'a [String],
    user: UserBody<'a>,
    audit_ids: &'a [String],
    expires_at: String,
    issued_at: String,
    #[serde(rename = "OS-TRUST:trust", skip_serializing_if = "Option::is_none")]
    trust: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<IdName<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<ProjectBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_domain: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Roles<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<SystemAll>,
    #[serde(skip_serializing_if = "Option::is_none")]
    catalog: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[Value]>::is_empty")]
    service_providers: &'a [Value],
    #[serde(rename = "OS-OAUTH1", skip_serializing_if = "Option::is_none")]
    oauth1: Option<OAuth1Body<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    application_credential: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth2_credential: Option<Thumbprint<'a>>,
}

#[derive(Serialize)]
struct IdName<'a> {
    id: &'a str,
    name: &'a str,
}

impl<'a> IdName<'a> {
    fn of(project: &'a Project) -> Self {
        IdName {
            id: &project.id,
            name: &project.name,
        }
    }
}

#[derive(Serialize)]
struct Id<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct UserBody<'a> {
    domain: IdName<'a>,
    id: &'a str,
    name: &'a str,
    /// A federated token's user shows its federation instead of a password expiry.
    #[serde(rename = "OS-FEDERATION", skip_serializing_if = "Option::is_none")]
    federation: Option<FederationBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_expires_at: Option<Option<String>>,
}

#[derive(Serialize)]
struct FederationBody<'a> {
    groups: Vec<Id<'a>>,
    identity_provider: Id<'a>,
    protocol: Id<'a>,
}

#[derive(Serialize)]
struct ProjectBody<'a> {
    domain: IdName<'a>,
    id: &'a str,
    name: &'a str,
}

/// Roles as `{"id", "name"}`, except where Keystone shows whole role dicts (federated and
/// trust tokens).
enum Roles<'a> {
    Brief(&'a [Role]),
    Whole(&'a [Role]),
}

impl Serialize for Roles<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Roles::Brief(roles) => serializer.collect_seq(roles.iter().map(|r| IdName {
                id: &r.id,
                name: &r.name,
            })),
            Roles::Whole(roles) => serializer.collect_seq(roles.iter().map(Role::to_dict)),
        }
    }
}

#[derive(Serialize)]
struct SystemAll {
    all: bool,
}

#[derive(Serialize)]
struct OAuth1Body<'a> {
    access_token_id: &'a str,
    consumer_id: &'a str,
}

#[derive(Serialize)]
struct Thumbprint<'a> {
    #[serde(rename = "x5t#S256")]
    x5t_s256: &'a str,
}

impl<'a> TokenBody<'a> {
    fn of(token: &'a Token, catalog: Option<&'a Value>) -> Self {
        let federated = token.federated();
        let user = UserBody {
            domain: IdName::of(&token.user_domain),
            id: &token.user.id,
            name: &token.user.name,
            federation: federated.map(|f| FederationBody {
                groups: f.group_ids.iter().map(|id| Id { id }).collect(),
                identity_provider: Id {
                    id: &f.identity_provider_id,
                },
                protocol: Id { id: &f.protocol_id },
            }),
            // Keystone's `password_expires_at`: no `Z`, real microseconds.
            password_expires_at: match federated {
                Some(_) => None,
                None => Some(
                    token
                        .user
                        .password_expires_at
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()),
                ),
            },
        };
        let roles = match federated {
            Some(_) => Roles::Whole(&token.roles),
            None => Roles::Brief(&token.roles),
        };
        let mut fields = TokenFields {
            methods: &token.payload.methods,
            user,
            audit_ids: &token.payload.audit_ids,
            expires_at: keystone_time(token.payload.expires_at),
            issued_at: keystone_time(token.issued_at),
            trust: None,
            domain: None,
            project: None,
            is_domain: None,
            roles: None,
            system: None,
            catalog: None,
            service_providers: &token.service_providers,
            oauth1: token.oauth1.as_ref().map(|d| OAuth1Body {
                access_token_id: &d.access_token_id,
                consumer_id: &d.consumer_id,
            }),
            application_credential: token
                .application_credential
                .as_ref()
                .map(|ac| ac.token_json()),
            oauth2_credential: token
                .payload
                .thumbprint
                .as_deref()
                .map(|x5t_s256| Thumbprint { x5t_s256 }),
        };
        match &token.scope {
            ResolvedScope::Unscoped => {}
            ResolvedScope::System => {
                fields.roles = Some(roles);
                fields.system = Some(SystemAll { all: true });
            }
            ResolvedScope::Domain(d) => {
                fields.domain = Some(IdName::of(d));
                fields.roles = Some(roles);
            }
            ResolvedScope::Project { project, domain } => {
                fields.project = Some(ProjectBody {
                    domain: IdName::of(domain),
                    id: &project.id,
                    name: &project.name,
                });
                match &token.trust {
                    // Keystone's trust branch shows whole role dicts and no `is_domain`.
                    Some(trust) => {
                        fields.trust = Some(trust.token_json());
                        fields.roles = Some(Roles::Whole(&token.roles));
                    }
                    None => {
                        fields.is_domain = Some(project.is_domain);
                        fields.roles = Some(roles);
                    }
                }
            }
        }
        if !matches!(token.scope, ResolvedScope::Unscoped) {
            fields.catalog = catalog;
        }
        TokenBody { token: fields }
    }
}
