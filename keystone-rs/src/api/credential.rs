//! Routes: `/v3/credentials[/{credential_id}]`, `/v3/users/{user_id}/credentials/OS-EC2
//! [/{credential_id}]`, `POST /v3/ec2tokens` and `POST /v3/s3tokens`.

use crate::api::json_response;
use crate::auth::ec2::{self, Kind};
use crate::context::{self, AUTH_TOKEN_HEADER, SUBJECT_TOKEN_HEADER, base_url, header};
use crate::credential::{self, Credential, EC2, Ec2Blob, schema};
use crate::db::collection;
use crate::db::listing::{Comparator, Hints, declared_filters, list_limit, query_pairs};
use crate::error::{Error, Result};
use crate::json::{Style, to_ascii_string};
use crate::policy::TargetBuilder;
use crate::python::jsonschema;
use crate::state::State;
use crate::token::model::Token;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

/// `GET /v3/credentials` filters.
const LIST_FILTERS: &[&str] = &["user_id", "type"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/credentials")
            .route(web::get().to(list_credentials))
            .route(web::head().to(list_credentials))
            .route(web::post().to(create_credential)),
    )
    .service(
        web::resource("/v3/credentials/{credential_id}")
            .route(web::get().to(get_credential))
            .route(web::head().to(get_credential))
            .route(web::patch().to(update_credential))
            .route(web::delete().to(delete_credential)),
    )
    .service(
        web::resource("/v3/users/{user_id}/credentials/OS-EC2")
            .route(web::get().to(list_ec2))
            .route(web::head().to(list_ec2))
            .route(web::post().to(create_ec2)),
    )
    .service(
        web::resource("/v3/users/{user_id}/credentials/OS-EC2/{credential_id}")
            .route(web::get().to(get_ec2))
            .route(web::head().to(get_ec2))
            .route(web::delete().to(delete_ec2)),
    )
    .service(web::resource("/v3/ec2tokens").route(web::post().to(ec2tokens)))
    .service(web::resource("/v3/s3tokens").route(web::post().to(s3tokens)));
}

/// A token obtained through a delegation: a trust scope, or a method outside the primary
/// set (application credential, OAuth1, `ec2credential`, or none at all).
fn is_delegated(state: &State, caller: &Token) -> bool {
    caller.payload.trust_id.is_some()
        || crate::token::delegated::is_delegated(caller, &state.config)
}

fn delegated_refused() -> Error {
    Error::forbidden_action("Delegated tokens cannot access credentials directly")
}

/// Keystone 30's `_require_primary_auth` (LP#2153453, LP#2159643): delegated tokens do not
/// touch credentials at all — unless `[security_compliance]
/// allow_insecure_admin_trust_cross_project_credentials_access` lets an admin-role
/// delegated token reach `ec2` credentials.
fn require_primary_auth(
    state: &State,
    caller: &Token,
    credential_type: Option<&str>,
) -> Result<()> {
    if !is_delegated(state, caller) {
        return Ok(());
    }
    let escape_hatch = state
        .config
        .get(
            "security_compliance",
            "allow_insecure_admin_trust_cross_project_credentials_access",
        )
        .is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        });
    let ec2 = credential_type.is_some_and(|t| t.to_lowercase() == EC2);
    if escape_hatch
        && ec2
        && context::authorize(state, caller, "admin_required", &json!({})).is_ok()
    {
        return Ok(());
    }
    Err(delegated_refused())
}

/// The OS-EC2 routes' version: no escape hatch.
fn require_primary_auth_for_ec2(state: &State, caller: &Token) -> Result<()> {
    if is_delegated(state, caller) {
        return Err(delegated_refused());
    }
    Ok(())
}

