//! `[jwt_tokens] jws_algorithm`: the signature algorithms Keystone's JWS provider offers.

/// Keystone's `SUPPORTED_JWS_ALGORITHMS`, by their JOSE names (RFC 7518 §3.1, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (Keystone's default).
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
    ];

    /// The JOSE name, as `jws_algorithm` spells it and the `alg` header carries it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// A name config.rs already checked against `SUPPORTED_JWS_ALGORITHMS`.
    pub fn from_config(name: &str) -> crate::error::Result<Algorithm> {
        Algorithm::parse(name).ok_or_else(|| {
            crate::error::Error::internal(format!("unsupported JWS algorithm {name}"))
        })
    }

    /// Exact, case-sensitive (PyJWT compares the header's `alg` as written).
    pub fn parse(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_offers_exactly_these() {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names, crate::config::SUPPORTED_JWS_ALGORITHMS);
        assert_eq!(Algorithm::parse("es256"), None);
        assert_eq!(Algorithm::parse("EdDSA"), Some(Algorithm::EdDSA));
    }
}
