//! api-ref/openapi.yaml must describe every route the server registers, with its methods.
//! Routes are read from each route file, src/api/<subsystem>.rs (`web::resource("…")` with its
//! `.route(web::<method>()…)` calls), so a new route without documentation fails here.

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// (path, method) pairs documented in openapi.yaml (two-space path keys, four-space methods).
fn documented() -> BTreeSet<(String, String)> {
    let text =
        std::fs::read_to_string(root().join("api-ref/openapi.yaml")).expect("api-ref/openapi.yaml");
    let mut in_paths = false;
    let mut current: Option<String> = None;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line == "paths:" {
            in_paths = true;
            continue;
        }
        if !in_paths {
            continue;
        }
        if !line.starts_with(' ') && !line.is_empty() {
            break;
        }
        if let Some(path) = line
            .strip_prefix("  ")
            .filter(|l| l.starts_with('/'))
            .and_then(|l| l.strip_suffix(':'))
        {
            current = Some(path.trim_matches('"').to_string());
        } else if let Some(method) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')) {
            if let Some(p) = &current {
                if ["get", "head", "post", "put", "patch", "delete"].contains(&method) {
                    out.insert((p.clone(), method.to_string()));
                }
            }
        }
    }
    out
}

/// (path, method) pairs registered in the sources.
fn served() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let api = root().join("keystone-rs/src/api");
    for entry in std::fs::read_dir(&api).expect("src/api") {
        let file = entry.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (path, rest) in crate::support::web_resources(&text) {
            // The resource's own routes end where the next resource starts.
            for method in ["get", "head", "post", "put", "patch", "delete"] {
                if rest.contains(&format!("web::{method}()")) {
                    out.insert((path.to_string(), method.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn every_served_route_is_documented() {
    let documented = documented();
    let served = served();
    assert!(served.len() > 5, "route scan found too little: {served:?}");
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes served but not in api-ref/openapi.yaml: {missing:?}"
    );
}

#[test]
fn every_documented_route_is_served() {
    let s = crate::support::TestServer::start();
    for (path, method) in documented() {
        let concrete = path.replace('{', "").replace('}', "");
        let r = s.request(&method.to_uppercase(), &concrete, &[], None);
        assert!(
            r.status != 405,
            "{method} {path} is documented but answers 405"
        );
        assert!(
            !r.body.starts_with("<!doctype html>"),
            "{method} {path} is documented but not routed"
        );
    }
}
