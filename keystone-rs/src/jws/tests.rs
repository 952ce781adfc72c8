//! The JWS format against Keystone's own tokens (made by Keystone 30.0.0's JWSFormatter
//! with PyJWT 2.15.1), and its failure modes.

use super::token_id::{claims, decode, encode, encode_at};
use super::{Algorithm, JwsFormatter, JwsKeys, create_keypair};
use crate::config::Config;
use crate::fernet::{FederatedInfo, Scope, TokenPayload};
use chrono::DateTime;
use std::path::Path;

/// Keystone's key pair and a token it signed with it: project `p…`, trust `t…`, methods
/// password+token, two audit ids, expiring 2030-01-02T03:04:05Z, issued at 1796494573.
const PYTHON_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQ/f3opv9SzthVebN
SI9jauf7tS98RwukySkEKFjBXLChRANCAARcjWfmt4jX0X/VnDImqE1tHkBRmTN/
nriIgphwijX/V1iaWNLWgGJcNyMIVg0vY53AigIx6d6ew9I43jYaTuiL
-----END PRIVATE KEY-----
";
const PYTHON_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXI1n5reI19F/1ZwyJqhNbR5AUZkz
f564iIKYcIo1/1dYmljS1oBiXDcjCFYNL2OdwIoCMenensPSON42Gk7oiw==
-----END PUBLIC KEY-----
";
const PYTHON_TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYSIsImlhdCI6MTc5NjQ5NDU3MywiZXhwIjoxODkzNTUzNDQ1LCJvcGVuc3RhY2tfbWV0aG9kcyI6WyJwYXNzd29yZCIsInRva2VuIl0sIm9wZW5zdGFja19hdWRpdF9pZHMiOlsiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQSIsIkJCQkJCQkJCQkJCQkJCQkJCQkJCQkIiXSwib3BlbnN0YWNrX3Byb2plY3RfaWQiOiJwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcCIsIm9wZW5zdGFja190cnVzdF9pZCI6InR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0In0.jy_ykuEcpNRhLR18GnQ7RaAzwiXkYTQlh8oIQmP35TbzdH7h56fHccI8O9m7Ay8Oy1RhsHAjwvSZmca22PrzoQ";

fn python_payload() -> TokenPayload {
    let mut p = TokenPayload::new(
        "a".repeat(32),
        vec!["password".into(), "token".into()],
        Scope::Project("p".repeat(32)),
        DateTime::from_timestamp(1_893_553_445, 0).unwrap(),
        vec!["A".repeat(22), "B".repeat(22)],
    );
    p.trust_id = Some("t".repeat(32));
    p
}

/// A deployment's two key repositories holding `private.pem` and the given public keys.
fn repositories(dir: &Path, private: &str, publics: &[&str], extra_conf: &str) -> Config {
    let (private_dir, public_dir) = (dir.join("private"), dir.join("public"));
    std::fs::create_dir_all(&private_dir).unwrap();
    std::fs::create_dir_all(&public_dir).unwrap();
    std::fs::write(private_dir.join("private.pem"), private).unwrap();
    for (i, pem) in publics.iter().enumerate() {
        std::fs::write(public_dir.join(format!("key{i}.pem")), pem).unwrap();
    }
    Config::parse(
        &format!(
            "[token]\nprovider = jws\n[jwt_tokens]\njws_private_key_repository = {}\n\
             jws_public_key_repository = {}\n{extra_conf}",
            private_dir.display(),
            public_dir.display()
        ),
        None,
    )
    .unwrap()
}

fn formatter(config: &Config) -> JwsFormatter {
    JwsFormatter::from_config(config).unwrap()
}

#[test]
fn keystones_token_validates_to_its_payload() {
    let dir = tempfile::tempdir().unwrap();
    let config = repositories(dir.path(), PYTHON_PRIVATE_PEM, &[PYTHON_PUBLIC_PEM], "");
    let (payload, issued_at) = formatter(&config).decode(PYTHON_TOKEN).unwrap();
    assert_eq!(payload, python_payload());
    assert_eq!(issued_at.timestamp(), 1_796_494_573);
}

