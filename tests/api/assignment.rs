//! Roles, implied roles, grants (project, domain, system, OS-INHERIT) and role
//! assignments over HTTP, and what they do to tokens. Every exchange is checked against
//! api-ref/openapi.yaml.

use crate::openapi;
use crate::support::{Response, TestServer};
use serde_json::{Value, json};

const PASSWORD: &str = "s3cret-pw";

/// A request whose response must match api-ref.
fn call(srv: &TestServer, method: &str, path: &str, token: &str, body: Option<&Value>) -> Response {
    let text = body.map(|b| b.to_string());
    let mut headers = vec![("X-Auth-Token", token)];
    if text.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let r = srv.request(method, path, &headers, text.as_deref().map(str::as_bytes));
    openapi::check(method, path, r.status, r.header("Content-Type"), &r.body);
    r
}

fn expect(r: &Response, status: u16) -> &Response {
    assert_eq!(r.status, status, "{}", r.body);
    r
}

fn error_message(r: &Response) -> String {
    r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn create_role(srv: &TestServer, admin: &str, body: Value) -> Value {
    let r = call(
        srv,
        "POST",
        "/v3/roles",
        admin,
        Some(&json!({ "role": body })),
    );
    expect(&r, 201).json()["role"].clone()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// A password token for a user, scoped as asked.
fn user_token(srv: &TestServer, user_id: &str, scope: Value) -> Response {
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"id": user_id, "password": PASSWORD}}},
        "scope": scope
    }});
    srv.post_json("/v3/auth/tokens", None, &body)
}

