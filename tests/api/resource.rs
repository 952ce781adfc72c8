//! Domains, projects and project tags over HTTP: bodies in Keystone's key order, the
//! hierarchy rules, filters and paging, tags, every bad input's 4xx, policy targets, and
//! what disabling or deleting does to tokens (the expected texts were read from a running
//! Keystone 30).

use crate::support::{ADMIN_PASSWORD, Response, TestServer};
use keystone_rs::assignment::store as roles;
use keystone_rs::identity::{NewUser, password, store as users};
use serde_json::{Value, json};

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

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|m| m["name"].as_str().expect("name").to_string())
        .collect()
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

fn create(s: &TestServer, token: &str, kind: &str, body: Value) -> Value {
    let r = call(
        s,
        "POST",
        &format!("/v3/{kind}s"),
        Some(token),
        Some(json!({ kind: body })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()[kind].clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn patch(s: &TestServer, token: &str, path: &str, body: Value) -> Response {
    call(s, "PATCH", path, Some(token), Some(body))
}

/// A local user with a password and grants (`(kind, target, role name)`), straight in the
/// database: the user API is not this file's subject.
fn make_user(
    s: &TestServer,
    domain_id: &str,
    name: &str,
    grants: &[(roles::AssignmentType, &str, &str)],
) -> String {
    let hash = password::hash_password("pass-word", &s.config.identity).expect("hash");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (id2, domain_id, name) = (id.clone(), domain_id.to_string(), name.to_string());
    let grants: Vec<(roles::AssignmentType, String, String)> = grants
        .iter()
        .map(|(k, t, r)| (*k, t.to_string(), r.to_string()))
        .collect();
    s.db()
        .write_blocking(move |conn| {
            users::create_local(
                conn,
                &NewUser {
                    id: id2.clone(),
                    domain_id,
                    name,
                    enabled: true,
                    default_project_id: None,
                    extra: Default::default(),
                    password_hash: Some(hash),
                },
            )?;
            for (kind, target, role_name) in grants {
                let role = roles::find_global_role_by_name(conn, &role_name)?.expect("role");
                roles::grant(conn, kind, &id2, &target, &role.id, false)?;
            }
            Ok(())
        })
        .expect("user");
    id
}

fn token_for(s: &TestServer, user_id: &str, scope: Value) -> String {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user_id, "password": "pass-word"}}}, "scope": scope}});
    let r = s.post_json("/v3/auth/tokens", None, &body);
    assert_eq!(r.status, 201, "{}", r.body);
    r.subject_token()
}

fn admin_project_id(s: &TestServer, token: &str) -> String {
    let r = s.get("/v3/projects?name=admin", Some(token));
    assert_eq!(r.status, 200, "{}", r.body);
    id_of(&r.json()["projects"][0])
}

#[test]
fn domain_crud_in_keystone_shape() {
    let s = TestServer::start();
    let t = s.admin_token();
    let r = call(
        &s,
        "POST",
        "/v3/domains",
        Some(&t),
        Some(
            json!({"domain": {"name": "d1", "description": "x", "foo-bar": 1, "tags": ["b", "a"],
            "options": {"immutable": false}}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let d = r.json()["domain"].clone();
    let id = id_of(&d);
    assert_eq!(id.len(), 32);
    assert_eq!(
        r.body,
        format!(
            "{{\"domain\": {{\"foo_bar\": 1, \"id\": \"{id}\", \"name\": \"d1\", \"description\": \"x\", \"enabled\": true, \"tags\": [\"b\", \"a\"], \"options\": {{\"immutable\": false}}, \"links\": {{\"self\": \"{}/v3/domains/{id}\"}}}}}}\n",
            s.base
        )
    );
    // Read back: tags in stored (name) order.
    let r = s.get(&format!("/v3/domains/{id}"), Some(&t));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["domain"]["tags"], json!(["a", "b"]));
    assert_eq!(
        keys(&r.json()["domain"]),
        [
            "foo_bar",
            "id",
            "name",
            "description",
            "enabled",
            "tags",
            "options",
            "links"
        ]
    );

    assert_error(
        &call(
            &s,
            "POST",
            "/v3/domains",
            Some(&t),
            Some(json!({"domain": {"name": "d1"}})),
        ),
        409,
        "Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: d1.",
    );
    // PATCH: extras appended after the stored ones; id and hierarchy keys ignored.
    let r = patch(
        &s,
        &t,
        &format!("/v3/domains/{id}"),
        json!({"domain": {"description": "new", "zz": 2, "id": "other", "parent_id": "x"}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        keys(&r.json()["domain"]),
        [
            "foo_bar",
            "zz",
            "id",
            "name",
            "description",
            "enabled",
            "tags",
            "options",
            "links"
        ]
    );
    assert_eq!(r.json()["domain"]["id"], id.as_str());
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/domains/{id}"),
            json!({"domain": {"name": "Default"}}),
        ),
        409,
        "Conflict occurred attempting to store project - it is not permitted to have two projects acting as domains with the same name: Default.",
    );

    // The domain is a project acting as a domain.
    let r = s.get(&format!("/v3/projects/{id}"), Some(&t));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["project"]["is_domain"], true);
    assert_eq!(r.json()["project"]["domain_id"], Value::Null);
    assert_eq!(r.json()["project"]["parent_id"], Value::Null);

    let r = s.get("/v3/domains", Some(&t));
    assert_eq!(r.status, 200);
    assert_eq!(sorted(names(&r.json()["domains"])), ["Default", "d1"]);
    assert_eq!(
        r.json()["links"],
        json!({"next": null, "self": format!("{}/v3/domains", s.base), "previous": null})
    );
    assert_eq!(
        names(&s.get("/v3/domains?name=d1", Some(&t)).json()["domains"]),
        ["d1"]
    );
    assert_eq!(
        names(&s.get("/v3/domains?enabled=false", Some(&t)).json()["domains"]),
        Vec::<String>::new()
    );

    // Delete only when disabled.
    assert_error(
        &call(&s, "DELETE", &format!("/v3/domains/{id}"), Some(&t), None),
        403,
        "Cannot delete a domain that is enabled, please disable it first.",
    );
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/domains/{id}"),
            json!({"domain": {"enabled": false}})
        )
        .status,
        200
    );
    assert_eq!(
        names(&s.get("/v3/domains?enabled=false", Some(&t)).json()["domains"]),
        ["d1"]
    );
    assert_eq!(
        call(&s, "DELETE", &format!("/v3/domains/{id}"), Some(&t), None).status,
        204
    );
    assert_error(
        &s.get(&format!("/v3/domains/{id}"), Some(&t)),
        404,
        &format!("Could not find domain: {id}."),
    );
    assert_error(
        &call(&s, "DELETE", &format!("/v3/domains/{id}"), Some(&t), None),
        404,
        &format!("Could not find domain: {id}."),
    );

    // An explicit id.
    let explicit = uuid::Uuid::new_v4().simple().to_string();
    let d = create(
        &s,
        &t,
        "domain",
        json!({"name": "d2", "explicit_domain_id": explicit}),
    );
    assert_eq!(d["id"], explicit.as_str());
    assert!(d.get("explicit_domain_id").is_none());
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/domains",
            Some(&t),
            Some(json!({"domain": {"name": "d3", "explicit_domain_id": "abc"}})),
        ),
        400,
        "Domain ID does not conform to required UUID format.",
    );
    // A project id is not a domain.
    let p = create(&s, &t, "project", json!({"name": "p"}));
    let pid = id_of(&p);
    assert_error(
        &s.get(&format!("/v3/domains/{pid}"), Some(&t)),
        404,
        &format!("Could not find domain: {pid}."),
    );
}