#[test]
fn our_header_and_claims_are_keystones_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let config = repositories(dir.path(), PYTHON_PRIVATE_PEM, &[PYTHON_PUBLIC_PEM], "");
    let jws = formatter(&config);
    let at = DateTime::from_timestamp(1_796_494_573, 0).unwrap();
    let (ours, issued_at) = encode_at(&jws.keys, Algorithm::ES256, &python_payload(), at).unwrap();
    assert_eq!(issued_at, at);
    let signed = |t: &str| t[..t.rfind('.').unwrap()].to_string();
    // ECDSA signatures differ from signing to signing; what is signed does not.
    assert_eq!(signed(&ours), signed(PYTHON_TOKEN));
    assert_eq!(jws.decode(&ours).unwrap().0, python_payload());
}

#[test]
fn every_kind_of_payload_round_trips_under_every_algorithm() {
    let expires = DateTime::from_timestamp(1_893_553_445, 0).unwrap();
    let audit = vec!["A".repeat(22)];
    let mut kinds = vec![
        TokenPayload::new(
            "u",
            vec!["password".into()],
            Scope::Unscoped,
            expires,
            audit.clone(),
        ),
        TokenPayload::new(
            "u",
            vec!["totp".into()],
            Scope::Domain("d".into()),
            expires,
            audit.clone(),
        ),
        TokenPayload::new(
            "u",
            vec!["token".into()],
            Scope::System("all".into()),
            expires,
            audit.clone(),
        ),
    ];
    let mut oauth1 = TokenPayload::new(
        "u",
        vec!["oauth1".into()],
        Scope::Project("p".into()),
        expires,
        audit.clone(),
    );
    oauth1.access_token_id = Some("at".into());
    let mut app_cred = TokenPayload::new(
        "u",
        vec!["application_credential".into()],
        Scope::Project("p".into()),
        expires,
        audit.clone(),
    );
    app_cred.app_cred_id = Some("ac".into());
    let mut mtls = TokenPayload::new(
        "u",
        vec!["oauth2_credential".into()],
        Scope::Project("p".into()),
        expires,
        audit.clone(),
    );
    mtls.thumbprint = Some("thumb=".into());
    let mut federated = TokenPayload::new(
        "u",
        vec!["mapped".into()],
        Scope::Unscoped,
        expires,
        audit.clone(),
    );
    federated.federated = Some(FederatedInfo {
        group_ids: vec!["g1".into(), "g2".into()],
        identity_provider_id: "idp".into(),
        protocol_id: "saml2".into(),
    });
    kinds.extend([oauth1, app_cred, mtls, federated]);
    for alg in Algorithm::ALL {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = super::keys::generate_pem_pair(alg).unwrap();
        let config = repositories(
            dir.path(),
            &private,
            &[&public],
            &format!(
                "jws_algorithm = {0}\njws_accepted_algorithms = {0}\n",
                alg.name()
            ),
        );
        let jws = formatter(&config);
        for payload in &kinds {
            let (id, issued_at) = jws.encode(payload).unwrap();
            assert_eq!(
                jws.decode(&id).unwrap(),
                (payload.clone(), issued_at),
                "{alg:?}"
            );
        }
    }
}

#[test]
fn federated_groups_are_signed_as_keystone_holds_them() {
    let mut p = python_payload();
    p.federated = Some(FederatedInfo {
        group_ids: vec!["g".into()],
        identity_provider_id: "idp".into(),
        protocol_id: "oidc".into(),
    });
    let c = claims(&p, DateTime::from_timestamp(1, 0).unwrap());
    assert_eq!(c["openstack_group_ids"], serde_json::json!([{ "id": "g" }]));
    let names: Vec<&str> = c.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "sub",
            "iat",
            "exp",
            "openstack_methods",
            "openstack_audit_ids",
            "openstack_project_id",
            "openstack_trust_id",
            "openstack_group_ids",
            "openstack_idp_id",
            "openstack_protocol_id"
        ]
    );
}

