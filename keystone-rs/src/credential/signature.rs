//! The request signatures `/v3/ec2tokens` and `/v3/s3tokens` verify, computed as
//! keystoneclient's `Ec2Signer` (AWS signature versions 0, 1, 2 and 4 over the request
//! description the caller sends) and Keystone's s3tokens handler (S3 v1 HMAC-SHA1 and v4
//! over the string to sign) compute them. Anything the Python code would crash on is a
//! refusal here (`None`), never a panic.

use crate::python::py_str;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// `urllib.parse.quote(s, safe='-_~')` (and `safe=''`, the same set: letters, digits and
/// `_.-~` are always safe).
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `str()` of a JSON value (`_get_utf8_value`).
fn text(v: &Value) -> String {
    py_str(v)
}

/// `Ec2Signer._canonical_qs`: keys sorted, values `str()`-ed, both percent-encoded.
fn canonical_qs(params: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = params.keys().collect();
    keys.sort();
    keys.iter()
        .map(|k| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUOTE),
                utf8_percent_encode(&text(&params[k.as_str()]), QUOTE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `Ec2Signer(secret).generate(credentials)`; `None` where the Python signer raises.
pub fn ec2_generate(secret: &str, credentials: &Map<String, Value>) -> Option<String> {
    let params = credentials.get("params")?.as_object()?;
    let field = |name: &str| credentials.get(name).map(text);
    match params.get("SignatureVersion") {
        Some(Value::String(v)) if v == "0" => {
            let action = params.get("Action")?.as_str()?;
            let timestamp = params.get("Timestamp")?.as_str()?;
            let mac = hmac_sha1(secret.as_bytes(), format!("{action}{timestamp}").as_bytes());
            return Some(STANDARD.encode(mac));
        }
        Some(Value::String(v)) if v == "1" => {
            let mut keys: Vec<&String> = params.keys().collect();
            keys.sort_by_key(|k| k.to_lowercase());
            let mut msg = Vec::new();
            for k in keys {
                msg.extend_from_slice(k.as_bytes());
                msg.extend_from_slice(text(&params[k.as_str()]).as_bytes());
            }
            return Some(STANDARD.encode(hmac_sha1(secret.as_bytes(), &msg)));
        }
        Some(Value::String(v)) if v == "2" => {
            let (verb, host, path) = (field("verb")?, field("host")?, field("path")?);
            let mut params = params.clone();
            params.insert("SignatureMethod".into(), "HmacSHA256".into());
            let to_sign = format!("{verb}\n{host}\n{path}\n{}", canonical_qs(&params));
            return Some(STANDARD.encode(hmac_sha256(secret.as_bytes(), to_sign.as_bytes())));
        }
        _ => {}
    }
    let headers = credentials.get("headers").and_then(Value::as_object);
    let v4 = match headers.and_then(|h| h.get("Authorization")) {
        Some(auth) => auth.as_str()?.starts_with("AWS4-HMAC-SHA256"),
        None => params.get("X-Amz-Algorithm").and_then(Value::as_str) == Some("AWS4-HMAC-SHA256"),
    };
    if !v4 {
        return None;
    }
    let empty = Map::new();
    sign_v4(
        secret,
        params,
        &field("verb")?,
        &field("path")?,
        headers.unwrap_or(&empty),
        &credentials.get("body_hash").map(text)?,
    )
}

/// `Ec2Signer._calc_signature_4`.
fn sign_v4(
    secret: &str,
    params: &Map<String, Value>,
    verb: &str,
    path: &str,
    headers: &Map<String, Value>,
    body_hash: &str,
) -> Option<String> {
    let auth_param = |name: &str| -> Option<String> {
        match headers.get("Authorization") {
            Some(auth) => {
                let auth = auth.as_str()?;
                let after = auth
                    .split_once(&format!("{name}="))
                    .map(|(_, rest)| rest)
                    .unwrap_or("");
                Some(after.split(',').next().unwrap_or("").to_string())
            }
            None => params
                .get(&format!("X-Amz-{name}"))
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    };
    let date = match headers.get("X-Amz-Date") {
        Some(d) => d.as_str()?.to_string(),
        None => params.get("X-Amz-Date")?.as_str()?.to_string(),
    };
    let mut lower: Vec<(String, String)> = Vec::new();
    for (k, v) in headers {
        let key = k.to_lowercase().trim().to_string();
        let value = v.as_str()?.trim().to_string();
        match lower.iter_mut().find(|(seen, _)| *seen == key) {
            Some(slot) => slot.1 = value,
            None => lower.push((key, value)),
        }
    }
    let header = |name: &str| {
        lower
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let user_agent = header("user-agent").unwrap_or("");
    let strip_port = old_boto(user_agent);
    let signed_headers = auth_param("SignedHeaders")?;
    let mut header_lines = Vec::new();
    for h in signed_headers.split(';') {
        let Some(value) = header(h) else { continue };
        if h == "host" && strip_port {
            header_lines.push(format!("{h}:{}", value.split(':').next().unwrap_or("")));
        } else {
            header_lines.push(format!("{h}:{value}"));
        }
    }
    let canonical_headers = header_lines.join("\n") + "\n";
    let query = if verb.to_uppercase() != "POST" {
        canonical_qs(params)
    } else {
        String::new()
    };
    let canonical_request = [
        verb.to_uppercase().as_str(),
        path,
        &query,
        &canonical_headers,
        &signed_headers,
        body_hash,
    ]
    .join("\n");
    let credential = auth_param("Credential")?;
    let parts: Vec<&str> = credential.split('/').collect();
    let credential_date = *parts.get(1)?;
    let scope = parts[1..].join("/");
    if !date.starts_with(credential_date) {
        return None;
    }
    let (region, service) = (*parts.get(2)?, *parts.get(3)?);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(
        secret,
        credential_date.as_bytes(),
        region.as_bytes(),
        service.as_bytes(),
    );
    Some(hex(&hmac_sha256(&key, to_sign.as_bytes())))
}

/// `re.match(r'Boto/2\.[0-9]\.[0-2]', user_agent)`.
fn old_boto(user_agent: &str) -> bool {
    let b = user_agent.as_bytes();
    user_agent.starts_with("Boto/2.")
        && b.len() >= 10
        && b[7].is_ascii_digit()
        && b[8] == b'.'
        && (b'0'..=b'2').contains(&b[9])
}

fn signing_key(secret: &str, date: &[u8], region: &[u8], service: &[u8]) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date);
    let k_region = hmac_sha256(&k_date, region);
    let k_service = hmac_sha256(&k_region, service);
    hmac_sha256(&k_service, b"aws4_request")
}

/// Python's `urlsplit('//' + host).hostname`: the host without port or user info,
/// lower-cased, brackets of an IPv6 literal removed.
pub fn hostname_of(host: &str) -> Option<String> {
    let netloc = host.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = netloc.rsplit_once('@').map(|(_, h)| h).unwrap_or(netloc);
    let name = if let Some(rest) = hostport.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    (!name.is_empty()).then(|| name.to_lowercase())
}

/// Constant-time string equality (Keystone's `auth_str_equal`).
pub fn equal(provided: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    provided.len() == expected.len() && bool::from(provided.as_bytes().ct_eq(expected.as_bytes()))
}

/// Why an EC2 signature was refused (for the log; the caller sees a generic 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotSupplied,
    Invalid,
}

/// Keystone's `EC2TokensResource._check_signature`: compare, and when the host carries a
/// port try once more without it (some clients sign without the port).
pub fn check_ec2(secret: &str, credentials: &Map<String, Value>) -> Result<(), Refusal> {
    let provided = match credentials.get("signature") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        None | Some(Value::Null) | Some(Value::String(_)) | Some(Value::Bool(false)) => {
            return Err(Refusal::NotSupplied);
        }
        Some(other) => text(other),
    };
    if ec2_generate(secret, credentials).is_some_and(|s| equal(&provided, &s)) {
        return Ok(());
    }
    let host = credentials.get("host").map(text).ok_or(Refusal::Invalid)?;
    if host.contains(':') {
        let mut retried = credentials.clone();
        let bare = hostname_of(&host).map(Value::from).unwrap_or(Value::Null);
        retried.insert("host".into(), bare);
        if ec2_generate(secret, &retried).is_some_and(|s| equal(&provided, &s)) {
            return Ok(());
        }
    }
    Err(Refusal::Invalid)
}

