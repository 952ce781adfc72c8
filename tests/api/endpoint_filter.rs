//! OS-EP-FILTER over HTTP: endpoint groups, project associations, their listings, and the
//! catalog every project-scoped token and `/v3/auth/catalog` carries — with and without
//! associations, on the writing node and on another node sharing the database — as
//! Keystone 30's `keystone/api/os_ep_filter.py` and `catalog/backends/sql.py` answer.

use crate::support::{Response, TestServer};
use serde_json::{Value, json};

const EPF: &str = "/v3/OS-EP-FILTER";

fn call(
    s: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let text = body.map(|b| b.to_string());
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(t) = token {
        headers.push(("X-Auth-Token", t));
    }
    s.request(method, path, &headers, text.as_deref().map(str::as_bytes))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn assert_error(r: &Response, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["error"]["message"], message, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], status);
}

fn create(s: &TestServer, token: &str, path: &str, key: &str, body: Value) -> Value {
    let r = call(s, "POST", path, Some(token), Some(json!({ key: body })));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()[key].clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// A compute service with a public endpoint in RegionOne and an internal one in no
/// region, next to the identity service bootstrap made.
struct Compute {
    service: String,
    public: String,
    internal: String,
}

fn compute(s: &TestServer, admin: &str) -> Compute {
    let service = id_of(&create(
        s,
        admin,
        "/v3/services",
        "service",
        json!({"type": "compute", "name": "nova"}),
    ));
    let public = id_of(&create(
        s,
        admin,
        "/v3/endpoints",
        "endpoint",
        json!({"service_id": service, "interface": "public", "region_id": "RegionOne",
               "url": "http://nova/$(project_id)s"}),
    ));
    let internal = id_of(&create(
        s,
        admin,
        "/v3/endpoints",
        "endpoint",
        json!({"service_id": service, "interface": "internal", "url": "http://nova-int"}),
    ));
    Compute {
        service,
        public,
        internal,
    }
}

/// The admin project's id and a token scoped to it.
fn admin_project(s: &TestServer) -> (String, String) {
    let r = s.password_auth(Some(
        json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
    ));
    assert_eq!(r.status, 201, "{}", r.body);
    let project = r.json()["token"]["project"]["id"]
        .as_str()
        .expect("project")
        .to_string();
    (project, r.subject_token())
}

/// Endpoint ids of a catalog, sorted.
fn catalog_endpoints(catalog: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for service in catalog.as_array().expect("catalog") {
        for e in service["endpoints"].as_array().expect("endpoints") {
            out.push(e["id"].as_str().expect("id").to_string());
        }
    }
    out.sort();
    out
}

fn token_catalog(s: &TestServer, caller: &str, subject: &str) -> Value {
    let r = s.tokens("GET", "", caller, subject);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["token"]["catalog"].clone()
}

fn auth_catalog(s: &TestServer, token: &str) -> Value {
    let r = s.get("/v3/auth/catalog", Some(token));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["catalog"].clone()
}

#[test]
fn endpoint_group_crud_in_keystone_shape() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = call(
        &s,
        "POST",
        &format!("{EPF}/endpoint_groups"),
        Some(&admin),
        Some(json!({"endpoint_group": {"name": "public", "filters": {"interface": "public"}}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let group = r.json()["endpoint_group"].clone();
    assert_eq!(
        keys(&group),
        ["id", "name", "description", "filters", "links"]
    );
    assert_eq!(group["description"], Value::Null);
    let id = id_of(&group);
    assert_eq!(id.len(), 32);
    assert!(
        group["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/OS-EP-FILTER/endpoint_groups/{id}"))
    );

    let got = s.get(&format!("{EPF}/endpoint_groups/{id}"), Some(&admin));
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["endpoint_group"], group);

    create(
        &s,
        &admin,
        &format!("{EPF}/endpoint_groups"),
        "endpoint_group",
        json!({"name": "other", "description": "d", "filters": {"region_id": null}}),
    );
    let all = s
        .get(&format!("{EPF}/endpoint_groups"), Some(&admin))
        .json();
    assert_eq!(all["endpoint_groups"].as_array().unwrap().len(), 2);
    assert_eq!(all["links"]["next"], Value::Null);
    let named = s
        .get(&format!("{EPF}/endpoint_groups?name=public"), Some(&admin))
        .json();
    assert_eq!(ids(&named["endpoint_groups"]), [id.clone()]);
    // Only `name` is a known query parameter.
    assert_error(
        &s.get(&format!("{EPF}/endpoint_groups?limit=1"), Some(&admin)),
        400,
        "Additional properties are not allowed ('limit' was unexpected)",
    );

    let r = call(
        &s,
        "PATCH",
        &format!("{EPF}/endpoint_groups/{id}"),
        Some(&admin),
        Some(json!({"endpoint_group": {"filters": {"service_id": "s"}, "description": "new"}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let updated = r.json()["endpoint_group"].clone();
    assert_eq!(
        updated["filters"],
        json!({"service_id": "s"}),
        "filters replaced whole"
    );
    assert_eq!(updated["description"], "new");
    assert_eq!(updated["name"], "public");

    let r = call(
        &s,
        "DELETE",
        &format!("{EPF}/endpoint_groups/{id}"),
        Some(&admin),
        None,
    );
    assert_eq!(r.status, 204);
    assert_error(
        &s.get(&format!("{EPF}/endpoint_groups/{id}"), Some(&admin)),
        404,
        &format!("Could not find Endpoint Group: {id}."),
    );
    assert_error(
        &call(
            &s,
            "DELETE",
            &format!("{EPF}/endpoint_groups/{id}"),
            Some(&admin),
            None,
        ),
        404,
        &format!("Could not find Endpoint Group: {id}."),
    );
}

#[test]
fn endpoint_group_bad_input_is_a_400() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let path = format!("{EPF}/endpoint_groups");
    let post = |body: Value, token: Option<&str>| call(&s, "POST", &path, token, Some(body));
    // The schema runs before authentication.
    assert_error(
        &post(json!({"endpoint_group": {"name": "x"}}), None),
        400,
        "Invalid input for field/attribute endpoint_group. Value: {'name': 'x'}. 'filters' is a required property",
    );
    assert_eq!(
        post(
            json!({"endpoint_group": {"name": "x", "filters": {"interface": "public"}}}),
            None
        )
        .status,
        401
    );
    assert_error(
        &post(
            json!({"endpoint_group": {"name": "x", "filters": {}}}),
            Some(&admin),
        ),
        400,
        "filters field is required and cannot be empty",
    );
    assert_error(
        &post(json!({}), Some(&admin)),
        400,
        "filters field is required and cannot be empty",
    );
    assert_error(
        &post(
            json!({"endpoint_group": {"name": "x", "filters": {"enabled": true}}}),
            Some(&admin),
        ),
        400,
        "Expecting to find service_id or region_id or interface in endpoint_group. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
    );
    assert_error(
        &post(
            json!({"endpoint_group": {"name": "x", "filters": {"interface": "bogus"}}}),
            Some(&admin),
        ),
        400,
        "Invalid input for field/attribute interface. Value: bogus. 'bogus' is not one of ['admin', 'internal', 'public']",
    );
    assert_error(
        &post(
            json!({"endpoint_group": {"name": "   ", "filters": {"interface": "public"}}}),
            Some(&admin),
        ),
        400,
        "Invalid input for field/attribute name. Value:    . '   ' does not match '[\\\\S]+'",
    );
    assert_error(
        &post(
            json!({"endpoint_group": {"name": "x", "filters": {"interface": "public"}, "id": "mine"}}),
            Some(&admin),
        ),
        400,
        "Invalid input for field/attribute endpoint_group. Value: {'name': 'x', 'filters': {'interface': 'public'}, 'id': 'mine'}. Additional properties are not allowed ('id' was unexpected)",
    );
    assert_eq!(post(json!([1]), Some(&admin)).status, 400);
    let r = s.request(
        "POST",
        &path,
        &[
            ("Content-Type", "application/json"),
            ("X-Auth-Token", &admin),
        ],
        Some(b"{not json"),
    );
    assert_eq!(r.status, 400, "{}", r.body);

    let id = id_of(&create(
        &s,
        &admin,
        &path,
        "endpoint_group",
        json!({"name": "g", "filters": {"interface": "admin"}}),
    ));
    let patch = |body: Value| {
        call(
            &s,
            "PATCH",
            &format!("{path}/{id}"),
            Some(&admin),
            Some(body),
        )
    };
    assert_error(
        &patch(json!({"endpoint_group": {}})),
        400,
        "Invalid input for field/attribute endpoint_group. Value: {}. {} should be non-empty",
    );
    assert_error(
        &patch(json!({})),
        400,
        "'endpoint_group' is a required property",
    );
    assert_eq!(
        patch(json!({"endpoint_group": {"filters": {"url": "x"}}})).status,
        400
    );
    assert_eq!(patch(json!({"endpoint_group": {"name": 5}})).status, 400);
    // Nothing changed.
    let g = s.get(&format!("{path}/{id}"), Some(&admin)).json();
    assert_eq!(
        g["endpoint_group"]["filters"],
        json!({"interface": "admin"})
    );
    assert_eq!(
        call(
            &s,
            "PATCH",
            &format!("{path}/nope"),
            Some(&admin),
            Some(json!({"endpoint_group": {"name": "n"}}))
        )
        .status,
        404
    );
}

#[test]
fn project_endpoint_associations_and_their_listings() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let c = compute(&s, &admin);
    let project = s.make_project("epf-project", "default", None);
    let assoc = format!("{EPF}/projects/{project}/endpoints/{}", c.public);

    assert_error(
        &s.get(&assoc, Some(&admin)),
        404,
        &format!("Endpoint {} not found in project {project}", c.public),
    );
    assert_eq!(call(&s, "PUT", &assoc, Some(&admin), None).status, 204);
    assert_eq!(s.get(&assoc, Some(&admin)).status, 204);
    assert_error(
        &call(&s, "PUT", &assoc, Some(&admin), None),
        409,
        "Conflict occurred attempting to store project_endpoint - Duplicate entry.",
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &format!("{EPF}/projects/{project}/endpoints/nope"),
            Some(&admin),
            None,
        ),
        404,
        "Could not find endpoint: nope.",
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &format!("{EPF}/projects/nope/endpoints/{}", c.public),
            Some(&admin),
            None,
        ),
        404,
        "Could not find project: nope.",
    );

    let listed = s
        .get(&format!("{EPF}/projects/{project}/endpoints"), Some(&admin))
        .json();
    let endpoints = listed["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["id"], c.public.as_str());
    assert_eq!(
        endpoints[0]["region"], "RegionOne",
        "the legacy region is shown"
    );
    assert!(
        endpoints[0]["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/endpoints/{}", c.public))
    );
    assert!(
        listed["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/OS-EP-FILTER/projects/{project}/endpoints"))
    );
    assert_error(
        &s.get(&format!("{EPF}/projects/nope/endpoints"), Some(&admin)),
        404,
        "Could not find project: nope.",
    );

    let projects = s
        .get(
            &format!("{EPF}/endpoints/{}/projects", c.public),
            Some(&admin),
        )
        .json();
    assert_eq!(ids(&projects["projects"]), [project.clone()]);
    assert_eq!(projects["projects"][0]["domain_id"], "default");
    assert_error(
        &s.get(&format!("{EPF}/endpoints/nope/projects"), Some(&admin)),
        404,
        "Could not find endpoint: nope.",
    );

    assert_eq!(call(&s, "DELETE", &assoc, Some(&admin), None).status, 204);
    assert_error(
        &call(&s, "DELETE", &assoc, Some(&admin), None),
        404,
        &format!("Endpoint {} not found in project {project}", c.public),
    );
    let projects = s
        .get(
            &format!("{EPF}/endpoints/{}/projects", c.public),
            Some(&admin),
        )
        .json();
    assert_eq!(projects["projects"], json!([]));

    // A reader without a system scope may not.
    let r = s.get(&format!("{EPF}/projects/{project}/endpoints"), None);
    assert_eq!(r.status, 401);
}

#[test]
fn endpoint_group_project_associations_and_their_listings() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let c = compute(&s, &admin);
    let project = s.make_project("epg-project", "default", None);
    let group = id_of(&create(
        &s,
        &admin,
        &format!("{EPF}/endpoint_groups"),
        "endpoint_group",
        json!({"name": "nova", "filters": {"service_id": c.service}}),
    ));
    let assoc = format!("{EPF}/endpoint_groups/{group}/projects/{project}");

    assert_error(
        &s.get(&assoc, Some(&admin)),
        404,
        "Endpoint Group Project Association not found",
    );
    assert_eq!(call(&s, "PUT", &assoc, Some(&admin), None).status, 204);
    assert_error(
        &call(&s, "PUT", &assoc, Some(&admin), None),
        409,
        "Conflict occurred attempting to store project_endpoint_group - Duplicate entry.",
    );
    let r = s.get(&assoc, Some(&admin));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"project_endpoint_group": {"endpoint_group_id": group, "project_id": project,
            "links": {"self": format!("/OS-EP-FILTER/endpoint_groups/{group}/projects/{project}")}}})
    );
    // The project is looked up before the group.
    assert_error(
        &call(
            &s,
            "PUT",
            &format!("{EPF}/endpoint_groups/nope/projects/nope"),
            Some(&admin),
            None,
        ),
        404,
        "Could not find project: nope.",
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &format!("{EPF}/endpoint_groups/nope/projects/{project}"),
            Some(&admin),
            None,
        ),
        404,
        "Could not find Endpoint Group: nope.",
    );

    let endpoints = s
        .get(
            &format!("{EPF}/endpoint_groups/{group}/endpoints"),
            Some(&admin),
        )
        .json();
    assert_eq!(
        ids(&endpoints["endpoints"]),
        sorted(vec![c.public.clone(), c.internal.clone()])
    );
    let projects = s
        .get(
            &format!("{EPF}/endpoint_groups/{group}/projects"),
            Some(&admin),
        )
        .json();
    assert_eq!(ids(&projects["projects"]), [project.clone()]);
    // Keystone does not look the group up for its project list.
    let none = s.get(
        &format!("{EPF}/endpoint_groups/nope/projects"),
        Some(&admin),
    );
    assert_eq!(none.status, 200);
    assert_eq!(none.json()["projects"], json!([]));
    assert_eq!(
        s.get(
            &format!("{EPF}/endpoint_groups/nope/endpoints"),
            Some(&admin)
        )
        .status,
        404
    );

    let groups = s
        .get(
            &format!("{EPF}/projects/{project}/endpoint_groups"),
            Some(&admin),
        )
        .json();
    assert_eq!(ids(&groups["endpoint_groups"]), [group.clone()]);
    assert!(
        groups["endpoint_groups"][0]["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/OS-EP-FILTER/endpoint_groups/{group}"))
    );
    let from_project = s
        .get(&format!("{EPF}/projects/{project}/endpoints"), Some(&admin))
        .json();
    assert_eq!(
        ids(&from_project["endpoints"]),
        sorted(vec![c.public.clone(), c.internal.clone()])
    );

    assert_eq!(call(&s, "DELETE", &assoc, Some(&admin), None).status, 204);
    assert_error(
        &call(&s, "DELETE", &assoc, Some(&admin), None),
        404,
        "Endpoint Group Project Association not found",
    );
    // Deleting a group takes its associations along.
    assert_eq!(call(&s, "PUT", &assoc, Some(&admin), None).status, 204);
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("{EPF}/endpoint_groups/{group}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    let groups = s
        .get(
            &format!("{EPF}/projects/{project}/endpoint_groups"),
            Some(&admin),
        )
        .json();
    assert_eq!(groups["endpoint_groups"], json!([]));
    let projects = s
        .get(
            &format!("{EPF}/endpoint_groups/{group}/projects"),
            Some(&admin),
        )
        .json();
    assert_eq!(projects["projects"], json!([]));
}

