//! Services, endpoints and regions over HTTP, and the catalog tokens carry: bodies, key
//! order, filters, validation errors and status codes as Python Keystone 30's (the
//! expected texts were read from a running Keystone 30).

use crate::support::{Response, TestServer};
use serde_json::{Value, json};

const VALIDATION_SUFFIX: &str = " The server could not comply with the request since it is either malformed or \
otherwise incorrect. The client is assumed to be in error.";

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

fn error_message(r: &Response) -> String {
    r.json()["error"]["message"]
        .as_str()
        .expect("message")
        .to_string()
}

fn assert_error(r: &Response, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(error_message(r), message);
    assert_eq!(r.json()["error"]["code"], status);
}

fn create_service(s: &TestServer, token: &str, body: Value) -> Value {
    let r = call(
        s,
        "POST",
        "/v3/services",
        Some(token),
        Some(json!({ "service": body })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["service"].clone()
}

fn create_endpoint(s: &TestServer, token: &str, body: Value) -> Value {
    let r = call(
        s,
        "POST",
        "/v3/endpoints",
        Some(token),
        Some(json!({ "endpoint": body })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["endpoint"].clone()
}

fn project_token(s: &TestServer) -> Response {
    let r = s.password_auth(Some(
        json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
    ));
    assert_eq!(r.status, 201, "{}", r.body);
    r
}

#[test]
fn service_crud_keeps_extras_in_keystone_order() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = call(
        &s,
        "POST",
        "/v3/services",
        Some(&admin),
        Some(
            json!({"service": {"type": "compute", "name": "nova", "description": "d", "foo:bar": 1, "id": "mine"}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.body.ends_with("}}\n") && r.body.contains("\"type\": \"compute\""),
        "json.dumps body: {}",
        r.body
    );
    let created = r.json()["service"].clone();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32, "the server chooses the id");
    assert_ne!(id, "mine");
    assert_eq!(
        keys(&created),
        [
            "name",
            "description",
            "foo_bar",
            "id",
            "type",
            "enabled",
            "links"
        ]
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(
        created["links"]["self"],
        format!("{}/v3/services/{id}", s.base)
    );

    let got = call(&s, "GET", &format!("/v3/services/{id}"), Some(&admin), None);
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["service"], created);

    let r = call(
        &s,
        "PATCH",
        &format!("/v3/services/{id}"),
        Some(&admin),
        Some(json!({"service": {"new": null, "name": "nova2", "enabled": false, "a-b": 2}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let updated = r.json()["service"].clone();
    assert_eq!(
        keys(&updated),
        [
            "name",
            "description",
            "foo_bar",
            "new",
            "a-b",
            "id",
            "type",
            "enabled",
            "links"
        ]
    );
    assert_eq!(updated["name"], "nova2");
    assert_eq!(updated["enabled"], false);

    // A service without a name gets "" (Keystone's default).
    let unnamed = create_service(&s, &admin, json!({"type": "image"}));
    assert_eq!(keys(&unnamed), ["name", "id", "type", "enabled", "links"]);
    assert_eq!(unnamed["name"], "");

    let r = call(
        &s,
        "DELETE",
        &format!("/v3/services/{id}"),
        Some(&admin),
        None,
    );
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let r = call(&s, "GET", &format!("/v3/services/{id}"), Some(&admin), None);
    assert_error(&r, 404, &format!("Could not find service: {id}."));
    let r = call(&s, "DELETE", "/v3/services/nope", Some(&admin), None);
    assert_error(&r, 404, "Could not find service: nope.");
}

#[test]
fn service_list_filters() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let a = create_service(&s, &admin, json!({"type": "volume", "name": "cinder"}));
    let b = create_service(&s, &admin, json!({"type": "volume", "name": "cinder2"}));
    let c = create_service(&s, &admin, json!({"type": "network", "name": "neutron"}));
    let list = |q: &str| {
        let r = call(&s, "GET", &format!("/v3/services{q}"), Some(&admin), None);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.json()
    };
    let all = list("");
    assert_eq!(
        all["services"].as_array().unwrap().len(),
        4,
        "bootstrap's identity service too"
    );
    assert_eq!(
        all["links"],
        json!({"next": null, "self": format!("{}/v3/services", s.base), "previous": null})
    );
    assert!(all.get("truncated").is_none());
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&list("?type=volume")["services"]),
        sorted(vec![id(&a), id(&b)])
    );
    assert_eq!(ids(&list("?name=neutron")["services"]), vec![id(&c)]);
    assert_eq!(
        ids(&list("?type=volume&name=cinder2")["services"]),
        vec![id(&b)]
    );
    assert_eq!(
        ids(&list("?name__icontains=CINDER")["services"]),
        sorted(vec![id(&a), id(&b)])
    );
    assert_eq!(
        ids(&list("?name__contains=CINDER")["services"]),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&list("?type__startswith=net")["services"]),
        vec![id(&c)]
    );
    // Case-insensitive comparators on a column run in SQL, as Keystone's `ilike`
    // (`_` is a LIKE wildcard there).
    assert_eq!(
        ids(&list("?type__istartswith=NET")["services"]),
        vec![id(&c)]
    );
    assert_eq!(
        ids(&list("?type__iendswith=v_lume")["services"]),
        sorted(vec![id(&a), id(&b)])
    );
    assert_eq!(
        list("?type=volume")["links"]["self"],
        format!("{}/v3/services?type=volume", s.base)
    );
    // Unknown query parameters are ignored.
    assert_eq!(list("?bogus=1")["services"].as_array().unwrap().len(), 4);

    let page = list("?type=volume&limit=1");
    assert_eq!(page["services"].as_array().unwrap().len(), 1);
    assert_eq!(page["truncated"], true);
    let last = page["services"][0]["id"].as_str().unwrap();
    assert_eq!(
        page["links"]["next"],
        format!("{}/v3/services?type=volume&limit=1&marker={last}", s.base)
    );
    let r = call(&s, "GET", "/v3/services?limit=abc", Some(&admin), None);
    assert_eq!(r.status, 400);
}

#[test]
fn list_limit_truncates_services_and_endpoints_but_not_regions() {
    let s = TestServer::start_with("[catalog]\nlist_limit = 2\n");
    let admin = s.admin_token();
    for name in ["a", "b"] {
        create_service(&s, &admin, json!({"type": "t", "name": name}));
    }
    for region in ["r1", "r2"] {
        let r = call(
            &s,
            "PUT",
            &format!("/v3/regions/{region}"),
            Some(&admin),
            Some(json!({"region": {}})),
        );
        assert_eq!(r.status, 201);
    }
    let r = call(&s, "GET", "/v3/services", Some(&admin), None).json();
    assert_eq!(r["services"].as_array().unwrap().len(), 2);
    assert_eq!(r["truncated"], true);
    let last = r["services"][1]["id"].as_str().unwrap();
    assert_eq!(
        r["links"]["next"],
        format!("{}/v3/services?marker={last}&limit=2", s.base)
    );
    let r = call(&s, "GET", "/v3/endpoints", Some(&admin), None).json();
    assert_eq!(r["endpoints"].as_array().unwrap().len(), 2);
    assert_eq!(r["truncated"], true);
    let r = call(&s, "GET", "/v3/regions", Some(&admin), None).json();
    assert_eq!(r["regions"].as_array().unwrap().len(), 3);
    assert!(r.get("truncated").is_none());
    let r = call(&s, "GET", "/v3/services?type=t", Some(&admin), None).json();
    assert_eq!(r["services"].as_array().unwrap().len(), 2);
    assert!(
        r.get("truncated").is_none(),
        "exactly the limit is not truncated"
    );
}

#[test]
fn service_validation_errors() {
    let s = TestServer::start();
    let admin = s.admin_token();
    for (body, message) in [
        (
            json!({"service": {}}),
            "Invalid input for field/attribute service. Value: {}. 'type' is a required property",
        ),
        (
            json!({"service": {"type": ""}}),
            "Invalid input for field/attribute type. Value: . '' should be non-empty",
        ),
        (
            json!({"service": {"type": 1}}),
            "Invalid input for field/attribute type. Value: 1. 1 is not of type 'string'",
        ),
        (
            json!({"service": {"type": "x", "enabled": "yes"}}),
            "Invalid input for field/attribute enabled. Value: yes. 'yes' is not of type 'boolean'",
        ),
        (
            json!({"service": "str"}),
            "Invalid input for field/attribute service. Value: str. 'str' is not of type 'object'",
        ),
        (json!({}), "'service' is a required property"),
    ] {
        let r = call(&s, "POST", "/v3/services", Some(&admin), Some(body.clone()));
        assert_error(&r, 400, message);
    }
    // Keystone validates the body before it looks at the token.
    let r = call(
        &s,
        "POST",
        "/v3/services",
        None,
        Some(json!({"service": {}})),
    );
    assert_eq!(r.status, 400);
    let r = call(
        &s,
        "POST",
        "/v3/services",
        None,
        Some(json!({"service": {"type": "x"}})),
    );
    assert_eq!(r.status, 401);

    let id = create_service(&s, &admin, json!({"type": "x"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v3/services/{id}");
    let r = call(
        &s,
        "PATCH",
        &path,
        Some(&admin),
        Some(json!({"service": {"id": "other"}})),
    );
    assert_error(&r, 400, "Cannot change ID");
    let r = call(
        &s,
        "PATCH",
        &path,
        Some(&admin),
        Some(json!({"service": {}})),
    );
    assert_error(
        &r,
        400,
        "Invalid input for field/attribute service. Value: {}. {} should be non-empty",
    );
    let r = call(&s, "PATCH", &path, Some(&admin), Some(json!({})));
    assert_error(&r, 400, "'service' is a required property");
    let r = call(
        &s,
        "PATCH",
        "/v3/services/nope",
        Some(&admin),
        Some(json!({"service": {"name": "x"}})),
    );
    assert_error(&r, 404, "Could not find service: nope.");
    let r = call(
        &s,
        "PATCH",
        &path,
        Some(&admin),
        Some(json!({"service": {"id": id.clone(), "name": "same"}})),
    );
    assert_eq!(r.status, 200, "the same id is accepted: {}", r.body);
}

#[test]
fn endpoint_crud_with_legacy_region() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let service = create_service(&s, &admin, json!({"type": "compute", "name": "nova"}));
    let sid = service["id"].as_str().unwrap();

    // The legacy `region` attribute names a region that does not exist yet: it is created.
    let e = create_endpoint(
        &s,
        &admin,
        json!({"interface": "public", "service_id": sid, "url": "http://nova/$(project_id)s", "region": "legacy-r",
               "name": "n", "foo": 1, "enabled": false}),
    );
    let eid = e["id"].as_str().unwrap().to_string();
    assert_eq!(
        keys(&e),
        [
            "name",
            "foo",
            "id",
            "interface",
            "region_id",
            "service_id",
            "url",
            "enabled",
            "region",
            "links"
        ]
    );
    assert_eq!(e["region_id"], "legacy-r");
    assert_eq!(e["region"], "legacy-r");
    assert_eq!(e["enabled"], false);
    assert_eq!(e["links"]["self"], format!("{}/v3/endpoints/{eid}", s.base));
    let r = call(&s, "GET", "/v3/regions/legacy-r", Some(&admin), None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        format!(
            "{{\"region\": {{\"id\": \"legacy-r\", \"description\": \"\", \"parent_region_id\": null, \"links\": \
             {{\"self\": \"{}/v3/regions/legacy-r\"}}}}}}\n",
            s.base
        )
    );

    // With region_id given, a `region` attribute is kept as an extra but shows region_id.
    let e2 = create_endpoint(
        &s,
        &admin,
        json!({"region": "ignored", "interface": "internal", "service_id": sid, "url": "http://i", "region_id": "legacy-r"}),
    );
    assert_eq!(
        keys(&e2),
        [
            "region",
            "id",
            "interface",
            "region_id",
            "service_id",
            "url",
            "enabled",
            "links"
        ]
    );
    assert_eq!(e2["region"], "legacy-r");
    let r = call(&s, "GET", "/v3/regions/ignored", Some(&admin), None);
    assert_eq!(r.status, 404);
    let e3 = create_endpoint(
        &s,
        &admin,
        json!({"interface": "admin", "service_id": sid, "url": "http://a"}),
    );
    assert_eq!(e3["region"], Value::Null);
    assert_eq!(e3["region_id"], Value::Null);

    let list = |q: &str| {
        let r = call(&s, "GET", &format!("/v3/endpoints{q}"), Some(&admin), None);
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        r.json()["endpoints"].clone()
    };
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    assert_eq!(list("").as_array().unwrap().len(), 6, "3 from bootstrap");
    assert_eq!(
        ids(&list(&format!("?service_id={sid}"))),
        sorted(vec![eid.clone(), id(&e2), id(&e3)])
    );
    assert_eq!(
        ids(&list(&format!("?service_id={sid}&interface=internal"))),
        vec![id(&e2)]
    );
    assert_eq!(
        ids(&list("?region_id=legacy-r")),
        sorted(vec![eid.clone(), id(&e2)])
    );
    assert_eq!(list("?interface=admin").as_array().unwrap().len(), 2);
    assert_eq!(list("?region_id=nowhere"), json!([]));

    let r = call(
        &s,
        "PATCH",
        &format!("/v3/endpoints/{eid}"),
        Some(&admin),
        Some(
            json!({"endpoint": {"region": "legacy-r2", "url": "http://nova2/$(user_id)s", "enabled": true, "bar": [1]}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let patched = r.json()["endpoint"].clone();
    assert_eq!(patched["region_id"], "legacy-r2");
    assert_eq!(patched["url"], "http://nova2/$(user_id)s");
    assert_eq!(
        keys(&patched),
        [
            "name",
            "foo",
            "bar",
            "id",
            "interface",
            "region_id",
            "service_id",
            "url",
            "enabled",
            "region",
            "links"
        ]
    );
    assert_eq!(
        call(&s, "GET", "/v3/regions/legacy-r2", Some(&admin), None).status,
        200
    );
    let r = call(
        &s,
        "PATCH",
        &format!("/v3/endpoints/{eid}"),
        Some(&admin),
        Some(json!({"endpoint": {"region_id": null}})),
    );
    assert_eq!(r.json()["endpoint"]["region"], Value::Null);

    let got = call(
        &s,
        "GET",
        &format!("/v3/endpoints/{eid}"),
        Some(&admin),
        None,
    );
    assert_eq!(got.json()["endpoint"], r.json()["endpoint"]);
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/endpoints/{eid}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    let r = call(
        &s,
        "GET",
        &format!("/v3/endpoints/{eid}"),
        Some(&admin),
        None,
    );
    assert_error(&r, 404, &format!("Could not find endpoint: {eid}."));

    // Deleting a service deletes its endpoints.
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/services/{sid}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    assert_eq!(list(&format!("?service_id={sid}")), json!([]));
    assert_eq!(
        call(
            &s,
            "GET",
            &format!("/v3/endpoints/{}", id(&e2)),
            Some(&admin),
            None
        )
        .status,
        404
    );
}

#[test]
fn endpoint_validation_errors() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let sid = create_service(&s, &admin, json!({"type": "x"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let expecting = |what: &str| format!("Expecting to find {what}.{VALIDATION_SUFFIX}");
    for (body, status, message) in [
        (
            json!({"endpoint": {"interface": "bogus", "service_id": sid, "url": "http://x"}}),
            400,
            "Invalid input for field/attribute interface. Value: bogus. 'bogus' is not one of ['admin', 'internal', 'public']"
                .to_string(),
        ),
        (
            json!({"endpoint": {"interface": "public", "service_id": sid}}),
            400,
            format!(
                "Invalid input for field/attribute endpoint. Value: {{'interface': 'public', 'service_id': '{sid}'}}. \
                 'url' is a required property"
            ),
        ),
        (
            json!({"endpoint": {"interface": "public", "service_id": sid, "url": "not a url"}}),
            400,
            "Invalid input for field/attribute url. Value: not a url. 'not a url' does not match '^[a-zA-Z0-9+.-]+:.+'"
                .to_string(),
        ),
        (
            json!({"endpoint": {"interface": "public", "service_id": sid, "url": "http://x/$(bogus)s"}}),
            400,
            "Cannot create an endpoint with an invalid URL: http://x/$(bogus)s.".to_string(),
        ),
        (
            json!({"endpoint": {"interface": "public", "service_id": "nope", "url": "http://x"}}),
            400,
            expecting("endpoint service_id in service table"),
        ),
        (
            json!({"endpoint": {"interface": "public", "service_id": sid, "url": "http://x", "region_id": "nope"}}),
            400,
            expecting("endpoint region_id in region table"),
        ),
        (
            json!({"endpoint": {"interface": "public", "service_id": sid, "url": "http://x", "enabled": "True"}}),
            400,
            "Invalid input for field/attribute enabled. Value: True. 'True' is not of type 'boolean'".to_string(),
        ),
        (
            json!({"endpoint": {"interface": "public", "service_id": sid, "url": "http://x"}, "extra": 1}),
            400,
            "Additional properties are not allowed ('extra' was unexpected)".to_string(),
        ),
        (json!({}), 400, "'NoneType' object is not subscriptable".to_string()),
    ] {
        let r = call(&s, "POST", "/v3/endpoints", Some(&admin), Some(body.clone()));
        assert_error(&r, status, &message);
    }
    let e = create_endpoint(
        &s,
        &admin,
        json!({"interface": "public", "service_id": sid, "url": "http://x"}),
    );
    let path = format!("/v3/endpoints/{}", e["id"].as_str().unwrap());
    for (body, status, message) in [
        (json!({"endpoint": {"id": "x"}}), 400, "Cannot change ID".to_string()),
        (json!({"endpoint": {}}), 400, "Invalid input for field/attribute endpoint. Value: {}. {} should be non-empty".into()),
        (json!({"x": 1}), 400, "'endpoint' is a required property".into()),
        (json!({"endpoint": {"region_id": "nope"}}), 400, expecting("endpoint region_id in region table")),
        (json!({"endpoint": {"service_id": "nope"}}), 400, expecting("endpoint service_id in service table")),
        (
            json!({"endpoint": {"enabled": "False"}}),
            400,
            "Invalid input for field/attribute enabled. Value: False. 'False' is not of type 'boolean'".into(),
        ),
    ] {
        let r = call(&s, "PATCH", &path, Some(&admin), Some(body.clone()));
        assert_error(&r, status, &message);
    }
    let r = call(
        &s,
        "PATCH",
        "/v3/endpoints/nope",
        Some(&admin),
        Some(json!({"endpoint": {"url": "http://z"}})),
    );
    assert_error(&r, 404, "Could not find endpoint: nope.");
    let r = call(
        &s,
        "GET",
        "/v3/endpoints?interface=bogus",
        Some(&admin),
        None,
    );
    assert_error(
        &r,
        400,
        "Invalid input for field/attribute interface. Value: bogus. 'bogus' is not one of ['admin', 'internal', 'public']",
    );
}

#[test]
fn regions_with_parents() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = call(
        &s,
        "POST",
        "/v3/regions",
        Some(&admin),
        Some(json!({"region": {"description": "gen", "x-y": 1}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let generated = r.json()["region"].clone();
    assert_eq!(generated["id"].as_str().unwrap().len(), 32);
    assert_eq!(
        keys(&generated),
        ["x_y", "id", "description", "parent_region_id", "links"]
    );

    let r = call(
        &s,
        "POST",
        "/v3/regions",
        Some(&admin),
        Some(json!({"region": {"id": "r1", "description": null}})),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["region"]["description"], "");
    let r = call(
        &s,
        "POST",
        "/v3/regions",
        Some(&admin),
        Some(json!({"region": {"id": "r1"}})),
    );
    assert_error(
        &r,
        409,
        "Conflict occurred attempting to store region - Duplicate ID, r1..",
    );
    let r = call(
        &s,
        "PUT",
        "/v3/regions/r2",
        Some(&admin),
        Some(json!({"region": {"parent_region_id": "r1"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["region"]["parent_region_id"], "r1");
    let r = call(
        &s,
        "PUT",
        "/v3/regions/r3",
        Some(&admin),
        Some(json!({"region": {"parent_region_id": "r2"}})),
    );
    assert_eq!(r.status, 201);
    let r = call(
        &s,
        "PUT",
        "/v3/regions/r4",
        Some(&admin),
        Some(json!({"region": {"id": "other"}})),
    );
    assert_error(
        &r,
        400,
        "Conflicting region IDs specified: \"r4\" != \"other\"",
    );
    let r = call(
        &s,
        "POST",
        "/v3/regions",
        Some(&admin),
        Some(json!({"region": {"parent_region_id": "nope"}})),
    );
    assert_error(&r, 404, "Could not find region: nope.");
    let r = call(&s, "POST", "/v3/regions", Some(&admin), Some(json!({})));
    assert_error(&r, 400, "'region' is a required property");

    // No cycles: r1 under its own grandchild, or under itself.
    for parent in ["r3", "r1"] {
        let r = call(
            &s,
            "PATCH",
            "/v3/regions/r1",
            Some(&admin),
            Some(json!({"region": {"parent_region_id": parent}})),
        );
        assert_error(
            &r,
            400,
            "The specified parent region r1 would create a circular region hierarchy.",
        );
    }
    let r = call(
        &s,
        "PATCH",
        "/v3/regions/r1",
        Some(&admin),
        Some(json!({"region": {"parent_region_id": "nope"}})),
    );
    assert_error(&r, 404, "Could not find region: nope.");
    let r = call(
        &s,
        "PATCH",
        "/v3/regions/r1",
        Some(&admin),
        Some(json!({"region": {"id": "zz"}})),
    );
    assert_error(&r, 400, "Cannot change ID");
    let r = call(
        &s,
        "PATCH",
        "/v3/regions/r3",
        Some(&admin),
        Some(json!({"region": {"description": "leaf", "k": 1}})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        keys(&r.json()["region"]),
        ["k", "id", "description", "parent_region_id", "links"]
    );

    let list = |q: &str| call(&s, "GET", &format!("/v3/regions{q}"), Some(&admin), None);
    assert_eq!(
        ids(&list("?parent_region_id=r1").json()["regions"]),
        vec!["r2"]
    );
    assert_eq!(list("").json()["regions"].as_array().unwrap().len(), 5);
    assert_error(
        &list("?foo=1&bar=2"),
        400,
        "Additional properties are not allowed ('bar', 'foo' were unexpected)",
    );
    assert_error(
        &list("?parent_region_id="),
        400,
        "Invalid input for field/attribute parent_region_id. Value: . '' should be non-empty",
    );

    // A region whose subtree has endpoints stays; without them it goes with its children.
    let sid = create_service(&s, &admin, json!({"type": "x"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let e = create_endpoint(
        &s,
        &admin,
        json!({"interface": "public", "service_id": sid, "url": "http://x", "region_id": "r3"}),
    );
    let r = call(&s, "DELETE", "/v3/regions/r1", Some(&admin), None);
    assert_error(
        &r,
        403,
        "Unable to delete region r1 because it or its child regions have associated endpoints.",
    );
    let r = call(
        &s,
        "DELETE",
        &format!("/v3/endpoints/{}", e["id"].as_str().unwrap()),
        Some(&admin),
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        call(&s, "DELETE", "/v3/regions/r1", Some(&admin), None).status,
        204
    );
    for gone in ["r1", "r2", "r3"] {
        assert_error(
            &call(
                &s,
                "GET",
                &format!("/v3/regions/{gone}"),
                Some(&admin),
                None,
            ),
            404,
            &format!("Could not find region: {gone}."),
        );
    }
    assert_eq!(
        call(&s, "DELETE", "/v3/regions/r1", Some(&admin), None).status,
        404
    );
}

#[test]
fn catalog_follows_endpoint_and_service_changes() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let sid = create_service(&s, &admin, json!({"type": "compute", "name": "nova"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let e = create_endpoint(
        &s,
        &admin,
        json!({"interface": "public", "service_id": sid, "url": "http://nova/v2.1/$(project_id)s", "region_id": "RegionOne"}),
    );
    let eid = e["id"].as_str().unwrap().to_string();
    create_endpoint(
        &s,
        &admin,
        json!({"interface": "internal", "service_id": sid, "url": "http://nova/$(user_id)s"}),
    );

    let r = project_token(&s);
    let token = r.json()["token"].clone();
    let project_id = token["project"]["id"].as_str().unwrap().to_string();
    let user_id = token["user"]["id"].as_str().unwrap().to_string();
    let catalog = token["catalog"].as_array().unwrap().clone();
    let nova = catalog
        .iter()
        .find(|c| c["type"] == "compute")
        .expect("the new service is in the catalog");
    assert_eq!(keys(nova), ["endpoints", "id", "type", "name"]);
    assert_eq!(nova["name"], "nova");
    let eps = nova["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 2);
    let public = eps.iter().find(|e| e["interface"] == "public").unwrap();
    assert_eq!(
        keys(public),
        ["id", "interface", "region_id", "url", "region"]
    );
    assert_eq!(public["url"], format!("http://nova/v2.1/{project_id}"));
    assert_eq!(public["region"], "RegionOne");
    let internal = eps.iter().find(|e| e["interface"] == "internal").unwrap();
    assert_eq!(internal["url"], format!("http://nova/{user_id}"));

    // /v3/auth/catalog shows the same catalog.
    let subject = r.subject_token();
    let r = call(&s, "GET", "/v3/auth/catalog", Some(&subject), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["catalog"], token["catalog"]);
    assert_eq!(
        r.json()["links"]["self"],
        format!("{}/v3/auth/catalog", s.base)
    );

    // A domain-scoped catalog leaves out URLs that need a project.
    s.grant_admin_on_default_domain();
    let r = s.password_auth(Some(json!({"domain": {"id": "default"}})));
    assert_eq!(r.status, 201, "{}", r.body);
    let domain_catalog = r.json()["token"]["catalog"].clone();
    let nova = domain_catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "compute")
        .unwrap();
    assert_eq!(nova["endpoints"].as_array().unwrap().len(), 1);
    assert_eq!(nova["endpoints"][0]["interface"], "internal");
    let r = call(
        &s,
        "GET",
        "/v3/auth/catalog",
        Some(&r.subject_token()),
        None,
    );
    assert_error(
        &r,
        403,
        "A project-scoped token is required to produce a service catalog.",
    );

    // A disabled endpoint, then a disabled service, leave the catalog — also the catalog
    // of a token whose validation body was rendered (and kept) before the change.
    let validated = s.tokens("GET", "", &admin, &subject);
    assert!(
        validated.json()["token"]["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "compute")
    );
    let r = call(
        &s,
        "PATCH",
        &format!("/v3/endpoints/{eid}"),
        Some(&admin),
        Some(json!({"endpoint": {"enabled": false}})),
    );
    assert_eq!(r.status, 200);
    let catalog = project_token(&s).json()["token"]["catalog"].clone();
    let nova = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "compute")
        .unwrap()
        .clone();
    assert_eq!(nova["endpoints"].as_array().unwrap().len(), 1);
    let r = call(
        &s,
        "PATCH",
        &format!("/v3/services/{sid}"),
        Some(&admin),
        Some(json!({"service": {"enabled": false}})),
    );
    assert_eq!(r.status, 200);
    let catalog = project_token(&s).json()["token"]["catalog"].clone();
    assert!(
        catalog
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] != "compute")
    );
    let validated = s.tokens("GET", "", &admin, &subject);
    assert!(
        validated.json()["token"]["catalog"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] != "compute"),
        "validation renders the current catalog"
    );
}

#[test]
fn policy_and_authentication() {
    let s = TestServer::start();
    for (method, path) in [
        ("GET", "/v3/services"),
        ("GET", "/v3/endpoints/x"),
        ("GET", "/v3/regions"),
        ("DELETE", "/v3/regions/x"),
    ] {
        let r = call(&s, method, path, None, None);
        assert_error(
            &r,
            401,
            "The request you have made requires authentication.",
        );
    }
    // A member (not admin) may read regions (empty rule) but not services or endpoints.
    let member = {
        use keystone_rs::assignment::store as roles;
        use keystone_rs::identity::{NewUser, password, store as users};
        let hash = password::hash_password("memberpass", &s.config.identity).expect("hash");
        s.db()
            .write_blocking(|conn| {
                let project =
                    keystone_rs::resource::store::find_project_by_name(conn, "default", "admin")?
                        .expect("admin project");
                let role = roles::find_global_role_by_name(conn, "member")?.expect("member role");
                let id = uuid::Uuid::new_v4().simple().to_string();
                users::create_local(
                    conn,
                    &NewUser {
                        id: id.clone(),
                        domain_id: "default".into(),
                        name: "member-user".into(),
                        enabled: true,
                        default_project_id: None,
                        extra: Default::default(),
                        password_hash: Some(hash.clone()),
                    },
                )?;
                roles::grant(
                    conn,
                    roles::AssignmentType::UserProject,
                    &id,
                    &project.id,
                    &role.id,
                    false,
                )
            })
            .expect("member user");
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "member-user", "domain": {"id": "default"}, "password": "memberpass"}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
        let r = s.post_json("/v3/auth/tokens", None, &body);
        assert_eq!(r.status, 201, "{}", r.body);
        r.subject_token()
    };
    assert_eq!(
        call(&s, "GET", "/v3/regions", Some(&member), None).status,
        200
    );
    assert_eq!(
        call(&s, "GET", "/v3/regions/RegionOne", Some(&member), None).status,
        200
    );
    for (method, path, body) in [
        ("GET", "/v3/services", None),
        ("GET", "/v3/endpoints", None),
        (
            "POST",
            "/v3/services",
            Some(json!({"service": {"type": "x"}})),
        ),
        ("POST", "/v3/regions", Some(json!({"region": {}}))),
        ("PUT", "/v3/regions/mine", Some(json!({"region": {}}))),
        ("DELETE", "/v3/regions/RegionOne", None),
    ] {
        let r = call(&s, method, path, Some(&member), body);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
}

#[test]
fn bad_input_is_never_a_server_error() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let sid = create_service(&s, &admin, json!({"type": "x"}))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let long = "r".repeat(300);
    for (method, path, body) in [
        (
            "POST",
            "/v3/endpoints",
            json!({"endpoint": {"interface": "public", "service_id": sid, "url": "http://x", "region": long}}),
        ),
        (
            "POST",
            "/v3/endpoints",
            json!({"endpoint": {"interface": "public", "service-id": 5, "url": "http://x"}}),
        ),
        (
            "POST",
            "/v3/endpoints",
            json!({"endpoint": {"interface": "public", "service_id": sid, "url": "http://x", "legacy_endpoint_id": {}}}),
        ),
        ("POST", "/v3/regions", json!({"region": {"id": long}})),
        (
            "POST",
            "/v3/regions",
            json!({"region": {"parent-region-id": 5}}),
        ),
        ("PUT", &format!("/v3/regions/{long}"), json!({"region": {}})),
        (
            "POST",
            "/v3/endpoints",
            json!({"endpoint": {"interface": "public", "service_id": sid, "url": "http://x/%"}}),
        ),
        (
            "GET",
            &format!("/v3/endpoints?interface={}", "i".repeat(20)),
            json!(null),
        ),
        ("GET", &format!("/v3/services?type={long}"), json!(null)),
        ("GET", "/v3/services?limit=-1", json!(null)),
    ] {
        let r = call(
            &s,
            method,
            path,
            Some(&admin),
            (!body.is_null()).then_some(body.clone()),
        );
        assert!(
            r.status < 500,
            "{method} {path} {body}: {} {}",
            r.status,
            r.body
        );
    }
    let r = call(
        &s,
        "GET",
        &format!("/v3/services?type={long}"),
        Some(&admin),
        None,
    );
    assert_eq!(
        r.json()["services"],
        json!([]),
        "a value longer than the column matches nothing"
    );
}