#[test]
fn project_crud_in_keystone_shape() {
    let s = TestServer::start();
    let t = s.admin_token();
    let r = call(
        &s,
        "POST",
        "/v3/projects",
        Some(&t),
        Some(
            json!({"project": {"name": "  p1 ", "domain_id": "default", "tags": ["z", "a"], "x:y": 2}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let p = r.json()["project"].clone();
    let id = id_of(&p);
    assert_eq!(
        r.body,
        format!(
            "{{\"project\": {{\"x_y\": 2, \"id\": \"{id}\", \"name\": \"p1\", \"domain_id\": \"default\", \"description\": \"\", \"enabled\": true, \"parent_id\": \"default\", \"is_domain\": false, \"tags\": [\"z\", \"a\"], \"options\": {{}}, \"links\": {{\"self\": \"{}/v3/projects/{id}\"}}}}}}\n",
            s.base
        )
    );
    let r = s.get(&format!("/v3/projects/{id}"), Some(&t));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["project"]["tags"], json!(["a", "z"]));

    // An update answers with the extras repeated under `extra`.
    let r = patch(
        &s,
        &t,
        &format!("/v3/projects/{id}"),
        json!({"project": {"description": "new", "z": 3, "extra": {"q": 1}}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        keys(&r.json()["project"]),
        [
            "x_y",
            "z",
            "id",
            "name",
            "domain_id",
            "description",
            "enabled",
            "parent_id",
            "is_domain",
            "tags",
            "extra",
            "options",
            "links"
        ]
    );
    assert_eq!(r.json()["project"]["extra"], json!({"x_y": 2, "z": 3}));
    let r = s.get(&format!("/v3/projects/{id}"), Some(&t));
    assert!(r.json()["project"].get("extra").is_none());
    assert_eq!(r.json()["project"]["description"], "new");

    // Null description, and the rest of PATCH's checks.
    let r = patch(
        &s,
        &t,
        &format!("/v3/projects/{id}"),
        json!({"project": {"description": null}}),
    );
    assert_eq!(r.json()["project"]["description"], Value::Null);
    for (body, status, message) in [
        (json!({"project": {"id": "other"}}), 400, "Cannot change ID"),
        (
            json!({"project": {"domain_id": "other"}}),
            400,
            "Cannot change Domain ID",
        ),
        (
            json!({"project": {"parent_id": "other"}}),
            403,
            "Update of `parent_id` is not allowed.",
        ),
        (
            json!({"project": {"is_domain": true}}),
            400,
            "Update of `is_domain` is not allowed.",
        ),
        (
            json!({"project": {"is_domain": "x"}}),
            400,
            "Update of `is_domain` is not allowed.",
        ),
    ] {
        assert_error(
            &patch(&s, &t, &format!("/v3/projects/{id}"), body),
            status,
            message,
        );
    }
    for body in [
        json!({}),
        json!({"project": {}}),
        json!({"project": {"id": id, "domain_id": "default", "parent_id": "default"}}),
    ] {
        assert_eq!(
            patch(&s, &t, &format!("/v3/projects/{id}"), body).status,
            200
        );
    }
    // Renaming onto a taken name (Keystone answers 500 here).
    create(&s, &t, "project", json!({"name": "p2"}));
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/projects/{id}"),
            json!({"project": {"name": "p2"}}),
        ),
        409,
        &format!(
            "Conflict occurred attempting to store project - it is not permitted to have two projects with either the same name or same id in the same domain: name is p2, project id {id}."
        ),
    );
    let r = call(
        &s,
        "POST",
        "/v3/projects",
        Some(&t),
        Some(json!({"project": {"name": "p2"}})),
    );
    assert_eq!(r.status, 409);
    assert!(r.json()["error"]["message"].as_str().unwrap_or("").starts_with(
        "Conflict occurred attempting to store project - it is not permitted to have two projects with either the same name or same id in the same domain: name is p2, project id "
    ));
    // Boolean strings are refused (Keystone answers 500: project_booleans_are_json_booleans).
    let r = patch(
        &s,
        &t,
        &format!("/v3/projects/{id}"),
        json!({"project": {"enabled": false}}),
    );
    assert_eq!(r.json()["project"]["enabled"], false);
    let q = create(
        &s,
        &t,
        "project",
        json!({"name": "p3", "enabled": false, "description": null}),
    );
    assert_eq!(
        (q["enabled"].clone(), q["description"].clone()),
        (json!(false), Value::Null)
    );

    assert_eq!(
        call(&s, "DELETE", &format!("/v3/projects/{id}"), Some(&t), None).status,
        204
    );
    assert_error(
        &s.get(&format!("/v3/projects/{id}"), Some(&t)),
        404,
        &format!("Could not find project: {id}."),
    );
    assert_error(
        &call(&s, "DELETE", &format!("/v3/projects/{id}"), Some(&t), None),
        404,
        &format!("Could not find project: {id}."),
    );
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/projects/{id}"),
            json!({"project": {"name": "q"}}),
        ),
        404,
        &format!("Could not find project: {id}."),
    );
}

#[test]
fn hierarchy_rules() {
    let s = TestServer::start();
    let t = s.admin_token();
    let a = id_of(&create(&s, &t, "project", json!({"name": "a"})));
    let b = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "b", "parent_id": a}),
    ));
    let c = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "c", "parent_id": b, "domain_id": "default"}),
    ));

    let r = s.get(&format!("/v3/projects/{c}?parents_as_ids"), Some(&t));
    assert_eq!(
        r.json()["project"]["parents"],
        json!({b.clone(): {a.clone(): {"default": null}}})
    );
    assert_eq!(keys(&r.json()["project"])[9..], ["parents", "links"]);
    let r = s.get(
        &format!("/v3/projects/{a}?subtree_as_ids&parents_as_ids"),
        Some(&t),
    );
    assert_eq!(
        r.json()["project"]["subtree"],
        json!({b.clone(): {c.clone(): null}})
    );
    assert_eq!(r.json()["project"]["parents"], json!({"default": null}));
    assert_eq!(
        s.get(&format!("/v3/projects/{c}?subtree_as_ids"), Some(&t))
            .json()["project"]["subtree"],
        Value::Null
    );
    // The lists hold only projects the caller has a role on: none of these.
    let r = s.get(
        &format!("/v3/projects/{c}?parents_as_list&subtree_as_list=1"),
        Some(&t),
    );
    assert_eq!(
        (
            r.json()["project"]["parents"].clone(),
            r.json()["project"]["subtree"].clone()
        ),
        (json!([]), json!([]))
    );
    assert!(
        s.get(&format!("/v3/projects/{c}?parents_as_list=0"), Some(&t))
            .json()["project"]
            .get("parents")
            .is_none()
    );
    // ... but the admin project is one.
    let admin = admin_project_id(&s, &t);
    let under = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "under-admin", "parent_id": admin}),
    ));
    let r = s.get(&format!("/v3/projects/{under}?parents_as_list"), Some(&t));
    let parents = r.json()["project"]["parents"].clone();
    assert_eq!(parents.as_array().map(Vec::len), Some(1));
    assert_eq!(parents[0]["project"]["id"], admin.as_str());
    assert_eq!(
        parents[0]["project"]["links"]["self"],
        format!("{}/v3/projects/{admin}", s.base)
    );
    assert_error(
        &s.get(
            &format!("/v3/projects/{c}?parents_as_list&parents_as_ids"),
            Some(&t),
        ),
        400,
        "Cannot use parents_as_list and parents_as_ids query params at the same time.",
    );
    assert_error(
        &s.get(
            &format!("/v3/projects/{c}?subtree_as_list&subtree_as_ids=true"),
            Some(&t),
        ),
        400,
        "Cannot use subtree_as_list and subtree_as_ids query params at the same time.",
    );

    // Leaves only, enabled subtrees stay enabled, disabled branches take no children.
    assert_error(
        &call(&s, "DELETE", &format!("/v3/projects/{a}"), Some(&t), None),
        403,
        &format!(
            "Cannot delete the project {a} since it is not a leaf in the hierarchy. Use the cascade option if you want to delete a whole subtree."
        ),
    );
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/projects/{b}"),
            json!({"project": {"enabled": false}}),
        ),
        403,
        &format!("Cannot disable project {b} since its subtree contains enabled projects."),
    );
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/projects/{c}"),
            json!({"project": {"enabled": false}})
        )
        .status,
        200
    );
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/projects",
            Some(&t),
            Some(json!({"project": {"name": "d", "parent_id": c}})),
        ),
        400,
        &format!("cannot create a project in a branch containing a disabled project: {c}"),
    );
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/projects/{b}"),
            json!({"project": {"enabled": false}})
        )
        .status,
        200
    );
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/projects/{c}"),
            json!({"project": {"enabled": true}}),
        ),
        403,
        &format!("Cannot enable project {c} since it has disabled parents"),
    );
    // Keystone reads a PATCH without `enabled` as enabling.
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/projects/{c}"),
            json!({"project": {"description": "x"}}),
        ),
        403,
        &format!("Cannot enable project {c} since it has disabled parents"),
    );
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/projects/{b}"),
            json!({"project": {"enabled": true}})
        )
        .status,
        200
    );

    // Depth: five levels below the domain (`max_project_tree_depth`, plus the domain).
    let mut parent = a.clone();
    for (i, depth_ok) in [(2, true), (3, true), (4, true), (5, true), (6, false)] {
        let r = call(
            &s,
            "POST",
            "/v3/projects",
            Some(&t),
            Some(json!({"project": {"name": format!("l{i}"), "parent_id": parent}})),
        );
        if depth_ok {
            assert_eq!(r.status, 201, "{}", r.body);
            parent = id_of(&r.json()["project"]);
        } else {
            assert_error(
                &r,
                403,
                &format!("Max hierarchy depth reached for {parent} branch."),
            );
        }
    }

    // Parents must be in the project's domain.
    let other = id_of(&create(&s, &t, "domain", json!({"name": "other"})));
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/projects",
            Some(&t),
            Some(json!({"project": {"name": "x", "parent_id": other}})),
        ),
        400,
        &format!(
            "Cannot create project, the parent ({other}) is acting as a domain, but this project's domain id (default) does not match the parent's id."
        ),
    );
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/projects",
            Some(&t),
            Some(json!({"project": {"name": "x", "domain_id": other, "parent_id": a}})),
        ),
        400,
        &format!(
            "Cannot create project, since it specifies its domain_id {other}, but specifies a parent in a different domain (default)."
        ),
    );
    let in_other = create(&s, &t, "project", json!({"name": "x", "domain_id": other}));
    assert_eq!(in_other["parent_id"], other.as_str());
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/projects",
            Some(&t),
            Some(json!({"project": {"name": "x", "domain_id": "nope"}})),
        ),
        400,
        "Could not find domain: nope.",
    );
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/projects",
            Some(&t),
            Some(json!({"project": {"name": "x", "parent_id": "nope"}})),
        ),
        400,
        "Could not find project: nope.",
    );
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/projects",
            Some(&t),
            Some(json!({"project": {"name": "x", "is_domain": true, "domain_id": "default"}})),
        ),
        400,
        "only root projects are allowed to act as domains.",
    );
}

