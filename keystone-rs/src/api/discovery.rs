//! Routes `GET`/`HEAD` `/` and `/v3`. No token is needed. `HEAD` runs the same handler:
//! actix's HTTP/1 encoder keeps the `Content-Length` of the body it then omits, which is
//! what Keystone answers (the same status and headers, an empty body).

use crate::context::base_url;
use crate::discovery::{JSON, JSON_HOME, JSON_HOME_ROOT, JSON_HOME_V3};
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .route(web::get().to(versions))
            .route(web::head().to(versions)),
    )
    .service(
        web::resource(["/v3", "/v3/"])
            .route(web::get().to(version_v3))
            .route(web::head().to(version_v3)),
    );
}

/// Every `Accept` header of the request, joined as a WSGI server joins repeated headers.
fn accept_header(req: &HttpRequest) -> Option<String> {
    let values: Vec<&str> = req
        .headers()
        .get_all(ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

fn wants_json_home(req: &HttpRequest) -> bool {
    crate::discovery::prefers_json_home(accept_header(req).as_deref())
}

fn json_home(body: &'static str) -> HttpResponse {
    HttpResponse::Ok().content_type(JSON_HOME).body(body)
}

/// `GET /`: 300 Multiple Choices listing v3, with `Location` at the v3 endpoint.
async fn versions(req: HttpRequest, state: State) -> HttpResponse {
    if wants_json_home(&req) {
        return json_home(JSON_HOME_ROOT.as_str());
    }
    let v3 = crate::discovery::v3_url(&base_url(&req, &state.config));
    HttpResponse::build(StatusCode::MULTIPLE_CHOICES)
        .content_type(JSON)
        .insert_header((LOCATION, v3.as_str()))
        .body(crate::discovery::versions_body(&v3))
}

/// `GET /v3`: 200 with the v3 version document.
async fn version_v3(req: HttpRequest, state: State) -> HttpResponse {
    if wants_json_home(&req) {
        return json_home(JSON_HOME_V3.as_str());
    }
    let v3 = crate::discovery::v3_url(&base_url(&req, &state.config));
    HttpResponse::Ok()
        .content_type(JSON)
        .body(crate::discovery::version_body(&v3))
}

#[cfg(test)]
mod tests;
