//! Web single sign-on for dashboards (Horizon): `GET|POST
//! /v3/auth/OS-FEDERATION/websso/{protocol_id}` and `GET|POST
//! /v3/auth/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/websso`,
//! both with `?origin=<dashboard>`.
//!
//! As in Keystone, the federated login's answer is a page that posts the unscoped token
//! to the dashboard (`[federation] sso_callback_template`), which must be one of
//! `[federation] trusted_dashboard`. The assertion comes from the trusted front end's
//! headers, as Keystone's from Apache — or, for a protocol with an
//! `[openid_connect:<idp>:<protocol>]` client and no assertion, from keystone-rs's own
//! browser login at the OpenID provider (federation/oidc/code_flow.rs): the first request
//! is sent on to the provider (302), which sends the browser back to the same URL with a
//! `code` and `state`.

use crate::api::federation_auth;
use crate::context::base_url;
use crate::error::{Error, Result};
use crate::federation::oidc::{self, IssuerKeys, code_flow};
use crate::federation::rules::Assertion;
use crate::federation::{login, websso};
use crate::fernet::KeyRing;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::sync::Arc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/auth/OS-FEDERATION/websso/{protocol_id}")
            .route(web::get().to(by_protocol))
            .route(web::post().to(by_protocol)),
    )
    .service(
        web::resource(
            "/v3/auth/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/websso",
        )
        .route(web::get().to(by_idp))
        .route(web::post().to(by_idp)),
    );
}

/// The first value of a query parameter (Flask's `request.args.get`).
fn query(req: &HttpRequest, name: &str) -> Option<String> {
    let pairs = crate::db::listing::query_pairs(req.query_string());
    crate::db::listing::first(&pairs, name).map(str::to_string)
}

/// Keystone's `AuthFederationWebSSOResource`: the identity provider is the one whose
/// remote id the assertion carries.
async fn by_protocol(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let protocol_id = path.into_inner();
    let assertion = federation_auth::assertion(&req, &state.config);
    if assertion.attributes.is_empty()
        && let Some(reply) = native(&state, &req, None, &protocol_id).await?
    {
        return Ok(reply);
    }
    let st = state.clone();
    let protocol = protocol_id.clone();
    let remote_id = state
        .db
        .read(move |conn| login::websso_remote_id(conn, &st.config, &protocol, &assertion))
        .await?;
    let host = websso::trusted_origin(query(&req, "origin").as_deref(), &state.config)?;
    let idp_id = state
        .db
        .read(move |conn| login::idp_of_remote_id(conn, &remote_id))
        .await?;
    log_in_and_return(state, req, &idp_id, &protocol_id, &host, None).await
}

/// Keystone's `AuthFederationWebSSOIDPsResource`.
async fn by_idp(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (idp_id, protocol_id) = path.into_inner();
    if federation_auth::assertion(&req, &state.config)
        .attributes
        .is_empty()
        && let Some(reply) = native(&state, &req, Some(&idp_id), &protocol_id).await?
    {
        return Ok(reply);
    }
    let host = websso::trusted_origin(query(&req, "origin").as_deref(), &state.config)?;
    log_in_and_return(state, req, &idp_id, &protocol_id, &host, None).await
}

