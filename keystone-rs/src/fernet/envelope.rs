//! The Fernet envelope (https://github.com/fernet/spec), as Keystone uses it through
//! Python's `cryptography`: `0x80 ‖ timestamp(u64 BE) ‖ IV(16) ‖ AES-128-CBC/PKCS7 ‖
//! HMAC-SHA256`, URL-safe base64 with the `=` padding stripped on output.
//!
//! Written on RustCrypto primitives rather than through the `fernet` crate because Keystone
//! needs what that crate does not offer: decryption with no clock check at all (the crate
//! always rejects timestamps more than 60 s ahead, which would refuse tokens minted by a
//! node whose clock runs slightly fast), a chosen IV/time for the golden vectors, and the
//! envelope timestamp (Keystone's `issued_at`). The `fernet` crate is kept as an
//! independent cross-check in the tests.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;
type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 0x80;
const HEADER_LEN: usize = 1 + 8 + 16;
const HMAC_LEN: usize = 32;
const BLOCK: usize = 16;

/// One Fernet key: first half signs, second half encrypts.
#[derive(Clone)]
pub struct FernetKey {
    signing: [u8; 16],
    encryption: [u8; 16],
}

/// Keys never appear in logs or debug output.
impl fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FernetKey(..)")
    }
}

/// A decrypted token: its plaintext and the envelope's creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub timestamp: u64,
    pub plaintext: Vec<u8>,
}

impl FernetKey {
    /// Parse a key as stored in a key file: URL-safe base64 of 32 bytes (padding
    /// optional, surrounding whitespace ignored). `None` if it is not exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<FernetKey> {
        let trimmed = text.trim().trim_end_matches('=');
        // Python's urlsafe_b64decode also takes the standard alphabet.
        let normalized: String = trimmed
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                other => other,
            })
            .collect();
        let bytes = URL_SAFE_NO_PAD.decode(normalized).ok()?;
        let bytes: [u8; 32] = bytes.try_into().ok()?;
        let mut signing = [0u8; 16];
        let mut encryption = [0u8; 16];
        signing.copy_from_slice(&bytes[..16]);
        encryption.copy_from_slice(&bytes[16..]);
        Some(FernetKey {
            signing,
            encryption,
        })
    }

    fn mac(&self) -> Option<HmacSha256> {
        // HMAC takes keys of any length; this cannot fail, but must not panic either.
        <HmacSha256 as Mac>::new_from_slice(&self.signing).ok()
    }

    /// Seal `plaintext` at `timestamp` with `iv`; the result has no `=` padding, as
    /// Keystone hands tokens out.
    pub fn seal(&self, plaintext: &[u8], timestamp: u64, iv: [u8; 16]) -> Option<String> {
        let ciphertext = Aes128CbcEnc::new(&self.encryption.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        let mut envelope = Vec::with_capacity(HEADER_LEN + ciphertext.len() + HMAC_LEN);
        envelope.push(VERSION);
        envelope.extend_from_slice(&timestamp.to_be_bytes());
        envelope.extend_from_slice(&iv);
        envelope.extend_from_slice(&ciphertext);
        let mut mac = self.mac()?;
        mac.update(&envelope);
        envelope.extend_from_slice(&mac.finalize().into_bytes());
        Some(URL_SAFE_NO_PAD.encode(envelope))
    }

    /// Verify and decrypt an already base64-decoded envelope with this key.
    fn open_raw(&self, raw: &Envelope<'_>) -> Option<Vec<u8>> {
        let mut mac = self.mac()?;
        mac.update(raw.signed);
        // Constant-time comparison.
        mac.verify_slice(raw.tag).ok()?;
        Aes128CbcDec::new(&self.encryption.into(), &raw.iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(raw.ciphertext)
            .ok()
    }
}

/// The parts of a decoded envelope, before any key is tried.
struct Envelope<'a> {
    timestamp: u64,
    iv: [u8; 16],
    ciphertext: &'a [u8],
    /// Everything the HMAC covers.
    signed: &'a [u8],
    tag: &'a [u8],
}

/// Undo Keystone's padding strip and base64-decode. Keystone pads to a multiple of 4;
/// a length of 1 mod 4 can never be valid, exactly as in Python.
fn decode_token_bytes(token: &str) -> Option<Vec<u8>> {
    let unpadded = token.trim_end_matches('=');
    if unpadded.len() % 4 == 1 {
        return None;
    }
    // Keystone restores padding only up to the next multiple of 4; more `=` than that
    // is malformed.
    let pad = token.len() - unpadded.len();
    if pad > 2 {
        return None;
    }
    URL_SAFE_NO_PAD.decode(unpadded).ok()
}

