//! OS-OAUTH2: the client credentials grant with every client-authentication method, its
//! error table (oauth2.md A6, with keystone-rs's RFC 6749 deviations), JWT assertions
//! (RFC 7523) and their replay protection across nodes, introspection (RFC 7662) and the
//! RFC 8414 metadata.

use crate::support::{Response, TestServer};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::Mac;
use serde_json::{Value, json};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const TOKEN: &str = "/v3/OS-OAUTH2/token";
const INTROSPECT: &str = "/v3/OS-OAUTH2/introspect";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn key(name: &str) -> String {
    let path = format!(
        "{}/../tests/vectors/oauth2/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Fixture {
    s: TestServer,
    admin_token: String,
    user_id: String,
    client_id: String,
    secret: String,
}

impl Fixture {
    fn new() -> Fixture {
        Self::with_conf("")
    }

    fn with_conf(conf: &str) -> Fixture {
        let s = TestServer::start_with(conf);
        let admin_token = s.admin_token();
        let r = s.tokens("GET", "", &admin_token, &admin_token);
        let user_id = r.json()["token"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (client_id, secret) =
            make_credential(&s, &admin_token, &user_id, "oauth2-client", None);
        Fixture {
            s,
            admin_token,
            user_id,
            client_id,
            secret,
        }
    }

    fn form(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        let mut all = vec![FORM];
        all.extend_from_slice(headers);
        self.s.request("POST", path, &all, Some(body.as_bytes()))
    }

    fn basic(&self, id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn token_basic(&self) -> Response {
        let auth = self.basic(&self.client_id, &self.secret);
        self.form(
            TOKEN,
            &[("Authorization", &auth)],
            "grant_type=client_credentials",
        )
    }

    fn client_path(&self) -> String {
        format!(
            "/v3/users/{}/application_credentials/{}/OS-OAUTH2/client",
            self.user_id, self.client_id
        )
    }

    fn register(&self, body: &Value) -> Response {
        let text = body.to_string();
        self.s.request(
            "PUT",
            &self.client_path(),
            &[
                ("Content-Type", "application/json"),
                ("X-Auth-Token", &self.admin_token),
            ],
            Some(text.as_bytes()),
        )
    }

    fn audience(&self) -> String {
        format!("{}{TOKEN}", self.s.base)
    }

    fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        // keystonemiddleware sends iat/exp as strings of digits.
        json!({"iss": self.client_id, "sub": self.client_id, "aud": self.audience(),
               "jti": uuid::Uuid::new_v4().to_string(), "iat": now.to_string(),
               "exp": (now + 300).to_string()})
    }

    fn assertion_form(&self, assertion: &str) -> String {
        format!(
            "grant_type=client_credentials&client_assertion_type={}&client_assertion={assertion}",
            urlencode(JWT_BEARER)
        )
    }

    fn token_jwt(&self, assertion: &str) -> Response {
        self.form(TOKEN, &[], &self.assertion_form(assertion))
    }

    fn introspect(&self, token: &str) -> Response {
        let auth = self.basic(&self.client_id, &self.secret);
        self.form(
            INTROSPECT,
            &[("Authorization", &auth)],
            &format!("token={}&token_type_hint=access_token", urlencode(token)),
        )
    }
}

fn make_credential(
    s: &TestServer,
    token: &str,
    user_id: &str,
    name: &str,
    expires_at: Option<&str>,
) -> (String, String) {
    let mut ac = json!({"name": name});
    if let Some(at) = expires_at {
        ac["expires_at"] = json!(at);
    }
    let r = s.post_json(
        &format!("/v3/users/{user_id}/application_credentials"),
        Some(token),
        &json!({"application_credential": ac}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ac = r.json()["application_credential"].clone();
    (
        ac["id"].as_str().unwrap().into(),
        ac["secret"].as_str().unwrap().into(),
    )
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn jws(alg: &str, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": alg}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
    format!("{input}.{sig}")
}

fn hs(alg: &str, claims: &Value, secret: &str) -> String {
    jws(alg, claims, |input| match alg {
        "HS256" => mac::<hmac::Hmac<sha2::Sha256>>(secret, input),
        "HS384" => mac::<hmac::Hmac<sha2::Sha384>>(secret, input),
        _ => mac::<hmac::Hmac<sha2::Sha512>>(secret, input),
    })
}

fn mac<M: Mac + hmac::digest::KeyInit>(secret: &str, input: &[u8]) -> Vec<u8> {
    let mut m = <M as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(input);
    m.finalize().into_bytes().to_vec()
}

fn rs256(claims: &Value) -> String {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let k = rsa::RsaPrivateKey::from_pkcs8_pem(&key("oauth2_rsa.pem")).unwrap();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k);
    jws("RS256", claims, |input| signer.sign(input).to_vec())
}

fn es256(claims: &Value) -> String {
    use p256::pkcs8::DecodePrivateKey;
    use rsa::signature::Signer;
    let k = p256::ecdsa::SigningKey::from_pkcs8_pem(&key("oauth2_ec.pem")).unwrap();
    jws("ES256", claims, |input| {
        let sig: p256::ecdsa::Signature = k.sign(input);
        sig.to_bytes().to_vec()
    })
}

fn assert_oauth_error(r: &Response, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["error"], error, "{}", r.body);
    assert!(v["error_description"].is_string(), "{}", r.body);
    assert_eq!(v.as_object().unwrap().len(), 2, "{}", r.body);
    assert!(r.body.ends_with('\n'));
}

#[test]
fn client_secret_basic_issues_an_application_credential_token() {
    let f = Fixture::new();
    let r = f.token_basic();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let v = r.json();
    // Keystone's byte shape: compact, sorted keys, trailing newline.
    let token = v["access_token"].as_str().unwrap();
    assert_eq!(
        r.body,
        format!("{{\"access_token\":\"{token}\",\"expires_in\":3600,\"token_type\":\"Bearer\"}}\n")
    );
    let t = f.s.tokens("GET", "", &f.admin_token, token);
    assert_eq!(t.status, 200, "{}", t.body);
    let t = t.json();
    assert_eq!(t["token"]["methods"], json!(["application_credential"]));
    assert_eq!(
        t["token"]["application_credential"]["id"],
        f.client_id.as_str()
    );
    assert_eq!(t["token"]["project"]["name"], "admin");
    // Usable as X-Auth-Token, as Keystone's.
    assert_eq!(f.s.tokens("GET", "", token, token).status, 200);
}

#[test]
fn client_secret_post_and_keystone_form_secret() {
    let f = Fixture::new();
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        f.client_id, f.secret
    );
    let r = f.form(TOKEN, &[], &body);
    assert_eq!(r.status, 200, "{}", r.body);
    // Keystone's configuration name for secrets covers the form too.
    let g = Fixture::with_conf("[oauth2]\noauth2_authn_methods = client_secret_basic\n");
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        g.client_id, g.secret
    );
    assert_eq!(g.form(TOKEN, &[], &body).status, 200);
    // A method not configured is refused.
    let h = Fixture::with_conf("[oauth2]\noauth2_authn_methods = client_secret_post\n");
    assert_oauth_error(&h.token_basic(), 401, "invalid_client");
}

#[test]
fn error_table() {
    let f = Fixture::new();
    let auth = f.basic(&f.client_id, &f.secret);
    // grant_type missing (also: a JSON body is not read, as Flask's request.form).
    let r = f.form(TOKEN, &[("Authorization", &auth)], "");
    assert_eq!(
        r.body,
        "{\"error\":\"invalid_request\",\"error_description\":\"The parameter grant_type is required.\"}\n"
    );
    assert_eq!(r.status, 400);
    let r = f.s.request(
        "POST",
        TOKEN,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        Some(br#"{"grant_type": "client_credentials"}"#),
    );
    assert_oauth_error(&r, 400, "invalid_request");
    // Unsupported grant type.
    let r = f.form(TOKEN, &[("Authorization", &auth)], "grant_type=password");
    assert_eq!(
        r.body,
        "{\"error\":\"unsupported_grant_type\",\"error_description\":\"The parameter grant_type password is not supported.\"}\n"
    );
    // No client credentials at all: Keystone's text, Keystone's challenge.
    let r = f.form(TOKEN, &[], "grant_type=client_credentials");
    assert_eq!(
        r.body,
        "{\"error\":\"invalid_client\",\"error_description\":\"Client authentication failed.\"}\n"
    );
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .starts_with("Keystone uri=")
    );
    // Wrong secret over Basic: Keystone's text; the challenge names Basic (RFC 6749 §5.2).
    let wrong = f.basic(&f.client_id, "nope");
    let r = f.form(
        TOKEN,
        &[("Authorization", &wrong)],
        "grant_type=client_credentials",
    );
    assert_eq!(
        r.body,
        "{\"error\":\"invalid_client\",\"error_description\":\"The request you have made requires authentication.\"}\n"
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"OS-OAUTH2\"")
    );
    // Unknown client: Keystone's 404 other_error becomes RFC 6749's 401 invalid_client.
    let unknown = f.basic("0123456789abcdef0123456789abcdef", &f.secret);
    let r = f.form(
        TOKEN,
        &[("Authorization", &unknown)],
        "grant_type=client_credentials",
    );
    assert_oauth_error(&r, 401, "invalid_client");
    // Other methods: 405 other_error, not flask-restful's body.
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let r = f.s.request(method, TOKEN, &[], None);
        assert_eq!(
            r.body,
            "{\"error\":\"other_error\",\"error_description\":\"The method is not allowed for the requested URL.\"}\n",
            "{method}"
        );
        assert_eq!(r.status, 405);
        assert_eq!(r.header("Allow"), Some("POST"), "{method}");
    }
    assert_oauth_error(
        &f.s.request("GET", INTROSPECT, &[], None),
        405,
        "other_error",
    );
}

