//! Routes: `/v3/roles` (with implied roles), `/v3/role_inferences`, grants on projects,
//! domains and the system (and their OS-INHERIT forms), and `/v3/role_assignments`.
//!
//! Order of work, as Keystone's: request schema (before authentication), the caller's
//! token, the entities the policy target needs (a missing one is a 404 before policy on
//! most routes), the one policy check, then the operation.

use crate::api::json_response;
use crate::assignment::effective::ListRequest;
use crate::assignment::format::assignment_json;
use crate::assignment::model::{Actor, NULL_DOMAIN_ID, Role, Target};
use crate::assignment::{schema, store};
use crate::context::{self, base_url, json_body};
use crate::db::AnyConnection;
use crate::db::collection;
use crate::db::listing::{
    Hints, declared_filters, first, list_limit, query_filter_is_true, query_pairs,
};
use crate::error::{Error, Result};
use crate::policy::TargetBuilder;
use crate::python::jsonschema;
use crate::resource::store as resource_store;
use crate::state::State;
use crate::token::model::{ResolvedScope, Token};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v3/roles")
            .route(web::get().to(list_roles))
            .route(web::head().to(list_roles))
            .route(web::post().to(create_role)),
    )
    .service(
        web::resource("/v3/roles/{role_id}")
            .route(web::get().to(get_role))
            .route(web::head().to(get_role))
            .route(web::patch().to(update_role))
            .route(web::delete().to(delete_role)),
    )
    .service(
        web::resource("/v3/roles/{prior_role_id}/implies")
            .route(web::get().to(list_implied_roles))
            .route(web::head().to(list_implied_roles)),
    )
    .service(
        web::resource("/v3/roles/{prior_role_id}/implies/{implied_role_id}")
            .route(web::get().to(get_implied_role))
            .route(web::head().to(check_implied_role))
            .route(web::put().to(create_implied_role))
            .route(web::delete().to(delete_implied_role)),
    )
    .service(
        web::resource("/v3/role_inferences")
            .route(web::get().to(list_role_inferences))
            .route(web::head().to(list_role_inferences)),
    )
    .service(
        web::resource("/v3/role_assignments")
            .route(web::get().to(list_role_assignments))
            .route(web::head().to(list_role_assignments)),
    );
    // Grant routes, written out one by one: tests read routes and their handlers from here.
    cfg.service(
        web::resource("/v3/projects/{project_id}/users/{user_id}/roles")
            .route(web::get().to(list_grants))
            .route(web::head().to(list_grants)),
    );
    cfg.service(
        web::resource("/v3/projects/{project_id}/groups/{group_id}/roles")
            .route(web::get().to(list_grants))
            .route(web::head().to(list_grants)),
    );
    cfg.service(
        web::resource("/v3/domains/{domain_id}/users/{user_id}/roles")
            .route(web::get().to(list_grants))
            .route(web::head().to(list_grants)),
    );
    cfg.service(
        web::resource("/v3/domains/{domain_id}/groups/{group_id}/roles")
            .route(web::get().to(list_grants))
            .route(web::head().to(list_grants)),
    );
    cfg.service(
        web::resource(
            "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects",
        )
        .route(web::get().to(list_grants))
        .route(web::head().to(list_grants)),
    );
    cfg.service(
        web::resource(
            "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects",
        )
        .route(web::get().to(list_grants))
        .route(web::head().to(list_grants)),
    );
    cfg.service(
        web::resource("/v3/system/users/{user_id}/roles")
            .route(web::get().to(list_grants))
            .route(web::head().to(list_grants)),
    );
    cfg.service(
        web::resource("/v3/system/groups/{group_id}/roles")
            .route(web::get().to(list_grants))
            .route(web::head().to(list_grants)),
    );
    cfg.service(
        web::resource("/v3/projects/{project_id}/users/{user_id}/roles/{role_id}")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/system/users/{user_id}/roles/{role_id}")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
    cfg.service(
        web::resource("/v3/system/groups/{group_id}/roles/{role_id}")
            .route(web::get().to(check_grant))
            .route(web::head().to(check_grant))
            .route(web::put().to(create_grant))
            .route(web::delete().to(revoke_grant)),
    );
}

