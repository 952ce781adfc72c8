//! What a delegated caller may not do: the checks Keystone runs on tokens that were not
//! obtained with a primary method (application credentials, OAuth1, trusts) before it lets
//! them manage credentials or trusts.

use super::model::{PRIMARY_METHODS, Token};
use crate::application_credential::{self as app_cred, model::ApplicationCredential};
use crate::config::Config;
use crate::error::{Error, Result};

/// Keystone's `is_delegated_method`: no methods, or one outside the primary set
/// (built-ins plus `[auth] additional_primary_auth_methods`, never `ec2credential`).
pub fn is_delegated(token: &Token, config: &Config) -> bool {
    let additional: Vec<String> = config
        .get("auth", "additional_primary_auth_methods")
        .map(|v| {
            v.split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let primary = |m: &str| {
        m != "ec2credential" && (PRIMARY_METHODS.contains(&m) || additional.iter().any(|a| a == m))
    };
    let methods = &token.payload.methods;
    methods.is_empty() || methods.iter().any(|m| !primary(m))
}

fn from_application_credential(token: &Token) -> bool {
    token.payload.methods.iter().any(|m| m == app_cred::METHOD)
}

/// The guard every credential and access-rule route runs after policy: trust-scoped and
/// otherwise delegated tokens are refused (generic 403); credential tokens pass here.
pub fn forbid_delegated(caller: &Token, config: &Config) -> Result<()> {
    if from_application_credential(caller) {
        return Ok(());
    }
    if caller.payload.trust_id.is_some() || is_delegated(caller, config) {
        return Err(Error::forbidden().with_detail(
            "Cannot manage application credentials with a token issued via delegation.",
        ));
    }
    Ok(())
}

/// A restricted credential's token may not create or delete credentials.
pub fn forbid_restricted(caller: &Token) -> Result<()> {
    if from_application_credential(caller)
        && !caller
            .application_credential
            .as_ref()
            .is_some_and(ApplicationCredential::is_unrestricted)
    {
        return Err(Error::forbidden_action(
            "Using method 'application_credential' is not allowed for managing additional \
             application credentials.",
        ));
    }
    Ok(())
}

/// Every trust route, after policy (CVE-2026-43000): application-credential tokens,
/// restricted or not, may not list, read, create or delete trusts, unless
/// `[security_compliance] allow_insecure_application_credential_trust_escalation` is set.
/// Trust-scoped tokens may only create trusts by redelegation and OAuth1 tokens not at
/// all: that is decided where the trust is made (`trust::create`).
pub fn forbid_trust_management(caller: &Token, config: &Config) -> Result<()> {
    let escape_hatch = config
        .get(
            "security_compliance",
            "allow_insecure_application_credential_trust_escalation",
        )
        .is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        });
    if from_application_credential(caller) && !escape_hatch {
        return Err(Error::forbidden_action(
            "Using method 'application_credential' is not allowed for managing trusts.",
        ));
    }
    Ok(())
}
