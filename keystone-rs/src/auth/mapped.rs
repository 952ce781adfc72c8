//! The `mapped` auth method (and `saml2`, `openid`, `x509`, which Keystone serves with the
//! same plugin): a federated login from an assertion, or — with `{"id": token}` — a
//! presented federated token whose federation carries over (Keystone's
//! `handle_scoped_token`).

use super::MethodOutcome;
use crate::config::Config;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::federation::login::{self, FederatedIdentity};
use crate::federation::rules::Assertion;
use crate::token::formatter::TokenFormatter;
use crate::token::model::Token;
use crate::token::validate;
use serde_json::Value;

pub use crate::federation::login::MAPPED_METHODS;

pub fn authenticate(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    method: &str,
    data: &Value,
    assertion: &Assertion,
) -> Result<MethodOutcome> {
    if let Some(id) = data.get("id") {
        let id = id.as_str().ok_or_else(|| Error::expecting("id", method))?;
        let presented = validate::validate_with(conn, tokens, config, id, false, None)?;
        return carry_over(conn, &presented);
    }
    let field = |name: &str| {
        data.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::expecting(name, "mapped"))
    };
    let idp_id = field("identity_provider")?;
    let protocol_id = field("protocol")?;
    let FederatedIdentity { user_id, federated } =
        login::login(conn, config, idp_id, protocol_id, assertion)?;
    Ok(MethodOutcome {
        user_id,
        federated,
        ..Default::default()
    })
}

/// A presented federated token's user, groups, provider and expiry, once its provider,
/// mapping and groups are still there. Its audit chain does not carry over (Keystone's
/// `handle_scoped_token` sets none).
pub fn carry_over(conn: &mut AnyConnection, presented: &Token) -> Result<MethodOutcome> {
    let Some(federated) = presented.federated() else {
        // Keystone looks up the identity provider `None`.
        return Err(crate::federation::providers::idp_not_found("None"));
    };
    login::check_presented(conn, federated)?;
    Ok(MethodOutcome {
        user_id: presented.user.id.clone(),
        inherited_methods: presented.payload.methods.clone(),
        expires_at: Some(presented.payload.expires_at),
        presented_scope: Some(presented.scope.clone()),
        federated: Some(federated.clone()),
        ..Default::default()
    })
}
