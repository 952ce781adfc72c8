//! Routes: `/v3/OS-OAUTH1/{consumers,request_token,authorize,access_token}` and
//! `/v3/users/{user_id}/OS-OAUTH1/access_tokens…` (shared/spec/oauth1.md §2–§6).

use crate::api::json_response;
use crate::assignment::RoleRef;
use crate::assignment::store as assignment_store;
use crate::context::{self, base_url, json_body};
use crate::db::collection::wrap_collection;
use crate::error::{Error, Result};
use crate::oauth1::schema;
use crate::oauth1::signature::{self, Endpoint, OAuthHeader};
use crate::oauth1::{AccessToken, Consumer, RequestToken, store};
use crate::policy::target::TargetBuilder;
use crate::resource::store as resource_store;
use crate::revoke::{self, RevocationEvent};
use crate::state::State;
use crate::token::model::PRIMARY_METHODS;
use crate::token::model::Token;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/OS-OAUTH1/consumers")
            .route(web::get().to(list_consumers))
            .route(web::head().to(list_consumers))
            .route(web::post().to(create_consumer)),
    )
    .service(
        web::resource("/v3/OS-OAUTH1/consumers/{consumer_id}")
            .route(web::get().to(get_consumer))
            .route(web::head().to(get_consumer))
            .route(web::patch().to(update_consumer))
            .route(web::delete().to(delete_consumer)),
    )
    .service(
        web::resource("/v3/OS-OAUTH1/request_token").route(web::post().to(create_request_token)),
    )
    .service(web::resource("/v3/OS-OAUTH1/access_token").route(web::post().to(create_access_token)))
    .service(
        web::resource("/v3/OS-OAUTH1/authorize/{request_token_id}")
            .route(web::put().to(authorize_request_token)),
    )
    .service(
        web::resource("/v3/users/{user_id}/OS-OAUTH1/access_tokens")
            .route(web::get().to(list_access_tokens))
            .route(web::head().to(list_access_tokens)),
    )
    .service(
        web::resource("/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}")
            .route(web::get().to(get_access_token))
            .route(web::head().to(get_access_token))
            .route(web::delete().to(delete_access_token)),
    )
    .service(
        web::resource("/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}/roles")
            .route(web::get().to(list_access_token_roles))
            .route(web::head().to(list_access_token_roles)),
    )
    .service(
        web::resource(
            "/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}/roles/{role_id}",
        )
        .route(web::get().to(get_access_token_role))
        .route(web::head().to(get_access_token_role)),
    );
}

fn ok(body: &Value) -> HttpResponse {
    json_response(actix_web::http::StatusCode::OK, body)
}

/// `wrap_collection(refs)`: no hints, so no `next` and no `truncated`.
fn collection(
    req: &HttpRequest,
    config: &crate::config::Config,
    key: &str,
    items: Vec<Value>,
) -> Value {
    wrap_collection(key, items, None, &crate::api::list_url(req, config))
}

fn consumer_not_found() -> Error {
    Error::not_found("Consumer not found")
}

fn access_token_not_found() -> Error {
    Error::not_found("Access token not found")
}

/// Keystone raises a bare `NotFound()` here, whose message is its unformatted template.
fn other_users_token() -> Error {
    Error::not_found("Could not find: %(target)s.")
}

/// Trust-scoped tokens and tokens from non-primary methods (OAuth1, application
/// credentials, …) may not mint or manage delegations: 403 with the generic text.
fn refuse_delegated(caller: &Token, what: &str) -> Result<()> {
    let p = &caller.payload;
    let delegated = p.trust_id.is_some()
        || p.methods.is_empty()
        || p.methods
            .iter()
            .any(|m| !PRIMARY_METHODS.contains(&m.as_str()));
    if delegated {
        return Err(Error::forbidden()
            .with_detail(format!("Cannot {what} with a token issued via delegation.")));
    }
    Ok(())
}

// ---- signed requests --------------------------------------------------------------------

/// The `Authorization: OAuth …` header, parsed. Python Keystone answers 500 when it is
/// missing; a client error is a 400.
pub fn oauth_header(req: &HttpRequest) -> Result<OAuthHeader> {
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Error::validation(
                "No Authorization headers found, cannot proceed with OAuth related calls.",
            )
        })?;
    OAuthHeader::parse(value).map_err(crate::oauth1::refusal_error)
}

