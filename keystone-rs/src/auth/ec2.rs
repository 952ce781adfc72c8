//! `POST /v3/ec2tokens` and `POST /v3/s3tokens`: a request signed with an EC2
//! credential's secret buys a token for the credential's project (Keystone's
//! `EC2_S3_Resource.handle_authenticate`). The token's method is `ec2credential`; its
//! roles are the user's on the project, or the delegation's the credential was made under
//! (application credential, OAuth1 access token).

use crate::config::Config;
use crate::credential::signature::{self, Refusal};
use crate::credential::{self, CredentialKeys, EC2, Ec2Blob};
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::token::formatter::TokenFormatter;
use crate::token::issue::{IssueRequest, issue};
use crate::token::model::{ResolvedScope, Token};
use serde_json::{Map, Value};

/// The method name tokens issued here carry.
pub const METHOD: &str = crate::credential::EC2_AUTH_METHOD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ec2,
    S3,
}

/// The signed-request description from the body: `credentials`, else `credential`, else
/// `ec2Credentials` (the first that is truthy), as Keystone has always accepted.
pub fn signed_request(body: &Value) -> Result<Map<String, Value>> {
    if !crate::python::is_truthy(body) {
        return Err(Error::bad_request("request must include a request body"));
    }
    let found = ["credentials", "credential", "ec2Credentials"]
        .iter()
        .filter_map(|k| body.get(*k))
        .find(|v| crate::python::is_truthy(v));
    let map = match found {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    if !map.contains_key("access") {
        return Err(Error::unauthorized_because("EC2 Signature not supplied"));
    }
    Ok(map)
}

fn not_found() -> Error {
    Error::not_found("EC2 access key not found.")
}

/// Verify the signed request and issue the token.
pub fn authenticate(
    conn: &mut AnyConnection,
    tokens: &TokenFormatter,
    config: &Config,
    keys: &CredentialKeys,
    signed: &Map<String, Value>,
    kind: Kind,
) -> Result<Token> {
    let access = signed
        .get("access")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::unauthorized_because("EC2 access key is not a string"))?;
    let cred = credential::get(conn, keys, &credential::ec2_id(access))?
        .filter(|c| c.type_ == EC2)
        .ok_or_else(not_found)?;
    let blob = Ec2Blob::parse(&cred.blob)
        .ok_or_else(|| Error::unauthorized_because("EC2 credential blob is not a JSON object"))?;
    let secret = blob
        .secret
        .clone()
        .ok_or_else(|| Error::unauthorized_because("EC2 credential has no secret"))?;
    let checked = match kind {
        Kind::Ec2 => signature::check_ec2(&secret, signed),
        Kind::S3 => signature::check_s3(&secret, signed),
    };
    match checked {
        Ok(()) => {}
        Err(Refusal::NotSupplied) => {
            return Err(Error::unauthorized_because("EC2 signature not supplied."));
        }
        Err(Refusal::Invalid) => {
            return Err(Error::unauthorized_because(match kind {
                Kind::Ec2 => "Invalid EC2 signature.",
                Kind::S3 => "Credential signature mismatch",
            }));
        }
    }
    let project_id = cred.project_id.clone().unwrap_or_else(|| "None".into());
    let project = crate::resource::store::get_project(conn, &project_id)?
        .ok_or_else(|| Error::could_not_find("project", &project_id))?;
    let user = crate::identity::store::get(conn, &cred.user_id)?
        .ok_or_else(|| Error::could_not_find("user", &cred.user_id))?;
    let user_domain = crate::resource::store::get_domain(conn, &user.domain_id)?;
    let project_domain_id = project.domain_id.clone().unwrap_or_default();
    let project_domain = crate::resource::store::get_domain(conn, &project_domain_id)?
        .ok_or_else(|| Error::unauthorized_because("project's domain not found"))?;
    if !user.enabled || !user_domain.is_some_and(|d| d.enabled) {
        return Err(Error::unauthorized_because(
            "user or its domain is disabled",
        ));
    }
    if !project.enabled || !project_domain.enabled {
        return Err(Error::unauthorized_because(
            "project or its domain is disabled",
        ));
    }
    check_timestamp(config, signed)?;

    let mut application_credential = None;
    let mut access_token_id = None;
    let mut token_user = user;
    if let Some(trust_id) = &blob.trust_id {
        // A credential made with a trust-scoped token gives a trust-scoped token (no use
        // spent: Keystone counts uses only in POST /v3/auth/tokens). Its user_id is the
        // token's user: the trustor under impersonation, so the token is issued to the
        // trustee, and impersonation shows the trustor again.
        let trust = crate::trust::get(conn, config, trust_id)?;
        if trust.impersonation {
            token_user = crate::identity::store::get(conn, &trust.trustee_user_id)?
                .ok_or_else(|| Error::could_not_find("user", &trust.trustee_user_id))?;
        }
    } else if let Some(ac_id) = &blob.app_cred_id {
        let ac = crate::application_credential::store::get(conn, ac_id)?
            .ok_or_else(|| Error::could_not_find("Application Credential", ac_id))?;
        if cred.project_id != ac.project_id {
            return Err(Error::unauthorized_because(
                "EC2 credential project does not match the application credential project.",
            ));
        }
        application_credential = Some(ac);
    } else if let Some(at_id) = &blob.access_token_id {
        let at = crate::oauth1::store::get_access_token(conn, at_id)?
            .ok_or_else(|| Error::could_not_find("access token", at_id))?;
        if cred.project_id.as_deref() != Some(at.project_id.as_str()) {
            return Err(Error::unauthorized_because(
                "EC2 credential project does not match the OAuth1 access token project.",
            ));
        }
        access_token_id = Some(at.id);
    }
    issue(
        conn,
        tokens,
        config,
        IssueRequest {
            user: token_user,
            methods: vec![METHOD.to_string()],
            scope: ResolvedScope::Project {
                project,
                domain: project_domain,
            },
            expires_at: None,
            parent_audit_id: None,
            application_credential,
            access_token_id,
            thumbprint: None,
            trust_id: blob.trust_id.clone(),
            federated: None,
        },
    )
    .map_err(|e| {
        if e.status == actix_web::http::StatusCode::UNAUTHORIZED {
            Error::unauthorized_because("User not valid for project.")
        } else {
            e
        }
    })
}

/// Keystone's `_check_timestamp`: a signed time older than `[credential] auth_ttl`
/// minutes is refused; a missing one is accepted (the signer left it out).
fn check_timestamp(config: &Config, signed: &Map<String, Value>) -> Result<()> {
    let when = signature::request_time(signed)
        .map_err(|_| Error::unauthorized_because("Credential timestamp is invalid"))?;
    let Some(when) = when else {
        return Ok(());
    };
    // An absurd ttl saturates instead of overflowing.
    let deadline = chrono::Duration::try_minutes(config.credential.auth_ttl)
        .and_then(|ttl| when.checked_add_signed(ttl));
    if deadline.is_some_and(|d| chrono::Utc::now().naive_utc() > d)
        || (deadline.is_none() && config.credential.auth_ttl < 0)
    {
        return Err(Error::unauthorized_because("Credential is expired"));
    }
    Ok(())
}
