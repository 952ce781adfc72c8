//! OS-TRUST: the trust API, trust-scoped tokens and what invalidates them, against Keystone's
//! captured bodies (tests/vectors/http/trust_*.json) and the rules of keystone/trust and
//! keystone/models/token_model.py.

use crate::support::{Response, TestServer, role_id, send, vector_body, vector_status};
use serde_json::{Value, json};

/// Ids and base URL in the captures, replaced by ours before comparing.
const V_TRUST: &str = "98faaa8b69284020812717d88634a23b";
const V_TRUSTOR: &str = "200253cffa22451c8350f7c58db5f533";
const V_TRUSTEE: &str = "bc787dfd4ad24b0b9f7d87d5d4fb5a92";
const V_PROJECT: &str = "a3cc579400c742a393ed1babe12a9886";
const V_MEMBER: &str = "e34556a6d33f4e66a3d8ed5292be7d54";
const V_READER: &str = "1adb34826f224ccdaad8c5999f80155b";
const V_BASE: &str = "http://keystone.example.com:5000";

const PASS: &str = "trust-pass-1";

/// A trustor with `member` (so `reader`) on a project, a trustee and a stranger.
struct Fixture {
    s: TestServer,
    admin: String,
    project: String,
    trustor: String,
    trustee: String,
    stranger: String,
    member: String,
    reader: String,
    /// The trustor's project token.
    token: String,
}

impl Fixture {
    fn new() -> Fixture {
        Self::on(TestServer::start())
    }

    fn on(s: TestServer) -> Fixture {
        let admin = s.admin_token();
        let project = s.make_project("trust-p1", "default", None);
        let trustor = s.make_user("trustor", "default", PASS);
        let trustee = s.make_user("trustee", "default", PASS);
        let stranger = s.make_user("stranger", "default", PASS);
        let member = role_id(&s, &admin, "member");
        let reader = role_id(&s, &admin, "reader");
        let f = Fixture {
            token: String::new(),
            s,
            admin,
            project,
            trustor,
            trustee,
            stranger,
            member,
            reader,
        };
        f.grant(&f.trustor, &f.member);
        let token = f.project_token(&f.trustor);
        Fixture { token, ..f }
    }

    fn grant(&self, user: &str, role: &str) {
        let path = format!("/v3/projects/{}/users/{user}/roles/{role}", self.project);
        let r = send(&self.s, "PUT", &path, &self.admin, None);
        assert_eq!(r.status, 204, "{}", r.body);
    }

    fn auth(&self, user: &str, scope: Option<Value>) -> Response {
        let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
            "id": user, "password": PASS}}}});
        if let Some(scope) = scope {
            auth["scope"] = scope;
        }
        self.s
            .post_json("/v3/auth/tokens", None, &json!({ "auth": auth }))
    }

    fn project_token(&self, user: &str) -> String {
        let r = self.auth(user, Some(json!({"project": {"id": self.project}})));
        assert_eq!(r.status, 201, "{}", r.body);
        r.subject_token()
    }

    fn trust_auth(&self, user: &str, trust_id: &str) -> Response {
        self.auth(user, Some(json!({"OS-TRUST:trust": {"id": trust_id}})))
    }

    fn trust_token(&self, trust_id: &str) -> String {
        let r = self.trust_auth(&self.trustee, trust_id);
        assert_eq!(r.status, 201, "{}", r.body);
        r.subject_token()
    }

    fn body(&self, extra: Value) -> Value {
        let mut t = json!({
            "trustor_user_id": self.trustor,
            "trustee_user_id": self.trustee,
            "project_id": self.project,
            "impersonation": false,
            "roles": [{"id": self.member}],
        });
        for (k, v) in extra.as_object().expect("object") {
            t[k] = v.clone();
        }
        json!({ "trust": t })
    }

    fn create_as(&self, token: &str, body: &Value) -> Response {
        self.s.post_json("/v3/OS-TRUST/trusts", Some(token), body)
    }

    fn create(&self, extra: Value) -> String {
        let r = self.create_as(&self.token, &self.body(extra));
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["trust"]["id"].as_str().unwrap().to_string()
    }

    fn validate(&self, token: &str) -> Response {
        self.s.tokens("GET", "", &self.admin, token)
    }
}

