//! Assembles the actix application: shared state, middleware, every subsystem's routes.

use crate::error::Error;
use crate::state::{AppState, State};
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpResponse, HttpServer, web};

/// Registers every subsystem's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    crate::api::discovery::configure(cfg);
    crate::api::auth::configure(cfg);
    crate::api::revoke::configure(cfg);
    crate::api::catalog::configure(cfg);
    crate::api::endpoint_filter::configure(cfg);
    crate::api::endpoint_policy::configure(cfg);
    crate::api::application_credential::configure(cfg);
    crate::api::credential::configure(cfg);
    crate::api::oauth1::configure(cfg);
    crate::api::oauth2::configure(cfg);
    crate::api::federation::configure(cfg);
    crate::api::federation_auth::configure(cfg);
    crate::api::federation_websso::configure(cfg);
    crate::api::federation_k2k::configure(cfg);
    crate::api::limit::configure(cfg);
    // Before the domain routes: `/v3/domains/config/default` is not a domain.
    crate::api::domain_config::configure(cfg);
    crate::api::resource::configure(cfg);
    crate::api::identity::configure(cfg);
    crate::api::assignment::configure(cfg);
    crate::api::trust::configure(cfg);
}

/// The 413 Keystone's sizelimit middleware answers (text/plain; the literal `%s` is
/// upstream's).
fn too_large() -> HttpResponse {
    HttpResponse::build(StatusCode::PAYLOAD_TOO_LARGE)
        .content_type("text/plain; charset=UTF-8")
        .body("413 Request Entity Too Large\n\nRequest is too large. Larger than max_request_body_size (%s).\n\n   ")
}

fn request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}

/// Build the application for a state: one function so tests run exactly what `serve` runs.
pub fn app(
    state: State,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.config.oslo_middleware.max_request_body_size;
    let metrics_enabled = state.config.metrics.enabled;
    let json_errors = web::JsonConfig::default().error_handler(|_, _| Error::invalid_json().into());
    App::new()
        .app_data(state.clone())
        .app_data(json_errors)
        .app_data(web::PayloadConfig::new(max_body))
        .configure(routes)
        .configure(|cfg| crate::api::observability::configure(cfg, metrics_enabled))
        .default_service(web::to(not_found))
        // Innermost: paths are normalised already; refused requests still get the
        // request id and the common headers from the wrappers below.
        .wrap_fn({
            let limiter = state.rate_limiter.clone();
            move |req, srv| {
                let refused = limiter.as_ref().and_then(|l| l.check(&req));
                let fut = match refused {
                    Some(response) => Err(req.into_response(response)),
                    None => Ok(srv.call(req)),
                };
                async move {
                    match fut {
                        Err(refused) => Ok(refused.map_into_right_body()),
                        Ok(fut) => Ok(fut.await?.map_into_left_body()),
                    }
                }
            }
        })
        // Outermost first in the chain below: request id and logging see every response.
        .wrap_fn(move |req, srv| {
            let www_authenticate = format!(
                "Keystone uri=\"{}/v3\"",
                crate::context::base_url(req.request(), &state.config)
            );
            let declared_len = req
                .headers()
                .get(actix_web::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            let oversized = declared_len.is_some_and(|n| n > max_body);
            let fut = if oversized { None } else { Some(srv.call(req)) };
            async move {
                let mut res: ServiceResponse<EitherBody<_, BoxBody>> = match fut {
                    None => {
                        return Err(actix_web::error::InternalError::from_response(
                            "too large",
                            too_large(),
                        )
                        .into());
                    }
                    Some(fut) => fut.await?.map_into_left_body(),
                };
                let status = res.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    let (req, _) = res.into_parts();
                    res = ServiceResponse::new(req, too_large()).map_into_right_body();
                } else if status == StatusCode::METHOD_NOT_ALLOWED
                    && !res
                        .request()
                        .path()
                        .starts_with(crate::api::oauth2::PATH_PREFIX)
                {
                    // Keep actix's `Allow` (the route's methods): RFC 9110 §15.5.6 wants
                    // it, and Keystone (werkzeug) sends it.
                    let (req, original) = res.into_parts();
                    let mut replaced = method_not_allowed();
                    if let Some(allow) = original.headers().get(actix_web::http::header::ALLOW) {
                        replaced
                            .headers_mut()
                            .insert(actix_web::http::header::ALLOW, allow.clone());
                    }
                    res = ServiceResponse::new(req, replaced).map_into_right_body();
                }
                let headers = res.headers_mut();
                // Keystone's auth middleware names the base URL without `/v3`.
                let www_authenticate = if headers
                    .remove(crate::error::MIDDLEWARE_401_MARKER)
                    .next()
                    .is_some()
                {
                    www_authenticate.trim_end_matches("/v3\"").to_string() + "\""
                } else {
                    www_authenticate
                };
                // Keystone's receipt 401 is built outside its error handler: no challenge.
                if status == StatusCode::UNAUTHORIZED
                    && !headers.contains_key("www-authenticate")
                    && !headers.contains_key(crate::receipt::HEADER)
                {
                    if let Ok(v) = HeaderValue::from_str(&www_authenticate) {
                        headers.insert(HeaderName::from_static("www-authenticate"), v);
                    }
                }
                headers.insert(
                    HeaderName::from_static("vary"),
                    HeaderValue::from_static("X-Auth-Token"),
                );
                Ok(res)
            }
        })
        .wrap_fn(|mut req, srv| {
            normalize_path(&mut req);
            srv.call(req)
        })
        .wrap_fn(|req, srv| {
            let id = request_id();
            let fut = srv.call(req);
            async move {
                let mut res = fut.await?;
                if let Ok(v) = HeaderValue::from_str(&id) {
                    res.headers_mut()
                        .insert(HeaderName::from_static("x-openstack-request-id"), v);
                }
                Ok(res)
            }
        })
        .wrap(tracing_actix_web::TracingLogger::<RedactingRootSpan>::new())
        // Outermost: the time and status every client saw, by the route that matched.
        .wrap_fn(|req, srv| {
            let started = std::time::Instant::now();
            let method = req.method().clone();
            let fut = srv.call(req);
            async move {
                let res = fut.await?;
                let route = res.request().match_pattern();
                crate::observability::metrics::observe_request(
                    method.as_str(),
                    route
                        .as_deref()
                        .unwrap_or(crate::observability::metrics::UNMATCHED_ROUTE),
                    res.status().as_u16(),
                    started.elapsed().as_secs_f64(),
                );
                Ok(res)
            }
        })
}

