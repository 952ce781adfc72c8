//! /v3/auth/{catalog,projects,domains,system}.

use crate::support::TestServer;
use serde_json::json;

#[test]
fn scope_discovery_routes() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let unscoped = s.password_auth(Some(json!("unscoped"))).subject_token();

    let r = s.get("/v3/auth/catalog", Some(&admin));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.ends_with('\n'));
    let body = r.json();
    assert_eq!(body["catalog"][0]["type"], "identity");
    assert_eq!(body["links"]["self"], format!("{}/v3/auth/catalog", s.base));
    assert_eq!(s.get("/v3/auth/catalog", Some(&unscoped)).status, 403);

    let r = s.get("/v3/auth/projects", Some(&unscoped));
    assert_eq!(r.status, 200, "{}", r.body);
    let projects = r.json()["projects"].as_array().unwrap().clone();
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0]["name"], "admin");

    let r = s.get("/v3/auth/domains", Some(&unscoped));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["domains"], json!([]));
    // `wrap_collection`: the `self` link repeats the query string.
    let r = s.get("/v3/auth/domains?x=a%20b", Some(&unscoped));
    assert_eq!(
        r.json()["links"],
        json!({"next": null, "self": format!("{}/v3/auth/domains?x=a%20b", s.base), "previous": null})
    );

    let r = s.get("/v3/auth/system", Some(&unscoped));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["system"], json!([{"all": true}]));

    assert_eq!(s.get("/v3/auth/projects", None).status, 401);
}