fn path_var(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_string()
}

fn role_body(body: &Value) -> Map<String, Value> {
    body.get("role")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

// ---- roles -----------------------------------------------------------------------------

/// `GET /v3/roles`: Keystone's `build_driver_hints(['name', 'domain_id'])`, the global roles
/// when no `domain_id` is given, the role driver (`filter_limit_query`) and
/// `wrap_collection`.
async fn list_roles(state: State, req: HttpRequest) -> Result<HttpResponse> {
    const FILTERS: &[&str] = &["name", "domain_id"];
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::ROLES_QUERY, &pairs)?;
    let mut hints = Hints::from_query(&pairs, FILTERS, None, &state.config)?;
    let domain_filter = first(&pairs, "domain_id").is_some_and(|d| !d.is_empty());
    if !domain_filter {
        hints.add_filter("domain_id", NULL_DOMAIN_ID);
    }
    hints.set_default_limit(list_limit(&state.config, "role"));
    let caller = context::caller(&state, &req).await?;
    let action = if domain_filter {
        "identity:list_domain_roles"
    } else {
        "identity:list_roles"
    };
    context::authorize(
        &state,
        &caller,
        action,
        &TargetBuilder::new()
            .filters(declared_filters(&pairs, FILTERS))
            .build(),
    )?;
    let sql = hints.sql_filters(store::ROLE_COLUMNS);
    let fetch = hints.fetch_one_more();
    let mut roles = state
        .db
        .read(move |conn| store::list_roles(conn, &sql, fetch))
        .await?;
    hints.cut_fetched(&mut roles);
    let url = crate::api::list_url(&req, &state.config);
    let refs = roles.iter().map(|r| r.to_json(&url.base)).collect();
    Ok(json_response(
        StatusCode::OK,
        &collection::wrap_collection("roles", refs, Some(&hints), &url),
    ))
}

async fn create_role(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let body = json_body(&req, &body)?;
    jsonschema::validate(&schema::ROLE_CREATE, &body)?;
    let caller = context::caller(&state, &req).await?;
    let requested = role_body(&body);
    let is_domain_role = requested
        .get("domain_id")
        .is_some_and(|d| d.as_str().is_some_and(|s| !s.is_empty()));
    let target = if is_domain_role {
        TargetBuilder::new().entity("role", Value::Object(requested.clone()))
    } else {
        TargetBuilder::new()
    };
    let action = if is_domain_role {
        "identity:create_domain_role"
    } else {
        "identity:create_role"
    };
    context::authorize(&state, &caller, action, &target.request_body(&body).build())?;
    let role = crate::assignment::new_role(&requested);
    let created = state
        .db
        .write(move |conn| crate::assignment::create_role(conn, &role))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "role": created.to_json(&base) }),
    ))
}

/// The role of a `/v3/roles/{role_id}` route and the policy action for it: a missing role
/// is enforced as the global action, then answered 404 (no existence leak before auth).
async fn role_for_action(
    state: &State,
    role_id: &str,
    global: &str,
    domain: &str,
) -> (Result<Role>, String) {
    let id = role_id.to_string();
    let role = state
        .db
        .read(move |conn| store::require_role(conn, &id))
        .await;
    let action = match &role {
        Ok(r) if r.domain_id.is_some() => domain,
        _ => global,
    };
    (role, action.to_string())
}

async fn get_role(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let role_id = path_var(&req, "role_id");
    let (role, action) = role_for_action(
        &state,
        &role_id,
        "identity:get_role",
        "identity:get_domain_role",
    )
    .await;
    let role = role?;
    let target = TargetBuilder::new()
        .path_var("role_id", role_id)
        .entity("role", role.to_dict())
        .build();
    context::authorize(&state, &caller, &action, &target)?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "role": role.to_json(&base) }),
    ))
}

