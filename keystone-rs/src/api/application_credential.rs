//! Routes: `/v3/users/{user_id}/application_credentials[/{id}]` and
//! `/v3/users/{user_id}/access_rules[/{id}]`.

use crate::application_credential::model::{credential_json, rule_json};
use crate::application_credential::store::{self, NewCredential, RuleDeletion};
use crate::application_credential::{ApplicationCredential, RoleWithOptions, schema};
use crate::context::{self, AUTH_TOKEN_HEADER, base_url, header};
use crate::error::{Error, Result};
use crate::json::resource_body;
use crate::policy::TargetBuilder;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/users/{user_id}/application_credentials")
            .route(web::get().to(list_credentials))
            .route(web::head().to(list_credentials))
            .route(web::post().to(create_credential)),
    )
    .service(
        web::resource("/v3/users/{user_id}/application_credentials/{application_credential_id}")
            .route(web::get().to(get_credential))
            .route(web::head().to(get_credential))
            .route(web::delete().to(delete_credential)),
    )
    .service(
        web::resource("/v3/users/{user_id}/access_rules")
            .route(web::get().to(list_rules))
            .route(web::head().to(list_rules)),
    )
    .service(
        web::resource("/v3/users/{user_id}/access_rules/{access_rule_id}")
            .route(web::get().to(get_rule))
            .route(web::head().to(get_rule))
            .route(web::delete().to(delete_rule)),
    );
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(resource_body(body))
}

/// Query parameters in order (repeated keys kept).
fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| Error::bad_request("Invalid query string."))
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Keystone's list filters on string attributes: `key=v` exact, `key__[i]contains`,
/// `__[i]startswith`, `__[i]endswith`; other comparators are ignored.
fn filter_matches(pairs: &[(String, String)], key: &str, value: Option<&str>) -> bool {
    pairs.iter().all(|(k, wanted)| {
        if k == key {
            return value == Some(wanted.as_str());
        }
        let Some(comparator) = k.strip_prefix(key).and_then(|rest| rest.strip_prefix("__")) else {
            return true;
        };
        let (insensitive, comparator) = match comparator.strip_prefix('i') {
            Some(rest) => (true, rest),
            None => (false, comparator),
        };
        let Some(value) = value else {
            return !matches!(comparator, "contains" | "startswith" | "endswith");
        };
        let (have, want) = if insensitive {
            (value.to_lowercase(), wanted.to_lowercase())
        } else {
            (value.to_string(), wanted.clone())
        };
        match comparator {
            "contains" => have.contains(&want),
            "startswith" => have.starts_with(&want),
            "endswith" => have.ends_with(&want),
            _ => true,
        }
    })
}

/// `[DEFAULT] max_db_limit`'s default: the most a page may hold.
const MAX_PAGE: usize = 1000;

/// `limit`/`marker` (Python Keystone crashes on them for this API; here they page).
struct Page {
    limit: Option<usize>,
    marker: Option<String>,
}

fn page(pairs: &[(String, String)]) -> Result<Page> {
    let limit = match first(pairs, "limit") {
        None | Some("") => None,
        Some(text) => {
            let parsed = text
                .trim()
                .trim_start_matches('+')
                .parse::<usize>()
                .map_err(|_| {
                    Error::bad_request(format!(
                        "Invalid input for query parameters limit. Value: {text}. '{text}' is \
                         not a non-negative integer"
                    ))
                })?;
            Some(parsed.min(MAX_PAGE))
        }
    };
    Ok(Page {
        limit,
        marker: first(pairs, "marker")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
    })
}

