//! OS-OAUTH1 over HTTP, signed by an independent RFC 5849 client (oauth1-request): the
//! whole delegation flow, every refusal as a 4xx, and the revocation cascade — also as
//! seen by a second node sharing the database and the key repository.

use crate::support::{Response, TestServer, role_id, send};
use oauth1_request as oauth;
use serde_json::{Value, json};
use std::collections::HashMap;

struct Consumer {
    id: String,
    secret: String,
}

/// A delegation's access token.
struct Access {
    id: String,
    secret: String,
}

/// Keystone's validator takes lower-case hex nonces only (oauth1-request's own are base64).
fn hex_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

struct Signer<'a> {
    consumer: &'a Consumer,
    token: Option<(&'a str, &'a str)>,
    callback: Option<&'a str>,
    verifier: Option<&'a str>,
}

impl Signer<'_> {
    fn authorization(&self, url: &str) -> String {
        let nonce = hex_nonce();
        let client =
            oauth::Credentials::new(self.consumer.id.as_str(), self.consumer.secret.as_str());
        let mut b = oauth::Builder::<_, _>::new(client, oauth::HmacSha1::new());
        if let Some((key, secret)) = self.token {
            b.token(oauth::Credentials::new(key, secret));
        }
        b.callback(self.callback)
            .verifier(self.verifier)
            .nonce(nonce.as_str())
            .version(true);
        b.post(url, &())
    }
}

