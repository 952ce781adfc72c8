//! Application credentials and access rules against the captured Python Keystone
//! exchanges in tests/vectors/http-delegation (ids substituted, role order normalised where
//! Keystone's own order depends on the database).

use crate::support::{Response, TestServer, role_id, send};
use keystone_rs::application_credential::store as ac_store;
use keystone_rs::assignment::store as roles;
use keystone_rs::identity::{NewUser, password, store as users};
use keystone_rs::resource::store as projects;
use serde_json::{Value, json};

/// Ids in the captures, replaced by ours before comparing.
const V_DEMO: &str = "f8291f48ca78442fa5c9697b6ef41b21";
const V_ADMIN: &str = "8560c4717acd4e1580a5a207455dd48d";
const V_PROJECT: &str = "46b115582bd04042ad350e97e7968b99";
const V_MEMBER: &str = "4c627dde7eab47d5b5ca7fb7554398ac";
const V_READER: &str = "b38f8b25dd6b4f6ba1613e0abcb3a0ed";
const V_AC_FULL: &str = "f0efb59336b54e7496b7e3d57449b386";
const V_AC_MIN: &str = "d44a9d93c0284c23a65351277e1f4ad0";
const V_RULE: &str = "4e5bad95a83d4774905af6351ac4d440";
const V_MIN_SECRET: &str =
    "XhlNx7xyc52Fq0MZ_TzBDG5cpdFj3QEQMMMvJEHWnuN0un_AkQ1VrGqZGz8HptTks9Xz_yXxumqqT-9nPMsISA";
const V_BASE: &str = "http://keystone.example.com:5000";

/// A secret hashed by Python Keystone 30's `password_hashing.hash_password` (bcrypt, 12).
const PY_SECRET: &str =
    "PythonHashedSecret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
const PY_HASH: &str = "$2b$12$K9aA0ZlPfn7THVWQE5iGaOGM2.QzaFEFgCJOqd6M5p4mv2MOaG2GC";

fn vector(name: &str) -> Value {
    let path = format!(
        "{}/../tests/vectors/http-delegation/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("vector JSON")
}

fn vector_status(v: &Value) -> u16 {
    v["status"]
        .as_str()
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("status")
}

/// The demo user of the captures: `member` (so also `reader`) on the admin project.
struct Fixture {
    s: TestServer,
    demo: String,
    admin: String,
    project: String,
    member: String,
    reader: String,
    token: String,
}

impl Fixture {
    fn new() -> Fixture {
        Self::with_conf("")
    }

    fn with_conf(conf: &str) -> Fixture {
        let s = TestServer::start_with(conf);
        let identity = s.config.identity.clone();
        let (demo, admin, project, member, reader) = s
            .db()
            .write_blocking(|conn| {
                let demo = uuid::Uuid::new_v4().simple().to_string();
                users::create_local(
                    conn,
                    &NewUser {
                        id: demo.clone(),
                        domain_id: "default".into(),
                        name: "demo".into(),
                        enabled: true,
                        default_project_id: None,
                        extra: Default::default(),
                        password_hash: Some(password::hash_password("demopw", &identity)?),
                    },
                )?;
                let admin = users::find_by_name(conn, "default", "admin")?.expect("admin");
                let project =
                    projects::find_project_by_name(conn, "default", "admin")?.expect("project");
                let member = roles::find_global_role_by_name(conn, "member")?.expect("member");
                let reader = roles::find_global_role_by_name(conn, "reader")?.expect("reader");
                roles::grant(
                    conn,
                    roles::AssignmentType::UserProject,
                    &demo,
                    &project.id,
                    &member.id,
                    false,
                )?;
                Ok((demo, admin.id, project.id, member.id, reader.id))
            })
            .expect("fixture");
        let token = demo_token(&s);
        Fixture {
            s,
            demo,
            admin,
            project,
            member,
            reader,
            token,
        }
    }

    fn acs(&self) -> String {
        format!("/v3/users/{}/application_credentials", self.demo)
    }

    fn create(&self, body: &Value) -> Response {
        self.s.post_json(&self.acs(), Some(&self.token), body)
    }

    fn create_ok(&self, body: &Value) -> Value {
        let r = self.create(body);
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["application_credential"].clone()
    }

    /// The capture's bytes with its ids replaced by ours.
    fn expected(&self, raw: &str, extra: &[(&str, &str)]) -> String {
        let mut text = raw
            .replace(V_DEMO, &self.demo)
            .replace(V_ADMIN, &self.admin)
            .replace(V_PROJECT, &self.project)
            .replace(V_MEMBER, &self.member)
            .replace(V_READER, &self.reader)
            .replace(V_BASE, &self.s.base);
        for (from, to) in extra {
            text = text.replace(from, to);
        }
        text
    }

    fn request(&self, method: &str, path: &str, token: &str) -> Response {
        self.s
            .request(method, path, &[("X-Auth-Token", token)], None)
    }
}

fn demo_token(s: &TestServer) -> String {
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "demo", "domain": {"id": "default"}, "password": "demopw"}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.subject_token()
}

fn ac_auth(s: &TestServer, payload: Value) -> Response {
    s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": payload}}}),
    )
}

