use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const USER: &str = "0123456789abcdef0123456789abcdef";
const PROJECT: &str = "fedcba9876543210fedcba9876543210";
const AUDIT: &str = "AAECAwQFBgcICQoLDA0ODw";

fn codec() -> PayloadCodec {
    let methods = [
        "external",
        "password",
        "token",
        "oauth1",
        "mapped",
        "application_credential",
    ];
    PayloadCodec::new(methods.iter().map(|m| m.to_string()).collect(), "default")
}

fn expires() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_229_200, 0).unwrap_or_default()
}

fn payload(scope: Scope) -> TokenPayload {
    TokenPayload::new(
        USER,
        vec!["password".into()],
        scope,
        expires(),
        vec![AUDIT.into()],
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (0..clean.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).expect("hex"))
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn methods_bitmask_follows_config_order_and_drops_unknown_methods() {
    let c = codec();
    assert_eq!(c.methods_to_bits(&names(&["password"])), 2);
    assert_eq!(c.methods_to_bits(&names(&["token", "password"])), 6);
    assert_eq!(c.methods_to_bits(&names(&["oauth2_credential"])), 0);
    assert_eq!(c.methods_to_bits(&names(&["totp", "mapped"])), 16);
}

#[test]
fn methods_decode_in_descending_bit_order_with_keystones_quirks() {
    let c = codec();
    assert_eq!(c.bits_to_methods(0), Vec::<String>::new());
    assert_eq!(c.bits_to_methods(6), names(&["token", "password"]));
    assert_eq!(c.bits_to_methods(20), names(&["mapped", "token"]));
    assert_eq!(
        c.bits_to_methods(48),
        names(&["application_credential", "mapped"])
    );
    // A bit above the highest configured one makes every quotient ≥ 2: nothing decodes.
    assert_eq!(c.bits_to_methods(64), Vec::<String>::new());
    assert_eq!(c.bits_to_methods(64 + 2), Vec::<String>::new());
    assert_eq!(c.bits_to_methods(-2), Vec::<String>::new());
}

#[test]
fn version_choice_follows_keystones_precedence() {
    let project = || Scope::Project(PROJECT.into());
    let mut p = payload(project());
    assert_eq!(p.payload_version().ok(), Some(PROJECT_SCOPED));
    p.thumbprint = Some("t".into());
    assert_eq!(p.payload_version().ok(), Some(OAUTH2_MTLS_SCOPED));
    p.app_cred_id = Some("a".into());
    assert_eq!(
        p.payload_version().ok(),
        Some(APPLICATION_CREDENTIAL_SCOPED)
    );
    p.federated = Some(FederatedInfo {
        group_ids: vec![],
        identity_provider_id: "idp".into(),
        protocol_id: "saml2".into(),
    });
    assert_eq!(p.payload_version().ok(), Some(FEDERATED_PROJECT_SCOPED));
    p.trust_id = Some(PROJECT.into());
    assert_eq!(p.payload_version().ok(), Some(TRUST_SCOPED));
    p.access_token_id = Some("x".into());
    assert_eq!(p.payload_version().ok(), Some(OAUTH1_SCOPED));

    assert_eq!(
        payload(Scope::Unscoped).payload_version().ok(),
        Some(UNSCOPED)
    );
    assert_eq!(
        payload(Scope::Domain("d".into())).payload_version().ok(),
        Some(DOMAIN_SCOPED)
    );
    assert_eq!(
        payload(Scope::System("all".into())).payload_version().ok(),
        Some(SYSTEM_SCOPED)
    );
}

#[test]
fn scopes_a_version_cannot_carry_are_refused() {
    let mut trust = payload(Scope::Domain("d".into()));
    trust.trust_id = Some(PROJECT.into());
    assert!(trust.payload_version().is_err());
    let mut federated = payload(Scope::System("all".into()));
    federated.federated = Some(FederatedInfo {
        group_ids: vec![],
        identity_provider_id: "idp".into(),
        protocol_id: "saml2".into(),
    });
    assert!(federated.payload_version().is_err());
}

#[test]
fn trust_and_v1_domain_ids_must_be_packable() {
    let c = codec();
    let mut trust = payload(Scope::Project(PROJECT.into()));
    trust.trust_id = Some("not-a-uuid".into());
    assert_eq!(c.pack(&trust).map_err(|e| e.status.as_u16()), Err(500));
    let other_domain = payload(Scope::Domain("other".into()));
    assert_eq!(
        c.pack(&other_domain).map_err(|e| e.status.as_u16()),
        Err(500)
    );
}

#[test]
fn a_project_less_trust_token_packs_a_nil_pair_and_comes_back_unscoped() {
    let c = codec();
    let mut trust = payload(Scope::Unscoped);
    trust.trust_id = Some(PROJECT.into());
    let packed = c.pack(&trust).expect("pack");
    assert!(hex(&packed).contains("92c2c0"), "[false, nil]");
    assert_eq!(c.unpack(&packed).expect("unpack"), (TRUST_SCOPED, trust));
}

#[test]
fn non_canonical_uuid_ids_pack_as_bytes_like_python() {
    let c = codec();
    let dashed = payload(Scope::Project(
        "FEDCBA98-7654-3210-FEDC-BA9876543210".into(),
    ));
    let canonical = payload(Scope::Project(PROJECT.into()));
    assert_eq!(c.pack(&dashed).ok(), c.pack(&canonical).ok());
    let (_, back) = c.unpack(&c.pack(&dashed).expect("pack")).expect("unpack");
    assert_eq!(back.scope, Scope::Project(PROJECT.into()));
}

#[test]
fn tokens_from_msgpack_before_1_0_with_bytes_as_str_still_decode() {
    // v0 with the user UUID and the audit id written as str (fixstr b0) instead of bin.
    let old = unhex(
        "95 00 92 c3 b0 0123456789abcdef0123456789abcdef 02 cb41da5571c4000000
         91 b0 000102030405060708090a0b0c0d0e0f",
    );
    let (version, p) = codec().unpack(&old).expect("unpack");
    assert_eq!(version, UNSCOPED);
    assert_eq!(p, payload(Scope::Unscoped));
}

#[test]
fn an_integer_expiry_is_accepted_and_floats_round_like_python() {
    // expires_at as a uint32 instead of a float64.
    let int_expiry = unhex(
        "95 00 92 c3 c410 0123456789abcdef0123456789abcdef 02 ce 6955c710
         91 c410 000102030405060708090a0b0c0d0e0f",
    );
    let (_, p) = codec().unpack(&int_expiry).expect("unpack");
    assert_eq!(p.expires_at, expires());

    assert_eq!(
        float_seconds(1.9999996).ok(),
        Some(2),
        "microseconds round up and carry"
    );
    assert_eq!(float_seconds(1.9999994).ok(), Some(1));
    assert_eq!(float_seconds(-0.5).ok(), Some(-1));
    assert_eq!(float_seconds(-0.0000001).ok(), Some(0));
    assert!(float_seconds(f64::NAN).is_err());
    assert!(float_seconds(f64::INFINITY).is_err());
    assert!(
        unpack_expires(&Value::F64(1e13)).is_err(),
        "beyond year 9999"
    );
}

#[test]
fn expiry_packs_as_float64_even_when_integral() {
    assert_eq!(pack_expires(expires()), Value::F64(1_767_229_200.0));
    let with_micros = DateTime::from_timestamp(1, 500_000_000).unwrap_or_default();
    assert_eq!(pack_expires(with_micros), Value::F64(1.5));
}

#[test]
fn extra_trailing_fields_are_ignored_as_in_python() {
    let c = codec();
    let mut value =
        rmpv::decode::read_value(&mut c.pack(&payload(Scope::Unscoped)).expect("pack").as_slice())
            .expect("msgpack");
    if let Value::Array(items) = &mut value {
        items.push(Value::from("future field"));
    }
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &value).expect("encode");
    assert_eq!(
        c.unpack(&bytes).expect("unpack").1,
        payload(Scope::Unscoped)
    );
}

