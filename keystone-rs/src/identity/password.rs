//! Password hashing, byte-compatible with Keystone 30 (`keystone.common.password_hashing`),
//! which writes passlib's formats without passlib:
//!
//! | algorithm       | stored string                                              |
//! |-----------------|------------------------------------------------------------|
//! | `bcrypt`        | `$2b$12$<22 salt><31 digest>`                              |
//! | `bcrypt_sha256` | `$bcrypt-sha256$v=2,t=2b,r=12$<22 salt>$<31 digest>`       |
//! | `pbkdf2_sha512` | `$pbkdf2-sha512$25000$<salt b64>$<64-byte dk b64>`         |
//! | `scrypt`        | `$scrypt$ln=16,r=8,p=1$<salt b64>$<32-byte dk b64>`        |
//!
//! Only `[identity] password_hash_algorithm` picks how new hashes are written; verification
//! dispatches on the stored prefix, so a database may hold any mix. Application-credential
//! secrets use the same functions and the same configuration.
//!
//! Everything here is CPU-bound (bcrypt cost 12 is ~0.25 s, scrypt ln=16 takes 64 MiB):
//! call it from `web::block`, never on an async worker.

use crate::config::IdentitySection;
use crate::error::{Error, Result};
use actix_web::http::StatusCode;
use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, NO_PAD, STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// bcrypt only reads this many bytes of its input.
pub const BCRYPT_MAX_BYTES: usize = 72;

const BCRYPT_DEFAULT_COST: u32 = 12;
/// Keystone's code uses 25000; its help text's 60000 is wrong.
const PBKDF2_DEFAULT_ROUNDS: u32 = 25_000;
const PBKDF2_DK_LEN: usize = 64;
const DEFAULT_SALT_BYTES: usize = 16;
/// Keystone always writes N = 2^16 and ignores `password_hash_rounds` for scrypt.
const SCRYPT_LOG_N: u8 = 16;
const SCRYPT_DEFAULT_R: u32 = 8;
const SCRYPT_DEFAULT_P: u32 = 1;
const SCRYPT_DK_LEN: usize = 32;
/// A stored scrypt hash with absurd parameters must not make us allocate without bound
/// (an allocation failure aborts the process). Keystone's own hashes need 64 MiB.
const SCRYPT_MAX_MEMORY: u64 = 1 << 30;

const BCRYPT_SHA256_PREFIX: &str = "$bcrypt-sha256$";
const PBKDF2_SHA512_PREFIX: &str = "$pbkdf2-sha512$";
const SCRYPT_PREFIX: &str = "$scrypt$";
const SHA512_CRYPT_PREFIX: &str = "$6$";

/// passlib's salt/digest encoding: standard alphabet, no padding on output. On input we
/// accept what Keystone accepts: `.` for `+` (passlib's "ab64"), with or without padding,
/// and non-canonical trailing bits (Python's decoder ignores them).
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// bcrypt's own base64 alphabet (`./A-Za-z0-9`), for the salt text bcrypt_sha256 keys with.
const BCRYPT_B64: GeneralPurpose = GeneralPurpose::new(&alphabet::BCRYPT, NO_PAD);

/// The algorithms `[identity] password_hash_algorithm` may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Bcrypt,
    BcryptSha256,
    Pbkdf2Sha512,
    Scrypt,
}

impl Algorithm {
    pub fn from_config(cfg: &IdentitySection) -> Result<Algorithm> {
        match cfg.password_hash_algorithm.as_str() {
            "bcrypt" => Ok(Algorithm::Bcrypt),
            "bcrypt_sha256" => Ok(Algorithm::BcryptSha256),
            "pbkdf2_sha512" => Ok(Algorithm::Pbkdf2Sha512),
            "scrypt" => Ok(Algorithm::Scrypt),
            other => Err(Error::internal(format!(
                "Password Hash Algorithm {other} not found"
            ))),
        }
    }
}

