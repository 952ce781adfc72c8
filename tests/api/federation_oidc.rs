//! Federated login through the native OpenID Connect path, end to end: keystoneauth's
//! v3oidc plugins present the access token they got from the provider as `Authorization:
//! Bearer` at `…/protocols/{protocol}/auth`; keystone-rs validates it at the real provider
//! (npm oidc-provider, tests/oidc), maps its claims under mod_auth_openidc's names and
//! issues a federated token. A token for another audience is refused, and the front end's
//! headers count for nothing on a natively served protocol.

#[path = "../oidc/provider.rs"]
pub mod provider;

use crate::support::{TestServer, role_id, send};
use provider::Provider;
use serde_json::{Value, json};

const AUTH: &str = "/v3/OS-FEDERATION/identity_providers/myidp/protocols/openid/auth";

fn server(op: &Provider) -> TestServer {
    TestServer::start_with(&format!(
        "[auth]\nmethods = password,token,openid,application_credential\n\
         [federation]\ntrusted_proxies = 127.0.0.1\nassertion_prefix = OIDC-\n\
         [openid_connect:myidp:openid]\nissuer = {}\naudiences = urn:keystone\nclaim_delimiter = ;\n",
        op.issuer
    ))
}

/// An identity provider whose remote id is the issuer, a mapping of the token's claims
/// (user name, e-mail, groups) and a group with a role on a project.
pub fn setup(s: &TestServer, issuer: &str) -> (String, String) {
    let admin = s.admin_token();
    let domain = s.make_domain("oidc-users");
    let group = s.make_group("devs", &domain, &[]);
    let project = s.make_project("oidc-project", &domain, None);
    let member = role_id(s, &admin, "member");
    let path = format!("/v3/projects/{project}/groups/{group}/roles/{member}");
    assert_eq!(send(s, "PUT", &path, &admin, None).status, 204);
    let rules = json!([{"local": [
            {"user": {"name": "{0}", "email": "{1}"}},
            {"groups": "{2}", "domain": {"id": domain}}],
        "remote": [{"type": "OIDC-preferred_username"}, {"type": "OIDC-email"},
                   {"type": "OIDC-groups"}]}]);
    let r = send(
        s,
        "PUT",
        "/v3/OS-FEDERATION/mappings/oidc",
        &admin,
        Some(&json!({"mapping": {"rules": rules}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        s,
        "PUT",
        "/v3/OS-FEDERATION/identity_providers/myidp",
        &admin,
        Some(
            &json!({"identity_provider": {"domain_id": domain, "remote_ids": [issuer], "enabled": true}}),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        s,
        "PUT",
        "/v3/OS-FEDERATION/identity_providers/myidp/protocols/openid",
        &admin,
        Some(&json!({"protocol": {"mapping_id": "oidc", "remote_id_attribute": "HTTP_OIDC_ISS"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    (admin, project)
}

#[test]
fn a_bearer_token_from_the_provider_logs_in_and_a_foreign_one_does_not() {
    let op = Provider::start();
    let s = server(&op);
    let (admin, project) = setup(&s, &op.issuer);

    let bearer = format!("Bearer {}", op.token("urn:keystone"));
    let r = s.request("POST", AUTH, &[("Authorization", bearer.as_str())], None);
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.header("X-Subject-Token").expect("token").to_string();
    let body: Value = serde_json::from_str(&r.body).unwrap();
    let user = &body["token"]["user"];
    assert_eq!(user["name"], "ann");
    assert_eq!(user["OS-FEDERATION"]["identity_provider"]["id"], "myidp");
    assert_eq!(user["OS-FEDERATION"]["protocol"]["id"], "openid");

    // The token validates, and rescopes to the project the mapped group has a role on.
    let r = s.request(
        "GET",
        "/v3/auth/tokens",
        &[
            ("X-Auth-Token", admin.as_str()),
            ("X-Subject-Token", token.as_str()),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rescope = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"id": project}}}});
    let r = s.request(
        "POST",
        "/v3/auth/tokens",
        &[("Content-Type", "application/json")],
        Some(rescope.to_string().as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.body);

    // Another audience's token from the same provider, no token, and the front end's headers
    // (believed for header-asserted protocols from this trusted peer) are all refused here.
    let foreign = format!("Bearer {}", op.token("urn:elsewhere"));
    let r = s.request("POST", AUTH, &[("Authorization", foreign.as_str())], None);
    assert_eq!(r.status, 401, "{}", r.body);
    let r = s.request(
        "POST",
        AUTH,
        &[
            ("OIDC-preferred_username", "mallory"),
            ("OIDC-iss", op.issuer.as_str()),
        ],
        None,
    );
    assert_eq!(r.status, 401, "{}", r.body);
}
