//! The browser login at an OpenID provider, for WebSSO: the authorization code flow
//! (OIDC Core §3.1) with PKCE (RFC 7636, S256), where Keystone relies on Apache's
//! mod_auth_openidc.
//!
//! Nothing is stored server-side, so any node behind the load balancer can finish a login
//! another node started: what the callback needs (provider, protocol, dashboard, nonce,
//! code verifier, redirect URI) travels in the `state` parameter, sealed with a Fernet key
//! of the shared repository (tamper-proof, readable by no one else, dated by its
//! envelope). The state is bound to the browser that started the login: a random secret
//! in an HttpOnly cookie whose SHA-256 is sealed inside it, so a state (or a code) lured
//! into another browser is useless. The code itself is single use at the provider (RFC
//! 6749 §4.1.2), which is what refuses a replayed callback.

use super::error::OidcError;
use super::keys::IssuerKeys;
use super::settings::ClientAuth;
use super::{bearer_claims, jwt};
use crate::fernet::KeyRing;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Sealed states start with this, so no other Fernet token of the repository (a Keystone
/// token, a receipt) can pass for one.
const STATE_MAGIC: &[u8] = b"ksrs-websso-state-1\n";

/// The binding cookie's name is this and the login's random id: logins in several tabs
/// do not overwrite each other's cookie.
pub const COOKIE_PREFIX: &str = "ksrs_websso_";

/// Clock difference tolerated between the node that sealed a state and the one opening it.
const CLOCK_SKEW_SECS: u64 = 60;

/// Query components keep only the unreserved characters (RFC 3986 §2.3).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What the callback needs, sealed in `state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub idp_id: String,
    pub protocol_id: String,
    /// The dashboard the token goes back to (checked again at the callback).
    pub origin: String,
    pub redirect_uri: String,
    nonce: String,
    code_verifier: String,
    /// The login's id: the binding cookie's name is [`COOKIE_PREFIX`] and this.
    pub flow: String,
    /// SHA-256 of the binding cookie's value, URL-safe base64.
    binding: String,
}

impl Pending {
    pub fn cookie_name(&self) -> String {
        format!("{COOKIE_PREFIX}{}", self.flow)
    }
}

/// A login sent to the provider: where the browser goes, and the cookie it keeps.
pub struct Started {
    pub location: String,
    pub cookie_name: String,
    pub cookie_value: String,
}

