//! The checks behind `/healthcheck` and their answer, as oslo.middleware's healthcheck app that Keystone mounts there, with the
//! options it reads from keystone.conf `[healthcheck]`:
//!
//! * `GET`: 200 when every check passes, else 503; the body lists each check's reason —
//!   text/plain (one per line), text/html, or application/json
//!   (`{"detailed": false, "reasons": [...]}`) as `Accept` prefers, text/plain when it
//!   names none of them. `HEAD`: 204 or 503, no body.
//! * checks: the database (a `SELECT 1` through the pool: keystone-rs's own, always on, so
//!   a load balancer takes a node without its database out), its schema when it answers
//!   ("DATABASE SCHEMA NOT CURRENT" while migrations this build needs are pending, the same
//!   check `serve` refuses to start on: [`crate::preflight::schema`]), then the configured
//!   `backends`: `disable_by_file` answers "DISABLED BY FILE" (503) while
//!   `disable_by_file_path` exists, so an operator can drain a node.
//! * `detailed = true`: reasons become objects `{reason, details, class}` in JSON and HTML.
//!
//! Unauthenticated, as in Keystone. Not served: oslo's Python-specific detail (gc counts,
//! thread stacks), `allowed_source_ranges` and `ignore_proxied_requests`.

use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

const TEXT: &str = "text/plain";
const HTML: &str = "text/html";
const JSON: &str = "application/json";

/// One check's outcome, as oslo's `HealthcheckResult`.
struct Check {
    available: bool,
    reason: &'static str,
    details: String,
    class: &'static str,
}

async fn database(state: &State) -> Check {
    let outcome = state
        .db
        .read(|conn| {
            use diesel::connection::SimpleConnection;
            Ok(conn.batch_execute("SELECT 1")?)
        })
        .await;
    match outcome {
        Ok(()) => Check {
            available: true,
            reason: "OK",
            details: String::new(),
            class: "DatabaseHealthcheck",
        },
        Err(e) => {
            tracing::warn!(error = %e, "healthcheck: the database does not answer");
            Check {
                available: false,
                reason: "DATABASE UNAVAILABLE",
                // The error can name hosts and users: only the detailed mode shows it.
                details: e.detail.clone().unwrap_or_else(|| e.message.clone()),
                class: "DatabaseHealthcheck",
            }
        }
    }
}

/// Whether the schema is at the level this build expects. The details name the pending
/// migrations and `keystone-manage db_sync`: only the detailed mode shows them.
async fn schema(state: &State) -> Check {
    let outcome = state
        .db
        .read(|conn| Ok(crate::preflight::schema(conn)))
        .await;
    let finding = match outcome {
        Ok(finding) => finding,
        Err(e) => Some(crate::preflight::Finding {
            kind: crate::preflight::FindingKind::DatabaseUnreachable,
            problem: e.detail.clone().unwrap_or_else(|| e.message.clone()),
            remedy: String::new(),
        }),
    };
    match finding {
        None => Check {
            available: true,
            reason: "OK",
            details: String::new(),
            class: "DatabaseHealthcheck",
        },
        Some(finding) => {
            tracing::warn!(problem = %finding.problem, "healthcheck: the database schema is not current");
            Check {
                available: false,
                reason: "DATABASE SCHEMA NOT CURRENT",
                details: finding.to_string(),
                class: "DatabaseHealthcheck",
            }
        }
    }
}

fn disable_by_file(state: &State) -> Check {
    let path = state.config.healthcheck.disable_by_file_path.as_ref();
    let disabled = path.is_some_and(|p| p.exists());
    Check {
        available: !disabled,
        reason: if disabled { "DISABLED BY FILE" } else { "OK" },
        details: path.map(|p| p.display().to_string()).unwrap_or_default(),
        class: "DisableByFileHealthcheck",
    }
}

/// Run the checks and answer (`head`: status only).
pub async fn answer(state: &State, req: &HttpRequest) -> HttpResponse {
    let mut database = database(state).await;
    if database.available {
        // One check, one reason line: a reachable database is healthy only at the
        // expected schema.
        database = schema(state).await;
    }
    let mut checks = vec![database];
    for backend in &state.config.healthcheck.backends {
        match backend.as_str() {
            "disable_by_file" => checks.push(disable_by_file(state)),
            other => tracing::debug!(backend = other, "healthcheck backend not supported"),
        }
    }
    let healthy = checks.iter().all(|c| c.available);
    let status = match (healthy, req.method() == actix_web::http::Method::HEAD) {
        (false, _) => StatusCode::SERVICE_UNAVAILABLE,
        (true, true) => StatusCode::NO_CONTENT,
        (true, false) => StatusCode::OK,
    };
    let accept: Vec<&str> = req
        .headers()
        .get_all(ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .collect();
    let accept = (!accept.is_empty()).then(|| accept.join(","));
    let kind = crate::discovery::best_match(accept.as_deref(), &[TEXT, HTML, JSON]).unwrap_or(TEXT);
    let detailed = state.config.healthcheck.detailed;
    let body = match kind {
        JSON => json_body(&checks, detailed),
        HTML => html_body(&checks, detailed),
        _ => checks
            .iter()
            .map(|c| c.reason)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    HttpResponse::build(status)
        .content_type(format!("{kind}; charset=UTF-8"))
        .body(if status == StatusCode::NO_CONTENT {
            String::new()
        } else {
            body
        })
}

fn json_body(checks: &[Check], detailed: bool) -> String {
    let reasons: Vec<Value> = checks
        .iter()
        .map(|c| {
            if detailed {
                json!({"class": c.class, "details": c.details, "reason": c.reason})
            } else {
                Value::from(c.reason)
            }
        })
        .collect();
    let mut body = json!({"detailed": detailed, "reasons": reasons});
    if detailed {
        body["now"] = Value::from(chrono::Utc::now().naive_utc().to_string());
    }
    // oslo answers `json.dumps(indent=4, sort_keys=True)`; serde_json keeps insertion order.
    serde_json::to_string_pretty(&sorted(body)).unwrap_or_default()
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html_body(checks: &[Check], detailed: bool) -> String {
    let mut rows = String::new();
    for c in checks {
        if detailed {
            rows.push_str(&format!(
                "<TR><TD>{}</TD><TD>{}</TD><TD>{}</TD></TR>\n",
                c.class,
                html_escape(c.reason),
                html_escape(&c.details)
            ));
        } else {
            rows.push_str(&format!("<TR><TD>{}</TD></TR>\n", html_escape(c.reason)));
        }
    }
    format!(
        "<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n<H2>Result of {} checks:</H2>\n<TABLE bgcolor=\"#ffffff\" border=\"1\">\n<TBODY>\n{rows}</TBODY>\n</TABLE>\n</BODY>\n</HTML>",
        checks.len()
    )
}
