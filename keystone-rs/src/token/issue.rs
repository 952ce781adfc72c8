//! Minting: from an authenticated user and a resolved scope to a token of the configured
//! format.

use super::formatter::TokenFormatter;
use super::model::{Derived, ResolvedScope, Token, new_audit_id};
use super::roles::{Delegated, token_roles};
use super::validate::cached_domain;
use crate::application_credential::model::ApplicationCredential;
use crate::config::Config;
use crate::db::{AnyConnection, MaybeConn};
use crate::error::{Error, Result};
use crate::fernet::{FederatedInfo, Scope, TokenPayload};
use crate::identity::model::User;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

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
    /// A trust-scoped token's trust (the scope is the trust's project; `user` is the
    /// trustee who authenticated).
    pub trust_id: Option<String>,
    /// A federated login's (or a presented federated token's) identity provider,
    /// protocol and groups: the token is a federated one (payload versions 4–6).
    pub federated: Option<FederatedInfo>,
}

/// Mint a token: roles must exist for a scoped token (else 401), then encrypt or sign.
pub fn issue(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    req: IssueRequest,
) -> Result<Token> {
    let trust = match &req.trust_id {
        Some(id) => Some(crate::trust::check_token(conn, config, id, &req.user.id)?),
        None => None,
    };
    let conn = &mut MaybeConn::open(conn);
    tokens.cache.sync(conn)?;
    let (roles, oauth1) = token_roles(
        conn,
        &tokens.cache,
        &req.user.id,
        &req.scope,
        Delegated {
            access_token_id: req.access_token_id.as_deref(),
            application_credential: req.application_credential.as_ref(),
            trust: trust.as_ref().map(|t| &t.trust),
            federated_groups: req.federated.as_ref().map(|f| f.group_ids.as_slice()),
        },
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
    payload.trust_id = req.trust_id.clone();
    payload.app_cred_id = req.application_credential.as_ref().map(|ac| ac.id.clone());
    payload.access_token_id = req.access_token_id;
    payload.thumbprint = req.thumbprint;
    payload.federated = req.federated;
    let encoded = tokens.encode(&payload)?;
    crate::observability::metrics::token_issued(match &req.scope {
        ResolvedScope::Unscoped => "unscoped",
        ResolvedScope::Project { .. } => "project",
        ResolvedScope::Domain(_) => "domain",
        ResolvedScope::System => "system",
    });
    // Under impersonation the token acts as, and shows, the trustor.
    let (user, user_domain) = match &trust {
        Some(t) => t.acting_user(),
        None => (Arc::new(req.user), user_domain),
    };
    Ok(Token {
        id: encoded.id,
        payload,
        issued_at: encoded.issued_at,
        user,
        user_domain,
        scope: req.scope,
        roles,
        application_credential: req.application_credential,
        oauth1,
        trust,
        service_providers: super::render::service_providers(conn, &tokens.cache)?,
        derived: Derived::default(),
    })
}
