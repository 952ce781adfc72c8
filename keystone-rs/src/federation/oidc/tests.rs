use super::*;
use crate::error::Error;
use actix_web::http::StatusCode;

fn section(options: &[(&str, &str)]) -> Result<OidcSettings, SettingsError> {
    OidcSettings::from_section("openid_connect:my:idp:openid", |o| {
        options
            .iter()
            .find(|(k, _)| *k == o)
            .map(|(_, v)| v.to_string())
    })
}

#[test]
fn a_section_names_its_idp_and_protocol_and_takes_defaults() {
    let s = section(&[("issuer", "https://idp.example/"), ("audiences", "a, b,,")]).unwrap();
    assert_eq!(
        (s.idp_id.as_str(), s.protocol_id.as_str()),
        ("my:idp", "openid")
    );
    assert_eq!(s.audiences, vec!["a", "b"]);
    assert_eq!(s.algorithms, settings::DEFAULT_ALGORITHMS.to_vec());
    assert_eq!(s.claim_prefix, "OIDC-");
    assert_eq!(s.claim_delimiter, ",");
    assert_eq!(s.remote_user_claim, "sub");
    assert_eq!(s.leeway, 60);
    // An empty prefix is a prefix, as in Apache.
    let s = section(&[
        ("issuer", "https://i"),
        ("audiences", "a"),
        ("claim_prefix", ""),
    ])
    .unwrap();
    assert_eq!(s.claim_prefix, "");
}

#[test]
fn unsafe_or_incomplete_sections_are_refused() {
    let base = [("issuer", "https://i"), ("audiences", "a")];
    let with = |extra: (&str, &str)| {
        let mut o = base.to_vec();
        o.retain(|(k, _)| *k != extra.0);
        o.push(extra);
        section(&o)
    };
    for alg in ["HS256", "none", "RS256, HS512", "rs256", ""] {
        let r = with(("algorithms", alg));
        if alg.is_empty() {
            assert!(r.is_ok(), "empty means the default");
        } else {
            let e = r.unwrap_err();
            assert!(
                e.0.contains("[openid_connect:my:idp:openid] algorithms"),
                "{e}"
            );
        }
    }
    assert!(with(("audiences", " , ")).is_err());
    assert!(with(("issuer", "")).is_err());
    assert!(with(("issuer", "idp.example")).is_err());
    assert!(with(("leeway", "-1")).is_err());
    assert!(with(("http_timeout", "0")).is_err());
    assert!(
        with(("client_id", "keystone")).is_err(),
        "a client id needs its secret"
    );
    assert!(OidcSettings::from_section("openid_connect:nothing", |_| Some("x".into())).is_err());
    let s = with(("algorithms", "PS256,EdDSA,ES384")).unwrap();
    assert_eq!(s.algorithms.len(), 3);
}

#[test]
fn the_client_secret_never_shows_in_debug_output() {
    let s = section(&[
        ("issuer", "https://i"),
        ("audiences", "a"),
        ("client_id", "ks"),
        ("client_secret", "s3cr3t-value"),
    ])
    .unwrap();
    assert!(!format!("{s:?}").contains("s3cr3t-value"));
}

#[test]
fn providers_come_from_keystone_conf() {
    let config = crate::config::Config::parse(
        "[openid_connect:google:openid]\nissuer = https://accounts.google.com\naudiences = ks\n\
         [openid]\nremote_id_attribute = HTTP_OIDC_ISS\n",
        None,
    )
    .unwrap();
    let providers = OidcProviders::from_config(&config).unwrap();
    assert!(providers.get("google", "openid").is_some());
    assert!(providers.get("google", "saml2").is_none());
    let bad =
        crate::config::Config::parse("[openid_connect:x:openid]\naudiences = ks\n", None).unwrap();
    assert!(OidcProviders::from_config(&bad).is_err());
}

#[test]
fn bearer_tokens_are_read_from_the_header() {
    assert_eq!(bearer_token("Bearer abc"), Some("abc"));
    assert_eq!(bearer_token("bearer   abc "), Some("abc"));
    assert_eq!(bearer_token("Basic abc"), None);
    assert_eq!(bearer_token("Bearer "), None);
    assert_eq!(bearer_token("Bearer"), None);
}

