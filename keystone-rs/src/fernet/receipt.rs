//! Keystone's auth receipt payload (`receipt_formatters.ReceiptPayload`): the msgpack array
//! `[ID pair(user_id), methods bitmask, expires_at float]` — no version element, so a
//! receipt never decodes as a token and a token never decodes as a receipt.

use super::keyring::KeyRing;
use super::payload::{
    PayloadCodec, pack_expires, pack_pair, unpack_expires, unpack_int, unpack_pair,
};
use super::token_id::issued_at_from;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rmpv::Value;

/// What a receipt carries, plus its envelope time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptPayload {
    pub user_id: String,
    pub methods: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// A receipt that opened: its payload and when it was sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedReceipt {
    pub payload: ReceiptPayload,
    pub issued_at: DateTime<Utc>,
}

/// The msgpack plaintext Keystone's `msgpack.packb(ReceiptPayload.assemble(…))` gives.
pub fn pack_receipt(codec: &PayloadCodec, payload: &ReceiptPayload) -> Result<Vec<u8>> {
    let array = Value::Array(vec![
        pack_pair(Some(&payload.user_id)),
        Value::from(codec.methods_to_bits(&payload.methods)),
        pack_expires(payload.expires_at),
    ]);
    let mut out = Vec::with_capacity(64);
    rmpv::encode::write_value(&mut out, &array)
        .map_err(|e| Error::internal(format!("receipt payload: msgpack encoding: {e}")))?;
    Ok(out)
}

/// The payload back; `None` for anything Keystone could not take apart (only a key holder
/// can make such a plaintext, so it is simply not a receipt).
pub fn unpack_receipt(codec: &PayloadCodec, plaintext: &[u8]) -> Option<ReceiptPayload> {
    let mut reader = plaintext;
    let value = rmpv::decode::read_value_with_max_depth(&mut reader, 8).ok()?;
    if !reader.is_empty() {
        return None;
    }
    let Value::Array(items) = value else {
        return None;
    };
    let [user, methods, expires, ..] = items.as_slice() else {
        return None;
    };
    Some(ReceiptPayload {
        user_id: unpack_pair(user).ok()??,
        methods: codec.bits_to_methods(unpack_int(methods).ok()?),
        expires_at: unpack_expires(expires).ok()?,
    })
}

/// Seal a receipt with the primary key at `timestamp` with `iv`, `=` padding stripped as
/// Keystone hands it out.
pub fn seal_receipt_at(
    ring: &KeyRing,
    codec: &PayloadCodec,
    payload: &ReceiptPayload,
    timestamp: u64,
    iv: [u8; 16],
) -> Result<(String, DateTime<Utc>)> {
    let id = ring.encrypt_at(&pack_receipt(codec, payload)?, timestamp, iv)?;
    let issued_at = issued_at_from(timestamp)
        .ok_or_else(|| Error::internal("receipt timestamp out of range"))?;
    Ok((id, issued_at))
}