/// What policy sees of a credential (`target.credential.*`).
fn policy_view(c: &Credential) -> Value {
    let mut m = Map::new();
    for (k, v) in &c.extra {
        m.insert(k.clone(), v.clone());
    }
    m.insert("id".into(), c.id.clone().into());
    m.insert("user_id".into(), c.user_id.clone().into());
    m.insert(
        "project_id".into(),
        c.project_id.clone().map(Value::from).unwrap_or(Value::Null),
    );
    m.insert("type".into(), c.type_.clone().into());
    m.insert("blob".into(), c.blob.clone().into());
    Value::Object(m)
}

async fn load(state: &State, id: &str) -> Result<Option<Credential>> {
    let (keys, id) = (state.credential_keys.clone(), id.to_string());
    state
        .db
        .read(move |conn| credential::get(conn, &keys, &id))
        .await
}

/// Keystone validates the token in its middleware, before the body; a missing token is
/// only noticed by policy, after the schema.
async fn early_caller(state: &State, req: &HttpRequest) -> Result<Option<std::sync::Arc<Token>>> {
    match header(req.headers(), AUTH_TOKEN_HEADER) {
        Some(_) => Ok(Some(context::caller(state, req).await?)),
        None => Ok(None),
    }
}

async fn list_credentials(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::INDEX_QUERY, &pairs)?;
    let mut target = TargetBuilder::new().filters(declared_filters(&pairs, LIST_FILTERS));
    if !caller.is_system() {
        target = target.entity("credential", json!({"user_id": caller.user.id}));
    }
    context::authorize(
        &state,
        &caller,
        "identity:list_credentials",
        &target.build(),
    )?;
    let mut hints = Hints::from_query(&pairs, LIST_FILTERS, None, &state.config)?;
    hints.set_default_limit(list_limit(&state.config, "credential"));
    // The driver answers the exact `user_id` and `type` filters in SQL.
    let user_filter = hints.exact("user_id").map(|f| f.value.clone());
    let type_filter = hints.exact("type").map(|f| f.value.clone());
    hints.filters.retain(|f| {
        !(f.comparator == Comparator::Equals && LIST_FILTERS.contains(&f.name.as_str()))
    });
    let keys = state.credential_keys.clone();
    let found = state
        .db
        .read(move |conn| {
            credential::list(conn, &keys, user_filter.as_deref(), type_filter.as_deref())
        })
        .await?;
    let base = base_url(&req, &state.config);
    // Only what the caller may see one by one.
    let visible: Vec<Value> = found
        .into_iter()
        .filter(|c| {
            let t = TargetBuilder::new()
                .entity("credential", policy_view(c))
                .build();
            context::authorize(&state, &caller, "identity:get_credential", &t).is_ok()
                && require_primary_auth(&state, &caller, Some(&c.type_)).is_ok()
        })
        .map(|c| credential::to_json(&c, &base))
        .collect();
    let url = crate::api::list_url(&req, &state.config);
    let body = collection::wrap_collection("credentials", visible, Some(&hints), &url);
    Ok(json_response(StatusCode::OK, &body))
}

/// `_normalize_dict`: `:` and `-` in attribute names become `_`.
fn normalized(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .map(|(k, v)| (k.replace([':', '-'], "_"), v))
        .collect()
}