#[test]
fn malformed_requests_are_rfc_errors() {
    let f = Fixture::new();
    let grant = "grant_type=client_credentials";
    for header in [
        "Basic",
        "Basic !!!notbase64",
        "Basic bm9jb2xvbg==",
        "Basic OnNlY3JldA==",
    ] {
        let r = f.form(TOKEN, &[("Authorization", header)], grant);
        assert_oauth_error(&r, 401, "invalid_client");
    }
    // Non-UTF-8 and undecodable bodies.
    let r =
        f.s.request("POST", TOKEN, &[FORM], Some(&[0xff, 0xfe, b'=', 0x80]));
    assert_oauth_error(&r, 400, "invalid_request");
    // A parameter twice, two methods at once.
    let r = f.form(
        TOKEN,
        &[],
        "grant_type=client_credentials&grant_type=client_credentials",
    );
    assert_oauth_error(&r, 400, "invalid_request");
    let auth = f.basic(&f.client_id, &f.secret);
    let body = format!(
        "{grant}&client_id={}&client_secret={}",
        f.client_id, f.secret
    );
    let r = f.form(TOKEN, &[("Authorization", &auth)], &body);
    assert_oauth_error(&r, 400, "invalid_request");
    // Basic for one client, form client_id of another.
    let r = f.form(
        TOKEN,
        &[("Authorization", &auth)],
        &format!("{grant}&client_id=other"),
    );
    assert_oauth_error(&r, 400, "invalid_request");
    // Assertion problems.
    let r = f.form(TOKEN, &[], &format!("{grant}&client_assertion=abc"));
    assert_oauth_error(&r, 400, "invalid_request");
    for garbage in [
        "abc",
        "a.b.c",
        "....",
        "eyJhbGciOiJub25lIn0.e30.",
        &"A".repeat(20000),
    ] {
        let r = f.token_jwt(garbage);
        assert_oauth_error(&r, 401, "invalid_client");
    }
}