/// actix's `NormalizePath::trim()`: trailing slashes trimmed, repeated ones merged, so
/// `/v3/projects/` routes as `/v3/projects` (Keystone's `strict_slashes=False`). Written
/// out because the middleware runs a regular expression over every request's path, which
/// showed in the validation profile; this one looks once and rewrites only what needs it.
fn normalize_path(req: &mut ServiceRequest) {
    let Some(path) = normalized_path(req.path()) else {
        return;
    };
    let mut parts = req.head().uri.clone().into_parts();
    let path_and_query = match parts.path_and_query.as_ref().and_then(|pq| pq.query()) {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let Ok(path_and_query) = actix_web::http::uri::PathAndQuery::try_from(path_and_query) else {
        return;
    };
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
}

/// The normalised form of `path`, when it differs.
fn normalized_path(path: &str) -> Option<String> {
    let trailing = path.len() > 1 && path.ends_with('/');
    if !trailing && !path.contains("//") {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for c in path.trim_end_matches('/').chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    (out != path).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::normalized_path;

    #[test]
    fn paths_normalise_as_actix_trim_does() {
        for (path, want) in [
            ("/v3", None),
            ("/", None),
            ("", None),
            ("/v3/", Some("/v3")),
            ("/v3/projects//", Some("/v3/projects")),
            ("//v3//auth///tokens", Some("/v3/auth/tokens")),
            ("//", Some("/")),
            ("///", Some("/")),
        ] {
            assert_eq!(normalized_path(path).as_deref(), want, "{path}");
        }
    }
}

/// Unknown routes: werkzeug's HTML page, as Python Keystone answers.
async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().content_type("text/html; charset=utf-8").body(
        "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL \
         was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n",
    )
}

/// Known route, wrong method: flask-restful's body.
fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .content_type("application/json")
        .body("{\"message\": \"The method is not allowed for the requested URL.\"}\n")
}

/// Request spans without the query string: `?` parameters can carry secrets (OAuth).
pub struct RedactingRootSpan;

impl tracing_actix_web::RootSpanBuilder for RedactingRootSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        if let Ok(res) = outcome {
            span.record("status", res.status().as_u16());
            // One line per request at debug, as Keystone logs requests only with `debug =
            // true`: at info a busy server spent a good share of its CPU on this line.
            tracing::debug!(parent: &span, status = res.status().as_u16(), "served");
        }
    }
}

/// The HTTP server on an already bound listener (tests bind port 0 first).
pub fn build(
    state: AppState,
    listener: std::net::TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    let tls = crate::tls::server_config(&state.config.ssl).map_err(std::io::Error::other)?;
    let state = web::Data::new(state);
    // Without TCP_NODELAY, the last short segment of a body written in more than one go (a
    // streamed listing, anything past actix's write buffer) waits for the client's delayed
    // ACK: up to 40 ms per answer on Linux. Web servers (nginx's `tcp_nodelay`, hyper) set it.
    let server = HttpServer::new(move || app(state.clone()))
        .on_connect(crate::tls::on_connect)
        .tcp_nodelay(true);
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls)?,
        None => server.listen(listener)?,
    };
    Ok(server.shutdown_timeout(30).run())
}

/// Run the HTTP server until a signal: SIGTERM stops accepting and drains the requests in
/// flight (up to `shutdown_timeout`), SIGINT and SIGQUIT stop at once (actix-server's rules).
pub async fn serve(state: AppState, bind: &str) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(bind)?;
    let scheme = if state.config.ssl.certfile.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(%bind, scheme, "keystone-rs listening");
    build(state, listener)?.await?;
    Ok(())
}