/// What Keystone verifies request/access token requests against: the URL the client
/// called, with the scheme of Keystone's base URL (`public_endpoint` or the request's,
/// `X-Forwarded-Proto` honoured).
fn token_endpoint_uri(req: &HttpRequest, config: &crate::config::Config) -> String {
    let public = base_url(req, config);
    let scheme = public.split_once("://").map_or("http", |(s, _)| s);
    let called = context::request_base_url(req, config);
    let rest = called.split_once("://").map_or(called.as_str(), |(_, r)| r);
    signature::signing_uri(&format!("{scheme}://{rest}{}", req.path()))
}

fn form_response(id: &str, secret: &str, expires_at: Option<&str>) -> HttpResponse {
    let mut body = format!("oauth_token={id}&oauth_token_secret={secret}");
    if let Some(at) = expires_at {
        body.push_str("&oauth_expires_at=");
        body.push_str(at);
    }
    HttpResponse::Created()
        .content_type("application/x-www-form-urlencoded")
        .body(body)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

async fn create_request_token(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let header = oauth_header(&req)?;
    let consumer_id = header
        .non_empty("oauth_consumer_key")
        .ok_or_else(|| Error::expecting("oauth_consumer_key", "request"))?
        .to_string();
    let project_id = context::header(req.headers(), "Requested-Project-Id")
        .ok_or_else(|| Error::expecting("Requested-Project-Id", "request"))?
        .to_string();
    let uri = token_endpoint_uri(&req, &state.config);
    let query = signature::query_params(req.query_string());
    let duration = state.config.oauth1.request_token_duration;
    let token = state
        .db
        .write(move |conn| {
            if resource_store::get_project(conn, &project_id)?.is_none() {
                return Err(Error::could_not_find("project", &project_id));
            }
            let consumer =
                store::get_consumer(conn, &consumer_id)?.ok_or_else(consumer_not_found)?;
            let now = Utc::now();
            let signed = signature::check(&header, &query, Endpoint::RequestToken, now.timestamp())
                .map_err(crate::oauth1::refusal_error)?;
            if !signature::verify(&signed, &uri, &consumer.secret, None) {
                return Err(Error::unauthorized_because(
                    "request token: invalid signature",
                ));
            }
            crate::oauth1::remember_nonce(conn, &signed, now)?;
            let token = RequestToken {
                id: crate::oauth1::new_id(),
                request_secret: crate::oauth1::new_id(),
                verifier: None,
                authorizing_user_id: None,
                requested_project_id: project_id,
                role_ids: None,
                consumer_id: consumer.id,
                expires_at: crate::oauth1::expiry_after(now, duration),
            };
            store::insert_request_token(conn, &token)?;
            Ok(token)
        })
        .await?;
    crate::oauth1::purge_nonces_if_due(&state.db).await;
    Ok(form_response(
        &token.id,
        &token.request_secret,
        token.expires_at.as_deref(),
    ))
}

async fn create_access_token(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let header = oauth_header(&req)?;
    for name in ["oauth_consumer_key", "oauth_token", "oauth_verifier"] {
        if header.non_empty(name).is_none() {
            return Err(Error::expecting(name, "request"));
        }
    }
    let request_token_id = header.get("oauth_token").unwrap_or_default().to_string();
    let uri = token_endpoint_uri(&req, &state.config);
    let query = signature::query_params(req.query_string());
    let duration = state.config.oauth1.access_token_duration;
    let token = state
        .db
        .write(move |conn| {
            let request_token = store::get_request_token(conn, &request_token_id)?
                .ok_or_else(|| Error::not_found("Request token not found"))?;
            let now = Utc::now();
            if crate::oauth1::is_expired(request_token.expires_at.as_deref(), now) {
                return Err(Error::unauthorized_because("request token expired"));
            }
            let signed = signature::check(&header, &query, Endpoint::AccessToken, now.timestamp())
                .map_err(crate::oauth1::refusal_error)?;
            let consumer = store::get_consumer(conn, &signed.consumer_key)?;
            // Every check runs, so timing does not tell which one failed.
            let same_consumer = request_token.consumer_id == signed.consumer_key;
            let verifier_matches = match (&request_token.verifier, &signed.verifier) {
                (Some(stored), Some(given)) => constant_time_eq(stored, given),
                _ => false,
            };
            let signature_valid = consumer.as_ref().is_some_and(|c| {
                signature::verify(
                    &signed,
                    &uri,
                    &c.secret,
                    Some(&request_token.request_secret),
                )
            });
            if !(same_consumer && verifier_matches && signature_valid) {
                return Err(Error::unauthorized_because(format!(
                    "access token: consumer matches {same_consumer}, verifier matches \
                     {verifier_matches}, signature valid {signature_valid}"
                )));
            }
            let user_id = request_token.authorizing_user_id.clone().ok_or_else(|| {
                Error::unauthorized_because("Request Token does not have an authorizing user id.")
            })?;
            crate::oauth1::remember_nonce(conn, &signed, now)?;
            if !store::delete_request_token(conn, &request_token.id)? {
                return Err(Error::not_found("Request token not found"));
            }
            let token = AccessToken {
                id: crate::oauth1::new_id(),
                access_secret: crate::oauth1::new_id(),
                authorizing_user_id: user_id,
                project_id: request_token.requested_project_id,
                role_ids: request_token.role_ids.unwrap_or_else(|| "[]".into()),
                consumer_id: request_token.consumer_id,
                expires_at: crate::oauth1::expiry_after(now, duration),
            };
            store::insert_access_token(conn, &token)?;
            Ok(token)
        })
        .await?;
    crate::oauth1::purge_nonces_if_due(&state.db).await;
    Ok(form_response(
        &token.id,
        &token.access_secret,
        token.expires_at.as_deref(),
    ))
}

async fn authorize_request_token(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let request_token_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let body = json_body(&req, &body)?;
    let target = TargetBuilder::new()
        .path_var("request_token_id", request_token_id.clone())
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:authorize_request_token", &target)?;
    let roles = body.get("roles").cloned().unwrap_or_else(|| json!([]));
    let refs = schema::authorize_roles(&roles)?;
    refuse_delegated(&caller, "authorize a request token")?;
    let user_id = caller.user.id.clone();
    let verifier = state
        .db
        .write(move |conn| {
            let request_token = store::get_request_token(conn, &request_token_id)?
                .ok_or_else(|| Error::not_found("Request token not found"))?;
            if crate::oauth1::is_expired(request_token.expires_at.as_deref(), Utc::now()) {
                return Err(Error::unauthorized_because("Request token is expired"));
            }
            let mut role_ids: Vec<String> = Vec::new();
            for r in refs {
                let id = match r {
                    RoleRef::Id(id) => id,
                    RoleRef::Name(name) => {
                        let found: Vec<String> = store::role_ids_named(conn, &name)?;
                        match found.as_slice() {
                            [] => {
                                return Err(Error::not_found(format!(
                                    "Role {name} is not defined"
                                )));
                            }
                            [one] => one.clone(),
                            _ => {
                                return Err(Error::bad_request(format!(
                                    "There are multiple role entities named '{name}'. Please use ID instead of names to resolve the ambiguity."
                                )));
                            }
                        }
                    }
                };
                if !role_ids.contains(&id) {
                    role_ids.push(id);
                }
            }
            // The authorizer must hold every role on the requested project (effective:
            // group, inherited and implied grants count), whatever its token's scope.
            let held: Vec<String> =
                match resource_store::get_project(conn, &request_token.requested_project_id)? {
                    Some(project) => assignment_store::roles_on_project(conn, &user_id, &project)?
                        .into_iter()
                        .map(|r| r.id)
                        .collect(),
                    None => vec![],
                };
            if let Some(missing) = role_ids.iter().find(|id| !held.contains(id)) {
                return Err(Error::unauthorized_because(format!(
                    "authorizing user does not have role required ({missing})"
                )));
            }
            let verifier = crate::oauth1::new_verifier();
            store::authorize_request_token(
                conn,
                &request_token.id,
                &user_id,
                &crate::oauth1::role_ids_json(&role_ids),
                &verifier,
            )?;
            Ok(verifier)
        })
        .await?;
    Ok(ok(&json!({"token": {"oauth_verifier": verifier}})))
}

// ---- consumers --------------------------------------------------------------------------

/// Keystone's `_normalize_dict`: `:` and `-` in top-level keys become `_`.
fn normalize_keys(obj: &Map<String, Value>) -> Map<String, Value> {
    obj.iter()
        .map(|(k, v)| (k.replace([':', '-'], "_"), v.clone()))
        .collect()
}

/// Attributes that are never stored as extras.
const NOT_EXTRA: [&str; 5] = ["id", "description", "secret", "extra", "links"];

fn consumer_body(body: &Value) -> Value {
    match body.get("consumer") {
        None | Some(Value::Null) => json!({}),
        Some(v) => v.clone(),
    }
}

async fn list_consumers(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    context::authorize(&state, &caller, "identity:list_consumers", &json!({}))?;
    let consumers = state.db.read(store::list_consumers).await?;
    let base = base_url(&req, &state.config);
    let items = consumers.iter().map(|c| c.to_json(&base, false)).collect();
    Ok(ok(&collection(&req, &state.config, "consumers", items)))
}

async fn get_consumer(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let consumer_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = TargetBuilder::new()
        .path_var("consumer_id", consumer_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:get_consumer", &target)?;
    let consumer = state
        .db
        .read(move |conn| store::get_consumer(conn, &consumer_id))
        .await?
        .ok_or_else(consumer_not_found)?;
    let base = base_url(&req, &state.config);
    Ok(ok(&json!({"consumer": consumer.to_json(&base, false)})))
}

async fn create_consumer(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let body = json_body(&req, &body)?;
    let target = TargetBuilder::new().request_body(&body).build();
    context::authorize(&state, &caller, "identity:create_consumer", &target)?;
    let requested = consumer_body(&body);
    let requested = match requested.as_object() {
        Some(obj) => Value::Object(normalize_keys(obj)),
        None => requested,
    };
    let obj = schema::consumer_create(&requested)?;
    let consumer = Consumer {
        id: crate::oauth1::new_id(),
        description: obj
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        secret: crate::oauth1::new_id(),
        extra: obj
            .iter()
            .filter(|(k, _)| !NOT_EXTRA.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    let stored = consumer.clone();
    state
        .db
        .write(move |conn| store::insert_consumer(conn, &stored))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        actix_web::http::StatusCode::CREATED,
        &json!({"consumer": consumer.to_json(&base, true)}),
    ))
}

async fn update_consumer(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let consumer_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let body = json_body(&req, &body)?;
    let target = TargetBuilder::new()
        .path_var("consumer_id", consumer_id.clone())
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:update_consumer", &target)?;
    let requested = consumer_body(&body);
    let changes = normalize_keys(schema::consumer_update(&requested)?);
    if changes
        .get("id")
        .is_some_and(|id| id.as_str() != Some(consumer_id.as_str()))
    {
        return Err(Error::bad_request("Cannot change ID"));
    }
    let consumer = state
        .db
        .write(move |conn| {
            let mut consumer =
                store::get_consumer(conn, &consumer_id)?.ok_or_else(consumer_not_found)?;
            if let Some(d) = changes.get("description") {
                consumer.description = d.as_str().map(str::to_string);
            }
            for (k, v) in changes {
                if !NOT_EXTRA.contains(&k.as_str()) {
                    consumer.extra.insert(k, v);
                }
            }
            store::update_consumer(conn, &consumer)?;
            Ok(consumer)
        })
        .await?;
    let base = base_url(&req, &state.config);
    Ok(ok(&json!({"consumer": consumer.to_json(&base, false)})))
}

/// Deleting a consumer deletes its request and access tokens and writes a consumer
/// revocation event, so every Keystone token obtained through them stops validating on
/// every node at once.
async fn delete_consumer(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let consumer_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = TargetBuilder::new()
        .path_var("consumer_id", consumer_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:delete_consumer", &target)?;
    let retention = revoke::retention_secs(&state.config);
    state
        .db
        .write(move |conn| {
            if !store::delete_consumer(conn, &consumer_id)? {
                return Err(consumer_not_found());
            }
            revoke::store::insert(
                conn,
                &RevocationEvent::for_consumer(&consumer_id),
                retention,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- a user's access tokens -------------------------------------------------------------

async fn list_access_tokens(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = TargetBuilder::new()
        .path_var("user_id", user_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:list_access_tokens", &target)?;
    refuse_delegated(&caller, "manage OAuth access tokens")?;
    let base = base_url(&req, &state.config);
    let path_user = user_id.clone();
    let tokens = state
        .db
        .read(move |conn| store::list_access_tokens(conn, &path_user))
        .await?;
    let items = tokens.iter().map(|t| t.to_json(&base)).collect();
    Ok(ok(&collection(&req, &state.config, "access_tokens", items)))
}

fn access_token_target(user_id: &str, access_token_id: &str) -> Value {
    TargetBuilder::new()
        .path_var("user_id", user_id)
        .path_var("access_token_id", access_token_id)
        .build()
}

async fn load_access_token(state: &State, access_token_id: String) -> Result<AccessToken> {
    state
        .db
        .read(move |conn| store::get_access_token(conn, &access_token_id))
        .await?
        .ok_or_else(access_token_not_found)
}

async fn get_access_token(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, access_token_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = access_token_target(&user_id, &access_token_id);
    context::authorize(&state, &caller, "identity:get_access_token", &target)?;
    refuse_delegated(&caller, "manage OAuth access tokens")?;
    let token = load_access_token(&state, access_token_id).await?;
    if token.authorizing_user_id != user_id {
        return Err(other_users_token());
    }
    let base = base_url(&req, &state.config);
    Ok(ok(&json!({"access_token": token.to_json(&base)})))
}

/// Keystone guards this with `identity:ec2_delete_credential` (sic), not
/// `identity:delete_access_token`: deployments' policy files are written against that.
async fn delete_access_token(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, access_token_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = access_token_target(&user_id, &access_token_id);
    context::authorize(&state, &caller, "identity:ec2_delete_credential", &target)?;
    refuse_delegated(&caller, "manage OAuth access tokens")?;
    state
        .db
        .write(move |conn| {
            let token = store::get_access_token(conn, &access_token_id)?
                .ok_or_else(access_token_not_found)?;
            if token.authorizing_user_id != user_id {
                return Err(Error::unauthorized_because("User IDs do not match"));
            }
            // No revocation event, as Keystone: tokens obtained through it validate only
            // while the row exists.
            store::delete_access_token(conn, &token.id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The role API's view of a role minus `description` and `enabled`, as Keystone shows
/// delegated roles.
fn delegated_role_json(
    conn: &mut crate::db::AnyConnection,
    role_id: &str,
    base: &str,
) -> Result<Option<Value>> {
    let Some(role) = assignment_store::get_role(conn, role_id)? else {
        return Ok(None);
    };
    let mut m = role.extra.clone();
    m.remove("description");
    m.remove("enabled");
    m.remove("links");
    m.insert("id".into(), role.id.clone().into());
    m.insert("name".into(), role.name.clone().into());
    m.insert("domain_id".into(), role.domain_id.clone().into());
    m.insert(
        "options".into(),
        Value::Object(store::role_options(conn, role_id)?),
    );
    m.insert(
        "links".into(),
        json!({"self": format!("{base}/v3/roles/{}", role.id)}),
    );
    Ok(Some(Value::Object(m)))
}

async fn list_access_token_roles(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, access_token_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = access_token_target(&user_id, &access_token_id);
    context::authorize(&state, &caller, "identity:list_access_token_roles", &target)?;
    let base = base_url(&req, &state.config);
    let link_base = base.clone();
    let roles = state
        .db
        .read(move |conn| {
            let token = store::get_access_token(conn, &access_token_id)?
                .ok_or_else(access_token_not_found)?;
            if token.authorizing_user_id != user_id {
                return Err(other_users_token());
            }
            let mut roles = Vec::new();
            // A delegated role deleted since is left out (Keystone answers 404 instead).
            for id in token.role_ids() {
                roles.extend(delegated_role_json(conn, &id, &link_base)?);
            }
            Ok(roles)
        })
        .await?;
    Ok(ok(&collection(&req, &state.config, "roles", roles)))
}

async fn get_access_token_role(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse> {
    let (user_id, access_token_id, role_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = TargetBuilder::new()
        .path_var("user_id", user_id.clone())
        .path_var("access_token_id", access_token_id.clone())
        .path_var("role_id", role_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:get_access_token_role", &target)?;
    let base = base_url(&req, &state.config);
    let role = state
        .db
        .read(move |conn| {
            let token = store::get_access_token(conn, &access_token_id)?
                .ok_or_else(access_token_not_found)?;
            if token.authorizing_user_id != user_id {
                return Err(Error::unauthorized_because("User IDs do not match"));
            }
            if !token.role_ids().contains(&role_id) {
                return Err(Error::could_not_find("role", &role_id));
            }
            delegated_role_json(conn, &role_id, &base)?
                .ok_or_else(|| Error::could_not_find("role", &role_id))
        })
        .await?;
    Ok(ok(&json!({"role": role})))
}
