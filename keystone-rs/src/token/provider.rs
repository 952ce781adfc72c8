//! Issue and validate: from an authenticated user and a scope to a Fernet token, and from a
//! token string back to a fully checked token (tokens-api.md §4, §6; revocation.md §3).

use super::{
    KeyRepository, KeyRing, PayloadCodec, Scope, TokenPayload, decode_token, encode_token,
    keystone_time,
};
use crate::application_credential::{self as app_cred, ApplicationCredential};
use crate::assignment::{Role, store as assignment_store};
use crate::cache::ValidationCache;
use crate::catalog;
use crate::config::Config;
use crate::db::{AnyConnection, Db, MaybeConn};
use crate::error::{Error, Result};
use crate::identity::{User, inactivity, store as identity_store};
use crate::json::{Style, to_ascii_string};
use crate::resource::{Project, store as resource_store};
use crate::revoke::{self, TokenValues};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Keystone's token formatter: the keys and the payload codec (which needs the configured
/// auth methods and default domain to be byte-compatible).
pub struct TokenFormatter {
    pub keys: KeyRing,
    pub codec: PayloadCodec,
    /// What validation reads, cached (disabled unless a server wires its database's epoch).
    pub cache: ValidationCache,
}

impl TokenFormatter {
    pub fn from_config(config: &Config) -> Result<TokenFormatter> {
        Ok(TokenFormatter {
            keys: KeyRing::open(KeyRepository::from_config(config))?,
            codec: PayloadCodec::from_config(config),
            cache: ValidationCache::disabled(),
        })
    }
}

/// The scope of a token with its entities loaded.
#[derive(Debug, Clone)]
pub enum ResolvedScope {
    Unscoped,
    Project { project: Project, domain: Project },
    Domain(Project),
    System,
}

/// A token whose payload decrypted and whose user, scope and roles were loaded and checked.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: String,
    pub payload: TokenPayload,
    pub issued_at: DateTime<Utc>,
    pub user: User,
    pub user_domain: Project,
    pub scope: ResolvedScope,
    pub roles: Vec<Role>,
    /// The credential an `application_credential` token was issued from (re-read whenever
    /// the token is validated at a new state of the database).
    pub application_credential: Option<ApplicationCredential>,
    /// Tokens obtained with the `oauth1` method: their access token and its consumer.
    pub oauth1: Option<crate::oauth1::Delegation>,
    /// Renderings of this token, made once and reused while it stays in the validation cache.
    pub derived: Derived,
}

/// What requests derive from a validated token, kept with it: a cached token answers its
/// next validation or policy check without rendering anything again. Everything here is
/// a function of the token's fields, so it is exactly as fresh as the token itself.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// The oslo.policy credentials dict of the token as a caller (`context::authorize`).
    pub policy_credentials: std::sync::OnceLock<Arc<Map<String, Value>>>,
    /// The `GET /v3/auth/tokens` body without (`[0]`) and with (`[1]`) the catalog.
    pub validation_body: [std::sync::OnceLock<actix_web::web::Bytes>; 2],
}

impl Token {
    pub fn audit_id(&self) -> Option<&str> {
        self.payload.audit_ids.first().map(String::as_str)
    }

    /// The root of the rescope chain: the parent's audit id, else our own.
    pub fn audit_chain_root(&self) -> Option<&str> {
        self.payload
            .audit_ids
            .get(1)
            .or(self.payload.audit_ids.first())
            .map(String::as_str)
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            ResolvedScope::Project { project, .. } => Some(&project.id),
            _ => None,
        }
    }

    pub fn domain_id(&self) -> Option<&str> {
        match &self.scope {
            ResolvedScope::Domain(d) => Some(&d.id),
            _ => None,
        }
    }

    pub fn is_system(&self) -> bool {
        matches!(self.scope, ResolvedScope::System)
    }

    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.name.clone()).collect()
    }
}

