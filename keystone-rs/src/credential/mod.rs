//! Credentials (`/v3/credentials`, OS-EC2): Keystone's credential manager. Blobs are
//! sealed with the credential key repository before they reach the store and opened after;
//! an EC2 credential's id is the SHA-256 of its access key, and its blob travels as JSON
//! text (stored, as Keystone stores it, JSON-encoded once more).

pub mod crypto;
pub mod model;
pub mod schema;
pub mod signature;
pub mod store;

use crate::db::AnyConnection;
use crate::db::json_blob::{json_text, parse_extra};
use crate::error::{Error, Result};
use crate::json::{Style, to_ascii_string};
pub use crypto::CredentialKeys;
pub use model::{Credential, EC2, Ec2Blob, StoredCredential};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The `[auth] methods` name of EC2 credential tokens (`ec2credential`); the context refuses
/// such tokens as callers.
pub const EC2_AUTH_METHOD: &str = "ec2credential";

/// Keystone's `hash_access_key`: the id of an EC2 credential.
pub fn ec2_id(access: &str) -> String {
    Sha256::digest(access.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What is encrypted for a blob. Keystone JSON-encodes the blob once more when the
/// credential being written says `type: "ec2"` (exactly), and not otherwise.
fn plaintext_for(type_in_request: Option<&str>, blob: &str) -> String {
    if type_in_request == Some(EC2) {
        to_ascii_string(&Value::String(blob.to_string()), Style::Python)
    } else {
        blob.to_string()
    }
}

/// The blob as the API shows it: an `ec2` credential's plaintext is JSON (a string, or an
/// object when Python Keystone's ec2tokens or a type-less update wrote it) and comes back
/// as text.
fn api_blob(stored_type: &str, plaintext: String) -> String {
    if stored_type != EC2 {
        return plaintext;
    }
    match serde_json::from_str::<Value>(&plaintext) {
        Ok(Value::String(s)) => s,
        Ok(v @ Value::Object(_)) => to_ascii_string(&v, Style::Python),
        _ => plaintext,
    }
}

/// Open a row.
pub fn open(keys: &CredentialKeys, row: StoredCredential) -> Result<Credential> {
    let plaintext = keys.decrypt(&row.encrypted_blob)?;
    Ok(Credential {
        blob: api_blob(&row.type_, plaintext),
        extra: parse_extra(row.extra.as_deref()),
        id: row.id,
        user_id: row.user_id,
        project_id: row.project_id,
        type_: row.type_,
    })
}

/// Seal a credential for the table; `type_in_request` decides the EC2 double encoding as
/// Keystone's `_encrypt_credential` does.
pub fn seal(
    keys: &CredentialKeys,
    c: &Credential,
    type_in_request: Option<&str>,
) -> Result<StoredCredential> {
    let sealed = keys.encrypt(&plaintext_for(type_in_request, &c.blob))?;
    Ok(StoredCredential {
        id: c.id.clone(),
        user_id: c.user_id.clone(),
        project_id: c.project_id.clone(),
        type_: c.type_.clone(),
        extra: Some(json_text(&Value::Object(c.extra.clone()))),
        key_hash: sealed.key_hash,
        encrypted_blob: sealed.encrypted_blob,
    })
}

pub fn get(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    id: &str,
) -> Result<Option<Credential>> {
    store::get(conn, id)?.map(|row| open(keys, row)).transpose()
}

pub fn list(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    user_id: Option<&str>,
    type_: Option<&str>,
) -> Result<Vec<Credential>> {
    store::list(conn, user_id, type_)?
        .into_iter()
        .map(|row| open(keys, row))
        .collect()
}

/// `[credential] user_limit`: Keystone's `CredentialLimitExceeded` (403).
fn check_limit(conn: &mut AnyConnection, user_limit: i64, user_id: &str) -> Result<()> {
    if user_limit >= 0 && store::count_for_user(conn, user_id)? >= user_limit {
        return Err(Error::new(
            actix_web::http::StatusCode::FORBIDDEN,
            format!(
                "Unable to create additional credentials, maximum of {user_limit} already \
                 exceeded for user."
            ),
        ));
    }
    Ok(())
}

/// Create: the limit, then the sealed row.
pub fn create(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    user_limit: i64,
    c: &Credential,
) -> Result<()> {
    let row = seal(keys, c, Some(&c.type_))?;
    check_limit(conn, user_limit, &c.user_id)?;
    store::insert(conn, &row)
}

/// The JSON of a credential (Keystone's `to_dict` + links: extras first, then the columns,
/// then the blob).
pub fn to_json(c: &Credential, base_url: &str) -> Value {
    let mut m = Map::new();
    for (k, v) in &c.extra {
        m.insert(k.clone(), v.clone());
    }
    m.insert("id".into(), c.id.clone().into());
    m.insert("user_id".into(), c.user_id.clone().into());
    m.insert(
        "project_id".into(),
        c.project_id.clone().map(Value::from).unwrap_or(Value::Null),
    );
    m.insert("type".into(), c.type_.clone().into());
    m.insert("blob".into(), c.blob.clone().into());
    m.insert(
        "links".into(),
        serde_json::json!({"self": format!("{base_url}/v3/credentials/{}", c.id)}),
    );
    Value::Object(m)
}

/// An update as Keystone's SQL driver applies it: every given attribute replaces the old
/// one (`id` excepted), unknown ones land in `extra`; the blob only when given.
pub fn apply_update(current: &Credential, patch: &Map<String, Value>) -> Credential {
    let mut next = current.clone();
    for (k, v) in patch {
        match k.as_str() {
            "id" => {}
            "user_id" => next.user_id = v.as_str().unwrap_or_default().to_string(),
            "project_id" => next.project_id = v.as_str().map(str::to_string),
            "type" => next.type_ = v.as_str().unwrap_or_default().to_string(),
            "blob" => next.blob = v.as_str().unwrap_or_default().to_string(),
            _ => {
                next.extra.insert(k.clone(), v.clone());
            }
        }
    }
    next
}

/// Keystone's `_validate_credential_update`: a credential that becomes `ec2` must have a
/// project, given now or already set.
pub fn check_update(current: &Credential, patch: &Map<String, Value>) -> Result<()> {
    let becomes_ec2 = patch
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.to_lowercase() == EC2);
    let project_given = patch
        .get("project_id")
        .is_some_and(|p| p.as_str().is_some_and(|s| !s.is_empty()));
    if becomes_ec2 && !project_given && current.project_id.as_deref().unwrap_or("").is_empty() {
        return Err(Error::expecting("project_id", "credential"));
    }
    Ok(())
}

/// `PATCH`: write the merged credential; the blob is re-sealed only when the request gave
/// one (else the stored ciphertext stays as it is, as in Keystone).
pub fn update(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    id: &str,
    patch: &Map<String, Value>,
) -> Result<Credential> {
    let row = store::get(conn, id)?.ok_or_else(|| Error::could_not_find("credential", id))?;
    let current = open(keys, row.clone())?;
    let next = apply_update(&current, patch);
    let mut stored = if patch.contains_key("blob") {
        seal(keys, &next, patch.get("type").and_then(Value::as_str))?
    } else {
        StoredCredential {
            key_hash: row.key_hash.clone(),
            encrypted_blob: row.encrypted_blob.clone(),
            ..seal_metadata(&next)
        }
    };
    stored.id = id.to_string();
    if !store::update(conn, &stored)? {
        return Err(Error::could_not_find("credential", id));
    }
    Ok(next)
}

fn seal_metadata(c: &Credential) -> StoredCredential {
    StoredCredential {
        id: c.id.clone(),
        user_id: c.user_id.clone(),
        project_id: c.project_id.clone(),
        type_: c.type_.clone(),
        extra: Some(json_text(&Value::Object(c.extra.clone()))),
        key_hash: String::new(),
        encrypted_blob: String::new(),
    }
}

/// Keystone's `_validate_blob_json`: an EC2 blob must be a JSON object with `access`.
pub fn parse_ec2_blob(blob: Option<&Value>) -> Result<Map<String, Value>> {
    let parsed = match blob.and_then(Value::as_str) {
        Some(text) => serde_json::from_str::<Value>(text)
            .map_err(|_| Error::bad_request("Invalid blob in credential"))?,
        None => return Err(Error::bad_request("Invalid blob in credential")),
    };
    let map = match parsed {
        Value::Object(m) if !m.is_empty() => m,
        _ => return Err(Error::expecting("blob", "credential")),
    };
    if map.get("access").is_none_or(Value::is_null) {
        return Err(Error::expecting("access", "credential"));
    }
    Ok(map)
}

/// The text of an `access` value as Python's `str()` would give it for hashing; only
/// strings are accepted (Keystone fails with a 500 on anything else).
pub fn access_text(blob: &Map<String, Value>) -> Result<String> {
    blob.get("access")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::expecting("access", "credential"))
}

