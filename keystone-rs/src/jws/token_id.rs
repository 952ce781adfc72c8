//! Token ids: a [`TokenPayload`] as the claims of a compact JWS and back — Keystone's
//! `JWSFormatter` (keystone/token/providers/jws/core.py), claim for claim, so Python
//! Keystone and keystone-rs sharing the key repositories validate each other's tokens.

use super::algorithm::Algorithm;
use super::repository::JwsKeys;
use crate::error::{Error, Result};
use crate::fernet::{FederatedInfo, Scope, TokenPayload};
use crate::json::{Style, to_ascii_string};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// What validation may be asked to read: a Keystone JWS token is a few hundred bytes;
/// anything far longer is refused before decoding.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The claims of a token, in Keystone's order (PyJWT keeps the dict's order), without the
/// absent ones — Keystone drops every `None`.
pub fn claims(payload: &TokenPayload, issued_at: DateTime<Utc>) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("sub".into(), json!(payload.user_id));
    c.insert("iat".into(), json!(issued_at.timestamp()));
    c.insert("exp".into(), json!(payload.expires_at.timestamp()));
    c.insert("openstack_methods".into(), json!(payload.methods));
    c.insert("openstack_audit_ids".into(), json!(payload.audit_ids));
    let mut optional = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            c.insert(name.into(), v);
        }
    };
    optional("openstack_system", payload.system().map(|s| json!(s)));
    optional("openstack_domain_id", payload.domain_id().map(|s| json!(s)));
    optional(
        "openstack_project_id",
        payload.project_id().map(|s| json!(s)),
    );
    optional(
        "openstack_trust_id",
        payload.trust_id.as_ref().map(|s| json!(s)),
    );
    let federated = payload.federated.as_ref();
    // Keystone's token model holds the groups as `{"id": …}` objects and signs them so.
    optional(
        "openstack_group_ids",
        federated.map(|f| Value::Array(f.group_ids.iter().map(|id| json!({ "id": id })).collect())),
    );
    optional(
        "openstack_idp_id",
        federated.map(|f| json!(f.identity_provider_id)),
    );
    optional(
        "openstack_protocol_id",
        federated.map(|f| json!(f.protocol_id)),
    );
    optional(
        "openstack_access_token_id",
        payload.access_token_id.as_ref().map(|s| json!(s)),
    );
    optional(
        "openstack_app_cred_id",
        payload.app_cred_id.as_ref().map(|s| json!(s)),
    );
    optional(
        "openstack_thumbprint",
        payload.thumbprint.as_ref().map(|s| json!(s)),
    );
    c
}

/// Sign `payload` with `private.pem` now: PyJWT's bytes — header `{"alg":…,"typ":"JWT"}`
/// and the claims, both compact JSON with non-ASCII escaped, base64url without padding.
pub fn encode(
    keys: &JwsKeys,
    algorithm: Algorithm,
    payload: &TokenPayload,
) -> Result<(String, DateTime<Utc>)> {
    let now = Utc::now();
    let issued_at = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    encode_at(keys, algorithm, payload, issued_at)
}

/// [`encode`] at a chosen `issued_at` (whole seconds) — for reproducing Keystone's bytes.
pub fn encode_at(
    keys: &JwsKeys,
    algorithm: Algorithm,
    payload: &TokenPayload,
    issued_at: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>)> {
    let loaded = keys.loaded();
    // A private.pem swapped for a key of another kind after start-up: Keystone's PyJWT
    // fails the same way (the issue 500s), and the operator reads why.
    if loaded.signing.algorithm() != algorithm {
        return Err(Error::internal(format!(
            "private.pem holds a {} key but [jwt_tokens] jws_algorithm is {}",
            loaded.signing.algorithm().name(),
            algorithm.name()
        )));
    }
    let header = json!({ "alg": algorithm.name(), "typ": "JWT" });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(to_ascii_string(&header, Style::Compact)),
        URL_SAFE_NO_PAD.encode(to_ascii_string(&claims(payload, issued_at), Style::Compact))
    );
    let signature = loaded.signing.sign(signing_input.as_bytes());
    Ok((
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)),
        issued_at,
    ))
}

