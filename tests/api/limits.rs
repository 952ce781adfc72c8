//! Unified limits over HTTP: registered limits and limits (batch create, filters, update,
//! delete), Keystone's 400/403/404/409 answers, the `flat` and `strict_two_level` models,
//! `/v3/limits/model`, `include_limits` on a project and the project/domain cascades.

use crate::support::{Response, TestServer};
use keystone_rs::assignment::store as roles;
use keystone_rs::identity::{NewUser, password, store as users};
use serde_json::{Value, json};

const VALIDATION_SUFFIX: &str = " The server could not comply with the request since it is either malformed or \
otherwise incorrect. The client is assumed to be in error.";

fn call(s: &TestServer, method: &str, path: &str, token: &str, body: Option<Value>) -> Response {
    let text = body.map(|b| b.to_string());
    let mut headers = vec![("X-Auth-Token", token)];
    if text.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    s.request(method, path, &headers, text.as_deref().map(str::as_bytes))
}

fn assert_error(r: &Response, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["error"]["message"], message, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], status);
}

fn ok(r: Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    if r.body.is_empty() {
        Value::Null
    } else {
        r.json()
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn service(s: &TestServer, admin: &str, kind: &str) -> String {
    let v = ok(
        call(
            s,
            "POST",
            "/v3/services",
            admin,
            Some(json!({"service": {"type": kind, "name": kind}})),
        ),
        201,
    );
    id(&v["service"])
}

fn region(s: &TestServer, admin: &str, region_id: &str) -> String {
    let v = ok(
        call(
            s,
            "POST",
            "/v3/regions",
            admin,
            Some(json!({"region": {"id": region_id}})),
        ),
        201,
    );
    id(&v["region"])
}

fn domain(s: &TestServer, admin: &str, name: &str) -> String {
    let v = ok(
        call(
            s,
            "POST",
            "/v3/domains",
            admin,
            Some(json!({"domain": {"name": name}})),
        ),
        201,
    );
    id(&v["domain"])
}

/// A project below `parent` (a domain or a project) of domain `domain`.
fn project(s: &TestServer, admin: &str, name: &str, parent: &str, domain: &str) -> Response {
    call(
        s,
        "POST",
        "/v3/projects",
        admin,
        Some(json!({"project": {"name": name, "parent_id": parent, "domain_id": domain}})),
    )
}

fn make_project(s: &TestServer, admin: &str, name: &str, parent: &str, domain: &str) -> String {
    id(&ok(project(s, admin, name, parent, domain), 201)["project"])
}

fn registered(s: &TestServer, admin: &str, items: Value) -> Response {
    call(
        s,
        "POST",
        "/v3/registered_limits",
        admin,
        Some(json!({ "registered_limits": items })),
    )
}

fn limits(s: &TestServer, admin: &str, items: Value) -> Response {
    call(
        s,
        "POST",
        "/v3/limits",
        admin,
        Some(json!({ "limits": items })),
    )
}

fn user_with_role(s: &TestServer, project_id: &str, role: &str) -> String {
    let hash = password::hash_password("pass-word", &s.config.identity).expect("hash");
    let user_id = uuid::Uuid::new_v4().simple().to_string();
    let (uid, pid, role) = (user_id.clone(), project_id.to_string(), role.to_string());
    s.db()
        .write_blocking(move |conn| {
            users::create_local(
                conn,
                &NewUser {
                    id: uid.clone(),
                    domain_id: "default".into(),
                    name: format!("u-{uid}"),
                    enabled: true,
                    default_project_id: None,
                    extra: Default::default(),
                    password_hash: Some(hash),
                },
            )?;
            let role = roles::find_global_role_by_name(conn, &role)?.expect("role");
            roles::grant(
                conn,
                roles::AssignmentType::UserProject,
                &uid,
                &pid,
                &role.id,
                false,
            )
        })
        .expect("user");
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user_id, "password": "pass-word"}}}, "scope": {"project": {"id": project_id}}}});
    let r = s.post_json("/v3/auth/tokens", None, &body);
    assert_eq!(r.status, 201, "{}", r.body);
    r.subject_token()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn registered_limits_crud_duplicates_and_references() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let compute = service(&s, &admin, "compute");
    let volume = service(&s, &admin, "volume");
    let r2 = region(&s, &admin, "RegionTwo");

    // Batch create: Keystone's key order, links, no collection links.
    let v = ok(
        registered(
            &s,
            &admin,
            json!([
                {"service_id": compute, "resource_name": "cores", "default_limit": 10,
                 "description": "cores"},
                {"service_id": compute, "region_id": r2, "resource_name": "cores",
                 "default_limit": 5},
                {"service_id": volume, "resource_name": "gigabytes", "default_limit": -1},
            ]),
        ),
        201,
    );
    assert_eq!(keys(&v), ["registered_limits"]);
    let created = v["registered_limits"].as_array().expect("list").clone();
    assert_eq!(created.len(), 3);
    assert_eq!(
        keys(&created[0]),
        [
            "id",
            "service_id",
            "region_id",
            "resource_name",
            "default_limit",
            "description",
            "links"
        ]
    );
    assert_eq!(created[0]["region_id"], Value::Null);
    assert_eq!(created[1]["region_id"], "RegionTwo");
    assert_eq!(created[2]["description"], Value::Null);
    let cores = id(&created[0]);
    assert!(
        created[0]["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/registered_limits/{cores}"))
    );

    // Duplicates: against a stored one, and within one batch (nothing of it is stored).
    let dup = "Conflict occurred attempting to store registered_limit - Duplicate entry.";
    assert_error(
        &registered(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "default_limit": 1}]),
        ),
        409,
        dup,
    );
    assert_error(
        &registered(
            &s,
            &admin,
            json!([
                {"service_id": compute, "resource_name": "ram", "default_limit": 1},
                {"service_id": compute, "resource_name": "ram", "default_limit": 2},
            ]),
        ),
        409,
        dup,
    );
    let r = call(
        &s,
        "GET",
        &format!("/v3/registered_limits?resource_name=ram"),
        &admin,
        None,
    );
    assert_eq!(ok(r, 200)["registered_limits"], json!([]));

    // References that do not exist: Keystone's ValidationError.
    assert_error(
        &registered(
            &s,
            &admin,
            json!([{"service_id": "a".repeat(32), "resource_name": "x", "default_limit": 1}]),
        ),
        400,
        &format!("Expecting to find service_id in registered_limit.{VALIDATION_SUFFIX}"),
    );
    assert_error(
        &registered(
            &s,
            &admin,
            json!([{"service_id": compute, "region_id": "nowhere", "resource_name": "x",
                    "default_limit": 1}]),
        ),
        400,
        &format!("Expecting to find region_id in registered_limit.{VALIDATION_SUFFIX}"),
    );

    // Bad input is a 400 with jsonschema's words, never a 500.
    for (body, message) in [
        (
            json!({"registered_limits": []}),
            "Invalid input for field/attribute registered_limits. Value: []. [] should be non-empty",
        ),
        (json!({}), "'registered_limits' is a required property"),
        (
            json!({"registered_limits": [{"service_id": "x", "resource_name": "r", "default_limit": 1}]}),
            "Invalid input for field/attribute service_id. Value: x. 'x' is not a 'uuid'",
        ),
        (
            json!({"registered_limits": [{"service_id": compute, "resource_name": "r", "default_limit": "1"}]}),
            "Invalid input for field/attribute default_limit. Value: 1. '1' is not of type 'integer'",
        ),
        (
            json!({"registered_limits": [{"service_id": compute, "resource_name": "r"}]}),
            &format!(
                "Invalid input for field/attribute 0. Value: {{'service_id': '{compute}', 'resource_name': 'r'}}. 'default_limit' is a required property"
            ),
        ),
        (
            json!({"registered_limits": [{"service_id": compute, "resource_name": "r", "default_limit": 1, "x": 1}]}),
            &format!(
                "Invalid input for field/attribute 0. Value: {{'service_id': '{compute}', 'resource_name': 'r', 'default_limit': 1, 'x': 1}}. Additional properties are not allowed ('x' was unexpected)"
            ),
        ),
        (
            json!([1]),
            &format!("Expecting to find valid JSON in request body.{VALIDATION_SUFFIX}"),
        ),
    ] {
        let r = call(&s, "POST", "/v3/registered_limits", &admin, Some(body));
        assert_error(&r, 400, message);
    }
    let r = s.request(
        "POST",
        "/v3/registered_limits",
        &[
            ("X-Auth-Token", &admin),
            ("Content-Type", "application/json"),
        ],
        Some(b"{not json"),
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // Lists and filters.
    let all = ok(call(&s, "GET", "/v3/registered_limits", &admin, None), 200);
    assert_eq!(all["registered_limits"].as_array().unwrap().len(), 3);
    assert!(
        all["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with("/v3/registered_limits")
    );
    let by_region = ok(
        call(
            &s,
            "GET",
            "/v3/registered_limits?region_id=RegionTwo",
            &admin,
            None,
        ),
        200,
    );
    assert_eq!(by_region["registered_limits"].as_array().unwrap().len(), 1);
    let by_service = ok(
        call(
            &s,
            "GET",
            &format!("/v3/registered_limits?service_id={volume}"),
            &admin,
            None,
        ),
        200,
    );
    assert_eq!(
        by_service["registered_limits"][0]["resource_name"],
        "gigabytes"
    );
    assert_error(
        &call(
            &s,
            "GET",
            "/v3/registered_limits?service_id=nope",
            &admin,
            None,
        ),
        400,
        "Invalid input for field/attribute service_id. Value: nope. 'nope' is not a 'uuid'",
    );

    // Get, update, 404s.
    let one = ok(
        call(
            &s,
            "GET",
            &format!("/v3/registered_limits/{cores}"),
            &admin,
            None,
        ),
        200,
    );
    assert_eq!(one["registered_limit"]["default_limit"], 10);
    assert_error(
        &call(&s, "GET", "/v3/registered_limits/nope", &admin, None),
        404,
        "Could not find registered limit for nope.",
    );
    let upd = ok(
        call(
            &s,
            "PATCH",
            &format!("/v3/registered_limits/{cores}"),
            &admin,
            Some(json!({"registered_limit": {"default_limit": 20, "description": null}})),
        ),
        200,
    );
    assert_eq!(upd["registered_limit"]["default_limit"], 20);
    assert_eq!(upd["registered_limit"]["description"], Value::Null);
    // Moving it onto another registered limit's service/resource/region is a duplicate.
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("/v3/registered_limits/{cores}"),
            &admin,
            Some(json!({"registered_limit": {"region_id": "RegionTwo"}})),
        ),
        409,
        dup,
    );
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("/v3/registered_limits/{cores}"),
            &admin,
            Some(json!({"registered_limit": {"id": "other"}})),
        ),
        400,
        "Invalid input for field/attribute registered_limit. Value: {'id': 'other'}. Additional properties are not allowed ('id' was unexpected)",
    );

    // A registered limit with limits can be neither updated nor deleted.
    let admin_project = ok(
        call(&s, "GET", "/v3/projects?name=admin", &admin, None),
        200,
    )["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let l = ok(
        limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 4,
                    "project_id": admin_project}]),
        ),
        201,
    );
    let limit_id = id(&l["limits"][0]);
    let in_use = format!(
        "Unable to update or delete registered limit {cores} because there are project limits associated with it."
    );
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("/v3/registered_limits/{cores}"),
            &admin,
            Some(json!({"registered_limit": {"description": "d"}})),
        ),
        403,
        &in_use,
    );
    assert_error(
        &call(
            &s,
            "DELETE",
            &format!("/v3/registered_limits/{cores}"),
            &admin,
            None,
        ),
        403,
        &in_use,
    );
    ok(
        call(
            &s,
            "DELETE",
            &format!("/v3/limits/{limit_id}"),
            &admin,
            None,
        ),
        204,
    );
    ok(
        call(
            &s,
            "DELETE",
            &format!("/v3/registered_limits/{cores}"),
            &admin,
            None,
        ),
        204,
    );
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/registered_limits/{cores}"),
            &admin,
            None
        )
        .status,
        404
    );

    // Policy: anyone may read registered limits; only admins write them.
    let member = user_with_role(&s, &admin_project, "member");
    assert_eq!(
        call(&s, "GET", "/v3/registered_limits", &member, None).status,
        200
    );
    let r = registered(
        &s,
        &member,
        json!([{"service_id": compute, "resource_name": "x", "default_limit": 1}]),
    );
    assert_error(
        &r,
        403,
        "You are not authorized to perform the requested action: identity:create_registered_limits.",
    );
    assert_eq!(
        s.request("GET", "/v3/registered_limits", &[], None).status,
        401
    );
}

