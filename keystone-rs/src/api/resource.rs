//! Routes: `/v3/domains[/{domain_id}]`, `/v3/projects[/{project_id}]` and a project's
//! `/tags[/{value}]`.
//!
//! Keystone's order on every route: the body and query schemas first (bad input is a 400
//! even before authentication), then the caller's token (401), the policy target, the
//! policy (403), then the operation. Targets are Keystone's: `target.project` /
//! `target.domain` from the stored entity (absent when it does not exist, except for the
//! domain PATCH and DELETE, which load it first and answer 404), the request body under
//! `request_body`, list filters under `filter_attr`, and the caller's domain for
//! domain-scoped list calls.

use crate::api::json_response;
use crate::api::streamed::{Page, page_written};
use crate::context::{self, base_url, json_body};
use crate::db::collection;
use crate::db::listing::{
    Hints, declared_filters, first, list_limit, query_filter_is_true, query_pairs,
};
use crate::error::{Error, Result};
use crate::policy::TargetBuilder;
use crate::python::jsonschema;
use crate::resource::Settings;
use crate::resource::listing::TagFilters;
use crate::resource::model::{Project, add_self_link, domain_url, project_url};
use crate::resource::schema;
use crate::state::State;
use crate::token::model::Token;
use crate::token::targets;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/domains")
            .route(web::get().to(list_domains))
            .route(web::head().to(list_domains))
            .route(web::post().to(create_domain)),
    )
    .service(
        web::resource("/v3/domains/{domain_id}")
            .route(web::get().to(get_domain))
            .route(web::head().to(get_domain))
            .route(web::patch().to(update_domain))
            .route(web::delete().to(delete_domain)),
    )
    .service(
        web::resource("/v3/projects")
            .route(web::get().to(list_projects))
            .route(web::head().to(list_projects))
            .route(web::post().to(create_project)),
    )
    .service(
        web::resource("/v3/projects/{project_id}")
            .route(web::get().to(get_project))
            .route(web::head().to(get_project))
            .route(web::patch().to(update_project))
            .route(web::delete().to(delete_project)),
    )
    .service(
        web::resource("/v3/projects/{project_id}/tags")
            .route(web::get().to(list_project_tags))
            .route(web::head().to(list_project_tags))
            .route(web::put().to(update_project_tags))
            .route(web::delete().to(delete_project_tags)),
    )
    .service(
        web::resource("/v3/projects/{project_id}/tags/{value}")
            .route(web::get().to(get_project_tag))
            .route(web::head().to(get_project_tag))
            .route(web::put().to(create_project_tag))
            .route(web::delete().to(delete_project_tag)),
    );
}

const PROJECT_FILTERS: &[&str] = &["domain_id", "enabled", "name", "parent_id", "is_domain"];
const DOMAIN_FILTERS: &[&str] = &["name", "enabled"];

fn member(key: &str, value: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), Value::Object(value));
    Value::Object(m)
}

fn settings(state: &State) -> Settings {
    Settings::from_config(&state.config)
}

/// A body checked against its schemas in turn (Keystone's, then keystone-rs's strict
/// booleans), as Keystone checks its schema before anything else.
fn checked_body(req: &HttpRequest, bytes: &[u8], schemas: &[&Value]) -> Result<Value> {
    let body = json_body(req, bytes)?;
    for schema in schemas {
        jsonschema::validate(schema, &body)?;
    }
    Ok(body)
}

/// The body's member object (`{"project": {...}}` → `{...}`). Keystone's project schemas do
/// not require it and then fail with a 500; a missing member is bad input.
fn member_of(body: &Value, key: &str) -> Result<Map<String, Value>> {
    body.get(key)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| Error::bad_request(format!("'{key}' is a required property")))
}

async fn load_project(state: &State, id: &str) -> Result<Option<Project>> {
    let id = id.to_string();
    state
        .db
        .read(move |conn| crate::resource::store::get_any(conn, &id))
        .await
}

/// `_build_project_target_enforcement`: the project when it exists.
fn project_target(project: Option<&Project>) -> TargetBuilder {
    match project {
        Some(p) => TargetBuilder::new().entity("project", Value::Object(p.project_ref())),
        None => TargetBuilder::new(),
    }
}

/// The caller, and the project route's target with the path variable.
async fn project_route(
    state: &State,
    req: &HttpRequest,
    id: &str,
) -> Result<(std::sync::Arc<Token>, Option<Project>, TargetBuilder)> {
    let caller = context::caller(state, req).await?;
    let project = load_project(state, id).await?;
    let target = project_target(project.as_ref()).path_var("project_id", id);
    Ok((caller, project, target))
}

