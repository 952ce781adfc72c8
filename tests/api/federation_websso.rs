//! Web single sign-on for dashboards (Horizon), as Keystone serves it: the
//! `…/websso?origin=<dashboard>` URLs answer a page that posts the federated token to a
//! trusted dashboard. Natively, keystone-rs signs the browser in at the OpenID provider
//! itself (authorization code with PKCE): a real chromium (tests/oidc/websso_browser.mjs)
//! fills the real provider's login form (npm oidc-provider, tests/oidc/provider.mjs) and
//! lands on a stand-in dashboard with a token that validates and rescopes. Behind a trusted
//! front end, the assertion comes from its headers, as Keystone's from Apache. What
//! Keystone refuses is refused; so are forged, replayed and foreign states.

use crate::federation_oidc::provider::{Provider, browser_login, free_port};
use crate::federation_oidc::setup;
use crate::support::{Response, TestServer, send};
use serde_json::{Value, json};

const IDP_WEBSSO: &str = "/v3/auth/OS-FEDERATION/identity_providers/myidp/protocols/openid/websso";
const PROTOCOL_WEBSSO: &str = "/v3/auth/OS-FEDERATION/websso/openid";

/// A keystone-rs whose `openid` protocol at `myidp` signs browsers in at the provider,
/// the provider knowing keystone-rs's WebSSO URLs, and a dashboard port it trusts.
struct World {
    op: Provider,
    s: TestServer,
    dashboard: String,
    dashboard_port: u16,
    admin: String,
    project: String,
}

/// carol signs in at the provider (and consents) and lands on the dashboard with a token:
/// what the browser saw (`token`, `callback`, `cookie`).
fn carol_lands_on_the_dashboard(w: &World, url: &str) -> Value {
    let seen = browser_login(url, w.dashboard_port, ("carol", "carol-password"), "allow");
    assert_eq!(seen["landed"], w.dashboard.as_str(), "{seen}");
    assert!(
        seen["token"].is_string(),
        "no token reached the dashboard: {seen}"
    );
    seen
}

/// `openid_extra`: more options of the `[openid_connect:myidp:openid]` section (a later
/// value of an option wins).
fn world(openid_extra: &str) -> World {
    let provider_port = free_port();
    let dashboard_port = free_port();
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let dashboard = format!("http://127.0.0.1:{dashboard_port}/auth/websso/");
    let s = TestServer::start_with(&format!(
        "[auth]\nmethods = password,token,openid,mapped\n\
         [federation]\ntrusted_proxies = 127.0.0.1\nassertion_prefix = OIDC-\n\
         trusted_dashboard = https://other-dashboard.example/auth/websso/\n\
         trusted_dashboard = {dashboard}\n\
         [openid_connect:myidp:openid]\nissuer = {issuer}\nclient_id = keystone-websso\n\
         client_secret = keystone-websso-secret\nscopes = openid profile email groups\n\
         claim_delimiter = ;\n{openid_extra}\n"
    ));
    let op = Provider::start_for_browsers(
        provider_port,
        &[
            format!("{}{IDP_WEBSSO}", s.base),
            format!("{}{PROTOCOL_WEBSSO}", s.base),
        ],
    );
    let (admin, project) = setup(&s, &op.issuer);
    World {
        op,
        s,
        dashboard,
        dashboard_port,
        admin,
        project,
    }
}

fn quoted(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn validate(w: &World, token: &str) -> Value {
    let r = w.s.request(
        "GET",
        "/v3/auth/tokens",
        &[
            ("X-Auth-Token", w.admin.as_str()),
            ("X-Subject-Token", token),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn rescope(w: &World, token: &str) -> Response {
    let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"id": w.project}}}});
    w.s.post_json("/v3/auth/tokens", None, &body)
}

