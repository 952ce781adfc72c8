//! Federated login behind a trusted front end: the assertion as request headers from a
//! `[federation] trusted_proxies` peer, the mapping, the shadow user, and the federated
//! tokens (OS-FEDERATION block, rescoping through the mapped groups' roles,
//! `/v3/OS-FEDERATION/projects`), with Keystone's answers to what goes wrong.

use crate::support::{Response, TestServer, role_id, send};
use serde_json::{Value, json};

const IDPS: &str = "/v3/OS-FEDERATION/identity_providers";
const ISSUER: &str = "https://issuer.example.com";

fn conf(trusted: &str) -> String {
    format!(
        "[federation]\ntrusted_proxies = {trusted}\nassertion_prefix = OIDC-\nremote_id_attribute = OIDC-iss\n"
    )
}

/// What the admin sets up: a domain for the IdP's users, a group there with a role on a
/// project, a mapping (user, e-mail, groups by name), the IdP and its `mapped` protocol.
struct Setup {
    admin: String,
    domain: String,
    group: String,
    project: String,
}

fn setup(s: &TestServer, mapping_rules: Value) -> Setup {
    let admin = s.admin_token();
    let domain = s.make_domain("fed-users");
    let group = s.make_group("devs", &domain, &[]);
    let project = s.make_project("fed-project", &domain, None);
    let member = role_id(s, &admin, "member");
    let r = send(
        s,
        "PUT",
        &format!("/v3/projects/{project}/groups/{group}/roles/{member}"),
        &admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let rules = match mapping_rules {
        Value::Null => json!([{"local": [
                {"user": {"name": "{0}", "email": "{1}"}},
                {"groups": "{2}", "domain": {"id": domain}}],
            "remote": [{"type": "OIDC-preferred_username"}, {"type": "OIDC-email"},
                       {"type": "OIDC-groups"}]}]),
        other => other,
    };
    let r = send(
        s,
        "PUT",
        "/v3/OS-FEDERATION/mappings/m1",
        &admin,
        Some(&json!({"mapping": {"rules": rules}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        s,
        "PUT",
        &format!("{IDPS}/myidp"),
        &admin,
        Some(
            &json!({"identity_provider": {"domain_id": domain, "remote_ids": [ISSUER], "enabled": true}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        s,
        "PUT",
        &format!("{IDPS}/myidp/protocols/mapped"),
        &admin,
        Some(&json!({"protocol": {"mapping_id": "m1"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    Setup {
        admin,
        domain,
        group,
        project,
    }
}

/// The mapping's rules replaced (`PATCH` of `mapping`, which must succeed).
fn replace_rules(s: &TestServer, setup: &Setup, mapping: Value) {
    let r = send(
        s,
        "PATCH",
        "/v3/OS-FEDERATION/mappings/m1",
        &setup.admin,
        Some(&json!({ "mapping": mapping })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

fn alice() -> Vec<(&'static str, &'static str)> {
    vec![
        ("OIDC-iss", ISSUER),
        ("OIDC-preferred_username", "alice"),
        ("OIDC-email", "alice@example.com"),
        ("OIDC-groups", "devs;no-such-group"),
    ]
}

fn login(s: &TestServer, method: &str, headers: &[(&str, &str)]) -> Response {
    s.request(
        method,
        &format!("{IDPS}/myidp/protocols/mapped/auth"),
        headers,
        None,
    )
}

/// POST /v3/auth/tokens with the token method, scoped to a project.
fn rescope(s: &TestServer, token: &str, project: &str) -> Response {
    s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
                          "scope": {"project": {"id": project}}}}),
    )
}

/// Keystone's shadow user id: sha256(domain_id + "user" + unique_id), as its `sha256` id
/// generator derives it.
fn shadow_id(domain: &str, unique_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(format!("{domain}user{unique_id}").as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn trusted_front_end_login_gives_a_federated_token_that_rescopes_through_groups() {
    let s = TestServer::start_with(&conf("127.0.0.1"));
    let setup = setup(&s, Value::Null);
    let user_id = shadow_id(&setup.domain, "alice");

    for method in ["GET", "POST"] {
        let r = login(&s, method, &alice());
        assert_eq!(r.status, 201, "{method}: {}", r.body);
        let token = r.json()["token"].clone();
        assert_eq!(token["methods"], json!(["mapped"]));
        assert_eq!(token["user"]["id"], user_id);
        assert_eq!(token["user"]["name"], "alice");
        assert_eq!(token["user"]["domain"]["id"], setup.domain.as_str());
        assert_eq!(
            token["user"]["OS-FEDERATION"],
            json!({"groups": [{"id": setup.group}], "identity_provider": {"id": "myidp"},
                   "protocol": {"id": "mapped"}})
        );
        assert!(token["user"].get("password_expires_at").is_none());
        assert!(token.get("roles").is_none() && token.get("catalog").is_none());
    }
    let fed = login(&s, "GET", &alice()).subject_token();

    // The token validates, with its federation.
    let r = s.tokens("GET", "", &setup.admin, &fed);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["token"]["user"]["OS-FEDERATION"]["groups"],
        json!([{"id": setup.group}])
    );
    let unscoped_expiry = r.json()["token"]["expires_at"].clone();

    // The shadow user is an ordinary user to the API, with its federated identity and
    // the asserted e-mail.
    let r = send(
        &s,
        "GET",
        &format!("/v3/users/{user_id}"),
        &setup.admin,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let user = r.json()["user"].clone();
    assert_eq!(user["name"], "alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(
        user["federated"],
        json!([{"idp_id": "myidp", "protocols": [{"protocol_id": "mapped", "unique_id": "alice"}]}])
    );

    // What the groups grant is what the federated token may scope to.
    for path in ["/v3/OS-FEDERATION/projects", "/v3/auth/projects"] {
        let r = s.get(path, Some(&fed));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let body = r.json();
        let ids: Vec<&str> = body["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![setup.project.as_str()], "{path}");
        assert!(r.json()["links"]["self"].as_str().unwrap().ends_with(path));
    }
    let r = s.get("/v3/OS-FEDERATION/domains", Some(&fed));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["domains"], json!([]));

    // Rescoping with the token method and with the mapped method's `id`.
    for identity in [
        json!({"methods": ["token"], "token": {"id": fed}}),
        json!({"methods": ["mapped"], "mapped": {"id": fed}}),
    ] {
        let r = s.post_json(
            "/v3/auth/tokens",
            None,
            &json!({"auth": {"identity": identity,
                              "scope": {"project": {"id": setup.project}}}}),
        );
        assert_eq!(r.status, 201, "{identity}: {}", r.body);
        let token = r.json()["token"].clone();
        assert_eq!(token["project"]["id"], setup.project.as_str());
        let roles: Vec<&str> = token["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(roles.contains(&"member"), "{roles:?}");
        // Keystone's federated roles are whole role dicts.
        assert!(token["roles"][0].get("domain_id").is_some(), "{token}");
        assert_eq!(
            token["user"]["OS-FEDERATION"]["identity_provider"]["id"],
            "myidp"
        );
        // A rescoped federated token keeps the first token's expiry.
        assert_eq!(token["expires_at"], unscoped_expiry);
        let scoped = r.subject_token();
        let r = s.tokens("GET", "", &setup.admin, &scoped);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["token"]["project"]["id"], setup.project.as_str());
    }

    // A project the groups hold nothing on is refused.
    let other = s.make_project("elsewhere", &setup.domain, None);
    let r = rescope(&s, &fed, &other);
    assert_eq!(r.status, 401, "{}", r.body);

    // A system role of a mapped group shows in /v3/auth/system.
    let r = s.get("/v3/auth/system", Some(&fed));
    assert_eq!(r.json()["system"], json!([]), "{}", r.body);
    let reader = role_id(&s, &setup.admin, "reader");
    let r = send(
        &s,
        "PUT",
        &format!("/v3/system/groups/{}/roles/{reader}", setup.group),
        &setup.admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = s.get("/v3/auth/system", Some(&fed));
    assert_eq!(r.json()["system"], json!([{"all": true}]), "{}", r.body);
    // And, as in Keystone, the groups' system roles count on every project scope.
    let r = rescope(&s, &fed, &other);
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn the_mapped_method_logs_in_from_post_auth_tokens() {
    let s = TestServer::start_with(&conf("127.0.0.1/32, ::1"));
    let setup = setup(&s, Value::Null);
    let mut headers = alice();
    headers.push(("Content-Type", "application/json"));
    let body = json!({"auth": {"identity": {"methods": ["mapped"],
        "mapped": {"identity_provider": "myidp", "protocol": "mapped"}},
        "scope": {"project": {"id": setup.project}}}});
    let r = s.request(
        "POST",
        "/v3/auth/tokens",
        &headers,
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["token"]["project"]["id"], setup.project.as_str());
    assert_eq!(r.json()["token"]["methods"], json!(["mapped"]));

    for (payload, missing) in [
        (json!({"protocol": "mapped"}), "identity_provider"),
        (json!({"identity_provider": "myidp"}), "protocol"),
    ] {
        let body = json!({"auth": {"identity": {"methods": ["mapped"], "mapped": payload}}});
        let r = s.request(
            "POST",
            "/v3/auth/tokens",
            &headers,
            Some(body.to_string().as_bytes()),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("Expecting to find {missing} in mapped")),
            "{}",
            r.body
        );
    }
}

#[test]
fn assertion_headers_from_untrusted_peers_are_ignored() {
    // The test client connects from 127.0.0.1, which is not a trusted proxy here.
    let s = TestServer::start_with(&conf("10.0.0.0/8"));
    let setup = setup(&s, Value::Null);
    let r = login(&s, "GET", &alice());
    assert_eq!(r.status, 401, "{}", r.body);
    // Not even without remote ids to check: the mapping sees no attributes at all.
    let r = send(
        &s,
        "PATCH",
        &format!("{IDPS}/myidp"),
        &setup.admin,
        Some(&json!({"identity_provider": {"remote_ids": []}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = login(&s, "GET", &alice());
    assert_eq!(r.status, 401, "{}", r.body);
    let shadow = shadow_id(&setup.domain, "alice");
    let r = send(
        &s,
        "GET",
        &format!("/v3/users/{shadow}"),
        &setup.admin,
        None,
    );
    assert_eq!(r.status, 404, "no shadow user was made: {}", r.body);

    // With no trusted proxy configured at all, the same.
    let s = TestServer::start();
    setup_min(&s);
    assert_eq!(login(&s, "GET", &alice()).status, 401);
}

fn setup_min(s: &TestServer) {
    setup(s, Value::Null);
}

#[test]
fn identity_provider_checks_answer_as_keystone() {
    let s = TestServer::start_with(&conf("127.0.0.1"));
    let setup = setup(&s, Value::Null);

    // The asserted issuer must be one of the provider's remote ids.
    let mut wrong = alice();
    wrong[0] = ("OIDC-iss", "https://other.example.com");
    let r = login(&s, "GET", &wrong);
    assert_eq!(r.status, 403, "{}", r.body);
    // Keystone's Forbidden is a SecurityError: the generic text, as Keystone answers it.
    assert_eq!(
        r.json()["error"]["message"],
        "You are not authorized to perform the requested action."
    );
    // No issuer at all: a failed authentication.
    let r = login(&s, "GET", &alice()[1..]);
    assert_eq!(r.status, 401, "{}", r.body);

    // Unknown provider or protocol: 404.
    let r = s.request(
        "GET",
        &format!("{IDPS}/nope/protocols/mapped/auth"),
        &alice(),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        r.json()["error"]["message"],
        "Could not find Identity Provider: nope."
    );
    let r = s.request(
        "POST",
        &format!("{IDPS}/myidp/protocols/saml2/auth"),
        &alice(),
        None,
    );
    assert_eq!(r.status, 401, "saml2 is not an enabled method: {}", r.body);

    // A disabled provider: 403.
    let r = send(
        &s,
        "PATCH",
        &format!("{IDPS}/myidp"),
        &setup.admin,
        Some(&json!({"identity_provider": {"enabled": false}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = login(&s, "GET", &alice());
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.json()["error"]["message"],
        "Identity Provider myidp is disabled"
    );
}

#[test]
fn mappings_that_yield_nothing_are_401_never_500() {
    let s = TestServer::start_with(&conf("127.0.0.1"));
    let rules = json!([{"local": [{"user": {"name": "{0}"}}, {"group": {"id": "no-such-group"}}],
                        "remote": [{"type": "OIDC-preferred_username"}]},
                       {"local": [{"user": {"name": "{5}"}}],
                        "remote": [{"type": "OIDC-weird"}]}]);
    setup(&s, rules);
    // A mapped group id that does not exist (Keystone: 500).
    let r = login(&s, "GET", &alice());
    assert_eq!(r.status, 401, "{}", r.body);
    // A reference to a remote match that does not exist (Keystone: 500).
    let r = login(&s, "GET", &[("OIDC-iss", ISSUER), ("OIDC-weird", "x")]);
    assert_eq!(r.status, 401, "{}", r.body);
    // Nothing matches.
    let r = login(&s, "GET", &[("OIDC-iss", ISSUER)]);
    assert_eq!(r.status, 401, "{}", r.body);
}

#[test]
fn mapped_projects_are_provisioned_in_the_providers_domain() {
    let s = TestServer::start_with(&conf("127.0.0.1"));
    let rules = json!([{"local": [{"user": {"name": "{0}"},
                                   "projects": [{"name": "home-{0}", "roles": [{"name": "member"}]}]}],
                        "remote": [{"type": "OIDC-preferred_username"}]}]);
    let setup = setup(&s, rules);
    let r = login(&s, "POST", &alice());
    assert_eq!(r.status, 201, "{}", r.body);
    let fed = r.subject_token();
    assert_eq!(
        r.json()["token"]["user"]["OS-FEDERATION"]["groups"],
        json!([])
    );
    let home_projects = || {
        let r = send(
            &s,
            "GET",
            "/v3/projects?name=home-alice",
            &setup.admin,
            None,
        );
        r.json()["projects"].as_array().cloned().unwrap_or_default()
    };
    let projects = home_projects();
    assert_eq!(projects.len(), 1, "{projects:?}");
    assert_eq!(projects[0]["domain_id"], setup.domain.as_str());
    let project = projects[0]["id"].as_str().unwrap().to_string();
    // The user holds the role itself: the token rescopes to the new project.
    let r = rescope(&s, &fed, &project);
    assert_eq!(r.status, 201, "{}", r.body);
    // A second login finds the project instead of making another.
    assert_eq!(login(&s, "GET", &alice()).status, 201);
    assert_eq!(home_projects().len(), 1);

    // A role the mapping names that does not exist: 404 before anything is made.
    let rules = json!([{"local": [{"user": {"name": "{0}"},
                                   "projects": [{"name": "x-{0}", "roles": [{"name": "ghost"}]}]}],
                        "remote": [{"type": "OIDC-preferred_username"}]}]);
    replace_rules(&s, &setup, json!({"rules": rules}));
    let r = login(&s, "GET", &alice());
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.json()["error"]["message"], "Could not find role: ghost.");
}

#[test]
fn a_local_user_mapping_gives_an_ordinary_token() {
    let s = TestServer::start_with(&conf("127.0.0.1"));
    let rules = json!([{"local": [{"user": {"name": "{0}", "type": "local",
                                            "domain": {"id": "default"}}}],
                        "remote": [{"type": "OIDC-preferred_username"}]}]);
    setup(&s, rules);
    let bob = s.make_user("bob", "default", "secret-pass-1");
    let r = login(
        &s,
        "GET",
        &[("OIDC-iss", ISSUER), ("OIDC-preferred_username", "bob")],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["token"]["user"]["id"], bob.as_str());
    assert!(r.json()["token"]["user"].get("OS-FEDERATION").is_none());
    // An unknown local user is a failed login.
    let r = login(
        &s,
        "GET",
        &[("OIDC-iss", ISSUER), ("OIDC-preferred_username", "nobody")],
    );
    assert_eq!(r.status, 401, "{}", r.body);
}

#[test]
fn enabled_service_providers_are_listed_in_token_bodies() {
    let s = TestServer::start();
    let admin = s.admin_token();
    let r = s.password_auth(None);
    assert!(r.json()["token"].get("service_providers").is_none());
    for (id, enabled) in [("sp1", true), ("sp2", false)] {
        let r = send(
            &s,
            "PUT",
            &format!("/v3/OS-FEDERATION/service_providers/{id}"),
            &admin,
            Some(
                &json!({"service_provider": {"auth_url": format!("https://{id}/v3/auth"),
                "sp_url": format!("https://{id}/Shibboleth.sso/SAML2/ECP"), "enabled": enabled}}),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let expected = json!([{"auth_url": "https://sp1/v3/auth", "id": "sp1",
                           "sp_url": "https://sp1/Shibboleth.sso/SAML2/ECP"}]);
    let r = s.password_auth(None);
    assert_eq!(
        r.json()["token"]["service_providers"],
        expected,
        "{}",
        r.body
    );
    let r = s.tokens("GET", "", &admin, &r.subject_token());
    assert_eq!(
        r.json()["token"]["service_providers"],
        expected,
        "{}",
        r.body
    );
}

#[test]
fn group_changes_refresh_expiring_memberships_and_revoke_older_tokens() {
    use diesel::prelude::*;
    use keystone_rs::db::schema::expiring_user_group_membership as eugm;
    let s = TestServer::start_with(&conf("127.0.0.1"));
    let setup = setup(&s, Value::Null);
    let ops = s.make_group("ops", &setup.domain, &[]);
    let first = login(&s, "GET", &alice());
    assert_eq!(first.status, 201, "{}", first.body);
    let user_id = first.json()["token"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let memberships = |s: &TestServer| {
        let uid = user_id.clone();
        let mut groups: Vec<(String, String)> = s
            .db()
            .read_blocking(move |conn| {
                Ok(eugm::table
                    .filter(eugm::user_id.eq(&uid))
                    .select((eugm::group_id, eugm::idp_id))
                    .load(conn)?)
            })
            .unwrap();
        groups.sort();
        groups
    };
    assert_eq!(memberships(&s), vec![(setup.group.clone(), "myidp".into())]);
    // The same groups again: nothing changes, the first token stays valid.
    assert_eq!(login(&s, "GET", &alice()).status, 201);
    let r = s.tokens("GET", "", &setup.admin, &first.subject_token());
    assert_eq!(r.status, 200, "{}", r.body);
    // Moved from devs to ops: the stale membership goes and, past the second in which
    // the change happened, tokens issued before it no longer validate.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let mut moved = alice();
    moved[3] = ("OIDC-groups", "ops");
    let second = login(&s, "GET", &moved);
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(memberships(&s), vec![(ops.clone(), "myidp".into())]);
    let r = s.tokens("GET", "", &setup.admin, &first.subject_token());
    assert_eq!(r.status, 404, "{}", r.body);
    let r = s.tokens("GET", "", &setup.admin, &second.subject_token());
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn schema_3_projects_follow_what_the_provider_asserts() {
    let s = TestServer::start_with(&conf("127.0.0.1"));
    let rules = json!([{"local": [{"user": {"name": "{0}"}, "projects_json": "{1}"}],
                        "remote": [{"type": "OIDC-preferred_username"},
                                   {"type": "OIDC-projects"}]}]);
    let setup = setup(&s, Value::Null);
    replace_rules(&s, &setup, json!({"rules": rules, "schema_version": "3.0"}));
    let assertion = |projects: &'static str| {
        vec![
            ("OIDC-iss", ISSUER),
            ("OIDC-preferred_username", "carol"),
            ("OIDC-projects", projects),
        ]
    };
    let both = r#"[{"name": "pa", "roles": [{"name": "member"}]}, {"name": "pb", "roles": [{"name": "reader"}]}]"#;
    let r = login(&s, "GET", &assertion(both));
    assert_eq!(r.status, 201, "{}", r.body);
    let user = r.json()["token"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let grants = |s: &TestServer| {
        let r = send(
            s,
            "GET",
            &format!("/v3/role_assignments?user.id={user}&include_names"),
            &setup.admin,
            None,
        );
        let mut out: Vec<(String, String)> = r.json()["role_assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["scope"]["project"]["name"].as_str().unwrap().to_string(),
                    a["role"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    };
    assert_eq!(
        grants(&s),
        vec![
            ("pa".into(), "member".into()),
            ("pb".into(), "reader".into())
        ]
    );
    // The provider now asserts one project with another role: schema 3.0 drops the rest.
    let r = login(
        &s,
        "GET",
        &assertion(r#"[{"name": "pa", "roles": [{"name": "reader"}]}]"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(grants(&s), vec![("pa".into(), "reader".into())]);
    // Not a projects list: a failed login, not a 500.
    let r = login(&s, "GET", &assertion(r#"{"name": "pa"}"#));
    assert_eq!(r.status, 401, "{}", r.body);
}

#[test]
fn an_environ_prefix_names_the_headers_as_python_keystone_sees_them() {
    // `assertion_prefix = HTTP_OIDC_`: the headers named as a WSGI server hands them to
    // Python Keystone, so one mapping and one remote_id_attribute serve both.
    let s = TestServer::start_with(
        "[federation]\ntrusted_proxies = 127.0.0.1\nassertion_prefix = HTTP_OIDC_\n\
         remote_id_attribute = HTTP_OIDC_ISS\n",
    );
    let rules = json!([{"local": [{"user": {"name": "{0}"}}],
        "remote": [{"type": "HTTP_OIDC_PREFERRED_USERNAME"}]}]);
    let setup = setup(&s, rules);
    let headers = [
        ("OIDC-iss", ISSUER),
        ("OIDC-Preferred-Username", "alice"),
        // What a WSGI server drops (it would alias OIDC-Preferred-Username).
        ("OIDC-preferred_username", "mallory"),
    ];
    let r = login(&s, "POST", &headers);
    assert_eq!(r.status, 201, "{}", r.body);
    let user = &r.json()["token"]["user"];
    assert_eq!(user["name"], "alice");
    assert_eq!(user["id"], shadow_id(&setup.domain, "alice").as_str());

    // Names compare exactly there, as in an environ: the lower-case type matches nothing.
    let rules = json!([{"local": [{"user": {"name": "{0}"}}],
        "remote": [{"type": "http_oidc_preferred_username"}]}]);
    replace_rules(&s, &setup, json!({"rules": rules}));
    assert_eq!(login(&s, "POST", &headers).status, 401);
    // And the issuer must still be one of the provider's remote ids.
    let r = login(
        &s,
        "POST",
        &[
            ("OIDC-iss", "https://other.example.com"),
            ("OIDC-Preferred-Username", "alice"),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.body);
}