/// A fresh audit id: 16 random bytes, urlsafe base64 without padding (22 chars).
pub fn new_audit_id() -> String {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn failed_to_validate() -> Error {
    Error::not_found("Failed to validate token")
}

/// Load user, scope and roles for a payload and run every validity check Keystone runs.
/// `token_id` is the string as presented (Keystone quotes it in one 404 message).
/// This is the caller's-own-token validation: Keystone accepts access rules there
/// ([`validate_with`] for subject tokens).
pub fn validate(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    token_id: &str,
    allow_expired: bool,
) -> Result<Arc<Token>> {
    validate_with(
        conn,
        tokens,
        config,
        token_id,
        allow_expired,
        Some(ACCESS_RULES_MIN_VERSION),
    )
}

/// The header in which validating clients announce their access-rules support.
pub const ACCESS_RULES_HEADER: &str = "OpenStack-Identity-Access-Rules";

/// The `OpenStack-Identity-Access-Rules` version from which a validator understands
/// application-credential access rules.
pub const ACCESS_RULES_MIN_VERSION: &str = "1.0";

/// Keystone's `float(header) >= 1.0` (absent or unparsable: not understood).
fn understands_access_rules(announced: Option<&str>) -> bool {
    announced
        .and_then(|v| v.trim().parse::<f64>().ok())
        .is_some_and(|v| !(v < 1.0))
}

/// [`validate`] with the access-rules version the validating client announced: a token
/// of a credential with access rules only validates for clients that understand them.
pub fn validate_with(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    token_id: &str,
    allow_expired: bool,
    access_rules_version: Option<&str>,
) -> Result<Arc<Token>> {
    let check = Check {
        token_id,
        allow_expired,
        access_rules_version,
    };
    check_token(&mut MaybeConn::open(conn), tokens, config, &check)
}

/// What a validation is asked: the token as presented and how lenient to be.
struct Check<'a> {
    token_id: &'a str,
    allow_expired: bool,
    access_rules_version: Option<&'a str>,
}

/// [`validate_with`] from an async handler: from the caches on the calling worker when
/// they hold everything (no pool checkout, no thread hop), else on the blocking pool.
pub async fn validate_async(
    db: &Db,
    tokens: &Arc<TokenFormatter>,
    config: &Arc<Config>,
    token_id: &str,
    allow_expired: bool,
    access_rules_version: Option<&str>,
) -> Result<Arc<Token>> {
    let check = Check {
        token_id,
        allow_expired,
        access_rules_version,
    };
    match check_token(&mut MaybeConn::none(), tokens, config, &check) {
        Err(e) if crate::db::needs_database(&e) => {}
        done => return done,
    }
    let (tokens, config) = (tokens.clone(), config.clone());
    let (token_id, version) = (
        token_id.to_string(),
        access_rules_version.map(str::to_string),
    );
    db.read(move |conn| {
        validate_with(
            conn,
            &tokens,
            &config,
            &token_id,
            allow_expired,
            version.as_deref(),
        )
    })
    .await
}

/// Validate and count the outcome (not the attempts that only lacked a connection).
fn check_token(
    conn: &mut MaybeConn,
    tokens: &TokenFormatter,
    config: &Config,
    check: &Check,
) -> Result<Arc<Token>> {
    let result = check_token_once(conn, tokens, config, check);
    match &result {
        Err(e) if crate::db::needs_database(e) => {}
        other => crate::observability::metrics::token_validated(other.is_ok()),
    }
    result
}

/// A token validated at the current state of the database is kept whole in the validation
/// cache: its next validation decodes and loads nothing. What depends on the clock and on
/// the validating client rather than on stored state is checked on every use.
fn check_token_once(
    conn: &mut MaybeConn,
    tokens: &TokenFormatter,
    config: &Config,
    check: &Check,
) -> Result<Arc<Token>> {
    let cache = &tokens.cache;
    cache.sync(conn)?;
    let token = cache
        .tokens
        .get_or_load_value(cache, check.token_id.to_string(), || {
            load_token(conn, tokens, config, check).map(Arc::new)
        })?;
    check_expiry(&token.payload, config, check.allow_expired)?;
    check_access_rules(&token, check.access_rules_version)?;
    Ok(token)
}