/// The token a callback page carries, after checking it posts it to `origin`.
fn token_in_page(r: &Response, origin: &str) -> String {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(
        r.body.contains(&format!(r#"action="{origin}""#)),
        "{}",
        r.body
    );
    let marker = r#"name="token" id="token" value=""#;
    let at = r.body.find(marker).expect("the token field") + marker.len();
    r.body[at..].split('"').next().unwrap().to_string()
}

#[test]
fn a_browser_signs_in_at_the_provider_and_lands_on_the_dashboard_with_a_token() {
    let w = world("");
    let url = format!("{}{IDP_WEBSSO}?origin={}", w.s.base, quoted(&w.dashboard));
    let seen = carol_lands_on_the_dashboard(&w, &url);
    let token = seen["token"].as_str().unwrap();

    // The dashboard's token: carol's, federated, with the group the mapping gave her.
    let body = validate(&w, token);
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["openid"]));
    assert!(t.get("project").is_none(), "unscoped: {t}");
    let user = &t["user"];
    assert_eq!(user["name"], "carol");
    let fed = &user["OS-FEDERATION"];
    assert_eq!(fed["identity_provider"]["id"], "myidp");
    assert_eq!(fed["protocol"]["id"], "openid");
    let groups: Vec<&str> = fed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    let devs = send(&w.s, "GET", "/v3/groups?name=devs", &w.admin, None).json()["groups"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(groups, vec![devs.as_str()]);
    let r = rescope(&w, token);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["token"]["project"]["id"], w.project.as_str());

    // The callback the provider sent the browser to, replayed with the browser's own
    // cookie: the code is spent.
    let callback = seen["callback"].as_str().unwrap();
    let path = callback.strip_prefix(&w.s.base).unwrap();
    let cookie = seen["cookie"].as_str().unwrap();
    assert!(cookie.contains("ksrs_websso_"), "{cookie}");
    let r = w.s.request("GET", path, &[("Cookie", cookie)], None);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error"]["title"], "Unauthorized");
}

