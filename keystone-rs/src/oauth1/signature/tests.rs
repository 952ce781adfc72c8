//! Signatures captured from Python Keystone's exchanges (tests/vectors/http-delegation) and
//! computed by oauthlib 3 for the other methods and for query parameters that sort
//! differently raw and encoded.

use super::*;

const CONSUMER: &str = "fb5bd1f20a0144ce96ce38816b50aa23";
const CONSUMER_SECRET: &str = "d62a3855b8eb4e86b068dc9a4c05e509";
const REQUEST_SECRET: &str = "8df2ce7a76734679adf596baa64a68ac";
const ACCESS_SECRET: &str = "0367d04fd3a941f3b211b47bb36dd2c5";
const NOW: i64 = 1_795_525_119;

fn checked(header: &str, query: &str, endpoint: Endpoint) -> CheckedRequest {
    let header = OAuthHeader::parse(header).unwrap();
    check(&header, &query_params(query), endpoint, NOW).unwrap()
}

fn refusal(header: &str, endpoint: Endpoint) -> Refusal {
    let parsed = match OAuthHeader::parse(header) {
        Ok(h) => h,
        Err(e) => return e,
    };
    check(&parsed, &[], endpoint, NOW).unwrap_err()
}

fn description(r: Refusal) -> String {
    match r {
        Refusal::Invalid { description, .. } => description,
        other => panic!("not a 400: {other:?}"),
    }
}

const REQUEST_TOKEN_HEADER: &str = "OAuth oauth_nonce=\"176001069200623657911795525119\", oauth_timestamp=\"1795525119\", oauth_version=\"1.0\", oauth_signature_method=\"HMAC-SHA1\", oauth_consumer_key=\"fb5bd1f20a0144ce96ce38816b50aa23\", oauth_callback=\"oob\", oauth_signature=\"tbZYXapuA%2BRFj5Gl%2FhRxTiTGp6Y%3D\"";

#[test]
fn keystone_request_token_signature() {
    let r = checked(REQUEST_TOKEN_HEADER, "", Endpoint::RequestToken);
    let uri = base_string_uri(
        "http",
        "keystone.example.com:5000",
        "/v3/OS-OAUTH1/request_token",
    );
    assert!(verify(&r, &uri, CONSUMER_SECRET, None));
    assert!(!verify(&r, &uri, "wrong", None));
    let other_host = base_string_uri("http", "localhost:5000", "/v3/OS-OAUTH1/request_token");
    assert!(!verify(&r, &other_host, CONSUMER_SECRET, None));
    // An unsigned extra query parameter breaks the signature.
    let mut extra = r.clone();
    extra.signed_params.push(("x".into(), "1".into()));
    assert!(!verify(&extra, &uri, CONSUMER_SECRET, None));
}

#[test]
fn keystone_access_token_and_auth_signatures() {
    let r = checked(
        "OAuth oauth_nonce=\"158006371602159967061795525119\", oauth_timestamp=\"1795525119\", oauth_version=\"1.0\", oauth_signature_method=\"HMAC-SHA1\", oauth_consumer_key=\"fb5bd1f20a0144ce96ce38816b50aa23\", oauth_token=\"76c3adafbc9149859416e3be624f94f5\", oauth_verifier=\"d9keCTm6\", oauth_signature=\"WL4PEXPnDjzFfph3tN85xayPM%2Fk%3D\"",
        "",
        Endpoint::AccessToken,
    );
    assert_eq!(r.verifier.as_deref(), Some("d9keCTm6"));
    let uri = base_string_uri(
        "http",
        "keystone.example.com:5000",
        "/v3/OS-OAUTH1/access_token",
    );
    assert!(verify(&r, &uri, CONSUMER_SECRET, Some(REQUEST_SECRET)));
    assert!(!verify(&r, &uri, CONSUMER_SECRET, None));

    let r = checked(
        "OAuth oauth_nonce=\"115902753231048820411795525119\", oauth_timestamp=\"1795525119\", oauth_version=\"1.0\", oauth_signature_method=\"HMAC-SHA1\", oauth_consumer_key=\"fb5bd1f20a0144ce96ce38816b50aa23\", oauth_token=\"0a0be8b24e07487f8e44e0f11657d5fc\", oauth_signature=\"dsHWzFyOd0l1T6pfgAavm4MjXGA%3D\"",
        "",
        Endpoint::Resource,
    );
    let uri = base_string_uri("http", "keystone.example.com:5000", "/v3/auth/tokens");
    assert!(verify(&r, &uri, CONSUMER_SECRET, Some(ACCESS_SECRET)));
}

#[test]
fn other_methods_query_parameters_and_default_port() {
    let query = "b=2&a%7E=x&a%C3%A9=y&empty=&plus=a+b";
    let uri = base_string_uri("HTTPS", "Keystone.Example.com:443", "/v3/auth/tokens");
    assert_eq!(uri, "https://keystone.example.com/v3/auth/tokens");
    for (method, signature) in [
        (
            "HMAC-SHA256",
            "Wm3YVRlR%2FrvMxDlPYRqlvRuvX9v4bCMuG8b8kkrz74o%3D",
        ),
        (
            "HMAC-SHA512",
            "h4JvjH2WSC7Kt5gWr%2B8z1DKV4QsktnaRcJf1LJQ9oad1n4ykM6BKIewB2nhY1jXBVmoNxYLi6J5SmkkOH2O2aA%3D%3D",
        ),
        (
            "PLAINTEXT",
            "d62a3855b8eb4e86b068dc9a4c05e509%260367d04fd3a941f3b211b47bb36dd2c5",
        ),
    ] {
        let header = format!(
            "OAuth oauth_nonce=\"1234abcd\", oauth_timestamp=\"1795525119\", oauth_version=\"1.0\", oauth_signature_method=\"{method}\", oauth_consumer_key=\"{CONSUMER}\", oauth_token=\"0a0be8b24e07487f8e44e0f11657d5fc\", oauth_signature=\"{signature}\""
        );
        let r = checked(&header, query, Endpoint::Resource);
        assert!(
            verify(&r, &uri, CONSUMER_SECRET, Some(ACCESS_SECRET)),
            "{method}"
        );
        assert!(!verify(&r, &uri, CONSUMER_SECRET, Some("x")), "{method}");
    }
}