fn random(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn sha256_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// Begin a login at `issuer` for `origin`: the authorization request (RFC 6749 §4.1.1
/// with OIDC's `nonce` and PKCE's S256 challenge) and the binding cookie. Blocking (the
/// issuer's discovery document may need fetching).
pub fn start(
    issuer: &IssuerKeys,
    keys: &KeyRing,
    origin: &str,
    redirect_uri: &str,
) -> crate::error::Result<Started> {
    let settings = &issuer.settings;
    let client_id = settings
        .client_id
        .as_deref()
        .ok_or_else(|| OidcError::invalid("no client_id for browser logins"))?;
    let (authorization_endpoint, _) = issuer.code_flow_endpoints()?;
    let cookie_value = random(32);
    let pending = Pending {
        idp_id: settings.idp_id.clone(),
        protocol_id: settings.protocol_id.clone(),
        origin: origin.to_string(),
        redirect_uri: redirect_uri.to_string(),
        nonce: random(24),
        code_verifier: random(32),
        flow: random(12),
        binding: sha256_b64(&cookie_value),
    };
    let state = seal(keys, &pending)?;
    let scope = settings.code_flow.scopes.join(" ");
    let challenge = sha256_b64(&pending.code_verifier);
    let params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope.as_str()),
        ("state", state.as_str()),
        ("nonce", pending.nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
        .collect::<Vec<_>>()
        .join("&");
    let separator = if authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(Started {
        location: format!("{authorization_endpoint}{separator}{query}"),
        cookie_name: pending.cookie_name(),
        cookie_value,
    })
}

pub fn seal(keys: &KeyRing, pending: &Pending) -> crate::error::Result<String> {
    let mut plaintext = STATE_MAGIC.to_vec();
    plaintext.extend(
        serde_json::to_vec(pending).map_err(|e| crate::error::Error::internal(e.to_string()))?,
    );
    keys.encrypt(&plaintext)
}

/// The pending login a `state` seals, whatever its age (the age is checked by [`check`]
/// once the provider's settings are known). Anything else is refused.
pub fn open(keys: &KeyRing, state: &str) -> Result<(Pending, u64), OidcError> {
    let refused = || OidcError::invalid("the state is not one of ours");
    if state.is_empty() || state.len() > 4096 {
        return Err(refused());
    }
    let opened = keys
        .decrypt(state)
        .map_err(|e| OidcError::unavailable(e.message))?
        .ok_or_else(refused)?;
    let json = opened
        .plaintext
        .strip_prefix(STATE_MAGIC)
        .ok_or_else(refused)?;
    let pending = serde_json::from_slice(json).map_err(|_| refused())?;
    Ok((pending, opened.timestamp))
}

/// A callback's state is young enough (`login_timeout`), and comes back to the browser
/// that started it: the cookie named after the login holds the secret whose hash is sealed.
pub fn check(
    pending: &Pending,
    sealed_at: u64,
    issuer: &IssuerKeys,
    cookie: Option<&str>,
    now: u64,
) -> Result<(), OidcError> {
    let timeout = issuer.settings.code_flow.login_timeout.as_secs();
    if sealed_at > now + CLOCK_SKEW_SECS || now.saturating_sub(sealed_at) > timeout {
        return Err(OidcError::invalid(
            "the login took too long (state expired)",
        ));
    }
    let Some(cookie) = cookie else {
        return Err(OidcError::invalid(
            "the browser did not bring the login's cookie",
        ));
    };
    let presented = sha256_b64(cookie);
    if !bool::from(presented.as_bytes().ct_eq(pending.binding.as_bytes())) {
        return Err(OidcError::invalid(
            "the login's cookie is not the one its state was sealed for",
        ));
    }
    Ok(())
}

/// Finish a login: exchange `code` at the token endpoint (with the PKCE verifier), verify
/// the ID token (signature, `iss`, `aud` = our client, `azp`, times, `nonce`) and return its
/// claims — with the access token's beneath them when `access_token_claims` is set.
/// Blocking.
pub fn finish(
    issuer: &IssuerKeys,
    pending: &Pending,
    code: &str,
    now: i64,
) -> Result<Map<String, Value>, OidcError> {
    let settings = &issuer.settings;
    let (Some(client_id), Some(client_secret)) = (&settings.client_id, &settings.client_secret)
    else {
        return Err(OidcError::invalid("no client for browser logins"));
    };
    if code.is_empty() || code.len() > 4096 {
        return Err(OidcError::invalid("no usable authorization code"));
    }
    let (_, token_endpoint) = issuer.code_flow_endpoints()?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", pending.redirect_uri.as_str()),
        ("code_verifier", pending.code_verifier.as_str()),
    ];
    let basic = match settings.code_flow.client_auth {
        ClientAuth::Basic => Some((client_id.as_str(), client_secret.as_str())),
        ClientAuth::Post => {
            form.push(("client_id", client_id));
            form.push(("client_secret", client_secret));
            None
        }
    };
    let answer = issuer.http.token_request(&token_endpoint, basic, &form)?;
    let id_token = answer
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| OidcError::invalid("the token endpoint gave no ID token"))?;
    let mut claims = jwt::verify_for(issuer, id_token, std::slice::from_ref(client_id), now)?;
    check_id_token(&claims, client_id, &pending.nonce)?;
    if settings.code_flow.access_token_claims {
        let access_token = answer
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| OidcError::invalid("the token endpoint gave no access token"))?;
        for (name, value) in bearer_claims(issuer, access_token)? {
            claims.entry(name).or_insert(value);
        }
    }
    Ok(claims)
}