/// Open a receipt with any key. `Ok(None)` when no key opens it or it is not a receipt
/// payload (Keystone's `ReceiptNotFound`); `Err` only when there are no keys at all.
pub fn open_receipt(
    ring: &KeyRing,
    codec: &PayloadCodec,
    receipt: &str,
) -> Result<Option<OpenedReceipt>> {
    let Some(opened) = ring.decrypt(receipt)? else {
        return Ok(None);
    };
    let Some(payload) = unpack_receipt(codec, &opened.plaintext) else {
        return Ok(None);
    };
    Ok(issued_at_from(opened.timestamp).map(|issued_at| OpenedReceipt { payload, issued_at }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fernet::envelope;
    use base64::Engine;
    use serde_json::Value as Json;

    fn vector() -> Json {
        let text = include_str!("../../../tests/vectors/http/mfa_receipt.json");
        serde_json::from_str(text).unwrap()
    }

    /// The peer's key repository and `[auth] methods` when it captured the vector.
    fn peer() -> (KeyRing, PayloadCodec) {
        let keys: Json = serde_json::from_str(include_str!(
            "../../../tests/vectors/http/_fernet_keys.json"
        ))
        .unwrap();
        let ring = KeyRing::from_keys(&[
            keys["keys"]["1"].as_str().unwrap(),
            keys["keys"]["0"].as_str().unwrap(),
        ])
        .unwrap();
        let methods = [
            "external",
            "password",
            "token",
            "oauth1",
            "mapped",
            "application_credential",
            "totp",
        ];
        let codec = PayloadCodec::new(methods.iter().map(|m| m.to_string()).collect(), "default");
        (ring, codec)
    }

    fn receipt_header(v: &Json) -> String {
        v["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "Openstack-Auth-Receipt")
            .unwrap()[1]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn keystone_receipt_vector_decodes_and_reencodes_byte_for_byte() {
        let v = vector();
        let receipt = receipt_header(&v);
        let body: Json = serde_json::from_str(v["body_raw"].as_str().unwrap()).unwrap();
        let (ring, codec) = peer();
        let opened = open_receipt(&ring, &codec, &receipt).unwrap().unwrap();
        assert_eq!(opened.payload.user_id, body["receipt"]["user"]["id"]);
        assert_eq!(opened.payload.methods, vec!["password".to_string()]);
        assert_eq!(
            crate::fernet::keystone_time(opened.payload.expires_at),
            body["receipt"]["expires_at"]
        );
        assert_eq!(
            crate::fernet::keystone_time(opened.issued_at),
            body["receipt"]["issued_at"]
        );
        // Same payload, same time, same IV: the same bytes Keystone sent.
        let raw = base64::engine::general_purpose::URL_SAFE
            .decode(format!(
                "{receipt}{}",
                "=".repeat((4 - receipt.len() % 4) % 4)
            ))
            .unwrap();
        let iv: [u8; 16] = raw[9..25].try_into().unwrap();
        let timestamp = envelope::timestamp(&receipt).unwrap();
        let (again, _) = seal_receipt_at(&ring, &codec, &opened.payload, timestamp, iv).unwrap();
        assert_eq!(again, receipt);
    }

    #[test]
    fn tokens_and_garbage_are_not_receipts() {
        let (ring, codec) = peer();
        assert_eq!(open_receipt(&ring, &codec, "garbage").unwrap(), None);
        // A version-0 token payload: `[0, pair, methods, expires, audit_ids]`.
        let token = rmpv::Value::Array(vec![
            rmpv::Value::from(0),
            pack_pair(Some("e14dbfc311de48e8b0fd860904a48c81")),
            rmpv::Value::from(2),
            rmpv::Value::F64(1.8e9),
            rmpv::Value::Array(vec![]),
        ]);
        let mut plain = Vec::new();
        rmpv::encode::write_value(&mut plain, &token).unwrap();
        let sealed = ring.encrypt(&plain).unwrap();
        assert_eq!(open_receipt(&ring, &codec, &sealed).unwrap(), None);
        // Tampering with a real receipt.
        let mut receipt = receipt_header(&vector()).into_bytes();
        let last = receipt.len() - 5;
        receipt[last] = if receipt[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(receipt).unwrap();
        assert_eq!(open_receipt(&ring, &codec, &tampered).unwrap(), None);
    }

    #[test]
    fn a_fresh_receipt_round_trips() {
        let (ring, codec) = peer();
        let payload = ReceiptPayload {
            user_id: "not-a-uuid".into(),
            methods: vec!["totp".into(), "password".into()],
            expires_at: DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
        };
        let (now, iv) = crate::fernet::keyring::now_and_iv().unwrap();
        let (id, _) = seal_receipt_at(&ring, &codec, &payload, now, iv).unwrap();
        assert!(!id.ends_with('='));
        let opened = open_receipt(&ring, &codec, &id).unwrap().unwrap();
        assert_eq!(opened.payload.user_id, "not-a-uuid");
        // Keystone's decode order: descending bit.
        assert_eq!(opened.payload.methods, vec!["totp", "password"]);
    }
}
