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

/// The scope lists are memoized per user (as Keystone memoizes `list_projects_for_user`):
/// every write that changes what they show must show at once.
#[test]
fn scope_lists_follow_grants_memberships_and_projects() {
    use crate::support::{role_id, send};
    let s = TestServer::start();
    let admin = s.admin_token();
    let login = || s.password_auth(Some(json!("unscoped")));
    let user_id = login().json()["token"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A fresh token each time: removing a grant or a membership revokes the user's tokens
    // (issued up to the second of the removal, hence the pauses below).
    let pause = || std::thread::sleep(std::time::Duration::from_millis(1100));
    let names = |path: &str| -> Vec<String> {
        let r = s.get(path, Some(&login().subject_token()));
        assert_eq!(r.status, 200, "{}", r.body);
        let key = if path.ends_with("projects") {
            "projects"
        } else {
            "domains"
        };
        let mut names: Vec<String> = r.json()[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("/v3/auth/projects"), ["admin"]);

    let r = send(
        &s,
        "POST",
        "/v3/projects",
        &admin,
        Some(&json!({"project": {
        "name": "shown", "domain_id": "default", "tags": ["t"], "colour": "blue"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let project = r.json()["project"]["id"].as_str().unwrap().to_string();
    let r = send(
        &s,
        "POST",
        "/v3/groups",
        &admin,
        Some(&json!({"group": {"name": "g"}})),
    );
    let group = r.json()["group"]["id"].as_str().unwrap().to_string();
    let member = role_id(&s, &admin, "member");
    let grant = format!("/v3/projects/{project}/groups/{group}/roles/{member}");
    assert_eq!(send(&s, "PUT", &grant, &admin, None).status, 204);
    // Granted to a group the user is not in yet: nothing changes.
    assert_eq!(names("/v3/auth/projects"), ["admin"]);
    let membership = format!("/v3/groups/{group}/users/{user_id}");
    assert_eq!(send(&s, "PUT", &membership, &admin, None).status, 204);
    assert_eq!(names("/v3/auth/projects"), ["admin", "shown"]);
    let r = s.get("/v3/auth/projects", Some(&login().subject_token()));
    let shown = r.json()["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == project.as_str())
        .cloned()
        .unwrap();
    assert_eq!(shown["colour"], "blue");
    assert_eq!(shown["tags"], json!(["t"]));
    assert_eq!(
        shown["links"]["self"],
        format!("{}/v3/projects/{project}", s.base)
    );

    let r = send(
        &s,
        "PATCH",
        &format!("/v3/projects/{project}"),
        &admin,
        Some(&json!({"project": {"name": "renamed"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(names("/v3/auth/projects"), ["admin", "renamed"]);

    // A domain grant shows in the domain list, an inherited one in the project list.
    let domain_grant = format!("/v3/domains/default/groups/{group}/roles/{member}");
    assert_eq!(send(&s, "PUT", &domain_grant, &admin, None).status, 204);
    assert_eq!(names("/v3/auth/domains"), ["Default"]);
    assert_eq!(send(&s, "DELETE", &grant, &admin, None).status, 204);
    pause();
    assert_eq!(names("/v3/auth/projects"), ["admin"]);
    let inherited = format!(
        "/v3/OS-INHERIT/domains/default/groups/{group}/roles/{member}/inherited_to_projects"
    );
    assert_eq!(send(&s, "PUT", &inherited, &admin, None).status, 204);
    assert_eq!(names("/v3/auth/projects"), ["admin", "renamed"]);

    assert_eq!(send(&s, "DELETE", &membership, &admin, None).status, 204);
    pause();
    assert_eq!(names("/v3/auth/projects"), ["admin"]);
    assert_eq!(names("/v3/auth/domains"), Vec::<String>::new());
}