/// Python's `urlencode` of `(key, value)` pairs (`quote_plus`).
fn urlencode(pairs: &[(String, String)]) -> String {
    const PLUS_SAFE: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'_')
        .remove(b'.')
        .remove(b'-')
        .remove(b'~')
        .remove(b' ');
    let enc = |s: &str| {
        utf8_percent_encode(s, PLUS_SAFE)
            .to_string()
            .replace(' ', "+")
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The collection body: items, Keystone's `links` (`self` repeats the query verbatim;
/// `next` only when a page was cut), `truncated` when it was.
#[allow(clippy::too_many_arguments)] // two call sites, each argument named there
fn collection<T>(
    req: &HttpRequest,
    base: &str,
    key: &str,
    items: Vec<T>,
    id_of: impl Fn(&T) -> String,
    render: impl Fn(&T) -> Value,
    pairs: &[(String, String)],
    page: &Page,
) -> Value {
    let mut items = items;
    if let Some(marker) = &page.marker {
        items = match items.iter().position(|i| &id_of(i) == marker) {
            Some(at) => items.split_off(at + 1),
            None => Vec::new(),
        };
    }
    let mut truncated = false;
    if let Some(limit) = page.limit.filter(|&l| items.len() > l) {
        items.truncate(limit);
        truncated = true;
    }
    let query = req.query_string();
    let self_url = if query.is_empty() {
        format!("{base}{}", req.path())
    } else {
        format!("{base}{}?{query}", req.path())
    };
    let next = match (truncated, items.last()) {
        (true, Some(last)) => {
            let mut args: Vec<(String, String)> = Vec::new();
            for (k, v) in pairs {
                if !args.iter().any(|(seen, _)| seen == k) {
                    args.push((k.clone(), v.clone()));
                }
            }
            for (k, v) in [
                ("marker", id_of(last)),
                ("limit", page.limit.unwrap_or_default().to_string()),
            ] {
                match args.iter_mut().find(|(seen, _)| seen == k) {
                    Some(slot) => slot.1 = v,
                    None => args.push((k.to_string(), v)),
                }
            }
            Value::from(format!("{base}{}?{}", req.path(), urlencode(&args)))
        }
        _ => Value::Null,
    };
    let mut body = Map::new();
    body.insert(key.into(), items.iter().map(render).collect());
    body.insert(
        "links".into(),
        json!({"next": next, "self": self_url, "previous": null}),
    );
    if truncated {
        body.insert("truncated".into(), true.into());
    }
    Value::Object(body)
}

async fn list_credentials(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let pairs = query_pairs(&req)?;
    let name_filter: Vec<(&str, &str)> = first(&pairs, "name")
        .map(|n| vec![("name", n)])
        .unwrap_or_default();
    let target = TargetBuilder::new()
        .path_var("user_id", user_id.clone())
        .filters(name_filter)
        .build();
    context::authorize(
        &state,
        &caller,
        "identity:list_application_credentials",
        &target,
    )?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let page = page(&pairs)?;
    let exact = first(&pairs, "name").map(str::to_string);
    let listed = state
        .db
        .read(move |conn| {
            let found = store::list_for_user(conn, &user_id, exact.as_deref())?;
            found
                .into_iter()
                .map(|ac| {
                    let roles = store::roles_with_options(conn, &ac.role_ids)?;
                    Ok((ac, roles))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await?;
    let listed: Vec<(ApplicationCredential, Vec<RoleWithOptions>)> = listed
        .into_iter()
        .filter(|(ac, _)| filter_matches(&pairs, "name", Some(&ac.name)))
        .collect();
    let base = base_url(&req, &state.config);
    let body = collection(
        &req,
        &base,
        "application_credentials",
        listed,
        |(ac, _)| ac.id.clone(),
        |(ac, roles)| credential_json(ac, roles, None, &base),
        &pairs,
        &page,
    );
    Ok(json_response(StatusCode::OK, &body))
}

async fn create_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    // Keystone's middleware rejects a bad token before the body is read; a missing token
    // is only noticed by policy, after the schema.
    let early_caller = match header(req.headers(), AUTH_TOKEN_HEADER) {
        Some(_) => Some(context::caller(&state, &req).await?),
        None => None,
    };
    let body = context::json_body(&req, &body)?;
    let request = schema::parse_create(&body)?;
    let caller = match early_caller {
        Some(c) => c,
        None => context::caller(&state, &req).await?,
    };
    let target = TargetBuilder::new()
        .path_var("user_id", user_id.clone())
        .request_body(&body)
        .build();
    context::authorize(
        &state,
        &caller,
        "identity:create_application_credential",
        &target,
    )?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    crate::token::delegated::forbid_restricted(&caller)?;
    if caller.user.id != user_id {
        return Err(Error::forbidden_action(
            "Cannot create an application credential for another user.",
        ));
    }

    let st = state.clone();
    let (c, r) = (caller.clone(), request.clone());
    let prepared = state
        .db
        .read(move |conn| {
            crate::application_credential::prepare_create(
                conn,
                &st.config,
                &c.user.id,
                &c.roles,
                c.scope.project(),
                &r,
                chrono::Utc::now().naive_utc(),
            )
        })
        .await?;
    let secret = request
        .secret
        .clone()
        .unwrap_or_else(crate::application_credential::generate_secret);
    let identity = state.config.identity.clone();
    let to_hash = secret.clone();
    // bcrypt is slow on purpose: off the async workers and outside the write transaction.
    let secret_hash =
        web::block(move || crate::identity::password::hash_password(&to_hash, &identity)).await??;
    let new = NewCredential {
        id: uuid::Uuid::new_v4().simple().to_string(),
        name: request.name,
        secret_hash,
        description: request.description,
        user_id,
        project_id: prepared.project_id,
        system: request.system,
        expires_at: prepared.expires_at,
        unrestricted: request.unrestricted,
        role_ids: prepared.role_ids,
        access_rules: prepared.access_rules,
    };
    let (ac, roles) = state
        .db
        .write(move |conn| {
            let ac = store::insert(conn, &new)?;
            let roles = store::roles_with_options(conn, &ac.role_ids)?;
            Ok((ac, roles))
        })
        .await?;
    let base = base_url(&req, &state.config);
    let body = json!({
        "application_credential": credential_json(&ac, &roles, Some(&secret), &base)
    });
    Ok(json_response(StatusCode::CREATED, &body))
}

/// Keystone replaces the path's user id by the credential's owner before policy, so the
/// owner check is against the real owner.
pub(crate) async fn owner_target(
    state: &State,
    user_id: &str,
    credential_id: &str,
) -> Result<(Value, Option<ApplicationCredential>)> {
    let id = credential_id.to_string();
    let found = state.db.read(move |conn| store::get(conn, &id)).await?;
    let mut target = TargetBuilder::new().path_var("application_credential_id", credential_id);
    target = match &found {
        Some(ac) => target
            .path_var("user_id", ac.user_id.clone())
            .target(json!({"user_id": ac.user_id})),
        None => target.path_var("user_id", user_id),
    };
    Ok((target.build(), found))
}

async fn get_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, credential_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let (target, found) = owner_target(&state, &user_id, &credential_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:get_application_credential",
        &target,
    )?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let ac =
        found.ok_or_else(|| Error::could_not_find("Application Credential", &credential_id))?;
    let ids = ac.role_ids.clone();
    let roles = state
        .db
        .read(move |conn| store::roles_with_options(conn, &ids))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"application_credential": credential_json(&ac, &roles, None, &base)}),
    ))
}