/// Keystone's expiry check, with `[token] allow_expired_window` when asked for.
fn check_expiry(payload: &TokenPayload, config: &Config, allow_expired: bool) -> Result<()> {
    let window = if allow_expired {
        Duration::seconds(config.token.allow_expired_window)
    } else {
        Duration::zero()
    };
    if payload.expires_at + window <= Utc::now() {
        return Err(failed_to_validate().with_detail("token expired"));
    }
    Ok(())
}

/// A credential's access rules only reach clients that announce they understand them.
fn check_access_rules(token: &Token, access_rules_version: Option<&str>) -> Result<()> {
    let has_rules = token
        .application_credential
        .as_ref()
        .is_some_and(|ac| !ac.access_rules.is_empty());
    if has_rules && !understands_access_rules(access_rules_version) {
        return Err(failed_to_validate()
            .with_detail("access rules not understood by the validating client"));
    }
    Ok(())
}

/// Decode the token and load and check everything it refers to, in Keystone's order.
fn load_token(
    conn: &mut MaybeConn,
    tokens: &TokenFormatter,
    config: &Config,
    check: &Check,
) -> Result<Token> {
    let Check {
        token_id,
        allow_expired,
        access_rules_version,
    } = *check;
    let decoded = decode_token(&tokens.keys, &tokens.codec, token_id)?;
    let payload = decoded.payload;
    let issued_at = decoded.issued_at;
    // Kinds of token whose subsystems keystone-rs does not serve yet: refuse them clearly
    // rather than validate them without their extra checks.
    let unsupported = if payload.trust_id.is_some() {
        Some("trust")
    } else if payload.federated.is_some() {
        Some("federated")
    } else {
        None
    };
    if let Some(kind) = unsupported {
        return Err(failed_to_validate().with_detail(format!("{kind} tokens are not served yet")));
    }
    let cache = &tokens.cache;
    // Keystone's token model checks the project (and its domain) exist before the user: a
    // token of a deleted domain's user answers "Could not find project".
    let project_scope = match &payload.scope {
        Scope::Project(_) => Some(resolve_payload_scope(conn, cache, &payload)?),
        _ => None,
    };
    let user = cache
        .users
        .get_or_load(cache, payload.user_id.clone(), || {
            identity_store::get(conn.get()?, &payload.user_id)
        })?
        .ok_or_else(|| Error::could_not_find("user", &payload.user_id))?;

    check_expiry(&payload, config, allow_expired)?;

    let scope = match project_scope {
        Some(scope) => scope,
        None => resolve_payload_scope(conn, cache, &payload)?,
    };
    let application_credential = match &payload.app_cred_id {
        Some(id) => Some(
            app_cred::store::get(conn.get()?, id)?
                .ok_or_else(|| Error::could_not_find("Application Credential", id))?,
        ),
        None => None,
    };
    let (roles, oauth1) = token_roles(
        conn,
        cache,
        &user.id,
        &scope,
        payload.access_token_id.as_deref(),
        application_credential.as_ref(),
    )?;

    let mut values = token_values(&payload, issued_at, &user, &scope, &roles);
    values.consumer_id = oauth1.as_ref().map(|d| d.consumer_id.clone());
    let events = cache.revocations.get_or_load_value(cache, (), || {
        Ok(Arc::new(revoke::store::list(conn.get()?, None)?))
    })?;
    if events.iter().any(|e| e.matches(&values)) {
        return Err(failed_to_validate().with_detail("token revoked"));
    }

    let user_domain = cached_domain(conn, cache, &user.domain_id)?
        .ok_or_else(|| Error::could_not_find("domain", &user.domain_id))?;
    if !user_domain.enabled {
        return Err(Error::not_found(format!(
            "Unable to validate token because domain {} is disabled",
            user_domain.id
        )));
    }
    let inactive = inactivity::past_limit(config, &user)
        && inactivity::is_inactive(conn.get()?, config, &user)?;
    if !user.enabled || inactive {
        return Err(Error::not_found(format!(
            "Could not find token: {token_id}."
        )));
    }
    match &scope {
        ResolvedScope::Project { project, domain } => {
            if !project.enabled {
                return Err(Error::not_found(format!(
                    "Unable to validate token because project {} is disabled",
                    project.id
                )));
            }
            if !domain.enabled {
                return Err(Error::not_found(format!(
                    "Unable to validate token because domain {} is disabled",
                    domain.id
                )));
            }
        }
        ResolvedScope::Domain(domain) if !domain.enabled => {
            return Err(Error::not_found(format!(
                "Unable to validate token because domain {} is disabled",
                domain.id
            )));
        }
        _ => {}
    }
    if !matches!(scope, ResolvedScope::Unscoped) && roles.is_empty() {
        return Err(Error::not_found(format!(
            "Could not find token: {token_id}."
        )));
    }
    let token = Token {
        id: token_id.to_string(),
        payload,
        issued_at,
        user,
        user_domain,
        scope,
        roles,
        application_credential,
        oauth1,
        derived: Derived::default(),
    };
    check_access_rules(&token, access_rules_version)?;
    Ok(token)
}

