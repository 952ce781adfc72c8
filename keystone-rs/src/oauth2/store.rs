//! keystone-rs's `ksrs_oauth2_client` table (JWT client authentication registered on an
//! application credential) and the `jti` replay memory.

use super::ClientRegistration;
use crate::credential::CredentialKeys;
use crate::db::AnyConnection;
use crate::db::replay;
use crate::db::schema::ksrs_oauth2_client as t;
use crate::error::Result;
use diesel::prelude::*;

pub const JTI_KIND: &str = "oauth2_jti";

type Row = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
);

/// The secret in the clear: sealed ones are opened with the credential keys; one stored
/// before sealing (no key hash) is plaintext until `credential_migrate` seals it.
fn open_secret(
    keys: &CredentialKeys,
    secret: Option<String>,
    key_hash: Option<&str>,
) -> Result<Option<String>> {
    match (secret, key_hash) {
        (Some(sealed), Some(_)) => Ok(Some(keys.decrypt(&sealed)?)),
        (plain, _) => Ok(plain),
    }
}

pub fn get(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    application_credential_id: &str,
) -> Result<Option<ClientRegistration>> {
    let row = t::table
        .filter(t::application_credential_id.eq(application_credential_id))
        .select((
            t::application_credential_id,
            t::jwt_secret,
            t::public_key,
            t::public_key_alg,
            t::created_at,
            t::jwt_secret_key_hash,
        ))
        .first::<Row>(conn)
        .optional()?;
    let Some((application_credential_id, secret, public_key, public_key_alg, created_at, hash)) =
        row
    else {
        return Ok(None);
    };
    Ok(Some(ClientRegistration {
        application_credential_id,
        jwt_secret: open_secret(keys, secret, hash.as_deref())?,
        public_key,
        public_key_alg,
        created_at_us: created_at,
    }))
}

/// Insert or replace the registration of one credential, its secret sealed.
pub fn put(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    reg: &ClientRegistration,
) -> Result<()> {
    let sealed = reg
        .jwt_secret
        .as_deref()
        .map(|s| keys.encrypt(s))
        .transpose()?;
    diesel::delete(
        t::table.filter(t::application_credential_id.eq(&reg.application_credential_id)),
    )
    .execute(conn)?;
    diesel::insert_into(t::table)
        .values((
            t::application_credential_id.eq(&reg.application_credential_id),
            t::jwt_secret.eq(sealed.as_ref().map(|s| s.encrypted_blob.clone())),
            t::jwt_secret_key_hash.eq(sealed.as_ref().map(|s| s.key_hash.clone())),
            t::public_key.eq(&reg.public_key),
            t::public_key_alg.eq(&reg.public_key_alg),
            t::created_at.eq(reg.created_at_us),
        ))
        .execute(conn)?;
    Ok(())
}

/// Secrets not sealed with the primary credential key (or not sealed at all).
pub fn count_secrets_not_on_primary(conn: &mut AnyConnection, primary: &str) -> Result<i64> {
    Ok(t::table
        .filter(t::jwt_secret.is_not_null())
        .filter(
            t::jwt_secret_key_hash
                .is_null()
                .or(t::jwt_secret_key_hash.ne(primary)),
        )
        .count()
        .get_result(conn)?)
}

/// `credential_migrate` for this table: seal every secret with the primary key, those
/// stored in the clear before sealing existed included. Returns how many were sealed.
pub fn reseal_secrets(conn: &mut AnyConnection, keys: &CredentialKeys) -> Result<usize> {
    let primary = keys.primary_key_hash()?;
    let rows: Vec<(String, Option<String>, Option<String>)> = t::table
        .filter(t::jwt_secret.is_not_null())
        .select((
            t::application_credential_id,
            t::jwt_secret,
            t::jwt_secret_key_hash,
        ))
        .load(conn)?;
    let mut done = 0;
    for (id, secret, hash) in rows {
        if hash.as_deref() == Some(primary.as_str()) {
            continue;
        }
        let Some(plain) = open_secret(keys, secret, hash.as_deref())? else {
            continue;
        };
        let sealed = keys.encrypt(&plain)?;
        diesel::update(t::table.filter(t::application_credential_id.eq(&id)))
            .set((
                t::jwt_secret.eq(Some(sealed.encrypted_blob)),
                t::jwt_secret_key_hash.eq(Some(sealed.key_hash)),
            ))
            .execute(conn)?;
        done += 1;
    }
    Ok(done)
}

pub fn delete(conn: &mut AnyConnection, application_credential_id: &str) -> Result<bool> {
    Ok(
        diesel::delete(t::table.filter(t::application_credential_id.eq(application_credential_id)))
            .execute(conn)?
            == 1,
    )
}

/// Credentials being deleted: their registrations go with them (a `client_secret_jwt`
/// registration keeps the secret readable, so it must not outlive the credential).
pub fn delete_for_credentials(conn: &mut AnyConnection, ids: &[String]) -> Result<()> {
    if !ids.is_empty() {
        diesel::delete(t::table.filter(t::application_credential_id.eq_any(ids))).execute(conn)?;
    }
    Ok(())
}

/// Remember a client's `jti` until `expires_at_us`; false when it was seen already.
pub fn remember_jti(
    conn: &mut AnyConnection,
    client_id: &str,
    jti: &str,
    now_us: i64,
    expires_at_us: i64,
) -> Result<bool> {
    let value = replay::scoped_value(client_id, jti);
    replay::remember(conn, JTI_KIND, &value, now_us, expires_at_us)
}

/// Remember the RFC 8705 thumbprint of a certificate a token is bound to (idempotent: a
/// row another request wrote first is as good).
pub fn remember_certificate(
    conn: &mut AnyConnection,
    thumbprint: &str,
    x5t_s256: &str,
    now_us: i64,
) -> Result<()> {
    use crate::db::schema::ksrs_oauth2_certificate as c;
    let known = c::table
        .filter(c::thumbprint.eq(thumbprint))
        .select(c::thumbprint)
        .first::<String>(conn)
        .optional()?;
    if known.is_some() {
        return Ok(());
    }
    // A concurrent request may have recorded the same certificate meanwhile: either row will do.
    crate::db::insert_unless_taken(conn, |conn| {
        diesel::insert_into(c::table)
            .values((
                c::thumbprint.eq(thumbprint),
                c::x5t_s256.eq(x5t_s256),
                c::created_at.eq(now_us),
            ))
            .execute(conn)
    })?;
    Ok(())
}

/// The RFC 8705 thumbprint of the certificate with this Keystone thumbprint, if a token
/// was bound to it here.
pub fn certificate_x5t(conn: &mut AnyConnection, thumbprint: &str) -> Result<Option<String>> {
    use crate::db::schema::ksrs_oauth2_certificate as c;
    Ok(c::table
        .filter(c::thumbprint.eq(thumbprint))
        .select(c::x5t_s256)
        .first::<String>(conn)
        .optional()?)
}
