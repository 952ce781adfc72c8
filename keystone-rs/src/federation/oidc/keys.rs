//! The issuer's signing keys: discovered (`<issuer>/.well-known/openid-configuration` →
//! `jwks_uri`), fetched, cached, and fetched again when they grow old or a token names a
//! key we do not have (the issuer rotated) — the latter at most once per
//! `jwks_refetch_interval`, so forged `kid`s cannot turn keystone-rs against its issuer.

use super::error::OidcError;
use super::http::Http;
use super::settings::OidcSettings;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// An RSA key verifies RS* and PS*; an EC key the one algorithm of its curve.
#[derive(Clone, Copy)]
enum Fits {
    Family(AlgorithmFamily),
    Only(Algorithm),
}

/// One public key of the JWKS, with what it may verify.
struct SigningKey {
    kid: Option<String>,
    /// The JWK's `alg`, when it pins one.
    alg: Option<String>,
    /// The algorithms its key type can verify at all.
    fits: Fits,
    key: DecodingKey,
}

impl SigningKey {
    /// A JWK of the set, or `None` for one that verifies nothing we accept: symmetric
    /// (`oct`), for encryption, on a curve we do not verify, or malformed.
    fn from_jwk(value: &Value) -> Option<SigningKey> {
        let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            return None;
        }
        let fits = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Fits::Family(AlgorithmFamily::Rsa),
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => Fits::Only(Algorithm::ES256),
                EllipticCurve::P384 => Fits::Only(Algorithm::ES384),
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(p) => match p.curve {
                EllipticCurve::Ed25519 => Fits::Only(Algorithm::EdDSA),
                _ => return None,
            },
            AlgorithmParameters::OctetKey(_) => return None,
        };
        Some(SigningKey {
            kid: jwk.common.key_id.clone(),
            alg: value.get("alg").and_then(Value::as_str).map(String::from),
            fits,
            key: DecodingKey::from_jwk(&jwk).ok()?,
        })
    }

    fn verifies(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        let fits = match self.fits {
            Fits::Family(family) => alg.family() == family,
            Fits::Only(only) => alg == only,
        };
        fits && self.alg.as_deref().is_none_or(|a| a == algorithm_name(alg))
            && (kid.is_none() || self.kid.as_deref() == kid)
    }
}

/// The JOSE name (`RS256`, `EdDSA`): jsonwebtoken's variant names are exactly these.
pub fn algorithm_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

#[derive(Default)]
struct Cache {
    keys: Vec<SigningKey>,
    /// The discovery document's, when it offers one.
    introspection_endpoint: Option<String>,
    /// The discovery document's, for browser logins.
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    /// The last fetch that succeeded, and the last one tried.
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    last_error: Option<String>,
}

/// What keystone-rs knows of one issuer: its settings, an HTTP client, the cached keys.
pub struct IssuerKeys {
    pub settings: OidcSettings,
    pub http: Http,
    cache: Mutex<Cache>,
    fetches: AtomicU64,
}