#[test]
fn malformed_tokens_are_refused_without_asking_the_issuer() {
    // An unroutable issuer: any request to it would be an Unavailable, not an Invalid.
    let s = section(&[("issuer", "http://127.0.0.1:9"), ("audiences", "a")]).unwrap();
    let issuer = IssuerKeys::new(s);
    let long = "a".repeat(MAX_TOKEN_LEN + 1);
    for token in [
        "",
        "a b",
        "x\ny",
        long.as_str(),
        "e30.e30.",
        "a.b.c",
        "!!.??.##",
    ] {
        let e = assertion_from_bearer(&issuer, token).unwrap_err();
        assert!(matches!(e, OidcError::Invalid(_)), "{token:?}: {e}");
    }
    // alg none, and HMAC, are refused by the allow-list before any key is looked for.
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    for alg in ["none", "HS256"] {
        let token = format!(
            "{}.{}.c2ln",
            b64(&format!(r#"{{"alg":"{alg}"}}"#)),
            b64("{}")
        );
        let e = assertion_from_bearer(&issuer, &token).unwrap_err();
        assert!(matches!(e, OidcError::Invalid(_)), "{alg}: {e}");
    }
    assert_eq!(issuer.fetch_count(), 0);
    // An opaque token without introspection credentials: nothing to ask.
    let e = assertion_from_bearer(&issuer, "opaqueTOKEN123").unwrap_err();
    assert!(matches!(e, OidcError::Invalid(_)));
}

#[test]
fn errors_are_keystones_401_and_503() {
    let e: Error = OidcError::invalid("expired").into();
    assert_eq!(e.status, StatusCode::UNAUTHORIZED);
    assert!(
        !e.body().contains("expired"),
        "the reason is logged, not shown"
    );
    let e: Error = OidcError::unavailable("connection refused").into();
    assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!e.body().contains("refused"));
}

#[test]
fn a_client_makes_browser_logins_with_its_defaults() {
    let s = section(&[
        ("issuer", "https://i"),
        ("client_id", "ks"),
        ("client_secret", "s"),
    ])
    .unwrap();
    // The client's own ID tokens name it: the audience when none is configured.
    assert_eq!(s.audiences, vec!["ks"]);
    let flow = &s.code_flow;
    assert_eq!(flow.scopes, vec!["openid"]);
    assert_eq!(flow.redirect_uri, None);
    assert_eq!(flow.client_auth, ClientAuth::Basic);
    assert!(!flow.access_token_claims);
    assert_eq!(flow.login_timeout, std::time::Duration::from_secs(600));
    let s = section(&[
        ("issuer", "https://i"),
        ("client_id", "ks"),
        ("client_secret", "s"),
        ("scopes", "profile email,groups"),
        ("token_endpoint_auth_method", "client_secret_post"),
        ("access_token_claims", "true"),
        (
            "redirect_uri",
            "https://ks.example/v3/auth/OS-FEDERATION/websso/openid",
        ),
        ("login_timeout", "120"),
    ])
    .unwrap();
    let flow = &s.code_flow;
    assert_eq!(flow.scopes, vec!["openid", "profile", "email", "groups"]);
    assert_eq!(flow.client_auth, ClientAuth::Post);
    assert!(flow.access_token_claims);
    assert_eq!(flow.login_timeout, std::time::Duration::from_secs(120));
    let client = [
        ("issuer", "https://i"),
        ("client_id", "ks"),
        ("client_secret", "s"),
    ];
    for bad in [
        ("token_endpoint_auth_method", "private_key_jwt"),
        ("access_token_claims", "maybe"),
        ("redirect_uri", "ks.example/websso"),
        ("login_timeout", "0"),
    ] {
        let mut options = client.to_vec();
        options.push(bad);
        let e = section(&options).unwrap_err();
        assert!(e.0.contains(bad.0), "{e}");
    }
    // Without a client there is nothing for an ID token to be for.
    assert!(section(&[("issuer", "https://i")]).is_err());
}

#[test]
fn browser_logins_are_the_protocols_with_a_client() {
    let config = crate::config::Config::parse(
        "[openid_connect:a:openid]\nissuer = https://a\nclient_id = ks\nclient_secret = s\n\
         [openid_connect:b:openid]\nissuer = https://b\naudiences = api\n\
         [openid_connect:c:other]\nissuer = https://c\nclient_id = ks\nclient_secret = s\n",
        None,
    )
    .unwrap();
    let providers = OidcProviders::from_config(&config).unwrap();
    let ids = |p: &str| -> Vec<String> {
        providers
            .browser_logins(p)
            .iter()
            .map(|i| i.settings.idp_id.clone())
            .collect()
    };
    assert_eq!(ids("openid"), vec!["a"]);
    assert_eq!(ids("other"), vec!["c"]);
    assert!(ids("saml2").is_empty());
}