/// Python's `base64.urlsafe_b64decode`: both alphabets, characters outside them skipped,
/// padding required.
fn urlsafe_b64decode(s: &str) -> Option<Vec<u8>> {
    let cleaned: String = s
        .chars()
        .filter_map(|c| match c {
            '-' => Some('+'),
            '_' => Some('/'),
            c if c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=' => Some(c),
            _ => None,
        })
        .collect();
    STANDARD.decode(cleaned).ok()
}

/// Keystone's `S3Resource._check_signature`: the string to sign arrives base64-encoded
/// in `token`; `AWS4…` strings are signature v4 (services s3, iam, sts), others v1.
pub fn check_s3(secret: &str, credentials: &Map<String, Value>) -> Result<(), Refusal> {
    let token = credentials.get("token").map(text).ok_or(Refusal::Invalid)?;
    let to_sign = urlsafe_b64decode(&token).ok_or(Refusal::Invalid)?;
    let expected = if to_sign.starts_with(b"AWS4") {
        s3_v4(secret, &to_sign).ok_or(Refusal::Invalid)?
    } else {
        STANDARD.encode(hmac_sha1(secret.as_bytes(), &to_sign))
    };
    let provided = credentials
        .get("signature")
        .map(text)
        .ok_or(Refusal::Invalid)?;
    if equal(&provided, &expected) {
        Ok(())
    } else {
        Err(Refusal::Invalid)
    }
}

