//! Token revocation: events that make matching tokens fail validation
//! (shared/spec/revocation.md). Rows are Keystone's `revocation_event`, read and written
//! the way Python Keystone does so both can share one database.

pub mod store;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

/// One revocation event. `None` fields are wildcards.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RevocationEvent {
    pub domain_id: Option<String>,
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    pub role_id: Option<String>,
    pub trust_id: Option<String>,
    pub consumer_id: Option<String>,
    pub access_token_id: Option<String>,
    pub issued_before: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: NaiveDateTime,
    pub audit_id: Option<String>,
    pub audit_chain_id: Option<String>,
}

/// Every stored event, ordered by `issued_before`, for validation to match tokens against.
///
/// An event can only revoke tokens issued at or before its `issued_before`, so a token need
/// only be matched against the events newer than itself: a binary search finds them, and a
/// validation's cost no longer grows with the thousands of older events a cloud accumulates
/// (Keystone matches every event in turn).
#[derive(Debug, Default)]
pub struct RevocationList {
    by_issued_before: Vec<RevocationEvent>,
}

impl RevocationList {
    pub fn new(mut events: Vec<RevocationEvent>) -> Self {
        events.sort_by_key(|e| e.issued_before);
        Self {
            by_issued_before: events,
        }
    }

    /// True when any event revokes the token.
    pub fn revokes(&self, t: &TokenValues) -> bool {
        let first_newer = self
            .by_issued_before
            .partition_point(|e| e.issued_before < t.issued_at);
        self.by_issued_before[first_newer..]
            .iter()
            .any(|e| e.matches(t))
    }

    pub fn len(&self) -> usize {
        self.by_issued_before.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_issued_before.is_empty()
    }
}

/// What a token offers to the matcher (revocation.md §3).
#[derive(Debug, Clone, Default)]
pub struct TokenValues {
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub audit_id: Option<String>,
    pub audit_chain_id: Option<String>,
    pub user_id: String,
    pub identity_domain_id: Option<String>,
    pub project_id: Option<String>,
    /// The domain of a domain-scoped token; `None` otherwise (Keystone's quirk, §3).
    pub assignment_domain_id: Option<String>,
    pub role_ids: Vec<String>,
    pub trust_id: Option<String>,
    pub trustor_id: Option<String>,
    pub trustee_id: Option<String>,
    pub consumer_id: Option<String>,
}

/// How long events are kept: `[token] expiration` + `[revoke] expiration_buffer` (1800 s).
pub fn retention_secs(config: &crate::config::Config) -> i64 {
    let buffer = config
        .get("revoke", "expiration_buffer")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1800);
    config.token.expiration + buffer
}

/// Whole seconds, naive UTC: the precision Keystone stores events at.
pub fn to_second(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
        .with_nanosecond(0)
        .unwrap_or_else(|| t.naive_utc())
}

impl RevocationEvent {
    /// An event written now: `revoked_at = issued_before = now` at second precision.
    pub fn now() -> Self {
        let now = to_second(Utc::now());
        RevocationEvent {
            issued_before: now,
            revoked_at: now,
            ..Default::default()
        }
    }

    pub fn for_audit_id(audit_id: &str) -> Self {
        RevocationEvent {
            audit_id: Some(audit_id.to_string()),
            ..Self::now()
        }
    }

    pub fn for_audit_chain(audit_chain_id: &str) -> Self {
        RevocationEvent {
            audit_chain_id: Some(audit_chain_id.to_string()),
            ..Self::now()
        }
    }

    pub fn for_user(user_id: &str) -> Self {
        RevocationEvent {
            user_id: Some(user_id.to_string()),
            ..Self::now()
        }
    }

    pub fn for_project(project_id: &str) -> Self {
        RevocationEvent {
            project_id: Some(project_id.to_string()),
            ..Self::now()
        }
    }

    pub fn for_consumer(consumer_id: &str) -> Self {
        RevocationEvent {
            consumer_id: Some(consumer_id.to_string()),
            ..Self::now()
        }
    }

    /// An event with no matcher field would revoke every token; no code path may write one.
    pub fn has_matcher(&self) -> bool {
        self.domain_id.is_some()
            || self.project_id.is_some()
            || self.user_id.is_some()
            || self.role_id.is_some()
            || self.trust_id.is_some()
            || self.consumer_id.is_some()
            || self.audit_id.is_some()
            || self.audit_chain_id.is_some()
            || self.expires_at.is_some()
    }

    /// Keystone's virtual `domain_scope_id`: `domain_id` together with `expires_at`.
    pub fn domain_scope_id(&self) -> Option<&str> {
        self.expires_at.and(self.domain_id.as_deref())
    }

