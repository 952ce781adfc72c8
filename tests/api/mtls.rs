//! TLS serving (`[ssl]`) and OAuth2 `tls_client_auth` (RFC 8705): certificate-bound tokens,
//! their Keystone thumbprint on validation and RFC 8705 `cnf` on introspection, the binding
//! enforced over TLS, and every refusal an `invalid_client` 401 — never a 500.

use crate::support::{Response, TestServer, role_id, send};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;
use sha2::{Digest, Sha256};

const TOKEN: &str = "/v3/OS-OAUTH2/token";
const INTROSPECT: &str = "/v3/OS-OAUTH2/introspect";
const MAPPING: &str = "/v3/OS-FEDERATION/mappings/oauth2_mapping";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ROOT_CN: &str = "Test Root CA";

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A leaf certificate: (certificate PEM, key PEM, DER).
    fn issue(&self, dn: &[(DnType, &str)], sans: &[&str], client: bool) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut p = CertificateParams::new(sans).unwrap();
        for (t, v) in dn {
            p.distinguished_name.push(t.clone(), *v);
        }
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

impl Leaf {
    fn identity(&self) -> Option<(&str, &str)> {
        Some((&self.cert_pem, &self.key_pem))
    }
}

/// The PEM Python's `ssl.DER_cert_to_PEM_cert` writes, hashed as Keystone does.
fn keystone_thumbprint(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    URL_SAFE.encode(Sha256::digest(pem.as_bytes()))
}

struct Mtls {
    s: TestServer,
    admin: String,
    root: Ca,
    /// Trusted by `ca_certs` too, but not an issuer the mapping accepts.
    other: Ca,
    /// The client user, its default project, and its certificate (CN = its name).
    user_id: String,
    project_id: String,
    cert: Leaf,
    _pki: tempfile::TempDir,
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

impl Mtls {
    fn new() -> Mtls {
        Self::with(|_| String::new())
    }

