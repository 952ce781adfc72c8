//! The `totp` auth method (Keystone's `auth/plugins/totp.py`): a six-digit RFC 6238
//! passcode (HMAC-SHA1, 30-second steps) from any of the user's `totp` credentials, whose
//! blob is the base32 secret. The current window and `[totp] included_previous_windows`
//! before it are accepted.
//!
//! Beyond Keystone (api-ref/DEVIATIONS.md): a passcode is accepted once — the credential
//! and time step it matched are remembered in `ksrs_replay` until no node would accept
//! that passcode any more — and a wrong passcode counts towards the lockout as a wrong
//! password does, a locked user being refused here too.
//!
//! HOTP is written out over the `hmac`/`sha1` crates already in the tree rather than
//! taken from a TOTP crate: it is a dozen lines, and what must match Keystone exactly is
//! the secret's decoding — Python's strict, case-sensitive `b32decode` after Keystone's
//! `=` padding, and cryptography's refusal of keys under 128 bits — which the crates do
//! differently (lenient alphabets, other padding rules).

use super::MethodOutcome;
use super::password::FailedLogin;
use crate::config::Config;
use crate::credential::CredentialKeys;
use crate::db::AnyConnection;
use crate::db::replay;
use crate::error::{Error, Result};
use crate::identity::{lockout, store as identity_store};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const METHOD: &str = "totp";
/// The credential type whose blob is a TOTP secret.
pub const CREDENTIAL_TYPE: &str = "totp";
/// `ksrs_replay.kind` of used passcodes.
pub const REPLAY_KIND: &str = "totp";
pub static REPLAY_PURGE: replay::PurgeClock = replay::PurgeClock::new();

const PASSCODE_LENGTH: usize = 6;
const TIME_STEP_SECS: i64 = 30;
/// cryptography's `HOTP` refuses shorter keys ("Key length has to be at least 128 bits").
const MIN_KEY_BYTES: usize = 16;

pub fn authenticate(
    conn: &mut AnyConnection,
    config: &Config,
    keys: &CredentialKeys,
    data: &Value,
    failed: &FailedLogin,
) -> Result<MethodOutcome> {
    let user_obj = data
        .get("user")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::expecting("user", METHOD))?;
    let user = super::user_info::enabled_user(conn, config, user_obj)?;
    let options = identity_store::options_of(conn, std::slice::from_ref(&user.id))?
        .remove(&user.id)
        .unwrap_or_default();
    lockout::check_not_locked(conn, config, &user.id, &options)?;
    // Keystone compares with `in` on a list of str: anything but a string never matches.
    let passcode = user_obj.get("passcode").and_then(Value::as_str);
    let now = Utc::now();
    let windows = i64::from(config.totp.included_previous_windows);
    let mut matches = Vec::new();
    if let Some(passcode) = passcode {
        for credential in
            crate::credential::list(conn, keys, Some(&user.id), Some(CREDENTIAL_TYPE))?
        {
            for step in matching_steps(&credential.blob, passcode, now, windows) {
                matches.push((credential.id.clone(), step));
            }
        }
    }
    // Only the first match is tried: a replay lost to a concurrent request is a unique
    // violation, after which PostgreSQL refuses every further statement of the transaction
    // (and two credentials or steps sharing a passcode is a one-in-a-million event).
    if let Some((credential_id, step)) = matches.into_iter().next() {
        // Accepted up to the end of the last window that still includes this step.
        let until = (step + 1 + windows) * TIME_STEP_SECS * 1_000_000;
        let value = replay::scoped_value(&credential_id, &step.to_string());
        if replay::remember(conn, REPLAY_KIND, &value, now.timestamp_micros(), until)? {
            lockout::record_success(conn, &user.id)?;
            return Ok(MethodOutcome {
                user_id: user.id,
                ..Default::default()
            });
        }
    }
    failed.set(&user.id);
    Err(Error::unauthorized_because(
        "Invalid username or TOTP passcode",
    ))
}

/// The time steps (current first, then `windows` earlier ones) whose passcode for `secret`
/// is `passcode`, compared in constant time. A secret Keystone cannot decode matches none.
pub fn matching_steps(secret: &str, passcode: &str, now: DateTime<Utc>, windows: i64) -> Vec<i64> {
    let Some(key) = decode_secret(secret) else {
        return Vec::new();
    };
    let current = now.timestamp().div_euclid(TIME_STEP_SECS);
    (0..=windows)
        .map(|back| current - back)
        .filter(|step| {
            passcode_at(&key, *step)
                .is_some_and(|code| bool::from(code.as_bytes().ct_eq(passcode.as_bytes())))
        })
        .collect()
}

