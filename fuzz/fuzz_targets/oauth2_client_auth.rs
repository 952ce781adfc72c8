//! OAuth2 client authentication: the `Authorization: Basic …` header, the token request's
//! form, and JWT client assertions (RFC 7523) — split, decoded, signature-checked against
//! fixed keys and claim-checked. Input: the header on the first line, the form body after.
#![no_main]

use chrono::{TimeZone, Utc};
use keystone_rs::oauth2::jwt::{Assertion, PublicKey, check_claims};
use keystone_rs::oauth2::{ClientAuthentication, Form};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static KEYS: LazyLock<[PublicKey; 2]> = LazyLock::new(|| {
    [
        PublicKey::from_pem(include_str!("keys/rsa2048.pub.pem")).expect("RSA key"),
        PublicKey::from_pem(include_str!("keys/p256.pub.pem")).expect("P-256 key"),
    ]
});

const AUDIENCES: [&str; 2] = [
    "http://localhost:5000",
    "http://localhost:5000/v3/OS-OAUTH2/token",
];

fn check_assertion(compact: &str) {
    let Ok(assertion) = Assertion::parse(compact) else {
        return;
    };
    let _ = assertion.verify_hmac(b"application credential secret");
    for key in KEYS.iter() {
        let _ = assertion.verify_public_key(key);
    }
    let client_id = assertion.string_claim("iss").unwrap_or_default().to_string();
    let audiences = AUDIENCES.map(String::from);
    let now = Utc.timestamp_opt(1_767_225_600, 0).unwrap();
    let _ = check_claims(&assertion, &client_id, &audiences, now);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (authorization, body) = text.split_once('\n').unwrap_or((&text, ""));
    if let Ok(form) = Form::parse(body.as_bytes()) {
        let header = Some(authorization).filter(|h| !h.is_empty());
        match ClientAuthentication::from_request(header, &form) {
            Ok(
                ClientAuthentication::ClientSecretJwt { assertion, .. }
                | ClientAuthentication::PrivateKeyJwt { assertion, .. },
            ) => check_assertion(&assertion),
            Ok(auth) => {
                let _ = auth.method_name();
            }
            Err(_) => {}
        }
    }
    // The first line as an assertion of its own, and the whole input as a registered key.
    check_assertion(authorization);
    let _ = PublicKey::from_pem(&text);
});