// ---- projects ---------------------------------------------------------------------------

async fn list_projects(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::PROJECT_LIST_QUERY, &pairs)?;
    let caller = context::caller(&state, &req).await?;
    let caller_domain = caller.domain_id().map(str::to_string);
    let mut target = TargetBuilder::new().filters(declared_filters(&pairs, PROJECT_FILTERS));
    if let Some(domain_id) = &caller_domain {
        target = target.target(json!({"domain_id": domain_id}));
    }
    context::authorize(&state, &caller, "identity:list_projects", &target.build())?;

    let config = state.config.clone();
    // `build_driver_hints(filters, default_limit=_get_list_limit())`, then the manager's
    // `response_truncated` with the same limit.
    let default_limit = list_limit(&config, "resource");
    let mut hints = Hints::from_query(&pairs, PROJECT_FILTERS, default_limit, &config)?;
    if first(&pairs, "is_domain").is_none() {
        hints.add_filter("is_domain", "0");
    }
    hints.set_default_limit(default_limit);
    let tags = TagFilters::from_query(&pairs);
    let (projects, hints) = state
        .db
        .read(move |conn| {
            let projects = crate::resource::list(conn, &config, &mut hints, &tags)?;
            Ok((projects, hints))
        })
        .await?;
    let projects = projects
        .into_iter()
        .filter(|p| caller_domain.is_none() || p.domain_id == caller_domain);
    if !hints.filters.is_empty() {
        // filters the database did not apply work on the JSON, as Keystone's do
        let refs = projects.map(|p| p.project_ref()).collect();
        return Ok(list_response(&state, &req, "projects", refs, &hints));
    }
    let mut projects: Vec<Project> = projects.collect();
    let limited = collection::limit_refs(&mut projects, Some(&hints));
    let listed = targets::listed_rows(&state.tokens.cache, projects)?;
    let url = crate::api::list_url(&req, &state.config);
    let page = Page {
        limited,
        hints: Some(&hints),
        last_id: listed.last().map(|p| p.id()),
    };
    Ok(page_written("projects", &listed, &page, &url, |p, out| {
        p.write_text(&url.base, out)
    }))
}

/// `wrap_collection`: the filters SQL left, the page size, the members' links, the body.
fn list_response(
    state: &State,
    req: &HttpRequest,
    key: &str,
    refs: Vec<Map<String, Value>>,
    hints: &Hints,
) -> HttpResponse {
    let url = crate::api::list_url(req, &state.config);
    let refs = refs.into_iter().map(Value::Object).collect();
    let (mut members, limited) = collection::page(refs, Some(hints));
    for m in &mut members {
        if let Value::Object(m) = m {
            let id = m
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            add_self_link(m, format!("{}/v3/{key}/{id}", url.base));
        }
    }
    json_response(
        StatusCode::OK,
        &collection::body(key, members, limited, Some(hints), &url),
    )
}

async fn create_project(state: State, req: HttpRequest, bytes: web::Bytes) -> Result<HttpResponse> {
    let body = checked_body(
        &req,
        &bytes,
        &[&schema::PROJECT_CREATE, &schema::PROJECT_BOOLEANS],
    )?;
    let caller = context::caller(&state, &req).await?;
    let requested = body.get("project").cloned().unwrap_or_else(|| json!({}));
    let target = TargetBuilder::new()
        .entity("project", requested)
        .request_body(&body);
    context::authorize(&state, &caller, "identity:create_project", &target.build())?;
    let project = member_of(&body, "project")?;
    let s = settings(&state);
    let caller_domain = caller.domain_id().map(str::to_string);
    let created = state
        .db
        .write(move |conn| {
            crate::resource::create_project(conn, &s, &project, caller_domain.as_deref())
        })
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &member_json("project", &created, &base),
    ))
}

fn member_json(key: &str, p: &Project, base: &str) -> Value {
    let json = if key == "domain" {
        p.to_domain_json(base)
    } else {
        p.to_project_json(base)
    };
    let mut m = Map::new();
    m.insert(key.to_string(), json);
    Value::Object(m)
}