#[test]
fn projects_acting_as_domains() {
    let s = TestServer::start();
    let t = s.admin_token();
    let p = create(
        &s,
        &t,
        "project",
        json!({"name": "pd", "is_domain": true, "domain_id": null}),
    );
    let id = id_of(&p);
    assert_eq!(
        (
            p["domain_id"].clone(),
            p["parent_id"].clone(),
            p["is_domain"].clone()
        ),
        (Value::Null, Value::Null, json!(true))
    );
    let r = s.get("/v3/projects?is_domain=true", Some(&t));
    assert_eq!(sorted(names(&r.json()["projects"])), ["Default", "pd"]);
    assert!(
        !names(&s.get("/v3/projects", Some(&t)).json()["projects"]).contains(&"pd".to_string())
    );
    assert_eq!(
        sorted(names(&s.get("/v3/domains", Some(&t)).json()["domains"])),
        ["Default", "pd"]
    );
    let child = create(
        &s,
        &t,
        "project",
        json!({"name": "inside", "domain_id": id}),
    );
    assert_eq!(child["parent_id"], id.as_str());
    assert_error(
        &call(&s, "DELETE", &format!("/v3/projects/{id}"), Some(&t), None),
        403,
        "Cannot delete a domain that is enabled, please disable it first.",
    );
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/projects/{id}"),
            json!({"project": {"enabled": false}})
        )
        .status,
        200
    );
    assert_eq!(
        call(&s, "DELETE", &format!("/v3/projects/{id}"), Some(&t), None).status,
        204
    );
    assert_eq!(
        s.get(&format!("/v3/projects/{}", id_of(&child)), Some(&t))
            .status,
        404
    );
}