/// The byte limit for passwords under this configuration (spec §1.4): 72 when the
/// configured algorithm is plain bcrypt (unless `max_password_length` is lower), else
/// `max_password_length`. It depends on the *configured* algorithm, not on the hash.
pub fn max_password_bytes(cfg: &IdentitySection) -> usize {
    if cfg.password_hash_algorithm == "bcrypt" && cfg.max_password_length > BCRYPT_MAX_BYTES {
        BCRYPT_MAX_BYTES
    } else {
        cfg.max_password_length
    }
}

/// The password bytes Keystone hashes or verifies: its UTF-8 encoding, cut to
/// [`max_password_bytes`] (possibly inside a multi-byte character, as Keystone does), or a
/// 403 when `[DEFAULT] strict_password_check` is on. Applies at login time too.
pub fn length_checked<'a>(password: &'a str, cfg: &IdentitySection) -> Result<&'a [u8]> {
    let limit = max_password_bytes(cfg);
    let bytes = password.as_bytes();
    match bytes.get(..limit) {
        Some(kept) if kept.len() < bytes.len() => {
            if cfg.strict_password_check {
                Err(password_too_long(limit))
            } else {
                tracing::debug!(limit, "truncating an over-long password");
                Ok(kept)
            }
        }
        _ => Ok(bytes),
    }
}

/// Keystone's `PasswordVerificationError` (a 403 whose text is always shown).
pub fn password_too_long(limit: usize) -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        format!(
            "The password length must be less than or equal to {limit}. The server could not \
             comply with the request because the password is invalid."
        ),
    )
}

/// Hash a new password (or application-credential secret) with the configured algorithm
/// and parameters, in the exact string format Keystone stores.
pub fn hash_password(password: &str, cfg: &IdentitySection) -> Result<String> {
    let password = length_checked(password, cfg)?;
    // Keystone tests these options for truthiness: 0 means "use the default".
    let rounds = cfg.password_hash_rounds.filter(|&r| r != 0);
    let salt_bytes = cfg
        .salt_bytesize
        .filter(|&n| n != 0)
        .unwrap_or(DEFAULT_SALT_BYTES);
    match Algorithm::from_config(cfg)? {
        Algorithm::Bcrypt => hash_bcrypt(password, rounds.unwrap_or(BCRYPT_DEFAULT_COST)),
        Algorithm::BcryptSha256 => {
            hash_bcrypt_sha256(password, rounds.unwrap_or(BCRYPT_DEFAULT_COST))
        }
        Algorithm::Pbkdf2Sha512 => hash_pbkdf2_sha512(
            password,
            rounds.unwrap_or(PBKDF2_DEFAULT_ROUNDS),
            salt_bytes,
        ),
        Algorithm::Scrypt => {
            let r = cfg
                .scrypt_block_size
                .filter(|&r| r != 0)
                .unwrap_or(SCRYPT_DEFAULT_R);
            let p = cfg
                .scrypt_parallelism
                .filter(|&p| p != 0)
                .unwrap_or(SCRYPT_DEFAULT_P);
            hash_scrypt(password, r, p, salt_bytes)
        }
    }
}

/// A turn at verifying a password hash, for a request that will verify one: at most one
/// verification per core runs at a time. Logins beyond that wait here, on the async
/// worker, before they take a blocking thread and a database connection; so a burst of
/// logins neither oversubscribes the cores (every login slower, token validation starved
/// of CPU) nor holds pooled connections while it waits, and a client that gives up
/// before its turn costs no hashing at all. `None` when the request verifies no hash.
/// `/metrics` shows the turns running and waiting (`keystone_password_checks`).
pub async fn hashing_turn(verifies_a_hash: bool) -> Option<HashingTurn> {
    static TURNS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        tokio::sync::Semaphore::new(cores)
    });
    if !verifies_a_hash {
        return None;
    }
    let waiting = crate::observability::metrics::password_check("waiting");
    // The semaphore is never closed.
    let permit = TURNS.acquire().await.ok()?;
    drop(waiting);
    Some(HashingTurn {
        _permit: permit,
        _running: crate::observability::metrics::password_check("running"),
    })
}

