//! Multi-factor authentication: the `totp` method (windows, replays, lockout, bad input),
//! MFA rules as Keystone applies them (each rule shape, disabled, absent, unknown methods),
//! and auth receipts (the 401 with `Openstack-Auth-Receipt`, completing with it, expired,
//! tampered and another user's receipts).

use crate::support::{Response, TestServer, role_id, send};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;

const METHODS: &str = "external,password,token,oauth1,mapped,application_credential,totp";
const GENERIC_401: &str = "The request you have made requires authentication.";

fn server(extra: &str) -> TestServer {
    TestServer::start_with(&format!("[auth]\nmethods = {METHODS}\n{extra}"))
}

/// RFC 4226/6238 written out again here, independently of the server's code.
fn passcode(key: &[u8], step: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
    mac.update(&step.to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = (d[19] & 0xf) as usize;
    let v = u32::from_be_bytes([d[o] & 0x7f, d[o + 1], d[o + 2], d[o + 3]]) % 1_000_000;
    format!("{v:06}")
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let acc = buf.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(ALPHABET[((acc >> (35 - 5 * i)) & 31) as usize] as char);
        }
    }
    out
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The current 30-second step, waiting first when the next one is under 4 s away so a
/// test's requests all fall in the step it computed its codes for.
fn settled_step() -> u64 {
    let t = now();
    if t % 30 >= 26 {
        std::thread::sleep(std::time::Duration::from_secs(31 - t % 30));
    }
    now() / 30
}

struct Mfa {
    s: TestServer,
    admin: String,
    user: String,
    key: Vec<u8>,
}

const PASSWORD: &str = "mfa-pass-1";

impl Mfa {
    fn new(extra: &str) -> Mfa {
        let s = server(extra);
        let admin = s.admin_token();
        let user = make_user(&s, &admin, "mfa");
        let key: Vec<u8> = (0u8..20)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        add_totp(&s, &admin, &user, &base32(&key));
        Mfa {
            s,
            admin,
            user,
            key,
        }
    }

    /// Another user with a TOTP credential of its own (fresh passcodes).
    fn fresh_user(&self, name: &str, seed: u8) -> (String, Vec<u8>) {
        let user = make_user(&self.s, &self.admin, name);
        let key: Vec<u8> = (0u8..20)
            .map(|i| i.wrapping_mul(seed).wrapping_add(seed))
            .collect();
        add_totp(&self.s, &self.admin, &user, &base32(&key));
        (user, key)
    }

    fn code(&self, step: u64) -> String {
        passcode(&self.key, step)
    }

    fn set_options(&self, options: Value) -> Response {
        send(
            &self.s,
            "PATCH",
            &format!("/v3/users/{}", self.user),
            &self.admin,
            Some(&json!({"user": {"options": options}})),
        )
    }

    fn auth(&self, methods: &[&str], code: &str, receipt: Option<&str>) -> Response {
        auth_as(&self.s, &self.user, methods, code, receipt)
    }
}

