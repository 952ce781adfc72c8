//! Native OpenID Connect (keystone-rs/src/federation/oidc) against a real OpenID provider:
//! the npm package `oidc-provider` (pinned in tests/oidc/package-lock.json), installed into
//! `target/oidc-provider` on first use and started by these tests with tests/oidc/provider.mjs.
//! Tokens are real client_credentials tokens from it; nothing here signs a token itself.

mod provider;

use keystone_rs::error::Error;
use keystone_rs::federation::oidc::{IssuerKeys, OidcError, OidcSettings, assertion_from_bearer};
use provider::{Provider, free_port};
use std::collections::HashMap;
use std::time::Duration;

const AUDIENCE: &str = "urn:keystone";

/// The settings of one `[openid_connect:idp:openid]` section for `issuer`, with `extra`
/// options.
fn settings(issuer: &str, extra: &[(&str, &str)]) -> OidcSettings {
    let mut options: HashMap<&str, &str> = HashMap::from([
        ("issuer", issuer),
        (
            "audiences",
            "urn:keystone, urn:keystone:es256, urn:keystone:opaque, urn:keystone:short",
        ),
    ]);
    options.extend(extra.iter().copied());
    OidcSettings::from_section("openid_connect:idp:openid", |o| {
        options.get(o).map(|v| v.to_string())
    })
    .unwrap()
}

fn attribute<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn refused(issuer: &IssuerKeys, token: &str, why: &str) {
    match assertion_from_bearer(issuer, token) {
        Err(e @ OidcError::Invalid(_)) => {
            assert_eq!(Error::from(e).status.as_u16(), 401, "{why}");
        }
        other => panic!("{why}: expected a refusal, got {other:?}"),
    }
}

