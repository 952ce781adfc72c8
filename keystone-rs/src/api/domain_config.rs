//! Routes: `/v3/domains/{domain_id}/config[/{group}[/{option}]]` and
//! `/v3/domains/config[/{group}[/{option}]]/default` (Keystone's keystone/api/domains.py
//! config resources). Sensitive options are stored but never answered.
//!
//! Keystone's order: a GET enforces policy before it says whether the domain exists (so
//! the 404 leaks nothing); PUT, PATCH and DELETE enforce, then look the domain up.

use crate::api::json_response;
use crate::context::{self, json_body};
use crate::db::AnyConnection;
use crate::domain_config;
use crate::error::Result;
use crate::policy::TargetBuilder;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The defaults first: `/v3/domains/config/...` must not be read as a domain id.
    cfg.service(
        web::resource("/v3/domains/config/default")
            .route(web::get().to(get_default))
            .route(web::head().to(get_default)),
    )
    .service(
        web::resource("/v3/domains/config/{group}/default")
            .route(web::get().to(get_default_group))
            .route(web::head().to(get_default_group)),
    )
    .service(
        web::resource("/v3/domains/config/{group}/{option}/default")
            .route(web::get().to(get_default_option))
            .route(web::head().to(get_default_option)),
    )
    .service(
        web::resource("/v3/domains/{domain_id}/config")
            .route(web::get().to(get_config))
            .route(web::head().to(get_config))
            .route(web::put().to(create_config))
            .route(web::patch().to(update_config))
            .route(web::delete().to(delete_config)),
    )
    .service(
        web::resource("/v3/domains/{domain_id}/config/{group}")
            .route(web::get().to(get_config_group))
            .route(web::head().to(get_config_group))
            .route(web::patch().to(update_config_group))
            .route(web::delete().to(delete_config_group)),
    )
    .service(
        web::resource("/v3/domains/{domain_id}/config/{group}/{option}")
            .route(web::get().to(get_config_option))
            .route(web::head().to(get_config_option))
            .route(web::patch().to(update_config_option))
            .route(web::delete().to(delete_config_option)),
    );
}

fn config_response(status: StatusCode, config: Map<String, Value>) -> HttpResponse {
    let mut m = Map::new();
    m.insert("config".into(), Value::Object(config));
    json_response(status, &Value::Object(m))
}

/// The path: domain, then optional group and option.
struct At {
    domain_id: String,
    group: Option<String>,
    option: Option<String>,
}

impl At {
    fn target(&self) -> TargetBuilder {
        let mut t = TargetBuilder::new().path_var("domain_id", self.domain_id.as_str());
        if let Some(g) = &self.group {
            t = t.path_var("group", g.as_str());
        }
        if let Some(o) = &self.option {
            t = t.path_var("option", o.as_str());
        }
        t
    }
}

fn require_domain(conn: &mut AnyConnection, domain_id: &str) -> Result<()> {
    crate::resource::get_domain(conn, domain_id).map(|_| ())
}

async fn authorize_and_get(state: State, req: HttpRequest, at: At) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let domain_id = at.domain_id.clone();
    let domain = state
        .db
        .read(move |conn| require_domain(conn, &domain_id))
        .await;
    let security = at.group.as_deref() == Some("security_compliance");
    let action = if security {
        "identity:get_security_compliance_domain_config"
    } else {
        "identity:get_domain_config"
    };
    context::authorize(&state, &caller, action, &at.target().build())?;
    let config = if security {
        domain_config::security_compliance_config(
            &state.config,
            &at.domain_id,
            at.option.as_deref(),
        )?
    } else {
        let At {
            domain_id,
            group,
            option,
        } = at;
        state
            .db
            .read(move |conn| {
                domain_config::get_config(conn, &domain_id, group.as_deref(), option.as_deref())
            })
            .await?
    };
    domain?;
    Ok(config_response(StatusCode::OK, config))
}

/// The JSON body, checked before anything else as Keystone's JSON middleware does (an
/// empty body is `{}`).
fn body_of(req: &HttpRequest, bytes: &[u8]) -> Result<Value> {
    if bytes.is_empty() {
        Ok(Value::Object(Map::new()))
    } else {
        json_body(req, bytes)
    }
}

/// The body's `config` member (Keystone: `request_body_json.get('config', {})`).
fn config_of(body: &Value) -> Value {
    body.get("config")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()))
}