#[test]
fn limits_crud_flat_model_and_scoped_lists() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let compute = service(&s, &admin, "compute");
    let d = domain(&s, &admin, "limits-d");
    let p1 = make_project(&s, &admin, "p1", &d, &d);
    let p2 = make_project(&s, &admin, "p2", &d, &d);
    let model = ok(call(&s, "GET", "/v3/limits/model", &admin, None), 200);
    assert_eq!(
        model,
        json!({"model": {"name": "flat", "description":
            "Limit enforcement and validation does not take project hierarchy into consideration."}})
    );

    // No registered limit: 403.
    assert_error(
        &limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 1,
                    "project_id": p1}]),
        ),
        403,
        "Unable to create a limit that has no corresponding registered limit.",
    );
    ok(
        registered(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "default_limit": 10}]),
        ),
        201,
    );
    // Flat: a project may exceed its domain.
    let v = ok(
        limits(
            &s,
            &admin,
            json!([
                {"service_id": compute, "resource_name": "cores", "resource_limit": 5,
                 "domain_id": d},
                {"service_id": compute, "resource_name": "cores", "resource_limit": 50,
                 "project_id": p1, "description": "big"},
            ]),
        ),
        201,
    );
    let created = v["limits"].as_array().unwrap().clone();
    assert_eq!(
        keys(&created[1]),
        [
            "id",
            "project_id",
            "domain_id",
            "resource_limit",
            "description",
            "service_id",
            "region_id",
            "resource_name",
            "links"
        ]
    );
    assert_eq!(created[0]["project_id"], Value::Null);
    assert_eq!(created[0]["domain_id"], d.as_str());
    let p1_limit = id(&created[1]);

    // A project id naming a domain makes a domain limit; a second one is a duplicate.
    assert_error(
        &limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 6,
                    "project_id": d}]),
        ),
        409,
        "Conflict occurred attempting to store limit - Duplicate entry.",
    );
    assert_error(
        &limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 6,
                    "project_id": p1}]),
        ),
        409,
        "Conflict occurred attempting to store limit - Duplicate entry.",
    );
    assert_error(
        &limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 6,
                    "project_id": "nope"}]),
        ),
        400,
        &format!("Expecting to find project_id in limit.{VALIDATION_SUFFIX}"),
    );
    assert_error(
        &limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 6,
                    "domain_id": p2}]),
        ),
        400,
        &format!("Expecting to find domain_id in limit.{VALIDATION_SUFFIX}"),
    );
    let r = limits(
        &s,
        &admin,
        json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 6}]),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("is not valid under any of the given schemas")
    );
    let r = limits(
        &s,
        &admin,
        json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 6,
                "project_id": p2, "domain_id": d}]),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_error(
        &limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 2147483648u64,
                    "project_id": p2}]),
        ),
        400,
        "Invalid input for field/attribute resource_limit. Value: 2147483648. 2147483648 is greater than the maximum of 2147483647",
    );

    // Lists and filters.
    let all = ok(call(&s, "GET", "/v3/limits", &admin, None), 200);
    assert_eq!(all["limits"].as_array().unwrap().len(), 2);
    let mine = ok(
        call(
            &s,
            "GET",
            &format!("/v3/limits?project_id={p1}"),
            &admin,
            None,
        ),
        200,
    );
    assert_eq!(mine["limits"][0]["id"], p1_limit.as_str());
    let by_domain = ok(
        call(
            &s,
            "GET",
            &format!("/v3/limits?domain_id={d}"),
            &admin,
            None,
        ),
        200,
    );
    assert_eq!(by_domain["limits"].as_array().unwrap().len(), 1);
    let by_service = ok(
        call(
            &s,
            "GET",
            &format!("/v3/limits?service_id={compute}&resource_name=cores"),
            &admin,
            None,
        ),
        200,
    );
    assert_eq!(by_service["limits"].as_array().unwrap().len(), 2);
    let limited = ok(call(&s, "GET", "/v3/limits?limit=1", &admin, None), 200);
    assert_eq!(limited["limits"].as_array().unwrap().len(), 1);
    assert_eq!(limited["truncated"], true);

    // Update: a truthy value is stored; 0 is checked but, as in Keystone, not stored.
    let upd = ok(
        call(
            &s,
            "PATCH",
            &format!("/v3/limits/{p1_limit}"),
            &admin,
            Some(json!({"limit": {"resource_limit": 7, "description": "seven"}})),
        ),
        200,
    );
    assert_eq!(upd["limit"]["resource_limit"], 7);
    assert_eq!(upd["limit"]["description"], "seven");
    assert_eq!(upd["limit"]["resource_name"], "cores");
    let zero = ok(
        call(
            &s,
            "PATCH",
            &format!("/v3/limits/{p1_limit}"),
            &admin,
            Some(json!({"limit": {"resource_limit": 0}})),
        ),
        200,
    );
    assert_eq!(zero["limit"]["resource_limit"], 7);
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("/v3/limits/{p1_limit}"),
            &admin,
            Some(json!({"limit": {"project_id": p2}})),
        ),
        400,
        &format!(
            "Invalid input for field/attribute limit. Value: {{'project_id': '{p2}'}}. Additional properties are not allowed ('project_id' was unexpected)"
        ),
    );
    assert_error(
        &call(&s, "GET", "/v3/limits/nope", &admin, None),
        404,
        "Could not find limit for nope.",
    );
    assert_eq!(
        call(
            &s,
            "PATCH",
            "/v3/limits/nope",
            &admin,
            Some(json!({"limit": {"resource_limit": 1}}))
        )
        .status,
        404
    );

    // A project member sees its own project's limits only, and may read them one by one.
    let member = user_with_role(&s, &p1, "member");
    let seen = ok(call(&s, "GET", "/v3/limits", &member, None), 200);
    let seen: Vec<&str> = seen["limits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, [p1_limit.as_str()]);
    assert_eq!(
        call(&s, "GET", &format!("/v3/limits/{p1_limit}"), &member, None).status,
        200
    );
    let domain_limit = id(&created[0]);
    assert_eq!(
        call(
            &s,
            "GET",
            &format!("/v3/limits/{domain_limit}"),
            &member,
            None
        )
        .status,
        403
    );
    assert_error(
        &call(
            &s,
            "DELETE",
            &format!("/v3/limits/{p1_limit}"),
            &member,
            None,
        ),
        403,
        "You are not authorized to perform the requested action: identity:delete_limit.",
    );
    // The member of another project sees none of them.
    let other = user_with_role(&s, &p2, "member");
    let seen = ok(call(&s, "GET", "/v3/limits", &other, None), 200);
    assert_eq!(seen["limits"], json!([]));
    assert_eq!(
        call(&s, "GET", "/v3/limits/model", &other, None).status,
        200
    );

    // Deleting a project deletes its limits (and nothing else's).
    ok(
        call(
            &s,
            "PATCH",
            &format!("/v3/projects/{p1}"),
            &admin,
            Some(json!({"project": {"enabled": false}})),
        ),
        200,
    );
    ok(
        call(&s, "DELETE", &format!("/v3/projects/{p1}"), &admin, None),
        204,
    );
    assert_eq!(
        call(&s, "GET", &format!("/v3/limits/{p1_limit}"), &admin, None).status,
        404
    );
    assert_eq!(
        call(
            &s,
            "GET",
            &format!("/v3/limits/{domain_limit}"),
            &admin,
            None
        )
        .status,
        200
    );
}