#[test]
fn registration_of_jwt_clients() {
    let f = Fixture::new();
    assert_eq!(f.s.get(&f.client_path(), Some(&f.admin_token)).status, 404);
    let r = f.register(&json!({"client": {"secret": "not-the-secret"}}));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = f.register(&json!({"client": {"public_key": key("oauth2_rsa1024.pub.pem")}}));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = f.register(&json!({"client": {"public_key": "-----BEGIN PUBLIC KEY-----\ngarbage\n"}}));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(f.register(&json!({"client": {}})).status, 400);
    assert_eq!(f.register(&json!({"nope": 1})).status, 400);
    let r = f.register(
        &json!({"client": {"secret": f.secret, "public_key": key("oauth2_rsa.pub.pem")}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json()["client"].clone();
    assert_eq!(c["client_secret_jwt"], true);
    assert_eq!(c["private_key_jwt"], true);
    assert_eq!(c["public_key_alg"], "RS256");
    assert!(!r.body.contains(&f.secret), "the secret is never shown");
    let r = f.s.get(&f.client_path(), Some(&f.admin_token));
    assert_eq!(r.status, 200, "{}", r.body);
    // Another credential's path under a wrong user: 404.
    let elsewhere = f.client_path().replace(&f.user_id, "someone-else");
    assert_ne!(f.s.get(&elsewhere, Some(&f.admin_token)).status, 200);
    // A token from the credential itself cannot manage it.
    let ac_token = f.token_basic().json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = f.s.request(
        "DELETE",
        &f.client_path(),
        &[("X-Auth-Token", &ac_token)],
        None,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = f.s.request(
        "DELETE",
        &f.client_path(),
        &[("X-Auth-Token", &f.admin_token)],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let r = f.s.request(
        "DELETE",
        &f.client_path(),
        &[("X-Auth-Token", &f.admin_token)],
        None,
    );
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn client_secret_jwt_hs256_384_512() {
    let f = Fixture::new();
    // Not registered yet: refused.
    assert_oauth_error(
        &f.token_jwt(&hs("HS256", &f.claims(), &f.secret)),
        401,
        "invalid_client",
    );
    assert_eq!(
        f.register(&json!({"client": {"secret": f.secret}})).status,
        200
    );
    for alg in ["HS256", "HS384", "HS512"] {
        let r = f.token_jwt(&hs(alg, &f.claims(), &f.secret));
        assert_eq!(r.status, 200, "{alg}: {}", r.body);
    }
    // Form client_id matching the assertion is fine, another is not.
    let body = format!(
        "{}&client_id={}",
        f.assertion_form(&hs("HS256", &f.claims(), &f.secret)),
        f.client_id
    );
    assert_eq!(f.form(TOKEN, &[], &body).status, 200);
    let body = format!(
        "{}&client_id=x",
        f.assertion_form(&hs("HS256", &f.claims(), &f.secret))
    );
    assert_oauth_error(&f.form(TOKEN, &[], &body), 401, "invalid_client");
    // Wrong key, wrong audience, expired, iss != sub, no jti, numeric times.
    assert_oauth_error(
        &f.token_jwt(&hs("HS256", &f.claims(), "other")),
        401,
        "invalid_client",
    );
    let mut c = f.claims();
    c["aud"] = json!("https://elsewhere.example.com/token");
    assert_oauth_error(
        &f.token_jwt(&hs("HS256", &c, &f.secret)),
        401,
        "invalid_client",
    );
    let mut c = f.claims();
    c["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
    assert_oauth_error(
        &f.token_jwt(&hs("HS256", &c, &f.secret)),
        401,
        "invalid_client",
    );
    let mut c = f.claims();
    c["iss"] = json!("someone");
    assert_oauth_error(
        &f.token_jwt(&hs("HS256", &c, &f.secret)),
        401,
        "invalid_client",
    );
    let mut c = f.claims();
    c.as_object_mut().unwrap().remove("jti");
    assert_oauth_error(
        &f.token_jwt(&hs("HS256", &c, &f.secret)),
        401,
        "invalid_client",
    );
    let mut c = f.claims();
    c["exp"] = json!(chrono::Utc::now().timestamp() + 60);
    c["aud"] = json!([format!("{}", f.s.base)]);
    assert_eq!(f.token_jwt(&hs("HS256", &c, &f.secret)).status, 200);
    // An RSA-signed assertion with the HMAC registration only: refused.
    assert_oauth_error(&f.token_jwt(&rs256(&f.claims())), 401, "invalid_client");
}

#[test]
fn jti_replay_is_refused_on_every_node() {
    let f = Fixture::new();
    assert_eq!(
        f.register(&json!({"client": {"secret": f.secret}})).status,
        200
    );
    let assertion = hs("HS256", &f.claims(), &f.secret);
    assert_eq!(f.token_jwt(&assertion).status, 200);
    let r = f.token_jwt(&assertion);
    assert_oauth_error(&r, 401, "invalid_client");
    let node2 = f.s.second_node();
    let r = node2.request(
        "POST",
        TOKEN,
        &[FORM],
        Some(f.assertion_form(&assertion).as_bytes()),
    );
    assert_oauth_error(&r, 401, "invalid_client");
    // Concurrent replays: exactly one wins.
    let assertion = hs("HS256", &f.claims(), &f.secret);
    let body = f.assertion_form(&assertion);
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let server = if i % 2 == 0 { &f.s } else { &node2 };
                let body = body.clone();
                sc.spawn(move || {
                    server
                        .request("POST", TOKEN, &[FORM], Some(body.as_bytes()))
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

#[test]
fn private_key_jwt_rs256_and_es256() {
    let f = Fixture::new();
    assert_eq!(
        f.register(&json!({"client": {"public_key": key("oauth2_rsa.pub.pem")}}))
            .status,
        200
    );
    let r = f.token_jwt(&rs256(&f.claims()));
    assert_eq!(r.status, 200, "{}", r.body);
    // The secret is not an HMAC key unless registered.
    assert_oauth_error(
        &f.token_jwt(&hs("HS256", &f.claims(), &f.secret)),
        401,
        "invalid_client",
    );
    assert_oauth_error(&f.token_jwt(&es256(&f.claims())), 401, "invalid_client");
    // A tampered payload.
    let good = rs256(&f.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let mut c = f.claims();
    c["sub"] = json!(f.client_id);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(c.to_string()),
        parts[2]
    );
    assert_oauth_error(&f.token_jwt(&forged), 401, "invalid_client");
    assert_eq!(
        f.register(&json!({"client": {"public_key": key("oauth2_ec.pub.pem")}}))
            .status,
        200
    );
    let r = f.token_jwt(&es256(&f.claims()));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_oauth_error(&f.token_jwt(&rs256(&f.claims())), 401, "invalid_client");
}

#[test]
fn introspection() {
    let f = Fixture::new();
    let token = f.token_basic().json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = f.introspect(&token);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = r.json();
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], f.client_id.as_str());
    assert_eq!(v["sub"], f.user_id.as_str());
    assert_eq!(v["username"], "admin");
    assert_eq!(
        v["user_domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert_eq!(v["project"]["name"], "admin");
    assert_eq!(v["project"]["domain"]["id"], "default");
    let roles: Vec<&str> = v["roles"].as_str().unwrap().split(',').collect();
    assert!(
        roles.contains(&"admin") && roles.contains(&"reader"),
        "{roles:?}"
    );
    assert!(v["exp"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    // Any Keystone token can be introspected; a domain- or unscoped one has no project.
    let v = f.introspect(&f.admin_token).json();
    assert_eq!(v["active"], true);
    assert!(v.get("client_id").is_none());
    // Inactive: garbage, revoked.
    for garbage in ["garbage", "gAAAAABnot-a-token", ""] {
        let r = f.introspect(garbage);
        if garbage.is_empty() {
            assert_oauth_error(&r, 400, "invalid_request");
        } else {
            assert_eq!(r.body, "{\"active\":false}\n");
        }
    }
    let r = f.s.tokens("DELETE", "", &f.admin_token, &token);
    assert_eq!(r.status, 204);
    assert_eq!(f.introspect(&token).body, "{\"active\":false}\n");
    // The caller must authenticate as a client.
    let r = f.form(INTROSPECT, &[], &format!("token={token}"));
    assert_oauth_error(&r, 401, "invalid_client");
    let wrong = f.basic(&f.client_id, "nope");
    let r = f.form(
        INTROSPECT,
        &[("Authorization", &wrong)],
        &format!("token={token}"),
    );
    assert_oauth_error(&r, 401, "invalid_client");
    // client_secret_jwt with the introspection endpoint as audience.
    assert_eq!(
        f.register(&json!({"client": {"secret": f.secret}})).status,
        200
    );
    let mut c = f.claims();
    c["aud"] = json!(format!("{}{INTROSPECT}", f.s.base));
    let body = format!(
        "token={}&client_assertion_type={}&client_assertion={}",
        urlencode(&f.admin_token),
        urlencode(JWT_BEARER),
        hs("HS512", &c, &f.secret)
    );
    let r = f.form(INTROSPECT, &[], &body);
    assert_eq!(r.json()["active"], true, "{}", r.body);
}

#[test]
fn credential_expiry_shortens_expires_in_and_ends_activity() {
    let f = Fixture::new();
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(120))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let (id, secret) = make_credential(&f.s, &f.admin_token, &f.user_id, "short", Some(&soon));
    let auth = f.basic(&id, &secret);
    let r = f.form(
        TOKEN,
        &[("Authorization", &auth)],
        "grant_type=client_credentials",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let expires_in = r.json()["expires_in"].as_i64().unwrap();
    assert!((100..=121).contains(&expires_in), "{expires_in}");
    // Deleting the credential makes its tokens inactive.
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(f.introspect(&token).json()["active"], true);
    let r = f.s.request(
        "DELETE",
        &format!("/v3/users/{}/application_credentials/{id}", f.user_id),
        &[("X-Auth-Token", &f.admin_token)],
        None,
    );
    assert_eq!(r.status, 204);
    assert_eq!(f.introspect(&token).json(), json!({"active": false}));
}

#[test]
fn authorization_server_metadata() {
    let f = Fixture::new();
    let r = f.s.get("/.well-known/oauth-authorization-server", None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["issuer"], f.s.base.as_str());
    assert_eq!(v["token_endpoint"], format!("{}{TOKEN}", f.s.base));
    assert_eq!(
        v["introspection_endpoint"],
        format!("{}{INTROSPECT}", f.s.base)
    );
    assert_eq!(v["grant_types_supported"], json!(["client_credentials"]));
    let methods = v["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("private_key_jwt")));
    assert!(!methods.contains(&json!("tls_client_auth")));
}

#[test]
fn deleting_the_credential_forgets_its_jwt_registration() {
    let f = Fixture::new();
    assert_eq!(
        f.register(&json!({"client": {"secret": f.secret}})).status,
        200
    );
    let path = format!(
        "/v3/users/{}/application_credentials/{}",
        f.user_id, f.client_id
    );
    let r =
        f.s.request("DELETE", &path, &[("X-Auth-Token", &f.admin_token)], None);
    assert_eq!(r.status, 204, "{}", r.body);
    let id = f.client_id.clone();
    let left =
        f.s.db()
            .read_blocking(move |conn| {
                let keys = keystone_rs::credential::CredentialKeys::from_config(&f.s.config);
                keystone_rs::oauth2::store::get(conn, &keys, &id)
            })
            .unwrap();
    assert!(
        left.is_none(),
        "the registration (and its readable secret) outlived the credential"
    );
}

/// The client_secret_jwt secret is sealed with the credential keys at rest; one stored in the
/// clear before sealing existed still works and `credential_migrate` seals it.
#[test]
fn jwt_client_secrets_are_sealed_at_rest_and_migrated() {
    use diesel::prelude::*;
    use keystone_rs::db::schema::ksrs_oauth2_client as t;
    let f = Fixture::new();
    assert_eq!(
        f.register(&json!({"client": {"secret": f.secret}})).status,
        200
    );
    let keys = keystone_rs::credential::CredentialKeys::from_config(&f.s.config);
    let id = f.client_id.clone();
    let row = |id: String| {
        f.s.db()
            .read_blocking(move |conn| {
                Ok(t::table
                    .filter(t::application_credential_id.eq(id))
                    .select((t::jwt_secret, t::jwt_secret_key_hash))
                    .first::<(Option<String>, Option<String>)>(conn)?)
            })
            .unwrap()
    };
    let (stored, hash) = row(id.clone());
    let stored = stored.unwrap();
    assert!(!stored.contains(&f.secret), "the secret is stored readable");
    assert_eq!(hash.unwrap(), keys.primary_key_hash().unwrap());
    let (k, i) = (keys.clone(), id.clone());
    let reg =
        f.s.db()
            .read_blocking(move |conn| keystone_rs::oauth2::store::get(conn, &k, &i))
            .unwrap()
            .unwrap();
    assert_eq!(reg.jwt_secret.as_deref(), Some(f.secret.as_str()));
    // A row from before sealing: plaintext, no hash.
    let (plain, i) = (f.secret.clone(), id.clone());
    f.s.db()
        .write_blocking(move |conn| {
            diesel::update(t::table.filter(t::application_credential_id.eq(i)))
                .set((
                    t::jwt_secret.eq(Some(plain)),
                    t::jwt_secret_key_hash.eq(None::<String>),
                ))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    let (k, i) = (keys.clone(), id.clone());
    let reg =
        f.s.db()
            .read_blocking(move |conn| keystone_rs::oauth2::store::get(conn, &k, &i))
            .unwrap()
            .unwrap();
    assert_eq!(reg.jwt_secret.as_deref(), Some(f.secret.as_str()));
    // Rotation waits for it; migration seals it.
    let primary = keys.primary_key_hash().unwrap();
    let behind =
        f.s.db()
            .read_blocking(move |conn| {
                keystone_rs::oauth2::store::count_secrets_not_on_primary(conn, &primary)
            })
            .unwrap();
    assert_eq!(behind, 1);
    assert!(keystone_rs::manage::credential_rotate(&f.s.config).is_err());
    keystone_rs::manage::credential_migrate(&f.s.config).unwrap();
    let (stored, hash) = row(id.clone());
    assert!(!stored.unwrap().contains(&f.secret));
    assert_eq!(hash.unwrap(), keys.primary_key_hash().unwrap());
    keystone_rs::manage::credential_rotate(&f.s.config).unwrap();
}