/// A credential token's roles: only project-scoped credentials carry any.
fn app_cred_roles(
    conn: &mut MaybeConn,
    ac: &ApplicationCredential,
    scope: &ResolvedScope,
) -> Result<Vec<Role>> {
    match scope {
        ResolvedScope::Project { project, .. } => app_cred::token_roles(conn.get()?, ac, project),
        _ => Ok(vec![]),
    }
}

/// The token's roles: the user's on the scope; for an application-credential token the
/// credential's roles the user still holds; for an OAuth1 token the delegated ones it still
/// holds (a deleted access token is a 404, as Keystone).
fn token_roles(
    conn: &mut MaybeConn,
    cache: &ValidationCache,
    user_id: &str,
    scope: &ResolvedScope,
    access_token_id: Option<&str>,
    application_credential: Option<&ApplicationCredential>,
) -> Result<(Vec<Role>, Option<crate::oauth1::Delegation>)> {
    if let Some(ac) = application_credential {
        return Ok((app_cred_roles(conn, ac, scope)?, None));
    }
    match access_token_id {
        Some(id) => {
            let (roles, delegation) = crate::oauth1::token_roles(conn.get()?, id, user_id, scope)?;
            Ok((roles, Some(delegation)))
        }
        None => {
            let key = (user_id.to_string(), scope_key(scope));
            let roles = cache
                .roles
                .get_or_load_value(cache, key, || roles_for(conn.get()?, user_id, scope))?;
            Ok((roles, None))
        }
    }
}

/// The roles cache's name for a scope.
fn scope_key(scope: &ResolvedScope) -> String {
    match scope {
        ResolvedScope::Unscoped => "unscoped".into(),
        ResolvedScope::System => "system".into(),
        ResolvedScope::Domain(d) => format!("domain:{}", d.id),
        ResolvedScope::Project { project, .. } => format!("project:{}", project.id),
    }
}

fn cached_domain(
    conn: &mut MaybeConn,
    cache: &ValidationCache,
    id: &str,
) -> Result<Option<Project>> {
    cache.domains.get_or_load(cache, id.to_string(), || {
        resource_store::get_domain(conn.get()?, id)
    })
}

fn resolve_payload_scope(
    conn: &mut MaybeConn,
    cache: &ValidationCache,
    payload: &TokenPayload,
) -> Result<ResolvedScope> {
    Ok(match &payload.scope {
        Scope::Unscoped => ResolvedScope::Unscoped,
        Scope::System(_) => ResolvedScope::System,
        Scope::Domain(id) => ResolvedScope::Domain(
            cached_domain(conn, cache, id)?.ok_or_else(|| Error::could_not_find("domain", id))?,
        ),
        Scope::Project(id) => {
            let project = cache
                .projects
                .get_or_load(cache, id.clone(), || {
                    resource_store::get_project(conn.get()?, id)
                })?
                .ok_or_else(|| Error::could_not_find("project", id))?;
            let domain_id = project.domain_id.clone().unwrap_or_default();
            let domain = cached_domain(conn, cache, &domain_id)?
                .ok_or_else(|| Error::could_not_find("domain", &domain_id))?;
            ResolvedScope::Project { project, domain }
        }
    })
}