#[test]
fn include_limits_on_parents_and_subtree() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let compute = service(&s, &admin, "compute");
    let admin_project = ok(
        call(&s, "GET", "/v3/projects?name=admin", &admin, None),
        200,
    )["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let child = make_project(&s, &admin, "child", &admin_project, "default");
    // Keystone lists only the subtree projects the caller has a role on.
    let me = ok(call(&s, "GET", "/v3/users?name=admin", &admin, None), 200)["users"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let role = crate::support::role_id(&s, &admin, "member");
    ok(
        call(
            &s,
            "PUT",
            &format!("/v3/projects/{child}/users/{me}/roles/{role}"),
            &admin,
            None,
        ),
        204,
    );
    ok(
        registered(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "default_limit": 10}]),
        ),
        201,
    );
    let v = ok(
        limits(
            &s,
            &admin,
            json!([
                {"service_id": compute, "resource_name": "cores", "resource_limit": 3,
                 "project_id": child},
                {"service_id": compute, "resource_name": "cores", "resource_limit": 9,
                 "project_id": admin_project},
            ]),
        ),
        201,
    );
    let child_limit = v["limits"][0].clone();
    let sub = ok(
        call(
            &s,
            "GET",
            &format!("/v3/projects/{admin_project}?subtree_as_list&include_limits"),
            &admin,
            None,
        ),
        200,
    );
    let listed = &sub["project"]["subtree"][0]["project"];
    let limits_of = listed["limits"].as_array().expect("limits");
    assert_eq!(limits_of.len(), 1);
    assert_eq!(limits_of[0]["id"], child_limit["id"]);
    assert_eq!(limits_of[0]["resource_limit"], 3);
    assert!(limits_of[0].get("links").is_none());
    let parents = ok(
        call(
            &s,
            "GET",
            &format!("/v3/projects/{child}?parents_as_list&include_limits"),
            &admin,
            None,
        ),
        200,
    );
    let text = parents.to_string();
    assert!(text.contains("\"resource_limit\":9"), "{text}");
    // Without include_limits there are none.
    let plain = ok(
        call(
            &s,
            "GET",
            &format!("/v3/projects/{admin_project}?subtree_as_list"),
            &admin,
            None,
        ),
        200,
    );
    assert!(!plain.to_string().contains("resource_limit"));
}

