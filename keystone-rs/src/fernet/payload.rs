//! Keystone's msgpack token payloads, versions 0..=10 (`token_formatters.py`), packed and
//! unpacked byte-for-byte as Python Keystone does (spec fernet-tokens.md §3–§4).
//!
//! The plaintext is a msgpack array `[version, …fields]`. Three id conventions coexist:
//! the "ID pair" `[is_uuid, bin16 | str | nil]` (most ids), raw UUID bytes (v3 trust id;
//! v1 domain id, which may also be the configured default domain id as a plain str), and
//! plain strings (v8 system, v4–6 protocol). Decoding accepts what Python accepts: str or
//! bin wherever bytes or text are expected (tokens from msgpack < 1.0 wrote bytes as str),
//! int or float for the expiry, and extra trailing fields are ignored as Python ignores
//! them. Decoding never panics; anything Python would choke on is an error.

use super::model::{FederatedInfo, Scope, TokenPayload};
use super::pyuuid::{python_uuid_bytes, uuid_hex};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::python::repr::msgpack_repr;
use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Datelike, Utc};
use rmpv::Value;

/// Python's `urlsafe_b64decode(s + '==')` does not care about padding or trailing bits.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Deepest nesting a payload has is 4 (array → groups → pair → id); rmpv counts
/// containers and their data separately, so leave room, but refuse deep garbage.
const MAX_MSGPACK_DEPTH: usize = 32;

pub const UNSCOPED: u8 = 0;
pub const DOMAIN_SCOPED: u8 = 1;
pub const PROJECT_SCOPED: u8 = 2;
pub const TRUST_SCOPED: u8 = 3;
pub const FEDERATED_UNSCOPED: u8 = 4;
pub const FEDERATED_PROJECT_SCOPED: u8 = 5;
pub const FEDERATED_DOMAIN_SCOPED: u8 = 6;
pub const OAUTH1_SCOPED: u8 = 7;
pub const SYSTEM_SCOPED: u8 = 8;
pub const APPLICATION_CREDENTIAL_SCOPED: u8 = 9;
pub const OAUTH2_MTLS_SCOPED: u8 = 10;

/// Keystone's `[DEFAULT] max_token_size`: not a limit, only an INFO log line when a minted
/// token is longer (some deployments store token ids in 255-character columns).
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 255;

/// The deployment settings a payload depends on. Every node sharing a key repository must
/// have the same `[auth] methods` (in the same order) and `[identity] default_domain_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadCodec {
    /// `[auth] methods`: position i ↔ bit 2^i.
    auth_methods: Vec<String>,
    default_domain_id: String,
    /// `[DEFAULT] max_token_size`: only for the INFO line Keystone logs for longer tokens.
    max_token_size: usize,
}

impl PayloadCodec {
    pub fn new(auth_methods: Vec<String>, default_domain_id: impl Into<String>) -> Self {
        PayloadCodec {
            auth_methods,
            default_domain_id: default_domain_id.into(),
            max_token_size: DEFAULT_MAX_TOKEN_SIZE,
        }
    }

    pub fn from_config(config: &Config) -> Self {
        let mut codec = Self::new(
            config.auth.methods.clone(),
            config.identity.default_domain_id.clone(),
        );
        codec.max_token_size = config.default.max_token_size;
        codec
    }

    pub fn max_token_size(&self) -> usize {
        self.max_token_size
    }

    pub fn default_domain_id(&self) -> &str {
        &self.default_domain_id
    }

    /// Keystone's `convert_method_list_to_integer`: the bits of the configured methods;
    /// names not configured contribute nothing (so `oauth2_credential` packs to 0).
    pub fn methods_to_bits(&self, methods: &[String]) -> u64 {
        self.auth_methods
            .iter()
            .enumerate()
            .filter(|(_, configured)| methods.contains(configured))
            .filter_map(|(position, _)| 1u64.checked_shl(u32::try_from(position).ok()?))
            .fold(0, |bits, bit| bits | bit)
    }