#[test]
fn malformed_payloads_are_500_and_unknown_versions_404() {
    let c = codec();
    let status = |bytes: &[u8]| c.unpack(bytes).map_err(|e| (e.status.as_u16(), e.message));
    for bad in [
        "",
        "c0",
        "90",
        "a3616263",
        "9100",
        "920092c3c40100",
        "950092c3c410",
    ] {
        assert_eq!(status(&unhex(bad)).map_err(|e| e.0), Err(500), "{bad}");
    }
    // Trailing bytes after a valid payload.
    let mut trailing = c.pack(&payload(Scope::Unscoped)).expect("pack");
    trailing.push(0);
    assert_eq!(status(&trailing).map_err(|e| e.0), Err(500));

    let version_message = |hex_version: &str| {
        let bytes = unhex(&format!("91{hex_version}"));
        match status(&bytes) {
            Err((404, message)) => message,
            other => panic!("{hex_version}: {other:?}"),
        }
    };
    let prefix = "This is not a recognized Fernet payload version: ";
    assert_eq!(version_message("0b"), format!("{prefix}11"));
    assert_eq!(version_message("ff"), format!("{prefix}-1"));
    assert_eq!(version_message("a178"), format!("{prefix}'x'"));
    assert_eq!(version_message("c0"), format!("{prefix}None"));
    assert_eq!(
        version_message("cb3ff8000000000000"),
        format!("{prefix}1.5")
    );
    assert_eq!(
        version_message("c403000a27"),
        format!("{prefix}b\"\\x00\\n'\"")
    );
}

