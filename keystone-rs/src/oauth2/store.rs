//! keystone-rs's `ksrs_oauth2_client` table (JWT client authentication registered on an
//! application credential) and the `jti` replay memory.

use super::ClientRegistration;
use crate::db::AnyConnection;
use crate::db::replay;
use crate::db::schema::ksrs_oauth2_client as t;
use crate::error::Result;
use diesel::prelude::*;

pub const JTI_KIND: &str = "oauth2_jti";

type Row = (String, Option<String>, Option<String>, Option<String>, i64);

fn from_row(
    (application_credential_id, jwt_secret, public_key, public_key_alg, created_at): Row,
) -> ClientRegistration {
    ClientRegistration {
        application_credential_id,
        jwt_secret,
        public_key,
        public_key_alg,
        created_at_us: created_at,
    }
}

pub fn get(
    conn: &mut AnyConnection,
    application_credential_id: &str,
) -> Result<Option<ClientRegistration>> {
    Ok(t::table
        .filter(t::application_credential_id.eq(application_credential_id))
        .select((
            t::application_credential_id,
            t::jwt_secret,
            t::public_key,
            t::public_key_alg,
            t::created_at,
        ))
        .first::<Row>(conn)
        .optional()?
        .map(from_row))
}

/// Insert or replace the registration of one credential.
pub fn put(conn: &mut AnyConnection, reg: &ClientRegistration) -> Result<()> {
    diesel::delete(
        t::table.filter(t::application_credential_id.eq(&reg.application_credential_id)),
    )
    .execute(conn)?;
    diesel::insert_into(t::table)
        .values((
            t::application_credential_id.eq(&reg.application_credential_id),
            t::jwt_secret.eq(&reg.jwt_secret),
            t::public_key.eq(&reg.public_key),
            t::public_key_alg.eq(&reg.public_key_alg),
            t::created_at.eq(reg.created_at_us),
        ))
        .execute(conn)?;
    Ok(())
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
    match diesel::insert_into(c::table)
        .values((
            c::thumbprint.eq(thumbprint),
            c::x5t_s256.eq(x5t_s256),
            c::created_at.eq(now_us),
        ))
        .execute(conn)
    {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        Err(e) => Err(e.into()),
    }
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
