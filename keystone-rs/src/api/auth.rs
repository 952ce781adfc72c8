//! Routes: `/v3/auth/tokens` (issue, validate, check, revoke) and
//! `/v3/auth/{catalog,projects,domains,system}`.

use crate::assignment::store as assignment_store;
use crate::auth::request::{parse_auth_request, unsupported_method};
use crate::auth::scope::{self, ScopeRequest, resolve};
use crate::auth::{
    MethodOutcome, application_credential as app_cred_method, mapped, mfa, oauth1, password,
    token as token_method, totp, trust as trust_method,
};
use crate::context::{self, SUBJECT_TOKEN_HEADER, base_url, header, json_body};
use crate::db::collection::wrap_collection;
use crate::db::listing::{first, query_pairs};
use crate::error::{Error, Result};
use crate::identity::lockout;
use crate::json::{Style, resource_body, to_ascii_string};
use crate::resource::store as resource_store;
use crate::revoke::{self, RevocationEvent};
use crate::state::State;
use crate::token::issue::{self, IssueRequest};
use crate::token::model::{ResolvedScope, Token};
use crate::token::{render, roles, targets, validate};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::sync::Arc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/auth/tokens")
            .route(web::post().to(issue))
            .route(web::get().to(validate))
            .route(web::head().to(validate))
            .route(web::delete().to(revoke_token)),
    )
    .service(
        web::resource("/v3/auth/catalog")
            .route(web::get().to(auth_catalog))
            .route(web::head().to(auth_catalog)),
    )
    .service(
        web::resource("/v3/auth/projects")
            .route(web::get().to(auth_projects))
            .route(web::head().to(auth_projects)),
    )
    .service(
        web::resource("/v3/auth/domains")
            .route(web::get().to(auth_domains))
            .route(web::head().to(auth_domains)),
    )
    // Keystone serves the federated aliases with the same handlers and policies.
    .service(
        web::resource("/v3/OS-FEDERATION/projects")
            .route(web::get().to(auth_projects))
            .route(web::head().to(auth_projects)),
    )
    .service(
        web::resource("/v3/OS-FEDERATION/domains")
            .route(web::get().to(auth_domains))
            .route(web::head().to(auth_domains)),
    )
    .service(
        web::resource("/v3/auth/system")
            .route(web::get().to(auth_system))
            .route(web::head().to(auth_system)),
    );
}

/// Presence of the parameter is what counts (`?nocatalog=false` too).
fn has_query_param(req: &HttpRequest, name: &str) -> bool {
    req.query_string()
        .split('&')
        .any(|kv| kv.split('=').next() == Some(name))
}

/// `request.args.get(name)`: the first value when the parameter repeats.
fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    first(&query_pairs(req.query_string()), name).map(str::to_string)
}

/// oslo's `bool_from_string`.
fn truthy(value: Option<String>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "1" | "t" | "true" | "on" | "y" | "yes"
        )
    })
}

fn token_text_response(
    status: StatusCode,
    token: &Token,
    body: impl actix_web::body::MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((SUBJECT_TOKEN_HEADER, token.id.as_str()))
        .body(body)
}

/// What POST /v3/auth/tokens ends with when every method succeeded: a token, or — the
/// user's MFA rules wanting more methods — a receipt (Keystone's 401 with
/// `Openstack-Auth-Receipt`), which commits like a token: the passcodes it spent stay spent.
enum Issued {
    Token(Token, actix_web::web::Bytes),
    Receipt { id: String, body: Value },
}

fn receipt_response(id: &str, body: &Value) -> HttpResponse {
    HttpResponse::build(StatusCode::UNAUTHORIZED)
        .content_type("application/json")
        .insert_header((crate::receipt::HEADER, id))
        .body(to_ascii_string(body, Style::Python))
}

async fn issue(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let body = json_body(&req, &body)?;
    issue_for(state, req, body).await
}

/// `POST /v3/auth/tokens` with its body parsed (the federated `/auth` route builds one).
pub async fn issue_for(state: State, req: HttpRequest, body: Value) -> Result<HttpResponse> {
    issue_with(state, req, body, None).await
}