async fn create_credential(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let early = early_caller(&state, &req).await?;
    let body = context::json_body(&req, &body)?;
    let request = schema::check_create(&body)?;
    let caller = match early {
        Some(c) => c,
        None => context::caller(&state, &req).await?,
    };
    let target = TargetBuilder::new()
        .entity("credential", Value::Object(request.clone()))
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:create_credential", &target)?;
    let text = |k: &str| request.get(k).and_then(Value::as_str).map(str::to_string);
    let type_ = text("type").unwrap_or_default();
    let is_ec2 = type_.to_lowercase() == EC2;
    require_primary_auth(&state, &caller, Some(&type_))?;
    let project_id = text("project_id");
    let mut blob = text("blob").unwrap_or_default();
    let id = if is_ec2 {
        let mut parsed = credential::parse_ec2_blob(request.get("blob"))?;
        let id = credential::ec2_id(&credential::access_text(&parsed)?);
        // The delegation the credential is made under travels in the blob, so its EC2
        // tokens carry the same delegation.
        let delegation = [
            ("trust_id", caller.payload.trust_id.clone()),
            ("app_cred_id", caller.payload.app_cred_id.clone()),
            ("access_token_id", caller.payload.access_token_id.clone()),
        ];
        if delegation.iter().any(|(_, v)| v.is_some()) {
            for (k, v) in delegation {
                if let Some(v) = v {
                    parsed.insert(k.into(), v.into());
                }
            }
            blob = to_ascii_string(&Value::Object(parsed), Style::Python);
        }
        id
    } else {
        uuid::Uuid::new_v4().simple().to_string()
    };
    let extra: Map<String, Value> = normalized(request.clone())
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "id" | "user_id" | "project_id" | "type" | "blob"
            )
        })
        .collect();
    let new = Credential {
        id,
        user_id: text("user_id").unwrap_or_default(),
        project_id,
        type_,
        blob,
        extra,
    };
    let (keys, limit, row) = (
        state.credential_keys.clone(),
        state.config.credential.user_limit,
        new.clone(),
    );
    state
        .db
        .write(move |conn| credential::create(conn, &keys, limit, &row))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"credential": credential::to_json(&new, &base)}),
    ))
}

/// Keystone's `_build_target_enforcement`: the stored credential, or nothing when there
/// is none (policy decides first; the 404 comes after).
fn stored_target(found: &Option<Credential>, credential_id: &str) -> Value {
    let mut t = TargetBuilder::new().path_var("credential_id", credential_id);
    if let Some(c) = found {
        t = t.entity("credential", policy_view(c));
    }
    t.build()
}

async fn get_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let credential_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let found = load(&state, &credential_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:get_credential",
        &stored_target(&found, &credential_id),
    )?;
    let c = found.ok_or_else(|| Error::could_not_find("credential", &credential_id))?;
    require_primary_auth(&state, &caller, Some(&c.type_))?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"credential": credential::to_json(&c, &base)}),
    ))
}

async fn update_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let credential_id = path.into_inner();
    let early = early_caller(&state, &req).await?;
    let body = context::json_body(&req, &body)?;
    let patch = schema::check_update(&body)?;
    let caller = match early {
        Some(c) => c,
        None => context::caller(&state, &req).await?,
    };
    let found = load(&state, &credential_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:update_credential",
        &stored_target(&found, &credential_id),
    )?;
    let current = found.ok_or_else(|| Error::could_not_find("credential", &credential_id))?;
    require_primary_auth(&state, &caller, Some(&current.type_))?;
    credential::check_ec2_blob_update(&current, &patch)?;
    if patch
        .get("id")
        .is_some_and(|id| !id.is_null() && id.as_str() != Some(credential_id.as_str()))
    {
        return Err(Error::bad_request("Cannot change ID"));
    }
    // The owner and project after the change must pass policy too: nobody hands a
    // credential to another user or project they could not create it for.
    let mut merged = policy_view(&current);
    if let Value::Object(m) = &mut merged {
        for (k, v) in &patch {
            m.insert(k.clone(), v.clone());
        }
    }
    let after = TargetBuilder::new()
        .path_var("credential_id", credential_id.clone())
        .entity("credential", merged)
        .build();
    context::authorize(&state, &caller, "identity:update_credential", &after)?;
    credential::check_update(&current, &patch)?;
    let keys = state.credential_keys.clone();
    let id = credential_id.clone();
    let updated = state
        .db
        .write(move |conn| credential::update(conn, &keys, &id, &patch))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"credential": credential::to_json(&updated, &base)}),
    ))
}

