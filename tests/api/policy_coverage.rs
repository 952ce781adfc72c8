//! Every served route is authorised through the policy, once, with a registered rule —
//! except the routes Keystone itself leaves unenforced (spec/policy.md §6).

use std::collections::BTreeMap;
use std::path::Path;

/// Routes Keystone serves without a policy check: discovery, issuing tokens, the OAuth
/// endpoints that authenticate by signature or client secret, and the self-service
/// password change (the old password is the proof); and the operators' endpoints, the
/// oslo.middleware healthcheck and Prometheus metrics.
const UNENFORCED: &[(&str, &str)] = &[
    ("/healthcheck", "get"),
    ("/healthcheck", "head"),
    ("/metrics", "get"),
    ("/metrics", "head"),
    ("/", "get"),
    ("/", "head"),
    ("/v3", "get"),
    ("/v3", "head"),
    ("/v3/auth/tokens", "post"),
    ("/v3/OS-OAUTH1/request_token", "post"),
    ("/v3/OS-OAUTH1/access_token", "post"),
    ("/v3/OS-OAUTH2/token", "post"),
    // keystone-rs: RFC 7662 introspection authenticates the client like the token endpoint;
    // RFC 8414 metadata is public.
    ("/v3/OS-OAUTH2/introspect", "post"),
    ("/.well-known/oauth-authorization-server", "get"),
    ("/v3/users/{user_id}/password", "post"),
    // Federated login: the trusted front end's assertion is the credential.
    (
        "/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth",
        "get",
    ),
    (
        "/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth",
        "post",
    ),
    // WebSSO: the same login, its answer a page for the dashboard.
    ("/v3/auth/OS-FEDERATION/websso/{protocol_id}", "get"),
    ("/v3/auth/OS-FEDERATION/websso/{protocol_id}", "post"),
    (
        "/v3/auth/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/websso",
        "get",
    ),
    (
        "/v3/auth/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/websso",
        "post",
    ),
    // Keystone-to-Keystone: public metadata; the assertion requests carry their token.
    ("/v3/OS-FEDERATION/saml2/metadata", "get"),
    ("/v3/OS-FEDERATION/saml2/metadata", "head"),
    ("/v3/auth/OS-FEDERATION/saml2", "post"),
    ("/v3/auth/OS-FEDERATION/saml2/ecp", "post"),
];

struct Route {
    path: String,
    method: String,
    handler: String,
    file: String,
}

fn routes_and_handlers() -> (Vec<Route>, BTreeMap<String, String>) {
    // Route files are src/api/<subsystem>.rs; their handlers may live in the file or in
    // src/api/<subsystem>/ (`.to(users::list)`).
    let api = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api"));
    let mut routes = Vec::new();
    let mut bodies = BTreeMap::new();
    let mut files = vec![];
    let mut sources = vec![];
    for entry in std::fs::read_dir(api).expect("src/api") {
        let file = entry.expect("entry").path();
        if file.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let key = file.with_extension("").display().to_string();
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        files.push((key.clone(), text.clone()));
        sources.push((key.clone(), text));
        let mut stack = vec![file.with_extension("")];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    if let Ok(text) = std::fs::read_to_string(&p) {
                        sources.push((key.clone(), text));
                    }
                }
            }
        }
    }
    for (file, text) in &files {
        for (path, rest) in crate::support::web_resources(text) {
            for part in rest.split(".route(web::").skip(1) {
                let Some((method, after)) = part.split_once("()") else {
                    continue;
                };
                let Some(handler) = after.trim_start().strip_prefix(".to(") else {
                    continue;
                };
                let handler: String = handler
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let handler = handler.rsplit("::").next().unwrap_or_default().to_string();
                routes.push(Route {
                    path: path.to_string(),
                    method: method.to_string(),
                    handler,
                    file: file.clone(),
                });
            }
        }
    }
    for (file, text) in &sources {
        // Handler bodies: from `async fn name(` to the next top-level item.
        let normalised = text
            .replace("\npub async fn ", "\nasync fn ")
            .replace("\npub(crate) async fn ", "\nasync fn ");
        for chunk in normalised.split("\nasync fn ").skip(1) {
            let name: String = chunk
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let body = chunk.split("\n}\n").next().unwrap_or(chunk).to_string();
            bodies.insert(format!("{file}::{name}"), body);
        }
    }
    (routes, bodies)
}

#[test]
fn every_route_enforces_a_registered_rule() {
    let (routes, bodies) = routes_and_handlers();
    assert!(routes.len() > 10, "route scan found too little");
    let registered: Vec<String> = keystone_rs::policy::registered_defaults()
        .expect("defaults")
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let mut problems = Vec::new();
    for r in &routes {
        let unenforced = UNENFORCED.contains(&(r.path.as_str(), r.method.as_str()));
        let Some(body) = bodies.get(&format!("{}::{}", r.file, r.handler)) else {
            problems.push(format!(
                "{} {}: handler {} not found in {}",
                r.method, r.path, r.handler, r.file
            ));
            continue;
        };
        // The policy call is `context::authorize(…)` or a route helper named `*authorize*`.
        let calls = body.matches("authorize(").count() + body.matches("authorize_").count();
        if unenforced {
            if calls != 0 {
                problems.push(format!(
                    "{} {} is unenforced in Keystone but calls authorize",
                    r.method, r.path
                ));
            }
            continue;
        }
        if calls == 0 {
            problems.push(format!(
                "{} {} ({}) has no policy check",
                r.method, r.path, r.handler
            ));
        }
        for action in body.split('"').filter(|s| s.starts_with("identity:")) {
            if !registered.iter().any(|n| n == action) {
                problems.push(format!(
                    "{} {} uses unregistered rule {action}",
                    r.method, r.path
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