fn error_message(r: &Response) -> String {
    r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn create_answers_keystones_body() {
    let f = Fixture::new();
    let r = f.create_as(&f.token, &f.body(json!({})));
    assert_eq!(r.status, vector_status("trust_create"));
    let id = r.json()["trust"]["id"].as_str().unwrap().to_string();
    let ours = r
        .body
        .replace(&f.s.base, V_BASE)
        .replace(&id, V_TRUST)
        .replace(&f.trustor, V_TRUSTOR)
        .replace(&f.trustee, V_TRUSTEE)
        .replace(&f.project, V_PROJECT)
        .replace(&f.member, V_MEMBER);
    assert_eq!(ours.trim_end(), vector_body("trust_create").trim_end());
}

#[test]
fn get_list_roles_and_delete() {
    let f = Fixture::new();
    let id = f.create(json!({"impersonation": true, "remaining_uses": 5, "expires_at": "2199-01-01T00:00:00.123456Z", "custom": "kept"}));
    let path = format!("/v3/OS-TRUST/trusts/{id}");
    // Trustor and trustee read it; the stranger may not.
    let t = f.s.get(&path, Some(&f.token));
    assert_eq!(t.status, 200, "{}", t.body);
    let t = t.json()["trust"].clone();
    assert_eq!(t["expires_at"], "2199-01-01T00:00:00.123456Z");
    assert_eq!(t["remaining_uses"], 5);
    assert_eq!(t["impersonation"], true);
    assert_eq!(
        t["custom"], "kept",
        "additional properties are kept as Keystone does"
    );
    assert_eq!(t["roles"][0]["id"], json!(f.member));
    let trustee = f.project_token(&f.trustee_with_role());
    assert_eq!(f.s.get(&path, Some(&trustee)).status, 200);
    let stranger = f.stranger_token();
    assert_eq!(f.s.get(&path, Some(&stranger)).status, 403);

    // Lists: by trustor, by trustee, everything (admin only), and a parameter that is
    // neither lists nothing, as in Keystone.
    let by_trustor = f.s.get(
        &format!("/v3/OS-TRUST/trusts?trustor_user_id={}", f.trustor),
        Some(&f.token),
    );
    assert_eq!(by_trustor.status, 200, "{}", by_trustor.body);
    let listed = &by_trustor.json()["trusts"];
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("roles").is_none());
    assert_eq!(
        listed[0]["links"]["self"],
        json!(format!("{}/v3/OS-TRUST/trusts/{id}", f.s.base))
    );
    let by_trustee = f.s.get(
        &format!("/v3/OS-TRUST/trusts?trustee_user_id={}", f.trustee),
        Some(&trustee),
    );
    assert_eq!(by_trustee.json()["trusts"].as_array().unwrap().len(), 1);
    assert_eq!(
        f.s.get(
            &format!("/v3/OS-TRUST/trusts?trustor_user_id={}", f.trustor),
            Some(&stranger)
        )
        .status,
        403
    );
    assert_eq!(f.s.get("/v3/OS-TRUST/trusts", Some(&f.token)).status, 403);
    let all = f.s.get("/v3/OS-TRUST/trusts", Some(&f.admin));
    assert_eq!(all.status, 200);
    assert_eq!(all.json()["trusts"].as_array().unwrap().len(), 1);
    let odd = f.s.get("/v3/OS-TRUST/trusts?foo=bar", Some(&f.admin));
    assert_eq!(odd.json()["trusts"], json!([]));

    // Roles of the trust.
    let roles = f.s.get(&format!("{path}/roles"), Some(&f.token));
    assert_eq!(roles.status, 200);
    assert_eq!(roles.json()["roles"][0]["id"], json!(f.member));
    assert_eq!(
        roles.json()["links"]["self"],
        json!(format!("{}/v3/{id}/roles", f.s.base))
    );
    let one =
        f.s.get(&format!("{path}/roles/{}", f.member), Some(&f.token));
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["role"]["name"], "member");
    let other =
        f.s.get(&format!("{path}/roles/{}", f.reader), Some(&f.token));
    assert_eq!(other.status, 404);
    assert_eq!(
        error_message(&other),
        format!("Could not find role: {}.", f.reader)
    );
    let head =
        f.s.request("HEAD", &path, &[("X-Auth-Token", f.token.as_str())], None);
    assert_eq!(head.status, 200);

    // Only the trustor (or an admin) deletes; then it is gone.
    assert_eq!(send(&f.s, "DELETE", &path, &trustee, None).status, 403);
    assert_eq!(send(&f.s, "DELETE", &path, &f.token, None).status, 204);
    let gone = f.s.get(&path, Some(&f.token));
    assert_eq!(gone.status, 404);
    assert_eq!(error_message(&gone), format!("Could not find trust: {id}."));
    assert_eq!(send(&f.s, "DELETE", &path, &f.token, None).status, 404);
}