#[test]
fn python_equality_of_the_version_element() {
    assert_eq!(python_small_int(&Value::Boolean(true)), Some(1));
    assert_eq!(python_small_int(&Value::F64(2.0)), Some(2));
    assert_eq!(python_small_int(&Value::F64(2.5)), None);
    assert_eq!(python_small_int(&Value::from(-1)), None);
}

/// Random bytes, and valid payloads with random damage, never panic the decoder.
#[test]
fn unpack_never_panics() {
    let c = codec();
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for _ in 0..20_000 {
        let len = rng.gen_range(0..200);
        let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        let _ = c.unpack(&bytes);
    }
    let mut federated = payload(Scope::Project(PROJECT.into()));
    federated.federated = Some(FederatedInfo {
        group_ids: vec![USER.into(), "g".into()],
        identity_provider_id: "idp".into(),
        protocol_id: "saml2".into(),
    });
    let mut samples = vec![federated];
    for scope in [
        Scope::Unscoped,
        Scope::Domain("default".into()),
        Scope::System("all".into()),
    ] {
        samples.push(payload(scope));
    }
    let mut mtls = payload(Scope::Project("not-a-uuid".into()));
    mtls.thumbprint = Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into());
    samples.push(mtls);
    for sample in &samples {
        let valid = c.pack(sample).expect("pack");
        for _ in 0..5_000 {
            let mut damaged = valid.clone();
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(0..damaged.len());
                damaged[i] = rng.r#gen();
            }
            if rng.gen_bool(0.2) {
                damaged.truncate(rng.gen_range(0..damaged.len()));
            }
            let _ = c.unpack(&damaged);
        }
    }
}

/// Random strings — printable, base64-looking, Fernet-prefixed, arbitrary Unicode —
/// never panic token decoding, and all are rejected with 404.
#[test]
fn decode_token_never_panics_on_random_strings() {
    let ring = crate::fernet::KeyRing::from_keys(&["QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="])
        .expect("ring");
    let c = codec();
    let mut rng = StdRng::seed_from_u64(42);
    let alphabet: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ "
            .chars()
            .collect();
    for round in 0..20_000 {
        let len = rng.gen_range(0..400);
        let token: String = match round % 3 {
            0 => (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect(),
            1 => format!(
                "gAAAAA{}",
                (0..len)
                    .map(|_| alphabet[rng.gen_range(0..64)])
                    .collect::<String>()
            ),
            _ => (0..len).map(|_| rng.r#gen::<char>()).collect(),
        };
        let err = crate::fernet::decode_token(&ring, &c, &token).expect_err("random is no token");
        assert_eq!(err.status.as_u16(), 404);
    }
}