fn vector(name: &str) -> Value {
    let path = format!(
        "{}/../tests/vectors/http-delegation/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .expect("vector JSON")
}

fn vector_body(name: &str) -> String {
    vector(name)["body_raw"]
        .as_str()
        .expect("body_raw")
        .to_string()
}

fn form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn message(r: &Response) -> String {
    r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every refusal this suite provokes must be a client error with Keystone's error JSON.
fn assert_status(r: &Response, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    if status >= 400 && !r.body.starts_with("{\"message\"") {
        assert_eq!(r.json()["error"]["code"], status, "{}", r.body);
    }
}

struct Fixture {
    s: TestServer,
    admin: String,
    project_id: String,
    admin_id: String,
}

impl Fixture {
    fn new(s: TestServer) -> Fixture {
        let r = s.password_auth(Some(
            json!({"project": {"name": "admin", "domain": {"id": "default"}}}),
        ));
        assert_eq!(r.status, 201, "{}", r.body);
        let body = r.json();
        Fixture {
            admin: r.subject_token(),
            project_id: body["token"]["project"]["id"].as_str().unwrap().to_string(),
            admin_id: body["token"]["user"]["id"].as_str().unwrap().to_string(),
            s,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.s.base)
    }

    fn consumer(&self) -> Consumer {
        let r = self.s.post_json(
            "/v3/OS-OAUTH1/consumers",
            Some(&self.admin),
            &json!({"consumer": {"description": "test"}}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let c = &r.json()["consumer"];
        Consumer {
            id: c["id"].as_str().unwrap().into(),
            secret: c["secret"].as_str().unwrap().into(),
        }
    }

    fn signed_post(&self, path: &str, authorization: &str, extra: &[(&str, &str)]) -> Response {
        let mut headers = vec![("Authorization", authorization)];
        headers.extend_from_slice(extra);
        self.s.request("POST", path, &headers, None)
    }

    fn request_token(&self, c: &Consumer) -> Response {
        self.request_token_for(c, &self.project_id)
    }

    fn request_token_for(&self, c: &Consumer, project_id: &str) -> Response {
        let path = "/v3/OS-OAUTH1/request_token";
        let auth = Signer {
            consumer: c,
            token: None,
            callback: Some("oob"),
            verifier: None,
        }
        .authorization(&self.url(path));
        self.signed_post(path, &auth, &[("Requested-Project-Id", project_id)])
    }

    /// A request token id and secret.
    fn new_request_token(&self, c: &Consumer) -> (String, String) {
        self.new_request_token_for(c, &self.project_id)
    }

    fn new_request_token_for(&self, c: &Consumer, project_id: &str) -> (String, String) {
        let r = self.request_token_for(c, project_id);
        assert_eq!(r.status, 201, "{}", r.body);
        let f = form(&r.body);
        (f["oauth_token"].clone(), f["oauth_token_secret"].clone())
    }

    fn authorize(&self, caller: &str, request_token: &str, roles: Value) -> Response {
        let body = json!({"roles": roles}).to_string();
        self.s.request(
            "PUT",
            &format!("/v3/OS-OAUTH1/authorize/{request_token}"),
            &[
                ("Content-Type", "application/json"),
                ("X-Auth-Token", caller),
            ],
            Some(body.as_bytes()),
        )
    }

    fn exchange(&self, c: &Consumer, request: (&str, &str), verifier: &str) -> Response {
        let path = "/v3/OS-OAUTH1/access_token";
        let auth = Signer {
            consumer: c,
            token: Some(request),
            callback: None,
            verifier: Some(verifier),
        }
        .authorization(&self.url(path));
        self.signed_post(path, &auth, &[])
    }

    /// Request token → authorization by `caller` → access token.
    fn delegate(&self, c: &Consumer, caller: &str, roles: Value) -> Access {
        self.delegate_on(c, caller, roles, &self.project_id)
    }

    fn delegate_on(&self, c: &Consumer, caller: &str, roles: Value, project_id: &str) -> Access {
        let (rt, rts) = self.new_request_token_for(c, project_id);
        let r = self.authorize(caller, &rt, roles);
        assert_eq!(r.status, 200, "{}", r.body);
        let verifier = r.json()["token"]["oauth_verifier"]
            .as_str()
            .unwrap()
            .to_string();
        let r = self.exchange(c, (&rt, &rts), &verifier);
        assert_eq!(r.status, 201, "{}", r.body);
        let f = form(&r.body);
        Access {
            id: f["oauth_token"].clone(),
            secret: f["oauth_token_secret"].clone(),
        }
    }

    /// As [`Fixture::delegate`], with both signed steps for `https` and the request's host
    /// (what a `public_endpoint` with another scheme makes Keystone verify).
    fn delegate_https(&self, c: &Consumer) -> Access {
        let rt_path = "/v3/OS-OAUTH1/request_token";
        let at_path = "/v3/OS-OAUTH1/access_token";
        let https = |p: &str| self.url(p).replace("http://", "https://");
        let auth = Signer {
            consumer: c,
            token: None,
            callback: Some("oob"),
            verifier: None,
        }
        .authorization(&https(rt_path));
        let r = self.signed_post(
            rt_path,
            &auth,
            &[("Requested-Project-Id", &self.project_id)],
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let rt = form(&r.body);
        let r = self.authorize(&self.admin, &rt["oauth_token"], json!([{"name": "member"}]));
        let verifier = r.json()["token"]["oauth_verifier"]
            .as_str()
            .unwrap()
            .to_string();
        let auth = Signer {
            consumer: c,
            token: Some((&rt["oauth_token"], &rt["oauth_token_secret"])),
            callback: None,
            verifier: Some(&verifier),
        }
        .authorization(&https(at_path));
        let r = self.signed_post(at_path, &auth, &[]);
        assert_eq!(r.status, 201, "{}", r.body);
        let at = form(&r.body);
        Access {
            id: at["oauth_token"].clone(),
            secret: at["oauth_token_secret"].clone(),
        }
    }

    fn auth_header(&self, c: &Consumer, a: &Access) -> String {
        Signer {
            consumer: c,
            token: Some((&a.id, &a.secret)),
            callback: None,
            verifier: None,
        }
        .authorization(&self.url("/v3/auth/tokens"))
    }

    fn oauth_auth_with(&self, authorization: &str) -> Response {
        let body = json!({"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}).to_string();
        self.s.request(
            "POST",
            "/v3/auth/tokens",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", authorization),
            ],
            Some(body.as_bytes()),
        )
    }

    /// A Keystone token obtained through the delegation.
    fn oauth_token(&self, c: &Consumer, a: &Access) -> String {
        let r = self.oauth_auth_with(&self.auth_header(c, a));
        assert_eq!(r.status, 201, "{}", r.body);
        r.subject_token()
    }

    fn validate(&self, node: &TestServer, token: &str) -> Response {
        // A fresh admin token of that node: the fixture's would do too (shared keys).
        node.tokens("GET", "", &self.admin, token)
    }
}

fn role_names(token_body: &Value) -> Vec<String> {
    let mut names: Vec<String> = token_body["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn full_flow_delegates_only_the_authorized_roles() {
    let f = Fixture::new(TestServer::start());
    let s = &f.s;

    // The secret is shown once.
    let c = f.consumer();
    let r = s.get(&format!("/v3/OS-OAUTH1/consumers/{}", c.id), Some(&f.admin));
    assert_eq!(r.status, 200);
    assert!(r.json()["consumer"].get("secret").is_none());

    let r = f.request_token(&c);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    let keys: Vec<&str> = r
        .body
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .collect();
    assert_eq!(
        keys,
        ["oauth_token", "oauth_token_secret", "oauth_expires_at"]
    );
    let rt = form(&r.body);
    let expires = &rt["oauth_expires_at"];
    assert!(
        expires.ends_with(".000000Z") && expires.len() == 27,
        "{expires}"
    );

    let r = f.authorize(&f.admin, &rt["oauth_token"], json!([{"name": "member"}]));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.ends_with("}}\n"));
    let verifier = r.json()["token"]["oauth_verifier"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(verifier.len(), 8);

    let r = f.exchange(
        &c,
        (&rt["oauth_token"], &rt["oauth_token_secret"]),
        &verifier,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let at = form(&r.body);
    assert!(at.contains_key("oauth_expires_at"));
    let access = Access {
        id: at["oauth_token"].clone(),
        secret: at["oauth_token_secret"].clone(),
    };

    // The delegated token: the admin, on the project, with member (and reader, implied),
    // never admin.
    let r = f.oauth_auth_with(&f.auth_header(&c, &access));
    assert_eq!(r.status, 201, "{}", r.body);
    let issued = r.json();
    let token = r.subject_token();
    assert_eq!(issued["token"]["methods"], json!(["oauth1"]));
    assert_eq!(issued["token"]["user"]["id"], f.admin_id.as_str());
    assert_eq!(issued["token"]["project"]["id"], f.project_id.as_str());
    assert_eq!(role_names(&issued), ["member", "reader"]);
    assert_eq!(
        issued["token"]["OS-OAUTH1"],
        json!({"access_token_id": access.id, "consumer_id": c.id})
    );
    let keys: Vec<&String> = issued["token"].as_object().unwrap().keys().collect();
    assert_eq!(keys.last().map(|k| k.as_str()), Some("OS-OAUTH1"));

    let v = f.validate(s, &token);
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(role_names(&v.json()), ["member", "reader"]);
    assert_eq!(v.json()["token"]["OS-OAUTH1"], issued["token"]["OS-OAUTH1"]);

    // A scope in the request is overridden by the access token's project.
    let body = json!({"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}},
                               "scope": {"system": {"all": true}}}})
    .to_string();
    let auth = f.auth_header(&c, &access);
    let r = s.request(
        "POST",
        "/v3/auth/tokens?nocatalog",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["token"]["project"]["id"], f.project_id.as_str());

    // Delegated tokens cannot mint more tokens, nor manage delegations.
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.body, vector_body("oauth1_rescope_forbidden"));
    let (rt2, _) = f.new_request_token(&c);
    assert_status(&f.authorize(&token, &rt2, json!([])), 403);

    // The user's access tokens.
    let list_path = format!("/v3/users/{}/OS-OAUTH1/access_tokens", f.admin_id);
    let r = s.get(&list_path, Some(&f.admin));
    assert_eq!(r.status, 200, "{}", r.body);
    let list = r.json();
    assert_eq!(list["access_tokens"].as_array().unwrap().len(), 1);
    let entry = &list["access_tokens"][0];
    let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "authorizing_user_id",
            "project_id",
            "consumer_id",
            "expires_at",
            "links"
        ]
    );
    assert_eq!(entry["expires_at"], at["oauth_expires_at"].as_str());
    assert_eq!(
        list["links"]["self"],
        format!("{}{list_path}", s.base).as_str()
    );
    assert_eq!(s.get(&list_path, Some(&token)).status, 403);

    let token_path = format!("{list_path}/{}", access.id);
    let r = s.get(&token_path, Some(&f.admin));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["access_token"], *entry);
    assert_eq!(
        r.json()["access_token"]["links"]["roles"],
        format!("{}{token_path}/roles", s.base).as_str()
    );
    assert_eq!(
        s.request("HEAD", &token_path, &[("X-Auth-Token", &f.admin)], None)
            .status,
        200
    );
    let wrong_user = format!(
        "/v3/users/{}/OS-OAUTH1/access_tokens/{}",
        "0".repeat(32),
        access.id
    );
    let r = s.get(&wrong_user, Some(&f.admin));
    assert_eq!(r.status, 404);
    assert_eq!(r.body, vector_body("oauth1_access_token_get_wrong_user"));
    let r = s.get(&format!("{list_path}/{}", "0".repeat(32)), Some(&f.admin));
    assert_eq!(r.status, 404);
    assert_eq!(message(&r), "Access token not found");

    // Its roles: the stored ones, not expanded by implication.
    let r = s.get(&format!("{token_path}/roles"), Some(&f.admin));
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = r.json()["roles"].clone();
    assert_eq!(stored.as_array().unwrap().len(), 1);
    let member = &stored[0];
    let keys: Vec<&String> = member.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "name", "domain_id", "options", "links"]);
    assert_eq!(member["name"], "member");
    assert_eq!(member["options"], json!({"immutable": true}));
    let member_id = member["id"].as_str().unwrap();
    let r = s.get(&format!("{token_path}/roles/{member_id}"), Some(&f.admin));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["role"], *member);
    let reader_id = issued["token"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "reader")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.get(&format!("{token_path}/roles/{reader_id}"), Some(&f.admin));
    assert_eq!(r.status, 404);
    assert_eq!(message(&r), format!("Could not find role: {reader_id}."));
}