fn token_roles(r: &Response) -> Vec<String> {
    let mut names: Vec<String> = r.json()["token"]["roles"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn validate(srv: &TestServer, admin: &str, subject: &str) -> Response {
    srv.tokens("GET", "", admin, subject)
}

#[test]
fn role_crud_bodies_and_errors() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let base = &srv.base;

    let r = call(
        &srv,
        "POST",
        "/v3/roles",
        &admin,
        Some(&json!({"role": {"name": "observer", "id": "mine", "x-y": 1}})),
    );
    expect(&r, 201);
    let role = r.json()["role"].clone();
    let rid = id(&role);
    assert_ne!(rid, "mine");
    assert_eq!(
        r.body,
        format!(
            "{{\"role\": {{\"x_y\": 1, \"id\": \"{rid}\", \"name\": \"observer\", \"domain_id\": null, \"description\": null, \
             \"options\": {{}}, \"links\": {{\"self\": \"{base}/v3/roles/{rid}\"}}}}}}\n"
        )
    );
    let dup = call(
        &srv,
        "POST",
        "/v3/roles",
        &admin,
        Some(&json!({"role": {"name": "observer"}})),
    );
    assert_eq!(
        error_message(expect(&dup, 409)),
        "Conflict occurred attempting to store role - Duplicate entry found with name observer."
    );

    let dr = create_role(
        &srv,
        &admin,
        json!({"name": "observer", "domain_id": "default", "description": "d"}),
    );
    let dup = call(
        &srv,
        "POST",
        "/v3/roles",
        &admin,
        Some(&json!({"role": {"name": "observer", "domain_id": "default"}})),
    );
    assert_eq!(
        error_message(expect(&dup, 409)),
        "Conflict occurred attempting to store role - Duplicate entry found with name observer at domain ID default."
    );

    // Lists: global roles unless a domain is named; name filters.
    let all = call(&srv, "GET", "/v3/roles", &admin, None);
    let names: Vec<String> = expect(&all, 200).json()["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"observer".to_string()) && names.contains(&"admin".to_string()));
    assert!(
        all.json()["roles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["domain_id"].is_null())
    );
    let by_domain = call(&srv, "GET", "/v3/roles?domain_id=default", &admin, None);
    assert_eq!(
        expect(&by_domain, 200).json()["roles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        by_domain.json()["links"]["self"],
        format!("{base}/v3/roles?domain_id=default")
    );
    let named = call(&srv, "GET", "/v3/roles?name=observer", &admin, None);
    assert_eq!(expect(&named, 200).json()["roles"][0]["id"], rid.as_str());
    let inexact = call(&srv, "GET", "/v3/roles?name__istartswith=OBS", &admin, None);
    assert_eq!(
        expect(&inexact, 200).json()["roles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let sensitive = call(&srv, "GET", "/v3/roles?name__startswith=OBS", &admin, None);
    assert_eq!(
        expect(&sensitive, 200).json()["roles"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Show, update, immutable.
    let got = call(&srv, "GET", &format!("/v3/roles/{}", id(&dr)), &admin, None);
    assert_eq!(expect(&got, 200).json()["role"]["domain_id"], "default");
    let head = call(&srv, "HEAD", &format!("/v3/roles/{rid}"), &admin, None);
    expect(&head, 200);
    let patched = call(
        &srv,
        "PATCH",
        &format!("/v3/roles/{rid}"),
        &admin,
        Some(&json!({"role": {"description": "reads", "extra": true}})),
    );
    let role = expect(&patched, 200).json()["role"].clone();
    assert_eq!(
        (
            role["description"].clone(),
            role["extra"].clone(),
            role["x_y"].clone()
        ),
        (json!("reads"), json!(true), json!(1))
    );
    let moved = call(
        &srv,
        "PATCH",
        &format!("/v3/roles/{rid}"),
        &admin,
        Some(&json!({"role": {"domain_id": "default"}})),
    );
    assert_eq!(
        error_message(expect(&moved, 400)),
        "Update of `domain_id` is not allowed."
    );
    let other_id = call(
        &srv,
        "PATCH",
        &format!("/v3/roles/{rid}"),
        &admin,
        Some(&json!({"role": {"id": "x"}})),
    );
    assert_eq!(error_message(expect(&other_id, 400)), "Cannot change ID");
    let locked = call(
        &srv,
        "PATCH",
        &format!("/v3/roles/{rid}"),
        &admin,
        Some(&json!({"role": {"options": {"immutable": true}}})),
    );
    assert_eq!(
        expect(&locked, 200).json()["role"]["options"],
        json!({"immutable": true})
    );
    let refused = call(&srv, "DELETE", &format!("/v3/roles/{rid}"), &admin, None);
    assert_eq!(
        error_message(expect(&refused, 403)),
        format!(
            "Unable to delete immutable role resource: `{rid}. Set resource option \"immutable\" to false first."
        )
    );
    let refused = call(
        &srv,
        "PATCH",
        &format!("/v3/roles/{rid}"),
        &admin,
        Some(&json!({"role": {"name": "x"}})),
    );
    expect(&refused, 403);
    let unlocked = call(
        &srv,
        "PATCH",
        &format!("/v3/roles/{rid}"),
        &admin,
        Some(&json!({"role": {"options": {"immutable": false}}})),
    );
    assert_eq!(
        expect(&unlocked, 200).json()["role"]["options"],
        json!({"immutable": false})
    );
    let cleared = call(
        &srv,
        "PATCH",
        &format!("/v3/roles/{rid}"),
        &admin,
        Some(&json!({"role": {"options": {"immutable": null}}})),
    );
    assert_eq!(expect(&cleared, 200).json()["role"]["options"], json!({}));
    let renamed = call(
        &srv,
        "PATCH",
        &format!("/v3/roles/{rid}"),
        &admin,
        Some(&json!({"role": {"name": "admin"}})),
    );
    expect(&renamed, 409);
    expect(
        &call(&srv, "DELETE", &format!("/v3/roles/{rid}"), &admin, None),
        204,
    );
    let gone = call(&srv, "GET", &format!("/v3/roles/{rid}"), &admin, None);
    assert_eq!(
        error_message(expect(&gone, 404)),
        format!("Could not find role: {rid}.")
    );
    expect(
        &call(&srv, "DELETE", &format!("/v3/roles/{rid}"), &admin, None),
        404,
    );
    expect(
        &call(
            &srv,
            "PATCH",
            "/v3/roles/nope",
            &admin,
            Some(&json!({"role": {"name": "q"}})),
        ),
        404,
    );

    // Bootstrap's roles are immutable.
    let admin_role =
        call(&srv, "GET", "/v3/roles?name=admin", &admin, None).json()["roles"][0].clone();
    assert_eq!(admin_role["options"], json!({"immutable": true}));
    expect(
        &call(
            &srv,
            "DELETE",
            &format!("/v3/roles/{}", id(&admin_role)),
            &admin,
            None,
        ),
        403,
    );
}

#[test]
fn role_bad_input_is_400_with_keystones_messages() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let cases = [
        (json!({}), "'role' is a required property"),
        (
            json!({"role": {}}),
            "Invalid input for field/attribute role. Value: {}. 'name' is a required property",
        ),
        (
            json!({"role": {"name": ""}}),
            "Invalid input for field/attribute name. Value: . '' should be non-empty",
        ),
        (
            json!({"role": {"name": 1}}),
            "Invalid input for field/attribute name. Value: 1. 1 is not of type 'string'",
        ),
        (
            json!({"role": {"name": "r", "options": {"immutable": "yes"}}}),
            "Invalid input for field/attribute immutable. Value: yes. 'yes' is not of type 'boolean', 'null'",
        ),
        (
            json!({"role": {"name": "r"}, "extra": 1}),
            "Additional properties are not allowed ('extra' was unexpected)",
        ),
    ];
    for (body, message) in cases {
        let r = call(&srv, "POST", "/v3/roles", &admin, Some(&body));
        assert_eq!(error_message(expect(&r, 400)), message);
    }
    let r = srv.request(
        "POST",
        "/v3/roles",
        &[
            ("X-Auth-Token", &admin),
            ("Content-Type", "application/json"),
        ],
        Some(b"[1]"),
    );
    expect(&r, 400);
    let r = call(&srv, "GET", "/v3/roles?domain_id=a_b", &admin, None);
    assert_eq!(
        error_message(expect(&r, 400)),
        "Invalid input for field/attribute domain_id. Value: a_b. 'a_b' does not match '^[a-zA-Z0-9-]+$'"
    );
    expect(&call(&srv, "GET", "/v3/roles?limit=x", &admin, None), 400);
    // Schema checks come before authentication, as in Keystone.
    let r = srv.post_json("/v3/roles", None, &json!({}));
    expect(&r, 400);
    let r = srv.post_json("/v3/roles", None, &json!({"role": {"name": "x"}}));
    expect(&r, 401);
}

#[test]
fn role_list_limit_and_truncation() {
    let srv = TestServer::start_with("[role]\nlist_limit = 2\n");
    let admin = srv.admin_token();
    let r = call(&srv, "GET", "/v3/roles", &admin, None);
    let body = expect(&r, 200).json();
    assert_eq!(body["roles"].as_array().unwrap().len(), 2);
    assert_eq!(body["truncated"], true);
    let last = body["roles"][1]["id"].as_str().unwrap();
    assert_eq!(
        body["links"]["next"],
        format!("{}/v3/roles?marker={last}&limit=2", srv.base)
    );
    let r = call(&srv, "GET", "/v3/roles?limit=100", &admin, None);
    assert!(expect(&r, 200).json().get("truncated").is_none());
}

#[test]
fn implied_roles_bodies_and_errors() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let base = &srv.base;
    let a = id(&create_role(&srv, &admin, json!({"name": "ra"})));
    let b = id(&create_role(&srv, &admin, json!({"name": "rb"})));
    let d = id(&create_role(
        &srv,
        &admin,
        json!({"name": "rd", "domain_id": "default"}),
    ));

    let r = call(
        &srv,
        "PUT",
        &format!("/v3/roles/{a}/implies/{b}"),
        &admin,
        None,
    );
    assert_eq!(
        expect(&r, 201).body,
        format!(
            "{{\"role_inference\": {{\"prior_role\": {{\"id\": \"{a}\", \"links\": {{\"self\": \"{base}/v3/roles/{a}\"}}, \"name\": \"ra\"}}, \
             \"implies\": {{\"id\": \"{b}\", \"links\": {{\"self\": \"{base}/v3/roles/{b}\"}}, \"name\": \"rb\"}}}}, \
             \"links\": {{\"self\": \"{base}/v3/roles/{a}/implies/{b}\"}}}}\n"
        )
    );
    let r = call(
        &srv,
        "PUT",
        &format!("/v3/roles/{a}/implies/{b}"),
        &admin,
        None,
    );
    assert_eq!(
        error_message(expect(&r, 409)),
        "Conflict occurred attempting to store implied_role - Duplicate entry."
    );
    expect(
        &call(
            &srv,
            "GET",
            &format!("/v3/roles/{a}/implies/{b}"),
            &admin,
            None,
        ),
        200,
    );
    expect(
        &call(
            &srv,
            "HEAD",
            &format!("/v3/roles/{a}/implies/{b}"),
            &admin,
            None,
        ),
        204,
    );
    let list = call(&srv, "GET", &format!("/v3/roles/{a}/implies"), &admin, None);
    let list = expect(&list, 200).json();
    assert_eq!(list["role_inference"]["implies"][0]["id"], b.as_str());
    assert_eq!(
        list["links"]["self"],
        format!("{base}/v3/roles/{a}/implies")
    );
    let inferences = call(&srv, "GET", "/v3/role_inferences", &admin, None);
    let inferences = expect(&inferences, 200).json();
    assert!(inferences.get("links").is_none());
    let ours: Vec<&Value> = inferences["role_inferences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["prior_role"]["id"] == a.as_str())
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["implies"][0]["name"], "rb");
    // Bootstrap's chain admin → manager → member → reader is there too.
    assert!(
        inferences["role_inferences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["prior_role"]["name"] == "admin")
    );

    let r = call(
        &srv,
        "GET",
        &format!("/v3/roles/{b}/implies/{a}"),
        &admin,
        None,
    );
    assert_eq!(
        error_message(expect(&r, 404)),
        format!("{b} does not imply {a}.")
    );
    let admin_role =
        id(&call(&srv, "GET", "/v3/roles?name=admin", &admin, None).json()["roles"][0]);
    let r = call(
        &srv,
        "PUT",
        &format!("/v3/roles/{a}/implies/{admin_role}"),
        &admin,
        None,
    );
    assert_eq!(
        error_message(expect(&r, 403)),
        format!("{admin_role} cannot be an implied roles.")
    );
    let r = call(
        &srv,
        "PUT",
        &format!("/v3/roles/{a}/implies/{d}"),
        &admin,
        None,
    );
    assert_eq!(
        error_message(expect(&r, 403)),
        format!("{d} cannot be an implied roles.")
    );
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/roles/{d}/implies/{a}"),
            &admin,
            None,
        ),
        201,
    );
    let r = call(
        &srv,
        "PUT",
        &format!("/v3/roles/nope/implies/{a}"),
        &admin,
        None,
    );
    assert_eq!(error_message(expect(&r, 404)), "Could not find role: nope.");
    expect(
        &call(&srv, "GET", "/v3/roles/nope/implies", &admin, None),
        404,
    );

    expect(
        &call(
            &srv,
            "DELETE",
            &format!("/v3/roles/{a}/implies/{b}"),
            &admin,
            None,
        ),
        204,
    );
    expect(
        &call(
            &srv,
            "DELETE",
            &format!("/v3/roles/{a}/implies/{b}"),
            &admin,
            None,
        ),
        404,
    );
    // Deleting a role removes the implications it takes part in.
    expect(
        &call(&srv, "DELETE", &format!("/v3/roles/{d}"), &admin, None),
        204,
    );
    let inferences = call(&srv, "GET", "/v3/role_inferences", &admin, None).json();
    assert!(!inferences.to_string().contains(&d));
}

/// Domain D with P1 ⊃ P2; u1 and u2 in group g1; roles a → b → c.
struct Fixture {
    domain: String,
    p1: String,
    p2: String,
    u1: String,
    u2: String,
    g1: String,
    a: String,
    b: String,
    c: String,
}

fn fixture(srv: &TestServer, admin: &str) -> Fixture {
    let domain = srv.make_domain("dom");
    let p1 = srv.make_project("p1", &domain, None);
    let p2 = srv.make_project("p2", &domain, Some(&p1));
    let u1 = srv.make_user("u1", &domain, PASSWORD);
    let u2 = srv.make_user("u2", &domain, PASSWORD);
    let g1 = srv.make_group("g1", &domain, &[&u1, &u2]);
    let a = id(&create_role(srv, admin, json!({"name": "a"})));
    let b = id(&create_role(srv, admin, json!({"name": "b"})));
    let c = id(&create_role(srv, admin, json!({"name": "c"})));
    expect(
        &call(
            srv,
            "PUT",
            &format!("/v3/roles/{a}/implies/{b}"),
            admin,
            None,
        ),
        201,
    );
    expect(
        &call(
            srv,
            "PUT",
            &format!("/v3/roles/{b}/implies/{c}"),
            admin,
            None,
        ),
        201,
    );
    Fixture {
        domain,
        p1,
        p2,
        u1,
        u2,
        g1,
        a,
        b,
        c,
    }
}

fn project_scope(p: &str) -> Value {
    json!({"project": {"id": p}})
}

#[test]
fn grants_put_check_list_delete_on_every_route() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let f = fixture(&srv, &admin);
    let routes = [
        format!("/v3/projects/{}/users/{}/roles", f.p1, f.u1),
        format!("/v3/projects/{}/groups/{}/roles", f.p1, f.g1),
        format!("/v3/domains/{}/users/{}/roles", f.domain, f.u1),
        format!("/v3/domains/{}/groups/{}/roles", f.domain, f.g1),
        format!("/v3/system/users/{}/roles", f.u1),
        format!("/v3/system/groups/{}/roles", f.g1),
    ];
    for list in &routes {
        let one = format!("{list}/{}", f.a);
        let missing = call(&srv, "GET", &one, &admin, None);
        assert!(error_message(expect(&missing, 404)).starts_with(&format!(
            "Could not find role assignment with role: {}",
            f.a
        )));
        expect(&call(&srv, "PUT", &one, &admin, None), 204);
        expect(&call(&srv, "PUT", &one, &admin, None), 204);
        expect(&call(&srv, "GET", &one, &admin, None), 204);
        expect(&call(&srv, "HEAD", &one, &admin, None), 204);
        let listed = call(&srv, "GET", list, &admin, None);
        let listed = expect(&listed, 200).json();
        assert_eq!(listed["roles"].as_array().unwrap().len(), 1, "{list}");
        assert_eq!(listed["roles"][0]["name"], "a");
        assert_eq!(listed["links"]["self"], format!("{}{list}", srv.base));
        expect(&call(&srv, "HEAD", list, &admin, None), 200);
        expect(&call(&srv, "DELETE", &one, &admin, None), 204);
        expect(&call(&srv, "DELETE", &one, &admin, None), 404);
    }
    let inherit = [
        (
            format!("/v3/OS-INHERIT/domains/{}/users/{}/roles", f.domain, f.u1),
            true,
        ),
        (
            format!("/v3/OS-INHERIT/domains/{}/groups/{}/roles", f.domain, f.g1),
            true,
        ),
        (
            format!("/v3/OS-INHERIT/projects/{}/users/{}/roles", f.p1, f.u1),
            false,
        ),
        (
            format!("/v3/OS-INHERIT/projects/{}/groups/{}/roles", f.p1, f.g1),
            false,
        ),
    ];
    for (prefix, listable) in &inherit {
        let one = format!("{prefix}/{}/inherited_to_projects", f.b);
        expect(&call(&srv, "GET", &one, &admin, None), 404);
        expect(&call(&srv, "PUT", &one, &admin, None), 204);
        expect(&call(&srv, "HEAD", &one, &admin, None), 204);
        if *listable {
            let listed = call(
                &srv,
                "GET",
                &format!("{prefix}/inherited_to_projects"),
                &admin,
                None,
            );
            assert_eq!(expect(&listed, 200).json()["roles"][0]["name"], "b");
        }
        // The inherited grant is not a direct one.
        let direct = prefix.replace("/v3/OS-INHERIT", "/v3");
        expect(
            &call(&srv, "GET", &format!("{direct}/{}", f.b), &admin, None),
            404,
        );
        expect(&call(&srv, "DELETE", &one, &admin, None), 204);
    }
}

#[test]
fn grants_on_missing_entities_are_keystones_404s() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let f = fixture(&srv, &admin);
    let (p, u, g, a, d) = (&f.p1, &f.u1, &f.g1, &f.a, &f.domain);
    let cases = [
        (
            "PUT",
            format!("/v3/projects/{p}/users/nouser/roles/{a}"),
            "Could not find user: nouser.",
        ),
        (
            "PUT",
            format!("/v3/projects/noproj/users/{u}/roles/{a}"),
            "Could not find project: noproj.",
        ),
        (
            "PUT",
            format!("/v3/projects/{p}/users/{u}/roles/norole"),
            "Could not find role: norole.",
        ),
        (
            "PUT",
            "/v3/projects/noproj/users/nouser/roles/norole".to_string(),
            "Could not find role: norole.",
        ),
        (
            "PUT",
            format!("/v3/projects/{p}/groups/nogroup/roles/{a}"),
            "Could not find group: nogroup.",
        ),
        (
            "PUT",
            format!("/v3/domains/nodom/users/{u}/roles/norole"),
            "Could not find domain: nodom.",
        ),
        (
            "PUT",
            format!("/v3/domains/{p}/users/{u}/roles/{a}"),
            &format!("Could not find domain: {p}."),
        ),
        (
            "GET",
            format!("/v3/projects/{p}/users/nouser/roles"),
            "Could not find user: nouser.",
        ),
        (
            "DELETE",
            format!("/v3/projects/{p}/users/nouser/roles/{a}"),
            &format!(
                "Could not find role assignment with role: {a}, user or group: nouser, project, domain, or system: {p}."
            ),
        ),
        (
            "DELETE",
            format!("/v3/domains/{d}/groups/nogroup/roles/{a}"),
            &format!(
                "Could not find role assignment with role: {a}, user or group: nogroup, project, domain, or system: {d}."
            ),
        ),
        (
            "PUT",
            format!("/v3/OS-INHERIT/domains/nodom/users/{u}/roles/{a}/inherited_to_projects"),
            "Could not find domain: nodom.",
        ),
        (
            "PUT",
            format!("/v3/OS-INHERIT/projects/{p}/users/{u}/roles/norole/inherited_to_projects"),
            "Could not find role: norole.",
        ),
        (
            "PUT",
            format!("/v3/system/users/nouser/roles/{a}"),
            "Could not find user: nouser.",
        ),
        (
            "PUT",
            format!("/v3/system/groups/{g}/roles/norole"),
            "Could not find role: norole.",
        ),
        (
            "DELETE",
            format!("/v3/system/users/nouser/roles/{a}"),
            &format!(
                "Could not find role assignment with role: {a}, user or group: nouser, project, domain, or system: system."
            ),
        ),
    ];
    for (method, path, message) in cases {
        let r = call(&srv, method, &path, &admin, None);
        assert_eq!(error_message(expect(&r, 404)), message, "{method} {path}");
    }
    // OS-INHERIT routes do not look the actor up (Keystone stores the grant anyway).
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/OS-INHERIT/domains/{d}/users/ghost/roles/{a}/inherited_to_projects"),
            &admin,
            None,
        ),
        204,
    );
    // A domain-specific role: only on projects of its domain, never on the system.
    let dr = id(&create_role(
        &srv,
        &admin,
        json!({"name": "local", "domain_id": "default"}),
    ));
    let r = call(
        &srv,
        "PUT",
        &format!("/v3/projects/{p}/users/{u}/roles/{dr}"),
        &admin,
        None,
    );
    assert_eq!(
        error_message(expect(&r, 403)),
        format!("Project {p} must be in the same domain as the role {dr} being assigned.")
    );
    let r = call(
        &srv,
        "PUT",
        &format!("/v3/system/users/{u}/roles/{dr}"),
        &admin,
        None,
    );
    assert_eq!(
        error_message(expect(&r, 400)),
        format!(
            "Role {dr} is a domain-specific role. Unable to use a domain-specific role in a system assignment."
        )
    );
    // Without a token: 401 before any lookup.
    let r = srv.request(
        "PUT",
        &format!("/v3/projects/{p}/users/{u}/roles/{a}"),
        &[],
        None,
    );
    expect(&r, 401);
}

#[test]
fn implied_inherited_and_group_roles_reach_tokens() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let f = fixture(&srv, &admin);

    // u1: a on P1 directly → a, b, c (implications).
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/projects/{}/users/{}/roles/{}", f.p1, f.u1, f.a),
            &admin,
            None,
        ),
        204,
    );
    let t = user_token(&srv, &f.u1, project_scope(&f.p1));
    assert_eq!(token_roles(expect(&t, 201)), vec!["a", "b", "c"]);
    // Not on the child: direct grants do not inherit.
    expect(&user_token(&srv, &f.u1, project_scope(&f.p2)), 401);

    // g1: c inherited from P1 → members get c on P2 but not on P1 itself.
    let inherit = format!(
        "/v3/OS-INHERIT/projects/{}/groups/{}/roles/{}/inherited_to_projects",
        f.p1, f.g1, f.c
    );
    expect(&call(&srv, "PUT", &inherit, &admin, None), 204);
    let t = user_token(&srv, &f.u2, project_scope(&f.p2));
    assert_eq!(token_roles(expect(&t, 201)), vec!["c"]);
    expect(&user_token(&srv, &f.u2, project_scope(&f.p1)), 401);

    // Domain-inherited b for u2 → P1 and P2 get b (and c), the domain token does not.
    let dom_inherit = format!(
        "/v3/OS-INHERIT/domains/{}/users/{}/roles/{}/inherited_to_projects",
        f.domain, f.u2, f.b
    );
    expect(&call(&srv, "PUT", &dom_inherit, &admin, None), 204);
    assert_eq!(
        token_roles(&user_token(&srv, &f.u2, project_scope(&f.p1))),
        vec!["b", "c"]
    );
    expect(
        &user_token(&srv, &f.u2, json!({"domain": {"id": f.domain}})),
        401,
    );

    // A group grant on the domain reaches the domain token.
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/domains/{}/groups/{}/roles/{}", f.domain, f.g1, f.b),
            &admin,
            None,
        ),
        204,
    );
    let t = user_token(&srv, &f.u1, json!({"domain": {"id": f.domain}}));
    assert_eq!(token_roles(expect(&t, 201)), vec!["b", "c"]);

    // A domain-specific role only implies: it never shows in a token.
    let dr = id(&create_role(
        &srv,
        &admin,
        json!({"name": "dr", "domain_id": f.domain}),
    ));
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/roles/{dr}/implies/{}", f.a),
            &admin,
            None,
        ),
        201,
    );
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/projects/{}/users/{}/roles/{dr}", f.p2, f.u1),
            &admin,
            None,
        ),
        204,
    );
    assert_eq!(
        token_roles(&user_token(&srv, &f.u1, project_scope(&f.p2))),
        vec!["a", "b", "c"]
    );

    // System grants and their implications.
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/system/groups/{}/roles/{}", f.g1, f.b),
            &admin,
            None,
        ),
        204,
    );
    let t = user_token(&srv, &f.u2, json!({"system": {"all": true}}));
    assert_eq!(token_roles(expect(&t, 201)), vec!["b", "c"]);
}