#[test]
fn list_filters_and_paging() {
    let s = TestServer::start();
    let t = s.admin_token();
    let alpha = id_of(&create(&s, &t, "project", json!({"name": "Alpha"})));
    create(
        &s,
        &t,
        "project",
        json!({"name": "alpine", "enabled": false}),
    );
    create(
        &s,
        &t,
        "project",
        json!({"name": "beta", "parent_id": alpha}),
    );
    create(&s, &t, "project", json!({"name": "5%_x"}));
    let list = |q: &str| -> Vec<String> {
        let r = s.get(&format!("/v3/projects{q}"), Some(&t));
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        sorted(names(&r.json()["projects"]))
    };
    assert_eq!(list(""), ["5%_x", "Alpha", "admin", "alpine", "beta"]);
    assert_eq!(list("?name=beta"), ["beta"]);
    assert_eq!(list("?name=beta&name=Alpha"), Vec::<String>::new());
    assert_eq!(list("?enabled=0"), ["alpine"]);
    assert_eq!(list("?enabled="), ["5%_x", "Alpha", "admin", "beta"]);
    assert_eq!(list(&format!("?parent_id={alpha}")), ["beta"]);
    assert_eq!(
        list("?domain_id=default&name__icontains=ALP"),
        ["Alpha", "alpine"]
    );
    assert_eq!(list("?name__startswith=al"), ["alpine"]);
    assert_eq!(list("?name__contains=%25_"), ["5%_x"]);
    // Keystone's `ilike('%{}%'.format(value))`: `_` is a LIKE wildcard.
    assert_eq!(
        list("?name__icontains=_"),
        ["5%_x", "Alpha", "admin", "alpine", "beta"]
    );
    assert_eq!(list("?name__istartswith=a_p"), ["Alpha", "alpine"]);
    assert_eq!(
        list("?name__bogus=x"),
        ["5%_x", "Alpha", "admin", "alpine", "beta"]
    );
    assert_eq!(
        list(&format!("?name__icontains={}", "x".repeat(65))),
        Vec::<String>::new()
    );
    assert_eq!(list("?is_domain=1"), ["Default"]);
    assert_eq!(
        list("?unknown=1"),
        ["5%_x", "Alpha", "admin", "alpine", "beta"]
    );

    // Paging: id order, truncated, a next link that walks the rest.
    let r = s.get("/v3/projects?limit=2", Some(&t));
    let body = r.json();
    assert_eq!(body["projects"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["truncated"], true);
    let last = id_of(&body["projects"][1]);
    assert_eq!(
        body["links"]["next"],
        format!("{}/v3/projects?limit=2&marker={last}", s.base)
    );
    assert!(id_of(&body["projects"][0]) < last);
    let mut seen = names(&body["projects"]);
    let mut next = body["links"]["next"].as_str().map(str::to_string);
    while let Some(url) = next {
        let r = s.get(url.trim_start_matches(&s.base), Some(&t));
        seen.extend(names(&r.json()["projects"]));
        next = r.json()["links"]["next"].as_str().map(str::to_string);
    }
    assert_eq!(sorted(seen), ["5%_x", "Alpha", "admin", "alpine", "beta"]);
    assert_error(
        &s.get("/v3/projects?marker=nope", Some(&t)),
        404,
        "Marker nope could not be found.",
    );
    assert_error(
        &s.get("/v3/projects?limit=abc", Some(&t)),
        400,
        "Invalid limit value: abc",
    );
    assert_error(
        &s.get("/v3/projects?limit=-1", Some(&t)),
        400,
        "Invalid limit value: -1",
    );
    let r = s.get("/v3/projects?limit=0&name=beta", Some(&t));
    assert_eq!(
        (r.json()["truncated"].clone(), names(&r.json()["projects"])),
        (json!(true), vec!["beta".to_string()])
    );
    let r = s.get("/v3/domains?limit=1&name__startswith=x", Some(&t));
    assert_eq!(
        (
            r.json()["truncated"].clone(),
            r.json()["links"]["next"].clone()
        ),
        (json!(true), Value::Null)
    );

    // [resource] list_limit pages without a limit parameter.
    let s = TestServer::start_with("[resource]\nlist_limit = 1\n");
    let t = s.admin_token();
    create(&s, &t, "project", json!({"name": "second"}));
    let r = s.get("/v3/projects", Some(&t));
    assert_eq!(r.json()["projects"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.json()["truncated"], true);
    assert!(
        r.json()["links"]["next"]
            .as_str()
            .is_some_and(|n| n.contains("limit=1"))
    );
    assert_eq!(s.get("/v3/domains", Some(&t)).json()["truncated"], true);
}

#[test]
fn tags_routes_and_filters() {
    let s = TestServer::start();
    let t = s.admin_token();
    let p = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "p", "tags": ["a", "b"]}),
    ));
    let q = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "q", "tags": ["a"]}),
    ));
    create(&s, &t, "project", json!({"name": "r", "tags": ["c"]}));
    let tags_url = format!("/v3/projects/{p}/tags");

    let r = s.get(&tags_url, Some(&t));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        format!(
            "{{\"links\": {{\"self\": \"{}/v3\"}}, \"tags\": [\"a\", \"b\"]}}\n",
            s.base
        )
    );
    let r = call(
        &s,
        "PUT",
        &tags_url,
        Some(&t),
        Some(json!({"tags": ["q", " b ", "c"]})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["tags"], json!(["q", "b", "c"]));
    assert_eq!(
        s.get(&tags_url, Some(&t)).json()["tags"],
        json!(["b", "c", "q"])
    );

    let r = call(&s, "PUT", &format!("{tags_url}/new%20one"), Some(&t), None);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body, "");
    assert_eq!(
        r.header("location"),
        Some(format!("{}/v3/{p}/tags/new%20one", s.base).as_str())
    );
    assert_eq!(
        call(&s, "GET", &format!("{tags_url}/new%20one"), Some(&t), None).status,
        204
    );
    assert_eq!(
        call(&s, "HEAD", &format!("{tags_url}/new%20one"), Some(&t), None).status,
        204
    );
    assert_error(
        &call(&s, "GET", &format!("{tags_url}/nope"), Some(&t), None),
        404,
        "Could not find project tag: nope.",
    );
    assert_error(
        &call(&s, "DELETE", &format!("{tags_url}/nope"), Some(&t), None),
        404,
        "Could not find project tag: nope.",
    );
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("{tags_url}/new%20one"),
            Some(&t),
            None
        )
        .status,
        204
    );
    assert_eq!(
        s.get(&tags_url, Some(&t)).json()["tags"],
        json!(["b", "c", "q"])
    );

    // The older check's texts: the failing schema and instance, pretty-printed.
    assert_error(
        &call(&s, "PUT", &format!("{tags_url}/b"), Some(&t), None),
        400,
        "['b', 'c', 'q', 'b'] has non-unique elements\n\nFailed validating 'uniqueItems' in schema:\n    {'type': 'array',\n     'items': {'type': 'string',\n               'minLength': 1,\n               'maxLength': 255,\n               'pattern': '^[^,/]*$'},\n     'required': [],\n     'maxItems': 80,\n     'uniqueItems': True}\n\nOn instance:\n    ['b', 'c', 'q', 'b']",
    );
    assert_error(
        &call(&s, "PUT", &format!("{tags_url}/a,b"), Some(&t), None),
        400,
        "'a,b' does not match '^[^,/]*$'\n\nFailed validating 'pattern' in schema:\n    {'type': 'string',\n     'minLength': 1,\n     'maxLength': 255,\n     'pattern': '^[^,/]*$'}\n\nOn instance:\n    'a,b'",
    );
    assert_eq!(
        call(&s, "PUT", &tags_url, Some(&t), Some(json!({}))).status,
        400
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &tags_url,
            Some(&t),
            Some(json!({"tags": ["a/b"]})),
        ),
        400,
        "Invalid input for field/attribute 0. Value: a/b. 'a/b' does not match '^[^,/]*$'",
    );
    let many: Vec<String> = (0..81).map(|i| format!("t{i}")).collect();
    let r = call(&s, "PUT", &tags_url, Some(&t), Some(json!({"tags": many})));
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("is too long\n\nFailed validating 'maxItems' in schema:")
    );
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/projects",
            Some(&t),
            Some(json!({"project": {"name": "x", "tags": many}})),
        ),
        400,
        &format!(
            "Invalid input for field/attribute tags. Value: {0}. {0} is too long",
            serde_json::to_string(&many)
                .unwrap_or_default()
                .replace('"', "'")
                .replace(",", ", ")
        ),
    );

    // Filters: all of, any of, and their negations.
    let list = |query: &str| -> Vec<String> {
        let r = s.get(&format!("/v3/projects?{query}"), Some(&t));
        assert_eq!(r.status, 200, "{}", r.body);
        sorted(names(&r.json()["projects"]))
    };
    assert_eq!(
        call(
            &s,
            "PUT",
            &tags_url,
            Some(&t),
            Some(json!({"tags": ["a", "b"]}))
        )
        .status,
        200
    );
    assert_eq!(list("tags=a,b"), ["p"]);
    assert_eq!(list("tags=a"), ["p", "q"]);
    assert_eq!(list("tags-any=b,c"), ["p", "r"]);
    assert_eq!(list("not-tags=a,b"), ["admin", "q", "r"]);
    assert_eq!(list("not-tags-any=a,c"), ["admin"]);
    assert_eq!(list("tags=a&tags-any=b"), ["p"]);
    assert_eq!(list("tags=zz"), Vec::<String>::new());

    assert_eq!(call(&s, "DELETE", &tags_url, Some(&t), None).status, 204);
    assert_eq!(s.get(&tags_url, Some(&t)).json()["tags"], json!([]));
    assert_error(
        &s.get("/v3/projects/nope/tags", Some(&t)),
        404,
        "Could not find project: nope.",
    );
    let _ = q;
}