    /// Keystone's `convert_integer_to_method_list`, order included: descending bit, and a
    /// value with a bit above the highest configured one yields nothing for that part
    /// (Python's `int(value / bit) == 1` test).
    pub fn bits_to_methods(&self, value: i128) -> Vec<String> {
        let mut remaining = value;
        let mut methods = Vec::new();
        if remaining == 0 {
            return methods;
        }
        for (position, name) in self.auth_methods.iter().enumerate().rev() {
            let Some(bit) = u32::try_from(position)
                .ok()
                .and_then(|p| 1i128.checked_shl(p))
            else {
                continue;
            };
            if remaining >= bit && remaining / bit == 1 {
                methods.push(name.clone());
                remaining -= bit;
            }
        }
        methods
    }

    /// Serialize a payload to the msgpack plaintext Keystone would produce for it.
    pub fn pack(&self, payload: &TokenPayload) -> Result<Vec<u8>> {
        let version = payload.payload_version()?;
        let fields = self.fields_for(version, payload)?;
        let mut array = Vec::with_capacity(fields.len() + 1);
        array.push(Value::from(version));
        array.extend(fields);
        let mut out = Vec::with_capacity(128);
        rmpv::encode::write_value(&mut out, &Value::Array(array))
            .map_err(|e| Error::internal(format!("token payload: msgpack encoding: {e}")))?;
        Ok(out)
    }

    fn fields_for(&self, version: u8, p: &TokenPayload) -> Result<Vec<Value>> {
        let user = pack_pair(Some(&p.user_id));
        let methods = Value::from(self.methods_to_bits(&p.methods));
        let expires = pack_expires(p.expires_at);
        let audit = pack_audit_ids(&p.audit_ids)?;
        let project = || pack_pair(p.project_id());
        let fields = match version {
            UNSCOPED => vec![user, methods, expires, audit],
            DOMAIN_SCOPED => {
                let domain = self.pack_v1_domain(p.domain_id().unwrap_or_default())?;
                vec![user, methods, domain, expires, audit]
            }
            PROJECT_SCOPED => vec![user, methods, project(), expires, audit],
            TRUST_SCOPED => {
                let trust = pack_raw_uuid(p.trust_id.as_deref().unwrap_or_default(), "trust")?;
                vec![user, methods, project(), expires, audit, trust]
            }
            FEDERATED_UNSCOPED | FEDERATED_PROJECT_SCOPED | FEDERATED_DOMAIN_SCOPED => {
                let Some(fed) = &p.federated else {
                    return Err(Error::internal("token payload: federated info missing"));
                };
                let groups =
                    Value::Array(fed.group_ids.iter().map(|g| pack_pair(Some(g))).collect());
                let idp = pack_pair(Some(&fed.identity_provider_id));
                let protocol = Value::from(fed.protocol_id.as_str());
                if version == FEDERATED_UNSCOPED {
                    vec![user, methods, groups, idp, protocol, expires, audit]
                } else {
                    let scope = pack_pair(p.project_id().or(p.domain_id()));
                    vec![user, methods, scope, groups, idp, protocol, expires, audit]
                }
            }
            OAUTH1_SCOPED => {
                let access = pack_pair(p.access_token_id.as_deref());
                vec![user, methods, project(), access, expires, audit]
            }
            SYSTEM_SCOPED => {
                let system = Value::from(p.system().unwrap_or_default());
                vec![user, methods, system, expires, audit]
            }
            APPLICATION_CREDENTIAL_SCOPED => {
                let app_cred = pack_pair(p.app_cred_id.as_deref());
                vec![user, methods, project(), expires, audit, app_cred]
            }
            OAUTH2_MTLS_SCOPED => {
                let domain = pack_pair(p.domain_id());
                // Always a plain-string pair, never UUID-packed.
                let thumbprint = Value::Array(vec![
                    Value::Boolean(false),
                    p.thumbprint.as_deref().map_or(Value::Nil, Value::from),
                ]);
                vec![user, methods, project(), domain, expires, audit, thumbprint]
            }
            other => {
                return Err(Error::internal(format!(
                    "token payload: no version {other}"
                )));
            }
        };
        Ok(fields)
    }