async fn delete_credential(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let credential_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let found = load(&state, &credential_id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:delete_credential",
        &stored_target(&found, &credential_id),
    )?;
    let c = found.ok_or_else(|| Error::could_not_find("credential", &credential_id))?;
    require_primary_auth(&state, &caller, Some(&c.type_))?;
    let id = credential_id.clone();
    let deleted = state
        .db
        .write(move |conn| credential::store::delete(conn, &id))
        .await?;
    if !deleted {
        return Err(Error::could_not_find("credential", &credential_id));
    }
    Ok(HttpResponse::NoContent().finish())
}

// ---- OS-EC2 ------------------------------------------------------------------------

/// Keystone's `_convert_v3_to_ec2_credential`, with the self link by access key.
fn ec2_json(c: &Credential, base: &str) -> Value {
    let blob = Ec2Blob::parse(&c.blob).unwrap_or_default();
    let raw: Map<String, Value> = match serde_json::from_str::<Value>(&c.blob) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let get = |k: &str| raw.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "user_id": c.user_id,
        "tenant_id": c.project_id,
        "access": get("access"),
        "secret": get("secret"),
        "trust_id": get("trust_id"),
        "links": {"self": format!(
            "{base}/v3/users/{}/credentials/OS-EC2/{}",
            c.user_id,
            blob.access.unwrap_or_default()
        )},
    })
}

async fn require_user(state: &State, user_id: &str) -> Result<()> {
    let id = user_id.to_string();
    let user = state
        .db
        .read(move |conn| crate::identity::store::get(conn, &id))
        .await?;
    user.map(|_| ())
        .ok_or_else(|| Error::could_not_find("user", user_id))
}

async fn list_ec2(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = TargetBuilder::new()
        .path_var("user_id", user_id.clone())
        .build();
    context::authorize(&state, &caller, "identity:ec2_list_credentials", &target)?;
    require_primary_auth_for_ec2(&state, &caller)?;
    require_user(&state, &user_id).await?;
    let keys = state.credential_keys.clone();
    let uid = user_id.clone();
    let found = state
        .db
        .read(move |conn| credential::list(conn, &keys, Some(&uid), Some(EC2)))
        .await?;
    let base = base_url(&req, &state.config);
    let items: Vec<Value> = found.iter().map(|c| ec2_json(c, &base)).collect();
    let self_url = format!("{base}{}", req.path());
    Ok(json_response(
        StatusCode::OK,
        &json!({"credentials": items, "links": {"next": null, "self": self_url, "previous": null}}),
    ))
}

async fn create_ec2(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let user_id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let body = context::json_body(&req, &body)?;
    let target = TargetBuilder::new()
        .path_var("user_id", user_id.clone())
        .entity("credential", json!({"user_id": user_id}))
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, "identity:ec2_create_credential", &target)?;
    require_user(&state, &user_id).await?;
    let tenant = body.get("tenant_id").cloned().unwrap_or(Value::Null);
    let tenant_id = match &tenant {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_string(),
        other => crate::python::py_str(other),
    };
    let pid = tenant_id.clone();
    let project = state
        .db
        .read(move |conn| crate::resource::store::get_project(conn, &pid))
        .await?;
    if project.is_none() {
        return Err(Error::could_not_find("project", &tenant_id));
    }
    require_primary_auth_for_ec2(&state, &caller)?;
    let access = uuid::Uuid::new_v4().simple().to_string();
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let blob = json!({
        "access": access,
        "secret": secret,
        "trust_id": caller.payload.trust_id,
    });
    let new = Credential {
        id: credential::ec2_id(&access),
        user_id,
        project_id: Some(tenant_id),
        type_: EC2.into(),
        blob: to_ascii_string(&blob, Style::Python),
        extra: Map::new(),
    };
    let (keys, limit, row) = (
        state.credential_keys.clone(),
        state.config.credential.user_limit,
        new.clone(),
    );
    state
        .db
        .write(move |conn| credential::create(conn, &keys, limit, &row))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"credential": ec2_json(&new, &base)}),
    ))
}