    /// True when every non-empty field of the event is satisfied by the token (§3).
    pub fn matches(&self, t: &TokenValues) -> bool {
        if self.issued_before < t.issued_at {
            return false;
        }
        let eq = |field: &Option<String>, value: &Option<String>| match field {
            None => true,
            Some(f) => value.as_deref() == Some(f.as_str()),
        };
        if let Some(user) = &self.user_id {
            let hit = &t.user_id == user
                || t.trustor_id.as_deref() == Some(user)
                || t.trustee_id.as_deref() == Some(user);
            if !hit {
                return false;
            }
        }
        if !eq(&self.project_id, &t.project_id)
            || !eq(&self.audit_id, &t.audit_id)
            || !eq(&self.trust_id, &t.trust_id)
            || !eq(&self.consumer_id, &t.consumer_id)
            || !eq(&self.audit_chain_id, &t.audit_chain_id)
        {
            return false;
        }
        if let Some(expires) = self.expires_at {
            if expires != t.expires_at.with_nanosecond(0).unwrap_or(t.expires_at) {
                return false;
            }
        }
        match (&self.domain_id, self.expires_at) {
            (Some(scope), Some(_)) => {
                if t.assignment_domain_id.as_deref() != Some(scope.as_str()) {
                    return false;
                }
            }
            (Some(domain), None) => {
                let hit = t.identity_domain_id.as_deref() == Some(domain.as_str())
                    || t.assignment_domain_id.as_deref() == Some(domain.as_str());
                if !hit {
                    return false;
                }
            }
            _ => {}
        }
        if let Some(role) = &self.role_id {
            if !t.role_ids.iter().any(|r| r == role) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, s)
            .unwrap()
    }

    fn token() -> TokenValues {
        TokenValues {
            issued_at: at(10),
            expires_at: at(50),
            audit_id: Some("A".into()),
            audit_chain_id: Some("ROOT".into()),
            user_id: "u".into(),
            identity_domain_id: Some("default".into()),
            project_id: Some("p".into()),
            role_ids: vec!["r1".into()],
            ..Default::default()
        }
    }

    fn event(secs: u32) -> RevocationEvent {
        RevocationEvent {
            issued_before: at(secs),
            revoked_at: at(secs),
            ..Default::default()
        }
    }

    #[test]
    fn same_second_is_revoked_later_token_is_not() {
        let e = RevocationEvent {
            user_id: Some("u".into()),
            ..event(10)
        };
        assert!(e.matches(&token()));
        let e = RevocationEvent {
            user_id: Some("u".into()),
            ..event(9)
        };
        assert!(!e.matches(&token()));
    }

    #[test]
    fn chain_event_matches_children_not_root() {
        let e = RevocationEvent {
            audit_chain_id: Some("ROOT".into()),
            ..event(20)
        };
        assert!(e.matches(&token()));
        let root = TokenValues {
            audit_id: Some("ROOT".into()),
            audit_chain_id: None,
            ..token()
        };
        assert!(!e.matches(&root));
    }

    #[test]
    fn every_field_must_hold() {
        let e = RevocationEvent {
            user_id: Some("u".into()),
            project_id: Some("other".into()),
            ..event(20)
        };
        assert!(!e.matches(&token()));
        let e = RevocationEvent {
            role_id: Some("r1".into()),
            ..event(20)
        };
        assert!(e.matches(&token()));
        let e = RevocationEvent {
            domain_id: Some("default".into()),
            ..event(20)
        };
        assert!(
            e.matches(&token()),
            "domain without expiry matches the user's domain"
        );
        let e = RevocationEvent {
            domain_id: Some("default".into()),
            expires_at: Some(at(50)),
            ..event(20)
        };
        assert!(
            !e.matches(&token()),
            "domain scope event needs a domain-scoped token"
        );
    }

    #[test]
    fn trustor_and_trustee_match_user_events() {
        let t = TokenValues {
            trustor_id: Some("boss".into()),
            ..token()
        };
        assert!(
            RevocationEvent {
                user_id: Some("boss".into()),
                ..event(20)
            }
            .matches(&t)
        );
    }

    #[test]
    fn list_matches_only_events_as_new_as_the_token_in_any_stored_order() {
        let user = |secs| RevocationEvent {
            user_id: Some("u".into()),
            ..event(secs)
        };
        let other = |secs| RevocationEvent {
            user_id: Some("someone else".into()),
            ..event(secs)
        };
        // Stored order is revoked_at's, not issued_before's.
        let list = RevocationList::new(vec![other(30), user(9), other(5), other(10)]);
        assert_eq!(list.len(), 4);
        assert!(
            !list.revokes(&token()),
            "the user's event predates the token"
        );
        let list = RevocationList::new(vec![other(30), user(10), other(5), user(9)]);
        assert!(list.revokes(&token()), "the same second revokes");
        let list = RevocationList::new(vec![user(40), other(1)]);
        assert!(list.revokes(&token()));
        assert!(!RevocationList::new(Vec::new()).revokes(&token()));
    }

    #[test]
    fn empty_event_is_refused_by_has_matcher() {
        assert!(!event(1).has_matcher());
        assert!(RevocationEvent::for_user("u").has_matcher());
    }
}