#[test]
fn rsa_is_listed_but_never_verifies() {
    let header = REQUEST_TOKEN_HEADER.replace("HMAC-SHA1", "RSA-SHA1");
    let r = checked(&header, "", Endpoint::RequestToken);
    assert_eq!(r.method, SignatureMethod::Rsa);
    let uri = base_string_uri(
        "http",
        "keystone.example.com:5000",
        "/v3/OS-OAUTH1/request_token",
    );
    assert!(!verify(&r, &uri, CONSUMER_SECRET, None));
}

#[test]
fn parameter_checks_in_oauthlib_order() {
    let h = REQUEST_TOKEN_HEADER;
    let rt = Endpoint::RequestToken;
    assert_eq!(
        description(refusal(&h.replace("HMAC-SHA1", "FOO"), rt)),
        "Invalid signature, FOO not in ('HMAC-SHA1', 'HMAC-SHA256', 'HMAC-SHA512', 'RSA-SHA1', 'RSA-SHA256', 'RSA-SHA512', 'PLAINTEXT')."
    );
    assert_eq!(
        description(refusal(
            &h.replace("oauth_nonce=\"1760", "oauth_nonce=\"ZZ"),
            rt
        )),
        "Invalid nonce format."
    );
    assert_eq!(
        description(refusal(&h.replace("\"1.0\"", "\"2.0\""), rt)),
        "Invalid OAuth version."
    );
    assert_eq!(
        description(refusal(&h.replace("\"1795525119\"", "\"179552511\""), rt)),
        "Invalid timestamp size"
    );
    assert_eq!(
        description(refusal(&h.replace("\"1795525119\"", "\"1795520000\""), rt)),
        "Timestamp given is invalid, differ from allowed by over 600 seconds."
    );
    assert_eq!(
        description(refusal(&h.replace("fb5bd1f2", "FB5BD1F2"), rt)),
        "Invalid client key format."
    );
    assert_eq!(
        description(refusal(&h.replace(", oauth_callback=\"oob\"", ""), rt)),
        "Missing callback URI."
    );
    assert_eq!(
        description(refusal(&h.replace("OAuth ", "OAuth realm=\"foo\", "), rt)),
        "Invalid realm ['foo']. Allowed are []."
    );
    // An empty realm is no realm.
    assert!(
        check(
            &OAuthHeader::parse(&h.replace("OAuth ", "OAuth realm=\"\", ")).unwrap(),
            &[],
            rt,
            NOW
        )
        .is_ok()
    );
    assert_eq!(
        description(refusal(&h.replace("oauth_signature=", "x="), rt)),
        "Missing mandatory OAuth parameters."
    );
    assert_eq!(
        description(refusal(&format!("{h}, oauth_nonce=\"12\""), rt)),
        "Duplicate OAuth1 entries."
    );
    assert_eq!(
        description(refusal("Basic YWRtaW46c2VjcmV0", rt)),
        "Malformed authorization header"
    );
    assert_eq!(
        description(refusal("OAuth oauth_nonce", rt)),
        "Malformed authorization header"
    );
    let at = Endpoint::AccessToken;
    assert_eq!(description(refusal(h, at)), "Missing resource owner.");
    let with_token = format!("{h}, oauth_token=\"{}\"", "a".repeat(32));
    assert_eq!(description(refusal(&with_token, at)), "Missing verifier.");
    assert_eq!(
        description(refusal(
            &format!("{with_token}, oauth_verifier=\"abcdefgi\""),
            at
        )),
        "Invalid verifier format."
    );
    assert_eq!(
        description(refusal(&format!("{h}, oauth_token=\"A\""), at)),
        "Invalid resource owner key format."
    );
    assert!(matches!(
        refusal(h, Endpoint::Resource),
        Refusal::Unauthorized(_)
    ));
    let query = query_params("oauth_token=abc");
    assert!(check(&OAuthHeader::parse(h).unwrap(), &query, rt, NOW).is_err());
}

#[test]
fn header_parsing_details() {
    let h =
        OAuthHeader::parse("oauth  realm=\"r\",a=\"x%20y\" , b=plain,c=\"q\\\"uote,d\"").unwrap();
    assert_eq!(h.realm.as_deref(), Some("r"));
    assert_eq!(h.get("a"), Some("x y"));
    assert_eq!(h.get("b"), Some("plain"));
    assert_eq!(h.get("c"), Some("q\"uote,d"));
}

#[test]
fn verifier_alphabet() {
    assert_eq!(VERIFIER_CHARS.len(), 54);
    assert!(is_valid_verifier("d9keCTm6"));
    assert!(!is_valid_verifier("d9keCTm"));
    assert!(!is_valid_verifier("d9keCTm0"));
}

#[test]
fn base_string_uri_hosts() {
    assert_eq!(base_string_uri("http", "k:80", ""), "http://k/");
    assert_eq!(
        base_string_uri("https", "k:80", "/a b"),
        "https://k:80/a%20b"
    );
    assert_eq!(
        base_string_uri("http", "[::1]:5000", "/x"),
        "http://[::1]:5000/x"
    );
    assert_eq!(base_string_uri("http", "[::1]", "/x"), "http://[::1]/x");
}