fn parse(raw: &[u8]) -> Option<Envelope<'_>> {
    if raw.len() < HEADER_LEN + BLOCK + HMAC_LEN || raw.first() != Some(&VERSION) {
        return None;
    }
    let (signed, tag) = raw.split_at(raw.len() - HMAC_LEN);
    let timestamp = u64::from_be_bytes(signed.get(1..9)?.try_into().ok()?);
    let iv: [u8; 16] = signed.get(9..HEADER_LEN)?.try_into().ok()?;
    let ciphertext = signed.get(HEADER_LEN..)?;
    if ciphertext.len() % BLOCK != 0 {
        return None;
    }
    Some(Envelope {
        timestamp,
        iv,
        ciphertext,
        signed,
        tag,
    })
}

/// Try every key in order (primary first, as Keystone's MultiFernet does); no TTL and no
/// clock-skew check — expiry lives in the payload. `None` if no key opens the token.
pub fn open(keys: &[FernetKey], token: &str) -> Option<Opened> {
    let raw = decode_token_bytes(token)?;
    let envelope = parse(&raw)?;
    keys.iter().find_map(|key| {
        key.open_raw(&envelope).map(|plaintext| Opened {
            timestamp: envelope.timestamp,
            plaintext,
        })
    })
}

/// The envelope timestamp without any key (Keystone's `creation_time`); `None` when the
/// token is not even shaped like a Fernet token.
pub fn timestamp(token: &str) -> Option<u64> {
    let raw = decode_token_bytes(token)?;
    parse(&raw).map(|e| e.timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(first: u8) -> FernetKey {
        let bytes: Vec<u8> = (first..first + 32).collect();
        let text = base64::engine::general_purpose::URL_SAFE.encode(bytes);
        FernetKey::from_base64(&text).unwrap_or_else(|| panic!("test key"))
    }

    #[test]
    fn key_parsing_accepts_padding_whitespace_and_rejects_wrong_lengths() {
        let text = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
        assert!(FernetKey::from_base64(text).is_some());
        assert!(FernetKey::from_base64(&format!("{text}\n")).is_some());
        assert!(FernetKey::from_base64(text.trim_end_matches('=')).is_some());
        assert!(FernetKey::from_base64("QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xd").is_none());
        assert!(FernetKey::from_base64("").is_none());
        assert!(FernetKey::from_base64("not base64 at all!").is_none());
        assert_eq!(format!("{:?}", key(0)), "FernetKey(..)");
    }

    #[test]
    fn seal_open_round_trip_with_any_key_order() {
        let (a, b) = (key(0), key(32));
        let token = a
            .seal(b"hello", 42, [7; 16])
            .unwrap_or_else(|| panic!("seal"));
        assert!(!token.ends_with('='));
        let opened = open(&[b.clone(), a.clone()], &token).unwrap_or_else(|| panic!("open"));
        assert_eq!(opened.plaintext, b"hello");
        assert_eq!(opened.timestamp, 42);
        assert_eq!(timestamp(&token), Some(42));
        assert!(open(&[b], &token).is_none());
    }

    #[test]
    fn padded_input_is_accepted_and_overpadding_is_not() {
        let a = key(0);
        let token = a
            .seal(b"12345", 1, [0; 16])
            .unwrap_or_else(|| panic!("seal"));
        let padding = "=".repeat((4 - token.len() % 4) % 4);
        assert!(open(std::slice::from_ref(&a), &format!("{token}{padding}")).is_some());
        assert!(open(std::slice::from_ref(&a), &format!("{token}{padding}====")).is_none());
    }

    #[test]
    fn tampering_is_detected() {
        let a = key(0);
        let token = a
            .seal(b"payload", 1, [0; 16])
            .unwrap_or_else(|| panic!("seal"));
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap_or_default();
        for i in 0..raw.len() {
            raw[i] ^= 1;
            let forged = URL_SAFE_NO_PAD.encode(&raw);
            assert!(
                open(std::slice::from_ref(&a), &forged).is_none(),
                "byte {i}"
            );
            raw[i] ^= 1;
        }
    }

    #[test]
    fn agrees_with_the_fernet_crate() {
        let text = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=";
        let ours = FernetKey::from_base64(text).unwrap_or_else(|| panic!("key"));
        let theirs = fernet::Fernet::new(text).unwrap_or_else(|| panic!("key"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        for len in [0usize, 1, 15, 16, 17, 100] {
            let plaintext = vec![0x5a; len];
            let sealed = ours
                .seal(&plaintext, now, [9; 16])
                .unwrap_or_else(|| panic!("seal"));
            assert_eq!(theirs.decrypt(&sealed).ok(), Some(plaintext.clone()));
            let theirs_token = theirs.encrypt(&plaintext);
            let opened = open(std::slice::from_ref(&ours), &theirs_token);
            assert_eq!(opened.map(|o| o.plaintext), Some(plaintext));
        }
    }
}