#[test]
fn removing_grants_and_roles_changes_existing_tokens() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let f = fixture(&srv, &admin);
    let direct_c = format!("/v3/projects/{}/users/{}/roles/{}", f.p1, f.u1, f.c);
    let group_b = format!("/v3/projects/{}/groups/{}/roles/{}", f.p1, f.g1, f.b);
    expect(&call(&srv, "PUT", &direct_c, &admin, None), 204);
    expect(&call(&srv, "PUT", &group_b, &admin, None), 204);
    let token = user_token(&srv, &f.u1, project_scope(&f.p1)).subject_token();
    assert_eq!(
        token_roles(expect(&validate(&srv, &admin, &token), 200)),
        vec!["b", "c"]
    );

    // The group grant goes: the token keeps c (direct), loses b.
    expect(&call(&srv, "DELETE", &group_b, &admin, None), 204);
    assert_eq!(
        token_roles(expect(&validate(&srv, &admin, &token), 200)),
        vec!["c"]
    );
    // The last grant goes: the token no longer validates.
    expect(&call(&srv, "DELETE", &direct_c, &admin, None), 204);
    expect(&validate(&srv, &admin, &token), 404);

    // Deleting a role removes its assignments: a token that relied on it dies.
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/projects/{}/users/{}/roles/{}", f.p1, f.u2, f.a),
            &admin,
            None,
        ),
        204,
    );
    let token = user_token(&srv, &f.u2, project_scope(&f.p1)).subject_token();
    expect(&validate(&srv, &admin, &token), 200);
    expect(
        &call(&srv, "DELETE", &format!("/v3/roles/{}", f.a), &admin, None),
        204,
    );
    expect(&validate(&srv, &admin, &token), 404);
    let left = call(
        &srv,
        "GET",
        &format!("/v3/role_assignments?role.id={}", f.a),
        &admin,
        None,
    );
    assert_eq!(expect(&left, 200).json()["role_assignments"], json!([]));
}