/// The projects of a `parents_as_list` / `subtree_as_list` answer, each with its limits
/// when `include_limits` asks (Keystone's `_include_limits`).
fn listed(
    conn: &mut crate::db::AnyConnection,
    list: &[Project],
    include_limits: bool,
    base: &str,
) -> Result<Vec<Value>> {
    list.iter()
        .map(|p| {
            let mut m = p.project_ref();
            if include_limits {
                let limits = crate::limit::limits_for_project(conn, &p.id)?;
                m.insert(
                    "limits".into(),
                    Value::Array(limits.iter().map(|l| Value::Object(l.to_dict())).collect()),
                );
            }
            add_self_link(&mut m, project_url(base, &p.id));
            Ok(member("project", m))
        })
        .collect()
}

async fn get_project(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let (caller, project, target) = project_route(&state, &req, &id).await?;
    context::authorize(&state, &caller, "identity:get_project", &target.build())?;
    let project = project.ok_or_else(|| crate::resource::project_not_found(&id))?;

    let pairs = query_pairs(req.query_string());
    let parents_as_list = query_filter_is_true(&pairs, "parents_as_list");
    let parents_as_ids = query_filter_is_true(&pairs, "parents_as_ids");
    let subtree_as_list = query_filter_is_true(&pairs, "subtree_as_list");
    let subtree_as_ids = query_filter_is_true(&pairs, "subtree_as_ids");
    let include_limits = query_filter_is_true(&pairs, "include_limits");
    if parents_as_list && parents_as_ids {
        return Err(Error::bad_request(
            "Cannot use parents_as_list and parents_as_ids query params at the same time.",
        ));
    }
    if subtree_as_list && subtree_as_ids {
        return Err(Error::bad_request(
            "Cannot use subtree_as_list and subtree_as_ids query params at the same time.",
        ));
    }
    let base = base_url(&req, &state.config);
    let user_id = caller.user.id.clone();
    let mut body = project.project_ref();
    if parents_as_list || parents_as_ids || subtree_as_list || subtree_as_ids {
        let base = base.clone();
        let (parents, subtree) = state
            .db
            .read(move |conn| {
                // The projects the caller has any role on (Keystone's `list_projects_for_user`).
                let mine = |conn: &mut crate::db::AnyConnection| {
                    crate::assignment::store::targets_with_roles(conn, &user_id).map(|t| t.0)
                };
                let parents = if parents_as_list {
                    let mine = mine(conn)?;
                    let list = crate::resource::parents_for_user(conn, &project, &mine)?;
                    Some(Value::Array(listed(conn, &list, include_limits, &base)?))
                } else if parents_as_ids {
                    Some(crate::resource::parents_as_ids(conn, &project)?)
                } else {
                    None
                };
                let subtree = if subtree_as_list {
                    let mine = mine(conn)?;
                    let list = crate::resource::subtree_for_user(conn, &project, &mine)?;
                    Some(Value::Array(listed(conn, &list, include_limits, &base)?))
                } else if subtree_as_ids {
                    Some(crate::resource::subtree_as_ids(conn, &project)?)
                } else {
                    None
                };
                Ok((parents, subtree))
            })
            .await?;
        if let Some(parents) = parents {
            body.insert("parents".into(), parents);
        }
        if let Some(subtree) = subtree {
            body.insert("subtree".into(), subtree);
        }
    }
    add_self_link(&mut body, project_url(&base, &id));
    Ok(json_response(StatusCode::OK, &member("project", body)))
}

async fn update_project(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(
        &req,
        &bytes,
        &[&schema::PROJECT_UPDATE, &schema::PROJECT_UPDATE_BOOLEANS],
    )?;
    let (caller, _, target) = project_route(&state, &req, &id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:update_project",
        &target.request_body(&body).build(),
    )?;
    let changes = body
        .get("project")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // `_require_matching_id`.
    if changes
        .get("id")
        .is_some_and(|v| !v.is_null() && v.as_str() != Some(id.as_str()))
    {
        return Err(Error::bad_request("Cannot change ID"));
    }
    let s = settings(&state);
    let project_id = id.clone();
    let updated = state
        .db
        .write(move |conn| crate::resource::update_project(conn, &s, &project_id, &changes))
        .await?;
    let mut m = updated.project_ref_with_extra();
    add_self_link(&mut m, project_url(&base_url(&req, &state.config), &id));
    Ok(json_response(StatusCode::OK, &member("project", m)))
}