impl IssuerKeys {
    pub fn new(settings: OidcSettings) -> IssuerKeys {
        IssuerKeys {
            http: Http::new(settings.http_timeout),
            settings,
            cache: Mutex::new(Cache::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the keys were fetched (or tried to be): the refetch rate limit is
    /// observable.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The keys that may have signed a token with this header `kid` and `alg`.
    pub fn keys_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<DecodingKey>, OidcError> {
        // Held across the fetch: concurrent requests wait for one fetch, not start many.
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let stale = cache
            .fetched_at
            .is_none_or(|t| t.elapsed() >= self.settings.jwks_cache_time);
        if stale
            && self.may_fetch(&cache)
            && let Err(e) = self.fetch(&mut cache)
        {
            if cache.keys.is_empty() {
                return Err(e);
            }
            // Old keys still verify what the issuer signed before it went away.
            tracing::warn!(issuer = %self.settings.issuer, error = %e, "keeping the cached OIDC keys");
        }
        let mut found = matching(&cache, kid, alg);
        if found.is_empty() && self.may_fetch(&cache) {
            self.fetch(&mut cache)?;
            found = matching(&cache, kid, alg);
        }
        if found.is_empty() {
            if cache.keys.is_empty()
                && let Some(e) = &cache.last_error
            {
                return Err(OidcError::unavailable(e.clone()));
            }
            return Err(OidcError::invalid(format!(
                "no key of the issuer verifies alg {} kid {kid:?}",
                algorithm_name(alg)
            )));
        }
        Ok(found)
    }

    /// The introspection endpoint: configured, or from the discovery document.
    pub fn introspection_endpoint(&self) -> Result<String, OidcError> {
        if let Some(url) = &self.settings.introspection_endpoint {
            return Ok(url.clone());
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.fetched_at.is_none() && self.may_fetch(&cache) {
            self.fetch(&mut cache)?;
        }
        if let Some(url) = &cache.introspection_endpoint {
            return Ok(url.clone());
        }
        match (&cache.fetched_at, &cache.last_error) {
            (None, Some(e)) => Err(OidcError::unavailable(e.clone())),
            _ => Err(OidcError::invalid(
                "opaque token, and the issuer offers no introspection endpoint",
            )),
        }
    }

    fn may_fetch(&self, cache: &Cache) -> bool {
        cache
            .attempted_at
            .is_none_or(|t| t.elapsed() >= self.settings.jwks_refetch_interval)
    }

    fn fetch(&self, cache: &mut Cache) -> Result<(), OidcError> {
        cache.attempted_at = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch_documents() {
            Ok(Fetched {
                keys,
                introspection_endpoint,
                authorization_endpoint,
                token_endpoint,
            }) => {
                cache.keys = keys;
                cache.introspection_endpoint = introspection_endpoint;
                cache.authorization_endpoint = authorization_endpoint;
                cache.token_endpoint = token_endpoint;
                cache.fetched_at = Some(Instant::now());
                cache.last_error = None;
                Ok(())
            }
            Err(e) => {
                let (OidcError::Unavailable(reason) | OidcError::Invalid(reason)) = &e;
                cache.last_error = Some(reason.clone());
                Err(e)
            }
        }
    }

    /// Discovery (unless both URLs are configured and there are no browser logins), then
    /// the key set.
    fn fetch_documents(&self) -> Result<Fetched, OidcError> {
        let s = &self.settings;
        let discovered = if s.jwks_uri.is_some()
            && s.introspection_endpoint.is_some()
            && s.client_id.is_none()
        {
            Map::new()
        } else {
            let url = format!(
                "{}/.well-known/openid-configuration",
                s.issuer.trim_end_matches('/')
            );
            let doc = self.http.get_json(&url)?;
            // OIDC Discovery §4.3: the document must name the issuer it was asked for.
            if doc.get("issuer").and_then(Value::as_str) != Some(s.issuer.as_str()) {
                return Err(OidcError::unavailable(format!(
                    "{url} names another issuer"
                )));
            }
            doc
        };
        let url_of = |name: &str| {
            discovered
                .get(name)
                .and_then(Value::as_str)
                .map(String::from)
        };
        let jwks_uri = s
            .jwks_uri
            .clone()
            .or_else(|| url_of("jwks_uri"))
            .ok_or_else(|| OidcError::unavailable("the discovery document has no jwks_uri"))?;
        let jwks = self.http.get_json(&jwks_uri)?;
        let Some(Value::Array(entries)) = jwks.get("keys") else {
            return Err(OidcError::unavailable(format!("{jwks_uri}: no keys")));
        };
        let keys = entries.iter().filter_map(SigningKey::from_jwk).collect();
        Ok(Fetched {
            keys,
            introspection_endpoint: url_of("introspection_endpoint"),
            authorization_endpoint: url_of("authorization_endpoint"),
            token_endpoint: url_of("token_endpoint"),
        })
    }

    /// The authorization and token endpoints of the discovery document (browser logins).
    pub fn code_flow_endpoints(&self) -> Result<(String, String), OidcError> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.authorization_endpoint.is_none() && self.may_fetch(&cache) {
            self.fetch(&mut cache)?;
        }
        match (&cache.authorization_endpoint, &cache.token_endpoint) {
            (Some(a), Some(t)) => Ok((a.clone(), t.clone())),
            _ => Err(OidcError::unavailable(match &cache.last_error {
                Some(e) => e.clone(),
                None => "the discovery document has no authorization or token endpoint".into(),
            })),
        }
    }
}

/// What one fetch of the issuer's documents found.
struct Fetched {
    keys: Vec<SigningKey>,
    introspection_endpoint: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
}

fn matching(cache: &Cache, kid: Option<&str>, alg: Algorithm) -> Vec<DecodingKey> {
    cache
        .keys
        .iter()
        .filter(|k| k.verifies(kid, alg))
        .map(|k| k.key.clone())
        .collect()
}