async fn authorize(
    state: &State,
    req: &HttpRequest,
    action: &str,
    at: &At,
    body: Option<&Value>,
) -> Result<()> {
    let caller = context::caller(state, req).await?;
    let mut target = at.target();
    if let Some(body) = body {
        target = target.request_body(body);
    }
    context::authorize(state, &caller, action, &target.build())
}

async fn authorize_and_update(
    state: State,
    req: HttpRequest,
    bytes: web::Bytes,
    at: At,
) -> Result<HttpResponse> {
    let body = body_of(&req, &bytes)?;
    authorize(
        &state,
        &req,
        "identity:update_domain_config",
        &at,
        Some(&body),
    )
    .await?;
    let config = config_of(&body);
    let shown = state
        .db
        .write(move |conn| {
            require_domain(conn, &at.domain_id)?;
            domain_config::update_config(
                conn,
                &at.domain_id,
                &config,
                at.group.as_deref(),
                at.option.as_deref(),
            )
        })
        .await?;
    Ok(config_response(StatusCode::OK, shown))
}

async fn authorize_and_delete(state: State, req: HttpRequest, at: At) -> Result<HttpResponse> {
    authorize(&state, &req, "identity:delete_domain_config", &at, None).await?;
    state
        .db
        .write(move |conn| {
            require_domain(conn, &at.domain_id)?;
            domain_config::delete_config(
                conn,
                &at.domain_id,
                at.group.as_deref(),
                at.option.as_deref(),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn create_config(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let at = At {
        domain_id: path.into_inner(),
        group: None,
        option: None,
    };
    let body = body_of(&req, &bytes)?;
    authorize(
        &state,
        &req,
        "identity:create_domain_config",
        &at,
        Some(&body),
    )
    .await?;
    let config = config_of(&body);
    let (shown, existed) = state
        .db
        .write(move |conn| {
            require_domain(conn, &at.domain_id)?;
            domain_config::create_config(conn, &at.domain_id, &config)
        })
        .await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(config_response(status, shown))
}

fn at(domain_id: String, group: Option<String>, option: Option<String>) -> At {
    At {
        domain_id,
        group,
        option,
    }
}

async fn get_config(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    authorize_and_get(state, req, at(path.into_inner(), None, None)).await
}

async fn get_config_group(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (d, g) = path.into_inner();
    authorize_and_get(state, req, at(d, Some(g), None)).await
}

async fn get_config_option(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse> {
    let (d, g, o) = path.into_inner();
    authorize_and_get(state, req, at(d, Some(g), Some(o))).await
}

async fn update_config(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    authorize_and_update(state, req, bytes, at(path.into_inner(), None, None)).await
}

async fn update_config_group(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let (d, g) = path.into_inner();
    authorize_and_update(state, req, bytes, at(d, Some(g), None)).await
}

async fn update_config_option(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let (d, g, o) = path.into_inner();
    authorize_and_update(state, req, bytes, at(d, Some(g), Some(o))).await
}

async fn delete_config(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    authorize_and_delete(state, req, at(path.into_inner(), None, None)).await
}

async fn delete_config_group(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (d, g) = path.into_inner();
    authorize_and_delete(state, req, at(d, Some(g), None)).await
}

async fn delete_config_option(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse> {
    let (d, g, o) = path.into_inner();
    authorize_and_delete(state, req, at(d, Some(g), Some(o))).await
}

async fn authorize_and_read_default(
    state: State,
    req: HttpRequest,
    group: Option<String>,
    option: Option<String>,
) -> Result<HttpResponse> {
    let mut target = TargetBuilder::new();
    if let Some(g) = &group {
        target = target.path_var("group", g.as_str());
    }
    if let Some(o) = &option {
        target = target.path_var("option", o.as_str());
    }
    let caller = context::caller(&state, &req).await?;
    context::authorize(
        &state,
        &caller,
        "identity:get_domain_config_default",
        &target.build(),
    )?;
    let config = domain_config::config_default(&state.config, group.as_deref(), option.as_deref())?;
    Ok(config_response(StatusCode::OK, config))
}

async fn get_default(state: State, req: HttpRequest) -> Result<HttpResponse> {
    authorize_and_read_default(state, req, None, None).await
}

async fn get_default_group(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    authorize_and_read_default(state, req, Some(path.into_inner()), None).await
}

async fn get_default_option(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (g, o) = path.into_inner();
    authorize_and_read_default(state, req, Some(g), Some(o)).await
}