/// Keystone's `federated_authenticate_for_token` and `_render_template_response`: the
/// unscoped federated token, in the page that posts it to `host`.
async fn log_in_and_return(
    state: State,
    req: HttpRequest,
    idp_id: &str,
    protocol_id: &str,
    host: &str,
    assertion: Option<Assertion>,
) -> Result<HttpResponse> {
    let mut identity = serde_json::Map::new();
    identity.insert("methods".into(), json!([protocol_id]));
    identity.insert(
        protocol_id.to_string(),
        json!({"identity_provider": idp_id, "protocol": protocol_id}),
    );
    let body = json!({"auth": {"identity": identity}});
    let issued = crate::api::auth::issue_with(state.clone(), req, body, assertion).await?;
    if issued.status() != StatusCode::CREATED {
        // An auth receipt: the user's MFA rules want more than a federated login.
        return Ok(issued);
    }
    let token_id = issued
        .headers()
        .get(crate::context::SUBJECT_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::internal("an issued token without its id"))?
        .to_string();
    let template = websso::template(&state.config)?;
    let page = websso::render(&template, host, &token_id)
        .map_err(|e| Error::internal(format!("[federation] sso_callback_template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html")
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(page))
}

/// The Fernet keys that seal a browser login's state: the token keys (shared by every
/// node), or the receipt keys when tokens are JWS.
fn sealing_keys(state: &State) -> &KeyRing {
    match &state.tokens.format {
        crate::token::formatter::TokenFormat::Fernet { keys, .. } => keys,
        crate::token::formatter::TokenFormat::Jws(_) => state.receipts.keys(),
    }
}

/// The browser login keystone-rs runs itself, for a protocol with an OpenID Connect
/// client: `None` when there is none here (the front end asserts instead).
async fn native(
    state: &State,
    req: &HttpRequest,
    idp_id: Option<&str>,
    protocol_id: &str,
) -> Result<Option<HttpResponse>> {
    let candidates: Vec<Arc<IssuerKeys>> = match idp_id {
        Some(idp) => state
            .oidc
            .get(idp, protocol_id)
            .filter(|i| i.settings.client_id.is_some())
            .into_iter()
            .collect(),
        None => state.oidc.browser_logins(protocol_id),
    };
    if candidates.is_empty() {
        return Ok(None);
    }
    let callback = ["state", "code", "error"]
        .iter()
        .any(|p| query(req, p).is_some());
    if callback {
        return callback_from_provider(state, req, idp_id, protocol_id)
            .await
            .map(Some);
    }
    // By protocol alone the provider must be unambiguous; else Keystone's answer stands.
    let [issuer] = candidates.as_slice() else {
        return Ok(None);
    };
    let origin = websso::trusted_origin(query(req, "origin").as_deref(), &state.config)?;
    let (idp, protocol) = (
        issuer.settings.idp_id.clone(),
        issuer.settings.protocol_id.clone(),
    );
    state
        .db
        .read(move |conn| login::check_target(conn, &idp, &protocol))
        .await?;
    let redirect_uri = issuer
        .settings
        .code_flow
        .redirect_uri
        .clone()
        .unwrap_or_else(|| format!("{}{}", base_url(req, &state.config), req.path()));
    let max_age = issuer.settings.code_flow.login_timeout.as_secs();
    let (st, issuer) = (state.clone(), issuer.clone());
    let uri = redirect_uri.clone();
    let started = web::block(move || code_flow::start(&issuer, sealing_keys(&st), &origin, &uri))
        .await
        .map_err(|e| Error::internal(e.to_string()))??;
    let cookie = binding_cookie(
        &redirect_uri,
        &started.cookie_name,
        &started.cookie_value,
        max_age,
    );
    Ok(Some(
        HttpResponse::Found()
            .insert_header((LOCATION, started.location))
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((SET_COOKIE, cookie))
            .finish(),
    ))
}

/// The `Set-Cookie` binding a login to its browser (RFC 6265): scoped to the callback's
/// path, out of scripts' reach, sent along on the provider's top-level redirect back
/// (`SameSite=Lax`), `Secure` when the callback is https. `max_age` 0 removes it.
fn binding_cookie(redirect_uri: &str, name: &str, value: &str, max_age: u64) -> String {
    let (secure, path) = match redirect_uri.split_once("://") {
        Some((scheme, rest)) => (
            scheme.eq_ignore_ascii_case("https"),
            rest.find('/')
                .and_then(|i| rest[i..].split(['?', '#']).next())
                .unwrap_or("/"),
        ),
        None => (false, "/"),
    };
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The value of the request's cookie `name` (RFC 6265 §5.4 `Cookie` header).
fn request_cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(COOKIE)
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// The provider sent the browser back: check the state against the route, its age, its
/// cookie and the dashboard; redeem the code; log in with the ID token's claims.
async fn callback_from_provider(
    state: &State,
    req: &HttpRequest,
    idp_id: Option<&str>,
    protocol_id: &str,
) -> Result<HttpResponse> {
    if let Some(error) = query(req, "error") {
        return Err(Error::unauthorized_because(format!(
            "the OpenID provider refused the login: {error}"
        )));
    }
    let sealed = query(req, "state")
        .ok_or_else(|| Error::unauthorized_because("a callback without state"))?;
    let (pending, sealed_at) = code_flow::open(sealing_keys(state), &sealed)?;
    if pending.protocol_id != protocol_id || idp_id.is_some_and(|i| i != pending.idp_id) {
        return Err(Error::unauthorized_because(
            "the state was sealed for another WebSSO URL",
        ));
    }
    let issuer = state
        .oidc
        .get(&pending.idp_id, &pending.protocol_id)
        .filter(|i| i.settings.client_id.is_some())
        .ok_or_else(|| Error::unauthorized_because("the state's provider has no client here"))?;
    let cookie = request_cookie(req, &pending.cookie_name());
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    code_flow::check(&pending, sealed_at, &issuer, cookie.as_deref(), now)?;
    let host = websso::trusted_origin(Some(&pending.origin), &state.config)?;
    let code =
        query(req, "code").ok_or_else(|| Error::unauthorized_because("a callback without code"))?;
    let settings_issuer = issuer.clone();
    let p = pending.clone();
    let claims = web::block(move || {
        code_flow::finish(&settings_issuer, &p, &code, chrono::Utc::now().timestamp())
    })
    .await
    .map_err(|e| Error::internal(e.to_string()))??;
    let pairs = oidc::attributes::assertion(&claims, &issuer.settings)
        .map_err(Error::unauthorized_because)?;
    let mut reply = log_in_and_return(
        state.clone(),
        req.clone(),
        &pending.idp_id,
        &pending.protocol_id,
        &host,
        Some(Assertion::exact(pairs)),
    )
    .await?;
    // The login is over: the browser forgets its binding.
    let gone = binding_cookie(&pending.redirect_uri, &pending.cookie_name(), "", 0);
    let gone = actix_web::http::header::HeaderValue::from_str(&gone)
        .map_err(|e| Error::internal(e.to_string()))?;
    reply.headers_mut().append(SET_COOKIE, gone);
    Ok(reply)
}