async fn delete_project(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let (caller, _, target) = project_route(&state, &req, &id).await?;
    context::authorize(&state, &caller, "identity:delete_project", &target.build())?;
    let s = settings(&state);
    state
        .db
        .write(move |conn| crate::cascade::delete_project(conn, &s, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- project tags -----------------------------------------------------------------------

/// `_ProjectTagResourceBase.wrap_member`: Keystone's `self` link is the bare `/v3` URL
/// (plus the query string).
fn tags_response(req: &HttpRequest, state: &State, tags: Vec<String>) -> HttpResponse {
    let mut url = format!("{}/v3", base_url(req, &state.config));
    if !req.query_string().is_empty() {
        url = format!("{url}?{}", req.query_string());
    }
    json_response(
        StatusCode::OK,
        &json!({"links": {"self": url}, "tags": tags}),
    )
}

async fn list_project_tags(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let (caller, project, target) = project_route(&state, &req, &id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:list_project_tags",
        &target.build(),
    )?;
    let project = project.ok_or_else(|| crate::resource::project_not_found(&id))?;
    Ok(tags_response(&req, &state, project.tags))
}

async fn update_project_tags(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(&req, &bytes, &[&schema::TAGS_UPDATE])?;
    let (caller, _, target) = project_route(&state, &req, &id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:update_project_tags",
        &target.request_body(&body).build(),
    )?;
    // Keystone reads a missing `tags` as `{}` and lets its older check refuse it.
    let tags = body.get("tags").cloned().unwrap_or_else(|| json!({}));
    jsonschema::lazy_validate(&schema::TAGS, &tags)?;
    let tags: Vec<String> = tags
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let s = settings(&state);
    let stored = state
        .db
        .write(move |conn| crate::resource::replace_tags(conn, &s, &id, &tags))
        .await?;
    Ok(tags_response(&req, &state, stored))
}

async fn delete_project_tags(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let (caller, _, target) = project_route(&state, &req, &id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:delete_project_tags",
        &target.build(),
    )?;
    let s = settings(&state);
    state
        .db
        .write(move |conn| crate::resource::replace_tags(conn, &s, &id, &[]))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn tag_route(
    state: &State,
    req: &HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<(
    std::sync::Arc<Token>,
    Option<Project>,
    TargetBuilder,
    String,
    String,
)> {
    let (id, value) = path.into_inner();
    let (caller, project, target) = project_route(state, req, &id).await?;
    let target = target.path_var("value", value.as_str());
    Ok((caller, project, target, id, value))
}

async fn get_project_tag(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (caller, project, target, id, value) = tag_route(&state, &req, path).await?;
    context::authorize(&state, &caller, "identity:get_project_tag", &target.build())?;
    let project = project.ok_or_else(|| crate::resource::project_not_found(&id))?;
    if !project.tags.contains(&value) {
        return Err(crate::resource::tag_not_found(&value));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// What werkzeug leaves unquoted in a URL path (`iri_to_uri`).
const PATH_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'%')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

async fn create_project_tag(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (caller, _, target, id, value) = tag_route(&state, &req, path).await?;
    context::authorize(
        &state,
        &caller,
        "identity:create_project_tag",
        &target.build(),
    )?;
    jsonschema::lazy_validate(&schema::TAG, &Value::from(value.as_str()))?;
    let s = settings(&state);
    let (project_id, tag) = (id.clone(), value.clone());
    state
        .db
        .write(move |conn| {
            let project = crate::resource::get_project(conn, &project_id)?;
            // The project's list with the new tag must still be a valid tag list.
            let mut tags: Vec<Value> = project
                .tags
                .iter()
                .map(|t| Value::from(t.as_str()))
                .collect();
            tags.push(Value::from(tag.as_str()));
            jsonschema::lazy_validate(&schema::TAGS, &Value::Array(tags))?;
            crate::resource::add_tag(conn, &s, project, &tag)
        })
        .await?;
    // Keystone's Location lacks the `projects/` segment; clients ignore it, we keep it.
    let location = format!("{}/v3/{id}/tags/{value}", base_url(&req, &state.config));
    Ok(HttpResponse::Created()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((
            LOCATION,
            utf8_percent_encode(&location, PATH_SAFE).to_string(),
        ))
        .finish())
}

async fn delete_project_tag(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (caller, _, target, id, value) = tag_route(&state, &req, path).await?;
    context::authorize(
        &state,
        &caller,
        "identity:delete_project_tag",
        &target.build(),
    )?;
    let s = settings(&state);
    state
        .db
        .write(move |conn| crate::resource::delete_tag(conn, &s, &id, &value))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- domains ----------------------------------------------------------------------------

async fn load_domain(state: &State, id: &str) -> Result<Option<Project>> {
    let id = id.to_string();
    state
        .db
        .read(move |conn| crate::resource::store::get_domain(conn, &id))
        .await
}

async fn list_domains(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::DOMAIN_LIST_QUERY, &pairs)?;
    let caller = context::caller(&state, &req).await?;
    let caller_domain = caller.domain_id().map(str::to_string);
    let mut target = TargetBuilder::new().filters(declared_filters(&pairs, DOMAIN_FILTERS));
    if let Some(domain_id) = &caller_domain {
        target = target.target(json!({"domain": {"id": domain_id}}));
    }
    context::authorize(&state, &caller, "identity:list_domains", &target.build())?;

    let config = state.config.clone();
    let mut hints = Hints::from_query(&pairs, DOMAIN_FILTERS, None, &config)?;
    hints.add_filter("is_domain", "true");
    hints.set_default_limit(list_limit(&config, "resource"));
    let (domains, hints) = state
        .db
        .read(move |conn| {
            let domains = crate::resource::list(conn, &config, &mut hints, &TagFilters::default())?;
            Ok((domains, hints))
        })
        .await?;
    let refs: Vec<Map<String, Value>> = domains
        .iter()
        .filter(|d| caller_domain.as_deref().is_none_or(|c| d.id == c))
        .map(Project::domain_ref)
        .collect();
    Ok(list_response(&state, &req, "domains", refs, &hints))
}

async fn create_domain(state: State, req: HttpRequest, bytes: web::Bytes) -> Result<HttpResponse> {
    let body = checked_body(
        &req,
        &bytes,
        &[&schema::DOMAIN_CREATE, &schema::DOMAIN_BOOLEANS],
    )?;
    let caller = context::caller(&state, &req).await?;
    let target = TargetBuilder::new().request_body(&body);
    context::authorize(&state, &caller, "identity:create_domain", &target.build())?;
    let domain = member_of(&body, "domain")?;
    let s = settings(&state);
    let created = state
        .db
        .write(move |conn| crate::resource::create_domain(conn, &s, &domain))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &member_json("domain", &created, &base),
    ))
}

async fn get_domain(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let domain = load_domain(&state, &id).await?;
    let mut target = TargetBuilder::new().path_var("domain_id", id.as_str());
    if let Some(d) = &domain {
        target = target.entity("domain", Value::Object(d.domain_ref()));
    }
    context::authorize(&state, &caller, "identity:get_domain", &target.build())?;
    let domain = domain.ok_or_else(|| crate::resource::domain_not_found(&id))?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &member_json("domain", &domain, &base),
    ))
}

/// PATCH and DELETE load the domain for the target before enforcing: a missing domain is
/// a 404 whatever the caller's rights (Keystone's automatic member lookup).
async fn domain_member_target(state: &State, id: &str) -> Result<TargetBuilder> {
    let domain = load_domain(state, id)
        .await?
        .ok_or_else(|| crate::resource::domain_not_found(id))?;
    Ok(TargetBuilder::new()
        .path_var("domain_id", id)
        .entity("domain", Value::Object(domain.domain_ref())))
}

async fn update_domain(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let body = checked_body(
        &req,
        &bytes,
        &[&schema::DOMAIN_UPDATE, &schema::DOMAIN_BOOLEANS],
    )?;
    let caller = context::caller(&state, &req).await?;
    let target = domain_member_target(&state, &id).await?;
    context::authorize(
        &state,
        &caller,
        "identity:update_domain",
        &target.request_body(&body).build(),
    )?;
    let changes = member_of(&body, "domain")?;
    let s = settings(&state);
    let domain_id = id.clone();
    let updated = state
        .db
        .write(move |conn| crate::resource::update_domain(conn, &s, &domain_id, &changes))
        .await?;
    let mut m = updated.domain_ref();
    add_self_link(&mut m, domain_url(&base_url(&req, &state.config), &id));
    Ok(json_response(StatusCode::OK, &member("domain", m)))
}

async fn delete_domain(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = path.into_inner();
    let caller = context::caller(&state, &req).await?;
    let target = domain_member_target(&state, &id).await?;
    context::authorize(&state, &caller, "identity:delete_domain", &target.build())?;
    let s = settings(&state);
    state
        .db
        .write(move |conn| crate::cascade::delete_domain(conn, &s, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