pub fn roles_for(
    conn: &mut AnyConnection,
    user_id: &str,
    scope: &ResolvedScope,
) -> Result<Vec<Role>> {
    match scope {
        ResolvedScope::Unscoped => Ok(vec![]),
        ResolvedScope::Project { project, .. } => {
            assignment_store::roles_on_project(conn, user_id, project)
        }
        ResolvedScope::Domain(domain) => {
            assignment_store::roles_on_domain(conn, user_id, &domain.id)
        }
        ResolvedScope::System => assignment_store::roles_on_system(conn, user_id),
    }
}

fn token_values(
    payload: &TokenPayload,
    issued_at: DateTime<Utc>,
    user: &User,
    scope: &ResolvedScope,
    roles: &[Role],
) -> TokenValues {
    TokenValues {
        issued_at: revoke::to_second(issued_at),
        expires_at: revoke::to_second(payload.expires_at),
        audit_id: payload.audit_ids.first().cloned(),
        audit_chain_id: payload.audit_ids.get(1).cloned(),
        user_id: user.id.clone(),
        identity_domain_id: Some(user.domain_id.clone()),
        project_id: match scope {
            ResolvedScope::Project { project, .. } => Some(project.id.clone()),
            _ => None,
        },
        assignment_domain_id: match scope {
            ResolvedScope::Domain(d) => Some(d.id.clone()),
            _ => None,
        },
        role_ids: roles.iter().map(|r| r.id.clone()).collect(),
        trust_id: payload.trust_id.clone(),
        consumer_id: None,
        ..Default::default()
    }
}

/// What issuing needs once authentication and scope resolution are done.
pub struct IssueRequest {
    pub user: User,
    pub methods: Vec<String>,
    pub scope: ResolvedScope,
    /// Inherited from the presented token on rescope.
    pub expires_at: Option<DateTime<Utc>>,
    /// The presented token's chain root on rescope.
    pub parent_audit_id: Option<String>,
    /// Set for the `application_credential` method: roles, expiry cap and payload follow.
    pub application_credential: Option<ApplicationCredential>,
    /// Set by the `oauth1` method: the token carries that access token's delegation.
    pub access_token_id: Option<String>,
    /// OAuth2 `tls_client_auth`: the client certificate's Keystone thumbprint (the token
    /// is bound to that certificate).
    pub thumbprint: Option<String>,
}