impl Fixture {
    /// The trustee with a role of its own on the project (for a project token).
    fn trustee_with_role(&self) -> String {
        self.grant(&self.trustee, &self.reader);
        self.trustee.clone()
    }

    fn stranger_token(&self) -> String {
        self.grant(&self.stranger, &self.reader);
        self.project_token(&self.stranger)
    }
}

#[test]
fn create_rules_in_keystones_order_and_words() {
    let f = Fixture::new();
    let cases: Vec<(Value, u16, String)> = vec![
        (
            json!({"trust": {"trustor_user_id": f.trustor}}),
            400,
            format!(
                "Invalid input for field/attribute trust. Value: {{'trustor_user_id': '{}'}}. \
                 'trustee_user_id' is a required property",
                f.trustor
            ),
        ),
        (
            f.body(json!({"remaining_uses": 0})),
            400,
            "Invalid input for field/attribute remaining_uses. Value: 0. 0 is less than the \
             minimum of 1"
                .into(),
        ),
        (
            f.body(json!({"roles": []})),
            403,
            "You are not authorized to perform the requested action: At least one role should \
             be specified."
                .into(),
        ),
        (
            f.body(json!({"trustor_user_id": f.trustee})),
            403,
            String::new(),
        ),
        (
            f.body(json!({"trustee_user_id": "nobody"})),
            404,
            "Could not find user: nobody.".into(),
        ),
        (
            f.body(json!({"roles": [{"name": "no-such-role"}]})),
            404,
            "Role no-such-role is not defined".into(),
        ),
        (
            f.body(json!({"roles": [{"name": "admin"}]})),
            404,
            String::new(),
        ),
        (
            f.body(json!({"project_id": "nowhere"})),
            404,
            "Could not find project: nowhere.".into(),
        ),
        (
            f.body(json!({"expires_at": "not a time"})),
            400,
            String::new(),
        ),
        (
            f.body(json!({"expires_at": "2001-01-01T00:00:00Z"})),
            400,
            String::new(),
        ),
        (
            f.body(json!({"allow_redelegation": true, "remaining_uses": 2})),
            400,
            "remaining_uses must not be set if redelegation is allowed".into(),
        ),
        (
            f.body(json!({"allow_redelegation": true, "redelegation_count": 99})),
            403,
            "You are not authorized to perform the requested action.".into(),
        ),
    ];
    for (body, status, message) in cases {
        let r = f.create_as(&f.token, &body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        if !message.is_empty() {
            assert_eq!(error_message(&r), message, "{body}");
        }
    }
    // Bad input of every shape is a 400, never a 500.
    for raw in [
        "not json",
        "[]",
        "{\"trust\": []}",
        "{\"trust\": {\"trustor_user_id\": 1, \"trustee_user_id\": 2, \"impersonation\": 3}}",
        "{\"trust\": {\"trustor_user_id\": \"a\", \"trustee_user_id\": \"b\", \"impersonation\": true, \"roles\": [1]}}",
        "{\"trust\": {\"trustor_user_id\": \"a\", \"trustee_user_id\": \"b\", \"impersonation\": true, \"roles\": [{\"id\": \"has space\"}]}}",
        "{\"trust\": {\"trustor_user_id\": \"a\", \"trustee_user_id\": \"b\", \"impersonation\": true, \"remaining_uses\": 1.5}}",
        "{\"trust\": {\"trustor_user_id\": \"a\", \"trustee_user_id\": \"b\", \"impersonation\": true, \"redelegation_count\": \"x\"}}",
    ] {
        let r = f.s.request(
            "POST",
            "/v3/OS-TRUST/trusts",
            &[
                ("X-Auth-Token", f.token.as_str()),
                ("Content-Type", "application/json"),
            ],
            Some(raw.as_bytes()),
        );
        assert_eq!(r.status, 400, "{raw}: {}", r.body);
    }
    // A trust without a project needs no roles.
    let r = f.create_as(
        &f.token,
        &json!({"trust": {"trustor_user_id": f.trustor, "trustee_user_id": f.trustee,
                          "impersonation": false}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["trust"]["project_id"], Value::Null);
    // No token: 401 after the schema.
    assert_eq!(
        f.s.post_json("/v3/OS-TRUST/trusts", None, &f.body(json!({})))
            .status,
        401
    );
}

/// The token body normalised for comparison with a capture: per-token values replaced,
/// roles in name order (Keystone's come out of a Python set).
fn normalised_token(body: &str) -> Value {
    let mut v: Value = serde_json::from_str(body).expect("json");
    let t = &mut v["token"];
    t["audit_ids"] = json!(["AUDIT"]);
    t["expires_at"] = json!("EXPIRES");
    t["issued_at"] = json!("ISSUED");
    if let Some(roles) = t["roles"].as_array_mut() {
        roles.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    }
    v
}

#[test]
fn trust_scoped_token_body_is_keystones() {
    let f = Fixture::new();
    let id = f.create(json!({}));
    let r = f.s.post_json(
        "/v3/auth/tokens?nocatalog",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": f.trustee, "password": PASS}}}, "scope": {"OS-TRUST:trust": {"id": id}}}}),
    );
    assert_eq!(
        r.status,
        vector_status("trust_token_password"),
        "{}",
        r.body
    );
    let subs = |text: &str| {
        text.replace(&id, V_TRUST)
            .replace(&f.trustor, V_TRUSTOR)
            .replace(&f.trustee, V_TRUSTEE)
            .replace(&f.project, V_PROJECT)
            .replace(&f.member, V_MEMBER)
            .replace(&f.reader, V_READER)
            .replace("\"trustee\"", "\"admin\"")
            .replace("\"trust-p1\"", "\"p1\"")
    };
    let want = normalised_token(&vector_body("trust_token_password"));
    assert_eq!(normalised_token(&subs(&r.body)), want);
    // Validation answers the same body.
    let token = r.subject_token();
    let v = f.s.tokens("GET", "?nocatalog", &f.admin, &token);
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(normalised_token(&subs(&v.body)), want);
    // With a catalog: the trustor's.
    let v = f.validate(&token);
    assert!(v.json()["token"]["catalog"].is_array());
}

#[test]
fn impersonation_acts_as_the_trustor() {
    let f = Fixture::new();
    let id = f.create(json!({"impersonation": true}));
    let token = f.trust_token(&id);
    let v = f.validate(&token);
    assert_eq!(v.status, 200, "{}", v.body);
    let t = &v.json()["token"];
    assert_eq!(t["user"]["id"], json!(f.trustor));
    assert_eq!(t["user"]["name"], "trustor");
    assert_eq!(t["OS-TRUST:trust"]["trustee_user"]["id"], json!(f.trustee));
    assert_eq!(t["OS-TRUST:trust"]["impersonation"], true);
    // The token acts as the trustor in policy too: it reads its own trust as trustor.
    let r = f.s.get(&format!("/v3/OS-TRUST/trusts/{id}"), Some(&token));
    assert_eq!(r.status, 200, "{}", r.body);
    // Without impersonation the trustee is the user.
    let plain = f.create(json!({"impersonation": false}));
    let token = f.trust_token(&plain);
    assert_eq!(
        f.validate(&token).json()["token"]["user"]["id"],
        json!(f.trustee)
    );
}

#[test]
fn who_may_use_a_trust() {
    let f = Fixture::new();
    let id = f.create(json!({}));
    // Only the trustee: anyone else is a bare 403.
    let r = f.trust_auth(&f.stranger, &id);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = f.trust_auth(&f.trustor, &id);
    assert_eq!(r.status, 403, "{}", r.body);
    // An unknown trust is Keystone's generic 401.
    let r = f.trust_auth(&f.trustee, "0123456789abcdef0123456789abcdef");
    assert_eq!(r.status, vector_status("err_trust_not_found"));
    assert_eq!(r.body, vector_body("err_trust_not_found"));
    // The token method, from the trustee's unscoped token, may scope to the trust.
    let unscoped = f.auth(&f.trustee, None).subject_token();
    let r = f.s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": unscoped}},
                         "scope": {"OS-TRUST:trust": {"id": id}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let trust_token = r.subject_token();
    assert_eq!(r.json()["token"]["methods"], json!(["token", "password"]));
    // A trust-scoped token is never rescoped, nor does it make trusts (no redelegation).
    let r = f.s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": trust_token}},
                         "scope": {"project": {"id": f.project}}}}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        error_message(&r),
        "You are not authorized to perform the requested action: Using trust-scoped token to \
         create another token. Create a new trust-scoped token instead."
    );
    let impersonating = f.trust_token(&f.create(json!({"impersonation": true})));
    let r = f.create_as(&impersonating, &f.body(json!({"impersonation": true})));
    assert_eq!(r.status, 403, "{}", r.body);
    // Scope parse errors are 400s.
    for scope in [json!({"OS-TRUST:trust": {}}), json!({"OS-TRUST:trust": 3})] {
        let r = f.auth(&f.trustee, Some(scope.clone()));
        assert_eq!(r.status, 400, "{scope}: {}", r.body);
    }
    let r = f.auth(&f.trustee, Some(json!({"OS-TRUST:trust": {}})));
    assert!(
        error_message(&r).starts_with("Expecting to find trust_id in trust."),
        "{}",
        r.body
    );
}

#[test]
fn application_credential_tokens_cannot_touch_trusts() {
    let f = Fixture::new();
    let id = f.create(json!({}));
    let r = f.s.post_json(
        &format!("/v3/users/{}/application_credentials", f.trustor),
        Some(&f.token),
        &json!({"application_credential": {"name": "ac", "secret": "ac-secret-1", "unrestricted": true}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ac = r.json()["application_credential"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = f.s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": ac, "secret": "ac-secret-1"}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ac_token = r.subject_token();
    let words = "You are not authorized to perform the requested action: Using method \
                 'application_credential' is not allowed for managing trusts..";
    for (method, path, body) in [
        (
            "GET",
            format!("/v3/OS-TRUST/trusts?trustor_user_id={}", f.trustor),
            None,
        ),
        ("GET", format!("/v3/OS-TRUST/trusts/{id}"), None),
        ("GET", format!("/v3/OS-TRUST/trusts/{id}/roles"), None),
        (
            "POST",
            "/v3/OS-TRUST/trusts".to_string(),
            Some(f.body(json!({}))),
        ),
        ("DELETE", format!("/v3/OS-TRUST/trusts/{id}"), None),
    ] {
        let r = send(&f.s, method, &path, &ac_token, body.as_ref());
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(error_message(&r), words, "{method} {path}");
    }
}

#[test]
fn remaining_uses_run_out() {
    let f = Fixture::new();
    let id = f.create(json!({"remaining_uses": 2}));
    f.trust_token(&id);
    f.trust_token(&id);
    let r = f.trust_auth(&f.trustee, &id);
    assert_eq!(r.status, 401, "{}", r.body);
    // A used-up trust is gone from the API too.
    assert_eq!(
        f.s.get(&format!("/v3/OS-TRUST/trusts/{id}"), Some(&f.token))
            .status,
        404
    );
}

#[test]
fn two_nodes_never_spend_the_same_last_use() {
    let a = TestServer::start();
    let b = a.second_node();
    let f = Fixture::on(a);
    let uses = 3;
    let id = f.create(json!({"remaining_uses": uses}));
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": f.trustee, "password": PASS}}}, "scope": {"OS-TRUST:trust": {"id": id}}}});
    let nodes = [&f.s, &b];
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let node = nodes[i % 2];
                let body = body.clone();
                scope.spawn(move || node.post_json("/v3/auth/tokens", None, &body).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let issued = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(issued, uses as usize, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [201, 401, 403].contains(s)),
        "{statuses:?}"
    );
    // Tokens issued on one node validate on the other, until the trust is deleted on the
    // first: the other node notices within its sync interval (1 s by default).
    let id = f.create(json!({"impersonation": true}));
    let token = f.trust_token(&id);
    assert_eq!(b.tokens("GET", "", &f.admin, &token).status, 200);
    assert_eq!(b.tokens("GET", "", &f.admin, &token).status, 200);
    let r = send(
        &f.s,
        "DELETE",
        &format!("/v3/OS-TRUST/trusts/{id}"),
        &f.token,
        None,
    );
    assert_eq!(r.status, 204);
    let deleted_at = std::time::Instant::now();
    let mut seen = b.tokens("GET", "", &f.admin, &token).status;
    while seen != 404 && deleted_at.elapsed() < std::time::Duration::from_millis(1500) {
        std::thread::sleep(std::time::Duration::from_millis(50));
        seen = b.tokens("GET", "", &f.admin, &token).status;
    }
    assert_eq!(seen, 404, "node b still accepts a deleted trust's token");
}

#[test]
fn what_invalidates_trust_tokens() {
    let f = Fixture::new();
    // Deleting the trust: a revocation event by trust id, and the trust is gone.
    let id = f.create(json!({}));
    let token = f.trust_token(&id);
    assert_eq!(f.validate(&token).status, 200);
    let r = send(
        &f.s,
        "DELETE",
        &format!("/v3/OS-TRUST/trusts/{id}"),
        &f.token,
        None,
    );
    assert_eq!(r.status, 204);
    let v = f.validate(&token);
    assert_eq!(v.status, 404, "{}", v.body);
    let events = f.s.get("/v3/OS-REVOKE/events", Some(&f.admin)).json();
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["OS-TRUST:trust_id"] == json!(id)),
        "{events}"
    );

    // The trustor loses the delegated role: Keystone's bare 403.
    let id = f.create(json!({}));
    let token = f.trust_token(&id);
    let grant = format!(
        "/v3/projects/{}/users/{}/roles/{}",
        f.project, f.trustor, f.member
    );
    assert_eq!(send(&f.s, "DELETE", &grant, &f.admin, None).status, 204);
    assert_eq!(f.validate(&token).status, 403);
    assert_eq!(f.trust_auth(&f.trustee, &id).status, 403);
    // Given back, the same token is good again (Keystone writes no revocation event for a
    // removed grant; it recomputes the roles).
    f.grant(&f.trustor, &f.member);
    assert_eq!(f.validate(&token).status, 200);

    // The trustor disabled: 403; the trustee disabled: 404.
    let set_enabled = |user: &str, enabled: bool| {
        let r = send(
            &f.s,
            "PATCH",
            &format!("/v3/users/{user}"),
            &f.admin,
            Some(&json!({"user": {"enabled": enabled}})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    let token = f.trust_token(&id);
    set_enabled(&f.trustor, false);
    assert_eq!(f.validate(&token).status, 403);
    set_enabled(&f.trustor, true);
    // Disabling wrote a user revocation event (trust tokens match it by trustor); tokens
    // issued in its second are revoked too.
    let next_second = || std::thread::sleep(std::time::Duration::from_millis(1100));
    next_second();
    let token = f.trust_token(&id);
    assert_eq!(f.validate(&token).status, 200);
    set_enabled(&f.trustee, false);
    assert_eq!(f.validate(&token).status, 404);
    set_enabled(&f.trustee, true);
    next_second();

    // The trustee deleted: its trusts are soft-deleted and their tokens fail.
    let token = f.trust_token(&id);
    assert_eq!(
        send(
            &f.s,
            "DELETE",
            &format!("/v3/users/{}", f.trustee),
            &f.admin,
            None
        )
        .status,
        204
    );
    assert_eq!(f.validate(&token).status, 404);
    let row =
        f.s.db()
            .read_blocking(|conn| keystone_rs::trust::store::get(conn, &id))
            .unwrap()
            .expect("the row stays");
    assert!(row.deleted_at.is_some());
}

#[test]
fn deleting_the_project_ends_its_trusts() {
    let f = Fixture::new();
    let id = f.create(json!({}));
    let token = f.trust_token(&id);
    let path = format!("/v3/projects/{}", f.project);
    let r = send(
        &f.s,
        "PATCH",
        &path,
        &f.admin,
        Some(&json!({"project": {"enabled": false}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(f.validate(&token).status, 404);
    assert_eq!(send(&f.s, "DELETE", &path, &f.admin, None).status, 204);
    assert_eq!(f.validate(&token).status, 404);
    assert_eq!(
        f.s.get(&format!("/v3/OS-TRUST/trusts/{id}"), Some(&f.admin))
            .status,
        404
    );
}

#[test]
fn implied_roles_come_with_the_delegated_ones() {
    let f = Fixture::new();
    let id = f.create(json!({}));
    let token = f.trust_token(&id);
    let v = f.validate(&token);
    let mut names: Vec<String> = v.json()["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["member", "reader"]);
    // A role the trustor does not hold cannot be delegated.
    let admin_role = role_id(&f.s, &f.admin, "admin");
    let r = f.create_as(&f.token, &f.body(json!({"roles": [{"id": admin_role}]})));
    assert_eq!(r.status, 404);
    assert_eq!(
        error_message(&r),
        format!("Could not find role: {admin_role}.")
    );
}

#[test]
fn redelegation_chains() {
    let f = Fixture::new();
    let third = f.s.make_user("third", "default", PASS);
    // A redelegatable trust (count 2), with impersonation: the trustee acts as the trustor.
    let first = f.create(
        json!({"impersonation": true, "allow_redelegation": true, "redelegation_count": 2}),
    );
    let t =
        f.s.get(&format!("/v3/OS-TRUST/trusts/{first}"), Some(&f.token));
    assert_eq!(t.json()["trust"]["redelegation_count"], 2);
    let token = f.trust_token(&first);
    let body = |extra: Value| {
        let mut b = f.body(json!({"impersonation": true, "trustee_user_id": third}));
        for (k, v) in extra.as_object().unwrap() {
            b["trust"][k] = v.clone();
        }
        b
    };
    // Changing the count on redelegation, or asking for uses, is refused.
    let r = f.create_as(
        &token,
        &body(json!({"allow_redelegation": true, "redelegation_count": 2})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = f.create_as(&token, &body(json!({"remaining_uses": 1})));
    assert_eq!(r.status, 403, "{}", r.body);
    // A role outside the redelegated trust: the trustor still must hold it (404 first).
    let r = f.create_as(
        &token,
        &body(json!({"roles": [{"id": f.reader}], "allow_redelegation": true})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // A valid redelegation: one less level, linked to its parent.
    let r = f.create_as(&token, &body(json!({"allow_redelegation": true})));
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.json()["trust"].clone();
    assert_eq!(second["redelegated_trust_id"], json!(first));
    assert_eq!(second["redelegation_count"], 1);
    let second_id = second["id"].as_str().unwrap().to_string();
    // The third user uses it (impersonating the trustor).
    let r = f.trust_auth(&third, &second_id);
    assert_eq!(r.status, 201, "{}", r.body);
    let token3 = r.subject_token();
    assert_eq!(
        f.validate(&token3).json()["token"]["user"]["id"],
        json!(f.trustor)
    );
    // One more level would exceed the chain's depth: count 0 left after the next.
    let r = f.create_as(
        &token3,
        &f.body(json!({"impersonation": true, "trustee_user_id": f.stranger, "allow_redelegation": true})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let leaf = r.json()["trust"].clone();
    assert_eq!(leaf["redelegation_count"], 0);
    let leaf_token = {
        f.grant(&f.stranger, &f.reader);
        let r = f.trust_auth(&f.stranger, leaf["id"].as_str().unwrap());
        assert_eq!(r.status, 201, "{}", r.body);
        r.subject_token()
    };
    let r = f.create_as(
        &leaf_token,
        &f.body(json!({"impersonation": true, "trustee_user_id": f.trustee})),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Deleting the first trust deletes the chain the trustor redelegated from it.
    assert_eq!(
        send(
            &f.s,
            "DELETE",
            &format!("/v3/OS-TRUST/trusts/{first}"),
            &f.token,
            None
        )
        .status,
        204
    );
    for id in [&second_id, leaf["id"].as_str().unwrap()] {
        assert_eq!(
            f.s.get(&format!("/v3/OS-TRUST/trusts/{id}"), Some(&f.admin))
                .status,
            404
        );
    }
    assert_eq!(f.validate(&token3).status, 404);
}

#[test]
fn oauth1_style_delegation_cannot_make_trusts_and_projectless_trusts_give_no_token() {
    let f = Fixture::new();
    // A trust without a project cannot give a token: Keystone's token model looks up
    // the project `None`.
    let r = f.create_as(
        &f.token,
        &json!({"trust": {"trustor_user_id": f.trustor, "trustee_user_id": f.trustee,
                          "impersonation": false}}),
    );
    let id = r.json()["trust"]["id"].as_str().unwrap().to_string();
    let r = f.trust_auth(&f.trustee, &id);
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(error_message(&r), "Could not find project: None.");
}

#[test]
fn trust_flush_removes_deleted_and_expired_trusts() {
    use keystone_rs::trust::store::{Flush, flush};
    let f = Fixture::new();
    let kept = f.create(json!({}));
    let deleted = f.create(json!({"impersonation": true}));
    assert_eq!(
        send(
            &f.s,
            "DELETE",
            &format!("/v3/OS-TRUST/trusts/{deleted}"),
            &f.token,
            None
        )
        .status,
        204
    );
    let later = f.create(json!({"expires_at": "2100-01-01T00:00:00Z"}));
    let db = f.s.db();
    let date = chrono::NaiveDate::from_ymd_opt(2100, 6, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    // Another trustee's trusts are left alone.
    let n = db
        .write_blocking(|conn| {
            flush(
                conn,
                &Flush {
                    trustee_user_id: Some("someone-else".into()),
                    ..Default::default()
                },
                date,
            )
        })
        .unwrap();
    assert_eq!(n, 0);
    let n = db
        .write_blocking(|conn| flush(conn, &Flush::default(), date))
        .unwrap();
    assert_eq!(n, 2);
    let left = |id: &str| {
        db.read_blocking(|conn| keystone_rs::trust::store::get(conn, id))
            .unwrap()
            .is_some()
    };
    assert!(left(&kept));
    assert!(!left(&deleted));
    assert!(!left(&later));
}
