//! `GET /v3/OS-REVOKE/events`.

use crate::context::{self, base_url};
use crate::error::{Error, Result};
use crate::json::resource_body;
use crate::revoke::RevocationEvent;
use crate::state::State;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDateTime};
use serde_json::{Map, Value, json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v3/OS-REVOKE/events").route(web::get().to(list_events)));
}

/// `since` as Keystone accepts it: ISO-8601, with or without a zone (none = UTC).
fn parse_since(value: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.naive_utc());
    }
    [
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
}

/// The API form of an event: keys in Keystone's order, only the non-empty ones.
pub fn event_json(e: &RevocationEvent) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.to_string(), Value::from(v.clone()));
        }
    };
    put("user_id", &e.user_id);
    put("role_id", &e.role_id);
    match e.domain_scope_id() {
        Some(scope) => put("domain_scope_id", &Some(scope.to_string())),
        None => put("domain_id", &e.domain_id),
    }
    put("project_id", &e.project_id);
    put("audit_id", &e.audit_id);
    put("audit_chain_id", &e.audit_chain_id);
    put("OS-TRUST:trust_id", &e.trust_id);
    put("OS-OAUTH1:consumer_id", &e.consumer_id);
    put("OS-OAUTH1:access_token_id", &e.access_token_id);
    if let Some(expires) = e.expires_at {
        m.insert(
            "expires_at".into(),
            expires.format("%Y-%m-%dT%H:%M:%SZ").to_string().into(),
        );
    }
    m.insert(
        "issued_before".into(),
        e.issued_before
            .format("%Y-%m-%dT%H:%M:%S.000000Z")
            .to_string()
            .into(),
    );
    m.insert(
        "revoked_at".into(),
        e.revoked_at
            .format("%Y-%m-%dT%H:%M:%S.000000Z")
            .to_string()
            .into(),
    );
    Value::Object(m)
}

async fn list_events(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let caller = context::caller(&state, &req).await?;
    context::authorize(&state, &caller, "identity:list_revoke_events", &json!({}))?;
    // `request.args.get('since')`: the first value when it repeats.
    let pairs = crate::db::listing::query_pairs(req.query_string());
    let since = match crate::db::listing::first(&pairs, "since") {
        None => None,
        Some(v) => Some(
            parse_since(v)
                .ok_or_else(|| Error::bad_request(format!("invalidate date format {v}")))?,
        ),
    };
    let events = state
        .db
        .read(move |conn| crate::revoke::store::list(conn, since))
        .await?;
    let base = base_url(&req, &state.config);
    let body = json!({
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
        "links": {"next": null, "self": format!("{base}/v3/OS-REVOKE/events"), "previous": null}
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(resource_body(&body)))
}