#[test]
fn catalogs_follow_associations_exactly() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let c = compute(&s, &admin);
    let (project, token) = admin_project(&s);
    let full = catalog_endpoints(&token_catalog(&s, &admin, &token));
    assert_eq!(
        full.len(),
        5,
        "identity's three and compute's two: {full:?}"
    );

    // One endpoint associated: only it, only its service.
    let assoc = format!("{EPF}/projects/{project}/endpoints/{}", c.public);
    assert_eq!(call(&s, "PUT", &assoc, Some(&admin), None).status, 204);
    let catalog = token_catalog(&s, &admin, &token);
    assert_eq!(catalog_endpoints(&catalog), [c.public.clone()]);
    assert_eq!(catalog.as_array().unwrap().len(), 1);
    assert_eq!(catalog[0]["type"], "compute");
    assert_eq!(
        catalog[0]["endpoints"][0]["url"],
        format!("http://nova/{project}")
    );
    assert_eq!(auth_catalog(&s, &token), catalog);
    // A new token carries the same.
    let (_, fresh) = admin_project(&s);
    assert_eq!(
        catalog_endpoints(&token_catalog(&s, &admin, &fresh)),
        [c.public.clone()]
    );

    // An endpoint group adds to the direct association.
    let group = id_of(&create(
        &s,
        &admin,
        &format!("{EPF}/endpoint_groups"),
        "endpoint_group",
        json!({"name": "internal", "filters": {"interface": "internal"}}),
    ));
    let gassoc = format!("{EPF}/endpoint_groups/{group}/projects/{project}");
    assert_eq!(call(&s, "PUT", &gassoc, Some(&admin), None).status, 204);
    let catalog = token_catalog(&s, &admin, &token);
    let internal: Vec<String> = catalog
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|svc| svc["endpoints"].as_array().unwrap().clone())
        .filter(|e| e["interface"] == "internal")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        internal.len(),
        2,
        "identity's and compute's internal endpoints"
    );
    assert_eq!(catalog_endpoints(&catalog).len(), 3);

    // A disabled associated endpoint is left out; a service left empty is dropped.
    assert_eq!(call(&s, "DELETE", &gassoc, Some(&admin), None).status, 204);
    let r = call(
        &s,
        "PATCH",
        &format!("/v3/endpoints/{}", c.public),
        Some(&admin),
        Some(json!({"endpoint": {"enabled": false}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(token_catalog(&s, &admin, &token), json!([]));
    assert_eq!(auth_catalog(&s, &token), json!([]));

    // No association left: the full catalog again (less the disabled endpoint).
    assert_eq!(call(&s, "DELETE", &assoc, Some(&admin), None).status, 204);
    assert_eq!(
        catalog_endpoints(&token_catalog(&s, &admin, &token)).len(),
        4
    );

    // Another project's associations do not touch this one.
    let other = s.make_project("epf-other", "default", None);
    let r = call(
        &s,
        "PUT",
        &format!("{EPF}/projects/{other}/endpoints/{}", c.internal),
        Some(&admin),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        catalog_endpoints(&token_catalog(&s, &admin, &token)).len(),
        4
    );
}

#[test]
fn without_associations_return_all_endpoints_if_no_filter_decides() {
    let s =
        TestServer::start_with("[endpoint_filter]\nreturn_all_endpoints_if_no_filter = false\n");
    let admin = s.admin_token();
    let c = compute(&s, &admin);
    let (project, token) = admin_project(&s);
    assert_eq!(token_catalog(&s, &admin, &token), json!([]));
    assert_eq!(auth_catalog(&s, &token), json!([]));
    let assoc = format!("{EPF}/projects/{project}/endpoints/{}", c.internal);
    assert_eq!(call(&s, "PUT", &assoc, Some(&admin), None).status, 204);
    assert_eq!(
        catalog_endpoints(&auth_catalog(&s, &token)),
        [c.internal.clone()]
    );
}

#[test]
fn another_node_drops_its_cached_catalog_when_an_association_changes() {
    let a = TestServer::start_with("[validation_cache]\nenabled = true\nsync_interval_ms = 100\n");
    let b = a.second_node();
    let admin = a.admin_token();
    let c = compute(&a, &admin);
    let (project, token) = admin_project(&a);
    // Node b caches the full catalog.
    for _ in 0..3 {
        assert_eq!(
            catalog_endpoints(&token_catalog(&b, &admin, &token)).len(),
            5
        );
    }
    let assoc = format!("{EPF}/projects/{project}/endpoints/{}", c.public);
    assert_eq!(call(&a, "PUT", &assoc, Some(&admin), None).status, 204);
    // The writer at once.
    assert_eq!(
        catalog_endpoints(&token_catalog(&a, &admin, &token)),
        [c.public.clone()]
    );
    // The other node within the sync interval.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut seen = catalog_endpoints(&token_catalog(&b, &admin, &token));
    while seen.len() != 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        seen = catalog_endpoints(&token_catalog(&b, &admin, &token));
    }
    assert_eq!(seen, [c.public.clone()]);
    assert_eq!(
        catalog_endpoints(&auth_catalog(&b, &token)),
        [c.public.clone()]
    );

    // And back when it is removed, through an endpoint group change as well.
    assert_eq!(call(&a, "DELETE", &assoc, Some(&admin), None).status, 204);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut seen = catalog_endpoints(&token_catalog(&b, &admin, &token));
    while seen.len() != 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        seen = catalog_endpoints(&token_catalog(&b, &admin, &token));
    }
    assert_eq!(seen.len(), 5);
}

#[test]
fn deletes_take_their_associations_along() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let c = compute(&s, &admin);
    let project = s.make_project("epf-doomed", "default", None);
    let group = id_of(&create(
        &s,
        &admin,
        &format!("{EPF}/endpoint_groups"),
        "endpoint_group",
        json!({"name": "all-public", "filters": {"interface": "public"}}),
    ));
    for path in [
        format!("{EPF}/projects/{project}/endpoints/{}", c.public),
        format!("{EPF}/projects/{project}/endpoints/{}", c.internal),
        format!("{EPF}/endpoint_groups/{group}/projects/{project}"),
    ] {
        assert_eq!(call(&s, "PUT", &path, Some(&admin), None).status, 204);
    }
    // Deleting an endpoint removes its project associations.
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/endpoints/{}", c.internal),
            Some(&admin),
            None
        )
        .status,
        204
    );
    let pe = s
        .db()
        .read_blocking(|conn| keystone_rs::catalog::store::project_endpoint_ids(conn, &project))
        .unwrap();
    assert_eq!(pe, [c.public.clone()]);

    // Deleting the project removes the rest, endpoint-group associations included.
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/projects/{project}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    let (pe, pg) = s
        .db()
        .read_blocking(|conn| {
            Ok((
                keystone_rs::catalog::store::project_endpoint_ids(conn, &project)?,
                keystone_rs::catalog::store::endpoint_group_ids_for_project(conn, &project)?,
            ))
        })
        .unwrap();
    assert!(pe.is_empty() && pg.is_empty(), "{pe:?} {pg:?}");
    let projects = s
        .get(
            &format!("{EPF}/endpoint_groups/{group}/projects"),
            Some(&admin),
        )
        .json();
    assert_eq!(projects["projects"], json!([]));

    // Deleting a service removes its endpoints' associations.
    let other = s.make_project("epf-kept", "default", None);
    let r = call(
        &s,
        "PUT",
        &format!("{EPF}/projects/{other}/endpoints/{}", c.public),
        Some(&admin),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/services/{}", c.service),
            Some(&admin),
            None
        )
        .status,
        204
    );
    let pe = s
        .db()
        .read_blocking(|conn| keystone_rs::catalog::store::project_endpoint_ids(conn, &other))
        .unwrap();
    assert!(pe.is_empty(), "{pe:?}");
}