#[test]
fn every_public_key_is_tried_and_a_missing_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (other_private, other_public) = super::keys::generate_pem_pair(Algorithm::ES256).unwrap();
    let (_, third_public) = super::keys::generate_pem_pair(Algorithm::ES256).unwrap();
    // Keystone's own key pair rolled: the node signs with a new key, still holds the old
    // public key (and an unrelated one, and a file that is no key).
    let config = repositories(
        dir.path(),
        &other_private,
        &[&third_public, PYTHON_PUBLIC_PEM, "not a key", &other_public],
        "",
    );
    let jws = formatter(&config);
    assert!(jws.decode(PYTHON_TOKEN).is_ok());
    let (ours, _) = jws.encode(&python_payload()).unwrap();
    assert!(jws.decode(&ours).is_ok());
    // The old public key goes: its tokens stop validating, with Keystone's 404.
    std::fs::remove_file(dir.path().join("public/key1.pem")).unwrap();
    jws.keys.refresh();
    let e = jws.decode(PYTHON_TOKEN).unwrap_err();
    assert_eq!(e.status.as_u16(), 404);
    assert_eq!(e.message, format!("Could not find token: {PYTHON_TOKEN}."));
    assert!(jws.decode(&ours).is_ok());
}

#[test]
fn only_accepted_algorithms_validate() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = super::keys::generate_pem_pair(Algorithm::EdDSA).unwrap();
    let config = repositories(
        dir.path(),
        &private,
        &[&public, PYTHON_PUBLIC_PEM],
        "jws_algorithm = EdDSA\njws_accepted_algorithms = EdDSA\n",
    );
    let jws = formatter(&config);
    assert_eq!(jws.decode(PYTHON_TOKEN).unwrap_err().status.as_u16(), 404);
    let migrating = repositories(
        dir.path(),
        &private,
        &[],
        "jws_algorithm = EdDSA\njws_accepted_algorithms = EdDSA, ES256\n",
    );
    assert!(formatter(&migrating).decode(PYTHON_TOKEN).is_ok());
}

#[test]
fn tampered_truncated_and_foreign_tokens_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let config = repositories(dir.path(), PYTHON_PRIVATE_PEM, &[PYTHON_PUBLIC_PEM], "");
    let jws = formatter(&config);
    let tampered = format!(
        "{}{}{}",
        &PYTHON_TOKEN[..50],
        "0".repeat(32),
        &PYTHON_TOKEN[82..]
    );
    let unsigned = format!("{}.", &PYTHON_TOKEN[..PYTHON_TOKEN.rfind('.').unwrap()]);
    let none_alg = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        PYTHON_TOKEN.split('.').nth(1).unwrap()
    );
    for bad in [
        tampered.as_str(),
        unsigned.as_str(),
        none_alg.as_str(),
        &PYTHON_TOKEN[..PYTHON_TOKEN.len() - 2],
        "gAAAAABfernetlooking",
        "a.b.c",
        "....",
        "",
    ] {
        let e = jws.decode(bad).unwrap_err();
        assert_eq!(e.status.as_u16(), 404, "{bad}");
    }
}

#[test]
fn start_up_refuses_missing_keys_as_keystone_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = repositories(dir.path(), PYTHON_PRIVATE_PEM, &[], "");
    let message = |c: &Config| {
        JwsKeys::open(c, Algorithm::ES256)
            .unwrap_err()
            .detail
            .unwrap()
    };
    assert!(message(&config).ends_with("must contain at least one public key but it is empty. You can generate a key pair using `keystone-manage create_jws_keypair`."));
    std::fs::remove_dir(dir.path().join("public")).unwrap();
    assert!(message(&config).ends_with("public does not exist. Please make sure the directory exists and is readable by the process running keystone."));
    std::fs::remove_file(dir.path().join("private/private.pem")).unwrap();
    assert!(message(&config).ends_with("private.pem does not exist. You can generate a key pair using `keystone-manage create_jws_keypair`."));
    // A key for another algorithm than jws_algorithm is refused at start, not per issue.
    let other = tempfile::tempdir().unwrap();
    let config = repositories(
        other.path(),
        PYTHON_PRIVATE_PEM,
        &[PYTHON_PUBLIC_PEM],
        "jws_algorithm = ES384\n",
    );
    assert!(
        JwsFormatter::from_config(&config)
            .unwrap_err()
            .detail
            .unwrap()
            .contains("jws_algorithm is ES384")
    );
}

