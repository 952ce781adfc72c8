//! RFC 5849 on the server side, as oauthlib 3 (and so Python Keystone) checks requests:
//! the `Authorization: OAuth …` header, the protocol-parameter rules Keystone's validator
//! adds (spec oauth1.md §3.2), the signature base string (§3.3) and the signature check.
//! Nothing here touches the database; the caller supplies secrets and the clock.

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use subtle::ConstantTimeEq;

/// RFC 3986 unreserved characters stay; everything else is `%XX` (upper-case hex), which is
/// what oauthlib's `escape` (Python `quote(safe='~')`) produces.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// oauthlib's accepted seconds of clock difference between client and server.
pub const TIMESTAMP_LIFETIME_SECS: i64 = 600;

/// The methods oauthlib lists; Keystone passes all of them to its validator.
pub const ALLOWED_METHODS: [&str; 7] = [
    "HMAC-SHA1",
    "HMAC-SHA256",
    "HMAC-SHA512",
    "RSA-SHA1",
    "RSA-SHA256",
    "RSA-SHA512",
    "PLAINTEXT",
];

/// Keystone's verifier alphabet: letters and digits without the look-alikes `jiIl1oO0`.
pub const VERIFIER_CHARS: &str = "abcdefghkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

pub fn escape(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

fn unescape(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Why a signed request was refused. `Invalid` is oauthlib's *error* (a malformed request:
/// Keystone answers 400 with the description); `Unauthorized` is oauthlib's *invalid*
/// (bad credentials: Keystone answers a generic 401, the reason is only logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Invalid {
        error: &'static str,
        description: String,
    },
    Unauthorized(String),
}

impl Refusal {
    fn invalid(description: impl Into<String>) -> Refusal {
        Refusal::Invalid {
            error: "invalid_request",
            description: description.into(),
        }
    }
}

/// The parameters of an `Authorization: OAuth …` header, values percent-decoded, in header
/// order. `realm` is kept apart: it is not signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthHeader {
    pub params: Vec<(String, String)>,
    pub realm: Option<String>,
}

impl OAuthHeader {
    /// RFC 5849 §3.5.1 as Python's `parse_http_list` + `parse_keqv_list` read it: the `OAuth`
    /// scheme (any case), comma-separated `name="value"` pairs, quotes optional. A parameter
    /// given twice is refused (oauthlib would silently keep the last one).
    pub fn parse(value: &str) -> Result<OAuthHeader, Refusal> {
        let malformed = || Refusal::invalid("Malformed authorization header");
        let rest = value
            .get(..6)
            .filter(|scheme| scheme.eq_ignore_ascii_case("oauth "))
            .and_then(|_| value.get(6..))
            .ok_or_else(malformed)?;
        let mut header = OAuthHeader::default();
        for item in split_http_list(rest) {
            let (name, raw) = item.split_once('=').ok_or_else(malformed)?;
            let raw = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                Some(quoted) => quoted,
                None if raw.is_empty() => return Err(malformed()),
                None => raw,
            };
            let value = unescape(raw);
            if name == "realm" {
                header.realm = Some(value);
                continue;
            }
            if header.params.iter().any(|(n, _)| n == name) {
                return Err(Refusal::invalid("Duplicate OAuth1 entries."));
            }
            header.params.push((name.to_string(), value));
        }
        Ok(header)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Present and non-empty (oauthlib treats an empty value as missing).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// `urllib.request.parse_http_list`: split at commas outside double quotes (a backslash
/// escapes the next character inside quotes), trim each item, drop empty ones.
fn split_http_list(s: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
            current.push(c);
        } else if c == ',' && !quoted {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect()
}

/// Query-string parameters as Python's `parse_qsl(keep_blank_values=True)` decodes them.
pub fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| unescape(&s.replace('+', " "));
            (decode(k), decode(v))
        })
        .collect()
}

/// Which endpoint a request is checked for: each adds its own rules to the common ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    RequestToken,
    AccessToken,
    /// `POST /v3/auth/tokens` with the `oauth1` method (oauthlib's resource endpoint).
    Resource,
}