/// Listings of more than 200 projects read tags and options by the range of the listed
/// ids (resource/store.rs), fewer by their ids: both must give each project exactly what
/// reading it alone gives, also when projects of another domain fall inside the range.
#[test]
fn large_listings_carry_each_projects_own_tags_and_options() {
    let s = TestServer::start();
    let t = s.admin_token();
    let already = s.get("/v3/projects", Some(&t)).json()["projects"]
        .as_array()
        .expect("projects")
        .len();
    let listed = id_of(&create(&s, &t, "domain", json!({"name": "listed"})));
    let other = id_of(&create(&s, &t, "domain", json!({"name": "other"})));
    for i in 0..230 {
        let mut project = json!({"name": format!("p{i}"), "domain_id": listed});
        if i % 7 == 0 {
            project["tags"] = json!([format!("t{i}"), "shared"]);
        }
        if i % 11 == 0 {
            project["options"] = json!({"immutable": i % 2 == 0});
        }
        create(&s, &t, "project", project);
    }
    for i in 0..20 {
        create(
            &s,
            &t,
            "project",
            json!({"name": format!("o{i}"), "domain_id": other, "tags": [format!("other{i}")],
                   "options": {"immutable": true}}),
        );
    }
    for (query, expected) in [
        (format!("?domain_id={listed}"), 230),
        (format!("?domain_id={listed}&limit=150"), 150),
        (format!("?domain_id={other}"), 20),
        (String::new(), already + 250),
    ] {
        let r = s.get(&format!("/v3/projects{query}"), Some(&t));
        assert_eq!(r.status, 200, "{}", r.body);
        let projects = r.json()["projects"].as_array().expect("projects").clone();
        assert_eq!(projects.len(), expected, "{query}");
        for project in &projects {
            let alone = s.get(&format!("/v3/projects/{}", id_of(project)), Some(&t));
            assert_eq!(alone.json()["project"], *project, "{query}");
        }
        let tagged = projects.iter().filter(|p| p["tags"] != json!([])).count();
        let flagged = projects
            .iter()
            .filter(|p| p["options"] != json!({}))
            .count();
        assert!(
            tagged > 0 && flagged > 0,
            "{query}: {tagged} tagged, {flagged} with options"
        );
    }
    // A listed project's text is kept between listings: a change shows in the next one.
    let listing = format!("/v3/projects?domain_id={listed}");
    let first = s.get(&listing, Some(&t)).json()["projects"][17].clone();
    let path = format!("/v3/projects/{}", id_of(&first));
    let r = patch(
        &s,
        &t,
        &path,
        json!({"project": {"name": "renamed", "tags": ["new"]}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let again = s.get(&listing, Some(&t)).json()["projects"][17].clone();
    assert_eq!(again["name"], "renamed");
    assert_eq!(again["tags"], json!(["new"]));
    assert_eq!(again, s.get(&path, Some(&t)).json()["project"]);
}

#[test]
fn bad_input_gives_keystone_4xx() {
    let s = TestServer::start();
    let t = s.admin_token();
    let long = "a".repeat(65);
    let cases: Vec<(&str, &str, Value, u16, String)> = vec![
        ("POST", "/v3/projects", json!({}), 400, "'project' is a required property".into()),
        ("POST", "/v3/projects", json!({"project": {}}), 400, "Invalid input for field/attribute project. Value: {}. 'name' is a required property".into()),
        ("POST", "/v3/projects", json!({"project": "x"}), 400, "Invalid input for field/attribute project. Value: x. 'x' is not of type 'object'".into()),
        ("POST", "/v3/projects", json!({"project": {"name": ""}}), 400, "Invalid input for field/attribute name. Value: . '' should be non-empty".into()),
        ("POST", "/v3/projects", json!({"project": {"name": 5}}), 400, "Invalid input for field/attribute name. Value: 5. 5 is not of type 'string'".into()),
        ("POST", "/v3/projects", json!({"project": {"name": long}}), 400, format!("Invalid input for field/attribute name. Value: {long}. '{long}' is too long")),
        ("POST", "/v3/projects", json!({"project": {"name": "x", "domain_id": "a b"}}), 400, "Invalid input for field/attribute domain_id. Value: a b. 'a b' does not match '^[a-zA-Z0-9-]+$'".into()),
        ("POST", "/v3/projects", json!({"project": {"name": "x", "parent_id": ""}}), 400, "Invalid input for field/attribute parent_id. Value: . '' should be non-empty".into()),
        ("POST", "/v3/projects", json!({"project": {"name": "x", "enabled": "foo"}}), 400, "Invalid input for field/attribute enabled. Value: foo. 'foo' is not one of [True, 'True', 'TRUE', 'true', False, 'False', 'FALSE', 'false', '', '1', '0', 'y', 'Y', 'n', 'N', 'on', 'ON', 'off', 'OFF', 'yes', 'no']".into()),
        ("POST", "/v3/projects", json!({"project": {"name": "x", "tags": "a"}}), 400, "Invalid input for field/attribute tags. Value: a. 'a' is not of type 'array'".into()),
        ("POST", "/v3/projects", json!({"project": {"name": "x", "tags": [""]}}), 400, "Invalid input for field/attribute 0. Value: . '' should be non-empty".into()),
        ("POST", "/v3/projects", json!({"project": {"name": "x", "options": {"immutable": "x"}}}), 400, "Invalid input for field/attribute immutable. Value: x. 'x' is not of type 'boolean', 'null'".into()),
        ("POST", "/v3/projects", json!({"project": {"name": "x"}, "x": 1}), 400, "Additional properties are not allowed ('x' was unexpected)".into()),
        ("PATCH", "/v3/projects/x", json!({"x": 1}), 400, "Additional properties are not allowed ('x' was unexpected)".into()),
        ("PATCH", "/v3/projects/x", json!({"project": {"tags": ["a", "a"]}}), 400, "Invalid input for field/attribute tags. Value: ['a', 'a']. ['a', 'a'] has non-unique elements".into()),
        ("POST", "/v3/domains", json!({}), 400, "'domain' is a required property".into()),
        ("POST", "/v3/domains", json!({"domain": {}}), 400, "Invalid input for field/attribute domain. Value: {}. 'name' is a required property".into()),
        ("POST", "/v3/domains", json!({"domain": {"name": "d", "explicit_domain_id": "a b"}}), 400, "Invalid input for field/attribute explicit_domain_id. Value: a b. 'a b' does not match '^[a-zA-Z0-9-]+$'".into()),
        ("POST", "/v3/domains", json!({"domain": {"name": "d", "description": "d".repeat(256)}}), 400, format!("Invalid input for field/attribute description. Value: {0}. '{0}' is too long", "d".repeat(256))),
        ("POST", "/v3/domains", json!({"domain": {"name": "Federated"}}), 400, "Domain cannot be named Federated".into()),
        ("PATCH", "/v3/domains/default", json!({}), 400, "'domain' is a required property".into()),
        ("PATCH", "/v3/domains/default", json!({"domain": {}}), 400, "Invalid input for field/attribute domain. Value: {}. {} should be non-empty".into()),
        ("PUT", "/v3/projects/x/tags", json!({"foo": 1}), 400, "Additional properties are not allowed ('foo' was unexpected)".into()),
    ];
    for (method, path, body, status, message) in cases {
        let r = call(&s, method, path, Some(&t), Some(body.clone()));
        assert_eq!(r.status, status, "{method} {path} {body}: {}", r.body);
        assert_eq!(
            r.json()["error"]["message"],
            message.as_str(),
            "{method} {path} {body}"
        );
    }
    for query in [
        "enabled=foo",
        "parent_id=bad",
        "domain_id=a%20b",
        "name=",
        "is_domain=x",
    ] {
        let r = s.get(&format!("/v3/projects?{query}"), Some(&t));
        assert_eq!(r.status, 400, "{query}: {}", r.body);
    }
    assert_error(
        &s.get("/v3/projects?parent_id=bad", Some(&t)),
        400,
        "Invalid input for field/attribute parent_id. Value: bad. 'bad' is not a 'uuid'",
    );
    assert_eq!(s.get("/v3/domains?enabled=x", Some(&t)).status, 400);
    // Schema errors come before authentication, as in Keystone.
    assert_eq!(s.get("/v3/projects?enabled=foo", None).status, 400);
    assert_eq!(
        s.post_json("/v3/projects", None, &json!({"project": {}}))
            .status,
        400
    );
    // Not JSON, wrong content type.
    let r = s.request(
        "POST",
        "/v3/projects",
        &[("Content-Type", "application/json"), ("X-Auth-Token", &t)],
        Some(b"{"),
    );
    assert_eq!(r.status, 400);
    let r = s.request(
        "POST",
        "/v3/domains",
        &[("Content-Type", "text/plain"), ("X-Auth-Token", &t)],
        Some(b"{}"),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn immutable_projects_and_domains() {
    let s = TestServer::start();
    let t = s.admin_token();
    let p = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "frozen", "options": {"immutable": true}}),
    ));
    assert_eq!(
        s.get(&format!("/v3/projects/{p}"), Some(&t)).json()["project"]["options"],
        json!({"immutable": true})
    );
    let forbidden = format!(
        "Unable to update immutable project resource: `{p}. Set resource option \"immutable\" to false first."
    );
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/projects/{p}"),
            json!({"project": {"description": "x"}}),
        ),
        403,
        &forbidden,
    );
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/projects/{p}"),
            json!({"project": {"description": "x", "options": {"immutable": false}}}),
        ),
        403,
        &forbidden,
    );
    assert_error(
        &call(&s, "DELETE", &format!("/v3/projects/{p}"), Some(&t), None),
        403,
        &format!(
            "Unable to delete immutable project resource: `{p}. Set resource option \"immutable\" to false first."
        ),
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &format!("/v3/projects/{p}/tags/x"),
            Some(&t),
            None,
        ),
        403,
        &format!(
            "Cannot create project tags for {p}, project is immutable. Set \"immutable\" option to false before creating project tags."
        ),
    );
    let r = patch(
        &s,
        &t,
        &format!("/v3/projects/{p}"),
        json!({"project": {"options": {"immutable": null}}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["project"]["options"], json!({}));
    assert_eq!(
        call(&s, "DELETE", &format!("/v3/projects/{p}"), Some(&t), None).status,
        204
    );

    let d = id_of(&create(
        &s,
        &t,
        "domain",
        json!({"name": "fd", "options": {"immutable": true}}),
    ));
    assert_error(
        &patch(
            &s,
            &t,
            &format!("/v3/domains/{d}"),
            json!({"domain": {"enabled": false}}),
        ),
        403,
        &format!(
            "Unable to update immutable domain resource: `{d}. Set resource option \"immutable\" to false first."
        ),
    );
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/domains/{d}"),
            json!({"domain": {"options": {"immutable": false}}})
        )
        .status,
        200
    );
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/domains/{d}"),
            json!({"domain": {"enabled": false}})
        )
        .status,
        200
    );
    assert_eq!(
        call(&s, "DELETE", &format!("/v3/domains/{d}"), Some(&t), None).status,
        204
    );
}