    /// v1 domain id: raw UUID bytes, or the default domain id as a plain string; any other
    /// id cannot be packed (Python raises, the request fails with 500).
    fn pack_v1_domain(&self, domain_id: &str) -> Result<Value> {
        if let Some(bytes) = python_uuid_bytes(domain_id) {
            return Ok(Value::Binary(bytes.to_vec()));
        }
        if domain_id == self.default_domain_id {
            return Ok(Value::from(domain_id));
        }
        Err(Error::internal(format!(
            "token payload: domain id {domain_id:?} is neither a UUID nor the default domain id"
        )))
    }

    /// Parse a decrypted plaintext. Errors follow Keystone: an unknown version is its 404
    /// "This is not a recognized Fernet payload version: …"; a payload Python could not
    /// take apart is a 500 (only a key holder can produce one).
    pub fn unpack(&self, plaintext: &[u8]) -> Result<(u8, TokenPayload)> {
        let mut reader = plaintext;
        let value = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_MSGPACK_DEPTH)
            .map_err(|e| malformed(format!("msgpack: {e}")))?;
        if !reader.is_empty() {
            return Err(malformed("trailing bytes after the msgpack value"));
        }
        // Python first decodes strings as text; if any is not UTF-8 it decodes everything
        // again with strings as bytes.
        let value = if has_invalid_utf8(&value) {
            strings_to_bytes(value)
        } else {
            value
        };
        let Value::Array(items) = value else {
            return Err(malformed("not an array"));
        };
        let Some((version_value, fields)) = items.split_first() else {
            return Err(malformed("empty array"));
        };
        let version = python_small_int(version_value)
            .filter(|v| *v <= OAUTH2_MTLS_SCOPED)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "This is not a recognized Fernet payload version: {}",
                    msgpack_repr(version_value)
                ))
            })?;
        let payload = self.unpack_fields(version, &Fields(fields))?;
        Ok((version, payload))
    }

    fn unpack_fields(&self, version: u8, f: &Fields<'_>) -> Result<TokenPayload> {
        let user_id = unpack_pair(f.get(0)?)?.ok_or_else(|| malformed("user id is None"))?;
        let methods = self.bits_to_methods(unpack_int(f.get(1)?)?);
        // (scope, index of EXP; AUD follows it)
        let mut p = TokenPayload::new(
            user_id,
            methods,
            Scope::Unscoped,
            DateTime::UNIX_EPOCH,
            vec![],
        );
        let expires_index = match version {
            UNSCOPED => 2,
            DOMAIN_SCOPED => {
                p.scope = Scope::Domain(self.unpack_v1_domain(f.get(2)?)?);
                3
            }
            PROJECT_SCOPED | TRUST_SCOPED | APPLICATION_CREDENTIAL_SCOPED => {
                p.scope = project_scope(unpack_pair(f.get(2)?)?);
                if version == TRUST_SCOPED {
                    p.trust_id = Some(unpack_raw_uuid(f.get(5)?)?);
                }
                if version == APPLICATION_CREDENTIAL_SCOPED {
                    p.app_cred_id = unpack_pair(f.get(5)?)?;
                }
                3
            }
            FEDERATED_UNSCOPED => {
                p.federated = Some(unpack_federated(f, 2)?);
                5
            }
            FEDERATED_PROJECT_SCOPED | FEDERATED_DOMAIN_SCOPED => {
                let scope_id = unpack_pair(f.get(2)?)?;
                p.scope = match (version, scope_id) {
                    (_, None) => Scope::Unscoped,
                    (FEDERATED_PROJECT_SCOPED, Some(id)) => Scope::Project(id),
                    (_, Some(id)) => Scope::Domain(id),
                };
                p.federated = Some(unpack_federated(f, 3)?);
                6
            }
            OAUTH1_SCOPED => {
                p.scope = project_scope(unpack_pair(f.get(2)?)?);
                p.access_token_id = unpack_pair(f.get(3)?)?;
                4
            }
            SYSTEM_SCOPED => {
                p.scope = Scope::System(unpack_text(f.get(2)?)?);
                3
            }
            OAUTH2_MTLS_SCOPED => {
                let project = unpack_pair(f.get(2)?)?;
                let domain = unpack_pair(f.get(3)?)?;
                // A token naming both is never minted; the project wins.
                p.scope = match (project, domain) {
                    (Some(project), _) => Scope::Project(project),
                    (None, Some(domain)) => Scope::Domain(domain),
                    (None, None) => Scope::Unscoped,
                };
                p.thumbprint = unpack_pair(f.get(6)?)?;
                4
            }
            other => return Err(malformed(format!("no version {other}"))),
        };
        p.expires_at = unpack_expires(f.get(expires_index)?)?;
        p.audit_ids = unpack_audit_ids(f.get(expires_index + 1)?)?;
        Ok(p)
    }

    fn unpack_v1_domain(&self, value: &Value) -> Result<String> {
        if let Value::Binary(bytes) = value
            && let Ok(uuid) = <[u8; 16]>::try_from(bytes.as_slice())
        {
            return Ok(uuid_hex(&uuid));
        }
        let text = unpack_text(value)?;
        if text == self.default_domain_id {
            Ok(text)
        } else {
            Err(malformed(
                "domain id is neither UUID bytes nor the configured default domain id",
            ))
        }
    }
}