fn assignment_summary(v: &Value) -> Vec<String> {
    v["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let who = a["user"]["id"]
                .as_str()
                .or(a["group"]["id"].as_str())
                .unwrap_or_default();
            let scope = &a["scope"];
            let target = scope["project"]["id"]
                .as_str()
                .or(scope["domain"]["id"].as_str())
                .unwrap_or("system");
            let inherited = if scope.get("OS-INHERIT:inherited_to").is_some() {
                "+inh"
            } else {
                ""
            };
            format!(
                "{who}@{target}:{}{inherited}",
                a["role"]["id"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn role_assignments_filters_effective_and_names() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let f = fixture(&srv, &admin);
    let base = &srv.base;
    let (u1, g1, p1, p2, d) = (&f.u1, &f.g1, &f.p1, &f.p2, &f.domain);
    let (a, b, c) = (&f.a, &f.b, &f.c);
    for path in [
        format!("/v3/projects/{p1}/users/{u1}/roles/{a}"),
        format!("/v3/domains/{d}/groups/{g1}/roles/{c}"),
        format!("/v3/OS-INHERIT/domains/{d}/users/{u1}/roles/{b}/inherited_to_projects"),
        format!("/v3/OS-INHERIT/projects/{p1}/groups/{g1}/roles/{a}/inherited_to_projects"),
        format!("/v3/system/users/{u1}/roles/{c}"),
    ] {
        expect(&call(&srv, "PUT", &path, &admin, None), 204);
    }
    let get = |q: &str| {
        let r = call(
            &srv,
            "GET",
            &format!("/v3/role_assignments?{q}"),
            &admin,
            None,
        );
        expect(&r, 200).json()
    };

    let direct = get(&format!("user.id={u1}"));
    let mut summary = assignment_summary(&direct);
    summary.sort();
    let mut expected = vec![
        format!("{u1}@{d}:{b}+inh"),
        format!("{u1}@{p1}:{a}"),
        format!("{u1}@system:{c}"),
    ];
    expected.sort();
    assert_eq!(summary, expected);
    let system_entry = direct["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["scope"].get("system").is_some())
        .unwrap();
    assert_eq!(
        system_entry.to_string(),
        json!({"links": {"assignment": format!("{base}/v3/system/users/{u1}/roles/{c}")},
               "scope": {"system": {"all": true}}, "user": {"id": u1}, "role": {"id": c}})
        .to_string()
    );
    assert_eq!(
        direct["links"]["self"],
        format!("{base}/v3/role_assignments?user.id={u1}")
    );

    let mut groups = assignment_summary(&get(&format!("group.id={g1}")));
    groups.sort();
    let mut expected = vec![format!("{g1}@{d}:{c}"), format!("{g1}@{p1}:{a}+inh")];
    expected.sort();
    assert_eq!(groups, expected);
    assert_eq!(
        assignment_summary(&get(&format!("scope.system=all&role.id={c}"))),
        vec![format!("{u1}@system:{c}")]
    );
    let inherited = assignment_summary(&get("scope.OS-INHERIT:inherited_to=projects"));
    assert!(
        inherited.contains(&format!("{u1}@{d}:{b}+inh"))
            && inherited.contains(&format!("{g1}@{p1}:{a}+inh"))
    );
    assert_eq!(
        assignment_summary(&get(&format!("scope.project.id={p2}"))),
        Vec::<String>::new()
    );

    // Effective: groups expanded to users, inheritance pushed down, implied roles added with
    // their prior role; the system grant is not part of it.
    let effective = get(&format!("user.id={u1}&effective"));
    let mut summary = assignment_summary(&effective);
    summary.sort();
    let mut expected = vec![
        format!("{u1}@{p1}:{a}"),
        format!("{u1}@{p1}:{b}"),
        format!("{u1}@{p1}:{b}+inh"),
        format!("{u1}@{p1}:{c}"),
        format!("{u1}@{p1}:{c}+inh"),
        format!("{u1}@{p2}:{a}+inh"),
        format!("{u1}@{p2}:{b}+inh"),
        format!("{u1}@{p2}:{b}+inh"),
        format!("{u1}@{p2}:{c}+inh"),
        format!("{u1}@{p2}:{c}+inh"),
        format!("{u1}@{d}:{c}"),
    ];
    expected.sort();
    assert_eq!(summary, expected);
    let implied = effective["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["role"]["id"] == b.as_str() && e["links"].get("membership").is_some())
        .unwrap();
    assert_eq!(
        implied["links"],
        json!({
            "membership": format!("{base}/v3/groups/{g1}/users/{u1}"),
            "assignment": format!("{base}/v3/OS-INHERIT/projects/{p1}/groups/{g1}/roles/{a}/inherited_to_projects"),
            "prior_role": format!("{base}/v3/prior_role/{b}/implies/{a}")
        })
    );
    // Tokens and the effective listing agree.
    let on_p2: Vec<String> = {
        let mut ids: Vec<String> =
            get(&format!("user.id={u1}&effective&scope.project.id={p2}"))["role_assignments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["role"]["id"].as_str().unwrap().to_string())
                .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let t = user_token(&srv, u1, project_scope(p2));
    let mut token_ids: Vec<String> = t.json()["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    token_ids.sort();
    assert_eq!(on_p2, token_ids);

    // include_names
    let named = get(&format!("group.id={g1}&include_names"));
    let entry = named["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["scope"].get("domain").is_some())
        .unwrap();
    assert_eq!(
        entry.to_string(),
        json!({
            "links": {"assignment": format!("{base}/v3/domains/{d}/groups/{g1}/roles/{c}")},
            "scope": {"domain": {"id": d, "name": "dom"}},
            "group": {"id": g1, "name": "g1", "domain": {"id": d, "name": "dom"}},
            "role": {"id": c, "name": "c"}
        })
        .to_string()
    );
    let named = get(&format!(
        "user.id={u1}&scope.project.id={p1}&include_names=1"
    ));
    assert_eq!(
        named["role_assignments"][0]["scope"]["project"],
        json!({"id": p1, "name": "p1", "domain": {"id": d, "name": "dom"}})
    );
    assert_eq!(named["role_assignments"][0]["user"]["name"], "u1");
    let unnamed = get(&format!(
        "user.id={u1}&scope.project.id={p1}&include_names=0"
    ));
    assert!(unnamed["role_assignments"][0]["user"].get("name").is_none());

    // include_subtree: assignments on P1 and below.
    let mut subtree = assignment_summary(&get(&format!("scope.project.id={p1}&include_subtree")));
    subtree.sort();
    let mut expected = vec![format!("{u1}@{p1}:{a}"), format!("{g1}@{p1}:{a}+inh")];
    expected.sort();
    assert_eq!(subtree, expected);
    let r = call(
        &srv,
        "GET",
        "/v3/role_assignments?scope.project.id=nope&include_subtree",
        &admin,
        None,
    );
    expect(&r, 404);
}

#[test]
fn role_assignments_bad_filter_combinations_are_400() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let cases = [
        (
            "user.id=u&group.id=g",
            "ImmutableMultiDict([('user.id', 'u'), ('group.id', 'g')]) is valid under each of {'required': ['group.id']}, {'required': ['user.id']}",
        ),
        (
            "scope.project.id=p&scope.domain.id=d",
            "Specify a domain or project, not both",
        ),
        (
            "scope.project.id=p&scope.system=all",
            "Specify system or project, not both",
        ),
        (
            "scope.domain.id=d&scope.system=all",
            "Specify system or domain, not both",
        ),
        (
            "group.id=g&effective",
            "Combining effective and group filter will always result in an empty list.",
        ),
        (
            "effective&scope.domain.id=d&scope.OS-INHERIT:inherited_to=projects",
            "Combining effective, domain and inherited filters will always result in an empty list.",
        ),
        (
            "include_subtree",
            "'scope.project.id' is a dependency of 'include_subtree'",
        ),
        (
            "scope.project.id=a_b",
            "Invalid input for field/attribute scope.project.id. Value: a_b. 'a_b' does not match '^[a-zA-Z0-9-]+$'",
        ),
        (
            "role.id=",
            "Invalid input for field/attribute role.id. Value: . '' should be non-empty",
        ),
    ];
    for (q, message) in cases {
        let r = call(
            &srv,
            "GET",
            &format!("/v3/role_assignments?{q}"),
            &admin,
            None,
        );
        assert_eq!(error_message(expect(&r, 400)), message, "{q}");
    }
    let r = call(
        &srv,
        "GET",
        "/v3/role_assignments?user.id=nope&effective",
        &admin,
        None,
    );
    assert_eq!(error_message(expect(&r, 404)), "Could not find user: nope.");
    expect(
        &call(&srv, "HEAD", "/v3/role_assignments", &admin, None),
        200,
    );
}

#[test]
fn non_admins_are_refused_and_domain_admins_see_their_domain() {
    let srv = TestServer::start();
    let admin = srv.admin_token();
    let f = fixture(&srv, &admin);
    let member = id(&call(&srv, "GET", "/v3/roles?name=member", &admin, None).json()["roles"][0]);
    let admin_role =
        id(&call(&srv, "GET", "/v3/roles?name=admin", &admin, None).json()["roles"][0]);
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/projects/{}/users/{}/roles/{member}", f.p1, f.u1),
            &admin,
            None,
        ),
        204,
    );
    let user = user_token(&srv, &f.u1, project_scope(&f.p1)).subject_token();
    for (method, path) in [
        ("POST", "/v3/roles".to_string()),
        ("GET", "/v3/role_assignments".to_string()),
        (
            "PUT",
            format!("/v3/projects/{}/users/{}/roles/{}", f.p1, f.u1, f.a),
        ),
        ("PUT", format!("/v3/roles/{}/implies/{}", f.c, f.a)),
    ] {
        let body = (method == "POST").then(|| json!({"role": {"name": "x"}}));
        let r = call(&srv, method, &path, &user, body.as_ref());
        expect(&r, 403);
    }
    // A missing role is 404 for anyone authenticated (the lookup comes first).
    expect(&call(&srv, "GET", "/v3/roles/nope", &user, None), 404);

    // A domain admin lists the assignments of its own domain only.
    expect(
        &call(
            &srv,
            "PUT",
            &format!("/v3/domains/{}/users/{}/roles/{admin_role}", f.domain, f.u2),
            &admin,
            None,
        ),
        204,
    );
    let domain_admin = user_token(&srv, &f.u2, json!({"domain": {"id": f.domain}})).subject_token();
    let r = call(&srv, "GET", "/v3/role_assignments", &domain_admin, None);
    let body = expect(&r, 200).json();
    let seen = assignment_summary(&body);
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|s| s.contains(&f.domain) || s.contains(&f.p1) || s.contains(&f.p2)),
        "{seen:?}"
    );
}