/// [`issue_for`] with the federated assertion already in hand (a browser login keystone-rs
/// completed itself); `None` reads it from the request.
pub async fn issue_with(
    state: State,
    req: HttpRequest,
    body: Value,
    assertion: Option<crate::federation::rules::Assertion>,
) -> Result<HttpResponse> {
    let auth = parse_auth_request(&body, &state.config.auth.methods)?;
    // A federated login's assertion: a bearer token validated natively at its OpenID
    // issuer, else the trusted front end's headers, else nothing.
    let assertion = match assertion {
        Some(a) => a,
        None => {
            crate::api::federation_auth::login_assertion(
                &state,
                &req,
                &auth.methods,
                &auth.identity,
            )
            .await?
        }
    };
    let with_catalog = !has_query_param(&req, "nocatalog");
    let signed = oauth1::SignedRequest::from_http(&req, &state.config);
    // The oauth1 method remembers its nonce: a write, in one transaction with the rest.
    // So does a trust-scoped token: it spends one of the trust's uses.
    // So does totp: it remembers the passcode it accepted.
    let uses_totp = auth.methods.iter().any(|m| m == totp::METHOD);
    // A federated login shadows its user (and provisions its projects).
    let writes = uses_totp
        || auth.methods.iter().any(|m| m == "oauth1")
        || auth
            .methods
            .iter()
            .any(|m| mapped::MAPPED_METHODS.contains(&m.as_str()))
        || matches!(auth.scope, ScopeRequest::Trust(_));
    // Keystone reads the receipt only when the header is there and not empty.
    let receipt_id = header(req.headers(), crate::receipt::HEADER)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let scope_given = body.get("auth").and_then(|a| a.get("scope")).is_some();
    let methods_verifying_a_hash = ["password", crate::application_credential::METHOD];
    let auth_methods = auth.methods.clone();
    let st = state.clone();
    let failed = password::FailedLogin::default();
    let failed_in_work = failed.clone();
    let work = move |conn: &mut crate::db::AnyConnection| {
        let config = &st.config;
        // Keystone resolves the scope before running the methods; a credential fixes it
        // (and an unknown credential id is a 404 already here).
        if auth
            .methods
            .iter()
            .any(|m| m == crate::application_credential::METHOD)
        {
            if scope_given {
                return Err(app_cred_method::scope_not_allowed());
            }
            let data = auth
                .identity
                .get(crate::application_credential::METHOD)
                .cloned()
                .unwrap_or(Value::Null);
            app_cred_method::lookup(conn, &data)?;
        }
        let trust_scope = match &auth.scope {
            ScopeRequest::Trust(id) => Some(trust_method::scope(conn, config, id)?),
            _ => None,
        };
        let requested = match &trust_scope {
            Some((_, scope)) => Some(scope.clone()),
            None => resolve(conn, &auth.scope)?,
        };
        let mut outcome: Option<MethodOutcome> = None;
        for method in &auth.methods {
            let data = auth.identity.get(method).cloned().unwrap_or(Value::Null);
            let result = match method.as_str() {
                "password" => password::authenticate(conn, config, &data, &failed_in_work)?,
                "token" => token_method::authenticate(conn, &st.tokens, config, &data)?,
                "oauth1" => oauth1::authenticate(conn, config, &signed)?,
                totp::METHOD => {
                    totp::authenticate(conn, config, &st.credential_keys, &data, &failed_in_work)?
                }
                "application_credential" => app_cred_method::authenticate(conn, config, &data)?,
                m if mapped::MAPPED_METHODS.contains(&m) => {
                    mapped::authenticate(conn, &st.tokens, config, m, &data, &assertion)?
                }
                _ => return Err(unsupported_method(&config.auth.methods)),
            };
            if let Some(previous) = &outcome {
                if previous.user_id != result.user_id {
                    return Err(Error::unauthorized_because("methods disagree on the user"));
                }
            }
            outcome = Some(match outcome {
                None => result,
                Some(prev) => MethodOutcome {
                    inherited_methods: [prev.inherited_methods, result.inherited_methods.clone()]
                        .concat(),
                    expires_at: prev.expires_at.or(result.expires_at),
                    parent_audit_id: prev.parent_audit_id.or(result.parent_audit_id.clone()),
                    presented_scope: prev.presented_scope.or(result.presented_scope.clone()),
                    oauth1: prev.oauth1.or(result.oauth1.clone()),
                    application_credential: prev
                        .application_credential
                        .or(result.application_credential.clone()),
                    federated: prev.federated.or(result.federated.clone()),
                    ..result
                },
            });
        }
        let outcome = outcome.ok_or_else(|| unsupported_method(&config.auth.methods))?;
        let user = crate::identity::store::get(conn, &outcome.user_id)?
            .ok_or_else(|| Error::unauthorized_because("user vanished"))?;
        // What succeeded: the methods run, a presented token's, and a presented receipt's
        // (which must be the same user's).
        let mut methods = auth.methods.clone();
        for m in &outcome.inherited_methods {
            if !methods.contains(m) {
                methods.push(m.clone());
            }
        }
        if let Some(id) = &receipt_id {
            let receipt = st.receipts.validate(id)?;
            if receipt.user_id != user.id {
                return Err(Error::unauthorized_because(
                    "the auth receipt is another user's",
                ));
            }
            for m in receipt.methods {
                if !methods.contains(&m) {
                    methods.push(m);
                }
            }
        }
        let options = crate::identity::store::options_of(conn, std::slice::from_ref(&user.id))?
            .remove(&user.id)
            .unwrap_or_default();
        if !mfa::satisfied(&options, &config.auth.methods, &methods) {
            let receipt = st.receipts.issue(&user.id, &methods)?;
            let domain = crate::resource::store::get_domain(conn, &user.domain_id)?
                .ok_or_else(|| Error::unauthorized_because("user domain vanished"))?;
            let required = mfa::required_methods(&options, &config.auth.methods, &methods);
            let body =
                mfa::receipt_body(&receipt, &user.name, (&domain.id, &domain.name), &required);
            return Ok(Issued::Receipt {
                id: receipt.id,
                body,
            });
        }
        // An access token's project overrides the requested scope (parsed all the same).
        // A credential's project, or an access token's, overrides the requested scope.
        // An access token's project drops a requested trust scope, as in Keystone.
        let trust_id = match (&outcome.oauth1, &trust_scope) {
            (None, Some((trust, _))) => Some(trust.id.clone()),
            _ => None,
        };
        let scope = match (&outcome.application_credential, &outcome.oauth1, requested) {
            (Some(ac), _, _) => app_cred_method::scope(conn, ac)?,
            (None, Some(grant), _) => scope::enabled_project_scope(conn, &grant.project_id)?,
            (None, None, Some(scope)) => scope,
            (None, None, None) if auth.scope == ScopeRequest::Absent => {
                default_project_scope(conn, &user)?
            }
            (None, None, None) => ResolvedScope::Unscoped,
        };
        if let Some(presented) = &outcome.presented_scope {
            token_method::check_rescope(config, presented, &scope)?;
        }
        let token = issue::issue(
            conn,
            &st.tokens,
            config,
            IssueRequest {
                user,
                methods,
                scope,
                expires_at: outcome.expires_at,
                parent_audit_id: outcome.parent_audit_id,
                access_token_id: outcome.oauth1.map(|g| g.access_token_id),
                application_credential: outcome.application_credential,
                thumbprint: None,
                trust_id: trust_id.clone(),
                federated: outcome.federated,
            },
        )?;
        // Only a token actually issued spends a use.
        if let Some(id) = &trust_id {
            trust_method::spend_use(conn, id)?;
        }
        let catalog = if with_catalog {
            Some(render::catalog_for(conn, &st.tokens, config, &token)?)
        } else {
            None
        };
        let body = render::render_text(&token, catalog.as_deref());
        Ok(Issued::Token(token, body))
    };
    let _turn = crate::identity::password::hashing_turn(
        auth_methods
            .iter()
            .any(|m| methods_verifying_a_hash.contains(&m.as_str())),
    )
    .await;
    let outcome = if writes {
        let issued = state.db.write(work).await;
        if issued.is_ok() {
            crate::oauth1::purge_nonces_if_due(&state.db).await;
            if uses_totp {
                crate::db::replay::purge_if_due(&state.db, &totp::REPLAY_PURGE, totp::REPLAY_KIND)
                    .await;
            }
        }
        issued
    } else {
        state.db.read(work).await
    };
    if let Some(user_id) = failed.take() {
        let st = state.clone();
        state
            .db
            .write(move |conn| lockout::record_failure(conn, &st.config, &user_id))
            .await?;
    }
    match outcome.map_err(trust_method::hide_missing_trust)? {
        Issued::Token(token, body) => Ok(token_text_response(StatusCode::CREATED, &token, body)),
        Issued::Receipt { id, body } => Ok(receipt_response(&id, &body)),
    }
}