/// Keystone's `_validate_blob_update_keys` for an EC2 credential: the delegation an EC2
/// credential was created under (and `access_id`) can be neither changed nor removed.
pub fn check_ec2_blob_update(current: &Credential, patch: &Map<String, Value>) -> Result<()> {
    if current.type_.to_lowercase() != EC2 || !patch.contains_key("blob") {
        return Ok(());
    }
    let new_blob = parse_ec2_blob(patch.get("blob"))?;
    let old_blob = match serde_json::from_str::<Value>(&current.blob) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for key in ["trust_id", "app_cred_id", "access_token_id", "access_id"] {
        let old = old_blob.get(key).filter(|v| !v.is_null());
        let new = new_blob.get(key).filter(|v| !v.is_null());
        if old != new {
            return Err(Error::bad_request(format!(
                "{key} can not be updated for credential"
            )));
        }
    }
    Ok(())
}

/// `keystone-manage credential_rotate`'s precondition: every credential is sealed with
/// the current primary key. Returns how many are not.
pub fn count_not_on_primary(conn: &mut AnyConnection, keys: &CredentialKeys) -> Result<usize> {
    let primary = keys.primary_key_hash()?;
    Ok(store::key_hashes(conn)?
        .into_iter()
        .filter(|(_, h)| *h != primary)
        .count())
}