#[test]
fn by_protocol_alone_with_the_client_secret_in_the_form_and_the_access_tokens_claims() {
    let w = world(
        "client_id = keystone-websso-post\nclient_secret = keystone-websso-post-secret\n\
         token_endpoint_auth_method = client_secret_post\nscopes = openid profile email groups api\n\
         access_token_claims = true\naudiences = urn:keystone\n",
    );
    // The e-mail from a claim only the access token has (the provider's `address`, an
    // object: compact JSON, as mod_auth_openidc renders it); the name from the ID token,
    // whose claims come first.
    let rules = json!([{"local": [
            {"user": {"name": "{0}", "email": "{1}"}},
            {"groups": "{2}", "domain": {"name": "oidc-users"}}],
        "remote": [{"type": "OIDC-preferred_username"}, {"type": "OIDC-address"},
                   {"type": "OIDC-groups"}]}]);
    let r = send(
        &w.s,
        "PATCH",
        "/v3/OS-FEDERATION/mappings/oidc",
        &w.admin,
        Some(&json!({"mapping": {"rules": rules}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // myidp is the one provider with a browser client for `openid`.
    let url = format!(
        "{}{PROTOCOL_WEBSSO}?origin={}",
        w.s.base,
        quoted(&w.dashboard)
    );
    let seen = carol_lands_on_the_dashboard(&w, &url);
    let token = seen["token"].as_str().unwrap();
    let body = validate(&w, token);
    let user = &body["token"]["user"];
    assert_eq!(user["name"], "carol");
    let r = send(
        &w.s,
        "GET",
        &format!("/v3/users/{}", user["id"].as_str().unwrap()),
        &w.admin,
        None,
    );
    assert_eq!(
        r.json()["user"]["email"],
        r#"{"locality":"Paris","country":"FR"}"#
    );
    assert_eq!(rescope(&w, token).status, 201);
}

#[test]
fn a_user_who_denies_consent_gets_keystones_401_not_a_token() {
    let w = world("");
    // By protocol alone: myidp is the one provider with a browser client for `openid`.
    let url = format!(
        "{}{PROTOCOL_WEBSSO}?origin={}",
        w.s.base,
        quoted(&w.dashboard)
    );
    let seen = browser_login(&url, w.dashboard_port, ("carol", "carol-password"), "deny");
    assert_eq!(seen["status"], 401, "{seen}");
    let body: Value = serde_json::from_str(seen["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], 401);
    assert!(
        seen["callback"]
            .as_str()
            .unwrap()
            .contains("error=access_denied")
    );
}

/// The redirect to the provider, and the cookie that came with it (name=value).
fn start(w: &World, path: &str) -> (String, String) {
    let r = w.s.request(
        "GET",
        &format!("{path}?origin={}", quoted(&w.dashboard)),
        &[],
        None,
    );
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.header("location").unwrap().to_string();
    let set_cookie = r.header("set-cookie").unwrap().to_string();
    assert!(set_cookie.starts_with("ksrs_websso_"), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", &format!("Path={path}")] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    (location, cookie)
}

fn param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

#[test]
fn the_redirect_to_the_provider_asks_for_a_code_with_pkce() {
    let w = world("");
    let (location, _) = start(&w, IDP_WEBSSO);
    assert!(
        location.starts_with(&format!("{}/auth?", w.op.issuer)),
        "{location}"
    );
    assert_eq!(param(&location, "response_type"), "code");
    assert_eq!(param(&location, "client_id"), "keystone-websso");
    assert_eq!(param(&location, "code_challenge_method"), "S256");
    assert_eq!(
        param(&location, "scope"),
        "openid%20profile%20email%20groups"
    );
    assert_eq!(param(&location, "code_challenge").len(), 43);
    assert!(param(&location, "nonce").len() >= 32);
    let redirect_uri = percent_encoding::percent_decode_str(param(&location, "redirect_uri"));
    assert_eq!(
        redirect_uri.decode_utf8().unwrap(),
        format!("{}{IDP_WEBSSO}", w.s.base)
    );
    // Two logins never share a state or a cookie.
    let (again, cookie) = start(&w, IDP_WEBSSO);
    let (_, other_cookie) = start(&w, IDP_WEBSSO);
    assert_ne!(param(&location, "state"), param(&again, "state"));
    assert_ne!(cookie, other_cookie);
}

#[test]
fn forged_replayed_and_foreign_states_are_refused() {
    let w = world("");
    // A real login, stopped on its way back: its code is valid and unspent.
    let url = format!("{}{IDP_WEBSSO}?origin={}", w.s.base, quoted(&w.dashboard));
    let seen = browser_login(
        &url,
        w.dashboard_port,
        ("carol", "carol-password"),
        "intercept",
    );
    let callback = seen["callback"].as_str().expect("the callback");
    let cookie = seen["cookie"].as_str().expect("its cookie").to_string();
    let code = param(callback, "code").to_string();
    let state = param(callback, "state").to_string();
    let back = |state: &str, code: &str, cookie: Option<&str>| {
        let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
        w.s.request(
            "GET",
            &format!("{IDP_WEBSSO}?code={code}&state={state}"),
            &headers,
            None,
        )
    };
    let refused = |r: Response, why: &str| {
        assert_eq!(r.status, 401, "{why}: {}", r.body);
        assert_eq!(r.json()["error"]["title"], "Unauthorized", "{why}");
    };
    // Each of these is refused before the code is redeemed: it stays good for the browser
    // that earned it.
    refused(back(&state, &code, None), "no cookie");
    let (_, other) = start(&w, IDP_WEBSSO);
    let name = cookie
        .split(';')
        .map(str::trim)
        .find(|c| c.starts_with("ksrs_websso_"))
        .and_then(|c| c.split('=').next())
        .expect("the binding cookie")
        .to_string();
    let foreign = format!("{name}={}", other.split_once('=').unwrap().1);
    refused(
        back(&state, &code, Some(&foreign)),
        "another browser's cookie",
    );
    let mut tampered = state.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    refused(back(&tampered, &code, Some(&cookie)), "tampered state");
    refused(back("", &code, Some(&cookie)), "empty state");
    // A state is for the WebSSO URL it was started at.
    let r = w.s.request(
        "GET",
        &format!(
            "/v3/auth/OS-FEDERATION/identity_providers/otheridp/protocols/openid/websso?code={code}&state={state}&origin={}",
            quoted(&w.dashboard)
        ),
        &[("Cookie", cookie.as_str())],
        None,
    );
    assert_ne!(r.status, 200, "{}", r.body);
    // A code the provider never issued, with the right state and cookie: the provider
    // refuses the grant, which is the login's failure (401), not keystone-rs's (500/503).
    refused(back(&state, "bogus-code", Some(&cookie)), "unknown code");

    // The browser's own callback succeeds — at another node behind the same load balancer
    // (nothing of the login was stored on the first): the page posting carol's token.
    let node2 = w.s.second_node();
    let r = node2.request(
        "GET",
        &format!("{IDP_WEBSSO}?code={code}&state={state}"),
        &[("Cookie", cookie.as_str())],
        None,
    );
    let token = token_in_page(&r, &w.dashboard);
    assert_eq!(validate(&w, &token)["token"]["user"]["name"], "carol");
    let removal = r.header("set-cookie").expect("the cookie is removed");
    assert!(
        removal.starts_with(&format!("{name}=;")) && removal.contains("Max-Age=0"),
        "{removal}"
    );
    // Replayed: the code is spent.
    refused(back(&state, &code, Some(&cookie)), "replayed callback");
    // The provider's refusal.
    let r = w.s.request(
        "GET",
        &format!("{IDP_WEBSSO}?error=access_denied&state={state}"),
        &[("Cookie", cookie.as_str())],
        None,
    );
    refused(r, "access_denied");
}

#[test]
fn origins_are_checked_as_keystone_checks_them() {
    let w = world("");
    for path in [IDP_WEBSSO, PROTOCOL_WEBSSO] {
        let r = w.s.request("GET", path, &[], None);
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(
            r.json()["error"]["message"],
            "Request must have an origin query parameter"
        );
        for origin in [
            "https://evil.example/auth/websso/",
            "http://127.0.0.1:1/auth/websso/",
        ] {
            let r = w.s.request(
                "GET",
                &format!("{path}?origin={}", quoted(origin)),
                &[],
                None,
            );
            assert_eq!(r.status, 401, "{}", r.body);
            assert_eq!(
                r.json()["error"]["message"],
                "The request you have made requires authentication."
            );
        }
    }
    // POST starts a login as GET does.
    let r = w.s.request(
        "POST",
        &format!("{IDP_WEBSSO}?origin={}", quoted(&w.dashboard)),
        &[],
        None,
    );
    assert_eq!(r.status, 302, "{}", r.body);
}

/// The front end's assertion (headers from a trusted proxy) for a protocol keystone-rs does
/// not serve natively: the `mapped` protocol of another identity provider.
#[test]
fn a_trusted_front_end_signs_in_through_websso_as_apache_does_for_keystone() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("sso.html");
    std::fs::write(
        &template,
        "<form action=\"$host\">${token} costs $$0</form>",
    )
    .unwrap();
    let w = world("");
    let apache_idp = "https://apache-idp.example";
    let r = send(
        &w.s,
        "PUT",
        "/v3/OS-FEDERATION/identity_providers/apache",
        &w.admin,
        Some(
            &json!({"identity_provider": {"remote_ids": [apache_idp], "enabled": true,
            "domain_id": w.s.make_domain("apache-users")}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        &w.s,
        "PUT",
        "/v3/OS-FEDERATION/identity_providers/apache/protocols/mapped",
        &w.admin,
        Some(&json!({"protocol": {"mapping_id": "oidc", "remote_id_attribute": "OIDC-iss"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let headers = [
        ("OIDC-iss", apache_idp),
        ("OIDC-preferred_username", "dave"),
        ("OIDC-email", "dave@example.org"),
        ("OIDC-groups", "devs"),
    ];
    let origin = quoted(&w.dashboard);
    for path in [
        "/v3/auth/OS-FEDERATION/websso/mapped",
        "/v3/auth/OS-FEDERATION/identity_providers/apache/protocols/mapped/websso",
    ] {
        for method in ["GET", "POST"] {
            let r =
                w.s.request(method, &format!("{path}?origin={origin}"), &headers, None);
            let token = token_in_page(&r, &w.dashboard);
            let body = validate(&w, &token);
            assert_eq!(body["token"]["user"]["name"], "dave");
            assert_eq!(
                body["token"]["user"]["OS-FEDERATION"]["identity_provider"]["id"],
                "apache"
            );
            assert_eq!(rescope(&w, &token).status, 201);
        }
    }
    // By protocol, with no remote id in the assertion: Keystone's 401 comes before the
    // origin is even looked at; an unknown remote id is Keystone's 404.
    let r = w.s.request(
        "GET",
        "/v3/auth/OS-FEDERATION/websso/mapped",
        &headers[1..],
        None,
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let mut unknown = headers;
    unknown[0] = ("OIDC-iss", "https://nobody.example");
    let r = w.s.request(
        "GET",
        &format!("/v3/auth/OS-FEDERATION/websso/mapped?origin={origin}"),
        &unknown,
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        r.json()["error"]["message"],
        "Could not find Identity Provider: https://nobody.example."
    );

    // An operator's own template, substituted as Python's string.Template does.
    let w2 = TestServer::start_with(&format!(
        "[auth]\nmethods = password,token,mapped\n[federation]\ntrusted_proxies = 127.0.0.1\n\
         assertion_prefix = OIDC-\ntrusted_dashboard = https://dash.example/\n\
         sso_callback_template = {}\n",
        template.display()
    ));
    let (admin, _) = setup(&w2, apache_idp);
    let r = send(
        &w2,
        "PUT",
        "/v3/OS-FEDERATION/identity_providers/myidp/protocols/mapped",
        &admin,
        Some(&json!({"protocol": {"mapping_id": "oidc", "remote_id_attribute": "OIDC-iss"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = w2.request(
        "GET",
        "/v3/auth/OS-FEDERATION/websso/mapped?origin=https%3A%2F%2Fdash.example%2F",
        &headers,
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let (start, rest) = r.body.split_once("\">").unwrap();
    assert_eq!(start, "<form action=\"https://dash.example/");
    let token = rest.strip_suffix(" costs $0</form>").unwrap();
    assert!(token.starts_with("gAAAAA"), "{token}");
}
