//! Routes: `POST /v3/OS-OAUTH2/token` (client credentials grant), `POST
//! /v3/OS-OAUTH2/introspect` (RFC 7662), `GET /.well-known/oauth-authorization-server`
//! (RFC 8414), and the keystone-rs extension that registers JWT client authentication on
//! an application credential: `/v3/users/{user_id}/application_credentials/{id}/OS-OAUTH2/client`.
//!
//! The two OAuth endpoints answer RFC 6749 error JSON only, never Keystone's error JSON.

use crate::context::{self, base_url, header, json_body, request_base_url};
use crate::error::{Error, Result};
use crate::json::{Style, resource_body, to_ascii_string};
use crate::oauth2::{ClientAuthentication, Form, OAuthError, OAuthResult, mtls, store};
use crate::state::State;
use crate::token::model::Token;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::Utc;
use serde_json::{Map, Value, json};

pub const TOKEN_PATH: &str = "/v3/OS-OAUTH2/token";
pub const INTROSPECT_PATH: &str = "/v3/OS-OAUTH2/introspect";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// Responses under this prefix keep their own 405 body (the server's outer middleware
/// rewrites other 405s into flask-restful's).
pub const PATH_PREFIX: &str = "/v3/OS-OAUTH2/";

// One line per resource path: tests/api/{api_ref,policy_coverage}.rs read the routes from
// `web::resource("…"` in this file.
#[rustfmt::skip]
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/OS-OAUTH2/token")
            .route(web::post().to(token))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/v3/OS-OAUTH2/introspect")
            .route(web::post().to(introspect))
            .default_service(web::to(method_not_allowed)),
    )
    .service(web::resource("/.well-known/oauth-authorization-server").route(web::get().to(metadata)))
    .service(
        web::resource("/v3/users/{user_id}/application_credentials/{application_credential_id}/OS-OAUTH2/client")
            .route(web::get().to(get_client))
            .route(web::put().to(put_client))
            .route(web::delete().to(delete_client)),
    );
}

/// Compact JSON with sorted keys and a trailing newline, as Keystone's (Flask `jsonify`).
fn oauth_json(status: StatusCode, body: &Value) -> HttpResponse {
    let mut text = to_ascii_string(&sorted(body), Style::Compact);
    text.push('\n');
    HttpResponse::build(status)
        .content_type("application/json")
        // RFC 6749 §5.1: token responses must not be cached (Keystone omits these).
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
        .body(text)
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(detail) = &self.detail {
            tracing::info!(error = self.error, %detail, "OAuth2 request refused");
        }
        let mut res = oauth_json(
            self.status,
            &json!({"error": self.error, "error_description": self.description}),
        );
        // RFC 6749 §5.2: a client that tried Basic gets a Basic challenge; other 401s get
        // Keystone's `Keystone uri=…` from the server's outer middleware.
        if self.basic_challenge && self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Basic realm=\"OS-OAUTH2\""),
            );
        }
        res
    }
}

/// Keystone's own 405 body for these routes, with the `Allow` header RFC 9110 §15.5.6 asks
/// for (Keystone's lists every method of its resource class; these routes serve POST only).
async fn method_not_allowed() -> HttpResponse {
    let mut res = OAuthError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "other_error",
        "The method is not allowed for the requested URL.",
    )
    .error_response();
    res.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static("POST"),
    );
    res
}

/// The form, as Flask's `request.form` sees it: a body that is not form-encoded (JSON,
/// say) reads as an empty form.
fn read_form(req: &HttpRequest, body: &[u8]) -> OAuthResult<Form> {
    let mime = header(req.headers(), CONTENT_TYPE.as_str())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if mime != "application/x-www-form-urlencoded" {
        return Ok(Form::default());
    }
    Form::parse(body)
}

/// The `aud` values a client assertion may name (RFC 7523 §3): this server's issuer
/// identifier, its token endpoint and its introspection endpoint — under the configured
/// public endpoint and under the URL the client actually called.
fn audiences(req: &HttpRequest, state: &State) -> Vec<String> {
    let mut out = Vec::new();
    for base in [
        base_url(req, &state.config),
        request_base_url(req, &state.config),
    ] {
        for path in ["", TOKEN_PATH, INTROSPECT_PATH] {
            let url = format!("{base}{path}");
            if !out.contains(&url) {
                out.push(url);
            }
        }
    }
    out
}