fn s3_v4(secret: &str, to_sign: &[u8]) -> Option<String> {
    let parts: Vec<&[u8]> = to_sign.split(|b| *b == b'\n').collect();
    if parts.len() != 4 || parts[0] != b"AWS4-HMAC-SHA256" {
        return None;
    }
    let scope: Vec<&[u8]> = parts[2].split(|b| *b == b'/').collect();
    if scope.len() != 4 || scope[3] != b"aws4_request" {
        return None;
    }
    if ![&b"s3"[..], b"iam", b"sts"].contains(&scope[2]) {
        return None;
    }
    let key = signing_key(secret, scope[0], scope[1], scope[2]);
    Some(hex(&hmac_sha256(&key, to_sign)))
}

/// The request time a signed request carries: `Timestamp` (v1/v2) or `X-Amz-Date` (v4,
/// header first). `Ok(None)` when there is none (the signer left it out on purpose).
pub fn request_time(credentials: &Map<String, Value>) -> Result<Option<chrono::NaiveDateTime>, ()> {
    let get = |outer: &str, key: &str| {
        credentials
            .get(outer)
            .and_then(Value::as_object)
            .and_then(|m| m.get(key))
            .filter(|v| !is_falsy(v))
            .cloned()
    };
    let Some(value) = get("params", "Timestamp")
        .or_else(|| get("headers", "X-Amz-Date"))
        .or_else(|| get("params", "X-Amz-Date"))
    else {
        return Ok(None);
    };
    let Value::String(text) = value else {
        return Err(());
    };
    parse_iso8601(&text).map(Some).ok_or(())
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// The ISO 8601 forms the `iso8601` package accepts (`2024-01-02T03:04:05Z`,
/// `20240102T030405Z`, with or without fractions and offsets), normalised to naive UTC;
/// a missing offset means UTC.
pub fn parse_iso8601(s: &str) -> Option<chrono::NaiveDateTime> {
    use chrono::{Duration, NaiveDate, NaiveTime};
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize, n: usize| -> Option<u32> {
        let part = s.get(*i..*i + n)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *i += n;
        part.parse().ok()
    };
    let sep = |i: &mut usize, c: u8| {
        if b.get(*i) == Some(&c) {
            *i += 1;
        }
    };
    let year = digits(&mut i, 4)? as i32;
    sep(&mut i, b'-');
    let month = digits(&mut i, 2)?;
    sep(&mut i, b'-');
    let day = digits(&mut i, 2)?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (mut h, mut m, mut sec, mut nanos) = (0, 0, 0, 0);
    let mut offset_minutes: i64 = 0;
    if i < b.len() && (b[i] == b'T' || b[i] == b' ') {
        i += 1;
        h = digits(&mut i, 2)?;
        sep(&mut i, b':');
        if i < b.len() && b[i].is_ascii_digit() {
            m = digits(&mut i, 2)?;
            sep(&mut i, b':');
            if i < b.len() && b[i].is_ascii_digit() {
                sec = digits(&mut i, 2)?;
                if i < b.len() && (b[i] == b'.' || b[i] == b',') {
                    i += 1;
                    let start = i;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    let frac = s.get(start..i)?;
                    if frac.is_empty() {
                        return None;
                    }
                    let padded: String =
                        frac.chars().chain(std::iter::repeat('0')).take(9).collect();
                    nanos = padded.parse().ok()?;
                }
            }
        }
        match b.get(i) {
            None => {}
            Some(b'Z') => i += 1,
            Some(&c) if c == b'+' || c == b'-' => {
                i += 1;
                let oh = digits(&mut i, 2)? as i64;
                sep(&mut i, b':');
                let om = if i < b.len() {
                    digits(&mut i, 2)? as i64
                } else {
                    0
                };
                offset_minutes = (oh * 60 + om) * if c == b'-' { -1 } else { 1 };
            }
            _ => return None,
        }
    }
    if i != b.len() {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(h, m, sec, nanos)?;
    Some(date.and_time(time) - Duration::minutes(offset_minutes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// AWS's published SigV4 example (docs "Examples of how to derive a signing key"):
    /// the derived key for 20120215/us-east-1/iam.
    #[test]
    fn signing_key_matches_aws_example() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            b"20120215",
            b"us-east-1",
            b"iam",
        );
        assert_eq!(
            hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn v2_signature_with_port_retry() {
        let secret = "secret";
        let mut creds = map(json!({
            "access": "a", "host": "Example.com:8773", "verb": "GET", "path": "/",
            "params": {"SignatureVersion": "2", "Action": "Test", "Timestamp": "2024-01-01T00:00:00Z"},
        }));
        let with_port = ec2_generate(secret, &creds).unwrap();
        creds.insert("signature".into(), with_port.into());
        assert_eq!(check_ec2(secret, &creds), Ok(()));
        // Signed without the port: accepted on the retry.
        let mut bare = creds.clone();
        bare.insert("host".into(), "example.com".into());
        let without = ec2_generate(secret, &bare).unwrap();
        creds.insert("signature".into(), without.into());
        assert_eq!(check_ec2(secret, &creds), Ok(()));
        creds.insert("signature".into(), "wrong".into());
        assert_eq!(check_ec2(secret, &creds), Err(Refusal::Invalid));
        creds.remove("signature");
        assert_eq!(check_ec2(secret, &creds), Err(Refusal::NotSupplied));
        assert_eq!(check_ec2("other", &creds), Err(Refusal::NotSupplied));
    }

    #[test]
    fn garbage_never_panics() {
        for creds in [
            json!({}),
            json!({"params": 1}),
            json!({"params": {"SignatureVersion": "2"}, "signature": "x"}),
            json!({"params": {"X-Amz-Algorithm": "AWS4-HMAC-SHA256"}, "signature": "x", "verb": "GET", "path": "/", "body_hash": ""}),
            json!({"params": {}, "headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=x"}, "signature": "x", "verb": "GET", "path": "/", "body_hash": "", "host": "h:1"}),
            json!({"params": {}, "headers": {"Authorization": 5}, "signature": "x", "host": "[::1]:80"}),
        ] {
            let _ = check_ec2("s", &map(creds.clone()));
            let _ = check_s3("s", &map(creds));
        }
        assert!(check_s3("s", &map(json!({"token": "!!!", "signature": "x"}))).is_err());
        assert!(check_s3("s", &map(json!({"token": STANDARD.encode("AWS4-HMAC-SHA256\n1\n2/3/ec2/aws4_request\n4"), "signature": "x"}))).is_err());
    }

    #[test]
    fn s3_v1_and_v4() {
        let sts = "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/bucket/photo.jpg";
        let token = base64::engine::general_purpose::URL_SAFE.encode(sts);
        let sig = STANDARD.encode(hmac_sha1(b"secret", sts.as_bytes()));
        assert_eq!(
            check_s3("secret", &map(json!({"token": token, "signature": sig}))),
            Ok(())
        );
        let v4 = "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/s3/aws4_request\nabc";
        let token = base64::engine::general_purpose::URL_SAFE.encode(v4);
        let key = signing_key("secret", b"20240101", b"us-east-1", b"s3");
        let sig = hex(&hmac_sha256(&key, v4.as_bytes()));
        assert_eq!(
            check_s3("secret", &map(json!({"token": token, "signature": sig}))),
            Ok(())
        );
        assert_eq!(
            check_s3("other", &map(json!({"token": token, "signature": sig}))),
            Err(Refusal::Invalid)
        );
    }

    #[test]
    fn iso8601_forms() {
        let t = |s: &str| parse_iso8601(s).map(|d| d.to_string());
        assert_eq!(t("2024-01-02T03:04:05Z").unwrap(), "2024-01-02 03:04:05");
        assert_eq!(t("20240102T030405Z").unwrap(), "2024-01-02 03:04:05");
        assert_eq!(
            t("2024-01-02T03:04:05.5+01:00").unwrap(),
            "2024-01-02 02:04:05.500"
        );
        assert_eq!(t("2024-01-02").unwrap(), "2024-01-02 00:00:00");
        assert!(t("yesterday").is_none());
        assert!(t("2024-13-02").is_none());
        assert!(t("2024-01-02T03:04:05Zjunk").is_none());
    }

    #[test]
    fn hostnames() {
        assert_eq!(hostname_of("Example.COM:80").unwrap(), "example.com");
        assert_eq!(hostname_of("[::1]:80").unwrap(), "::1");
        assert_eq!(hostname_of("u@h:1").unwrap(), "h");
        assert!(hostname_of(":80").is_none());
    }
}