impl TokenPayload {
    /// The payload version Keystone's Fernet provider picks for these fields
    /// (`_determine_payload_class_from_token`, spec §4.1). Fields the chosen version
    /// does not carry are dropped, as in Keystone (e.g. a federated user's trust token
    /// is a plain v3); a scope the version cannot carry is an error rather than
    /// silently lost.
    pub fn payload_version(&self) -> Result<u8> {
        let project_or_unscoped = |version: u8, kind: &str| match self.scope {
            Scope::Project(_) | Scope::Unscoped => Ok(version),
            _ => Err(Error::internal(format!(
                "token payload: a {kind} token must be project-scoped or unscoped"
            ))),
        };
        if self.access_token_id.is_some() {
            return project_or_unscoped(OAUTH1_SCOPED, "OAuth1");
        }
        if self.trust_id.is_some() {
            return project_or_unscoped(TRUST_SCOPED, "trust");
        }
        if self.federated.is_some() {
            return match self.scope {
                Scope::Project(_) => Ok(FEDERATED_PROJECT_SCOPED),
                Scope::Domain(_) => Ok(FEDERATED_DOMAIN_SCOPED),
                Scope::Unscoped => Ok(FEDERATED_UNSCOPED),
                Scope::System(_) => Err(Error::internal(
                    "token payload: a federated token cannot be system-scoped",
                )),
            };
        }
        if self.app_cred_id.is_some() {
            return project_or_unscoped(APPLICATION_CREDENTIAL_SCOPED, "application credential");
        }
        if self.thumbprint.is_some() {
            return match self.scope {
                Scope::System(_) => Err(Error::internal(
                    "token payload: an OAuth2 mTLS token cannot be system-scoped",
                )),
                _ => Ok(OAUTH2_MTLS_SCOPED),
            };
        }
        Ok(match self.scope {
            Scope::Project(_) => PROJECT_SCOPED,
            Scope::Domain(_) => DOMAIN_SCOPED,
            Scope::System(_) => SYSTEM_SCOPED,
            Scope::Unscoped => UNSCOPED,
        })
    }
}

/// A payload that decrypted (so a key holder made it) but cannot be taken apart:
/// Keystone fails such a request with 500.
fn malformed(reason: impl Into<String>) -> Error {
    Error::internal(format!("malformed token payload: {}", reason.into()))
}