/// The signature method of a request that passed the parameter checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    HmacSha1,
    HmacSha256,
    HmacSha512,
    Plaintext,
    /// Listed by oauthlib, but Keystone has no RSA keys: always refused.
    Rsa,
}

impl SignatureMethod {
    fn parse(name: &str) -> Option<SignatureMethod> {
        Some(match name {
            "HMAC-SHA1" => SignatureMethod::HmacSha1,
            "HMAC-SHA256" => SignatureMethod::HmacSha256,
            "HMAC-SHA512" => SignatureMethod::HmacSha512,
            "PLAINTEXT" => SignatureMethod::Plaintext,
            "RSA-SHA1" | "RSA-SHA256" | "RSA-SHA512" => SignatureMethod::Rsa,
            _ => return None,
        })
    }
}

/// A request whose protocol parameters passed the format checks: what the caller needs
/// to look up secrets, verify the signature and remember the nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    pub consumer_key: String,
    pub token: Option<String>,
    pub verifier: Option<String>,
    pub nonce: String,
    pub timestamp: i64,
    pub method: SignatureMethod,
    pub signature: String,
    /// Every signed parameter: header (without `realm` and `oauth_signature`) and query.
    pub signed_params: Vec<(String, String)>,
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn is_valid_verifier(v: &str) -> bool {
    v.chars().count() == 8 && v.chars().all(|c| VERIFIER_CHARS.contains(c))
}

/// oauthlib's `_check_mandatory_parameters` plus the endpoint's own rules, in oauthlib's
/// order, with Keystone's validator (32-hex keys, hex nonces, no realms). `now` is the
/// server clock in seconds since the epoch.
pub fn check(
    header: &OAuthHeader,
    query: &[(String, String)],
    endpoint: Endpoint,
    now: i64,
) -> Result<CheckedRequest, Refusal> {
    if query.iter().any(|(k, _)| k.starts_with("oauth_")) {
        return Err(Refusal::invalid(
            "oauth_ params must come from only 1 signature type but were found in AUTH_HEADER, QUERY",
        ));
    }
    let mandatory = [
        "oauth_signature",
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_timestamp",
        "oauth_signature_method",
    ];
    if mandatory.iter().any(|m| header.non_empty(m).is_none()) {
        return Err(Refusal::invalid("Missing mandatory OAuth parameters."));
    }
    let method_name = header.get("oauth_signature_method").unwrap_or_default();
    let method = SignatureMethod::parse(method_name).ok_or_else(|| Refusal::Invalid {
        error: "invalid_signature_method",
        description: format!(
            "Invalid signature, {method_name} not in ('{}').",
            ALLOWED_METHODS.join("', '")
        ),
    })?;
    if header.get("oauth_version").is_some_and(|v| v != "1.0") {
        return Err(Refusal::invalid("Invalid OAuth version."));
    }
    let timestamp = header.get("oauth_timestamp").unwrap_or_default();
    if timestamp.chars().count() != 10 {
        return Err(Refusal::invalid("Invalid timestamp size"));
    }
    let timestamp: i64 = timestamp
        .parse()
        .map_err(|_| Refusal::invalid("Timestamp must be an integer."))?;
    if (now - timestamp).abs() > TIMESTAMP_LIFETIME_SECS {
        return Err(Refusal::invalid(format!(
            "Timestamp given is invalid, differ from allowed by over {TIMESTAMP_LIFETIME_SECS} seconds."
        )));
    }
    let consumer_key = header.get("oauth_consumer_key").unwrap_or_default();
    if !is_hex32(consumer_key) {
        return Err(Refusal::invalid("Invalid client key format."));
    }
    let nonce = header.get("oauth_nonce").unwrap_or_default();
    if !nonce
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Refusal::invalid("Invalid nonce format."));
    }
    let token = header.non_empty("oauth_token");
    let verifier = header.non_empty("oauth_verifier");
    match endpoint {
        Endpoint::RequestToken => {
            if let Some(realm) = header.realm.as_deref().filter(|r| !r.is_empty()) {
                let realms: Vec<String> = realm.split(' ').map(|r| format!("'{r}'")).collect();
                return Err(Refusal::invalid(format!(
                    "Invalid realm [{}]. Allowed are [].",
                    realms.join(", ")
                )));
            }
            if header.non_empty("oauth_callback").is_none() {
                return Err(Refusal::invalid("Missing callback URI."));
            }
        }
        Endpoint::AccessToken => {
            let token = token.ok_or_else(|| Refusal::invalid("Missing resource owner."))?;
            if !is_hex32(token) {
                return Err(Refusal::invalid("Invalid resource owner key format."));
            }
            let verifier = verifier.ok_or_else(|| Refusal::invalid("Missing verifier."))?;
            if !is_valid_verifier(verifier) {
                return Err(Refusal::invalid("Invalid verifier format."));
            }
        }
        Endpoint::Resource => match token {
            Some(t) if is_hex32(t) => {}
            _ => {
                return Err(Refusal::Unauthorized(
                    "missing or malformed access token key".into(),
                ));
            }
        },
    }
    let signed_params = header
        .params
        .iter()
        .filter(|(k, _)| k != "oauth_signature")
        .chain(query.iter())
        .cloned()
        .collect();
    Ok(CheckedRequest {
        consumer_key: consumer_key.to_string(),
        token: token.map(str::to_string),
        verifier: verifier.map(str::to_string),
        nonce: nonce.to_string(),
        timestamp,
        method,
        signature: header
            .get("oauth_signature")
            .unwrap_or_default()
            .to_string(),
        signed_params,
    })
}