#[test]
fn refusals_are_client_errors_never_500() {
    let f = Fixture::new(TestServer::start());
    let s = &f.s;
    let c = f.consumer();
    let rt_path = "/v3/OS-OAUTH1/request_token";
    let project = [("Requested-Project-Id", f.project_id.as_str())];

    // Missing Authorization header: Python Keystone crashes (500) on all three.
    for path in [rt_path, "/v3/OS-OAUTH1/access_token"] {
        let r = s.request("POST", path, &project, None);
        assert_status(&r, 400);
    }
    let r = s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}),
    );
    assert_status(&r, 400);
    assert_status(
        &f.signed_post(rt_path, "Basic YWRtaW46YWRtaW4=", &project),
        400,
    );

    // Request token: Keystone's 400s and 404s, then bad credentials as 401.
    let good = Signer {
        consumer: &c,
        token: None,
        callback: Some("oob"),
        verifier: None,
    };
    let r = f.signed_post(rt_path, &good.authorization(&f.url(rt_path)), &[]);
    assert_status(&r, 400);
    assert_eq!(r.body, vector_body("oauth1_request_token_no_project"));
    let no_callback = Signer {
        callback: None,
        ..good
    };
    let r = f.signed_post(
        rt_path,
        &no_callback.authorization(&f.url(rt_path)),
        &project,
    );
    assert_status(&r, 400);
    assert_eq!(r.body, vector_body("oauth1_request_token_no_callback"));
    let r = f.signed_post(
        rt_path,
        &good.authorization(&f.url(rt_path)),
        &[("Requested-Project-Id", "nosuchproject")],
    );
    assert_status(&r, 404);
    assert_eq!(message(&r), "Could not find project: nosuchproject.");
    let stranger = Consumer {
        id: "0".repeat(32),
        secret: c.secret.clone(),
    };
    let r = f.signed_post(
        rt_path,
        &Signer {
            consumer: &stranger,
            ..good
        }
        .authorization(&f.url(rt_path)),
        &project,
    );
    assert_status(&r, 404);
    assert_eq!(message(&r), "Consumer not found");

    // Wrong consumer secret, tampered signature, signed for another URL, RSA.
    let wrong = Consumer {
        id: c.id.clone(),
        secret: "wrong".into(),
    };
    let r = f.signed_post(
        rt_path,
        &Signer {
            consumer: &wrong,
            ..good
        }
        .authorization(&f.url(rt_path)),
        &project,
    );
    assert_status(&r, 401);
    assert_eq!(r.body, vector_body("oauth1_request_token_bad_signature"));
    assert!(r.header("WWW-Authenticate").is_some());
    let tampered = good
        .authorization(&f.url(rt_path))
        .replace("oauth_signature=\"", "oauth_signature=\"A");
    assert_status(&f.signed_post(rt_path, &tampered, &project), 401);
    let other_url = good.authorization("http://elsewhere.example.com/v3/OS-OAUTH1/request_token");
    assert_status(&f.signed_post(rt_path, &other_url, &project), 401);
    let rsa = good
        .authorization(&f.url(rt_path))
        .replace("HMAC-SHA1", "RSA-SHA1");
    assert_status(&f.signed_post(rt_path, &rsa, &project), 401);
    let bad_nonce = good
        .authorization(&f.url(rt_path))
        .replace("oauth_nonce=\"", "oauth_nonce=\"ZZ");
    let r = f.signed_post(rt_path, &bad_nonce, &project);
    assert_status(&r, 400);
    assert_eq!(
        message(&r),
        "Validation failed with errors: invalid_request, detail message is: Invalid nonce format.."
    );

    // A replayed request (same nonce) is refused, on this node and on another one.
    let once = good.authorization(&f.url(rt_path));
    assert_status(&f.signed_post(rt_path, &once, &project), 201);
    assert_status(&f.signed_post(rt_path, &once, &project), 401);
    // The second node answers the same public name (Host), as behind a load balancer.
    let node2 = s.second_node();
    let host = s.base.trim_start_matches("http://").to_string();
    let elsewhere = good.authorization(&f.url(rt_path));
    let on_node2 = |auth: &str| {
        node2.request(
            "POST",
            rt_path,
            &[("Authorization", auth), ("Host", host.as_str()), project[0]],
            None,
        )
    };
    assert_status(&on_node2(&elsewhere), 201);
    assert_status(&f.signed_post(rt_path, &elsewhere, &project), 401);
    assert_status(&on_node2(&once), 401);

    // PLAINTEXT is accepted, as Keystone does.
    let client = oauth::Credentials::new(c.id.as_str(), c.secret.as_str());
    let nonce = hex_nonce();
    let plaintext = oauth::Builder::<_, _>::new(client, oauth::Plaintext::new())
        .callback("oob")
        .nonce(nonce.as_str())
        .post(f.url(rt_path), &());
    assert_status(&f.signed_post(rt_path, &plaintext, &project), 201);

    // Access token: wrong verifier, then a good exchange, then the request token again.
    let (rt, rts) = f.new_request_token(&c);
    let r = f.exchange(&c, (&rt, &rts), "abcdefgh");
    assert_status(&r, 401); // not authorized yet: no verifier stored
    let verifier = f
        .authorize(&f.admin, &rt, json!([{"name": "member"}]))
        .json()["token"]["oauth_verifier"]
        .as_str()
        .unwrap()
        .to_string();
    let other_verifier = if verifier == "abcdefgh" {
        "bcdefghk"
    } else {
        "abcdefgh"
    };
    assert_status(&f.exchange(&c, (&rt, &rts), other_verifier), 401);
    assert_status(&f.exchange(&wrong, (&rt, &rts), &verifier), 401);
    assert_status(&f.exchange(&c, (&rt, "wrong"), &verifier), 401);
    let r = f.exchange(&c, (&rt, &rts), "1234567");
    assert_status(&r, 400);
    assert_eq!(
        message(&r),
        "Validation failed with errors: invalid_request, detail message is: Invalid verifier format.."
    );
    assert_status(&f.exchange(&c, (&rt, &rts), &verifier), 201);
    let r = f.exchange(&c, (&rt, &rts), &verifier);
    assert_status(&r, 404);
    assert_eq!(r.body, vector_body("oauth1_access_token_replay"));

    // An expired request token can be neither authorized nor exchanged.
    let (rt, rts) = f.new_request_token(&c);
    let verifier = f
        .authorize(&f.admin, &rt, json!([{"name": "member"}]))
        .json()["token"]["oauth_verifier"]
        .as_str()
        .unwrap()
        .to_string();
    s.db()
        .write_blocking(|conn| {
            use diesel::prelude::*;
            use keystone_rs::db::schema::request_token as t;
            diesel::update(t::table.filter(t::id.eq(&rt)))
                .set(t::expires_at.eq(Some("2000-01-01T00:00:00.000000Z")))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    assert_status(&f.exchange(&c, (&rt, &rts), &verifier), 401);
    assert_status(&f.authorize(&f.admin, &rt, json!([])), 401);

    // Authorization: unknown token, unknown role, a role the authorizer lacks, bad schema.
    let r = f.authorize(&f.admin, &"0".repeat(32), json!([{"name": "member"}]));
    assert_status(&r, 404);
    assert_eq!(r.body, vector_body("oauth1_authorize_unknown"));
    let (rt, _) = f.new_request_token(&c);
    let r = f.authorize(&f.admin, &rt, json!([{"name": "nosuchrole"}]));
    assert_status(&r, 404);
    assert_eq!(message(&r), "Role nosuchrole is not defined");
    assert_status(
        &f.authorize(&f.admin, &rt, json!([{"id": "nosuchrole"}])),
        401,
    );
    assert_status(
        &f.authorize(&f.admin, &rt, json!([{"id": "a", "name": "b"}])),
        400,
    );
    assert_status(&f.authorize(&f.admin, &rt, json!("x")), 400);
    let r = s.request(
        "POST",
        &format!("/v3/OS-OAUTH1/authorize/{rt}"),
        &[("X-Auth-Token", &f.admin)],
        None,
    );
    assert_status(&r, 405);
    assert_eq!(r.body, vector_body("oauth1_authorize_post_405"));
    assert_status(&s.get(rt_path, None), 405);

    // The oauth1 auth method.
    let access = f.delegate(&c, &f.admin, json!([{"name": "member"}]));
    let once = f.auth_header(&c, &access);
    assert_status(&f.oauth_auth_with(&once), 201);
    assert_status(&f.oauth_auth_with(&once), 401);
    let tampered = f
        .auth_header(&c, &access)
        .replace("oauth_signature=\"", "oauth_signature=\"A");
    assert_status(&f.oauth_auth_with(&tampered), 401);
    let wrong_secret = Access {
        id: access.id.clone(),
        secret: "wrong".into(),
    };
    assert_status(&f.oauth_auth_with(&f.auth_header(&c, &wrong_secret)), 401);
    assert_status(&f.oauth_auth_with(&f.auth_header(&wrong, &access)), 401);
    let unknown = Access {
        id: "0".repeat(32),
        secret: access.secret.clone(),
    };
    let r = f.oauth_auth_with(&f.auth_header(&c, &unknown));
    assert_status(&r, 404);
    assert_eq!(message(&r), "Access token not found");
    let no_token = Signer {
        consumer: &c,
        token: None,
        callback: None,
        verifier: None,
    }
    .authorization(&f.url("/v3/auth/tokens"));
    let r = f.oauth_auth_with(&no_token);
    assert_status(&r, 400);
    assert!(message(&r).starts_with("Expecting to find oauth_token in request."));
    // Another consumer, even knowing the access secret, may not use the delegation.
    let other = f.consumer();
    assert_status(&f.oauth_auth_with(&f.auth_header(&other, &access)), 401);

    // An access token authorized for no roles gives no token.
    let empty = f.delegate(&c, &f.admin, json!([]));
    assert_status(&f.oauth_auth_with(&f.auth_header(&c, &empty)), 401);
}

#[test]
fn consumer_crud_as_keystone() {
    let f = Fixture::new(TestServer::start());
    let s = &f.s;
    let r = s.post_json(
        "/v3/OS-OAUTH1/consumers",
        Some(&f.admin),
        &json!({"consumer": {"description": "d", "a-b:c": 1, "id": "ignored", "secret": "ignored"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json()["consumer"].clone();
    let id = created["id"].as_str().unwrap().to_string();
    assert_ne!(id, "ignored");
    assert_ne!(created["secret"], "ignored");
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a_b_c", "id", "description", "secret", "links"]);
    let path = format!("/v3/OS-OAUTH1/consumers/{id}");
    assert_eq!(
        created["links"]["self"],
        format!("{}{path}", s.base).as_str()
    );

    let r = s.post_json("/v3/OS-OAUTH1/consumers", Some(&f.admin), &json!({}));
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["consumer"]["description"], Value::Null);
    let r = s.post_json(
        "/v3/OS-OAUTH1/consumers",
        Some(&f.admin),
        &json!({"consumer": {"description": 1}}),
    );
    assert_eq!(r.status, 400);
    assert_status(
        &s.post_json(
            "/v3/OS-OAUTH1/consumers",
            Some(&f.admin),
            &json!({"consumer": {"description": "x".repeat(65)}}),
        ),
        400,
    );
    assert_status(
        &s.post_json(
            "/v3/OS-OAUTH1/consumers",
            Some(&f.admin),
            &json!({"consumer": []}),
        ),
        400,
    );

    let r = s.get("/v3/OS-OAUTH1/consumers", Some(&f.admin));
    assert_eq!(r.status, 200);
    let list = r.json();
    assert_eq!(list["consumers"].as_array().unwrap().len(), 2);
    assert!(
        list["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("secret").is_none())
    );
    assert_eq!(list["links"]["next"], Value::Null);

    let patch = |body: Value| {
        let text = body.to_string();
        s.request(
            "PATCH",
            &path,
            &[
                ("Content-Type", "application/json"),
                ("X-Auth-Token", &f.admin),
            ],
            Some(text.as_bytes()),
        )
    };
    let r = patch(json!({"consumer": {"description": "e", "x-y": 2}}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        format!(
            "{{\"consumer\": {{\"a_b_c\": 1, \"x_y\": 2, \"id\": \"{id}\", \"description\": \"e\", \"links\": {{\"self\": \"{}{path}\"}}}}}}\n",
            s.base
        )
    );
    assert_eq!(
        s.get(&path, Some(&f.admin)).json()["consumer"]["description"],
        "e"
    );
    let r = patch(json!({"consumer": {"secret": "x"}}));
    assert_eq!(r.status, 400);
    assert_eq!(r.body, vector_body("oauth1_consumer_update_secret"));
    assert_status(&patch(json!({"consumer": {}})), 400);
    let r = patch(json!({"consumer": {"id": "other"}}));
    assert_status(&r, 400);
    assert_eq!(message(&r), "Cannot change ID");

    let r = s.get("/v3/OS-OAUTH1/consumers/nosuch", Some(&f.admin));
    assert_eq!(r.body, vector_body("oauth1_consumer_get_unknown"));
    let del = |p: &str| s.request("DELETE", p, &[("X-Auth-Token", &f.admin)], None);
    assert_eq!(del(&path).status, 204);
    assert_status(&del(&path), 404);
    assert_status(&s.get(&path, Some(&f.admin)), 404);
}

#[test]
fn access_token_deletion_kills_its_tokens() {
    let f = Fixture::new(TestServer::start());
    let s = &f.s;
    let node2 = s.second_node();
    let c = f.consumer();
    let access = f.delegate(&c, &f.admin, json!([{"name": "member"}]));
    let kept = f.delegate(&c, &f.admin, json!([{"name": "reader"}]));
    let token = f.oauth_token(&c, &access);
    let other = f.oauth_token(&c, &kept);
    assert_eq!(f.validate(s, &token).status, 200);
    assert_eq!(f.validate(&node2, &token).status, 200);

    let path = format!(
        "/v3/users/{}/OS-OAUTH1/access_tokens/{}",
        f.admin_id, access.id
    );
    // Someone else's path: Keystone's 401.
    let wrong = format!(
        "/v3/users/{}/OS-OAUTH1/access_tokens/{}",
        "0".repeat(32),
        access.id
    );
    assert_status(
        &s.request("DELETE", &wrong, &[("X-Auth-Token", &f.admin)], None),
        401,
    );
    assert_eq!(
        s.request("DELETE", &path, &[("X-Auth-Token", &f.admin)], None)
            .status,
        204
    );

    for node in [s, &node2] {
        let v = f.validate(node, &token);
        assert_eq!(v.status, 404);
        assert_eq!(
            v.body,
            vector_body("oauth1_validate_after_access_token_delete")
        );
    }
    let r = f.oauth_auth_with(&f.auth_header(&c, &access));
    assert_status(&r, 404);
    assert_eq!(
        f.validate(s, &other).status,
        200,
        "other delegations live on"
    );
    assert_status(
        &s.request("DELETE", &path, &[("X-Auth-Token", &f.admin)], None),
        404,
    );
}

#[test]
fn consumer_deletion_kills_every_delegation_on_every_node() {
    let f = Fixture::new(TestServer::start());
    let s = &f.s;
    let node2 = s.second_node();
    let c = f.consumer();
    let bystander = f.consumer();
    let tokens: Vec<String> = (0..2)
        .map(|_| {
            let a = f.delegate(&c, &f.admin, json!([{"name": "member"}]));
            f.oauth_token(&c, &a)
        })
        .collect();
    let pending = f.new_request_token(&c);
    let spared = f.oauth_token(
        &bystander,
        &f.delegate(&bystander, &f.admin, json!([{"name": "member"}])),
    );
    for t in tokens.iter().chain([&spared]) {
        assert_eq!(f.validate(s, t).status, 200);
        assert_eq!(f.validate(&node2, t).status, 200);
    }

    let r = s.request(
        "DELETE",
        &format!("/v3/OS-OAUTH1/consumers/{}", c.id),
        &[("X-Auth-Token", &f.admin)],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);

    for t in &tokens {
        for node in [s, &node2] {
            let v = f.validate(node, t);
            assert_eq!(v.status, 404, "{}", v.body);
            assert_eq!(message(&v), "Access token not found");
        }
    }
    assert_eq!(f.validate(&node2, &spared).status, 200);
    let list = s.get(
        &format!("/v3/users/{}/OS-OAUTH1/access_tokens", f.admin_id),
        Some(&f.admin),
    );
    let list = list.json();
    let ids: Vec<&str> = list["access_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["consumer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [bystander.id.as_str()]);
    // Its pending request token went with it.
    let r = f.authorize(&f.admin, &pending.0, json!([]));
    assert_status(&r, 404);

    // The consumer revocation event, as Keystone lists it.
    let events = node2.get("/v3/OS-REVOKE/events", Some(&f.admin)).json();
    let event = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e.get("OS-OAUTH1:consumer_id").is_some())
        .expect("consumer event")
        .clone();
    let keys: Vec<&String> = event.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["OS-OAUTH1:consumer_id", "issued_before", "revoked_at"]
    );
    assert_eq!(event["OS-OAUTH1:consumer_id"], c.id.as_str());
}

fn grant_admin(f: &Fixture, user: &str, project: &str) {
    let role = role_id(&f.s, &f.admin, "admin");
    let r = send(
        &f.s,
        "PUT",
        &format!("/v3/projects/{project}/users/{user}/roles/{role}"),
        &f.admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
}

/// A second admin of `project`, made through the user and grant APIs, and their token.
fn make_admin_user(f: &Fixture, project_id: &str) -> (String, String) {
    let name = uuid::Uuid::new_v4().simple().to_string();
    let r = f.s.post_json(
        "/v3/users",
        Some(&f.admin),
        &json!({"user": {"name": name, "domain_id": "default", "password": "alicepw"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let user_id = r.json()["user"]["id"].as_str().unwrap().to_string();
    grant_admin(f, &user_id, project_id);
    let r = f.s.post_json(
        "/v3/auth/tokens",
        None,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "id": user_id, "password": "alicepw"}}},
            "scope": {"project": {"id": project_id}}}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    (user_id, r.subject_token())
}

/// Rows of the user's delegations (request tokens they authorized, access tokens).
fn delegation_rows(s: &TestServer, user: &str) -> (i64, i64) {
    use diesel::prelude::*;
    use keystone_rs::db::schema::{access_token as at, request_token as rt};
    let user = user.to_string();
    s.db()
        .read_blocking(move |conn| {
            let requests: i64 = rt::table
                .filter(rt::authorizing_user_id.eq(&user))
                .count()
                .get_result(conn)?;
            let accesses: i64 = at::table
                .filter(at::authorizing_user_id.eq(&user))
                .count()
                .get_result(conn)?;
            Ok((requests, accesses))
        })
        .expect("rows")
}

#[test]
fn delegating_user_losing_role_disabled_or_deleted_kills_tokens() {
    let f = Fixture::new(TestServer::start());
    let s = &f.s;
    let node2 = s.second_node();
    let c = f.consumer();
    let (alice, alice_token) = make_admin_user(&f, &f.project_id);
    let access = f.delegate(&c, &alice_token, json!([{"name": "member"}]));
    let token = f.oauth_token(&c, &access);
    assert_eq!(f.validate(&node2, &token).status, 200);
    // One more delegation left half-way: authorized, not yet exchanged.
    let (rt, _) = f.new_request_token(&c);
    let r = f.authorize(&alice_token, &rt, json!([{"name": "member"}]));
    assert_eq!(r.status, 200, "{}", r.body);

    // Policy: alice's delegated token is not an admin's, and members cannot manage
    // consumers; access-token deletion answers with Keystone's odd target name.
    let r = s.request(
        "DELETE",
        &format!("/v3/users/{alice}/OS-OAUTH1/access_tokens/{}", access.id),
        &[("X-Auth-Token", &token)],
        None,
    );
    assert_status(&r, 403);
    assert!(
        message(&r).ends_with("identity:ec2_delete_credential."),
        "{}",
        r.body
    );

    // Role lost (the grant API): the delegated role drops out at validation.
    let role = role_id(s, &f.admin, "admin");
    let r = send(
        s,
        "DELETE",
        &format!("/v3/projects/{}/users/{alice}/roles/{role}", f.project_id),
        &f.admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    for node in [s, &node2] {
        let v = f.validate(node, &token);
        assert_eq!(v.status, 404, "{}", v.body);
        assert_eq!(message(&v), format!("Could not find token: {token}."));
    }
    assert_status(&f.oauth_auth_with(&f.auth_header(&c, &access)), 401);

    // Role back, user disabled (the user API).
    grant_admin(&f, &alice, &f.project_id);
    let token = f.oauth_token(&c, &access);
    assert_eq!(f.validate(&node2, &token).status, 200);
    let set_enabled = |enabled: bool| {
        let r = send(
            s,
            "PATCH",
            &format!("/v3/users/{alice}"),
            &f.admin,
            Some(&json!({"user": {"enabled": enabled}})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    set_enabled(false);
    for node in [s, &node2] {
        assert_eq!(f.validate(node, &token).status, 404);
    }
    assert_status(&f.oauth_auth_with(&f.auth_header(&c, &access)), 401);

    // Deleted (the user API): tokens fail with Keystone's 404, and unlike Keystone the
    // user's request and access tokens do not linger.
    set_enabled(true);
    let token = f.oauth_token(&c, &access);
    assert_eq!(delegation_rows(s, &alice), (1, 1));
    let r = send(s, "DELETE", &format!("/v3/users/{alice}"), &f.admin, None);
    assert_eq!(r.status, 204, "{}", r.body);
    for node in [s, &node2] {
        let v = f.validate(node, &token);
        assert_eq!(v.status, 404);
        assert_eq!(message(&v), format!("Could not find user: {alice}."));
    }
    let r = f.oauth_auth_with(&f.auth_header(&c, &access));
    assert_status(&r, 404);
    let list = s.get(
        &format!("/v3/users/{alice}/OS-OAUTH1/access_tokens"),
        Some(&f.admin),
    );
    assert_eq!(list.json()["access_tokens"], json!([]));
    assert_eq!(delegation_rows(s, &alice), (0, 0));
}

#[test]
fn project_deletion_removes_its_delegations_and_their_tokens_fail() {
    let f = Fixture::new(TestServer::start());
    let s = &f.s;
    let node2 = s.second_node();
    let c = f.consumer();
    let r = s.post_json(
        "/v3/projects",
        Some(&f.admin),
        &json!({"project": {"name": "delegated", "domain_id": "default"}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let project = r.json()["project"]["id"].as_str().unwrap().to_string();
    grant_admin(&f, &f.admin_id, &project);
    let doomed = f.delegate_on(&c, &f.admin, json!([{"name": "member"}]), &project);
    let token = f.oauth_token(&c, &doomed);
    let kept = f.delegate(&c, &f.admin, json!([{"name": "member"}]));
    let kept_token = f.oauth_token(&c, &kept);
    let pending = f.new_request_token_for(&c, &project);
    assert_eq!(f.validate(&node2, &token).status, 200);

    let r = send(
        s,
        "DELETE",
        &format!("/v3/projects/{project}"),
        &f.admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);

    // As Keystone (checked against it): the project's absence answers first.
    for node in [s, &node2] {
        let v = f.validate(node, &token);
        assert_eq!(v.status, 404, "{}", v.body);
        assert_eq!(message(&v), format!("Could not find project: {project}."));
        assert_eq!(f.validate(node, &kept_token).status, 200);
    }
    // Keystone: 404 "Could not find project"; here the access token is gone with it.
    let r = f.oauth_auth_with(&f.auth_header(&c, &doomed));
    assert_status(&r, 404);
    assert_eq!(message(&r), "Access token not found");
    let list = s.get(
        &format!("/v3/users/{}/OS-OAUTH1/access_tokens", f.admin_id),
        Some(&f.admin),
    );
    let ids: Vec<Value> = list.json()["access_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, [json!(kept.id)]);
    assert_status(&f.authorize(&f.admin, &pending.0, json!([])), 404);
}

#[test]
fn durations_come_from_the_oauth1_section() {
    let f = Fixture::new(TestServer::start_with(
        "[oauth1]\nrequest_token_duration = 0\naccess_token_duration = 0\n",
    ));
    let c = f.consumer();
    let r = f.request_token(&c);
    assert_eq!(r.status, 201);
    assert!(!r.body.contains("oauth_expires_at"), "{}", r.body);
    let access = f.delegate(&c, &f.admin, json!([{"name": "reader"}]));
    let r = f.s.get(
        &format!(
            "/v3/users/{}/OS-OAUTH1/access_tokens/{}",
            f.admin_id, access.id
        ),
        Some(&f.admin),
    );
    assert_eq!(r.json()["access_token"]["expires_at"], Value::Null);
    let token = f.oauth_token(&c, &access);
    assert_eq!(role_names(&f.validate(&f.s, &token).json()), ["reader"]);
}

#[test]
fn signatures_are_checked_against_the_url_keystone_rebuilds() {
    // Behind a TLS-terminating proxy: the client signed https URLs.
    let f = Fixture::new(TestServer::start());
    let c = f.consumer();
    let rt_path = "/v3/OS-OAUTH1/request_token";
    let https = f.url(rt_path).replace("http://", "https://");
    let good = Signer {
        consumer: &c,
        token: None,
        callback: Some("oob"),
        verifier: None,
    };
    let project = ("Requested-Project-Id", f.project_id.as_str());
    let proto = ("X-Forwarded-Proto", "https");
    assert_status(
        &f.signed_post(rt_path, &good.authorization(&https), &[project, proto]),
        201,
    );
    assert_status(
        &f.signed_post(rt_path, &good.authorization(&https), &[project]),
        401,
    );
    // Query parameters are signed for the token endpoints…
    let with_query = format!("{rt_path}?x=1");
    let signed = {
        let client = oauth::Credentials::new(c.id.as_str(), c.secret.as_str());
        let nonce = hex_nonce();
        oauth::Builder::<_, _>::new(client, oauth::HmacSha1::new())
            .callback("oob")
            .nonce(nonce.as_str())
            .post(f.url(rt_path), &oauth::ParameterList::new([("x", "1")]))
    };
    assert_status(&f.signed_post(&with_query, &signed, &[project]), 201);
    let unsigned_extra = good.authorization(&f.url(rt_path));
    assert_status(
        &f.signed_post(&with_query, &unsigned_extra, &[project]),
        401,
    );
    // …but never for POST /v3/auth/tokens, which is verified against the base URL.
    let access = f.delegate(&c, &f.admin, json!([{"name": "member"}]));
    let auth = f.auth_header(&c, &access);
    let body = json!({"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}).to_string();
    let r = f.s.request(
        "POST",
        "/v3/auth/tokens?nocatalog",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        Some(body.as_bytes()),
    );
    assert_status(&r, 201);
    assert!(r.json()["token"].get("catalog").is_none());

    // With public_endpoint, the auth request is verified against it; the token endpoints
    // take only its scheme, the host stays the request's.
    let f = Fixture::new(TestServer::start_with(
        "[DEFAULT]\npublic_endpoint = https://keystone.example.com:5000\n",
    ));
    let c = f.consumer();
    let good = Signer {
        consumer: &c,
        token: None,
        callback: Some("oob"),
        verifier: None,
    };
    let project = ("Requested-Project-Id", f.project_id.as_str());
    let https = f.url(rt_path).replace("http://", "https://");
    assert_status(
        &f.signed_post(rt_path, &good.authorization(&https), &[project]),
        201,
    );
    assert_status(
        &f.signed_post(rt_path, &good.authorization(&f.url(rt_path)), &[project]),
        401,
    );
    let access = f.delegate_https(&c);
    let public = Signer {
        consumer: &c,
        token: Some((&access.id, &access.secret)),
        callback: None,
        verifier: None,
    };
    let r = f
        .oauth_auth_with(&public.authorization("https://keystone.example.com:5000/v3/auth/tokens"));
    assert_status(&r, 201);
    let r = f.oauth_auth_with(&f.auth_header(&c, &access));
    assert_status(&r, 401);
}

#[test]
fn nonces_are_remembered_for_their_window_only() {
    use keystone_rs::oauth1::store::{purge_expired_nonces, remember_nonce};
    let f = Fixture::new(TestServer::start());
    let c = f.consumer();
    let rt_path = "/v3/OS-OAUTH1/request_token";
    let project = ("Requested-Project-Id", f.project_id.as_str());
    let nonce = hex_nonce();
    let key = format!("{}:{nonce}", c.id);
    // A row from long ago that no purge has removed yet does not block the nonce.
    let stale = key.clone();
    f.s.db()
        .write_blocking(move |conn| {
            assert!(remember_nonce(conn, &stale, 0, 1)?);
            assert!(remember_nonce(conn, "long-gone", 0, 1)?);
            Ok(())
        })
        .unwrap();
    let signed = |n: &str| {
        let client = oauth::Credentials::new(c.id.as_str(), c.secret.as_str());
        oauth::Builder::<_, _>::new(client, oauth::HmacSha1::new())
            .callback("oob")
            .nonce(n)
            .post(f.url(rt_path), &())
    };
    assert_status(&f.signed_post(rt_path, &signed(&nonce), &[project]), 201);
    assert_status(&f.signed_post(rt_path, &signed(&nonce), &[project]), 401);

    let now_us = chrono::Utc::now().timestamp_micros();
    f.s.db()
        .write_blocking(move |conn| {
            // Purging removes what has expired and keeps the live nonce...
            assert!(purge_expired_nonces(conn, now_us)? >= 1);
            assert!(remember_nonce(conn, "long-gone", now_us, now_us + 1)?);
            assert!(!remember_nonce(conn, &key, now_us, now_us + 1)?);
            // ...which ends with its timestamp's window (+600 s).
            let later = now_us + 3_600_000_000;
            assert!(purge_expired_nonces(conn, later)? >= 2);
            assert!(remember_nonce(conn, &key, later, later + 1)?);
            Ok(())
        })
        .unwrap();
}

#[test]
fn parallel_signed_requests_never_fail() {
    let f = Fixture::new(TestServer::start());
    let c = f.consumer();
    let access = f.delegate(&c, &f.admin, json!([{"name": "member"}]));
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                for _ in 0..5 {
                    assert_status(&f.request_token(&c), 201);
                    assert_status(&f.oauth_auth_with(&f.auth_header(&c, &access)), 201);
                }
            });
        }
    });
}
