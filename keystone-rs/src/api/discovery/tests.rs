//! Discovery responses against the peer's captures (`tests/vectors/http/get_*.json`,
//! `tests/vectors/discovery/json-home-*.json`). `Vary` and `x-openstack-request-id` are
//! added by the server-wide middleware, not here.

use crate::config::Config;
use crate::db::Db;
use crate::server::routes;
use crate::state::AppState;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, LOCATION};
use actix_web::{App, test, web};
use serde_json::Value;
use std::sync::Arc;

const VECTOR_HOST: &str = "keystone.example.com:5000";
const VECTOR_BASE: &str = "http://keystone.example.com:5000";

fn vector_text(path: &str) -> String {
    let full = format!("{}/../tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A captured exchange: status code, the headers that matter here, exact body.
struct Exchange {
    status: u16,
    content_type: String,
    content_length: usize,
    location: Option<String>,
    body: String,
}

fn exchange(name: &str) -> Exchange {
    let v: Value = serde_json::from_str(&vector_text(&format!("http/{name}.json"))).unwrap();
    let header = |wanted: &str| {
        v["headers"].as_array().unwrap().iter().find_map(|pair| {
            (pair[0].as_str()?.eq_ignore_ascii_case(wanted))
                .then(|| pair[1].as_str().unwrap().to_string())
        })
    };
    Exchange {
        status: v["status"].as_str().unwrap()[..3].parse().unwrap(),
        content_type: header("Content-Type").unwrap(),
        content_length: header("Content-Length").unwrap().parse().unwrap(),
        location: header("Location"),
        body: v["body_raw"].as_str().unwrap().to_string(),
    }
}

fn state(config: Config) -> web::Data<AppState> {
    // Discovery touches neither keys nor policy, but the state carries them.
    let tokens = crate::token::formatter::TokenFormatter {
        format: crate::token::formatter::TokenFormat::Fernet {
            keys: crate::fernet::KeyRing::from_keys(&[
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ])
            .unwrap(),
            codec: crate::fernet::PayloadCodec::from_config(&config),
        },
        cache: crate::token::cache::ValidationCache::disabled(),
    };
    let policy = crate::policy::Enforcer::from_config(&config).unwrap();
    web::Data::new(AppState {
        db: Db::open("sqlite://", 1).unwrap(),
        tokens: Arc::new(tokens),
        receipts: Arc::new(crate::receipt::ReceiptProvider::with_keys(
            crate::fernet::KeyRing::from_keys(&["MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="])
                .unwrap(),
            crate::fernet::PayloadCodec::from_config(&config),
            chrono::Duration::seconds(300),
        )),
        policy: Arc::new(policy),
        rate_limiter: None,
        oidc: Arc::default(),
        credential_keys: Arc::new(crate::credential::CredentialKeys::from_config(&config)),
        config: Arc::new(config),
    })
}

/// What a test needs of a response.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: HeaderName) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

async fn call(config: Config, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let app = test::init_service(App::new().app_data(state(config)).configure(routes)).await;
    let mut req = test::TestRequest::default()
        .method(method.parse().unwrap())
        .uri(path)
        .insert_header(("Host", VECTOR_HOST));
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let res = test::call_service(&app, req.to_request()).await;
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

fn assert_matches(reply: &Reply, expected: &Exchange) {
    assert_eq!(reply.status, expected.status);
    assert_eq!(
        reply.header(CONTENT_TYPE).as_deref(),
        Some(expected.content_type.as_str())
    );
    assert_eq!(reply.header(LOCATION), expected.location);
    assert_eq!(reply.body, expected.body);
    assert_eq!(reply.body.len(), expected.content_length);
}

#[actix_web::test]
async fn root_lists_versions_with_300() {
    for (vector, accept) in [
        ("get_root", Some("application/json")),
        ("get_root_noaccept", None),
    ] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let reply = call(Config::default(), "GET", "/", &headers).await;
        assert_matches(&reply, &exchange(vector));
    }
}

#[actix_web::test]
async fn head_root_has_the_same_status_and_headers() {
    let reply = call(Config::default(), "HEAD", "/", &[]).await;
    let expected = exchange("get_root");
    assert_eq!(reply.status, 300);
    assert_eq!(reply.header(LOCATION), expected.location);
    assert_eq!(
        reply.header(CONTENT_TYPE).as_deref(),
        Some("application/json")
    );
}

#[actix_web::test]
async fn v3_with_and_without_slash() {
    for (vector, path) in [("get_v3", "/v3"), ("get_v3_slash", "/v3/")] {
        let reply = call(Config::default(), "GET", path, &[]).await;
        assert_matches(&reply, &exchange(vector));
        let reply = call(Config::default(), "HEAD", path, &[]).await;
        assert_eq!(reply.status, 200);
    }
}

#[actix_web::test]
async fn json_home_documents_equal_keystones_bytes() {
    for (path, file) in [
        ("/v3", "json-home-v3.json"),
        ("/", "json-home-root.json"),
        ("/v3/", "json-home-v3.json"),
    ] {
        let expected = vector_text(&format!("discovery/{file}"));
        let reply = call(
            Config::default(),
            "GET",
            path,
            &[("Accept", "application/json-home")],
        )
        .await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.header(CONTENT_TYPE).as_deref(),
            Some("application/json-home")
        );
        assert_eq!(reply.header(LOCATION), None);
        assert_eq!(reply.body, expected, "{path}");
    }
}

#[actix_web::test]
async fn negotiation_falls_back_to_json() {
    for accept in [
        "*/*",
        "text/html",
        "application/json-home;q=0.5, application/json",
    ] {
        let reply = call(Config::default(), "GET", "/v3", &[("Accept", accept)]).await;
        assert_matches(&reply, &exchange("get_v3"));
    }
}

#[actix_web::test]
async fn links_follow_the_request_host_and_public_endpoint() {
    let reply = call(Config::default(), "GET", "/", &[("Host", "id.example.org")]).await;
    let expected = exchange("get_root")
        .body
        .replace(VECTOR_BASE, "http://id.example.org");
    assert_eq!(reply.body, expected);
    assert_eq!(
        reply.header(LOCATION).as_deref(),
        Some("http://id.example.org/v3/")
    );

    let config = Config::parse(
        "[DEFAULT]\npublic_endpoint = https://keystone.public:13000/\n",
        None,
    )
    .unwrap();
    let reply = call(config, "GET", "/v3", &[]).await;
    let expected = exchange("get_v3")
        .body
        .replace(VECTOR_BASE, "https://keystone.public:13000");
    assert_eq!(reply.body, expected);
}

/// Over a real socket, `HEAD /` carries `Content-Length: 275` and no body, as Keystone's.
#[actix_web::test]
async fn head_over_http_keeps_content_length_without_body() {
    let data = state(Config::default());
    let server =
        actix_web::HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let raw = web::block(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let request =
            format!("HEAD / HTTP/1.1\r\nHost: {VECTOR_HOST}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        raw
    })
    .await
    .unwrap();
    handle.stop(true).await;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 300"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\ncontent-length: 275"),
        "{head}"
    );
    assert!(
        head.contains("\r\nlocation: http://keystone.example.com:5000/v3/"),
        "{head}"
    );
    assert_eq!(body, "");
}
