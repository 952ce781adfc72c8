//! `/v3/policies` and OS-ENDPOINT-POLICY over HTTP: policy blobs, their associations with
//! endpoints, services and service+region pairs, the policy in effect for an endpoint, and
//! what deleting a policy, endpoint, service or region leaves behind — as Keystone 30's
//! `keystone/api/policy.py` and `keystone/endpoint_policy/core.py` answer.

use crate::support::{Response, TestServer};
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

fn assert_error(r: &Response, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["error"]["message"], message, "{}", r.body);
}

fn create(s: &TestServer, token: &str, path: &str, key: &str, body: Value) -> String {
    let r = call(s, "POST", path, Some(token), Some(json!({ key: body })));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()[key]["id"].as_str().expect("id").to_string()
}

fn policy(s: &TestServer, token: &str, policy_type: &str) -> String {
    create(
        s,
        token,
        "/v3/policies",
        "policy",
        json!({"blob": "{\"a\": 1}", "type": policy_type}),
    )
}

fn associations(s: &TestServer, policy_id: &str) -> usize {
    s.db()
        .read_blocking(|conn| {
            keystone_rs::endpoint_policy::store::associations_of_policy(conn, policy_id)
        })
        .expect("associations")
        .len()
}

#[test]
fn policy_crud_in_keystone_shape() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = call(
        &s,
        "POST",
        "/v3/policies",
        Some(&admin),
        Some(
            json!({"policy": {"blob": "{}", "type": "application/json", "x-extra": 1, "id": "mine"}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json()["policy"].clone();
    assert_eq!(keys(&created), ["x_extra", "id", "blob", "type", "links"]);
    let id = created["id"].as_str().unwrap().to_string();
    assert_ne!(id, "mine");
    assert_eq!(created["blob"], "{}");
    assert!(
        created["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/policies/{id}"))
    );
    assert_eq!(
        s.get(&format!("/v3/policies/{id}"), Some(&admin)).json()["policy"],
        created
    );

    let other = policy(&s, &admin, "text/plain");
    let all = s.get("/v3/policies", Some(&admin)).json();
    assert_eq!(all["policies"].as_array().unwrap().len(), 2);
    let typed = s.get("/v3/policies?type=text/plain", Some(&admin)).json();
    assert_eq!(typed["policies"].as_array().unwrap().len(), 1);
    assert_eq!(typed["policies"][0]["id"], other.as_str());

    let r = call(
        &s,
        "PATCH",
        &format!("/v3/policies/{id}"),
        Some(&admin),
        Some(json!({"policy": {"blob": "new", "more": true}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let updated = r.json()["policy"].clone();
    assert_eq!(
        keys(&updated),
        ["x_extra", "more", "id", "blob", "type", "links"]
    );
    assert_eq!(updated["blob"], "new");
    assert_eq!(updated["type"], "application/json");
    assert_error(
        &call(
            &s,
            "PATCH",
            &format!("/v3/policies/{id}"),
            Some(&admin),
            Some(json!({"policy": {"id": "x"}})),
        ),
        400,
        "Cannot change policy ID",
    );

    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/policies/{id}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    assert_error(
        &s.get(&format!("/v3/policies/{id}"), Some(&admin)),
        404,
        &format!("Could not find policy: {id}."),
    );
    assert_error(
        &call(
            &s,
            "DELETE",
            &format!("/v3/policies/{id}"),
            Some(&admin),
            None,
        ),
        404,
        &format!("Could not find policy: {id}."),
    );
}

#[test]
fn policy_bad_input_is_a_400_after_authorization() {
    let s = TestServer::start();
    let admin = s.admin_token();
    // Keystone checks the token and the rule before the body here.
    assert_eq!(
        call(
            &s,
            "POST",
            "/v3/policies",
            None,
            Some(json!({"policy": {"type": 1}}))
        )
        .status,
        401
    );
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/policies",
            Some(&admin),
            Some(json!({"policy": {"blob": 1, "type": "t"}})),
        ),
        400,
        "Invalid input for field 'blob': 1 is not of type 'string'\n\nFailed validating 'type' in schema['properties']['blob']:\n    {'type': 'string'}\n\nOn instance['blob']:\n    1",
    );
    assert_error(
        &call(
            &s,
            "POST",
            "/v3/policies",
            Some(&admin),
            Some(json!({"policy": {"type": "t"}})),
        ),
        400,
        "'blob' is a required property\n\nFailed validating 'required' in schema:\n    {'type': 'object',\n     'properties': {'blob': {'type': 'string'},\n                    'type': {'type': 'string', 'maxLength': 255}},\n     'required': ['blob', 'type'],\n     'additionalProperties': True}\n\nOn instance:\n    {'type': 't'}",
    );
    for body in [
        json!({}),
        json!({"policy": null}),
        json!({"policy": "x"}),
        json!({"policy": {"blob": "b", "type": "t".repeat(256)}}),
    ] {
        let r = call(&s, "POST", "/v3/policies", Some(&admin), Some(body));
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let id = policy(&s, &admin, "t");
    for body in [
        json!({}),
        json!({"policy": {}}),
        json!({"policy": {"type": null}}),
    ] {
        let r = call(
            &s,
            "PATCH",
            &format!("/v3/policies/{id}"),
            Some(&admin),
            Some(body),
        );
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let r = s.request(
        "POST",
        "/v3/policies",
        &[
            ("Content-Type", "application/json"),
            ("X-Auth-Token", &admin),
        ],
        Some(b"[1,"),
    );
    assert_eq!(r.status, 400, "{}", r.body);
}

/// A service with endpoints in RegionOne, in its child region, and in no region.
struct Layout {
    service: String,
    in_parent: String,
    in_child: String,
    regionless: String,
}

fn layout(s: &TestServer, admin: &str) -> Layout {
    let r = call(
        s,
        "POST",
        "/v3/regions",
        Some(admin),
        Some(json!({"region": {"id": "Child", "parent_region_id": "RegionOne"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let service = create(
        s,
        admin,
        "/v3/services",
        "service",
        json!({"type": "volume"}),
    );
    let ep = |region: Option<&str>, interface: &str| {
        create(
            s,
            admin,
            "/v3/endpoints",
            "endpoint",
            json!({"service_id": service, "interface": interface, "region_id": region, "url": "http://v"}),
        )
    };
    Layout {
        in_parent: ep(Some("RegionOne"), "public"),
        in_child: ep(Some("Child"), "public"),
        regionless: ep(None, "admin"),
        service,
    }
}

#[test]
fn associations_and_the_policy_in_effect_for_an_endpoint() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let l = layout(&s, &admin);
    let by_service = policy(&s, &admin, "service");
    let by_region = policy(&s, &admin, "region");
    let by_endpoint = policy(&s, &admin, "endpoint");
    let base = "/v3/policies";
    let effective = |endpoint: &str| {
        s.get(
            &format!("/v3/endpoints/{endpoint}/OS-ENDPOINT-POLICY/policy"),
            Some(&admin),
        )
    };

    assert_error(
        &effective(&l.in_child),
        404,
        &format!("No policy is associated with endpoint {}.", l.in_child),
    );
    assert_error(&effective("nope"), 404, "Could not find endpoint: nope.");

    // Service alone.
    let service_path = format!(
        "{base}/{by_service}/OS-ENDPOINT-POLICY/services/{}",
        l.service
    );
    assert_error(
        &s.get(&service_path, Some(&admin)),
        404,
        "Could not find policy association.",
    );
    assert_eq!(
        call(&s, "PUT", &service_path, Some(&admin), None).status,
        204
    );
    assert_eq!(s.get(&service_path, Some(&admin)).status, 204);
    let r = effective(&l.in_child);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["policy"]["id"], by_service.as_str());
    assert_eq!(keys(&r.json()["policy"]), ["id", "blob", "type", "links"]);
    // Keystone's link for this body names the endpoints collection with the policy's id.
    assert!(
        r.json()["policy"]["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v3/endpoints/{by_service}"))
    );

    // Service in the parent region wins for the child region's endpoint too.
    let region_path = format!(
        "{base}/{by_region}/OS-ENDPOINT-POLICY/services/{}/regions/RegionOne",
        l.service
    );
    assert_eq!(
        call(&s, "PUT", &region_path, Some(&admin), None).status,
        204
    );
    assert_eq!(s.get(&region_path, Some(&admin)).status, 204);
    assert_eq!(
        effective(&l.in_child).json()["policy"]["id"],
        by_region.as_str()
    );
    assert_eq!(
        effective(&l.in_parent).json()["policy"]["id"],
        by_region.as_str()
    );
    assert_eq!(
        effective(&l.regionless).json()["policy"]["id"],
        by_service.as_str()
    );

    // The endpoint itself wins over both.
    let endpoint_path = format!(
        "{base}/{by_endpoint}/OS-ENDPOINT-POLICY/endpoints/{}",
        l.in_child
    );
    assert_eq!(
        call(&s, "PUT", &endpoint_path, Some(&admin), None).status,
        204
    );
    assert_eq!(s.get(&endpoint_path, Some(&admin)).status, 204);
    assert_eq!(
        effective(&l.in_child).json()["policy"]["id"],
        by_endpoint.as_str()
    );
    // A subject has one policy: associating another repoints it.
    let repoint = format!(
        "{base}/{by_service}/OS-ENDPOINT-POLICY/endpoints/{}",
        l.in_child
    );
    assert_eq!(call(&s, "PUT", &repoint, Some(&admin), None).status, 204);
    assert_eq!(s.get(&endpoint_path, Some(&admin)).status, 404);
    assert_eq!(
        effective(&l.in_child).json()["policy"]["id"],
        by_service.as_str()
    );
    assert_eq!(
        call(&s, "PUT", &endpoint_path, Some(&admin), None).status,
        204
    );

    // The endpoints each policy applies to.
    let listed = |p: &str| {
        let r = s.get(
            &format!("{base}/{p}/OS-ENDPOINT-POLICY/endpoints"),
            Some(&admin),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let mut ids: Vec<String> = r.json()["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        (ids, r.json())
    };
    let mut want = vec![l.in_parent.clone(), l.in_child.clone()];
    want.sort();
    assert_eq!(
        listed(&by_region).0,
        want,
        "the region and the regions below it"
    );
    let mut all = vec![
        l.in_parent.clone(),
        l.in_child.clone(),
        l.regionless.clone(),
    ];
    all.sort();
    assert_eq!(listed(&by_service).0, all);
    let (ids, body) = listed(&by_endpoint);
    assert_eq!(ids, [l.in_child.clone()]);
    assert!(
        body["endpoints"][0].get("region").is_none(),
        "no legacy region here"
    );
    assert!(body["endpoints"][0].get("legacy_endpoint_id").is_none());

    // Unknown entities are 404s, in Keystone's order: the policy first.
    assert_error(
        &call(
            &s,
            "PUT",
            "/v3/policies/nope/OS-ENDPOINT-POLICY/services/nope",
            Some(&admin),
            None,
        ),
        404,
        "Could not find policy: nope.",
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &format!("{base}/{by_service}/OS-ENDPOINT-POLICY/services/nope"),
            Some(&admin),
            None,
        ),
        404,
        "Could not find service: nope.",
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &format!(
                "{base}/{by_service}/OS-ENDPOINT-POLICY/services/{}/regions/nope",
                l.service
            ),
            Some(&admin),
            None,
        ),
        404,
        "Could not find region: nope.",
    );
    assert_error(
        &call(
            &s,
            "PUT",
            &format!("{base}/{by_service}/OS-ENDPOINT-POLICY/endpoints/nope"),
            Some(&admin),
            None,
        ),
        404,
        "Could not find endpoint: nope.",
    );
    assert_eq!(
        s.get(
            "/v3/policies/nope/OS-ENDPOINT-POLICY/endpoints",
            Some(&admin)
        )
        .status,
        404
    );

    // Removing is idempotent, as in Keystone.
    assert_eq!(
        call(&s, "DELETE", &region_path, Some(&admin), None).status,
        204
    );
    assert_eq!(
        call(&s, "DELETE", &region_path, Some(&admin), None).status,
        204
    );
    assert_eq!(s.get(&region_path, Some(&admin)).status, 404);
    assert_eq!(
        effective(&l.in_parent).json()["policy"]["id"],
        by_service.as_str()
    );
}

#[test]
fn deleting_a_policy_endpoint_service_or_region_removes_its_associations() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let l = layout(&s, &admin);
    let p = policy(&s, &admin, "t");
    let put = |path: String| assert_eq!(call(&s, "PUT", &path, Some(&admin), None).status, 204);
    let base = format!("/v3/policies/{p}/OS-ENDPOINT-POLICY");
    put(format!("{base}/endpoints/{}", l.in_child));
    put(format!("{base}/endpoints/{}", l.regionless));
    put(format!("{base}/services/{}", l.service));
    put(format!("{base}/services/{}/regions/Child", l.service));
    assert_eq!(associations(&s, &p), 4);

    // The endpoint: its association goes, the listing no longer fails on it.
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/endpoints/{}", l.in_child),
            Some(&admin),
            None
        )
        .status,
        204
    );
    assert_eq!(associations(&s, &p), 3);
    assert_eq!(
        s.get(&format!("{base}/endpoints"), Some(&admin)).status,
        200
    );

    // The region (emptied of endpoints first).
    assert_eq!(
        call(&s, "DELETE", "/v3/regions/Child", Some(&admin), None).status,
        204
    );
    assert_eq!(associations(&s, &p), 2);

    // The service, with its remaining endpoints.
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/services/{}", l.service),
            Some(&admin),
            None
        )
        .status,
        204
    );
    assert_eq!(associations(&s, &p), 0);

    // The policy.
    let service = create(
        &s,
        &admin,
        "/v3/services",
        "service",
        json!({"type": "other"}),
    );
    put(format!("{base}/services/{service}"));
    assert_eq!(associations(&s, &p), 1);
    assert_eq!(
        call(
            &s,
            "DELETE",
            &format!("/v3/policies/{p}"),
            Some(&admin),
            None
        )
        .status,
        204
    );
    assert_eq!(associations(&s, &p), 0);
}
