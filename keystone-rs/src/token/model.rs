//! What a token is once validated: the caller every route authorises (its user, scope,
//! roles and, for delegated tokens, what delegated them). Issue, validation and rendering
//! are the sibling files; this one only describes.

use crate::application_credential::model::ApplicationCredential;
use crate::assignment::model::Role;
use crate::error::{Error, Result};
use crate::fernet::TokenPayload;
use crate::identity::model::User;
use crate::oauth1::model::Delegation;
use crate::resource::model::Project;
use crate::trust::TrustToken;
use actix_web::web::Bytes;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Methods whose tokens may be used to obtain new tokens (Keystone 30's non-delegated set).
pub const PRIMARY_METHODS: &[&str] = &[
    "external", "kerberos", "mapped", "openid", "password", "saml2", "token", "totp", "x509",
];

/// The scope of a token with its entities loaded.
#[derive(Debug, Clone)]
pub enum ResolvedScope {
    Unscoped,
    Project { project: Project, domain: Project },
    Domain(Project),
    System,
}

/// Keystone's 404 for a token whose project or domain is disabled.
pub fn disabled(kind: &str, id: &str) -> Error {
    Error::not_found(format!(
        "Unable to validate token because {kind} {id} is disabled"
    ))
}

impl ResolvedScope {
    /// Keystone's token-model checks: a project scope needs its project and its domain
    /// enabled, a domain scope its domain.
    pub fn check_enabled(&self) -> Result<()> {
        match self {
            ResolvedScope::Project { project, domain } => {
                if !project.enabled {
                    return Err(disabled("project", &project.id));
                }
                if !domain.enabled {
                    return Err(disabled("domain", &domain.id));
                }
            }
            ResolvedScope::Domain(domain) if !domain.enabled => {
                return Err(disabled("domain", &domain.id));
            }
            _ => {}
        }
        Ok(())
    }

    /// The project of a project scope.
    pub fn project(&self) -> Option<&Project> {
        match self {
            ResolvedScope::Project { project, .. } => Some(project),
            _ => None,
        }
    }
}

/// A token whose payload decrypted and whose user, scope and roles were loaded and checked.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: String,
    pub payload: TokenPayload,
    pub issued_at: DateTime<Utc>,
    /// Shared with the users cache.
    pub user: Arc<User>,
    pub user_domain: Project,
    pub scope: ResolvedScope,
    /// Shared with the roles cache: a validation that misses the token cache copies no role.
    pub roles: Arc<Vec<Role>>,
    /// The credential an `application_credential` token was issued from (re-read whenever
    /// the token is validated at a new state of the database).
    pub application_credential: Option<ApplicationCredential>,
    /// Tokens obtained with the `oauth1` method: their access token and its consumer.
    pub oauth1: Option<Delegation>,
    /// Trust-scoped tokens: the checked trust and both its users. `user` above is the
    /// user the token acts as (the trustor under impersonation, else the trustee, whose id
    /// the payload carries).
    pub trust: Option<TrustToken>,
    /// Keystone's `token.service_providers`: the enabled service providers (`id`,
    /// `auth_url`, `sp_url`), shown in every token body when there are any.
    pub service_providers: Arc<Vec<Value>>,
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
    /// The `GET /v3/auth/tokens` body without the catalog.
    pub validation_body: std::sync::OnceLock<Bytes>,
    /// The same body with a place for the catalog, which is shared and spliced in per answer.
    pub validation_body_around_catalog: std::sync::OnceLock<BodyAroundCatalog>,
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
        self.scope.project().map(|p| p.id.as_str())
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

    /// Whose catalog the token shows: a trust's trustor, else the token's user.
    pub fn catalog_user_id(&self) -> &str {
        match &self.trust {
            Some(t) => &t.trust.trustor_user_id,
            None => &self.user.id,
        }
    }

    /// The federation facts of a token obtained through a federated login.
    pub fn federated(&self) -> Option<&crate::fernet::FederatedInfo> {
        self.payload.federated.as_ref()
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

/// A token's body as JSON text in two parts: the text before the catalog and, when the body
/// has one (scoped tokens), the text after it. The catalog's text is spliced in per answer:
/// it is shared by every token that gets the same catalog and kept once, in the catalog
/// cache, while each cached token keeps only its own text (with a large catalog, a copy per
/// cached token cost hundreds of megabytes at ten thousand tokens).
#[derive(Debug, Clone)]
pub struct BodyAroundCatalog {
    pub before: Bytes,
    pub after: Option<Bytes>,
}

impl BodyAroundCatalog {
    /// Whether the body has a place for a catalog (the caller need not fetch one if not).
    pub fn takes_catalog(&self) -> bool {
        self.after.is_some()
    }

    /// The whole body with this catalog, in one piece: sent as separate parts, the short
    /// tail after a catalog larger than the server's write buffer went out as a segment of
    /// its own, which waited for the client's delayed ACK (40 ms per answer, measured).
    pub fn with(&self, catalog: &RenderedCatalog) -> Bytes {
        let Some(after) = &self.after else {
            return self.before.clone();
        };
        let mut body = Vec::with_capacity(self.before.len() + catalog.json.len() + after.len());
        body.extend_from_slice(&self.before);
        body.extend_from_slice(catalog.json.as_bytes());
        body.extend_from_slice(after);
        body.into()
    }
}

/// A catalog and its JSON text, serialised once per cache fill: validation splices the
/// text into the token body instead of cloning and serialising the catalog every time.
pub struct RenderedCatalog {
    pub value: Value,
    pub json: String,
}