/// Keystone's `TokenNotFound` for a token no public key verifies (or that is no JWS).
pub fn not_found(token_id: &str) -> Error {
    Error::not_found(format!("Could not find token: {token_id}."))
}

/// Verify with every public key whose algorithm `jws_accepted_algorithms` lists, then read
/// the claims. Expiry is not checked here (Keystone decodes with `verify_exp` off and
/// checks it with the allow-expired window itself).
pub fn decode(
    keys: &JwsKeys,
    accepted: &[Algorithm],
    token_id: &str,
) -> Result<(TokenPayload, DateTime<Utc>)> {
    let refused = || not_found(token_id);
    if token_id.len() > MAX_TOKEN_LEN {
        return Err(refused().with_detail("token too long"));
    }
    let mut parts = token_id.split('.');
    let (Some(header), Some(body), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refused().with_detail("not a compact JWS"));
    };
    let header: Map<String, Value> = decode_json(header).ok_or_else(refused)?;
    let algorithm = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::parse)
        .filter(|a| accepted.contains(a))
        .ok_or_else(|| refused().with_detail("JWS algorithm not accepted"))?;
    // RFC 7515 §4.1.11: an extension we do not understand must not be ignored.
    if header.contains_key("crit") {
        return Err(refused().with_detail("JWS header has crit"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| refused().with_detail("JWS signature is not base64url"))?;
    let signing_input = &token_id[..header_and_body_len(token_id)];
    let verified = keys
        .loaded()
        .verifying
        .iter()
        .any(|k| k.verifies(algorithm, signing_input.as_bytes(), &signature));
    if !verified {
        return Err(refused().with_detail("no public key verifies the JWS"));
    }
    let claims: Map<String, Value> = decode_json(body).ok_or_else(refused)?;
    payload_from(&claims)
        .ok_or_else(|| refused().with_detail("JWS claims are not a Keystone token's"))
}

fn header_and_body_len(token_id: &str) -> usize {
    token_id.rfind('.').unwrap_or(0)
}

fn decode_json(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Keystone's `validate_token` reading of the claims; a claim of the wrong type is no
/// Keystone token (Keystone's own reading would fail with a 500).
fn payload_from(c: &Map<String, Value>) -> Option<(TokenPayload, DateTime<Utc>)> {
    let string = |name: &str| -> Option<Option<String>> {
        match c.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        }
    };
    let strings = |name: &str| -> Option<Vec<String>> {
        c.get(name)?
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let time = |name: &str| -> Option<DateTime<Utc>> {
        let n = c.get(name)?;
        let secs = n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f as i64)
        })?;
        DateTime::from_timestamp(secs, 0)
    };
    let user_id = string("sub")??;
    let issued_at = time("iat")?;
    let expires_at = time("exp")?;
    let methods = strings("openstack_methods")?;
    let audit_ids = strings("openstack_audit_ids")?;
    if audit_ids.is_empty() {
        return None;
    }
    // Keystone's token model: system scope wins, then domain, then project.
    let scope = match (
        string("openstack_system")?,
        string("openstack_domain_id")?,
        string("openstack_project_id")?,
    ) {
        (Some(system), _, _) => Scope::System(system),
        (None, Some(domain), _) => Scope::Domain(domain),
        (None, None, Some(project)) => Scope::Project(project),
        (None, None, None) => Scope::Unscoped,
    };
    let mut payload = TokenPayload::new(user_id, methods, scope, expires_at, audit_ids);
    payload.trust_id = string("openstack_trust_id")?;
    payload.access_token_id = string("openstack_access_token_id")?;
    payload.app_cred_id = string("openstack_app_cred_id")?;
    payload.thumbprint = string("openstack_thumbprint")?;
    payload.federated = match c.get("openstack_group_ids") {
        None | Some(Value::Null) => None,
        Some(groups) => Some(FederatedInfo {
            group_ids: groups
                .as_array()?
                .iter()
                .map(|g| g.get("id").and_then(Value::as_str).map(str::to_string))
                .collect::<Option<Vec<_>>>()?,
            identity_provider_id: string("openstack_idp_id")?.unwrap_or_default(),
            protocol_id: string("openstack_protocol_id")?.unwrap_or_default(),
        }),
    };
    Some((payload, issued_at))
}
