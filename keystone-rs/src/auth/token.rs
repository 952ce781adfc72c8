//! The `token` auth method: re-issue or rescope an existing token.

use super::MethodOutcome;
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::token::formatter::TokenFormatter;
use crate::token::model::PRIMARY_METHODS;
use crate::token::model::ResolvedScope;
use crate::token::validate;
use serde_json::Value;

pub fn authenticate(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    data: &Value,
) -> Result<MethodOutcome> {
    // The schema made `token` an object with a string `id`.
    let id = data
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::expecting("id", "token"))?
        .to_string();
    // Keystone's token plugin announces no access-rules support.
    let presented = validate::validate_with(conn, tokens, config, &id, false, None)?;
    // Keystone hands a federated token to the mapped plugin's checks instead.
    if presented.federated().is_some() {
        let mut outcome = super::mapped::carry_over(conn, &presented)?;
        outcome.presented_scope = Some(presented.scope.clone());
        return Ok(outcome);
    }
    if presented.payload.methods.iter().any(|m| m == "oauth1") {
        return Err(Error::forbidden_action(
            "Using OAuth-scoped token to create another token. Create a new OAuth-scoped token instead",
        ));
    }
    if presented.payload.trust_id.is_some() {
        return Err(Error::forbidden_action(
            "Using trust-scoped token to create another token. Create a new trust-scoped token instead",
        ));
    }
    let delegated = presented.payload.methods.is_empty()
        || presented
            .payload
            .methods
            .iter()
            .any(|m| !PRIMARY_METHODS.contains(&m.as_str()));
    if delegated {
        return Err(Error::forbidden_action(
            "Using a delegated token to create another token is not allowed.",
        ));
    }
    Ok(MethodOutcome {
        user_id: presented.user.id.clone(),
        inherited_methods: presented.payload.methods.clone(),
        expires_at: Some(presented.payload.expires_at),
        parent_audit_id: presented.audit_chain_root().map(str::to_string),
        presented_scope: Some(presented.scope.clone()),
        application_credential: None,
        oauth1: None,
        federated: None,
    })
}

/// Rescope rules once the requested scope is known.
pub fn check_rescope(
    config: &Config,
    presented: &ResolvedScope,
    requested: &ResolvedScope,
) -> Result<()> {
    let presented_scoped = !matches!(presented, ResolvedScope::Unscoped);
    if presented_scoped && !config.token.allow_rescope_scoped_token {
        return Err(Error::forbidden_action("rescope a scoped token"));
    }
    if matches!(presented, ResolvedScope::System)
        && matches!(
            requested,
            ResolvedScope::Project { .. } | ResolvedScope::Domain(_)
        )
    {
        return Err(Error::forbidden());
    }
    Ok(())
}