/// No scope asked for: the user's default project if it is usable, else unscoped.
fn default_project_scope(
    conn: &mut crate::db::AnyConnection,
    user: &crate::identity::User,
) -> Result<ResolvedScope> {
    let Some(project_id) = &user.default_project_id else {
        return Ok(ResolvedScope::Unscoped);
    };
    let scope = match scope::enabled_project_scope(conn, project_id) {
        Ok(scope) => scope,
        // Missing or disabled: Keystone ignores the default project.
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(ResolvedScope::Unscoped),
        Err(e) => return Err(e),
    };
    if roles::roles_for(conn, &user.id, &scope)?.is_empty() {
        return Ok(ResolvedScope::Unscoped);
    }
    Ok(scope)
}

/// The subject token, validated, and the policy target Keystone builds from it.
async fn subject(state: &State, req: &HttpRequest, allow_expired: bool) -> Result<Arc<Token>> {
    let subject_id = header(req.headers(), SUBJECT_TOKEN_HEADER)
        .ok_or_else(|| Error::not_found("No token in the request"))?
        .to_string();
    // Subject tokens are validated with what the client announced it understands.
    let access_rules = header(req.headers(), validate::ACCESS_RULES_HEADER).map(str::to_string);
    validate::validate_async(
        &state.db,
        &state.tokens,
        &state.config,
        &subject_id,
        allow_expired,
        access_rules.as_deref(),
    )
    .await
}