/// `keystone-manage credential_migrate`: re-seal every credential not sealed with the
/// primary key (the plaintext is kept byte for byte). Returns how many were re-sealed.
pub fn migrate(conn: &mut AnyConnection, keys: &CredentialKeys) -> Result<usize> {
    let primary = keys.primary_key_hash()?;
    let mut done = 0;
    for (id, hash) in store::key_hashes(conn)? {
        if hash == primary {
            continue;
        }
        let Some(row) = store::get(conn, &id)? else {
            continue;
        };
        let plaintext = keys.decrypt(&row.encrypted_blob).map_err(|e| {
            Error::internal(format!(
                "credential {id} could not be decrypted with any key in {}: {}",
                keys.repository().path().display(),
                e.detail.unwrap_or_default()
            ))
        })?;
        let sealed = keys.encrypt(&plaintext)?;
        if store::reseal(
            conn,
            &id,
            &row.key_hash,
            &sealed.key_hash,
            &sealed.encrypted_blob,
        )? {
            done += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_id_is_sha256_hex_of_access() {
        assert_eq!(
            ec2_id("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ec2_blobs_are_encoded_twice_and_read_back_as_text() {
        let blob = "{\"access\": \"a\", \"secret\": \"s\"}";
        let stored = plaintext_for(Some("ec2"), blob);
        assert_eq!(
            stored,
            "\"{\\\"access\\\": \\\"a\\\", \\\"secret\\\": \\\"s\\\"}\""
        );
        assert_eq!(api_blob("ec2", stored), blob);
        // Written without a type (an update, credential_migrate): the object form.
        assert_eq!(
            api_blob("ec2", "{\"access\":\"a\",\"secret\":\"s\"}".into()),
            blob
        );
        assert_eq!(plaintext_for(Some("cert"), "x"), "x");
        assert_eq!(plaintext_for(Some("EC2"), "x"), "x");
        assert_eq!(api_blob("cert", "\"x\"".into()), "\"x\"");
    }

    #[test]
    fn ec2_blob_rules() {
        let v = |s: &str| Value::from(s);
        assert!(
            parse_ec2_blob(Some(&v("not json"))).unwrap_err().message
                == "Invalid blob in credential"
        );
        assert!(
            parse_ec2_blob(Some(&v("[]")))
                .unwrap_err()
                .message
                .starts_with("Expecting to find blob")
        );
        assert!(
            parse_ec2_blob(Some(&v("{}")))
                .unwrap_err()
                .message
                .starts_with("Expecting to find blob")
        );
        assert!(
            parse_ec2_blob(Some(&v("{\"secret\": \"s\"}")))
                .unwrap_err()
                .message
                .starts_with("Expecting to find access")
        );
        assert!(parse_ec2_blob(Some(&v("{\"access\": \"a\"}"))).is_ok());
        assert!(parse_ec2_blob(None).is_err());
    }
}