/// Positional access that reports a short payload instead of panicking.
struct Fields<'a>(&'a [Value]);

impl Fields<'_> {
    fn get(&self, index: usize) -> Result<&Value> {
        self.0
            .get(index)
            .ok_or_else(|| malformed(format!("field {} missing", index + 1)))
    }
}

fn project_scope(project_id: Option<String>) -> Scope {
    project_id.map_or(Scope::Unscoped, Scope::Project)
}

/// The ID pair: `[true, bin16]` for anything Python's `uuid.UUID()` accepts, else
/// `[false, str]`, and `[false, nil]` for no id.
pub(super) fn pack_pair(id: Option<&str>) -> Value {
    let (is_uuid, value) = match id {
        None => (false, Value::Nil),
        Some(id) => match python_uuid_bytes(id) {
            Some(bytes) => (true, Value::Binary(bytes.to_vec())),
            None => (false, Value::from(id)),
        },
    };
    Value::Array(vec![Value::Boolean(is_uuid), value])
}

pub(super) fn unpack_pair(value: &Value) -> Result<Option<String>> {
    let Value::Array(pair) = value else {
        return Err(malformed("id pair is not an array"));
    };
    let [flag, id] = pair.as_slice() else {
        return Err(malformed("id pair does not have two elements"));
    };
    match flag {
        Value::Boolean(true) => Ok(Some(unpack_raw_uuid(id)?)),
        Value::Boolean(false) if id.is_nil() => Ok(None),
        Value::Boolean(false) => unpack_text(id).map(Some),
        _ => Err(malformed("id pair flag is not a boolean")),
    }
}

fn pack_raw_uuid(id: &str, what: &str) -> Result<Value> {
    python_uuid_bytes(id)
        .map(|bytes| Value::Binary(bytes.to_vec()))
        .ok_or_else(|| Error::internal(format!("token payload: {what} id is not a UUID")))
}

fn unpack_raw_uuid(value: &Value) -> Result<String> {
    let bytes = unpack_bytes(value)?;
    let uuid: [u8; 16] = bytes
        .try_into()
        .map_err(|_| malformed("UUID is not 16 bytes"))?;
    Ok(uuid_hex(&uuid))
}

/// Bytes from bin, or from str (old msgpack wrote bytes as str).
fn unpack_bytes(value: &Value) -> Result<&[u8]> {
    match value {
        Value::Binary(bytes) => Ok(bytes),
        Value::String(s) => Ok(s.as_bytes()),
        _ => Err(malformed("expected bytes")),
    }
}

/// Text from str, or from UTF-8 bytes (Python decodes bytes with UTF-8).
fn unpack_text(value: &Value) -> Result<String> {
    std::str::from_utf8(unpack_bytes(value)?)
        .map(str::to_owned)
        .map_err(|_| malformed("text is not UTF-8"))
}

pub(super) fn unpack_int(value: &Value) -> Result<i128> {
    match value {
        Value::Integer(n) => n
            .as_i64()
            .map(i128::from)
            .or(n.as_u64().map(i128::from))
            .ok_or_else(|| malformed("integer out of range")),
        _ => Err(malformed("expected an integer")),
    }
}

fn unpack_federated(f: &Fields<'_>, groups_index: usize) -> Result<FederatedInfo> {
    let Value::Array(groups) = f.get(groups_index)? else {
        return Err(malformed("federated groups are not an array"));
    };
    let group_ids = groups
        .iter()
        .map(|g| unpack_pair(g)?.ok_or_else(|| malformed("group id is None")))
        .collect::<Result<Vec<_>>>()?;
    let identity_provider_id = unpack_pair(f.get(groups_index + 1)?)?
        .ok_or_else(|| malformed("identity provider id is None"))?;
    let protocol_id = unpack_text(f.get(groups_index + 2)?)?;
    Ok(FederatedInfo {
        group_ids,
        identity_provider_id,
        protocol_id,
    })
}

