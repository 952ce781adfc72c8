//! From a token string back to a fully checked token, in Keystone's order of checks
//! (tokens-api.md §4, §6; revocation.md §3), through the validation cache.

use super::cache::ValidationCache;
use super::formatter::TokenFormatter;
use super::model::{Derived, ResolvedScope, Token, disabled};
use super::roles::{Delegated, token_roles};
use crate::application_credential::store as app_cred_store;
use crate::assignment::model::Role;
use crate::config::Config;
use crate::db::{AnyConnection, Db, MaybeConn};
use crate::error::{Error, Result};
use crate::fernet::{Scope, TokenPayload};
use crate::identity::model::User;
use crate::identity::{inactivity, store as identity_store};
use crate::resource::model::Project;
use crate::resource::store as resource_store;
use crate::revoke::{self, TokenValues};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

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
    let (payload, issued_at) = tokens.decode(token_id)?;
    let cache = &tokens.cache;
    // Keystone's token model checks the project (and its domain) exist before the user: a
    // token of a deleted domain's user answers "Could not find project".
    let project_scope = match &payload.scope {
        Scope::Project(_) => Some(resolve_payload_scope(conn, cache, &payload)?),
        _ => None,
    };
    // Then, for a trust-scoped token, its trust and both users (Keystone's
    // `_validate_token_user`): the payload's user is the trustee.
    let trust = match &payload.trust_id {
        Some(id) => Some(crate::trust::check_token(
            conn.get()?,
            config,
            id,
            &payload.user_id,
        )?),
        None => None,
    };
    let user = cache
        .users
        .get_or_load(cache, payload.user_id.clone(), || {
            Ok(identity_store::get(conn.get()?, &payload.user_id)?.map(Arc::new))
        })?
        .ok_or_else(|| Error::could_not_find("user", &payload.user_id))?;

    check_expiry(&payload, config, allow_expired)?;
    // Keystone's renderer looks the identity provider up: a federated token of a deleted
    // provider no longer validates.
    if let Some(federated) = &payload.federated {
        let idp = &federated.identity_provider_id;
        if crate::federation::provider_store::get_idp(conn.get()?, idp)?.is_none() {
            return Err(crate::federation::providers::idp_not_found(idp));
        }
    }

    let scope = match project_scope {
        Some(scope) => scope,
        None => resolve_payload_scope(conn, cache, &payload)?,
    };
    let application_credential = match &payload.app_cred_id {
        Some(id) => Some(
            app_cred_store::get(conn.get()?, id)?
                .ok_or_else(|| Error::could_not_find("Application Credential", id))?,
        ),
        None => None,
    };
    let (roles, oauth1) = token_roles(
        conn,
        cache,
        &user.id,
        &scope,
        Delegated {
            access_token_id: payload.access_token_id.as_deref(),
            application_credential: application_credential.as_ref(),
            trust: trust.as_ref().map(|t| &t.trust),
            federated_groups: payload.federated.as_ref().map(|f| f.group_ids.as_slice()),
        },
    )?;

    let mut values = token_values(&payload, issued_at, &user, &scope, &roles);
    values.consumer_id = oauth1.as_ref().map(|d| d.consumer_id.clone());
    if let Some(t) = &trust {
        values.trustor_id = Some(t.trust.trustor_user_id.clone());
        values.trustee_id = Some(t.trust.trustee_user_id.clone());
    }
    let events = cache.revocations.get_or_load_value(cache, (), || {
        Ok(Arc::new(revoke::RevocationList::new(revoke::store::list(
            conn.get()?,
            None,
        )?)))
    })?;
    if events.revokes(&values) {
        return Err(failed_to_validate().with_detail("token revoked"));
    }

    let user_domain = cached_domain(conn, cache, &user.domain_id)?
        .ok_or_else(|| Error::could_not_find("domain", &user.domain_id))?;
    if !user_domain.enabled {
        return Err(disabled("domain", &user_domain.id));
    }
    let inactive = inactivity::past_limit(config, &user)
        && inactivity::is_inactive(conn.get()?, config, &user)?;
    if !user.enabled || inactive {
        return Err(Error::not_found(format!(
            "Could not find token: {token_id}."
        )));
    }
    scope.check_enabled()?;
    if !matches!(scope, ResolvedScope::Unscoped) && roles.is_empty() {
        return Err(Error::not_found(format!(
            "Could not find token: {token_id}."
        )));
    }
    // Under impersonation the token acts as, and shows, the trustor.
    let (user, user_domain) = match &trust {
        Some(t) => t.acting_user(),
        None => (user, user_domain),
    };
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
        trust,
        service_providers: super::render::service_providers(conn, cache)?,
        derived: Derived::default(),
    };
    check_access_rules(&token, access_rules_version)?;
    Ok(token)
}

pub(super) fn cached_domain(
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