#[test]
fn deleting_a_project_revokes_its_tokens_and_grants() {
    let s = TestServer::start();
    let t = s.admin_token();
    let p = id_of(&create(&s, &t, "project", json!({"name": "doomed"})));
    let user = make_user(
        &s,
        "default",
        "worker",
        &[(roles::AssignmentType::UserProject, &p, "member")],
    );
    let scoped = token_for(&s, &user, json!({"project": {"id": p}}));
    assert_eq!(s.tokens("GET", "", &t, &scoped).status, 200);
    assert_eq!(
        call(&s, "DELETE", &format!("/v3/projects/{p}"), Some(&t), None).status,
        204
    );
    assert_eq!(s.tokens("GET", "", &t, &scoped).status, 404);
    let events = s.get("/v3/OS-REVOKE/events", Some(&t)).json();
    assert!(
        events["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|ev| ev["project_id"] == p.as_str())),
        "{events}"
    );
    // The grant went with the project.
    let (targets, _) = s
        .db()
        .read_blocking(move |conn| roles::targets_with_roles(conn, &user))
        .expect("targets");
    assert!(!targets.contains(&p));
}

#[test]
fn disabling_a_project_or_domain_fails_its_tokens() {
    let s = TestServer::start();
    let t = s.admin_token();
    let d = id_of(&create(&s, &t, "domain", json!({"name": "dom"})));
    let p = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "proj", "domain_id": d}),
    ));
    let user = make_user(
        &s,
        &d,
        "someone",
        &[
            (roles::AssignmentType::UserProject, &p, "member"),
            (roles::AssignmentType::UserDomain, &d, "member"),
        ],
    );
    let project_token = token_for(&s, &user, json!({"project": {"id": p}}));
    let domain_token = token_for(&s, &user, json!({"domain": {"id": d}}));

    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/projects/{p}"),
            json!({"project": {"enabled": false}})
        )
        .status,
        200
    );
    assert_error(
        &s.tokens("GET", "", &t, &project_token),
        404,
        &format!("Unable to validate token because project {p} is disabled"),
    );
    assert_eq!(s.tokens("GET", "", &t, &domain_token).status, 200);
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/projects/{p}"),
            json!({"project": {"enabled": true}})
        )
        .status,
        200
    );
    assert_eq!(s.tokens("GET", "", &t, &project_token).status, 200);

    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/domains/{d}"),
            json!({"domain": {"enabled": false}})
        )
        .status,
        200
    );
    for token in [&project_token, &domain_token] {
        assert_error(
            &s.tokens("GET", "", &t, token),
            404,
            &format!("Unable to validate token because domain {d} is disabled"),
        );
    }
    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/domains/{d}"),
            json!({"domain": {"enabled": true}})
        )
        .status,
        200
    );
    assert_eq!(s.tokens("GET", "", &t, &domain_token).status, 200);
}