/// What OIDC Core §3.1.3.7 asks of an ID token beyond its signature, issuer, audience
/// and times: with several audiences an `azp` naming us, and our `nonce`.
fn check_id_token(
    claims: &Map<String, Value>,
    client_id: &str,
    nonce: &str,
) -> Result<(), OidcError> {
    let several = matches!(claims.get("aud"), Some(Value::Array(a)) if a.len() > 1);
    match claims.get("azp") {
        Some(Value::String(azp)) if azp != client_id => {
            return Err(OidcError::invalid("the ID token's azp is another client"));
        }
        None if several => {
            return Err(OidcError::invalid(
                "the ID token has several audiences and no azp",
            ));
        }
        _ => {}
    }
    let sent = nonce.as_bytes();
    match claims.get("nonce").and_then(Value::as_str) {
        Some(got) if bool::from(got.as_bytes().ct_eq(sent)) => Ok(()),
        _ => Err(OidcError::invalid("the ID token's nonce is not ours")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::oidc::OidcSettings;
    use serde_json::json;

    fn keys(first: u8) -> KeyRing {
        let key: Vec<u8> = (first..first + 32).collect();
        KeyRing::from_keys(&[URL_SAFE_NO_PAD.encode(key)]).unwrap()
    }

    fn issuer() -> IssuerKeys {
        IssuerKeys::new(
            OidcSettings::from_section("openid_connect:idp:openid", |o| match o {
                "issuer" => Some("https://idp.example".into()),
                "client_id" => Some("ks".into()),
                "client_secret" => Some("s".into()),
                "login_timeout" => Some("300".into()),
                _ => None,
            })
            .unwrap(),
        )
    }

    fn pending(cookie: &str) -> Pending {
        Pending {
            idp_id: "idp".into(),
            protocol_id: "openid".into(),
            origin: "https://dash/".into(),
            redirect_uri: "https://ks/v3/auth/OS-FEDERATION/websso/openid".into(),
            nonce: "n".into(),
            code_verifier: "v".into(),
            flow: "0123456789abcdef".into(),
            binding: sha256_b64(cookie),
        }
    }

    #[test]
    fn a_state_opens_only_with_our_keys_and_untouched() {
        let k = keys(0);
        let p = pending("secret");
        let sealed = seal(&k, &p).unwrap();
        let (opened, at) = open(&k, &sealed).unwrap();
        assert_eq!(opened, p);
        assert!(at > 1_700_000_000);
        assert!(open(&keys(1), &sealed).is_err());
        let mut bytes = sealed.clone().into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert!(open(&k, &String::from_utf8(bytes).unwrap()).is_err());
        assert!(open(&k, "").is_err());
        assert!(open(&k, "not-a-state").is_err());
        // Another Fernet token of the same keys is no state.
        let other = k.encrypt(br#"{"idp_id":"idp"}"#).unwrap();
        assert!(open(&k, &other).is_err());
    }

    #[test]
    fn a_state_is_bound_to_its_cookie_and_its_time() {
        let i = issuer();
        let p = pending("secret");
        let now = 2_000_000_000;
        check(&p, now - 10, &i, Some("secret"), now).unwrap();
        assert!(check(&p, now - 10, &i, None, now).is_err());
        assert!(check(&p, now - 10, &i, Some("secreT"), now).is_err());
        assert!(check(&p, now - 301, &i, Some("secret"), now).is_err());
        assert!(check(&p, now + 61, &i, Some("secret"), now).is_err());
        check(&p, now + 30, &i, Some("secret"), now).unwrap();
    }

    #[test]
    fn id_tokens_need_our_nonce_and_azp() {
        let c = |v: Value| v.as_object().unwrap().clone();
        check_id_token(&c(json!({"aud": "ks", "nonce": "n"})), "ks", "n").unwrap();
        check_id_token(
            &c(json!({"aud": ["ks", "x"], "azp": "ks", "nonce": "n"})),
            "ks",
            "n",
        )
        .unwrap();
        assert!(check_id_token(&c(json!({"aud": "ks"})), "ks", "n").is_err());
        assert!(check_id_token(&c(json!({"aud": "ks", "nonce": "m"})), "ks", "n").is_err());
        assert!(check_id_token(&c(json!({"aud": ["ks", "x"], "nonce": "n"})), "ks", "n").is_err());
        assert!(
            check_id_token(
                &c(json!({"aud": "ks", "azp": "x", "nonce": "n"})),
                "ks",
                "n"
            )
            .is_err()
        );
    }
}