/// Sort every `roles` array by name: Keystone reads them back in database order.
fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, inner) in m.iter_mut() {
                if let (true, Value::Array(items)) = (k == "roles", &mut *inner) {
                    items.sort_by_key(|r| r["name"].as_str().unwrap_or_default().to_string());
                }
                normalise(inner);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn normalised(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    normalise(&mut v);
    v
}

/// Create the two credentials of the captures and return their ids and the minimal secret.
fn create_captured(f: &Fixture) -> (String, String, String, String) {
    let r = f.create(
        &serde_json::from_str(
            vector("ac_create_minimal")["request"]["body"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let min = r.json()["application_credential"].clone();
    let min_id = min["id"].as_str().unwrap().to_string();
    let min_secret = min["secret"].as_str().unwrap().to_string();
    assert_eq!(min_secret.len(), 86);
    assert!(
        min_secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    let v = vector("ac_create_minimal");
    assert_eq!(
        r.body,
        f.expected(
            v["body_raw"].as_str().unwrap(),
            &[(V_AC_MIN, &min_id), (V_MIN_SECRET, &min_secret)]
        )
    );

    let v = vector("ac_create_full");
    let r = f.create(&serde_json::from_str(v["request"]["body"].as_str().unwrap()).unwrap());
    assert_eq!(r.status, 201, "{}", r.body);
    let full = r.json()["application_credential"].clone();
    let full_id = full["id"].as_str().unwrap().to_string();
    let rule_id = full["access_rules"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.body,
        f.expected(
            v["body_raw"].as_str().unwrap(),
            &[(V_AC_FULL, &full_id), (V_RULE, &rule_id)]
        )
    );
    (min_id, min_secret, full_id, rule_id)
}

#[test]
fn crud_bodies_match_the_captures() {
    let f = Fixture::new();
    let (min_id, _, full_id, rule_id) = create_captured(&f);
    let subst = [
        (V_AC_MIN, min_id.as_str()),
        (V_AC_FULL, full_id.as_str()),
        (V_RULE, rule_id.as_str()),
    ];
    let check = |name: &str, r: Response| {
        let v = vector(name);
        assert_eq!(r.status, vector_status(&v), "{name}: {}", r.body);
        let expected = f.expected(v["body_raw"].as_str().unwrap(), &subst);
        if r.body.is_empty() || expected.is_empty() {
            assert_eq!(r.body, expected, "{name}");
        } else {
            assert_eq!(normalised(&r.body), normalised(&expected), "{name}");
            assert!(
                r.body.ends_with('\n'),
                "{name}: resource bodies end with a newline"
            );
        }
    };
    check("ac_list", f.s.get(&f.acs(), Some(&f.token)));
    check(
        "ac_list_filter_name",
        f.s.get(&format!("{}?name=minimal", f.acs()), Some(&f.token)),
    );
    check(
        "ac_get",
        f.s.get(&format!("{}/{full_id}", f.acs()), Some(&f.token)),
    );
    check(
        "ac_get_unknown",
        f.s.get(&format!("{}/{}", f.acs(), "0".repeat(32)), Some(&f.token)),
    );
    check(
        "ar_list",
        f.s.get(
            &format!("/v3/users/{}/access_rules", f.demo),
            Some(&f.token),
        ),
    );
    check(
        "ar_get",
        f.s.get(
            &format!("/v3/users/{}/access_rules/{rule_id}", f.demo),
            Some(&f.token),
        ),
    );
    check(
        "ar_delete_in_use",
        f.request(
            "DELETE",
            &format!("/v3/users/{}/access_rules/{rule_id}", f.demo),
            &f.token,
        ),
    );
    check(
        "ac_delete",
        f.request("DELETE", &format!("{}/{full_id}", f.acs()), &f.token),
    );
    check(
        "ar_delete",
        f.request(
            "DELETE",
            &format!("/v3/users/{}/access_rules/{rule_id}", f.demo),
            &f.token,
        ),
    );
    check(
        "ar_get_unknown",
        f.s.get(
            &format!("/v3/users/{}/access_rules/{rule_id}", f.demo),
            Some(&f.token),
        ),
    );
    // Inexact filters work as Keystone's.
    let r =
        f.s.get(&format!("{}?name__icontains=MIN", f.acs()), Some(&f.token));
    assert_eq!(
        r.json()["application_credentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r =
        f.s.get(&format!("{}?name__contains=MIN", f.acs()), Some(&f.token));
    assert_eq!(
        r.json()["application_credentials"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // No update: 405 with flask-restful's body.
    let v = vector("ac_patch_405");
    let r = f.s.request(
        "PATCH",
        &format!("{}/{min_id}", f.acs()),
        &[
            ("X-Auth-Token", &f.token),
            ("Content-Type", "application/json"),
        ],
        Some(b"{}"),
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.body, v["body_raw"].as_str().unwrap());
}

#[test]
fn create_errors_match_the_captures() {
    let f = Fixture::new();
    f.create_ok(&json!({"application_credential": {"name": "monitoring"}}));
    for name in [
        "ac_create_duplicate_name",
        "ac_create_unassigned_role",
        "ac_create_unknown_role_name",
        "ac_create_bad_expiry",
        "ac_create_past_expiry",
        "ac_create_extra_field",
        "ac_create_no_name",
        "ac_create_bad_rule_method",
        "ac_create_other_user",
    ] {
        let v = vector(name);
        let path = f.expected(v["request"]["path"].as_str().unwrap(), &[]);
        let body: Value = serde_json::from_str(v["request"]["body"].as_str().unwrap()).unwrap();
        let r = f.s.post_json(&path, Some(&f.token), &body);
        assert_eq!(r.status, vector_status(&v), "{name}: {}", r.body);
        assert_eq!(
            r.body,
            f.expected(v["body_raw"].as_str().unwrap(), &[]),
            "{name}"
        );
    }
}

#[test]
fn bad_input_is_4xx_never_500() {
    let f = Fixture::new();
    let long_path = format!("/{}", "a".repeat(130));
    let cases: Vec<(Value, u16, &str)> = vec![
        // An unknown role id is "unassigned" (400), an unknown name 404.
        (
            json!({"name": "a", "roles": [{"id": "nosuch"}]}),
            400,
            "Invalid application credential: Cannot create an application credential with unassigned role",
        ),
        (
            json!({"name": "a", "roles": [{"name": "admin"}]}),
            400,
            "unassigned role",
        ),
        (
            json!({"name": "a", "roles": [{"name": "nosuch"}]}),
            404,
            "Role nosuch is not defined",
        ),
        (
            json!({"name": "a", "expires_at": "2001-01-01T00:00:00Z"}),
            400,
            "The 'expires_at' must not be before now.",
        ),
        (
            json!({"name": "a", "expires_at": "2099-12-31"}),
            400,
            "Timestamp not in expected format.",
        ),
        (
            json!({"name": "a", "access_rules": [{"service": "object_store", "path": "/v1", "method": "GET"}]}),
            400,
            "does not match",
        ),
        (
            json!({"name": "a", "access_rules": [{"id": "does-not-exist"}]}),
            400,
            "'service' is a required property",
        ),
        (
            json!({"name": "a", "access_rules": [{"service": "compute", "path": "/v2"}]}),
            400,
            "'method' is a required property",
        ),
        (
            json!({"name": "a", "access_rules": [{"service": "compute", "path": "/v2", "method": "GET", "foo": 1}]}),
            400,
            "'foo' is an invalid keyword argument for AccessRuleModel",
        ),
        (
            json!({"name": "a", "access_rules": [{"service": "compute", "path": long_path, "method": "GET"}]}),
            400,
            "exceeds the limit of column path(CHAR(128)).",
        ),
        (
            json!({"name": "a", "access_rules": "x"}),
            400,
            "is not of type 'array'",
        ),
        (
            json!({"name": "a", "access_rules": [5]}),
            400,
            "Invalid input for field/attribute 0. Value: 5. 5 is not of type 'object'",
        ),
        (
            json!({"name": "a", "system": "s".repeat(70)}),
            400,
            "exceeds the limit of column system(CHAR(64)).",
        ),
        (
            json!({"name": "a", "roles": [{"name": "member"}, {"name": "member"}]}),
            409,
            "Duplicate entry found with name a.",
        ),
        (
            json!({"name": "a", "access_rules": [
            {"service": "compute", "path": "/v2", "method": "GET"},
            {"service": "compute", "path": "/v2", "method": "GET"}]}),
            409,
            "Duplicate entry found with name a.",
        ),
    ];
    for (ac, status, text) in cases {
        let r = f.create(&json!({"application_credential": ac}));
        assert_eq!(r.status, status, "{ac}: {}", r.body);
        assert!(r.body.contains(text), "{ac}: {}", r.body);
    }
    // Nothing half-stored by the failures above.
    let r = f.s.get(&f.acs(), Some(&f.token));
    assert_eq!(r.json()["application_credentials"], json!([]));
    let r = f.s.get(
        &format!("/v3/users/{}/access_rules", f.demo),
        Some(&f.token),
    );
    assert_eq!(r.json()["access_rules"], json!([]), "{}", r.body);

    // Invalid JSON and a wrong body without a token: 400 before authentication.
    let r = f.s.request(
        "POST",
        &f.acs(),
        &[("Content-Type", "application/json")],
        Some(b"{x"),
    );
    assert_eq!(r.status, 400);
    let r = f.s.post_json(
        &f.acs(),
        None,
        &json!({"application_credential": {"foo": 1}}),
    );
    assert_eq!(r.status, 400);
    let r = f.s.post_json(
        &f.acs(),
        None,
        &json!({"application_credential": {"name": "x"}}),
    );
    assert_eq!(r.status, 401);

    // `?limit=` crashes Python Keystone; here it pages, and garbage is a 400.
    for n in 0..3 {
        f.create_ok(&json!({"application_credential": {"name": format!("p{n}")}}));
    }
    let r = f.s.get(&format!("{}?limit=abc", f.acs()), Some(&f.token));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = f.s.get(&format!("{}?limit=-1", f.acs()), Some(&f.token));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = f.s.get(&format!("{}?limit=2", f.acs()), Some(&f.token));
    assert_eq!(r.status, 200, "{}", r.body);
    let page = r.json();
    assert_eq!(page["application_credentials"].as_array().unwrap().len(), 2);
    assert_eq!(page["truncated"], json!(true));
    let next = page["links"]["next"].as_str().unwrap().to_string();
    let next = next.strip_prefix(&f.s.base).unwrap();
    let r = f.s.get(next, Some(&f.token));
    let rest = r.json();
    assert_eq!(
        rest["application_credentials"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    assert!(rest.get("truncated").is_none());
    let r = f.s.get(
        &format!("/v3/users/{}/access_rules?limit=x", f.demo),
        Some(&f.token),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn authentication_by_id_and_by_name() {
    let f = Fixture::new();
    let (min_id, min_secret, full_id, rule_id) = create_captured(&f);
    // By id: the captured token body, catalog aside.
    let v = vector("ac_auth_by_id");
    let r = ac_auth(&f.s, json!({"id": full_id, "secret": "rEaqvJka48mpv"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let mut got = r.json();
    let mut want = normalised(&f.expected(
        v["body_raw"].as_str().unwrap(),
        &[(V_AC_FULL, &full_id), (V_RULE, &rule_id)],
    ));
    normalise(&mut got);
    for t in [&mut got, &mut want] {
        let token = t["token"].as_object_mut().unwrap();
        for k in ["audit_ids", "expires_at", "issued_at", "catalog"] {
            token.insert(k.into(), Value::Null);
        }
    }
    assert_eq!(got, want);
    let order: Vec<String> = r.json()["token"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        order,
        [
            "methods",
            "user",
            "audit_ids",
            "expires_at",
            "issued_at",
            "project",
            "is_domain",
            "roles",
            "catalog",
            "application_credential"
        ]
    );

    // By name, the user by id and by name + domain (id or name).
    for user in [
        json!({"id": f.demo}),
        json!({"name": "demo", "domain": {"id": "default"}}),
        json!({"name": "demo", "domain": {"name": "Default"}}),
    ] {
        let r = ac_auth(
            &f.s,
            json!({"name": "minimal", "secret": min_secret, "user": user}),
        );
        assert_eq!(r.status, 201, "{user}: {}", r.body);
        assert_eq!(
            r.json()["token"]["application_credential"],
            json!({"id": min_id, "name": "minimal", "restricted": true})
        );
        assert_eq!(
            r.json()["token"]["methods"],
            json!(["application_credential"])
        );
    }
    // A spoofed user next to an id is replaced by the owner (LP#2148477).
    let r = ac_auth(
        &f.s,
        json!({"id": min_id, "secret": min_secret, "user": {"id": f.admin}}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["token"]["user"]["id"], json!(f.demo));

    // Failures, with Keystone's statuses.
    let cases = [
        (
            json!({"id": "nope", "secret": "x"}),
            404,
            "Could not find Application Credential: nope.",
        ),
        (
            json!({"id": min_id, "secret": "wrong"}),
            401,
            "requires authentication",
        ),
        (json!({"id": min_id}), 401, "requires authentication"),
        (
            json!({"name": "nope", "secret": "x", "user": {"id": f.demo}}),
            401,
            "requires authentication",
        ),
        (
            json!({"name": "minimal", "secret": "x", "user": {"name": "nosuch", "domain": {"id": "default"}}}),
            404,
            "Could not find user: nosuch.",
        ),
        (
            json!({"name": "minimal", "secret": "x", "user": {"name": "demo", "domain": {"id": "nosuch"}}}),
            401,
            "requires authentication",
        ),
        (
            json!({"secret": "x"}),
            400,
            "Expecting to find name or ID in application credential.",
        ),
        (
            json!({"name": "minimal", "secret": "x"}),
            400,
            "Expecting to find user in application credential.",
        ),
        (
            json!({"name": "minimal", "secret": "x", "user": {"name": "demo"}}),
            400,
            "Expecting to find domain in user.",
        ),
        (
            json!({"name": "minimal", "secret": "x", "user": {"domain": {"id": "default"}}}),
            400,
            "Expecting to find id or name in user.",
        ),
    ];
    for (payload, status, text) in cases {
        let r = ac_auth(&f.s, payload.clone());
        assert_eq!(r.status, status, "{payload}: {}", r.body);
        assert!(r.body.contains(text), "{payload}: {}", r.body);
    }
    // A scope is refused with the plugin's 401 (captured in tests/vectors/http).
    let r = f.s.post_json("/v3/auth/tokens", None, &json!({"auth": {
        "identity": {"methods": ["application_credential"], "application_credential": {"id": min_id, "secret": min_secret}},
        "scope": {"project": {"id": f.project}}}}));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        "{\"error\":{\"code\":401,\"identity\":{},\"message\":\"Error authenticating with application credential: Application credentials cannot request a scope.\",\"title\":\"Unauthorized\"}}\n"
    );
    // Also a scope that names nothing: Keystone refuses it before reading it.
    let r = f.s.post_json("/v3/auth/tokens", None, &json!({"auth": {
        "identity": {"methods": ["application_credential"], "application_credential": {"id": min_id, "secret": min_secret}},
        "scope": {}}}));
    assert_eq!(r.status, 401, "{}", r.body);
    // Rescoping a credential token is refused.
    let ac_token = ac_auth(&f.s, json!({"id": min_id, "secret": min_secret})).subject_token();
    let r = f.s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": ac_token}}}}),
    );
    assert_eq!(r.status, 403);
    assert!(
        r.body
            .contains("Using a delegated token to create another token is not allowed..")
    );
}

#[test]
fn secrets_hashed_by_python_keystone_authenticate() {
    let f = Fixture::new();
    let (demo, project, member) = (f.demo.clone(), f.project.clone(), f.member.clone());
    f.s.db()
        .write_blocking(move |conn| {
            ac_store::insert(
                conn,
                &ac_store::NewCredential {
                    id: "0123456789abcdef0123456789abcdef".into(),
                    name: "from-python".into(),
                    secret_hash: PY_HASH.into(),
                    description: None,
                    user_id: demo,
                    project_id: Some(project),
                    system: None,
                    expires_at: None,
                    unrestricted: None,
                    role_ids: vec![member],
                    access_rules: vec![],
                },
            )
        })
        .expect("insert");
    let r = ac_auth(
        &f.s,
        json!({"id": "0123456789abcdef0123456789abcdef", "secret": PY_SECRET}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // bcrypt reads 72 bytes: what follows does not matter, as in Keystone.
    let truncated = format!("{}zz", &PY_SECRET[..72]);
    let r = ac_auth(
        &f.s,
        json!({"id": "0123456789abcdef0123456789abcdef", "secret": truncated}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = ac_auth(
        &f.s,
        json!({"id": "0123456789abcdef0123456789abcdef", "secret": "nope"}),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn restricted_and_unrestricted_credential_tokens() {
    let f = Fixture::new();
    let restricted = f.create_ok(&json!({"application_credential": {"name": "r", "secret": "s1"}}));
    let unrestricted = f.create_ok(
        &json!({"application_credential": {"name": "u", "secret": "s2", "unrestricted": true}}),
    );
    let r_token = ac_auth(&f.s, json!({"id": restricted["id"], "secret": "s1"})).subject_token();
    let u_token = ac_auth(&f.s, json!({"id": unrestricted["id"], "secret": "s2"})).subject_token();

    let v = vector("ac_create_with_restricted_ac_token");
    let r = f.s.post_json(
        &f.acs(),
        Some(&r_token),
        &json!({"application_credential": {"name": "nested"}}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.body, v["body_raw"].as_str().unwrap());
    let r = f.request(
        "DELETE",
        &format!("{}/{}", f.acs(), unrestricted["id"].as_str().unwrap()),
        &r_token,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Restricted tokens may still read.
    assert_eq!(f.s.get(&f.acs(), Some(&r_token)).status, 200);
    assert_eq!(
        f.s.get(
            &format!("/v3/users/{}/access_rules", f.demo),
            Some(&r_token)
        )
        .status,
        200
    );

    // An unrestricted one may create and delete; its creations stay within its roles.
    let nested = f.s.post_json(
        &f.acs(),
        Some(&u_token),
        &json!({"application_credential": {"name": "nested"}}),
    );
    assert_eq!(nested.status, 201, "{}", nested.body);
    let r = f.s.post_json(
        &f.acs(),
        Some(&u_token),
        &json!({"application_credential": {"name": "n2", "roles": [{"name": "admin"}]}}),
    );
    assert_eq!(r.status, 400);
    let id = nested.json()["application_credential"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        f.request("DELETE", &format!("{}/{id}", f.acs()), &u_token)
            .status,
        204
    );
}

#[test]
fn policy_owner_and_admin() {
    let f = Fixture::new();
    let ac = f.create_ok(&json!({"application_credential": {"name": "mine"}}));
    let id = ac["id"].as_str().unwrap();
    let admin = f.s.admin_token();
    // Project admins may read and delete anyone's credentials.
    assert_eq!(
        f.s.get(&format!("{}/{id}", f.acs()), Some(&admin)).status,
        200
    );
    // The owner is checked against the credential, not the path.
    let other = format!("/v3/users/{}/application_credentials/{id}", f.admin);
    assert_eq!(f.s.get(&other, Some(&f.token)).status, 200);
    // A non-owner non-admin is refused even through their own path.
    let admin_ac = f.s.post_json(
        &format!("/v3/users/{}/application_credentials", f.admin),
        Some(&admin),
        &json!({"application_credential": {"name": "admins"}}),
    );
    assert_eq!(admin_ac.status, 201, "{}", admin_ac.body);
    let admin_ac_id = admin_ac.json()["application_credential"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r =
        f.s.get(&format!("{}/{admin_ac_id}", f.acs()), Some(&f.token));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("identity:get_application_credential"));
    // Listing another user's credentials needs admin.
    let r = f.s.get(
        &format!("/v3/users/{}/application_credentials", f.admin),
        Some(&f.token),
    );
    assert_eq!(r.status, 403);
    // Access rules: only the owner (or a system reader), not a project admin.
    let r =
        f.s.get(&format!("/v3/users/{}/access_rules", f.demo), Some(&admin));
    assert_eq!(r.status, 403, "{}", r.body);
    // An unscoped token may create a credential without project or roles.
    let r = f.s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"id": f.demo, "password": "demopw"}}}}}),
    );
    let unscoped = r.subject_token();
    let r = f.s.post_json(
        &f.acs(),
        Some(&unscoped),
        &json!({"application_credential": {"name": "unscoped"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.json()["application_credential"]["project_id"],
        Value::Null
    );
    assert_eq!(r.json()["application_credential"]["roles"], json!([]));
}

#[test]
fn access_rules_in_tokens_and_on_keystones_own_api() {
    let f = Fixture::new();
    let (_, _, full_id, _) = create_captured(&f);
    let r = ac_auth(&f.s, json!({"id": full_id, "secret": "rEaqvJka48mpv"}));
    let ac_token = r.subject_token();
    let admin = f.s.admin_token();
    // Validation needs the header announcing access-rules support.
    let v = vector("ac_validate_with_rules_no_header");
    let r = f.s.tokens("GET", "", &admin, &ac_token);
    assert_eq!(r.status, 404);
    assert_eq!(r.body, v["body_raw"].as_str().unwrap());
    for (value, status) in [("0.9", 404), ("1", 200), ("1.0", 200), ("garbage", 404)] {
        let r = f.s.request(
            "GET",
            "/v3/auth/tokens",
            &[
                ("X-Auth-Token", &admin),
                ("X-Subject-Token", &ac_token),
                ("OpenStack-Identity-Access-Rules", value),
            ],
            None,
        );
        assert_eq!(r.status, status, "{value}: {}", r.body);
    }
    let r = f.s.request(
        "GET",
        "/v3/auth/tokens",
        &[
            ("X-Auth-Token", &admin),
            ("X-Subject-Token", &ac_token),
            ("OpenStack-Identity-Access-Rules", "1"),
        ],
        None,
    );
    assert_eq!(
        r.json()["token"]["application_credential"],
        normalised(
            &f.expected(
                vector("ac_validate_with_rules_header")["body_raw"]
                    .as_str()
                    .unwrap(),
                &[
                    (V_AC_FULL, &full_id),
                    (
                        V_RULE,
                        r.json()["token"]["application_credential"]["access_rules"][0]["id"]
                            .as_str()
                            .unwrap()
                    )
                ]
            )
        )["token"]["application_credential"]
    );

    // On Keystone's own API (service type identity) the rules apply: the capture's rule is
    // for "monitoring", so everything is refused with the middleware's own 401 …
    let v = vector("ac_use_token_outside_rules");
    let r = f.s.get("/v3/auth/projects", Some(&ac_token));
    assert_eq!(r.status, 401);
    assert_eq!(r.body, v["body_raw"].as_str().unwrap());
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some(format!("Keystone uri=\"{}\"", f.s.base).as_str())
    );
    // … except validating itself (the subject still needs the header).
    let r = f.s.request(
        "GET",
        "/v3/auth/tokens",
        &[
            ("X-Auth-Token", &ac_token),
            ("X-Subject-Token", &ac_token),
            ("OpenStack-Identity-Access-Rules", "1"),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // A credential whose rules allow GET /v3/users/* on identity.
    let ac = f.create_ok(&json!({"application_credential": {"name": "idrules", "secret": "s",
        "access_rules": [{"service": "identity", "method": "GET", "path": "/v3/users/*/application_credentials"}]}}));
    let token = ac_auth(&f.s, json!({"id": ac["id"], "secret": "s"})).subject_token();
    assert_eq!(f.s.get(&f.acs(), Some(&token)).status, 200);
    assert_eq!(f.s.get(&format!("{}/", f.acs()), Some(&token)).status, 200);
    assert_eq!(
        f.s.get(&format!("/v3/users/{}/access_rules", f.demo), Some(&token))
            .status,
        401
    );
    // A valid service token lets the request through (service-to-service chains).
    let r = f.s.request(
        "GET",
        &format!("/v3/users/{}/access_rules", f.demo),
        &[("X-Auth-Token", &token), ("X-Service-Token", &admin)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // Rules are per user and de-duplicated: the same triple gives the same rule id.
    let again = f.create_ok(&json!({"application_credential": {"name": "idrules2",
        "access_rules": [{"service": "identity", "method": "GET", "path": "/v3/users/*/application_credentials"}]}}));
    assert_eq!(again["access_rules"][0]["id"], ac["access_rules"][0]["id"]);
    // An existing rule can be referenced by id alone; a client may choose a new rule's id.
    let by_id = f.create_ok(&json!({"application_credential": {"name": "byid",
        "access_rules": [{"id": ac["access_rules"][0]["id"]}]}}));
    assert_eq!(by_id["access_rules"], ac["access_rules"]);
    let chosen = f.create_ok(&json!({"application_credential": {"name": "chosen",
        "access_rules": [{"id": "my-rule", "service": "compute", "method": "GET", "path": "/v2.1/**"}]}}));
    assert_eq!(chosen["access_rules"][0]["id"], json!("my-rule"));
    // Another user's rule id is "not found".
    let admin_ac = f.s.post_json(
        &format!("/v3/users/{}/application_credentials", f.admin),
        Some(&admin),
        &json!({"application_credential": {"name": "steal", "access_rules": [{"id": "my-rule"}]}}),
    );
    assert_eq!(admin_ac.status, 404, "{}", admin_ac.body);
    assert!(
        admin_ac
            .body
            .contains("Could not find Access Rule: my-rule.")
    );
    let r = f.s.get(
        &format!("/v3/users/{}/access_rules?service=identity", f.demo),
        Some(&f.token),
    );
    assert_eq!(
        r.json()["access_rules"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
}

#[test]
fn cascades_and_what_does_not_cascade() {
    let f = Fixture::new();
    let (min_id, min_secret, full_id, _) = create_captured(&f);
    let admin = f.s.admin_token();
    let full_token =
        ac_auth(&f.s, json!({"id": full_id, "secret": "rEaqvJka48mpv"})).subject_token();
    let min_token = ac_auth(&f.s, json!({"id": min_id, "secret": min_secret})).subject_token();
    let validate = |t: &str| {
        f.s.request(
            "GET",
            "/v3/auth/tokens",
            &[
                ("X-Auth-Token", &admin),
                ("X-Subject-Token", t),
                ("OpenStack-Identity-Access-Rules", "1"),
            ],
            None,
        )
    };
    assert_eq!(validate(&min_token).status, 200);

    // Deleting the credential: its tokens fail with Keystone's 404 (no revocation event).
    assert_eq!(
        f.request("DELETE", &format!("{}/{full_id}", f.acs()), &f.token)
            .status,
        204
    );
    let v = vector("ac_validate_token_after_delete");
    let r = validate(&full_token);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        f.expected(v["body_raw"].as_str().unwrap(), &[(V_AC_FULL, &full_id)])
    );
    assert_eq!(
        ac_auth(&f.s, json!({"id": full_id, "secret": "rEaqvJka48mpv"})).status,
        404
    );

    // Revoking the grant keeps the credential; its tokens lose the roles (404 when none).
    let (demo, project, member) = (f.demo.clone(), f.project.clone(), f.member.clone());
    let revoke = move |conn: &mut keystone_rs::db::AnyConnection| {
        use diesel::prelude::*;
        use keystone_rs::db::schema::assignment;
        diesel::delete(
            assignment::table
                .filter(assignment::actor_id.eq(&demo))
                .filter(assignment::target_id.eq(&project))
                .filter(assignment::role_id.eq(&member)),
        )
        .execute(conn)?;
        Ok(())
    };
    f.s.db().write_blocking(revoke).expect("revoke");
    let r = validate(&min_token);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["error"]["message"],
        json!(format!("Could not find token: {min_token}."))
    );
    assert_eq!(
        ac_auth(&f.s, json!({"id": min_id, "secret": min_secret})).status,
        401
    );
    let (demo, project, member) = (f.demo.clone(), f.project.clone(), f.member.clone());
    f.s.db()
        .write_blocking(move |conn| {
            roles::grant(
                conn,
                roles::AssignmentType::UserProject,
                &demo,
                &project,
                &member,
                false,
            )
        })
        .expect("regrant");
    assert_eq!(validate(&min_token).status, 200);

    // Deleting a role: every credential of a user with a direct grant of it on the project.
    let member = f.member.clone();
    f.s.db()
        .write_blocking(move |conn| ac_store::delete_for_role(conn, &member))
        .expect("role cascade");
    let r = validate(&min_token);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["error"]["message"],
        json!(format!("Could not find Application Credential: {min_id}."))
    );

    // Deleting the user: credentials and access rules.
    let again = f.create_ok(
        &json!({"application_credential": {"name": "again", "secret": "s",
        "access_rules": [{"service": "compute", "method": "GET", "path": "/x"}]}}),
    );
    let demo = f.demo.clone();
    f.s.db()
        .write_blocking(move |conn| ac_store::delete_for_user(conn, &demo))
        .expect("user cascade");
    assert_eq!(
        ac_auth(&f.s, json!({"id": again["id"], "secret": "s"})).status,
        404
    );
    let demo = f.demo.clone();
    let left =
        f.s.db()
            .read_blocking(move |conn| ac_store::list_rules(conn, &demo))
            .expect("rules");
    assert!(left.is_empty());
}

#[test]
fn expiry_caps_tokens_and_ends_authentication() {
    let f = Fixture::new();
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(10))
        .format("%Y-%m-%dT%H:%M:%S.123456")
        .to_string();
    let ac = f.create_ok(
        &json!({"application_credential": {"name": "soon", "secret": "s", "expires_at": soon}}),
    );
    assert_eq!(ac["expires_at"], json!(soon));
    let r = ac_auth(&f.s, json!({"id": ac["id"], "secret": "s"}));
    assert_eq!(r.status, 201);
    let capped = format!("{}.000000Z", &soon[..19]);
    assert_eq!(r.json()["token"]["expires_at"], json!(capped));
    // Expired (arranged in the database): 401.
    let id = ac["id"].as_str().unwrap().to_string();
    f.s.db()
        .write_blocking(move |conn| {
            use diesel::prelude::*;
            use keystone_rs::db::schema::application_credential as t;
            diesel::update(t::table.filter(t::id.eq(&id)))
                .set(t::expires_at.eq(Some(1_000_000i64)))
                .execute(conn)?;
            Ok(())
        })
        .expect("expire");
    assert_eq!(
        ac_auth(&f.s, json!({"id": ac["id"], "secret": "s"})).status,
        401
    );
}

#[test]
fn user_limit_is_enforced() {
    let f = Fixture::with_conf("[application_credential]\nuser_limit = 1\n");
    f.create_ok(&json!({"application_credential": {"name": "one"}}));
    let r = f.create(&json!({"application_credential": {"name": "two"}}));
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Unable to create additional application credentials, maximum of 1 already exceeded for user."));
    let _ = (&f.reader, &f.admin);
}

// ---- cascades through the public APIs ---------------------------------------------------

fn created_id(r: &Response, kind: &str) -> String {
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()[kind]["id"].as_str().unwrap().to_string()
}

/// A user of `domain` created through the API, granted `roles` on `project`.
fn api_user(s: &TestServer, admin: &str, domain: &str, project: &str, roles: &[&str]) -> String {
    let name = uuid::Uuid::new_v4().simple().to_string();
    let r = s.post_json(
        "/v3/users",
        Some(admin),
        &json!({"user": {"name": name, "domain_id": domain, "password": "pw"}}),
    );
    let user = created_id(&r, "user");
    grant(s, admin, project, &user, roles);
    user
}

fn grant(s: &TestServer, admin: &str, project: &str, user: &str, roles: &[&str]) {
    for role in roles {
        let r = send(
            s,
            "PUT",
            &format!("/v3/projects/{project}/users/{user}/roles/{role}"),
            admin,
            None,
        );
        assert_eq!(r.status, 204, "{}", r.body);
    }
}

fn api_project(s: &TestServer, admin: &str, domain: &str) -> String {
    let name = uuid::Uuid::new_v4().simple().to_string();
    let r = s.post_json(
        "/v3/projects",
        Some(admin),
        &json!({"project": {"name": name, "domain_id": domain}}),
    );
    created_id(&r, "project")
}

/// A credential of `user` on `project` (with an access rule, so the user owns one), and a
/// token issued through it.
struct Issued {
    id: String,
    token: String,
}

fn issue_credential(s: &TestServer, user: &str, project: &str, roles: Value) -> Issued {
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": user, "password": "pw"}}}, "scope": {"project": {"id": project}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let user_token = r.subject_token();
    let name = uuid::Uuid::new_v4().simple().to_string();
    let r = s.post_json(
        &format!("/v3/users/{user}/application_credentials"),
        Some(&user_token),
        &json!({"application_credential": {"name": name, "secret": "s", "roles": roles,
            "access_rules": [{"service": "identity", "method": "GET", "path": "/v3/auth/tokens"}]}}),
    );
    let id = created_id(&r, "application_credential");
    let token = ac_auth(s, json!({"id": id, "secret": "s"})).subject_token();
    Issued { id, token }
}

fn validate_on(s: &TestServer, admin: &str, token: &str) -> Response {
    s.request(
        "GET",
        "/v3/auth/tokens",
        &[
            ("X-Auth-Token", admin),
            ("X-Subject-Token", token),
            ("OpenStack-Identity-Access-Rules", "1"),
        ],
        None,
    )
}

fn assert_404(r: &Response, message: &str) {
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        r.body,
        format!(
            "{{\"error\":{{\"code\":404,\"message\":\"{message}\",\"title\":\"Not Found\"}}}}\n"
        )
    );
}

/// Rows the user still has: credentials, access rules, links of credentials that are gone.
fn leftovers(s: &TestServer, user: &str) -> (i64, i64, i64) {
    use diesel::prelude::*;
    use keystone_rs::db::schema::{
        access_rule, application_credential as ac, application_credential_access_rule as acar,
        application_credential_role as acr,
    };
    let user = user.to_string();
    s.db()
        .read_blocking(move |conn| {
            let acs: i64 = ac::table
                .filter(ac::user_id.eq(&user))
                .count()
                .get_result(conn)?;
            let rules: i64 = access_rule::table
                .filter(access_rule::user_id.eq(&user))
                .count()
                .get_result(conn)?;
            let live = ac::table.select(ac::internal_id);
            let orphans: i64 = acr::table
                .filter(acr::application_credential_id.ne_all(live))
                .count()
                .get_result::<i64>(conn)?
                + acar::table
                    .filter(
                        acar::application_credential_id.ne_all(ac::table.select(ac::internal_id)),
                    )
                    .count()
                    .get_result::<i64>(conn)?;
            Ok((acs, rules, orphans))
        })
        .expect("leftovers")
}

#[test]
fn deleting_the_owner_deletes_credentials_and_rules_and_their_tokens_fail() {
    let s = TestServer::start();
    let node2 = s.second_node();
    let admin = s.admin_token();
    let member = role_id(&s, &admin, "member");
    let project = api_project(&s, &admin, "default");
    let user = api_user(&s, &admin, "default", &project, &[&member]);
    let issued = issue_credential(&s, &user, &project, json!([]));
    // An EC2-style credential too: with foreign keys on, every dependent row must go first.
    let u = user.clone();
    s.db()
        .write_blocking(move |conn| {
            use diesel::prelude::*;
            use keystone_rs::db::schema::credential as c;
            diesel::insert_into(c::table)
                .values((
                    c::id.eq(uuid::Uuid::new_v4().simple().to_string()),
                    c::user_id.eq(&u),
                    c::type_.eq("ec2"),
                    c::key_hash.eq("k"),
                    c::encrypted_blob.eq("b"),
                ))
                .execute(conn)?;
            Ok(())
        })
        .expect("credential row");
    assert_eq!(validate_on(&node2, &admin, &issued.token).status, 200);
    assert_eq!(leftovers(&s, &user), (1, 1, 0));

    let r = send(&s, "DELETE", &format!("/v3/users/{user}"), &admin, None);
    assert_eq!(r.status, 204, "{}", r.body);

    // Keystone: the user's revocation event and absence answer first.
    for node in [&s, &node2] {
        assert_404(
            &validate_on(node, &admin, &issued.token),
            &format!("Could not find user: {user}."),
        );
    }
    assert_404(
        &ac_auth(&node2, json!({"id": issued.id, "secret": "s"})),
        &format!("Could not find Application Credential: {}.", issued.id),
    );
    assert_eq!(leftovers(&s, &user), (0, 0, 0));
    let u = user.clone();
    let creds: i64 = s
        .db()
        .read_blocking(move |conn| {
            use diesel::prelude::*;
            use keystone_rs::db::schema::credential as c;
            Ok(c::table
                .filter(c::user_id.eq(&u))
                .count()
                .get_result(conn)?)
        })
        .unwrap();
    assert_eq!(creds, 0);
}

#[test]
fn deleting_a_role_deletes_the_credentials_of_its_direct_holders_on_that_project() {
    let s = TestServer::start();
    let node2 = s.second_node();
    let admin = s.admin_token();
    let member = role_id(&s, &admin, "member");
    let r = s.post_json(
        "/v3/roles",
        Some(&admin),
        &json!({"role": {"name": "doomed"}}),
    );
    let doomed = created_id(&r, "role");
    let (p1, p2) = (
        api_project(&s, &admin, "default"),
        api_project(&s, &admin, "default"),
    );
    let user = api_user(&s, &admin, "default", &p1, &[&member, &doomed]);
    grant(&s, &admin, &p2, &user, &[&member]);
    // A credential without the role goes too: Keystone deletes all of the user's on p1.
    let on_p1 = issue_credential(&s, &user, &p1, json!([{"id": member}]));
    let on_p2 = issue_credential(&s, &user, &p2, json!([]));
    // A holder through a group keeps theirs (Keystone looks at direct grants only).
    let other = api_user(&s, &admin, "default", &p1, &[&member]);
    let r = s.post_json(
        "/v3/groups",
        Some(&admin),
        &json!({"group": {"name": "holders", "domain_id": "default"}}),
    );
    let group = created_id(&r, "group");
    assert_eq!(
        send(
            &s,
            "PUT",
            &format!("/v3/groups/{group}/users/{other}"),
            &admin,
            None
        )
        .status,
        204
    );
    assert_eq!(
        send(
            &s,
            "PUT",
            &format!("/v3/projects/{p1}/groups/{group}/roles/{doomed}"),
            &admin,
            None
        )
        .status,
        204
    );
    let others = issue_credential(&s, &other, &p1, json!([{"id": member}]));
    for t in [&on_p1.token, &on_p2.token, &others.token] {
        assert_eq!(validate_on(&node2, &admin, t).status, 200);
    }

    let r = send(&s, "DELETE", &format!("/v3/roles/{doomed}"), &admin, None);
    assert_eq!(r.status, 204, "{}", r.body);

    for node in [&s, &node2] {
        assert_404(
            &validate_on(node, &admin, &on_p1.token),
            &format!("Could not find Application Credential: {}.", on_p1.id),
        );
        assert_eq!(validate_on(node, &admin, &on_p2.token).status, 200);
        assert_eq!(validate_on(node, &admin, &others.token).status, 200);
    }
    assert_404(
        &s.get(
            &format!("/v3/users/{user}/application_credentials/{}", on_p1.id),
            Some(&admin),
        ),
        &format!("Could not find Application Credential: {}.", on_p1.id),
    );
    // The rules stay (they are the user's), and no link rows are left behind.
    assert_eq!(leftovers(&s, &user), (1, 1, 0));
}

#[test]
fn project_deletion_and_grant_removal_keep_credentials_as_keystone_does() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let member = role_id(&s, &admin, "member");
    let project = api_project(&s, &admin, "default");
    let user = api_user(&s, &admin, "default", &project, &[&member]);
    let issued = issue_credential(&s, &user, &project, json!([]));

    // Grant removed: the credential stays; its tokens lose their only role.
    let r = send(
        &s,
        "DELETE",
        &format!("/v3/projects/{project}/users/{user}/roles/{member}"),
        &admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_404(
        &validate_on(&s, &admin, &issued.token),
        &format!("Could not find token: {}.", issued.token),
    );
    let path = format!("/v3/users/{user}/application_credentials/{}", issued.id);
    assert_eq!(s.get(&path, Some(&admin)).status, 200);
    grant(&s, &admin, &project, &user, &[&member]);
    let token = ac_auth(&s, json!({"id": issued.id, "secret": "s"})).subject_token();

    // Project deleted: the credential stays with a dangling project; its tokens fail.
    let r = send(
        &s,
        "DELETE",
        &format!("/v3/projects/{project}"),
        &admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_404(
        &validate_on(&s, &admin, &token),
        &format!("Could not find project: {project}."),
    );
    assert_404(
        &ac_auth(&s, json!({"id": issued.id, "secret": "s"})),
        &format!("Could not find project: {project}."),
    );
    assert_eq!(s.get(&path, Some(&admin)).status, 200);
}

#[test]
fn domain_deletion_deletes_its_users_credentials_through_the_user_delete() {
    let s = TestServer::start();
    let node2 = s.second_node();
    let admin = s.admin_token();
    let member = role_id(&s, &admin, "member");
    let r = s.post_json(
        "/v3/domains",
        Some(&admin),
        &json!({"domain": {"name": "doomed"}}),
    );
    let domain = created_id(&r, "domain");
    let project = api_project(&s, &admin, &domain);
    let user = api_user(&s, &admin, &domain, &project, &[&member]);
    let issued = issue_credential(&s, &user, &project, json!([]));
    let r = s.post_json(
        "/v3/groups",
        Some(&admin),
        &json!({"group": {"name": "g", "domain_id": domain}}),
    );
    let group = created_id(&r, "group");
    assert_eq!(
        send(
            &s,
            "PUT",
            &format!("/v3/groups/{group}/users/{user}"),
            &admin,
            None
        )
        .status,
        204
    );
    assert_eq!(validate_on(&node2, &admin, &issued.token).status, 200);

    let r = send(
        &s,
        "PATCH",
        &format!("/v3/domains/{domain}"),
        &admin,
        Some(&json!({"domain": {"enabled": false}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(&s, "DELETE", &format!("/v3/domains/{domain}"), &admin, None);
    assert_eq!(r.status, 204, "{}", r.body);

    for node in [&s, &node2] {
        assert_404(
            &validate_on(node, &admin, &issued.token),
            &format!("Could not find project: {project}."),
        );
    }
    assert_404(
        &ac_auth(&s, json!({"id": issued.id, "secret": "s"})),
        &format!("Could not find Application Credential: {}.", issued.id),
    );
    assert_eq!(leftovers(&s, &user), (0, 0, 0));
    assert_eq!(
        s.get(&format!("/v3/users/{user}"), Some(&admin)).status,
        404
    );
    assert_eq!(
        s.get(&format!("/v3/groups/{group}"), Some(&admin)).status,
        404
    );
}

/// An `application_credential.id` that is not a string. Keystone has no schema for this
/// method's payload (keystone/auth/schema.py covers `password` and `token` only) and looks
/// the value up as given while working out the scope: on its SQLite deployment a number or
/// a boolean finds nothing, a 404 naming `str()` of the value. keystone-rs answers the same.
#[test]
fn credential_id_that_is_not_a_string_is_not_found() {
    let s = TestServer::start();
    for (id, shown) in [(json!(5), "5"), (json!(1.5), "1.5"), (json!(true), "True")] {
        let r = ac_auth(&s, json!({"id": id, "secret": "x"}));
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(
            r.json()["error"]["message"],
            format!("Could not find Application Credential: {shown}."),
            "{}",
            r.body
        );
    }
}