async fn update_role(state: State, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let body = json_body(&req, &body)?;
    jsonschema::validate(&schema::ROLE_UPDATE, &body)?;
    let caller = context::caller(&state, &req).await?;
    let role_id = path_var(&req, "role_id");
    let (role, action) = role_for_action(
        &state,
        &role_id,
        "identity:update_role",
        "identity:update_domain_role",
    )
    .await;
    let role = role?;
    let target = TargetBuilder::new()
        .path_var("role_id", role_id.clone())
        .entity("role", role.to_dict())
        .request_body(&body)
        .build();
    context::authorize(&state, &caller, &action, &target)?;
    let patch = role_body(&body);
    if patch
        .get("id")
        .is_some_and(|id| !id.is_null() && id.as_str() != Some(role_id.as_str()))
    {
        return Err(Error::bad_request("Cannot change ID"));
    }
    let updated = state
        .db
        .write(move |conn| crate::assignment::update_role(conn, &role_id, &patch))
        .await?;
    let base = base_url(&req, &state.config);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "role": updated.to_json(&base) }),
    ))
}

async fn delete_role(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let role_id = path_var(&req, "role_id");
    let (role, action) = role_for_action(
        &state,
        &role_id,
        "identity:delete_role",
        "identity:delete_domain_role",
    )
    .await;
    let role = role?;
    let target = TargetBuilder::new()
        .path_var("role_id", role_id.clone())
        .entity("role", role.to_dict())
        .build();
    context::authorize(&state, &caller, &action, &target)?;
    state
        .db
        .write(move |conn| crate::cascade::delete_role(conn, &role_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- implied roles ---------------------------------------------------------------------

/// The prior (and implied) role of an implied-role route, both required to exist, and the
/// policy target Keystone builds from them.
async fn implication_roles(
    state: &State,
    req: &HttpRequest,
) -> Result<(Role, Option<Role>, Value)> {
    let prior_id = path_var(req, "prior_role_id");
    let implied_id = req.match_info().get("implied_role_id").map(str::to_string);
    let (prior, implied) = state
        .db
        .read(move |conn| {
            let prior = store::require_role(conn, &prior_id)?;
            let implied = implied_id
                .map(|id| store::require_role(conn, &id))
                .transpose()?;
            Ok((prior, implied))
        })
        .await?;
    let mut target = TargetBuilder::new()
        .path_var("prior_role_id", prior.id.clone())
        .entity("prior_role", prior.to_dict());
    if let Some(implied) = &implied {
        target = target
            .path_var("implied_role_id", implied.id.clone())
            .entity("implied_role", implied.to_dict());
    }
    Ok((prior, implied, target.build()))
}

async fn list_implied_roles(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let (prior, _, target) = implication_roles(&state, &req).await?;
    context::authorize(&state, &caller, "identity:list_implied_roles", &target)?;
    let prior_id = prior.id.clone();
    let implied = state
        .db
        .read(move |conn| {
            let ids = store::implied_role_ids(conn, &prior_id)?;
            let roles = store::get_roles(conn, &ids)?;
            // The rows' order, not the role table's.
            Ok(ids
                .iter()
                .filter_map(|id| roles.iter().find(|r| &r.id == id).cloned())
                .collect::<Vec<_>>())
        })
        .await?;
    let base = base_url(&req, &state.config);
    let implies = Value::Array(implied.iter().map(|r| r.to_reference_json(&base)).collect());
    let body = crate::assignment::role_inference_json(
        &prior,
        implies,
        &base,
        &format!("/roles/{}/implies", prior.id),
    );
    Ok(json_response(StatusCode::OK, &body))
}

/// The body of one implication, after checking that it exists.
async fn implication_body(
    state: &State,
    req: &HttpRequest,
    prior: Role,
    implied: Role,
) -> Result<Value> {
    let (prior_id, implied_id) = (prior.id.clone(), implied.id.clone());
    state
        .db
        .read(move |conn| crate::assignment::require_implication(conn, &prior_id, &implied_id))
        .await?;
    let base = base_url(req, &state.config);
    let self_path = format!("/roles/{}/implies/{}", prior.id, implied.id);
    Ok(crate::assignment::role_inference_json(
        &prior,
        implied.to_reference_json(&base),
        &base,
        &self_path,
    ))
}

async fn get_implied_role(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let (prior, implied, target) = implication_roles(&state, &req).await?;
    context::authorize(&state, &caller, "identity:get_implied_role", &target)?;
    let implied = implied.ok_or_else(|| Error::internal("route without implied role"))?;
    let body = implication_body(&state, &req, prior, implied).await?;
    Ok(json_response(StatusCode::OK, &body))
}

/// HEAD: Keystone enforces `check_implied_role` and then, through GET, `get_implied_role`,
/// and answers 204.
async fn check_implied_role(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let (prior, implied, target) = implication_roles(&state, &req).await?;
    context::authorize(&state, &caller, "identity:check_implied_role", &target)?;
    context::authorize(&state, &caller, "identity:get_implied_role", &target)?;
    let implied = implied.ok_or_else(|| Error::internal("route without implied role"))?;
    implication_body(&state, &req, prior, implied).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn create_implied_role(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let (prior, implied, target) = implication_roles(&state, &req).await?;
    context::authorize(&state, &caller, "identity:create_implied_role", &target)?;
    let implied = implied.ok_or_else(|| Error::internal("route without implied role"))?;
    let (p, i, config) = (prior.clone(), implied.clone(), state.config.clone());
    state
        .db
        .write(move |conn| crate::assignment::create_implied_role(conn, &config, &p, &i))
        .await?;
    let body = implication_body(&state, &req, prior, implied).await?;
    Ok(json_response(StatusCode::CREATED, &body))
}

async fn delete_implied_role(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    let (prior, implied, target) = implication_roles(&state, &req).await?;
    context::authorize(&state, &caller, "identity:delete_implied_role", &target)?;
    let implied = implied.ok_or_else(|| Error::internal("route without implied role"))?;
    state
        .db
        .write(move |conn| {
            if store::delete_implication(conn, &prior.id, &implied.id)? {
                Ok(())
            } else {
                Err(Error::not_found(format!(
                    "{} does not imply {}.",
                    prior.id, implied.id
                )))
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_role_inferences(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    context::authorize(
        &state,
        &caller,
        "identity:list_role_inference_rules",
        &json!({}),
    )?;
    let base = base_url(&req, &state.config);
    let body = state
        .db
        .read(move |conn| crate::assignment::role_inferences(conn, &base))
        .await?;
    Ok(json_response(StatusCode::OK, &body))
}

// ---- grants ----------------------------------------------------------------------------

/// Which family of grant route a request came through: each builds its policy target
/// differently (Keystone's projects.py, domains.py, os_inherit.py and system.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Project,
    Domain,
    Inherit,
    System,
}

/// A grant route's parameters.
#[derive(Debug, Clone)]
struct GrantPath {
    family: Family,
    actor: Actor,
    target: Target,
    role_id: Option<String>,
    inherited: bool,
}

impl GrantPath {
    fn from_request(req: &HttpRequest) -> GrantPath {
        let m = req.match_info();
        let actor = match m.get("user_id") {
            Some(u) => Actor::User(u.to_string()),
            None => Actor::Group(m.get("group_id").unwrap_or_default().to_string()),
        };
        let target = match (m.get("project_id"), m.get("domain_id")) {
            (Some(p), _) => Target::Project(p.to_string()),
            (None, Some(d)) => Target::Domain(d.to_string()),
            (None, None) => Target::System,
        };
        let inherited = req.path().starts_with("/v3/OS-INHERIT/");
        let family = match (&target, inherited) {
            (_, true) => Family::Inherit,
            (Target::Project(_), false) => Family::Project,
            (Target::Domain(_), false) => Family::Domain,
            (Target::System, false) => Family::System,
        };
        GrantPath {
            family,
            actor,
            target,
            role_id: m.get("role_id").map(str::to_string),
            inherited,
        }
    }
}

/// Record an entity of the policy target; a missing one is `missing` unless tolerated.
fn put_entity(
    t: &mut Map<String, Value>,
    key: &str,
    found: Option<Value>,
    missing: Error,
    tolerate: bool,
) -> Result<()> {
    match found {
        Some(v) => {
            t.insert(key.to_string(), v);
            Ok(())
        }
        None if tolerate => Ok(()),
        None => Err(missing),
    }
}

fn put_target_entity(
    conn: &mut AnyConnection,
    t: &mut Map<String, Value>,
    target: &Target,
    tolerate: bool,
) -> Result<()> {
    match target {
        Target::Project(id) => {
            let project =
                resource_store::get_any(conn, id)?.map(|p| crate::assignment::project_target(&p));
            put_entity(
                t,
                "project",
                project,
                Error::could_not_find("project", id),
                tolerate,
            )
        }
        Target::Domain(id) => {
            let domain =
                resource_store::get_domain(conn, id)?.map(|d| crate::assignment::domain_target(&d));
            put_entity(
                t,
                "domain",
                domain,
                Error::could_not_find("domain", id),
                tolerate,
            )
        }
        Target::System => Ok(()),
    }
}

/// What policy sees: `target.role`, `target.user` or `target.group`, `target.project` or
/// `target.domain`, looked up in Keystone's order for the route family. Missing entities
/// are 404s — except the actor when revoking, and anything on OS-INHERIT routes, where
/// they are simply left out of the target.
fn grant_target(conn: &mut AnyConnection, g: &GrantPath, revoking: bool) -> Result<Value> {
    let tolerant = g.family == Family::Inherit;
    let mut t = Map::new();
    let domain_first = g.family == Family::Domain;
    if domain_first {
        put_target_entity(conn, &mut t, &g.target, tolerant)?;
    }
    if let Some(role_id) = &g.role_id {
        let role = store::get_role(conn, role_id)?.map(|r| r.to_dict());
        put_entity(
            &mut t,
            "role",
            role,
            Error::could_not_find("role", role_id),
            tolerant,
        )?;
    }
    match &g.actor {
        Actor::User(id) => {
            let user = match crate::identity::store::get(conn, id)? {
                Some(u) => Some(u),
                // A user of an LDAP domain before its first login has no shadow row yet.
                None => crate::identity::remote::user(conn, id)?,
            }
            .map(|u| crate::assignment::user_target(&u));
            put_entity(
                &mut t,
                "user",
                user,
                Error::could_not_find("user", id),
                tolerant || revoking,
            )?;
        }
        Actor::Group(id) => {
            let group = store::get_group(conn, id)?.map(|g| crate::assignment::group_target(&g));
            put_entity(
                &mut t,
                "group",
                group,
                Error::could_not_find("group", id),
                tolerant || revoking,
            )?;
        }
    }
    if !domain_first {
        put_target_entity(conn, &mut t, &g.target, tolerant)?;
    }
    Ok(Value::Object(t))
}

/// The policy action of a grant route: system routes have their own, per actor kind.
struct GrantActions {
    grant: &'static str,
    system_user: &'static str,
    system_group: &'static str,
}

/// The caller, the grant route's parameters, and the policy check for `action` (or the
/// system action for system routes).
async fn authorize_grant(
    state: &State,
    req: &HttpRequest,
    actions: GrantActions,
    revoking: bool,
) -> Result<GrantPath> {
    let caller = context::caller(state, req).await?;
    let g = GrantPath::from_request(req);
    let g2 = g.clone();
    let entities = state
        .db
        .read(move |conn| grant_target(conn, &g2, revoking))
        .await?;
    let mut target = TargetBuilder::new();
    for (name, value) in req.match_info().iter() {
        target = target.path_var(name, value.to_string());
    }
    let target = target.target(entities).build();
    let action = match (g.family, &g.actor) {
        (Family::System, Actor::User(_)) => actions.system_user,
        (Family::System, Actor::Group(_)) => actions.system_group,
        _ => actions.grant,
    };
    context::authorize(state, &caller, action, &target)?;
    Ok(g)
}

async fn list_grants(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let g = authorize_grant(
        &state,
        &req,
        GrantActions {
            grant: "identity:list_grants",
            system_user: "identity:list_system_grants_for_user",
            system_group: "identity:list_system_grants_for_group",
        },
        false,
    )
    .await?;
    let g2 = g.clone();
    let roles = state
        .db
        .read(move |conn| match &g2.target {
            Target::System => store::system_roles(conn, &g2.actor),
            target => crate::assignment::list_grants(conn, &g2.actor, target, g2.inherited),
        })
        .await?;
    let url = crate::api::list_url(&req, &state.config);
    let refs = roles.iter().map(|r| r.to_json(&url.base)).collect();
    Ok(json_response(
        StatusCode::OK,
        &collection::wrap_collection("roles", refs, None, &url),
    ))
}

async fn check_grant(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let g = authorize_grant(
        &state,
        &req,
        GrantActions {
            grant: "identity:check_grant",
            system_user: "identity:check_system_grant_for_user",
            system_group: "identity:check_system_grant_for_group",
        },
        false,
    )
    .await?;
    state
        .db
        .read(move |conn| {
            let role_id = g.role_id.clone().unwrap_or_default();
            match &g.target {
                Target::System => crate::assignment::check_system_grant(conn, &g.actor, &role_id),
                target => {
                    crate::assignment::check_grant(conn, &g.actor, target, &role_id, g.inherited)
                }
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn create_grant(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let g = authorize_grant(
        &state,
        &req,
        GrantActions {
            grant: "identity:create_grant",
            system_user: "identity:create_system_grant_for_user",
            system_group: "identity:create_system_grant_for_group",
        },
        false,
    )
    .await?;
    state
        .db
        .write(move |conn| {
            let role_id = g.role_id.clone().unwrap_or_default();
            match &g.target {
                Target::System => {
                    let role = store::require_role(conn, &role_id)?;
                    crate::assignment::create_system_grant(conn, &g.actor, &role)
                }
                target => {
                    crate::assignment::create_grant(conn, &g.actor, target, &role_id, g.inherited)
                }
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removing a grant needs no revocation event: tokens recompute their roles at every
/// validation, and one left with no role fails to validate.
async fn revoke_grant(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let g = authorize_grant(
        &state,
        &req,
        GrantActions {
            grant: "identity:revoke_grant",
            system_user: "identity:revoke_system_grant_for_user",
            system_group: "identity:revoke_system_grant_for_group",
        },
        true,
    )
    .await?;
    state
        .db
        .write(move |conn| {
            let role_id = g.role_id.clone().unwrap_or_default();
            match &g.target {
                Target::System => crate::assignment::delete_system_grant(conn, &g.actor, &role_id),
                target => {
                    crate::assignment::delete_grant(conn, &g.actor, target, &role_id, g.inherited)
                }
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- role assignments ------------------------------------------------------------------

fn non_empty(pairs: &[(String, String)], name: &str) -> Option<String> {
    first(pairs, name)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

const ASSIGNMENT_FILTERS: &[&str] = &[
    "group.id",
    "role.id",
    "scope.domain.id",
    "scope.project.id",
    "scope.OS-INHERIT:inherited_to",
    "user.id",
    "scope.system",
];

/// The listing the query asks for, after Keystone's combination checks.
fn assignment_request(pairs: &[(String, String)], include_subtree: bool) -> Result<ListRequest> {
    let req = ListRequest {
        role_id: non_empty(pairs, "role.id"),
        user_id: non_empty(pairs, "user.id"),
        group_id: non_empty(pairs, "group.id"),
        system: first(pairs, "scope.system") == Some("all"),
        domain_id: non_empty(pairs, "scope.domain.id"),
        project_id: non_empty(pairs, "scope.project.id"),
        include_subtree,
        inherited: first(pairs, "scope.OS-INHERIT:inherited_to").map(|v| v == "projects"),
        effective: query_filter_is_true(pairs, "effective"),
        ..Default::default()
    };
    let system_given = non_empty(pairs, "scope.system").is_some();
    if req.domain_id.is_some() && req.project_id.is_some() {
        return Err(Error::bad_request("Specify a domain or project, not both"));
    }
    if req.domain_id.is_some() && system_given {
        return Err(Error::bad_request("Specify system or domain, not both"));
    }
    if req.project_id.is_some() && system_given {
        return Err(Error::bad_request("Specify system or project, not both"));
    }
    if req.user_id.is_some() && req.group_id.is_some() {
        return Err(Error::bad_request("Specify a user or group, not both"));
    }
    if req.effective {
        if req.group_id.is_some() {
            return Err(Error::bad_request(
                "Combining effective and group filter will always result in an empty list.",
            ));
        }
        if req.inherited == Some(true) && req.domain_id.is_some() {
            return Err(Error::bad_request(
                "Combining effective, domain and inherited filters will always result in an empty list.",
            ));
        }
    }
    Ok(req)
}

fn caller_domain(caller: &Token) -> Option<String> {
    match &caller.scope {
        ResolvedScope::Domain(d) => Some(d.id.clone()),
        _ => None,
    }
}

async fn list_role_assignments(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pairs = query_pairs(req.query_string());
    jsonschema::validate_query(&schema::ROLE_ASSIGNMENTS_QUERY, &pairs)?;
    let caller = context::caller(&state, &req).await?;
    let include_subtree = query_filter_is_true(&pairs, "include_subtree");
    let mut filters: Vec<(&str, &str)> = Vec::new();
    for name in ASSIGNMENT_FILTERS {
        if include_subtree && *name == "scope.system" {
            continue;
        }
        if let Some(v) = first(&pairs, name) {
            filters.push((name, v));
        }
    }
    let mut target = TargetBuilder::new().filters(filters);
    let mut domain_filter = None;
    let action = if include_subtree {
        if let Some(project_id) = non_empty(&pairs, "scope.project.id") {
            let project = state
                .db
                .read(move |conn| {
                    resource_store::get_any(conn, &project_id)?
                        .ok_or_else(|| Error::could_not_find("project", &project_id))
                })
                .await?;
            target = target.target(
                json!({"project": crate::assignment::project_target(&project), "domain_id": project.domain_id}),
            );
        }
        "identity:list_role_assignments_for_tree"
    } else {
        domain_filter = caller_domain(&caller);
        if let Some(domain_id) = &domain_filter {
            target = target.target(json!({ "domain_id": domain_id }));
        }
        "identity:list_role_assignments"
    };
    context::authorize(&state, &caller, action, &target.build())?;
    if include_subtree && non_empty(&pairs, "scope.project.id").is_none() {
        return Err(Error::bad_request(
            "scope.project.id must be specified if include_subtree is also specified",
        ));
    }
    let request = assignment_request(&pairs, include_subtree)?;
    let include_names = query_filter_is_true(&pairs, "include_names");
    let base = base_url(&req, &state.config);
    let (refs, names) = state
        .db
        .read(move |conn| {
            let mut refs = store::list_assignments(conn, &request)?;
            if let Some(domain_id) = &domain_filter {
                refs = store::within_domain(conn, refs, domain_id)?;
            }
            let names = if include_names {
                Some(store::resolve_names(conn, &refs)?)
            } else {
                None
            };
            Ok((refs, names))
        })
        .await?;
    let url = crate::api::list_url(&req, &state.config);
    Ok(crate::api::streamed::collection_response(
        "role_assignments",
        refs,
        &url,
        move |r| assignment_json(r, &base, names.as_ref()),
    ))
}