/// The passcode of `step` (RFC 4226 §5.3 dynamic truncation, six digits).
pub fn passcode_at(key: &[u8], step: i64) -> Option<String> {
    let counter = u64::try_from(step).ok()?;
    let mut mac = Hmac::<Sha1>::new_from_slice(key).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.last()? & 0x0f);
    let word = digest.get(offset..offset + 4)?;
    let value = u32::from_be_bytes([word[0] & 0x7f, word[1], word[2], word[3]]);
    Some(format!(
        "{:0width$}",
        value % 1_000_000,
        width = PASSCODE_LENGTH
    ))
}

/// `_generate_totp_passcodes`' reading of a blob: `=` appended to a multiple of 8, then
/// Python's `base64.b32decode` (upper-case alphabet only, its padding rules, trailing
/// bits ignored), then at least 128 bits.
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let mut text = secret.as_bytes().to_vec();
    while text.len() % 8 != 0 {
        text.push(b'=');
    }
    let key = python_b32decode(&text)?;
    (key.len() >= MIN_KEY_BYTES).then_some(key)
}

fn python_b32decode(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() % 8 != 0 {
        return None;
    }
    let body_len = text.iter().rposition(|c| *c != b'=').map_or(0, |i| i + 1);
    let (body, padding) = text.split_at(body_len);
    let mut decoded = Vec::with_capacity(body.len() * 5 / 8 + 5);
    let mut last_quantum = 0u64;
    for quantum in body.chunks(8) {
        let mut acc = 0u64;
        for c in quantum {
            acc = (acc << 5) | u64::from(b32_value(*c)?);
        }
        decoded.extend_from_slice(&acc.to_be_bytes()[3..]);
        last_quantum = acc;
    }
    if !matches!(padding.len(), 0 | 1 | 3 | 4 | 6) {
        return None;
    }
    if !padding.is_empty() && !decoded.is_empty() {
        // The last quantum was short: Python shifts it into place and keeps its whole
        // bytes, dropping the bytes that only padding filled.
        let shifted = last_quantum << (5 * padding.len());
        let keep = (43 - 5 * padding.len()) / 8;
        let start = decoded.len() - 5;
        decoded.truncate(start);
        decoded.extend_from_slice(&shifted.to_be_bytes()[3..3 + keep]);
    }
    Some(decoded)
}

fn b32_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors_truncated_to_six_digits() {
        let key = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(passcode_at(key, time / 30).unwrap(), code, "{time}");
        }
    }

    #[test]
    fn secrets_decode_as_python_does() {
        // base64.b32encode(b"12345678901234567890") without its (absent) padding.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(decode_secret(secret).unwrap(), b"12345678901234567890");
        // Python's b32decode is case-sensitive.
        assert_eq!(decode_secret(&secret.to_lowercase()), None);
        // 16 bytes is 26 characters + 6 padding; Keystone adds the padding itself.
        let sixteen = "GEZDGNBVGY3TQOJQGEZDGNBVGY";
        assert_eq!(decode_secret(sixteen).unwrap(), b"1234567890123456");
        assert_eq!(
            decode_secret(&format!("{sixteen}======")).unwrap().len(),
            16
        );
        // Too short for cryptography's HOTP, impossible padding, foreign characters.
        assert_eq!(decode_secret("GEZDGNBV"), None);
        assert_eq!(decode_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG"), None);
        assert_eq!(decode_secret("GEZDGNBVGY3TQOJQ GEZDGNBVGY3TQOJQ"), None);
        assert_eq!(decode_secret(""), None);
        assert_eq!(decode_secret("é"), None);
    }

    #[test]
    fn current_and_previous_windows_only() {
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let key = decode_secret(secret).unwrap();
        let now = DateTime::from_timestamp(1_800_000_015, 0).unwrap();
        let step = 1_800_000_015 / 30;
        let code = |s: i64| passcode_at(&key, s).unwrap();
        assert_eq!(matching_steps(secret, &code(step), now, 0), vec![step]);
        assert!(matching_steps(secret, &code(step - 1), now, 0).is_empty());
        assert_eq!(
            matching_steps(secret, &code(step - 1), now, 1),
            vec![step - 1]
        );
        assert!(matching_steps(secret, &code(step - 2), now, 1).is_empty());
        assert!(matching_steps(secret, &code(step + 1), now, 10).is_empty());
        assert!(matching_steps(secret, " 12345", now, 1).is_empty());
    }
}