/// The stored EC2 credential of an access key; Keystone answers a wrong type with 401.
async fn ec2_target(
    state: &State,
    user_id: &str,
    access: &str,
) -> Result<(Value, Option<Credential>)> {
    let found = load(state, &credential::ec2_id(access)).await?;
    let mut t = TargetBuilder::new()
        .path_var("user_id", user_id)
        .path_var("credential_id", access);
    if let Some(c) = &found {
        t = t.entity("credential", policy_view(c));
    }
    Ok((t.build(), found))
}

async fn authorize_ec2_member(
    state: &State,
    req: &HttpRequest,
    user_id: &str,
    access: &str,
    action: &str,
) -> Result<(std::sync::Arc<Token>, Credential)> {
    let caller = context::caller(state, req).await?;
    let (target, found) = ec2_target(state, user_id, access).await?;
    // Keystone loads the credential to build the target: an unknown one is a 404 first.
    let Some(found) = found else {
        return Err(Error::could_not_find(
            "credential",
            &credential::ec2_id(access),
        ));
    };
    context::authorize(state, &caller, action, &target)?;
    require_user(state, user_id).await?;
    if found.type_ != EC2 {
        return Err(Error::unauthorized_because("EC2 access key not found."));
    }
    require_primary_auth_for_ec2(state, &caller)?;
    Ok((caller, found))
}

async fn get_ec2(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, access) = path.into_inner();
    let (_, found) = authorize_ec2_member(
        &state,
        &req,
        &user_id,
        &access,
        "identity:ec2_get_credential",
    )
    .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({"credential": ec2_json(&found, &base)}),
    ))
}

async fn delete_ec2(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (user_id, access) = path.into_inner();
    let (_, found) = authorize_ec2_member(
        &state,
        &req,
        &user_id,
        &access,
        "identity:ec2_delete_credential",
    )
    .await?;
    let id = found.id.clone();
    let deleted = state
        .db
        .write(move |conn| credential::store::delete(conn, &id))
        .await?;
    if !deleted {
        return Err(Error::could_not_find("credential", &found.id));
    }
    Ok(HttpResponse::NoContent().finish())
}

// ---- ec2tokens / s3tokens ------------------------------------------------------------

async fn authorize_signed_token(
    state: &State,
    req: &HttpRequest,
    body: &[u8],
    kind: Kind,
) -> Result<(Token, actix_web::web::Bytes)> {
    let caller = context::caller(state, req).await?;
    let action = match kind {
        Kind::Ec2 => "identity:ec2tokens_validate",
        Kind::S3 => "identity:s3tokens_validate",
    };
    context::authorize(state, &caller, action, &json!({}))?;
    // Keystone 30 refuses to mint a token whose marker method the Fernet format would drop
    // (then nothing could tell it from a primary token).
    if !state.config.auth.methods.iter().any(|m| m == ec2::METHOD) {
        return Err(Error::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Cannot mint a token from an EC2 or S3 credential: the ec2credential auth method \
             is not enabled. Add ec2credential to the [auth] methods configuration option.",
        ));
    }
    let body = context::json_body(req, body)?;
    let signed = ec2::signed_request(&body)?;
    let st = state.clone();
    state
        .db
        .read(move |conn| {
            let token = ec2::authenticate(
                conn,
                &st.tokens,
                &st.config,
                &st.credential_keys,
                &signed,
                kind,
            )?;
            let catalog = crate::token::render::catalog_for(conn, &st.tokens, &st.config, &token)?;
            let text = crate::token::render::render_text(&token, Some(&catalog));
            Ok((token, text))
        })
        .await
}

async fn ec2tokens(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let (token, text) = authorize_signed_token(&state, &req, &body, Kind::Ec2).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((SUBJECT_TOKEN_HEADER, token.id.as_str()))
        .body(text))
}

async fn s3tokens(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let (_, text) = authorize_signed_token(&state, &req, &body, Kind::S3).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(text))
}
