//! Routes `GET`/`HEAD` `/healthcheck` and `/metrics`. No token: load balancers and
//! Prometheus call them (Keystone serves `/healthcheck` without one too).

use crate::state::State;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig, metrics_enabled: bool) {
    cfg.service(
        web::resource("/healthcheck")
            .route(web::get().to(healthcheck))
            .route(web::head().to(healthcheck)),
    );
    if metrics_enabled {
        cfg.service(
            web::resource("/metrics")
                .route(web::get().to(metrics))
                .route(web::head().to(metrics)),
        );
    }
}

async fn healthcheck(state: State, req: HttpRequest) -> HttpResponse {
    crate::api::health::answer(&state, &req).await
}

/// Prometheus text format; `[metrics] enabled = false` leaves the route out (404).
async fn metrics(state: State) -> HttpResponse {
    match crate::observability::metrics::render(&state.db) {
        Ok((body, content_type)) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, content_type))
            .body(body),
        Err(e) => {
            tracing::warn!(error = %e, "encoding metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}