fn make_user(s: &TestServer, admin: &str, name: &str) -> String {
    let r = s.post_json(
        "/v3/users",
        Some(admin),
        &json!({"user": {"name": name, "password": PASSWORD}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["user"]["id"].as_str().unwrap().to_string()
}

fn add_totp(s: &TestServer, admin: &str, user: &str, secret: &str) -> String {
    let r = s.post_json(
        "/v3/credentials",
        Some(admin),
        &json!({"credential": {"type": "totp", "user_id": user, "blob": secret}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["credential"]["id"].as_str().unwrap().to_string()
}

fn auth_as(
    s: &TestServer,
    user: &str,
    methods: &[&str],
    code: &str,
    receipt: Option<&str>,
) -> Response {
    let mut identity = json!({"methods": methods});
    for m in methods {
        match *m {
            "password" => {
                identity["password"] = json!({"user": {"id": user, "password": PASSWORD}})
            }
            "totp" => identity["totp"] = json!({"user": {"id": user, "passcode": code}}),
            other => panic!("no payload for {other}"),
        }
    }
    post_auth(s, &json!({"auth": {"identity": identity}}), receipt)
}

fn post_auth(s: &TestServer, body: &Value, receipt: Option<&str>) -> Response {
    let text = body.to_string();
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(r) = receipt {
        headers.push(("Openstack-Auth-Receipt", r));
    }
    s.request("POST", "/v3/auth/tokens", &headers, Some(text.as_bytes()))
}

fn methods_of(r: &Response) -> Vec<String> {
    let mut m: Vec<String> = r.json()["token"]["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    m.sort();
    m
}

fn assert_generic_401(r: &Response, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.body);
    assert_eq!(r.json()["error"]["message"], GENERIC_401, "{what}");
    assert!(r.header("Openstack-Auth-Receipt").is_none(), "{what}");
}

fn receipt_of(r: &Response) -> String {
    assert_eq!(r.status, 401, "{}", r.body);
    r.header("Openstack-Auth-Receipt")
        .expect("Openstack-Auth-Receipt")
        .to_string()
}

#[test]
fn totp_alone_windows_and_replays() {
    let m = Mfa::new("");
    let step = settled_step();
    // The current window and one before it (the default), each once.
    let r = m.auth(&["totp"], &m.code(step), None);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(methods_of(&r), vec!["totp"]);
    assert_generic_401(&m.auth(&["totp"], &m.code(step), None), "replayed passcode");
    let r = m.auth(&["totp"], &m.code(step - 1), None);
    assert_eq!(r.status, 201, "previous window: {}", r.body);
    assert_generic_401(
        &m.auth(&["totp"], &m.code(step - 1), None),
        "replayed previous",
    );
    // Older and future windows, and wrong codes.
    assert_generic_401(
        &m.auth(&["totp"], &m.code(step - 2), None),
        "two windows back",
    );
    assert_generic_401(&m.auth(&["totp"], &m.code(step + 1), None), "next window");
    let wrong = if m.code(step) == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert_generic_401(&m.auth(&["totp"], wrong, None), "wrong code");
    assert_generic_401(
        &m.auth(&["totp"], &format!(" {}", m.code(step)), None),
        "padded",
    );

    // A second node sharing the database refuses what the first accepted.
    let (node_user, node_key) = m.fresh_user("nodes", 7);
    let step = settled_step();
    let other = m.s.second_node();
    let code = passcode(&node_key, step);
    assert_eq!(
        auth_as(&m.s, &node_user, &["totp"], &code, None).status,
        201
    );
    assert_generic_401(
        &auth_as(&other, &node_user, &["totp"], &code, None),
        "other node",
    );

    // A user without a totp credential, and a user whose secret is not base32.
    let plain = make_user(&m.s, &m.admin, "plain");
    assert_generic_401(
        &auth_as(&m.s, &plain, &["totp"], &m.code(step), None),
        "no credential",
    );
    let bad = make_user(&m.s, &m.admin, "badsecret");
    add_totp(&m.s, &m.admin, &bad, "not base32!");
    assert_generic_401(
        &auth_as(&m.s, &bad, &["totp"], &m.code(step), None),
        "bad secret",
    );
}

#[test]
fn included_previous_windows_is_honoured() {
    let m = Mfa::new("[totp]\nincluded_previous_windows = 0\n");
    let step = settled_step();
    assert_generic_401(
        &m.auth(&["totp"], &m.code(step - 1), None),
        "no previous window",
    );
    assert_eq!(m.auth(&["totp"], &m.code(step), None).status, 201);
    let m = Mfa::new("[totp]\nincluded_previous_windows = 3\n");
    let step = settled_step();
    assert_eq!(m.auth(&["totp"], &m.code(step - 3), None).status, 201);
    assert_generic_401(&m.auth(&["totp"], &m.code(step - 4), None), "four back");
}

#[test]
fn password_and_totp_rule_answers_with_a_receipt_then_a_token() {
    let m = Mfa::new("");
    let r = m.set_options(json!({"multi_factor_auth_rules": [["password", "totp"]],
        "multi_factor_auth_enabled": true}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = m.auth(&["password"], "", None);
    let receipt = receipt_of(&r);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert!(r.header("WWW-Authenticate").is_none());
    let body = r.json();
    assert_eq!(body["receipt"]["methods"], json!(["password"]));
    assert_eq!(body["receipt"]["user"]["id"], m.user.as_str());
    assert_eq!(body["receipt"]["user"]["name"], "mfa");
    assert_eq!(
        body["receipt"]["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    let mut required: Vec<String> = body["required_auth_methods"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    required.sort();
    assert_eq!(required, vec!["password", "totp"]);
    assert_eq!(body["required_auth_methods"].as_array().unwrap().len(), 1);
    // Keystone's key order and time format.
    assert!(
        r.body
            .starts_with("{\"receipt\": {\"methods\": [\"password\"], \"user\": {\"id\": ")
    );
    let issued = body["receipt"]["issued_at"].as_str().unwrap();
    let expires = body["receipt"]["expires_at"].as_str().unwrap();
    assert!(issued.ends_with(".000000Z") && expires.ends_with(".000000Z"));
    let seconds = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp();
    assert_eq!(seconds(expires) - seconds(issued), 300);

    // The receipt plus the missing method: a token carrying both.
    let step = settled_step();
    let r = m.auth(&["totp"], &m.code(step), Some(&receipt));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(methods_of(&r), vec!["password", "totp"]);
    let token = r.subject_token();
    // Receipts are not spent: the same one with another fresh code works too.
    let r = m.auth(&["totp"], &m.code(step - 1), Some(&receipt));
    assert_eq!(r.status, 201, "{}", r.body);
    // A wrong passcode with the receipt.
    let wrong = if m.code(step) == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert_generic_401(&m.auth(&["totp"], wrong, Some(&receipt)), "wrong code");
    // Both methods at once need no receipt (another user: this one's codes are spent).
    let (both, key) = m.fresh_user("both", 13);
    let r = send(
        &m.s,
        "PATCH",
        &format!("/v3/users/{both}"),
        &m.admin,
        Some(&json!({"user": {"options": {"multi_factor_auth_rules": [["password", "totp"]]}}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let step = settled_step();
    let r = auth_as(
        &m.s,
        &both,
        &["password", "totp"],
        &passcode(&key, step),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(methods_of(&r), vec!["password", "totp"]);
    // totp alone is a receipt that needs the password.
    let r = auth_as(&m.s, &both, &["totp"], &passcode(&key, step - 1), None);
    receipt_of(&r);
    assert_eq!(r.json()["receipt"]["methods"], json!(["totp"]));
    // A token from both factors rescopes without asking again (its methods carry over).
    let r = post_auth(
        &m.s,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(methods_of(&r), vec!["password", "token", "totp"]);
}

#[test]
fn each_rule_shape() {
    let m = Mfa::new("");
    let with_rules = |rules: Value| {
        let r = m.set_options(json!({"multi_factor_auth_rules": rules}));
        assert_eq!(r.status, 200, "{}", r.body);
    };
    // A single-method rule that is not the one used: a receipt requiring nothing the
    // password shares.
    with_rules(json!([["totp"]]));
    let r = m.auth(&["password"], "", None);
    receipt_of(&r);
    assert_eq!(r.json()["required_auth_methods"], json!([]));
    // Either of two rules.
    with_rules(json!([
        ["password", "totp"],
        ["password", "application_credential"]
    ]));
    let r = m.auth(&["password"], "", None);
    receipt_of(&r);
    assert_eq!(
        r.json()["required_auth_methods"].as_array().unwrap().len(),
        2
    );
    // A rule whose other method is unknown reduces to the password (LP#2102096).
    with_rules(json!([["password", "fake"]]));
    assert_eq!(m.auth(&["password"], "", None).status, 201);
    // Only unknown methods: the rules are ignored.
    with_rules(json!([["fake"], ["other"]]));
    assert_eq!(m.auth(&["password"], "", None).status, 201);
    // A password-only rule beside a two-factor one.
    with_rules(json!([["password", "totp"], ["password"]]));
    assert_eq!(m.auth(&["password"], "", None).status, 201);
    // Rules set but disabled.
    with_rules(json!([["password", "totp"]]));
    let r = m.set_options(json!({"multi_factor_auth_enabled": false}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(m.auth(&["password"], "", None).status, 201);
    // Enabled again, and then no rules at all.
    let r = m.set_options(json!({"multi_factor_auth_enabled": null}));
    assert_eq!(r.status, 200, "{}", r.body);
    receipt_of(&m.auth(&["password"], "", None));
    with_rules(json!([]));
    assert_eq!(m.auth(&["password"], "", None).status, 201);
    let r = m.set_options(json!({"multi_factor_auth_rules": null}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(m.auth(&["password"], "", None).status, 201);
    // A user who never had options.
    let other = make_user(&m.s, &m.admin, "norules");
    assert_eq!(auth_as(&m.s, &other, &["password"], "", None).status, 201);
}

#[test]
fn rules_apply_to_application_credentials() {
    let m = Mfa::new("");
    let project = m.s.make_project("mfaproj", "default", None);
    let member = role_id(&m.s, &m.admin, "member");
    let r = send(
        &m.s,
        "PUT",
        &format!("/v3/projects/{project}/users/{}/roles/{member}", m.user),
        &m.admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let step = settled_step();
    let r = post_auth(
        &m.s,
        &json!({"auth": {"identity": {"methods": ["password", "totp"],
            "password": {"user": {"id": m.user, "password": PASSWORD}},
            "totp": {"user": {"id": m.user, "passcode": m.code(step)}}},
            "scope": {"project": {"id": project}}}}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.subject_token();
    let r = send(
        &m.s,
        "POST",
        &format!("/v3/users/{}/application_credentials", m.user),
        &token,
        Some(&json!({"application_credential": {"name": "ac"}})),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let ac = r.json()["application_credential"].clone();
    m.set_options(json!({"multi_factor_auth_rules": [["password", "totp"]]}));
    let r = post_auth(
        &m.s,
        &json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": ac["id"], "secret": ac["secret"]}}}}),
        None,
    );
    // As in Keystone: the credential alone does not satisfy the rules.
    receipt_of(&r);
    assert_eq!(
        r.json()["receipt"]["methods"],
        json!(["application_credential"])
    );
    // Nor does it through OAuth 2.0 (Keystone's client_secret_basic runs the same check).
    let oauth2 = |expected: u16| {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            ac["id"].as_str().unwrap(),
            ac["secret"].as_str().unwrap()
        ));
        let authorization = format!("Basic {basic}");
        let r = m.s.request(
            "POST",
            "/v3/OS-OAUTH2/token",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", authorization.as_str()),
            ],
            Some(b"grant_type=client_credentials"),
        );
        assert_eq!(r.status, expected, "{}", r.body);
        r
    };
    assert_eq!(oauth2(401).json()["error"], "invalid_client");
    let r = m.set_options(json!({"multi_factor_auth_enabled": false}));
    assert_eq!(r.status, 200, "{}", r.body);
    oauth2(200);
}

#[test]
fn expired_tampered_and_foreign_receipts() {
    let m = Mfa::new("[receipt]\nexpiration = 0\n");
    m.set_options(json!({"multi_factor_auth_rules": [["password", "totp"]]}));
    let expired = receipt_of(&m.auth(&["password"], "", None));
    let step = settled_step();
    assert_generic_401(&m.auth(&["totp"], &m.code(step), Some(&expired)), "expired");

    let m = Mfa::new("");
    m.set_options(json!({"multi_factor_auth_rules": [["password", "totp"]]}));
    let receipt = receipt_of(&m.auth(&["password"], "", None));
    let step = settled_step();
    let mut bytes = receipt.clone().into_bytes();
    let i = bytes.len() - 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    for (what, bad) in [
        ("tampered", tampered.as_str()),
        ("garbage", "not-a-receipt"),
        ("a token", m.admin.as_str()),
        ("non-ascii-free junk", "gAAAAA%%%"),
    ] {
        assert_generic_401(&m.auth(&["totp"], &m.code(step), Some(bad)), what);
    }
    // Another user's receipt.
    let other = make_user(&m.s, &m.admin, "other");
    let r = send(
        &m.s,
        "PATCH",
        &format!("/v3/users/{other}"),
        &m.admin,
        Some(&json!({"user": {"options": {"multi_factor_auth_rules": [["password", "totp"]]}}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let theirs = receipt_of(&auth_as(&m.s, &other, &["password"], "", None));
    assert_generic_401(
        &m.auth(&["totp"], &m.code(step), Some(&theirs)),
        "foreign receipt",
    );
    // A right receipt with a wrong passcode.
    let wrong = if m.code(step) == "123456" {
        "654321"
    } else {
        "123456"
    };
    assert_generic_401(&m.auth(&["totp"], wrong, Some(&receipt)), "wrong code");
    // An empty header is no receipt (Keystone ignores it): totp alone, a new receipt.
    let r = m.auth(&["totp"], &m.code(step), Some(""));
    assert_eq!(
        r.json()["receipt"]["methods"],
        json!(["totp"]),
        "{}",
        r.body
    );
    // The passcode spent on that receipt cannot finish the first one.
    assert_generic_401(
        &m.auth(&["totp"], &m.code(step), Some(&receipt)),
        "spent code",
    );
}

#[test]
fn bad_input_is_400_never_500() {
    let m = Mfa::new("");
    let id = m.user.clone();
    let expect = |totp: Value, status: u16, message: Option<&str>| {
        let r = post_auth(
            &m.s,
            &json!({"auth": {"identity": {"methods": ["totp"], "totp": totp}}}),
            None,
        );
        assert_eq!(r.status, status, "{totp}: {}", r.body);
        if let Some(message) = message {
            assert_eq!(r.json()["error"]["message"], message, "{totp}");
        }
    };
    let expecting = |what: &str, target: &str| {
        format!(
            "Expecting to find {what} in {target}. The server could not comply with the \
             request since it is either malformed or otherwise incorrect. The client is \
             assumed to be in error."
        )
    };
    expect(json!({}), 400, Some(&expecting("user", "totp")));
    expect(json!({"user": "x"}), 400, Some(&expecting("user", "totp")));
    expect(
        json!({"user": {}}),
        400,
        Some(&expecting("id or name", "user")),
    );
    expect(
        json!({"user": {"name": "mfa"}}),
        400,
        Some(&expecting("domain", "user")),
    );
    expect(
        json!({"user": {"name": "mfa", "domain": {}}}),
        400,
        Some(&expecting("id or name", "domain")),
    );
    expect(json!({"user": {"id": id}}), 401, Some(GENERIC_401));
    expect(
        json!({"user": {"id": id, "passcode": 123456}}),
        401,
        Some(GENERIC_401),
    );
    expect(
        json!({"user": {"id": id, "passcode": null}}),
        401,
        Some(GENERIC_401),
    );
    expect(
        json!({"user": {"id": id, "passcode": ["1"]}}),
        401,
        Some(GENERIC_401),
    );
    expect(
        json!({"user": {"id": "nobody", "passcode": "123456"}}),
        401,
        Some(GENERIC_401),
    );
    expect(
        json!({"user": {"name": "mfa", "domain": {"name": "Default"}, "passcode": "x".repeat(10000)}}),
        401,
        Some(GENERIC_401),
    );
    let r = post_auth(
        &m.s,
        &json!({"auth": {"identity": {"methods": ["totp"], "totp": "x"}}}),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    // totp not enabled: Keystone's unsupported-method 401.
    let plain = TestServer::start();
    let r = post_auth(
        &plain,
        &json!({"auth": {"identity": {"methods": ["totp"], "totp": {"user": {"id": id, "passcode": "123456"}}}}}),
        None,
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.json()["error"]["message"],
        "Attempted to authenticate with an unsupported method."
    );

    // The user options, validated as Keystone validates them.
    for bad in [
        json!({"multi_factor_auth_rules": "password"}),
        json!({"multi_factor_auth_rules": [[]]}),
        json!({"multi_factor_auth_rules": [["password", "password"]]}),
        json!({"multi_factor_auth_rules": [["password"], ["password"]]}),
        json!({"multi_factor_auth_rules": [[1]]}),
        json!({"multi_factor_auth_rules": ["password"]}),
        json!({"multi_factor_auth_enabled": "yes"}),
        json!({"multi_factor_auth_enabled": 1}),
    ] {
        let r = m.set_options(bad.clone());
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid input for field/attribute"),
            "{bad}: {}",
            r.body
        );
    }
    // Exactly the peer's texts (keystone.api.validation on user_update_request).
    for (bad, message) in [
        (
            json!({"multi_factor_auth_rules": [["password", "password"]]}),
            "Invalid input for field/attribute 0. Value: ['password', 'password']. ['password', 'password'] has non-unique elements",
        ),
        (
            json!({"multi_factor_auth_rules": [["password"], ["password"]]}),
            "Invalid input for field/attribute multi_factor_auth_rules. Value: [['password'], ['password']]. [['password'], ['password']] has non-unique elements",
        ),
        (
            json!({"multi_factor_auth_rules": [[1]]}),
            "Invalid input for field/attribute 0. Value: 1. 1 is not of type 'string'",
        ),
        (
            json!({"multi_factor_auth_enabled": 1}),
            "Invalid input for field/attribute multi_factor_auth_enabled. Value: 1. 1 is not of type 'boolean', 'null'",
        ),
    ] {
        let r = m.set_options(bad.clone());
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.json()["error"]["message"], message, "{bad}");
    }
    let r = m.set_options(
        json!({"multi_factor_auth_rules": [["password", "totp"], ["totp", "password"]]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["user"]["options"]["multi_factor_auth_rules"],
        json!([["password", "totp"], ["totp", "password"]])
    );
}

#[test]
fn failed_passcodes_count_towards_the_lockout() {
    let m =
        Mfa::new("[security_compliance]\nlockout_failure_attempts = 2\nlockout_duration = 600\n");
    let step = settled_step();
    let wrong = |n: u64| {
        let mut c = format!("{:06}", (n * 111_111) % 1_000_000);
        while (step - 1..=step).any(|s| m.code(s) == c) {
            c = format!("{:06}", (c.parse::<u64>().unwrap() + 1) % 1_000_000);
        }
        c
    };
    assert_generic_401(&m.auth(&["totp"], &wrong(1), None), "first wrong");
    assert_generic_401(&m.auth(&["totp"], &wrong(2), None), "second wrong");
    // Locked: the right passcode and the right password are refused as well.
    assert_generic_401(&m.auth(&["totp"], &m.code(step), None), "locked totp");
    assert_generic_401(&m.auth(&["password"], "", None), "locked password");
    // An administrator unlocks by enabling the user again; a right code then works.
    let r = send(
        &m.s,
        "PATCH",
        &format!("/v3/users/{}", m.user),
        &m.admin,
        Some(&json!({"user": {"enabled": true}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = m.auth(&["totp"], &m.code(step), None);
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn the_rate_limiter_counts_totp_attempts() {
    let m = Mfa::new("[rate_limit]\nissue_requests_per_minute = 3\n");
    // Mfa::new spent one request on the admin token.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(m.auth(&["totp"], "000000", None).status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

/// For the log test: a user with a TOTP secret and the rule password + totp, a receipt for
/// the password, completed with a passcode. Returns (user, secret, receipt, passcode).
pub fn receipt_run(s: &TestServer, admin: &str) -> (String, String, String, String) {
    let user = make_user(s, admin, "mfa-logged");
    let key: Vec<u8> = (0u8..20)
        .map(|i| i.wrapping_mul(91).wrapping_add(5))
        .collect();
    let secret = base32(&key);
    add_totp(s, admin, &user, &secret);
    let r = send(
        s,
        "PATCH",
        &format!("/v3/users/{user}"),
        admin,
        Some(&json!({"user": {"options": {"multi_factor_auth_rules": [["password", "totp"]]}}})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let receipt = receipt_of(&auth_as(s, &user, &["password"], "", None));
    let code = passcode(&key, settled_step());
    let r = auth_as(s, &user, &["totp"], &code, Some(&receipt));
    assert_eq!(r.status, 201, "{}", r.body);
    (user, secret, receipt, code)
}

fn key_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn keys_of(dir: &std::path::Path) -> keystone_rs::fernet::KeyRing {
    let repo = keystone_rs::fernet::KeyRepository::new(dir.to_path_buf(), 3);
    keystone_rs::fernet::KeyRing::open(repo).expect("keys")
}

#[test]
fn receipts_have_their_own_key_repository_when_configured() {
    // receipt_setup / receipt_rotate, as keystone-manage's, on [fernet_receipts] only.
    let dir = tempfile::tempdir().unwrap();
    let (tokens, receipts) = (dir.path().join("tokens"), dir.path().join("receipts"));
    let conf = dir.path().join("keystone.conf");
    std::fs::write(
        &conf,
        format!(
            "[fernet_tokens]\nkey_repository = {}\n[fernet_receipts]\nkey_repository = {}\n",
            tokens.display(),
            receipts.display()
        ),
    )
    .unwrap();
    let manage = |verb: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_keystone-rs"))
            .args(["manage", "--config-file"])
            .arg(&conf)
            .arg(verb)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    manage("receipt_setup");
    assert_eq!(key_names(&receipts), vec!["0", "1"]);
    assert!(key_names(&tokens).is_empty());
    manage("receipt_rotate");
    assert_eq!(key_names(&receipts), vec!["0", "1", "2"]);
    assert!(key_names(&tokens).is_empty());
    // fernet_setup makes both, fernet_rotate turns both (Keystone's, for distinct paths).
    manage("fernet_setup");
    assert_eq!(key_names(&tokens), vec!["0", "1"]);
    manage("fernet_rotate");
    assert_eq!(key_names(&tokens), vec!["0", "1", "2"]);
    assert_eq!(key_names(&receipts), vec!["0", "2", "3"]);

    // A server with its own receipt keys seals receipts with them, not with the token keys.
    let separate = tempfile::tempdir().unwrap();
    let m = Mfa::new(&format!(
        "[fernet_receipts]\nkey_repository = {}\n",
        separate.path().display()
    ));
    assert_eq!(key_names(separate.path()), vec!["0", "1"]);
    m.set_options(json!({"multi_factor_auth_rules": [["password", "totp"]]}));
    let receipt = receipt_of(&m.auth(&["password"], "", None));
    let codec = keystone_rs::fernet::PayloadCodec::from_config(&m.s.config);
    let open = |ring: &keystone_rs::fernet::KeyRing| {
        keystone_rs::fernet::receipt::open_receipt(ring, &codec, &receipt).unwrap()
    };
    let opened = open(&keys_of(separate.path())).expect("opens with the receipt keys");
    assert_eq!(opened.payload.user_id, m.user);
    assert_eq!(opened.payload.methods, vec!["password"]);
    assert!(open(&keys_of(&m.s.config.fernet_tokens.key_repository)).is_none());
    let step = settled_step();
    let r = m.auth(&["totp"], &m.code(step), Some(&receipt));
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn concurrent_uses_of_one_passcode_on_two_nodes_one_wins() {
    let m = Mfa::new("");
    let node2 = m.s.second_node();
    let step = settled_step();
    let code = m.code(step);
    let statuses: Vec<u16> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let server = if i % 2 == 0 { &m.s } else { &node2 };
                let (user, code) = (m.user.clone(), code.clone());
                sc.spawn(move || auth_as(server, &user, &["totp"], &code, None).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 201 | 401)),
        "{statuses:?}"
    );
}
