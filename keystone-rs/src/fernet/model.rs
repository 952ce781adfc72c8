//! What a Fernet token says, in domain terms — independent of the msgpack layout.

use chrono::{DateTime, TimeDelta, Utc};

/// The content of a token payload. Which of Keystone's eleven payload versions carries it
/// follows from the fields (see [`TokenPayload::payload_version`]), so callers never pick
/// a version by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPayload {
    pub user_id: String,
    /// Auth method names. Only names in `[auth] methods` survive a round trip; decoded
    /// lists come back in Keystone's order (descending bit).
    pub methods: Vec<String>,
    pub scope: Scope,
    /// Keystone always zeroes the microseconds before minting; a decoded value is whole
    /// seconds.
    pub expires_at: DateTime<Utc>,
    /// `[this token's audit id]` or `[this token's audit id, audit chain id]`; each a
    /// 22-character URL-safe base64 string of 16 bytes.
    pub audit_ids: Vec<String>,
    pub trust_id: Option<String>,
    /// Present exactly for federated tokens (versions 4–6).
    pub federated: Option<FederatedInfo>,
    /// OAuth1 access token id (version 7).
    pub access_token_id: Option<String>,
    /// Application credential id (version 9).
    pub app_cred_id: Option<String>,
    /// OAuth2 mTLS certificate thumbprint, base64url(SHA-256(PEM)) with padding (version 10).
    pub thumbprint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Unscoped,
    Project(String),
    Domain(String),
    /// Keystone only ever uses `"all"`.
    System(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedInfo {
    /// Group ids from the mapping; Keystone renders each as `{"id": …}`.
    pub group_ids: Vec<String>,
    pub identity_provider_id: String,
    pub protocol_id: String,
}

/// A token that decrypted and parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedToken {
    pub payload: TokenPayload,
    /// From the Fernet envelope's timestamp: Keystone's `issued_at`.
    pub issued_at: DateTime<Utc>,
    /// The payload version found in the token (0..=10).
    pub version: u8,
}

impl TokenPayload {
    /// A payload with only the always-present fields; the rest default to "absent".
    pub fn new(
        user_id: impl Into<String>,
        methods: Vec<String>,
        scope: Scope,
        expires_at: DateTime<Utc>,
        audit_ids: Vec<String>,
    ) -> Self {
        TokenPayload {
            user_id: user_id.into(),
            methods,
            scope,
            expires_at,
            audit_ids,
            trust_id: None,
            federated: None,
            access_token_id: None,
            app_cred_id: None,
            thumbprint: None,
        }
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.scope {
            Scope::Project(id) => Some(id),
            _ => None,
        }
    }

    pub fn domain_id(&self) -> Option<&str> {
        match &self.scope {
            Scope::Domain(id) => Some(id),
            _ => None,
        }
    }

    pub fn system(&self) -> Option<&str> {
        match &self.scope {
            Scope::System(s) => Some(s),
            _ => None,
        }
    }

    /// This token's own audit id (the first entry).
    pub fn audit_id(&self) -> Option<&str> {
        self.audit_ids.first().map(String::as_str)
    }

    /// Keystone's `parent_audit_id`: the audit id of the chain's root token, present only
    /// on tokens obtained by rescoping (what revocation matches as `audit_chain_id`).
    pub fn parent_audit_id(&self) -> Option<&str> {
        self.audit_ids.get(1).map(String::as_str)
    }

    /// Keystone's validity rule: valid iff `now < expires_at + window`; `window` is zero,
    /// or `[token] allow_expired_window` when the caller asked for `allow_expired`.
    pub fn is_expired(&self, now: DateTime<Utc>, window: TimeDelta) -> bool {
        match self.expires_at.checked_add_signed(window) {
            Some(deadline) => now >= deadline,
            // A window beyond the calendar: nothing is expired.
            None => false,
        }
    }
}

/// Keystone's time format in token bodies (`expires_at`, `issued_at`):
/// `YYYY-MM-DDTHH:MM:SS.000000Z` — sub-seconds are always printed as zeros.
pub fn keystone_time(at: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // Written out rather than through `format`, which parses its pattern on every call:
    // every validation renders two of these (a few per cent of a validation's time).
    // Years outside 0..=9999 and leap seconds keep chrono's own rendering.
    if !(0..=9999).contains(&at.year()) || at.nanosecond() >= 1_000_000_000 {
        return at.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string();
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000000Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn payload_expiring_at(secs: i64) -> TokenPayload {
        let at = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
        TokenPayload::new("u", vec![], Scope::Unscoped, at, vec!["a".into()])
    }

    #[test]
    fn time_format_has_zeroed_microseconds() {
        let at = Utc
            .timestamp_opt(1_767_229_200, 123_456_789)
            .single()
            .unwrap_or_default();
        assert_eq!(keystone_time(at), "2026-01-01T01:00:00.000000Z");
        for secs in [
            0,
            59,
            951_782_400,
            4_102_444_799,
            -62_135_596_800,
            253_402_300_799,
        ] {
            let at = Utc.timestamp_opt(secs, 123_456_789).single().unwrap();
            assert_eq!(
                keystone_time(at),
                at.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string()
            );
        }
    }

    #[test]
    fn expiry_is_strict_and_honours_the_window() {
        let p = payload_expiring_at(1000);
        let at = |s| Utc.timestamp_opt(s, 0).single().unwrap_or_default();
        assert!(!p.is_expired(at(999), TimeDelta::zero()));
        assert!(p.is_expired(at(1000), TimeDelta::zero()));
        assert!(!p.is_expired(at(1000), TimeDelta::seconds(10)));
        assert!(p.is_expired(at(1010), TimeDelta::seconds(10)));
    }

    #[test]
    fn parent_audit_id_is_the_second_entry() {
        let mut p = payload_expiring_at(0);
        assert_eq!(p.parent_audit_id(), None);
        p.audit_ids.push("root".into());
        assert_eq!(p.audit_id(), Some("a"));
        assert_eq!(p.parent_audit_id(), Some("root"));
    }
}