#[test]
fn create_keypair_writes_keystones_files_and_refuses_to_overwrite() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    create_keypair(dir.path(), Algorithm::ES256, false).unwrap();
    let private = std::fs::read_to_string(dir.path().join("private.pem")).unwrap();
    let public = std::fs::read_to_string(dir.path().join("public.pem")).unwrap();
    assert_eq!(
        super::keys::SigningKey::from_pem(&private)
            .unwrap()
            .algorithm(),
        Algorithm::ES256
    );
    assert!(super::keys::VerifyingKey::from_pem(&public).is_some());
    let mode = |f: &str| {
        std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("private.pem"), 0o600);
    let e = create_keypair(dir.path(), Algorithm::ES256, false).unwrap_err();
    assert_eq!(
        e,
        format!(
            "Private key {} already exists",
            dir.path().join("private.pem").display()
        )
    );
    std::fs::remove_file(dir.path().join("private.pem")).unwrap();
    let e = create_keypair(dir.path(), Algorithm::ES256, false).unwrap_err();
    assert_eq!(
        e,
        format!(
            "Public key {} already exists",
            dir.path().join("public.pem").display()
        )
    );
    create_keypair(dir.path(), Algorithm::EdDSA, true).unwrap();
    let public_after = std::fs::read_to_string(dir.path().join("public.pem")).unwrap();
    assert_ne!(public, public_after);
    assert_eq!(
        super::keys::VerifyingKey::from_pem(&public_after)
            .unwrap()
            .algorithm(),
        Algorithm::EdDSA
    );
}

#[test]
fn encode_and_decode_are_the_formatters() {
    // The free functions and the formatter agree (the formatter only adds the options).
    let dir = tempfile::tempdir().unwrap();
    let config = repositories(dir.path(), PYTHON_PRIVATE_PEM, &[PYTHON_PUBLIC_PEM], "");
    let jws = formatter(&config);
    let (id, _) = encode(&jws.keys, Algorithm::ES256, &python_payload()).unwrap();
    assert_eq!(
        decode(&jws.keys, &[Algorithm::ES256], &id).unwrap().0,
        python_payload()
    );
}

/// Keystone's key pairs for every `jws_algorithm` and PyJWT tokens signed with them.
fn keystone_vectors() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../../tests/vectors/jws/keystone_keys_and_tokens.json"
    ))
    .unwrap()
}

#[test]
fn keystones_keys_and_tokens_of_every_algorithm_work_here() {
    let v = keystone_vectors();
    let mut expected = TokenPayload::new(
        "u".repeat(32),
        vec!["application_credential".into()],
        Scope::Domain("d".repeat(32)),
        DateTime::from_timestamp(1_893_553_445, 0).unwrap(),
        vec!["A".repeat(22), "B".repeat(22)],
    );
    expected.app_cred_id = Some("c".repeat(32));
    for alg in Algorithm::ALL {
        let case = &v["algorithms"][alg.name()];
        let dir = tempfile::tempdir().unwrap();
        let config = repositories(
            dir.path(),
            case["private_pem"].as_str().unwrap(),
            &[case["public_pem"].as_str().unwrap()],
            &format!(
                "jws_algorithm = {0}\njws_accepted_algorithms = {0}\n",
                alg.name()
            ),
        );
        let jws = formatter(&config);
        let token = case["token"].as_str().unwrap();
        let (payload, issued_at) = jws.decode(token).unwrap();
        assert_eq!(payload, expected, "{alg:?}");
        assert_eq!(issued_at.timestamp(), 1_796_494_573);
        // Signed with Keystone's private key here: the same signed bytes, and a signature
        // Keystone's public key verifies.
        let (ours, _) = encode_at(&jws.keys, alg, &expected, issued_at).unwrap();
        let signed = |t: &str| t[..t.rfind('.').unwrap()].to_string();
        assert_eq!(signed(&ours), signed(token), "{alg:?}");
        assert_eq!(jws.decode(&ours).unwrap().0, expected, "{alg:?}");
    }
}
