//! JWT client assertions (RFC 7523 §2.2 / §3): compact JWS parsing, the signature check for
//! the algorithms keystone-rs accepts, and the claim checks. No JWT library: the rules are
//! short, and keystonemiddleware sends `iat`/`exp` as strings, which strict libraries refuse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};

/// Leeway for clocks that disagree a little (`exp`, `nbf`, `iat` in the future).
pub const CLOCK_SKEW_SECS: i64 = 60;

/// The longest an assertion may still be valid for (keystonemiddleware's
/// `jwt_bearer_time_out` defaults to an hour).
pub const MAX_LIFETIME_SECS: i64 = 86400;

/// Assertions longer than this are refused before any decoding.
const MAX_ASSERTION_LEN: usize = 16 * 1024;

/// The signature algorithms keystone-rs verifies; `none` and everything else is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HS256,
    HS384,
    HS512,
    RS256,
    ES256,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Algorithm> {
        Some(match name {
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
        }
    }

    /// HMAC algorithms are `client_secret_jwt`, the others `private_key_jwt`.
    pub fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    pub const ALL: [Algorithm; 5] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::ES256,
    ];
}

/// Why an assertion was refused (logged, never shown: the client learns only that its
/// authentication failed).
pub type Refusal = String;

/// A compact JWS split and decoded, its signature not checked yet.
#[derive(Debug)]
pub struct Assertion {
    pub algorithm: Algorithm,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

fn decode_part(part: &str) -> Result<Vec<u8>, Refusal> {
    // PyJWT and most libraries omit the padding; tolerate it anyway.
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| "assertion part is not base64url".to_string())
}

impl Assertion {
    pub fn parse(compact: &str) -> Result<Assertion, Refusal> {
        if compact.len() > MAX_ASSERTION_LEN {
            return Err("assertion too long".into());
        }
        let mut parts = compact.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("assertion is not a compact JWS".into());
        };
        let header: Value = serde_json::from_slice(&decode_part(header)?)
            .map_err(|_| "assertion header is not JSON".to_string())?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| "assertion header has no alg".to_string())?;
        let algorithm =
            Algorithm::parse(alg).ok_or_else(|| format!("assertion algorithm {alg} refused"))?;
        // RFC 7515 §4.1.11: an extension we do not understand must not be ignored.
        if header.get("crit").is_some() {
            return Err("assertion header has crit".into());
        }
        let claims = match serde_json::from_slice(&decode_part(payload)?) {
            Ok(Value::Object(m)) => m,
            _ => return Err("assertion claims are not a JSON object".into()),
        };
        let signing_input = compact[..compact.len() - signature.len() - 1].to_string();
        Ok(Assertion {
            algorithm,
            claims,
            signing_input,
            signature: decode_part(signature)?,
        })
    }

    /// A string claim (`iss`, `sub`, `jti`).
    pub fn string_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim: a JSON number, or — as keystonemiddleware sends it — a string
    /// of digits. Absent is `Ok(None)`; anything else is a refusal.
    pub fn time_claim(&self, name: &str) -> Result<Option<i64>, Refusal> {
        match self.claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| format!("claim {name} is not a time")),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("claim {name} is not a time")),
            Some(_) => Err(format!("claim {name} is not a time")),
        }
    }

    /// `aud` as a list (RFC 7519 §4.1.3: a string or an array of strings).
    pub fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        }
    }

    /// Check the HMAC with the client's secret (constant time, in the `Mac` API).
    pub fn verify_hmac(&self, secret: &[u8]) -> Result<(), Refusal> {
        fn check<M: Mac + hmac::digest::KeyInit>(
            key: &[u8],
            input: &[u8],
            tag: &[u8],
        ) -> Result<(), Refusal> {
            let mut mac =
                <M as Mac>::new_from_slice(key).map_err(|_| "bad HMAC key".to_string())?;
            mac.update(input);
            mac.verify_slice(tag)
                .map_err(|_| "assertion HMAC does not verify".to_string())
        }
        let input = self.signing_input.as_bytes();
        match self.algorithm {
            Algorithm::HS256 => check::<Hmac<sha2::Sha256>>(secret, input, &self.signature),
            Algorithm::HS384 => check::<Hmac<sha2::Sha384>>(secret, input, &self.signature),
            Algorithm::HS512 => check::<Hmac<sha2::Sha512>>(secret, input, &self.signature),
            _ => Err("not an HMAC algorithm".into()),
        }
    }

    /// Check the signature with a registered public key; the key's algorithm must be the
    /// header's (an RSA key never checks an HMAC, the classic JWT confusion).
    pub fn verify_public_key(&self, key: &PublicKey) -> Result<(), Refusal> {
        use rsa::signature::Verifier;
        let input = self.signing_input.as_bytes();
        match (self.algorithm, key) {
            (Algorithm::RS256, PublicKey::Rsa(k)) => {
                let sig = rsa::pkcs1v15::Signature::try_from(self.signature.as_slice())
                    .map_err(|_| "malformed RSA signature".to_string())?;
                rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k.clone())
                    .verify(input, &sig)
                    .map_err(|_| "assertion RSA signature does not verify".to_string())
            }
            (Algorithm::ES256, PublicKey::P256(k)) => {
                // JWS carries the raw r||s form (RFC 7518 §3.4), not DER.
                let sig = p256::ecdsa::Signature::from_slice(&self.signature)
                    .map_err(|_| "malformed ECDSA signature".to_string())?;
                k.verify(input, &sig)
                    .map_err(|_| "assertion ECDSA signature does not verify".to_string())
            }
            (alg, _) => Err(format!("assertion alg {} does not fit the key", alg.name())),
        }
    }
}