#[test]
fn deleting_a_domain_deletes_what_it_owns() {
    use diesel::prelude::*;
    use keystone_rs::db::schema::{group, user_group_membership};
    let s = TestServer::start();
    let t = s.admin_token();
    let d = id_of(&create(&s, &t, "domain", json!({"name": "gone"})));
    let top = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "top", "domain_id": d}),
    ));
    let leaf = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "leaf", "domain_id": d, "parent_id": top}),
    ));
    let user = make_user(
        &s,
        &d,
        "resident",
        &[
            (roles::AssignmentType::UserProject, &leaf, "member"),
            (roles::AssignmentType::UserDomain, &d, "reader"),
        ],
    );
    let outsider = make_user(
        &s,
        "default",
        "outsider",
        &[(roles::AssignmentType::UserDomain, &d, "reader")],
    );
    let group_id = uuid::Uuid::new_v4().simple().to_string();
    let (g, u, dom) = (group_id.clone(), user.clone(), d.clone());
    s.db()
        .write_blocking(move |conn| {
            diesel::insert_into(group::table)
                .values((
                    group::id.eq(&g),
                    group::domain_id.eq(&dom),
                    group::name.eq("g"),
                    group::extra.eq(Some("{}")),
                ))
                .execute(conn)?;
            diesel::insert_into(user_group_membership::table)
                .values((
                    user_group_membership::user_id.eq(&u),
                    user_group_membership::group_id.eq(&g),
                ))
                .execute(conn)?;
            let role = roles::find_global_role_by_name(conn, "member")?.expect("role");
            roles::grant(
                conn,
                roles::AssignmentType::GroupDomain,
                &g,
                &dom,
                &role.id,
                false,
            )
        })
        .expect("group");
    let outsider_token = token_for(&s, &outsider, json!({"domain": {"id": d}}));

    assert_eq!(
        patch(
            &s,
            &t,
            &format!("/v3/domains/{d}"),
            json!({"domain": {"enabled": false}})
        )
        .status,
        200
    );
    assert_eq!(
        call(&s, "DELETE", &format!("/v3/domains/{d}"), Some(&t), None).status,
        204
    );
    for id in [&top, &leaf] {
        assert_eq!(s.get(&format!("/v3/projects/{id}"), Some(&t)).status, 404);
    }
    let (u, g, o) = (user.clone(), group_id.clone(), outsider.clone());
    let (user_row, groups, outsider_row, outsider_targets) = s
        .db()
        .read_blocking(move |conn| {
            let user_row = users::get(conn, &u)?;
            let groups: i64 = group::table
                .filter(group::id.eq(&g))
                .count()
                .get_result(conn)?;
            let outsider_row = users::get(conn, &o)?;
            let targets = roles::targets_with_roles(conn, &o)?;
            Ok((user_row, groups, outsider_row, targets))
        })
        .expect("read");
    assert!(user_row.is_none(), "the domain's users are deleted");
    assert_eq!(groups, 0, "the domain's groups are deleted");
    assert!(outsider_row.is_some(), "users of other domains stay");
    assert!(
        outsider_targets.1.is_empty(),
        "grants on the domain are deleted"
    );
    assert_eq!(s.tokens("GET", "", &t, &outsider_token).status, 404);
    let events = s.get("/v3/OS-REVOKE/events", Some(&t)).json();
    let events = events["events"].as_array().cloned().unwrap_or_default();
    for p in [&top, &leaf, &d] {
        assert!(
            events.iter().any(|e| e["project_id"] == p.as_str()),
            "project event for {p}"
        );
    }
    assert!(
        events.iter().any(|e| e["user_id"] == user.as_str()),
        "user event"
    );
}