    /// A TLS server whose `ca_certs` trust the test root and a second CA ("Other Root").
    fn with(extra: impl Fn(&std::path::Path) -> String) -> Mtls {
        let pki = tempfile::tempdir().unwrap();
        let root = Ca::new(ROOT_CN);
        let other = Ca::new("Other Root");
        let server = root.issue(&[(DnType::CommonName, "localhost")], &["127.0.0.1"], false);
        let ca_certs = format!("{}{}", root.cert.pem(), other.cert.pem());
        let conf = format!(
            "[ssl]\ncertfile = {}\nkeyfile = {}\nca_certs = {}\n{}",
            write(pki.path(), "server.pem", &server.cert_pem),
            write(pki.path(), "server.key", &server.key_pem),
            write(pki.path(), "ca.pem", &ca_certs),
            extra(pki.path()),
        );
        let s = TestServer::start_with(&conf);
        assert!(s.base.starts_with("https://"), "{}", s.base);
        let admin = s.admin_token();
        let (user_id, project_id) = make_client_user(&s, &admin, "mtls-client", true, true);
        let r = send(
            &s,
            "PUT",
            MAPPING,
            &admin,
            Some(&json!({"mapping": {"rules": [{
                "local": [{"user": {"name": "{0}"}}],
                "remote": [{"type": "SSL_CLIENT_SUBJECT_DN_CN"},
                           {"type": "SSL_CLIENT_ISSUER_DN_CN", "any_one_of": [ROOT_CN]}]}]}})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let cert = root.issue(
            &[
                (DnType::CommonName, "mtls-client"),
                (DnType::OrganizationName, "Example"),
            ],
            &[],
            true,
        );
        Mtls {
            s,
            admin,
            root,
            other,
            user_id,
            project_id,
            cert,
            _pki: pki,
        }
    }

    fn form_via(&self, agent: &ureq::Agent, path: &str, body: &str) -> Response {
        self.s
            .request_via(agent, "POST", path, &[FORM], Some(body.as_bytes()))
            .expect("TLS exchange")
    }

    fn token_with(&self, leaf: &Leaf, client_id: &str) -> Response {
        let agent = self.s.tls_agent(leaf.identity());
        self.form_via(
            &agent,
            TOKEN,
            &format!("grant_type=client_credentials&client_id={client_id}"),
        )
    }

    fn bound_token(&self) -> String {
        let r = self.token_with(&self.cert, &self.user_id);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["token_type"], "Bearer");
        r.json()["access_token"].as_str().unwrap().to_string()
    }
}

/// A user with (optionally) a default project on which it (optionally) has `member`.
fn make_client_user(
    s: &TestServer,
    admin: &str,
    name: &str,
    default_project: bool,
    role: bool,
) -> (String, String) {
    let project = s.make_project(&format!("{name}-project"), "default", None);
    let user = s.make_user(name, "default", "client-pass-1");
    if default_project {
        let r = send(
            s,
            "PATCH",
            &format!("/v3/users/{user}"),
            admin,
            Some(&json!({"user": {"default_project_id": project}})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    if role {
        let member = role_id(s, admin, "member");
        let r = send(
            s,
            "PUT",
            &format!("/v3/projects/{project}/users/{user}/roles/{member}"),
            admin,
            None,
        );
        assert_eq!(r.status, 204, "{}", r.body);
    }
    (user, project)
}

fn assert_invalid_client(r: &Response, case: &str) {
    assert_eq!(r.status, 401, "{case}: {}", r.body);
    assert_eq!(
        r.json(),
        json!({"error": "invalid_client", "error_description": "Client authentication failed."}),
        "{case}"
    );
}

#[test]
fn tls_client_auth_issues_a_certificate_bound_token() {
    let m = Mtls::new();
    let token = m.bound_token();
    let r = m.s.tokens("GET", "", &m.admin, &token);
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    let t = &body["token"];
    assert_eq!(
        t["oauth2_credential"],
        json!({"x5t#S256": keystone_thumbprint(&m.cert.der)})
    );
    // `oauth2_credential` is not in [auth] methods: the Fernet bitmask drops it; a JWS
    // token carries the names as they are.
    let methods = if crate::support::jws_provider() {
        json!(["oauth2_credential"])
    } else {
        json!([])
    };
    assert_eq!(t["methods"], methods);
    assert_eq!(t["user"]["id"], m.user_id.as_str());
    assert_eq!(t["project"]["id"], m.project_id.as_str());
    let roles: Vec<&str> = t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"member"), "{roles:?}");
    // Keystone renders it last.
    assert_eq!(
        t.as_object().unwrap().keys().last().map(String::as_str),
        Some("oauth2_credential")
    );
}

#[test]
fn a_bound_token_needs_its_certificate_over_tls() {
    let m = Mtls::new();
    let token = m.bound_token();
    let headers = [
        ("X-Auth-Token", token.as_str()),
        ("X-Subject-Token", token.as_str()),
    ];
    let own = m.s.tls_agent(m.cert.identity());
    let r =
        m.s.request_via(&own, "GET", "/v3/auth/tokens", &headers, None)
            .unwrap();
    assert_eq!(r.status, 200, "with its certificate: {}", r.body);

    let none = m.s.tls_agent(None);
    let r =
        m.s.request_via(&none, "GET", "/v3/auth/tokens", &headers, None)
            .unwrap();
    assert_eq!(r.status, 401, "without a certificate: {}", r.body);

    // The same user's other certificate is still not the one the token is bound to.
    let other = m
        .root
        .issue(&[(DnType::CommonName, "mtls-client")], &[], true);
    let agent = m.s.tls_agent(other.identity());
    let r =
        m.s.request_via(&agent, "GET", "/v3/auth/tokens", &headers, None)
            .unwrap();
    assert_eq!(r.status, 401, "with another certificate: {}", r.body);

    // As a subject token it validates for anyone (binding is the presenter's business).
    let r = m.s.tokens("GET", "", &m.admin, &token);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn introspection_by_certificate_carries_the_rfc8705_thumbprint() {
    let m = Mtls::new();
    let token = m.bound_token();
    let agent = m.s.tls_agent(m.cert.identity());
    let r = m.form_via(
        &agent,
        INTROSPECT,
        &format!(
            "token={token}&token_type_hint=access_token&client_id={}",
            m.user_id
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], m.user_id.as_str());
    assert_eq!(
        body["cnf"],
        json!({"x5t#S256": URL_SAFE_NO_PAD.encode(Sha256::digest(&m.cert.der))})
    );
    assert_eq!(body["project"]["id"], m.project_id.as_str());

    // An ordinary token has no `cnf`.
    let r = m.form_via(
        &agent,
        INTROSPECT,
        &format!("token={}&client_id={}", m.admin, m.user_id),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["active"], true);
    assert!(r.json().get("cnf").is_none(), "{}", r.body);

    // Introspection without a client authentication is refused.
    let none = m.s.tls_agent(None);
    let r = m.form_via(
        &none,
        INTROSPECT,
        &format!("token={token}&client_id={}", m.user_id),
    );
    assert_invalid_client(&r, "no certificate, no secret");
}

#[test]
fn tls_client_auth_refusals_are_invalid_client() {
    let m = Mtls::new();
    let cert = &m.cert;

    assert_invalid_client(
        &m.token_with(cert, "0123456789abcdef0123456789abcdef"),
        "unknown user",
    );
    let agent = m.s.tls_agent(cert.identity());
    let r = m.form_via(&agent, TOKEN, "grant_type=client_credentials");
    assert_invalid_client(&r, "no client_id");

    // The certificate names another user than client_id.
    let (someone, _) = make_client_user(&m.s, &m.admin, "someone-else", true, true);
    assert_invalid_client(&m.token_with(cert, &someone), "name mismatch");

    let (no_project, _) = make_client_user(&m.s, &m.admin, "no-default-project", false, false);
    let leaf = m
        .root
        .issue(&[(DnType::CommonName, "no-default-project")], &[], true);
    assert_invalid_client(&m.token_with(&leaf, &no_project), "no default project");

    let (no_roles, _) = make_client_user(&m.s, &m.admin, "no-roles", true, false);
    let leaf = m.root.issue(&[(DnType::CommonName, "no-roles")], &[], true);
    // Keystone's issue error passes through with its own message (oauth2.md A2's table).
    let r = m.token_with(&leaf, &no_roles);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.json(),
        json!({"error": "invalid_client",
               "error_description": "The request you have made requires authentication."}),
        "no role on the default project"
    );

    // Keystone splits `KEY=value` on `=`: such a name is unusable.
    let leaf = m.root.issue(&[(DnType::CommonName, "a=b")], &[], true);
    assert_invalid_client(&m.token_with(&leaf, &m.user_id), "'=' in a name value");

    // A trusted CA the mapping does not accept as issuer.
    let leaf = m
        .other
        .issue(&[(DnType::CommonName, "mtls-client")], &[], true);
    assert_invalid_client(&m.token_with(&leaf, &m.user_id), "issuer not in any_one_of");

    // A disabled user gets no token (Keystone would mint one that never validates).
    let user_path = format!("/v3/users/{}", m.user_id);
    let disable = |enabled: bool| {
        let r = send(
            &m.s,
            "PATCH",
            &user_path,
            &m.admin,
            Some(&json!({"user": {"enabled": enabled}})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    disable(false);
    assert_invalid_client(&m.token_with(cert, &m.user_id), "disabled user");
    disable(true);
    assert_eq!(m.token_with(cert, &m.user_id).status, 200);

    // The mapping requires the organisation to be the user's domain name.
    let r = send(
        &m.s,
        "PATCH",
        MAPPING,
        &m.admin,
        Some(&json!({"mapping": {"rules": [{
            "local": [{"user": {"name": "{0}", "domain": {"name": "{1}"}}}],
            "remote": [{"type": "SSL_CLIENT_SUBJECT_DN_CN"}, {"type": "SSL_CLIENT_SUBJECT_DN_O"}]}]}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_invalid_client(
        &m.token_with(cert, &m.user_id),
        "O=Example is not domain Default",
    );
    let r = send(
        &m.s,
        "PATCH",
        MAPPING,
        &m.admin,
        Some(&json!({"mapping": {"rules": [{
            "local": [{"user": {"name": "{0}", "id": "{1}"}}],
            "remote": [{"type": "SSL_CLIENT_SUBJECT_DN_CN"}, {"type": "SSL_CLIENT_SUBJECT_DN_O"}]}]}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_invalid_client(
        &m.token_with(cert, &m.user_id),
        "O=Example is not the user id",
    );

    let r = send(&m.s, "DELETE", MAPPING, &m.admin, None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_invalid_client(&m.token_with(cert, &m.user_id), "no mapping");
}

#[test]
fn certificates_of_unknown_issuers_fail_the_handshake() {
    let m = Mtls::new();
    let stranger = Ca::new(ROOT_CN);
    let leaf = stranger.issue(&[(DnType::CommonName, "mtls-client")], &[], true);
    let agent = m.s.tls_agent(leaf.identity());
    let r = m.s.request_via(
        &agent,
        "POST",
        TOKEN,
        &[FORM],
        Some(format!("grant_type=client_credentials&client_id={}", m.user_id).as_bytes()),
    );
    assert!(
        r.is_err(),
        "an unknown CA's certificate must not get through"
    );
}

#[test]
fn tls_client_auth_can_be_disabled() {
    let m = Mtls::with(|_| {
        "[oauth2]\noauth2_authn_methods = client_secret_basic,client_secret_post\n".into()
    });
    assert_invalid_client(&m.token_with(&m.cert, &m.user_id), "method not enabled");
    let r = m.s.get("/.well-known/oauth-authorization-server", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let methods = &r.json()["token_endpoint_auth_methods_supported"];
    assert!(
        !methods
            .as_array()
            .unwrap()
            .contains(&json!("tls_client_auth")),
        "{methods}"
    );
}

#[test]
fn metadata_and_plain_requests_over_tls() {
    let m = Mtls::new();
    let r = m.s.get("/.well-known/oauth-authorization-server", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let meta = r.json();
    assert!(
        meta["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("tls_client_auth")),
        "{meta}"
    );
    assert_eq!(meta["tls_client_certificate_bound_access_tokens"], true);
    assert!(
        meta["issuer"].as_str().unwrap().starts_with("https://"),
        "{meta}"
    );
    // An ordinary token works over TLS with or without a client certificate.
    let own = m.s.tls_agent(m.cert.identity());
    let r =
        m.s.request_via(
            &own,
            "GET",
            "/v3/projects",
            &[("X-Auth-Token", &m.admin)],
            None,
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn cert_required_refuses_clients_without_a_certificate() {
    let pki = tempfile::tempdir().unwrap();
    let root = Ca::new(ROOT_CN);
    let server = root.issue(&[(DnType::CommonName, "localhost")], &["127.0.0.1"], false);
    let conf = format!(
        "[ssl]\ncertfile = {}\nkeyfile = {}\nca_certs = {}\ncert_required = true\n",
        write(pki.path(), "server.pem", &server.cert_pem),
        write(pki.path(), "server.key", &server.key_pem),
        write(pki.path(), "ca.pem", &root.cert.pem()),
    );
    let s = TestServer::start_with(&conf);
    let none = s.tls_agent(None);
    assert!(
        s.request_via(&none, "GET", "/v3", &[], None).is_err(),
        "no certificate, no connection"
    );
    let client = root.issue(&[(DnType::CommonName, "anyone")], &[], true);
    let own = s.tls_agent(client.identity());
    let r = s.request_via(&own, "GET", "/v3", &[], None).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}