/// The token with its payload swapped for `edit(payload)`, the signature kept.
fn tampered(token: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    edit(&mut payload);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// The token with one character in the middle of its signature changed.
fn tampered_signature(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut signature: Vec<u8> = signature.bytes().collect();
    let i = signature.len() / 2;
    signature[i] = if signature[i] == b'A' { b'B' } else { b'A' };
    format!("{signed}.{}", String::from_utf8(signature).unwrap())
}

/// The token with its header's `kid` replaced.
fn with_kid(token: &str, kid: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    header["kid"] = kid.into();
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
    format!("{header}.{}.{}", parts[1], parts[2])
}

#[test]
fn jwt_access_tokens_become_the_attributes_mod_auth_openidc_sets() {
    let op = Provider::start();
    let issuer = IssuerKeys::new(settings(&op.issuer, &[("claim_delimiter", ";")]));
    for resource in [AUDIENCE, "urn:keystone:es256"] {
        let token = op.token(resource);
        let pairs = assertion_from_bearer(&issuer, &token).unwrap();
        assert_eq!(
            pairs[0],
            ("REMOTE_USER".to_string(), "keystone".to_string())
        );
        let expect = [
            ("OIDC-iss", op.issuer.as_str()),
            ("HTTP_OIDC_ISS", op.issuer.as_str()),
            ("OIDC-sub", "keystone"),
            ("OIDC-aud", resource),
            ("OIDC-preferred_username", "ann"),
            ("OIDC-email", "ann@example.org"),
            ("HTTP_OIDC_EMAIL", "ann@example.org"),
            ("OIDC-email_verified", "1"),
            ("OIDC-groups", "admins;devs"),
            ("HTTP_OIDC_GROUPS", "admins;devs"),
            ("OIDC-address", r#"{"locality":"Paris","country":"FR"}"#),
            ("OIDC-scope", "api"),
        ];
        for (name, value) in expect {
            assert_eq!(
                attribute(&pairs, name),
                Some(value),
                "{resource}: {name} in {pairs:?}"
            );
        }
        // mod_wsgi drops header names with `_`: no HTTP_ form of preferred_username.
        assert_eq!(attribute(&pairs, "HTTP_OIDC_PREFERRED_USERNAME"), None);
        assert!(attribute(&pairs, "OIDC-exp").is_some_and(|e| e.parse::<i64>().is_ok()));
    }
    // The keys were fetched once, then served from the cache.
    assert_eq!(issuer.fetch_count(), 1);
}

#[test]
fn opaque_tokens_are_introspected_at_the_issuer() {
    let op = Provider::start();
    let creds = [
        ("client_id", provider::CLIENT_ID),
        ("client_secret", provider::CLIENT_SECRET),
        // client_credentials tokens have no `sub` in oidc-provider's introspection answer.
        ("remote_user_claim", "preferred_username"),
    ];
    let issuer = IssuerKeys::new(settings(&op.issuer, &creds));
    let token = op.token("urn:keystone:opaque");
    assert!(!token.contains('.'), "an opaque token: {token}");
    let pairs = assertion_from_bearer(&issuer, &token).unwrap();
    assert_eq!(attribute(&pairs, "REMOTE_USER"), Some("ann"));
    assert_eq!(attribute(&pairs, "OIDC-active"), Some("1"));
    assert_eq!(attribute(&pairs, "HTTP_OIDC_ISS"), Some(op.issuer.as_str()));
    assert_eq!(attribute(&pairs, "OIDC-groups"), Some("admins,devs"));
    assert_eq!(attribute(&pairs, "OIDC-aud"), Some("urn:keystone:opaque"));

    // A token the issuer never issued is inactive.
    refused(
        &issuer,
        "Ew-sjcp-p6b2h6iJt5wyC4Ap0hwSgMsoEkZftVpeVzE",
        "unknown opaque token",
    );
    // An opaque token for another audience.
    let narrow = IssuerKeys::new(settings(
        &op.issuer,
        &[creds[0], creds[1], creds[2], ("audiences", AUDIENCE)],
    ));
    refused(&narrow, &token, "opaque token for another audience");
    // Without introspection credentials there is nobody to ask.
    refused(
        &IssuerKeys::new(settings(&op.issuer, &[])),
        &token,
        "no credentials",
    );
    // Wrong credentials are keystone-rs's misconfiguration: the issuer refuses to answer.
    let wrong = IssuerKeys::new(settings(
        &op.issuer,
        &[("client_id", "keystone"), ("client_secret", "not-it")],
    ));
    let e = assertion_from_bearer(&wrong, &token).unwrap_err();
    assert!(matches!(e, OidcError::Unavailable(_)), "{e}");
}

#[test]
fn tokens_of_another_issuer_expired_tampered_or_for_another_audience_are_refused() {
    let op = Provider::start();
    // The same keys, another issuer: only the `iss` check tells its tokens apart.
    let other = Provider::start_with_keys(&op.keys_file);
    let issuer = IssuerKeys::new(settings(&op.issuer, &[("leeway", "0")]));
    let good = op.token(AUDIENCE);
    assert!(assertion_from_bearer(&issuer, &good).is_ok());

    refused(&issuer, &other.token(AUDIENCE), "another issuer");
    refused(&issuer, &op.token("urn:elsewhere"), "another audience");
    refused(
        &issuer,
        &tampered(&good, |c| c["preferred_username"] = "admin".into()),
        "tampered claims",
    );
    refused(&issuer, &tampered_signature(&good), "tampered signature");
    let short = op.token("urn:keystone:short");
    std::thread::sleep(Duration::from_millis(2100));
    refused(&issuer, &short, "expired");

    // ES256 only: the provider's RS256 tokens are refused before any key is looked up.
    let es_only = IssuerKeys::new(settings(&op.issuer, &[("algorithms", "ES256")]));
    refused(&es_only, &good, "RS256 not allowed");
    assert_eq!(es_only.fetch_count(), 0);
    assert!(assertion_from_bearer(&es_only, &op.token("urn:keystone:es256")).is_ok());
}

#[test]
fn keys_the_issuer_rotated_in_are_fetched_and_those_rotated_out_refused() {
    let op = Provider::start();
    let issuer = IssuerKeys::new(settings(&op.issuer, &[("jwks_refetch_interval", "0")]));
    let old = op.token(AUDIENCE);
    assert!(assertion_from_bearer(&issuer, &old).is_ok());
    assert_eq!(issuer.fetch_count(), 1);

    // The same issuer restarted with new keys: the old ones are gone from its JWKS.
    let op = op.restart_with_new_keys();
    let new = op.token(AUDIENCE);
    assert!(
        assertion_from_bearer(&issuer, &new).is_ok(),
        "a new kid is fetched"
    );
    assert_eq!(issuer.fetch_count(), 2);
    refused(&issuer, &old, "key rotated out");
    assert!(assertion_from_bearer(&issuer, &new).is_ok());
}

#[test]
fn unknown_key_ids_refetch_the_keys_at_most_once_per_interval() {
    let op = Provider::start();
    let issuer = IssuerKeys::new(settings(&op.issuer, &[("jwks_refetch_interval", "2")]));
    let token = op.token(AUDIENCE);
    assert!(assertion_from_bearer(&issuer, &token).is_ok());
    assert_eq!(issuer.fetch_count(), 1);
    for i in 0..20 {
        refused(
            &issuer,
            &with_kid(&token, &format!("forged-{i}")),
            "unknown kid",
        );
    }
    // The first fetch was just now: no forged kid made keystone-rs ask again.
    assert_eq!(issuer.fetch_count(), 1);
    std::thread::sleep(Duration::from_millis(2100));
    for i in 0..20 {
        refused(
            &issuer,
            &with_kid(&token, &format!("again-{i}")),
            "unknown kid",
        );
    }
    assert_eq!(issuer.fetch_count(), 2, "one refetch per interval");
    assert!(assertion_from_bearer(&issuer, &token).is_ok());
}

#[test]
fn an_unreachable_issuer_is_unavailable_not_an_error_of_the_token() {
    let port = free_port();
    let issuer = IssuerKeys::new(settings(
        &format!("http://127.0.0.1:{port}"),
        &[
            ("client_id", provider::CLIENT_ID),
            ("client_secret", provider::CLIENT_SECRET),
            ("http_timeout", "2"),
        ],
    ));
    // A well-formed RS256 JWT (of a provider that is gone) and an opaque token.
    let op = Provider::start();
    let jwt = op.token(AUDIENCE);
    let opaque = op.token("urn:keystone:opaque");
    drop(op);
    for token in [jwt.as_str(), opaque.as_str()] {
        let e = assertion_from_bearer(&issuer, token).unwrap_err();
        assert!(matches!(e, OidcError::Unavailable(_)), "{e}");
        let e = Error::from(e);
        assert_eq!(e.status.as_u16(), 503);
        assert!(e.body().contains(r#""code":503"#), "{}", e.body());
    }

    // Keys already fetched keep verifying while the issuer is away.
    let op = Provider::start();
    let issuer = IssuerKeys::new(settings(
        &op.issuer,
        &[("jwks_cache_time", "0"), ("jwks_refetch_interval", "0")],
    ));
    let token = op.token(AUDIENCE);
    assert!(assertion_from_bearer(&issuer, &token).is_ok());
    drop(op);
    std::thread::sleep(Duration::from_millis(100));
    assert!(assertion_from_bearer(&issuer, &token).is_ok());
}