/// A registered public key for `private_key_jwt`.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
}

/// Smallest RSA modulus accepted for registration.
const MIN_RSA_BITS: usize = 2048;

impl PublicKey {
    /// A PEM public key: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, RSA or P-256) or PKCS#1
    /// (`BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(pem: &str) -> Result<PublicKey, Refusal> {
        use p256::pkcs8::DecodePublicKey;
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::traits::PublicKeyParts;
        let pem = pem.trim();
        let key = if let Ok(k) = rsa::RsaPublicKey::from_public_key_pem(pem) {
            PublicKey::Rsa(k)
        } else if let Ok(k) = rsa::RsaPublicKey::from_pkcs1_pem(pem) {
            PublicKey::Rsa(k)
        } else if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            PublicKey::P256(k)
        } else {
            return Err("not a PEM RSA or P-256 public key".into());
        };
        if let PublicKey::Rsa(k) = &key
            && k.n().bits() < MIN_RSA_BITS
        {
            return Err(format!("RSA keys need at least {MIN_RSA_BITS} bits"));
        }
        Ok(key)
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Rsa(_) => Algorithm::RS256,
            PublicKey::P256(_) => Algorithm::ES256,
        }
    }
}

/// The claim checks of RFC 7523 §3 once the signature verified: `iss` = `sub` = the
/// client, an accepted `aud`, an `exp` in the future, no `nbf` in the future, a `jti`.
/// Returns the `jti` and the time until which it must be remembered.
pub fn check_claims<'a>(
    assertion: &'a Assertion,
    client_id: &str,
    audiences: &[String],
    now: DateTime<Utc>,
) -> Result<(&'a str, i64), Refusal> {
    if assertion.string_claim("iss") != Some(client_id)
        || assertion.string_claim("sub") != Some(client_id)
    {
        return Err("assertion iss/sub is not the client".into());
    }
    let given = assertion.audiences();
    if !given.iter().any(|a| audiences.iter().any(|ok| ok == a)) {
        return Err("assertion aud is not this server".into());
    }
    let now_s = now.timestamp();
    let exp = assertion
        .time_claim("exp")?
        .ok_or_else(|| "assertion has no exp".to_string())?;
    if exp.saturating_add(CLOCK_SKEW_SECS) <= now_s {
        return Err("assertion expired".into());
    }
    // Its jti is remembered until exp: a bound keeps the replay table bounded.
    if exp.saturating_sub(now_s) > MAX_LIFETIME_SECS {
        return Err("assertion exp too far in the future".into());
    }
    if let Some(nbf) = assertion.time_claim("nbf")? {
        if nbf.saturating_sub(CLOCK_SKEW_SECS) > now_s {
            return Err("assertion not valid yet".into());
        }
    }
    if let Some(iat) = assertion.time_claim("iat")? {
        if iat.saturating_sub(CLOCK_SKEW_SECS) > now_s {
            return Err("assertion issued in the future".into());
        }
    }
    let jti = assertion
        .string_claim("jti")
        .filter(|j| !j.is_empty())
        .ok_or_else(|| "assertion has no jti".to_string())?;
    Ok((jti, exp.saturating_add(CLOCK_SKEW_SECS)))
}

/// The header's algorithm without checking anything else: it decides which of the two JWT
/// client-authentication methods an assertion is.
pub fn peek_algorithm(compact: &str) -> Option<Algorithm> {
    let header = compact.split('.').next()?;
    let header: Value = serde_json::from_slice(&decode_part(header).ok()?).ok()?;
    Algorithm::parse(header.get("alg")?.as_str()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_hs256(claims: &Value, key: &[u8]) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
        let input = format!("{header}.{payload}");
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{input}.{sig}")
    }

    #[test]
    fn hs256_with_string_times_verifies_and_checks_claims() {
        let now = Utc::now();
        let exp = (now.timestamp() + 300).to_string();
        let claims = serde_json::json!({"iss": "c", "sub": "c", "aud": "http://x/v3/OS-OAUTH2/token",
            "jti": "j", "exp": exp, "iat": now.timestamp().to_string()});
        let a = Assertion::parse(&sign_hs256(&claims, b"secret")).unwrap();
        a.verify_hmac(b"secret").unwrap();
        assert!(a.verify_hmac(b"other").is_err());
        let auds = vec!["http://x/v3/OS-OAUTH2/token".to_string()];
        assert_eq!(check_claims(&a, "c", &auds, now).unwrap().0, "j");
        assert!(check_claims(&a, "d", &auds, now).is_err());
        assert!(check_claims(&a, "c", &["http://y".to_string()], now).is_err());
        let late = now + chrono::Duration::seconds(400);
        assert!(check_claims(&a, "c", &auds, late).is_err());
    }

    #[test]
    fn extreme_times_are_refused_without_overflow() {
        let now = Utc::now();
        let auds = vec!["a".to_string()];
        let two_days = now.timestamp() + 2 * 86400;
        for (exp, nbf) in [(i64::MAX, i64::MIN), (i64::MIN, 0), (two_days, 0)] {
            let claims = serde_json::json!({"iss": "c", "sub": "c", "aud": "a", "jti": "j",
                "exp": exp, "nbf": nbf, "iat": i64::MIN});
            let a = Assertion::parse(&sign_hs256(&claims, b"k")).unwrap();
            assert!(check_claims(&a, "c", &auds, now).is_err());
        }
    }

    #[test]
    fn none_and_garbage_are_refused() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(b"{}")
        );
        assert!(Assertion::parse(&none).is_err());
        assert!(Assertion::parse("a.b").is_err());
        assert!(Assertion::parse("!!.??.##").is_err());
        assert!(Assertion::parse("").is_err());
    }
}