/// Mint a token: roles must exist for a scoped token (else 401), then encrypt.
pub fn issue(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    req: IssueRequest,
) -> Result<Token> {
    let conn = &mut MaybeConn::open(conn);
    tokens.cache.sync(conn)?;
    let (roles, oauth1) = token_roles(
        conn,
        &tokens.cache,
        &req.user.id,
        &req.scope,
        req.access_token_id.as_deref(),
        req.application_credential.as_ref(),
    )?;
    if !matches!(req.scope, ResolvedScope::Unscoped) && roles.is_empty() {
        return Err(Error::unauthorized_because(
            "no role on the requested scope",
        ));
    }
    let user_domain = cached_domain(conn, &tokens.cache, &req.user.domain_id)?
        .ok_or_else(|| Error::unauthorized_because("user's domain not found"))?;
    let now = Utc::now();
    let mut expires_at = req.expires_at.unwrap_or_else(|| {
        let t = now + Duration::seconds(config.token.expiration);
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    });
    // CVE-2022-2447: a credential's token never outlives the credential (whole seconds,
    // as the token format keeps them).
    if let Some(cap) = req
        .application_credential
        .as_ref()
        .and_then(|ac| ac.expires_at)
    {
        let cap = cap.and_utc();
        if expires_at > cap {
            expires_at = DateTime::from_timestamp(cap.timestamp(), 0).unwrap_or(cap);
        }
    }
    let mut audit_ids = vec![new_audit_id()];
    audit_ids.extend(req.parent_audit_id);
    let scope = match &req.scope {
        ResolvedScope::Unscoped => Scope::Unscoped,
        ResolvedScope::Project { project, .. } => Scope::Project(project.id.clone()),
        ResolvedScope::Domain(d) => Scope::Domain(d.id.clone()),
        ResolvedScope::System => Scope::System("all".into()),
    };
    let mut payload = TokenPayload::new(
        req.user.id.clone(),
        req.methods,
        scope,
        expires_at,
        audit_ids,
    );
    payload.trust_id = None;
    payload.app_cred_id = req.application_credential.as_ref().map(|ac| ac.id.clone());
    payload.access_token_id = req.access_token_id;
    payload.thumbprint = req.thumbprint;
    let encoded = encode_token(&tokens.keys, &tokens.codec, &payload)?;
    crate::observability::metrics::token_issued(match &req.scope {
        ResolvedScope::Unscoped => "unscoped",
        ResolvedScope::Project { .. } => "project",
        ResolvedScope::Domain(_) => "domain",
        ResolvedScope::System => "system",
    });
    Ok(Token {
        id: encoded.id,
        payload,
        issued_at: encoded.issued_at,
        user: req.user,
        user_domain,
        scope: req.scope,
        roles,
        application_credential: req.application_credential,
        oauth1,
        derived: Derived::default(),
    })
}

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

/// A catalog and its JSON text, serialised once per cache fill: validation splices the
/// text into the token body instead of cloning and serialising the catalog every time.
pub struct RenderedCatalog {
    pub value: Value,
    pub json: String,
}

fn cached_catalog(
    conn: &mut MaybeConn,
    tokens: &TokenFormatter,
    config: &Config,
    token: &Token,
) -> Result<Arc<RenderedCatalog>> {
    let cache = &tokens.cache;
    cache.sync(conn)?;
    let key = (
        token.user.id.clone(),
        token.project_id().map(str::to_string),
    );
    cache.catalogs.get_or_load_value(cache, key, || {
        let value = catalog::v3_catalog(conn.get()?, config, &token.user.id, token.project_id())?;
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

/// [`render`] as Keystone's JSON text, with a catalog already rendered.
pub fn render_json(token: &Token, catalog: Option<&RenderedCatalog>) -> String {
    let catalog = catalog.filter(|_| !matches!(token.scope, ResolvedScope::Unscoped));
    let placeholder = catalog.map(|_| Value::from(CATALOG_PLACEHOLDER.as_str()));
    let text = to_ascii_string(&render(token, placeholder), Style::Python);
    match catalog {
        Some(catalog) => text.replacen(
            &format!("\"{}\"", CATALOG_PLACEHOLDER.as_str()),
            &catalog.json,
            1,
        ),
        None => text,
    }
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
    user.insert("password_expires_at".into(), password_expiry(&token.user));
    t.insert("user".into(), Value::Object(user));
    t.insert("audit_ids".into(), token.payload.audit_ids.clone().into());
    t.insert(
        "expires_at".into(),
        keystone_time(token.payload.expires_at).into(),
    );
    t.insert("issued_at".into(), keystone_time(token.issued_at).into());
    let roles: Vec<Value> = token
        .roles
        .iter()
        .map(|r| id_name(&r.id, &r.name))
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
            let mut p = Map::new();
            p.insert("domain".into(), id_name(&domain.id, &domain.name));
            p.insert("id".into(), project.id.clone().into());
            p.insert("name".into(), project.name.clone().into());
            t.insert("project".into(), Value::Object(p));
            t.insert("is_domain".into(), project.is_domain.into());
            t.insert("roles".into(), roles.into());
        }
    }
    if let Some(catalog) = catalog {
        if !matches!(token.scope, ResolvedScope::Unscoped) {
            t.insert("catalog".into(), catalog);
        }
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