/// Authenticate the client of an OAuth request: secret methods only read, JWT methods
/// remember their `jti` (a write, shared by every node through the database).
async fn authenticated_client(
    state: &State,
    req: &HttpRequest,
    form: &Form,
) -> OAuthResult<crate::application_credential::ApplicationCredential> {
    let auth = ClientAuthentication::from_request(header(req.headers(), "authorization"), form)?;
    let basic = auth.used_basic();
    let audiences = audiences(req, state);
    let st = state.clone();
    let is_jwt = matches!(
        auth,
        ClientAuthentication::ClientSecretJwt { .. } | ClientAuthentication::PrivateKeyJwt { .. }
    );
    // The store's own failures come back as `Error`; the client's as `OAuthError`.
    let work = move |conn: &mut crate::db::AnyConnection| {
        Ok(crate::oauth2::authenticate_client(
            conn,
            &st.config,
            &auth,
            &audiences,
            Utc::now(),
        ))
    };
    // The secret methods verify the credential's hashed secret.
    let _turn = crate::identity::password::hashing_turn(!is_jwt).await;
    let outcome = if is_jwt {
        // Concurrent replays of one assertion race for its `jti` row: a database that aborts
        // one of them (deadlock, serialization failure) gets the work again, which then
        // finds the row and refuses the replay, instead of answering 500.
        let r = state.db.write_retrying(work).await;
        crate::db::replay::purge_if_due(&state.db, &crate::oauth2::JTI_PURGE, store::JTI_KIND)
            .await;
        r
    } else {
        state.db.read(work).await
    };
    outcome
        .map_err(|e| OAuthError::from(e).with_basic_challenge(basic))
        .and_then(|r| r)
}

async fn token(state: State, req: HttpRequest, body: web::Bytes) -> OAuthResult<HttpResponse> {
    let form = read_form(&req, &body)?;
    match form.get("grant_type") {
        None => {
            return Err(OAuthError::invalid_request(
                "The parameter grant_type is required.",
            ));
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("The parameter grant_type {other} is not supported."),
            ));
        }
    }
    let token = match tls_client_certificate(&req, &form) {
        Some(der) => bound_token(&state, &form, der).await?,
        None => {
            let basic = header(req.headers(), "authorization")
                .is_some_and(|h| h.trim().to_ascii_lowercase().starts_with("basic "));
            let ac = authenticated_client(&state, &req, &form).await?;
            let st = state.clone();
            state
                .db
                .read(move |conn| crate::oauth2::issue_token(conn, &st.tokens, &st.config, ac))
                .await
                .map_err(|e| OAuthError::from(e).with_basic_challenge(basic))?
        }
    };
    Ok(oauth_json(
        StatusCode::OK,
        &json!({
            "access_token": token.id,
            "expires_in": crate::oauth2::expires_in(&token, &state.config),
            "token_type": "Bearer",
        }),
    ))
}

/// The certificate a `tls_client_auth` client authenticates with: the one the client
/// presented in keystone-rs's TLS handshake (verified against `[ssl] ca_certs`), when the
/// request carries no other client credentials. Keystone takes a certificate over any
/// Basic header; here a client that sends a secret or an assertion is authenticated by
/// it, whatever certificate its TLS library offered (api-ref/DEVIATIONS.md).
fn tls_client_certificate(req: &HttpRequest, form: &Form) -> Option<Vec<u8>> {
    let other_credentials = header(req.headers(), "authorization")
        .is_some_and(|h| h.trim().to_ascii_lowercase().starts_with("basic "))
        || form.get("client_secret").is_some()
        || form.get("client_assertion").is_some();
    if other_credentials {
        return None;
    }
    crate::tls::connection(req)?.peer_certificate.clone()
}

fn tls_client_id(form: &Form) -> OAuthResult<String> {
    form.get("client_id")
        .map(str::to_string)
        .ok_or_else(|| OAuthError::invalid_client("tls_client_auth without client_id"))
}

/// `tls_client_auth` at the token endpoint: authenticate, issue the bound token, and
/// remember the certificate's RFC 8705 thumbprint for introspection.
async fn bound_token(state: &State, form: &Form, der: Vec<u8>) -> OAuthResult<Token> {
    let client_id = tls_client_id(form)?;
    let st = state.clone();
    let certificate = der.clone();
    let token = state
        .db
        .read(move |conn| {
            let user = match mtls::authenticate(conn, &st.config, &client_id, &certificate)? {
                Ok(user) => user,
                Err(refused) => return Ok(Err(refused)),
            };
            mtls::issue_bound_token(conn, &st.tokens, &st.config, user, &certificate)
        })
        .await??;
    let thumbprint = crate::tls::keystone_thumbprint(&der);
    let x5t = crate::tls::rfc8705_thumbprint(&der);
    let now_us = Utc::now().timestamp_micros();
    state
        .db
        .write(move |conn| store::remember_certificate(conn, &thumbprint, &x5t, now_us))
        .await?;
    Ok(token)
}