/// A login's turn at hashing: held until its request is done with the hash.
pub struct HashingTurn {
    _permit: tokio::sync::SemaphorePermit<'static>,
    _running: crate::observability::metrics::GaugeGuard,
}

/// Keystone's `check_password`: the §1.4 length rule of this configuration (so an over-long
/// password is a 403 under `strict_password_check`), then [`verify_password`]'s check.
pub fn check_password(password: &str, stored: &str, cfg: &IdentitySection) -> Result<bool> {
    let password = length_checked(password, cfg)?;
    Ok(verify_bytes(password, stored))
}

/// A random secret of `len` URL-safe characters (generated admin passwords, credential
/// secrets): the alphabet of Python's `secrets.token_urlsafe`.
pub fn generate_secret(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
    text.truncate(len);
    text
}

/// Whether `password` matches the stored hash, whatever format it is in. Comparisons are
/// constant-time; a malformed or unknown hash is `false` (Keystone answers 500 there).
/// No configured length limit is applied — login paths should use [`check_password`].
pub fn verify_password(password: &str, stored: &str) -> bool {
    verify_bytes(password.as_bytes(), stored)
}

/// Verification on already length-checked bytes, dispatching on the prefix up to the
/// second `$`, as Keystone does.
pub fn verify_bytes(password: &[u8], stored: &str) -> bool {
    // `i` indexes the text after the leading character, so the second `$` is at i + 1.
    let Some(prefix) = stored
        .get(1..)
        .and_then(|rest| rest.find('$'))
        .and_then(|i| stored.get(..i + 2))
    else {
        return false;
    };
    match prefix {
        // bcrypt reads at most 72 bytes; Python's bcrypt 5 raises on longer input (a 500
        // when the configured algorithm is not bcrypt). Truncating is the safe answer.
        "$2a$" | "$2b$" | "$2x$" | "$2y$" => bcrypt::verify(password, stored).unwrap_or(false),
        BCRYPT_SHA256_PREFIX => verify_bcrypt_sha256(password, stored),
        PBKDF2_SHA512_PREFIX => verify_pbkdf2_sha512(password, stored),
        SCRYPT_PREFIX => verify_scrypt(password, stored),
        // Not in Keystone 30 (which fails with a 500), but what Keystone wrote before
        // Pike: let such old databases keep working.
        SHA512_CRYPT_PREFIX => verify_sha512_crypt(password, stored),
        // "$2$" and passlib's "$7$" scrypt are registered by Keystone but never verify.
        _ => false,
    }
}

fn random_bytes(len: usize) -> Result<Vec<u8>> {
    let mut salt = vec![0u8; len];
    rand::rngs::OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| Error::internal(format!("no randomness for a salt: {e}")))?;
    Ok(salt)
}

fn random_bcrypt_salt() -> Result<[u8; 16]> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| Error::internal(format!("no randomness for a salt: {e}")))?;
    Ok(salt)
}

fn bcrypt_failed(e: bcrypt::BcryptError) -> Error {
    // A cost outside 4..=31 from password_hash_rounds: Keystone fails the same way (500).
    Error::internal(format!("bcrypt: {e}"))
}

fn hash_bcrypt(password: &[u8], cost: u32) -> Result<String> {
    let salt = random_bcrypt_salt()?;
    let parts = bcrypt::hash_with_salt(password, cost, salt).map_err(bcrypt_failed)?;
    Ok(parts.format_for_version(bcrypt::Version::TwoB))
}