async fn delete_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, credential_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let (target, _) = owner_target(&state, &user_id, &credential_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:delete_application_credential",
        &target,
    )?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    crate::token::delegated::forbid_restricted(&caller)?;
    let id = credential_id.clone();
    // No revocation event: the credential's tokens fail because validation re-reads it.
    let deleted = state
        .db
        .write(move |conn| crate::cascade::delete_application_credential(conn, &id))
        .await?;
    if !deleted {
        return Err(Error::could_not_find(
            "Application Credential",
            &credential_id,
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `target.user`: the path's user as the API shows it, absent when there is none.
async fn user_target(state: &State, user_id: &str) -> Result<TargetBuilder> {
    let id = user_id.to_string();
    let user = state
        .db
        .read(move |conn| crate::identity::store::get(conn, &id))
        .await?;
    let target = TargetBuilder::new().path_var("user_id", user_id);
    Ok(match user {
        Some(u) => {
            let mut m = Map::new();
            m.insert("id".into(), u.id.into());
            m.insert("name".into(), u.name.into());
            m.insert("domain_id".into(), u.domain_id.into());
            m.insert("enabled".into(), u.enabled.into());
            if let Some(p) = u.default_project_id {
                m.insert("default_project_id".into(), p.into());
            }
            m.insert(
                "password_expires_at".into(),
                u.password_expires_at
                    .map(|t| Value::from(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()))
                    .unwrap_or(Value::Null),
            );
            target.entity("user", Value::Object(m))
        }
        None => target,
    })
}

const RULE_FILTERS: [&str; 3] = ["service", "path", "method"];

async fn list_rules(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let pairs = query_pairs(&req)?;
    let filters: Vec<(&str, &str)> = RULE_FILTERS
        .iter()
        .filter_map(|k| first(&pairs, k).map(|v| (*k, v)))
        .collect();
    let target = user_target(&state, &user_id)
        .await?
        .filters(filters)
        .build();
    context::authorize(&state, &caller, "identity:list_access_rules", &target)?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let page = page(&pairs)?;
    let rules = state
        .db
        .read(move |conn| store::list_rules(conn, &user_id))
        .await?;
    let rules: Vec<_> = rules
        .into_iter()
        .filter(|r| {
            filter_matches(&pairs, "service", r.service.as_deref())
                && filter_matches(&pairs, "path", r.path.as_deref())
                && filter_matches(&pairs, "method", r.method.as_deref())
        })
        .collect();
    let base = base_url(&req, &state.config);
    let body = collection(
        &req,
        &base,
        "access_rules",
        rules,
        |r| r.id.clone().unwrap_or_default(),
        |r| rule_json(r, Some(&base)),
        &pairs,
        &page,
    );
    Ok(json_response(StatusCode::OK, &body))
}

async fn get_rule(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, rule_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = user_target(&state, &user_id)
        .await?
        .path_var("access_rule_id", rule_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:get_access_rule", &target)?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let id = rule_id.clone();
    let rule = state
        .db
        .read(move |conn| store::get_rule(conn, &id, &user_id))
        .await?
        .ok_or_else(|| Error::could_not_find("Access Rule", &rule_id))?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"access_rule": rule_json(&rule, Some(&base))}),
    ))
}

async fn delete_rule(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, rule_id) = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = user_target(&state, &user_id)
        .await?
        .path_var("access_rule_id", rule_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:delete_access_rule", &target)?;
    crate::token::delegated::forbid_delegated(&caller, &state.config)?;
    let id = rule_id.clone();
    let outcome = state
        .db
        .write(move |conn| store::delete_rule(conn, &id, &user_id))
        .await?;
    match outcome {
        RuleDeletion::Deleted => Ok(HttpResponse::NoContent().finish()),
        RuleDeletion::NotFound => Err(Error::could_not_find("Access Rule", &rule_id)),
        RuleDeletion::InUse => Err(Error::new(
            StatusCode::FORBIDDEN,
            "May not delete access rule in use",
        )),
    }
}