async fn introspect(state: State, req: HttpRequest, body: web::Bytes) -> OAuthResult<HttpResponse> {
    let form = read_form(&req, &body)?;
    let subject = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("The parameter token is required."))?
        .to_string();
    match tls_client_certificate(&req, &form) {
        Some(der) => {
            let client_id = tls_client_id(&form)?;
            let st = state.clone();
            state
                .db
                .read(move |conn| mtls::authenticate(conn, &st.config, &client_id, &der))
                .await??;
        }
        None => {
            authenticated_client(&state, &req, &form).await?;
        }
    }
    let st = state.clone();
    let issuer = base_url(&req, &state.config);
    // Whatever does not validate — garbage, expired, revoked, of a disabled user — is
    // simply inactive (RFC 7662 §2.2); only the store's own trouble is an error.
    let answer = state
        .db
        .read(move |conn| {
            match crate::token::validate::validate(conn, &st.tokens, &st.config, &subject, false) {
                Ok(token) => {
                    let x5t = match &token.payload.thumbprint {
                        Some(t) => store::certificate_x5t(conn, t)?,
                        None => None,
                    };
                    Ok(crate::oauth2::introspection(
                        &token,
                        &issuer,
                        x5t.as_deref(),
                    ))
                }
                Err(e) if e.status.is_server_error() => Err(e),
                Err(_) => Ok(json!({"active": false})),
            }
        })
        .await?;
    Ok(oauth_json(StatusCode::OK, &answer))
}

/// RFC 8414 metadata. The issuer is the identity endpoint's base URL.
async fn metadata(state: State, req: HttpRequest) -> HttpResponse {
    let base = base_url(&req, &state.config);
    let methods: Vec<&str> = state
        .config
        .oauth2
        .authn_methods
        .iter()
        .map(String::as_str)
        // `tls_client_auth` only where clients can present a certificate to us.
        .filter(|m| *m != mtls::METHOD || state.config.ssl.ca_certs.is_some())
        .collect();
    let mut methods = methods;
    if methods.contains(&"client_secret_basic") && !methods.contains(&"client_secret_post") {
        methods.push("client_secret_post");
    }
    let algs = crate::oauth2::signing_algorithms();
    let body = json!({
        "issuer": base,
        "token_endpoint": format!("{base}{TOKEN_PATH}"),
        "introspection_endpoint": format!("{base}{INTROSPECT_PATH}"),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "tls_client_certificate_bound_access_tokens": state.config.ssl.ca_certs.is_some(),
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(resource_body(&body))
}

// ---- JWT client registration (keystone-rs extension) -----------------------------------

/// Policy for the registration routes (the application credential's own rules); the
/// path's credential, which must belong to the path's user.
async fn authorize_client_route(
    state: &State,
    req: &HttpRequest,
    user_id: &str,
    credential_id: &str,
    action: &str,
) -> Result<crate::application_credential::ApplicationCredential> {
    let caller = context::caller(state, req).await?;
    let (target, found) =
        crate::api::application_credential::owner_target(state, user_id, credential_id).await?;
    context::authorize(state, &caller, action, &target)?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    if action != "identity:get_application_credential" {
        crate::token::delegated::forbid_restricted(&caller)?;
    }
    found
        .filter(|ac| ac.user_id == user_id)
        .ok_or_else(|| Error::could_not_find("Application Credential", credential_id))
}

fn client_response(status: StatusCode, reg: &crate::oauth2::ClientRegistration) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(resource_body(&json!({"client": reg.to_json()})))
}

async fn get_client(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, credential_id) = path.into_inner();
    let ac = authorize_client_route(
        &state,
        &req,
        &user_id,
        &credential_id,
        "identity:get_application_credential",
    )
    .await?;
    let keys = state.credential_keys.clone();
    let reg = state
        .db
        .read(move |conn| store::get(conn, &keys, &ac.id))
        .await?
        .ok_or_else(|| Error::could_not_find("OAuth2 client", &credential_id))?;
    Ok(client_response(StatusCode::OK, &reg))
}

async fn put_client(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let (user_id, credential_id) = path.into_inner();
    let body = json_body(&req, &body)?;
    let ac = authorize_client_route(
        &state,
        &req,
        &user_id,
        &credential_id,
        "identity:create_application_credential",
    )
    .await?;
    let st = state.clone();
    let reg = state
        .db
        .write(move |conn| {
            let reg = crate::oauth2::prepare_registration(conn, &st.config, &ac, &body)?;
            store::put(conn, &st.credential_keys, &reg)?;
            Ok(reg)
        })
        .await?;
    Ok(client_response(StatusCode::OK, &reg))
}

async fn delete_client(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, credential_id) = path.into_inner();
    let ac = authorize_client_route(
        &state,
        &req,
        &user_id,
        &credential_id,
        "identity:delete_application_credential",
    )
    .await?;
    let deleted = state
        .db
        .write(move |conn| store::delete(conn, &ac.id))
        .await?;
    if !deleted {
        return Err(Error::could_not_find("OAuth2 client", &credential_id));
    }
    Ok(HttpResponse::NoContent().finish())
}