/// passlib's bcrypt_sha256 v2 pre-hash: HMAC-SHA256 keyed with the salt *as written* (22
/// characters), base64 with padding — 44 bytes, so bcrypt's 72-byte cut never applies.
fn bcrypt_sha256_prehash(password: &[u8], salt: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(salt.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(password);
    STANDARD.encode(mac.finalize().into_bytes())
}

fn hash_bcrypt_sha256(password: &[u8], cost: u32) -> Result<String> {
    let salt = random_bcrypt_salt()?;
    let salt_text = BCRYPT_B64.encode(salt);
    let prehash = bcrypt_sha256_prehash(password, &salt_text);
    let full = bcrypt::hash_with_salt(prehash, cost, salt)
        .map_err(bcrypt_failed)?
        .format_for_version(bcrypt::Version::TwoB);
    // "$2b$NN$" + 22 salt characters precede the 31-character digest.
    let digest = full
        .get(7 + 22..)
        .ok_or_else(|| Error::internal("bcrypt produced a short hash"))?;
    // The cost is written without zero padding, exactly as Keystone does.
    Ok(format!(
        "{BCRYPT_SHA256_PREFIX}v=2,t=2b,r={cost}${salt_text}${digest}"
    ))
}

fn verify_bcrypt_sha256(password: &[u8], stored: &str) -> bool {
    let Some(data) = stored.strip_prefix(BCRYPT_SHA256_PREFIX) else {
        return false;
    };
    let mut parts = data.split('$');
    let (Some(params), Some(salt), Some(digest), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (mut ident, mut cost) = (None, None);
    for param in params.split(',') {
        if let Some(r) = param.strip_prefix("r=") {
            cost = r.parse::<u32>().ok();
        } else if let Some(t) = param.strip_prefix("t=") {
            ident = Some(t);
        }
    }
    let (Some(ident), Some(cost)) = (ident, cost) else {
        return false;
    };
    if !matches!(ident, "2a" | "2b" | "2x" | "2y") {
        return false;
    }
    // Keystone rebuilds "$2b$4$…" for costs below 10 and so rejects its own (and passlib's)
    // low-cost hashes; we pad the cost and verify them, as passlib does.
    let rebuilt = format!("${ident}${cost:02}${salt}{digest}");
    bcrypt::verify(bcrypt_sha256_prehash(password, salt), &rebuilt).unwrap_or(false)
}

fn hash_pbkdf2_sha512(password: &[u8], rounds: u32, salt_bytes: usize) -> Result<String> {
    let salt = random_bytes(salt_bytes)?;
    let mut dk = [0u8; PBKDF2_DK_LEN];
    pbkdf2::pbkdf2_hmac::<Sha512>(password, &salt, rounds, &mut dk);
    Ok(format!(
        "{PBKDF2_SHA512_PREFIX}{rounds}${}${}",
        LENIENT_B64.encode(&salt),
        LENIENT_B64.encode(dk)
    ))
}

/// Decodes passlib's base64 as Keystone does: `.` stands for `+`; a length of 1 mod 4 is
/// invalid.
fn decode_ab64(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    LENIENT_B64.decode(text.replace('.', "+")).ok()
}

/// Splits `$<ident>$<a>$<b>$<c>` into its four fields.
fn four_fields(stored: &str) -> Option<[&str; 4]> {
    let mut parts = stored.strip_prefix('$')?.split('$');
    let fields = [parts.next()?, parts.next()?, parts.next()?, parts.next()?];
    parts.next().is_none().then_some(fields)
}

fn verify_pbkdf2_sha512(password: &[u8], stored: &str) -> bool {
    let Some([_, rounds, salt, digest]) = four_fields(stored) else {
        return false;
    };
    let (Ok(rounds), Some(salt), Some(expected)) = (
        rounds.parse::<u32>(),
        decode_ab64(salt),
        decode_ab64(digest),
    ) else {
        return false;
    };
    if rounds == 0 || expected.len() != PBKDF2_DK_LEN {
        return false;
    }
    let mut dk = [0u8; PBKDF2_DK_LEN];
    pbkdf2::pbkdf2_hmac::<Sha512>(password, &salt, rounds, &mut dk);
    dk.ct_eq(expected.as_slice()).into()
}

fn hash_scrypt(password: &[u8], r: u32, p: u32, salt_bytes: usize) -> Result<String> {
    let params = scrypt::Params::new(SCRYPT_LOG_N, r, p, SCRYPT_DK_LEN)
        .map_err(|e| Error::internal(format!("scrypt parameters r={r}, p={p}: {e}")))?;
    let salt = random_bytes(salt_bytes)?;
    let mut dk = [0u8; SCRYPT_DK_LEN];
    scrypt::scrypt(password, &salt, &params, &mut dk)
        .map_err(|e| Error::internal(format!("scrypt: {e}")))?;
    Ok(format!(
        "{SCRYPT_PREFIX}ln={SCRYPT_LOG_N},r={r},p={p}${}${}",
        LENIENT_B64.encode(&salt),
        LENIENT_B64.encode(dk)
    ))
}

/// `ln=…,r=…,p=…` in any order (a later repetition wins, as in Keystone's loop).
fn scrypt_params(text: &str) -> Option<scrypt::Params> {
    let (mut log_n, mut r, mut p) = (None, None, None);
    for param in text.split(',') {
        if let Some(v) = param.strip_prefix("ln=") {
            log_n = v.parse::<u8>().ok();
        } else if let Some(v) = param.strip_prefix("p=") {
            p = v.parse::<u32>().ok();
        } else if let Some(v) = param.strip_prefix("r=") {
            r = v.parse::<u32>().ok();
        }
    }
    let (log_n, r, p) = (log_n?, r?, p?);
    // N = 2^ln must be > 1 (cryptography's rule), and memory stays bounded.
    if log_n == 0 || log_n >= 64 {
        return None;
    }
    let block = 128u64.checked_mul(u64::from(r))?;
    if block.checked_mul(1u64 << log_n)? > SCRYPT_MAX_MEMORY
        || block.checked_mul(u64::from(p))? > SCRYPT_MAX_MEMORY
    {
        return None;
    }
    scrypt::Params::new(log_n, r, p, SCRYPT_DK_LEN).ok()
}

fn verify_scrypt(password: &[u8], stored: &str) -> bool {
    let Some(["scrypt", params, salt, digest]) = four_fields(stored) else {
        return false;
    };
    let (Some(params), Some(salt), Some(expected)) = (
        scrypt_params(params),
        decode_ab64(salt),
        decode_ab64(digest),
    ) else {
        return false;
    };
    if expected.len() != SCRYPT_DK_LEN {
        return false;
    }
    let mut dk = [0u8; SCRYPT_DK_LEN];
    if scrypt::scrypt(password, &salt, &params, &mut dk).is_err() {
        return false;
    }
    dk.ct_eq(expected.as_slice()).into()
}

/// `$6$[rounds=N$]<salt>$<86 chars>` (Drepper's SHA-crypt, as glibc and passlib write it).
fn verify_sha512_crypt(password: &[u8], stored: &str) -> bool {
    let Some(rest) = stored.strip_prefix(SHA512_CRYPT_PREFIX) else {
        return false;
    };
    let (rounds, rest) = match rest.strip_prefix("rounds=") {
        Some(r) => match r.split_once('$') {
            Some((n, rest)) => match n.parse::<u64>() {
                // glibc clamps the round count into the allowed range instead of failing.
                Ok(n) => (
                    usize::try_from(n)
                        .unwrap_or(usize::MAX)
                        .clamp(sha_crypt::ROUNDS_MIN, sha_crypt::ROUNDS_MAX),
                    rest,
                ),
                Err(_) => return false,
            },
            None => return false,
        },
        None => (sha_crypt::ROUNDS_DEFAULT, rest),
    };
    let Some((salt, expected)) = rest.split_once('$') else {
        return false;
    };
    let Ok(params) = sha_crypt::Sha512Params::new(rounds) else {
        return false;
    };
    match sha_crypt::sha512_crypt_b64(password, salt.as_bytes(), &params) {
        Ok(computed) => computed.as_bytes().ct_eq(expected.as_bytes()).into(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;
