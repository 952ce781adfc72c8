//! Golden vectors produced by Python Keystone 30.0.0 itself (spec fernet-tokens.md §7) and
//! real tokens captured from the peer, checked end to end: fields → msgpack bytes → token
//! string (fixed IV and clock), and token → fields.

use super::*;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value as Json, json};
use std::fs;

macro_rules! vector_path {
    ($name:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/fernet/",
            $name
        )
    };
}

const VERSIONED_VECTORS: &[&str] = &[
    vector_path!("v0_unscoped.json"),
    vector_path!("v0_unscoped_rescoped_chain.json"),
    vector_path!("v0_unscoped_non_uuid_user.json"),
    vector_path!("v1_domain_scoped_default.json"),
    vector_path!("v1_domain_scoped_uuid.json"),
    vector_path!("v2_project_scoped.json"),
    vector_path!("v3_trust_scoped.json"),
    vector_path!("v4_federated_unscoped.json"),
    vector_path!("v5_federated_project_scoped.json"),
    vector_path!("v6_federated_domain_scoped.json"),
    vector_path!("v7_oauth1_scoped.json"),
    vector_path!("v8_system_scoped.json"),
    vector_path!("v9_application_credential.json"),
    vector_path!("v10_oauth2_mtls.json"),
];

fn read_json(path: &str) -> Json {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn opt_string(v: &Json, key: &str) -> Option<String> {
    v.get(key).and_then(Json::as_str).map(String::from)
}

fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn codec_for(vector: &Json) -> PayloadCodec {
    PayloadCodec::new(
        strings(&vector["auth_methods_config"]),
        vector["default_domain_id"].as_str().unwrap_or("default"),
    )
}

/// Keys primary first (highest index first), as Keystone orders them.
fn ring_for(files: &Json) -> KeyRing {
    let mut entries: Vec<(u64, String)> = files
        .as_object()
        .expect("key files")
        .iter()
        .map(|(name, key)| {
            (
                name.parse().expect("index"),
                key.as_str().expect("key").into(),
            )
        })
        .collect();
    entries.sort_by_key(|(index, _)| std::cmp::Reverse(*index));
    let keys: Vec<String> = entries.into_iter().map(|(_, k)| k).collect();
    KeyRing::from_keys(&keys).expect("ring")
}

/// The `create_token()` arguments as our domain type.
fn payload_from_inputs(inputs: &Json) -> TokenPayload {
    let scope = if let Some(p) = opt_string(inputs, "project_id") {
        Scope::Project(p)
    } else if let Some(d) = opt_string(inputs, "domain_id") {
        Scope::Domain(d)
    } else if let Some(s) = opt_string(inputs, "system") {
        Scope::System(s)
    } else {
        Scope::Unscoped
    };
    let mut p = TokenPayload::new(
        opt_string(inputs, "user_id").expect("user_id"),
        strings(&inputs["methods"]),
        scope,
        parse_time(inputs["expires_at"].as_str().expect("expires_at")),
        strings(&inputs["audit_ids"]),
    );
    p.trust_id = opt_string(inputs, "trust_id");
    p.access_token_id = opt_string(inputs, "access_token_id");
    p.app_cred_id = opt_string(inputs, "app_cred_id");
    p.thumbprint = opt_string(inputs, "thumbprint");
    if let Some(idp) = opt_string(inputs, "identity_provider_id") {
        p.federated = Some(FederatedInfo {
            group_ids: inputs["federated_group_ids"]
                .as_array()
                .map(|groups| {
                    groups
                        .iter()
                        .filter_map(|g| g["id"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            identity_provider_id: idp,
            protocol_id: opt_string(inputs, "protocol_id").expect("protocol_id"),
        });
    }
    p
}

/// Our decode result in the shape of Keystone's `validate_token()` 15-tuple.
fn as_keystone_tuple(decoded: &DecodedToken) -> Json {
    let p = &decoded.payload;
    let federated = p.federated.as_ref();
    json!({
        "user_id": p.user_id,
        "methods": p.methods,
        "audit_ids": p.audit_ids,
        "system": p.system(),
        "domain_id": p.domain_id(),
        "project_id": p.project_id(),
        "trust_id": p.trust_id,
        "federated_group_ids": federated.map(|f| {
            f.group_ids.iter().map(|g| json!({"id": g})).collect::<Vec<_>>()
        }),
        "identity_provider_id": federated.map(|f| &f.identity_provider_id),
        "protocol_id": federated.map(|f| &f.protocol_id),
        "access_token_id": p.access_token_id,
        "app_cred_id": p.app_cred_id,
        "thumbprint": p.thumbprint,
        "issued_at": keystone_time(decoded.issued_at),
        "expires_at": keystone_time(p.expires_at),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn iv_of(vector: &Json) -> [u8; 16] {
    let text = vector["iv_hex"].as_str().expect("iv_hex");
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect();
    bytes.try_into().expect("16 bytes")
}

#[test]
fn every_payload_version_packs_byte_identical_to_keystone() {
    for path in VERSIONED_VECTORS {
        let v = read_json(path);
        let codec = codec_for(&v);
        let payload = payload_from_inputs(&v["inputs"]);
        assert_eq!(
            payload.payload_version().expect("version"),
            v["payload_version"].as_u64().expect("version") as u8,
            "{path}"
        );
        let packed = codec.pack(&payload).expect("pack");
        assert_eq!(hex(&packed), v["msgpack_payload_hex"], "{path}");
    }
}

#[test]
fn every_payload_version_encrypts_to_the_exact_keystone_token() {
    for path in VERSIONED_VECTORS {
        let v = read_json(path);
        let ring = ring_for(&v["keys"]["repository_files"]);
        let payload = payload_from_inputs(&v["inputs"]);
        let timestamp = v["fernet_timestamp"].as_u64().expect("timestamp");
        let encoded =
            token_id::encode_token_at(&ring, &codec_for(&v), &payload, timestamp, iv_of(&v))
                .expect("encode");
        assert_eq!(encoded.id, v["token"], "{path}");
        assert_eq!(
            encoded.id.len() as u64,
            v["token_len"].as_u64().expect("len")
        );
        assert_eq!(
            keystone_time(encoded.issued_at),
            "2026-01-01T00:00:00.000000Z"
        );
    }
}

#[test]
fn every_keystone_token_decodes_to_keystones_fields() {
    for path in VERSIONED_VECTORS {
        let v = read_json(path);
        let ring = ring_for(&v["keys"]["repository_files"]);
        let codec = codec_for(&v);
        let token = v["token"].as_str().expect("token");
        let decoded = decode_token(&ring, &codec, token).expect("decode");
        assert_eq!(as_keystone_tuple(&decoded), v["decoded"], "{path}");
        assert_eq!(u64::from(decoded.version), v["payload_version"], "{path}");

        // Decoded fields mint the same plaintext again (Keystone's order of methods
        // and dropped unknown methods do not change the bits).
        let repacked = codec.pack(&decoded.payload).expect("repack");
        assert_eq!(hex(&repacked), v["msgpack_payload_hex"], "{path}");
    }
}

#[test]
fn a_token_from_a_former_primary_decrypts_as_secondary() {
    let v = read_json(vector_path!("secondary_key_decrypt.json"));
    let files = &v["keys"]["repository_files"];
    let codec = codec_for(&v);
    let token = v["token"].as_str().expect("token");
    let decoded = decode_token(&ring_for(files), &codec, token).expect("decode");
    assert_eq!(as_keystone_tuple(&decoded), v["decoded"]);

    // And we mint that very token when key 1 is the primary.
    let old_ring = KeyRing::from_keys(&[
        files["1"].as_str().expect("key 1"),
        files["0"].as_str().expect("key 0"),
    ])
    .expect("ring");
    let timestamp = v["fernet_timestamp"].as_u64().expect("timestamp");
    let encoded =
        token_id::encode_token_at(&old_ring, &codec, &decoded.payload, timestamp, iv_of(&v))
            .expect("encode");
    assert_eq!(encoded.id, token);

    // Without key 1 it is unrecognizable.
    let without = KeyRing::from_keys(&[
        files["2"].as_str().expect("key 2"),
        files["0"].as_str().expect("key 0"),
    ])
    .expect("ring");
    let err = decode_token(&without, &codec, token).expect_err("no key");
    assert_eq!(err.status.as_u16(), 404);
    assert_eq!(err.message, "Could not recognize Fernet token");
}

#[test]
fn padded_tokens_are_accepted_and_damaged_ones_are_404() {
    let v = read_json(vector_path!("v2_project_scoped.json"));
    let ring = ring_for(&v["keys"]["repository_files"]);
    let codec = codec_for(&v);
    let token = v["token"].as_str().expect("token");
    let padded = format!("{token}{}", "=".repeat((4 - token.len() % 4) % 4));
    assert!(decode_token(&ring, &codec, &padded).is_ok());
    let truncated = &token[..token.len() - 1];
    let mut flipped = token.to_string().into_bytes();
    flipped[100] = if flipped[100] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    let extended = format!("{token}A");
    for bad in ["", "garbage", truncated, &flipped, "gAAAAA", &extended] {
        let err = decode_token(&ring, &codec, bad).expect_err(bad);
        assert_eq!(err.status.as_u16(), 404, "{bad}");
        assert_eq!(
            err.body(),
            "{\"error\":{\"code\":404,\"message\":\"Could not recognize Fernet token\",\"title\":\"Not Found\"}}\n"
        );
    }
}

#[test]
fn expiry_uses_the_payload_not_the_envelope() {
    let v = read_json(vector_path!("v0_unscoped.json"));
    let decoded = decode_token(
        &ring_for(&v["keys"]["repository_files"]),
        &codec_for(&v),
        v["token"].as_str().expect("token"),
    )
    .expect("decode");
    let expires = parse_time("2026-01-01T01:00:00Z");
    let p = &decoded.payload;
    assert!(!p.is_expired(expires - TimeDelta::seconds(1), TimeDelta::zero()));
    assert!(p.is_expired(expires, TimeDelta::zero()));
    let window = TimeDelta::seconds(172_800);
    assert!(!p.is_expired(expires + TimeDelta::seconds(3600), window));
    assert!(p.is_expired(expires + window, window));
}

/// Tokens the peer Keystone issued over HTTP (its own random IVs and clock), checked
/// against what the peer's validate call answered for them.
#[test]
fn real_peer_tokens_decode_to_what_the_peer_answered() {
    let keys = read_json(vector_path!("peer_http/_fernet_keys.json"));
    let ring = ring_for(&keys["keys"]);
    let codec = PayloadCodec::new(
        strings(&keys["auth_methods_config_default_conf"]),
        "default",
    );
    let captured = [
        read_json(vector_path!("peer_http/validate_unscoped.json")),
        read_json(vector_path!("peer_http/validate_project.json")),
        read_json(vector_path!("peer_http/validate_domain.json")),
        read_json(vector_path!("peer_http/validate_system.json")),
        read_json(vector_path!("peer_http/validate_rescoped.json")),
    ];
    for exchange in captured {
        let token = exchange["headers"]
            .as_array()
            .and_then(|h| h.iter().find(|pair| pair[0] == "X-Subject-Token"))
            .and_then(|pair| pair[1].as_str())
            .expect("X-Subject-Token");
        let body: Json =
            serde_json::from_str(exchange["body_raw"].as_str().expect("body")).expect("json");
        let t = &body["token"];
        let decoded = decode_token(&ring, &codec, token).expect("decode");
        let p = &decoded.payload;
        assert_eq!(p.user_id, t["user"]["id"]);
        assert_eq!(json!(p.methods), t["methods"]);
        assert_eq!(json!(p.audit_ids), t["audit_ids"]);
        assert_eq!(keystone_time(p.expires_at), t["expires_at"]);
        assert_eq!(keystone_time(decoded.issued_at), t["issued_at"]);
        let expected_scope = if let Some(id) = t["project"]["id"].as_str() {
            Scope::Project(id.into())
        } else if let Some(id) = t["domain"]["id"].as_str() {
            Scope::Domain(id.into())
        } else if t["system"]["all"] == true {
            Scope::System("all".into())
        } else {
            Scope::Unscoped
        };
        assert_eq!(p.scope, expected_scope);
    }
}

/// A receipt has no version element, so its first element (the user id pair) is shown
/// in the message — the exact text the peer gives (checked with its TokenFormatter).
#[test]
fn an_auth_receipt_is_not_a_token() {
    let keys = read_json(vector_path!("peer_http/_fernet_keys.json"));
    let ring = ring_for(&keys["keys"]);
    let codec = PayloadCodec::new(
        strings(&keys["auth_methods_config_default_conf"]),
        "default",
    );
    let exchange = read_json(vector_path!("peer_http/mfa_receipt.json"));
    let receipt = exchange["headers"]
        .as_array()
        .and_then(|h| h.iter().find(|pair| pair[0] == "Openstack-Auth-Receipt"))
        .and_then(|pair| pair[1].as_str())
        .expect("receipt");
    let err = decode_token(&ring, &codec, receipt).expect_err("not a token");
    assert_eq!(err.status.as_u16(), 404);
    assert_eq!(
        err.message,
        "This is not a recognized Fernet payload version: \
         [True, b'\\xe1M\\xbf\\xc3\\x11\\xdeH\\xe8\\xb0\\xfd\\x86\\t\\x04\\xa4\\x8c\\x81']"
    );
}

#[test]
fn tokens_minted_now_round_trip_through_a_rotating_repository() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = KeyRepository::new(dir.path().to_path_buf(), 3);
    repo.setup().expect("setup");
    let ring = KeyRing::open(repo.clone()).expect("ring");
    let codec = PayloadCodec::new(vec!["password".into(), "token".into()], "default");
    let expires = parse_time("2030-05-06T07:08:09Z");
    let payload = TokenPayload::new(
        "0123456789abcdef0123456789abcdef",
        vec!["password".into()],
        Scope::Project("fedcba9876543210fedcba9876543210".into()),
        expires,
        vec!["AAECAwQFBgcICQoLDA0ODw".into()],
    );
    let before = encode_token(&ring, &codec, &payload).expect("encode");
    assert!(!before.id.contains('='));
    let now = Utc::now();
    assert!((before.issued_at - now).num_seconds().abs() <= 2);

    repo.rotate().expect("rotate");
    ring.refresh();
    let after = encode_token(&ring, &codec, &payload).expect("encode");
    for token in [&before, &after] {
        let decoded = decode_token(&ring, &codec, &token.id).expect("decode");
        assert_eq!(decoded.payload, payload);
        assert_eq!(decoded.issued_at, token.issued_at);
    }
}

/// Inputs a port most easily gets wrong, minted by the peer's own formatter (see
/// tests/vectors/fernet/edge/generate_edge.py): plaintext byte-identical, token decoded
/// to the peer's fields.
#[test]
fn edge_cases_match_the_peer_formatter() {
    let v = read_json(vector_path!("edge/edge_cases.json"));
    let ring = ring_for(&v["keys"]);
    let codec = codec_for(&v);
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 14);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let payload = payload_from_inputs(&case["inputs"]);
        assert_eq!(
            u64::from(payload.payload_version().expect("version")),
            case["payload_version"],
            "{name}"
        );
        let packed = codec.pack(&payload).expect("pack");
        assert_eq!(hex(&packed), case["msgpack_payload_hex"], "{name}");
        let decoded =
            decode_token(&ring, &codec, case["token"].as_str().expect("token")).expect("decode");
        assert_eq!(as_keystone_tuple(&decoded), case["decoded"], "{name}");
    }
}