#[test]
fn odd_ids_and_texts_are_never_a_500() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let odd = ["%00", "a%00b", "%C3%A9", &"x".repeat(300), "%20"];
    for id in odd {
        for (method, path) in [
            ("GET", format!("{EPF}/endpoint_groups/{id}")),
            ("GET", format!("{EPF}/endpoint_groups/{id}/endpoints")),
            ("GET", format!("{EPF}/endpoint_groups/{id}/projects")),
            ("PUT", format!("{EPF}/endpoint_groups/{id}/projects/{id}")),
            ("DELETE", format!("{EPF}/projects/{id}/endpoints/{id}")),
            ("GET", format!("{EPF}/projects/{id}/endpoints")),
            ("GET", format!("{EPF}/projects/{id}/endpoint_groups")),
            ("GET", format!("{EPF}/endpoints/{id}/projects")),
            ("GET", format!("{EPF}/endpoint_groups?name={id}")),
            (
                "PUT",
                format!("/v3/policies/{id}/OS-ENDPOINT-POLICY/services/{id}/regions/{id}"),
            ),
            (
                "GET",
                format!("/v3/endpoints/{id}/OS-ENDPOINT-POLICY/policy"),
            ),
            ("GET", format!("/v3/policies?type={id}")),
        ] {
            let r = call(&s, method, &path, Some(&admin), None);
            assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.body);
        }
    }
    for name in ["a\u{0}b", "é", "\u{1f}"] {
        let r = call(
            &s,
            "POST",
            &format!("{EPF}/endpoint_groups"),
            Some(&admin),
            Some(json!({"endpoint_group": {"name": name, "description": name,
                        "filters": {"service_id": name, "region_id": name}}})),
        );
        assert!(r.status < 500, "{name:?}: {} {}", r.status, r.body);
        let r = call(
            &s,
            "POST",
            "/v3/policies",
            Some(&admin),
            Some(json!({"policy": {"blob": name, "type": name, name: name}})),
        );
        assert!(r.status < 500, "{name:?}: {} {}", r.status, r.body);
    }
}