#[test]
fn strict_two_level_hierarchy_rules() {
    let s = TestServer::start_with("[unified_limit]\nenforcement_model = strict_two_level\n");
    let admin = s.admin_token();
    let compute = service(&s, &admin, "compute");
    let model = ok(call(&s, "GET", "/v3/limits/model", &admin, None), 200);
    assert_eq!(model["model"]["name"], "strict_two_level");
    assert_eq!(
        model["model"]["description"],
        "This model requires project hierarchy never exceeds a depth of two"
    );
    let d = domain(&s, &admin, "strict-d");
    let p = make_project(&s, &admin, "strict-p", &d, &d);
    // Two project levels below the domain at most (Keystone's depth counts the domain).
    let child = make_project(&s, &admin, "strict-child", &p, &d);
    assert_error(
        &project(&s, &admin, "too-deep", &child, &d),
        403,
        &format!("Max hierarchy depth reached for {child} branch."),
    );
    ok(
        registered(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "default_limit": 8}]),
        ),
        201,
    );
    let violation = |level: &str, id: &str, value: i64| {
        format!(
            "Invalid resource limit: The resource limit ({level}: {id}, resource_name: cores, resource_limit: {value}, service_id: {compute}, region_id: None) doesn't satisfy current hierarchy model.."
        )
    };
    // Without a domain limit, the registered default is the parent's.
    assert_error(
        &limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 9,
                    "project_id": p}]),
        ),
        403,
        &violation("project_id", &p, 9),
    );
    // A parent in the same request counts first.
    assert_error(
        &limits(
            &s,
            &admin,
            json!([
                {"service_id": compute, "resource_name": "cores", "resource_limit": 20,
                 "domain_id": d},
                {"service_id": compute, "resource_name": "cores", "resource_limit": 30,
                 "project_id": p},
            ]),
        ),
        403,
        &violation("project_id", &p, 30),
    );
    let v = ok(
        limits(
            &s,
            &admin,
            json!([
                {"service_id": compute, "resource_name": "cores", "resource_limit": 20,
                 "domain_id": d},
                {"service_id": compute, "resource_name": "cores", "resource_limit": 15,
                 "project_id": p},
            ]),
        ),
        201,
    );
    let domain_limit = id(&v["limits"][0]);
    let project_limit = id(&v["limits"][1]);
    // The stored domain limit bounds project updates; children bound domain updates.
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("/v3/limits/{project_limit}"),
            &admin,
            Some(json!({"limit": {"resource_limit": 21}})),
        ),
        403,
        &violation("project_id", &p, 21),
    );
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("/v3/limits/{domain_limit}"),
            &admin,
            Some(json!({"limit": {"resource_limit": 10}})),
        ),
        403,
        &violation("domain_id", &d, 10),
    );
    let upd = ok(
        call(
            &s,
            "PATCH",
            &format!("/v3/limits/{domain_limit}"),
            &admin,
            Some(json!({"limit": {"resource_limit": 15}})),
        ),
        200,
    );
    assert_eq!(upd["limit"]["resource_limit"], 15);
    // An unlimited (-1) parent is still a parent: Keystone compares against it.
    let p2 = make_project(&s, &admin, "strict-p2", &d, &d);
    assert_eq!(
        limits(
            &s,
            &admin,
            json!([{"service_id": compute, "resource_name": "cores", "resource_limit": 15,
                    "project_id": p2}]),
        )
        .status,
        201
    );
    // Deleting the domain removes its projects' limits in the same transaction.
    ok(
        call(
            &s,
            "PATCH",
            &format!("/v3/domains/{d}"),
            &admin,
            Some(json!({"domain": {"enabled": false}})),
        ),
        200,
    );
    ok(
        call(&s, "DELETE", &format!("/v3/domains/{d}"), &admin, None),
        204,
    );
    assert_eq!(
        call(
            &s,
            "GET",
            &format!("/v3/limits/{project_limit}"),
            &admin,
            None
        )
        .status,
        404
    );
    // Keystone removes limits by `project_id` only: the domain's own limit row stays.
    assert_eq!(
        call(
            &s,
            "GET",
            &format!("/v3/limits/{domain_limit}"),
            &admin,
            None
        )
        .status,
        200
    );
}