/// RFC 5849 §3.4.1.2: lower-case scheme and host, the default port dropped, the path kept
/// (`/` when empty), no query. `authority` is `host[:port]` as the Host header gives it.
pub fn base_string_uri(scheme: &str, authority: &str, path: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    // The port separator is the last ':' outside an IPv6 literal's brackets.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority.as_str(), None),
    };
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => "",
    };
    let netloc = match port {
        Some(p) if !p.is_empty() && p != default_port => format!("{host}:{p}"),
        _ => host.to_string(),
    };
    let path = if path.is_empty() { "/" } else { path };
    format!("{scheme}://{netloc}{}", path.replace(' ', "%20"))
}

/// RFC 5849 §3.4.1.3.2: encode names and values, sort by encoded name then value, join.
pub fn normalized_parameters(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (escape(k), escape(v))).collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 5849 §3.4.1: `METHOD&uri&params`, each part percent-encoded.
pub fn base_string(http_method: &str, base_uri: &str, params: &[(String, String)]) -> String {
    format!(
        "{}&{}&{}",
        escape(&http_method.to_ascii_uppercase()),
        escape(base_uri),
        escape(&normalized_parameters(params))
    )
}

fn hmac_base64<M: Mac + hmac::digest::KeyInit>(key: &[u8], text: &[u8]) -> Option<String> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).ok()?;
    mac.update(text);
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Check the request's signature with the consumer secret and the token secret (request
/// or access token; none for a request token request). Keystone always verifies as
/// `POST`, whatever method the request used. Comparisons are constant-time.
pub fn verify(
    request: &CheckedRequest,
    base_uri: &str,
    consumer_secret: &str,
    token_secret: Option<&str>,
) -> bool {
    let key = format!(
        "{}&{}",
        escape(consumer_secret),
        escape(token_secret.unwrap_or_default())
    );
    let text = base_string("POST", base_uri, &request.signed_params);
    let expected = match request.method {
        SignatureMethod::HmacSha1 => {
            hmac_base64::<Hmac<sha1::Sha1>>(key.as_bytes(), text.as_bytes())
        }
        SignatureMethod::HmacSha256 => {
            hmac_base64::<Hmac<sha2::Sha256>>(key.as_bytes(), text.as_bytes())
        }
        SignatureMethod::HmacSha512 => {
            hmac_base64::<Hmac<sha2::Sha512>>(key.as_bytes(), text.as_bytes())
        }
        SignatureMethod::Plaintext => Some(key),
        SignatureMethod::Rsa => None,
    };
    expected.is_some_and(|e| equal(&e, &request.signature))
}

/// `scheme://authority/path…` → RFC 5849 base string URI.
pub fn signing_uri(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    base_string_uri(scheme, authority, path)
}

#[cfg(test)]
mod tests;
