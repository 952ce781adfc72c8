//! The `oauth1` auth method: a `POST /v3/auth/tokens` signed with a consumer and an access
//! token becomes a project token for the authorizing user, carrying only the delegated
//! roles (shared/spec/oauth1.md §7).

use super::MethodOutcome;
use crate::config::Config;
use crate::context::base_url;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::identity::{inactivity, store as identity_store};
use crate::oauth1::signature::signing_uri;
use crate::oauth1::signature::{self, Endpoint, OAuthHeader};
use crate::oauth1::{self, store as oauth1_store};
use crate::resource::store as resource_store;
use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use chrono::Utc;

/// What the method needs from the HTTP request, taken before the blocking database work:
/// the `Authorization` header and the URL Keystone verifies against (its base URL +
/// `/v3/auth/tokens`, never the query string).
#[derive(Debug, Clone)]
pub struct SignedRequest {
    authorization: Option<String>,
    base_uri: String,
}

impl SignedRequest {
    pub fn from_http(req: &HttpRequest, config: &Config) -> SignedRequest {
        SignedRequest {
            authorization: req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            base_uri: signing_uri(&format!("{}/v3/auth/tokens", base_url(req, config))),
        }
    }
}

/// The delegation an access token grants: whose token, on which project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub access_token_id: String,
    pub project_id: String,
}

pub fn authenticate(
    conn: &mut AnyConnection,
    config: &Config,
    request: &SignedRequest,
) -> Result<MethodOutcome> {
    let value = request.authorization.as_deref().ok_or_else(|| {
        Error::validation(
            "No Authorization headers found, cannot proceed with OAuth related calls.",
        )
    })?;
    let header = OAuthHeader::parse(value).map_err(oauth1::refusal_error)?;
    let access_token_id = header
        .non_empty("oauth_token")
        .ok_or_else(|| Error::expecting("oauth_token", "request"))?;
    let access_token = oauth1_store::get_access_token(conn, access_token_id)?
        .ok_or_else(|| Error::not_found("Access token not found"))?;
    let now = Utc::now();
    if oauth1::is_expired(access_token.expires_at.as_deref(), now) {
        return Err(Error::unauthorized_because("Access token is expired"));
    }
    // Keystone's resource endpoint turns every protocol problem into a plain 401.
    let signed = signature::check(&header, &[], Endpoint::Resource, now.timestamp())
        .map_err(|r| Error::unauthorized_because(format!("oauth1: {r:?}")))?;
    // Stricter than Keystone, which takes any existing consumer here: the signer must be
    // the consumer the access token was issued to.
    let consumer = oauth1_store::get_consumer(conn, &signed.consumer_key)?
        .filter(|c| c.id == access_token.consumer_id);
    let valid = consumer.is_some_and(|c| {
        signature::verify(
            &signed,
            &request.base_uri,
            &c.secret,
            Some(&access_token.access_secret),
        )
    });
    if !valid {
        return Err(Error::unauthorized_because(
            "Could not validate the access token",
        ));
    }
    oauth1::remember_nonce(conn, &signed, now)?;
    let user = identity_store::get(conn, &access_token.authorizing_user_id)?
        .ok_or_else(|| Error::could_not_find("user", &access_token.authorizing_user_id))?;
    if !user.enabled || inactivity::is_inactive(conn, config, &user)? {
        return Err(Error::unauthorized_because("user disabled"));
    }
    if !resource_store::get_domain(conn, &user.domain_id)?.is_some_and(|d| d.enabled) {
        return Err(Error::unauthorized_because("user domain disabled"));
    }
    Ok(MethodOutcome {
        user_id: user.id,
        oauth1: Some(Grant {
            access_token_id: access_token.id,
            project_id: access_token.project_id,
        }),
        ..Default::default()
    })
}
