//! The state every handler reaches through `web::Data<AppState>`: below every route, so a
//! route file imports it and the server that registers the routes builds it.

use crate::config::Config;
use crate::credential::CredentialKeys;
use crate::db::Db;
use crate::federation::oidc::OidcProviders;
use crate::policy::Enforcer;
use crate::ratelimit::RateLimiter;
use crate::receipt::ReceiptProvider;
use crate::token::cache::ValidationCache;
use crate::token::formatter::TokenFormatter;
use actix_web::web;
use std::sync::Arc;

/// What every handler can reach, through `web::Data<AppState>`.
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub tokens: Arc<TokenFormatter>,
    /// `[fernet_receipts]`: MFA auth receipts.
    pub receipts: Arc<ReceiptProvider>,
    pub policy: Arc<Enforcer>,
    /// `[credential] key_repository`: read on each use, as Keystone does.
    pub credential_keys: Arc<CredentialKeys>,
    /// Shared by every worker: one count per source for the whole process.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// `[openid_connect:<idp>:<protocol>]`: protocols whose bearer tokens keystone-rs
    /// validates itself (federation/oidc), each with its issuer's key cache.
    pub oidc: Arc<OidcProviders>,
}

pub type State = web::Data<AppState>;

impl AppState {
    /// Open the database pool, the key repository and the policy from a configuration.
    pub fn open(config: Config) -> anyhow::Result<AppState> {
        let db = Db::open(&config.database.connection, config.database.max_pool_size)?;
        // The operator starting the server reads why the keys are unusable (the detail a
        // client is never shown).
        let mut tokens = TokenFormatter::from_config(&config)
            .map_err(|e| anyhow::anyhow!(e.detail.unwrap_or(e.message)))?;
        tokens.cache = ValidationCache::new(config.validation_cache.clone(), db.epoch().clone());
        let receipts = Arc::new(ReceiptProvider::from_config(&config)?);
        let policy = Enforcer::from_config(&config)?;
        let rate_limiter = RateLimiter::from_config(&config.rate_limit).map(Arc::new);
        let credential_keys = Arc::new(CredentialKeys::from_config(&config));
        // A bad section stops the start, as a bad option does.
        let oidc =
            Arc::new(OidcProviders::from_config(&config).map_err(|e| anyhow::anyhow!("{e}"))?);
        let config = Arc::new(config);
        crate::identity::remote::register(Box::new(crate::ldap::Remote {
            config: config.clone(),
        }));
        Ok(AppState {
            config,
            db,
            tokens: Arc::new(tokens),
            receipts,
            policy: Arc::new(policy),
            credential_keys,
            rate_limiter,
            oidc,
        })
    }
}