fn subject_target(subject: &Token) -> Value {
    json!({"target": {"token": {"user_id": subject.user.id, "user": {"domain": {"id": subject.user.domain_id}}}}})
}

async fn validate(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let allow_expired = truthy(query_param(&req, "allow_expired"));
    let subject = subject(&state, &req, allow_expired).await?;
    let action = if req.method() == Method::HEAD {
        "identity:check_token"
    } else {
        "identity:validate_token"
    };
    context::authorize(&state, &caller, action, &subject_target(&subject))?;
    let derived = &subject.derived;
    let body = if has_query_param(&req, "nocatalog") {
        derived
            .validation_body
            .get_or_init(|| render::render_json_without_catalog(&subject).into())
            .clone()
    } else {
        let parts = derived
            .validation_body_around_catalog
            .get_or_init(|| render::body_around_catalog(&subject));
        if parts.takes_catalog() {
            let catalog =
                render::catalog_async(&state.db, &state.tokens, &state.config, &subject).await?;
            parts.with(&catalog)
        } else {
            parts.before.clone()
        }
    };
    // HEAD answers with GET's headers (actix drops the body of HEAD responses).
    Ok(token_text_response(StatusCode::OK, &subject, body))
}

async fn revoke_token(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let subject = subject(&state, &req, false).await?;
    context::authorize(
        &state,
        &caller,
        "identity:revoke_token",
        &subject_target(&subject),
    )?;
    let cascade = query_param(&req, "cascade")
        .map(|v| truthy(Some(v)))
        .unwrap_or(true);
    let audit_id = subject
        .audit_id()
        .map(str::to_string)
        .ok_or_else(|| Error::internal("token without audit id"))?;
    let retention = revoke::retention_secs(&state.config);
    state
        .db
        .write_retrying(move |conn| {
            revoke::store::insert(conn, &RevocationEvent::for_audit_id(&audit_id), retention)?;
            if cascade {
                revoke::store::insert(
                    conn,
                    &RevocationEvent::for_audit_chain(&audit_id),
                    retention,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn resource_response(body: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(resource_body(body))
}

async fn auth_catalog(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    context::authorize(&state, &caller, "identity:get_auth_catalog", &json!({}))?;
    if caller.project_id().is_none() {
        return Err(Error::new(
            StatusCode::FORBIDDEN,
            "A project-scoped token is required to produce a service catalog.",
        ));
    }
    let catalog = render::catalog_async(&state.db, &state.tokens, &state.config, &caller)
        .await?
        .value
        .clone();
    let base = base_url(&req, &state.config);
    Ok(resource_response(
        &json!({"catalog": catalog, "links": {"self": format!("{base}/v3/auth/catalog")}}),
    ))
}

/// The groups a federated caller's token carries (Keystone's `auth_context['group_ids']`).
fn federated_groups(caller: &Token) -> Vec<String> {
    caller
        .federated()
        .map(|f| f.group_ids.clone())
        .unwrap_or_default()
}

async fn auth_projects(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    context::authorize(&state, &caller, "identity:get_auth_projects", &json!({}))?;
    let user_id = caller.user.id.clone();
    let groups = federated_groups(&caller);
    let tokens = state.tokens.clone();
    let projects = state
        .db
        .read(move |conn| {
            let targets = targets::scope_targets(conn, &tokens.cache, &user_id, &groups)?;
            targets::listed_projects(conn, &tokens.cache, &targets.project_ids)
        })
        .await?;
    let url = crate::api::list_url(&req, &state.config);
    Ok(crate::api::streamed::collection_written(
        "projects",
        &projects,
        &url,
        |p, out| p.write_text(&url.base, out),
    ))
}

async fn auth_domains(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    context::authorize(&state, &caller, "identity:get_auth_domains", &json!({}))?;
    let user_id = caller.user.id.clone();
    let groups = federated_groups(&caller);
    let tokens = state.tokens.clone();
    let domains = state
        .db
        .read(move |conn| {
            let targets = targets::scope_targets(conn, &tokens.cache, &user_id, &groups)?;
            resource_store::get_projects(conn, &targets.domain_ids)
        })
        .await?;
    let url = crate::api::list_url(&req, &state.config);
    let list: Vec<Value> = domains
        .iter()
        .filter(|d| d.is_domain)
        .map(|d| d.to_domain_json(&url.base))
        .collect();
    Ok(resource_response(&wrap_collection(
        "domains", list, None, &url,
    )))
}

async fn auth_system(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    context::authorize(&state, &caller, "identity:get_auth_system", &json!({}))?;
    let user_id = caller.user.id.clone();
    let groups = federated_groups(&caller);
    let has_system = state
        .db
        .read(move |conn| {
            if assignment_store::has_system_role(conn, &user_id)? {
                return Ok(true);
            }
            for group_id in groups {
                let group = crate::assignment::model::Actor::Group(group_id);
                if !assignment_store::system_roles(conn, &group)?.is_empty() {
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await?;
    let base = base_url(&req, &state.config);
    let system = if has_system {
        json!([{"all": true}])
    } else {
        json!([])
    };
    Ok(resource_response(
        &json!({"system": system, "links": {"self": format!("{base}/v3/auth/system")}}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_parameter_counts_by_its_first_value() {
        let req = actix_web::test::TestRequest::with_uri(
            "/v3/auth/tokens?allow_expired=1&nocatalog&allow_expired=0",
        )
        .to_http_request();
        assert_eq!(query_param(&req, "allow_expired").as_deref(), Some("1"));
        assert_eq!(query_param(&req, "cascade"), None);
        assert!(has_query_param(&req, "nocatalog"));
    }
}