/// `expires_at` as Python's `timedelta.total_seconds()`: always a float64, even when
/// integral (Keystone never emits an int here).
pub(super) fn pack_expires(at: DateTime<Utc>) -> Value {
    let seconds = at.timestamp();
    let micros = at.timestamp_subsec_micros();
    let value = if micros == 0 {
        seconds as f64
    } else {
        (i128::from(seconds) * 1_000_000 + i128::from(micros)) as f64 / 1e6
    };
    Value::F64(value)
}

/// Python's `datetime.fromtimestamp(f, UTC)` (microseconds rounded half-even, carrying
/// into the seconds), then microseconds dropped; years outside 1..=9999 fail as in Python.
pub(super) fn unpack_expires(value: &Value) -> Result<DateTime<Utc>> {
    let seconds = match value {
        Value::Integer(_) => {
            i64::try_from(unpack_int(value)?).map_err(|_| malformed("expires_at out of range"))?
        }
        Value::F64(f) => float_seconds(*f)?,
        Value::F32(f) => float_seconds(f64::from(*f))?,
        _ => return Err(malformed("expires_at is not a number")),
    };
    DateTime::from_timestamp(seconds, 0)
        .filter(|at| (1..=9999).contains(&at.year()))
        .ok_or_else(|| malformed("expires_at out of range"))
}

fn float_seconds(f: f64) -> Result<i64> {
    if !f.is_finite() || f.abs() > 1e15 {
        return Err(malformed("expires_at out of range"));
    }
    let whole = f.trunc();
    let micros = ((f - whole) * 1e6).round_ties_even();
    let carry = if micros >= 1e6 {
        1.0
    } else if micros < 0.0 {
        -1.0
    } else {
        0.0
    };
    // |f| <= 1e15 keeps this exact and in range.
    Ok((whole + carry) as i64)
}

/// Audit ids: each 22-character URL-safe base64 id is carried as its 16 raw bytes.
fn pack_audit_ids(audit_ids: &[String]) -> Result<Value> {
    audit_ids
        .iter()
        .map(|id| {
            LENIENT_URL_SAFE
                .decode(id)
                .map(Value::Binary)
                .map_err(|_| Error::internal("token payload: audit id is not URL-safe base64"))
        })
        .collect::<Result<Vec<_>>>()
        .map(Value::Array)
}

fn unpack_audit_ids(value: &Value) -> Result<Vec<String>> {
    let Value::Array(ids) = value else {
        return Err(malformed("audit ids are not an array"));
    };
    ids.iter()
        .map(|id| unpack_bytes(id).map(|bytes| URL_SAFE_NO_PAD.encode(bytes)))
        .collect()
}

/// The version as Python compares it with `==`: ints, but also `True`/`False` and
/// integral floats equal small ints.
fn python_small_int(value: &Value) -> Option<u8> {
    match value {
        Value::Integer(n) => n.as_u64().and_then(|v| u8::try_from(v).ok()),
        Value::Boolean(b) => Some(u8::from(*b)),
        Value::F64(f) => float_small_int(*f),
        Value::F32(f) => float_small_int(f64::from(*f)),
        _ => None,
    }
}

fn float_small_int(f: f64) -> Option<u8> {
    (f.fract() == 0.0 && (0.0..=255.0).contains(&f)).then_some(f as u8)
}

fn has_invalid_utf8(value: &Value) -> bool {
    match value {
        Value::String(s) => s.as_str().is_none(),
        Value::Array(items) => items.iter().any(has_invalid_utf8),
        Value::Map(entries) => entries
            .iter()
            .any(|(k, v)| has_invalid_utf8(k) || has_invalid_utf8(v)),
        _ => false,
    }
}

/// Python's `unpackb(raw=True)`: every str comes back as bytes.
fn strings_to_bytes(value: Value) -> Value {
    match value {
        Value::String(s) => Value::Binary(s.into_bytes()),
        Value::Array(items) => Value::Array(items.into_iter().map(strings_to_bytes).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (strings_to_bytes(k), strings_to_bytes(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests;