#[test]
fn policy_targets_for_members_and_domain_scoped_callers() {
    let s = TestServer::start();
    let t = s.admin_token();
    let admin_project = admin_project_id(&s, &t);
    let other_domain = id_of(&create(&s, &t, "domain", json!({"name": "elsewhere"})));
    let elsewhere = id_of(&create(
        &s,
        &t,
        "project",
        json!({"name": "far", "domain_id": other_domain}),
    ));
    let near = id_of(&create(&s, &t, "project", json!({"name": "near"})));

    // A member of the admin project: its own project only.
    let member = make_user(
        &s,
        "default",
        "member-user",
        &[(roles::AssignmentType::UserProject, &admin_project, "member")],
    );
    let mt = token_for(&s, &member, json!({"project": {"id": admin_project}}));
    assert_eq!(
        s.get(&format!("/v3/projects/{admin_project}"), Some(&mt))
            .status,
        200
    );
    assert_eq!(
        s.get(&format!("/v3/projects/{admin_project}/tags"), Some(&mt))
            .status,
        200
    );
    assert_eq!(s.get("/v3/domains/default", Some(&mt)).status, 200);
    for (method, path, body) in [
        ("GET", format!("/v3/projects/{near}"), None),
        ("GET", "/v3/projects/does-not-exist".to_string(), None),
        ("GET", "/v3/projects".to_string(), None),
        (
            "POST",
            "/v3/projects".to_string(),
            Some(json!({"project": {"name": "mine"}})),
        ),
        (
            "PATCH",
            format!("/v3/projects/{admin_project}"),
            Some(json!({"project": {"description": "x"}})),
        ),
        ("DELETE", format!("/v3/projects/{near}"), None),
        ("PUT", format!("/v3/projects/{admin_project}/tags/x"), None),
        ("GET", format!("/v3/domains/{other_domain}"), None),
        ("GET", "/v3/domains/does-not-exist".to_string(), None),
        ("GET", "/v3/domains".to_string(), None),
        (
            "POST",
            "/v3/domains".to_string(),
            Some(json!({"domain": {"name": "mine"}})),
        ),
        (
            "PATCH",
            format!("/v3/domains/{other_domain}"),
            Some(json!({"domain": {"description": "x"}})),
        ),
    ] {
        let r = call(&s, method, &path, Some(&mt), body);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    // PATCH/DELETE of a missing domain: 404 before policy, as Keystone.
    let r = call(&s, "DELETE", "/v3/domains/does-not-exist", Some(&mt), None);
    assert_error(&r, 404, "Could not find domain: does-not-exist.");

    // A domain-scoped admin: lists are cut to its domain.
    s.grant_admin_on_default_domain();
    let r = s.password_auth(Some(json!({"domain": {"id": "default"}})));
    assert_eq!(r.status, 201, "{}", r.body);
    let dt = r.subject_token();
    let listed = names(&s.get("/v3/projects", Some(&dt)).json()["projects"]);
    assert_eq!(sorted(listed), ["admin", "near"]);
    assert_eq!(
        names(&s.get("/v3/domains", Some(&dt)).json()["domains"]),
        ["Default"]
    );
    // Its new projects land in its domain.
    let mine = create(&s, &dt, "project", json!({"name": "scoped-child"}));
    assert_eq!(mine["domain_id"], "default");
    let _ = elsewhere;

    // A domain manager (not admin) may manage only its domain's projects.
    let manager = make_user(
        &s,
        "default",
        "manager-user",
        &[(roles::AssignmentType::UserDomain, "default", "manager")],
    );
    let gt = token_for(&s, &manager, json!({"domain": {"id": "default"}}));
    let r = call(
        &s,
        "POST",
        "/v3/projects",
        Some(&gt),
        Some(json!({"project": {"name": "managed", "domain_id": "default"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = call(
        &s,
        "POST",
        "/v3/projects",
        Some(&gt),
        Some(json!({"project": {"name": "x", "domain_id": other_domain}})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        patch(
            &s,
            &gt,
            &format!("/v3/projects/{near}"),
            json!({"project": {"description": "ok"}})
        )
        .status,
        200
    );
    assert_eq!(
        patch(
            &s,
            &gt,
            &format!("/v3/projects/{elsewhere}"),
            json!({"project": {"description": "no"}})
        )
        .status,
        403
    );
    assert_eq!(
        s.get(&format!("/v3/projects?domain_id={other_domain}"), Some(&gt))
            .json()["projects"],
        json!([])
    );
}

#[test]
fn unauthenticated_requests() {
    let s = TestServer::start();
    for (method, path) in [
        ("GET", "/v3/projects"),
        ("GET", "/v3/projects/x"),
        ("DELETE", "/v3/projects/x"),
        ("GET", "/v3/projects/x/tags"),
        ("PUT", "/v3/projects/x/tags/y"),
        ("GET", "/v3/domains"),
        ("GET", "/v3/domains/default"),
        ("DELETE", "/v3/domains/default"),
    ] {
        assert_error(
            &call(&s, method, path, None, None),
            401,
            "The request you have made requires authentication.",
        );
    }
    let bad = call(&s, "GET", "/v3/projects", Some("not-a-token"), None);
    assert_eq!(bad.status, 401);
    let _ = ADMIN_PASSWORD;
}

/// `enabled` (and `is_domain` on create) must be JSON booleans (api-ref/DEVIATIONS.md):
/// Keystone's schema lets oslo's boolean strings through and its database layer then answers
/// 500; keystone-rs used to store the boolean the string names.
#[test]
fn project_booleans_are_json_booleans() {
    let s = TestServer::start();
    let t = s.admin_token();
    let not_boolean = |field: &str, value: &str| {
        format!(
            "Invalid input for field/attribute {field}. Value: {value}. '{value}' is not of type 'boolean'"
        )
    };
    for (body, field, value) in [
        (
            json!({"project": {"name": "p1", "enabled": "yes"}}),
            "enabled",
            "yes",
        ),
        (
            json!({"project": {"name": "p1", "enabled": "no"}}),
            "enabled",
            "no",
        ),
        (
            json!({"project": {"name": "p1", "is_domain": "false"}}),
            "is_domain",
            "false",
        ),
    ] {
        let r = call(&s, "POST", "/v3/projects", Some(&t), Some(body));
        assert_error(&r, 400, &not_boolean(field, value));
    }
    let r = call(
        &s,
        "POST",
        "/v3/domains",
        Some(&t),
        Some(json!({"domain": {"name": "d1", "enabled": "off"}})),
    );
    assert_error(&r, 400, &not_boolean("enabled", "off"));
    let p = create(&s, &t, "project", json!({"name": "p1", "enabled": false}));
    let id = id_of(&p);
    let r = patch(
        &s,
        &t,
        &format!("/v3/projects/{id}"),
        json!({"project": {"enabled": "yes"}}),
    );
    assert_error(&r, 400, &not_boolean("enabled", "yes"));
    let r = s.get(&format!("/v3/projects/{id}"), Some(&t));
    assert_eq!(r.json()["project"]["enabled"], json!(false));
    // `is_domain` on an update is refused by the update itself, as in Keystone.
    let r = patch(
        &s,
        &t,
        &format!("/v3/projects/{id}"),
        json!({"project": {"is_domain": "false"}}),
    );
    assert_error(&r, 400, "Update of `is_domain` is not allowed.");
    let d = create(&s, &t, "domain", json!({"name": "d1"}));
    let r = patch(
        &s,
        &t,
        &format!("/v3/domains/{}", id_of(&d)),
        json!({"domain": {"enabled": "false"}}),
    );
    assert_error(&r, 400, &not_boolean("enabled", "false"));
    // The query filters still read oslo's boolean strings, as Keystone does.
    let r = s.get("/v3/projects?enabled=no", Some(&t));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(names(&r.json()["projects"]).contains(&"p1".to_string()));
}
