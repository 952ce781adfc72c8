//! JWS key pairs in the PEM files `keystone-manage create_jws_keypair` writes: the
//! private key as PKCS#8 (`BEGIN PRIVATE KEY`), the public key as SubjectPublicKeyInfo
//! (`BEGIN PUBLIC KEY`), for each of Keystone's algorithms.

use super::algorithm::Algorithm;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand::rngs::OsRng;

/// A private key that signs tokens (`private.pem`).
pub enum SigningKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A public key that verifies tokens (any file of the public key repository).
#[derive(Clone)]
pub enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl std::fmt::Debug for SigningKey {
    /// Never the key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.algorithm().name())
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyingKey({})", self.algorithm().name())
    }
}

impl SigningKey {
    /// A PKCS#8 PEM private key of any of the four kinds; `None` for anything else.
    pub fn from_pem(pem: &str) -> Option<SigningKey> {
        if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
            return Some(SigningKey::P256(k.into()));
        }
        if let Ok(k) = p384::SecretKey::from_pkcs8_pem(pem) {
            return Some(SigningKey::P384(k.into()));
        }
        if let Ok(k) = p521::SecretKey::from_pkcs8_pem(pem) {
            return p521::ecdsa::SigningKey::from_slice(&k.to_bytes())
                .ok()
                .map(SigningKey::P521);
        }
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .ok()
            .map(SigningKey::Ed25519)
    }

    /// The algorithm this key signs with (a key signs with exactly one).
    pub fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::P256(_) => Algorithm::ES256,
            SigningKey::P384(_) => Algorithm::ES384,
            SigningKey::P521(_) => Algorithm::ES512,
            SigningKey::Ed25519(_) => Algorithm::EdDSA,
        }
    }

    /// The JWS signature of `input`: ECDSA as the fixed-size `r || s` (RFC 7518 §3.4),
    /// not DER.
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer;
        match self {
            SigningKey::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(input);
                s.to_bytes().to_vec()
            }
            SigningKey::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(input);
                s.to_bytes().to_vec()
            }
            SigningKey::P521(k) => {
                // P-521 has no deterministic (RFC 6979) signer in p521 0.13: a random nonce,
                // as OpenSSL (Keystone's signer) uses.
                use p521::ecdsa::signature::RandomizedSigner;
                let s: p521::ecdsa::Signature = k.sign_with_rng(&mut OsRng, input);
                s.to_bytes().to_vec()
            }
            SigningKey::Ed25519(k) => k.sign(input).to_bytes().to_vec(),
        }
    }
}

impl VerifyingKey {
    /// A SubjectPublicKeyInfo PEM public key of any of the four kinds.
    pub fn from_pem(pem: &str) -> Option<VerifyingKey> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Some(VerifyingKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Some(VerifyingKey::P384(k));
        }
        if let Ok(k) = p521::PublicKey::from_public_key_pem(pem) {
            return p521::ecdsa::VerifyingKey::from_sec1_bytes(k.to_sec1_bytes().as_ref())
                .ok()
                .map(VerifyingKey::P521);
        }
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .ok()
            .map(VerifyingKey::Ed25519)
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            VerifyingKey::P256(_) => Algorithm::ES256,
            VerifyingKey::P384(_) => Algorithm::ES384,
            VerifyingKey::P521(_) => Algorithm::ES512,
            VerifyingKey::Ed25519(_) => Algorithm::EdDSA,
        }
    }

    /// Whether `signature` is this key's signature of `input` under `algorithm`. A key
    /// of another kind never verifies (no algorithm confusion).
    pub fn verifies(&self, algorithm: Algorithm, input: &[u8], signature: &[u8]) -> bool {
        use ed25519_dalek::Verifier;
        if algorithm != self.algorithm() {
            return false;
        }
        match self {
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify(input, &s).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify(input, &s).is_ok()),
            VerifyingKey::P521(k) => p521::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify(input, &s).is_ok()),
            VerifyingKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify_strict(input, &s).is_ok()),
        }
    }
}

/// A fresh key pair for `algorithm`, as PEM text: (private PKCS#8, public SPKI) — what
/// Keystone's `jwt_utils.create_jws_keypair` writes.
pub fn generate_pem_pair(algorithm: Algorithm) -> Result<(String, String), String> {
    fn failed(e: impl std::fmt::Display) -> String {
        format!("could not encode the key pair: {e}")
    }
    let (private, public) = match algorithm {
        Algorithm::ES256 => {
            let k = p256::SecretKey::random(&mut OsRng);
            (
                k.to_pkcs8_pem(LineEnding::LF).map_err(failed)?.to_string(),
                k.public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(failed)?,
            )
        }
        Algorithm::ES384 => {
            let k = p384::SecretKey::random(&mut OsRng);
            (
                k.to_pkcs8_pem(LineEnding::LF).map_err(failed)?.to_string(),
                k.public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(failed)?,
            )
        }
        Algorithm::ES512 => {
            let k = p521::SecretKey::random(&mut OsRng);
            (
                k.to_pkcs8_pem(LineEnding::LF).map_err(failed)?.to_string(),
                k.public_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(failed)?,
            )
        }
        Algorithm::EdDSA => {
            let k = ed25519_dalek::SigningKey::generate(&mut OsRng);
            // PKCS#8 v1 (the seed only), as `cryptography` writes it: its parser refuses
            // the v2 form with the public key that ed25519-dalek writes by default.
            let seed_only = ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: k.to_bytes(),
                public_key: None,
            };
            (
                seed_only
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(failed)?
                    .to_string(),
                k.verifying_key()
                    .to_public_key_pem(LineEnding::LF)
                    .map_err(failed)?,
            )
        }
    };
    Ok((private, public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips_through_pem() {
        for alg in Algorithm::ALL {
            let (private, public) = generate_pem_pair(alg).unwrap();
            assert!(
                private.starts_with("-----BEGIN PRIVATE KEY-----\n"),
                "{alg:?}"
            );
            assert!(
                public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
                "{alg:?}"
            );
            let signer = SigningKey::from_pem(&private).unwrap();
            let verifier = VerifyingKey::from_pem(&public).unwrap();
            assert_eq!(signer.algorithm(), alg);
            assert_eq!(verifier.algorithm(), alg);
            let sig = signer.sign(b"header.payload");
            assert!(verifier.verifies(alg, b"header.payload", &sig));
            assert!(!verifier.verifies(alg, b"header.payloaD", &sig));
            // The right bytes under another algorithm's name never verify.
            for other in Algorithm::ALL.into_iter().filter(|a| *a != alg) {
                assert!(!verifier.verifies(other, b"header.payload", &sig));
            }
        }
    }

    #[test]
    fn keys_of_another_pair_do_not_verify() {
        let (private, _) = generate_pem_pair(Algorithm::ES256).unwrap();
        let (_, other_public) = generate_pem_pair(Algorithm::ES256).unwrap();
        let sig = SigningKey::from_pem(&private).unwrap().sign(b"x");
        let other = VerifyingKey::from_pem(&other_public).unwrap();
        assert!(!other.verifies(Algorithm::ES256, b"x", &sig));
    }

    #[test]
    fn garbage_is_no_key() {
        assert!(SigningKey::from_pem("not a key").is_none());
        assert!(
            VerifyingKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .is_none()
        );
    }
}
