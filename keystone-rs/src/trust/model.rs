//! A trust as Keystone's `trust` and `trust_role` rows hold it, and the JSON Keystone shows.

use crate::assignment::Role;
use crate::identity::User;
use crate::resource::Project;
use chrono::NaiveDateTime;
use serde_json::{Map, Value};
use std::sync::Arc;

/// One row of `trust`, with its `trust_role` rows when it was read by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Trust {
    pub id: String,
    pub trustor_user_id: String,
    pub trustee_user_id: String,
    pub project_id: Option<String>,
    pub impersonation: bool,
    /// `expires_at_int` when set (microseconds), else the `expires_at` column.
    pub expires_at: Option<NaiveDateTime>,
    pub remaining_uses: Option<i32>,
    pub deleted_at: Option<NaiveDateTime>,
    pub redelegated_trust_id: Option<String>,
    pub redelegation_count: Option<i32>,
    /// The `extra` JSON blob: what the create request carried beyond the columns.
    pub extra: Map<String, Value>,
    /// From `trust_role`, in stored order (empty for listed trusts, which Keystone reads
    /// without their roles).
    pub role_ids: Vec<String>,
}

impl Trust {
    pub fn is_expired(&self, now: NaiveDateTime) -> bool {
        self.expires_at.is_some_and(|at| now > at)
    }

    /// Keystone's driver `get_trust`: soft-deleted, expired and used-up trusts are gone.
    pub fn is_usable(&self, now: NaiveDateTime) -> bool {
        self.deleted_at.is_none()
            && !self.is_expired(now)
            && self.remaining_uses.is_none_or(|n| n > 0)
    }

    /// `TrustModel.to_dict()`: the extras first, then the columns in Keystone's order.
    pub fn to_dict(&self) -> Map<String, Value> {
        let mut m = self.extra.clone();
        let opt = |v: &Option<String>| v.clone().map(Value::from).unwrap_or(Value::Null);
        let time =
            |v: &Option<NaiveDateTime>| v.map(|t| Value::from(isotime(t))).unwrap_or(Value::Null);
        m.insert("id".into(), self.id.clone().into());
        m.insert(
            "trustor_user_id".into(),
            self.trustor_user_id.clone().into(),
        );
        m.insert(
            "trustee_user_id".into(),
            self.trustee_user_id.clone().into(),
        );
        m.insert("project_id".into(), opt(&self.project_id));
        m.insert("impersonation".into(), self.impersonation.into());
        m.insert("expires_at".into(), time(&self.expires_at));
        m.insert(
            "remaining_uses".into(),
            self.remaining_uses.map(Value::from).unwrap_or(Value::Null),
        );
        m.insert("deleted_at".into(), time(&self.deleted_at));
        m.insert(
            "redelegated_trust_id".into(),
            opt(&self.redelegated_trust_id),
        );
        m.insert(
            "redelegation_count".into(),
            self.redelegation_count
                .map(Value::from)
                .unwrap_or(Value::Null),
        );
        m
    }

    /// The policy target Keystone builds from `get_trust`: the dict with its roles as ids.
    pub fn policy_target(&self) -> Value {
        let mut m = self.to_dict();
        m.insert(
            "roles".into(),
            self.role_ids
                .iter()
                .map(|id| serde_json::json!({"id": id}))
                .collect(),
        );
        serde_json::json!({ "trust": Value::Object(m) })
    }
}

/// `utils.isotime(t, subsecond=True)`: microseconds and a `Z`.
pub fn isotime(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The self link of a trust.
pub fn trust_url(base: &str, id: &str) -> String {
    format!("{base}/v3/OS-TRUST/trusts/{id}")
}

/// Keystone's `roles_links`: its `base_url(path='/<id>/roles')`, which leaves out
/// `OS-TRUST/trusts` (kept as Keystone shows it: clients compare these bodies).
pub fn roles_links(base: &str, id: &str) -> Value {
    serde_json::json!({"self": format!("{base}/v3/{id}/roles"), "next": null, "previous": null})
}

/// The member body of get and create: the dict, its roles in full (roles that no longer
/// exist left out), `roles_links` and `links`.
pub fn trust_json(trust: &Trust, roles: &[Role], base: &str) -> Value {
    let mut m = trust.to_dict();
    m.insert(
        "roles".into(),
        roles.iter().map(|r| r.to_json(base)).collect(),
    );
    m.insert("roles_links".into(), roles_links(base, &trust.id));
    m.insert(
        "links".into(),
        serde_json::json!({"self": trust_url(base, &trust.id)}),
    );
    Value::Object(m)
}

/// A listed trust: the dict without roles, with its link.
pub fn listed_trust_json(trust: &Trust, base: &str) -> Value {
    let mut m = trust.to_dict();
    m.shift_remove("roles");
    m.insert(
        "links".into(),
        serde_json::json!({"self": trust_url(base, &trust.id)}),
    );
    Value::Object(m)
}

/// What a trust-scoped token carries once its trust was checked: the trust, both users,
/// the trustor's domain (shown under impersonation) and the delegated roles.
#[derive(Debug, Clone)]
pub struct TrustToken {
    pub trust: Trust,
    pub trustor: User,
    pub trustor_domain: Project,
    pub trustee: User,
    pub trustee_domain: Project,
}

impl TrustToken {
    /// The user the token acts as (the trustor under impersonation, else the trustee) and
    /// their domain, as the token keeps them.
    pub fn acting_user(&self) -> (Arc<User>, Project) {
        let (user, domain) = if self.trust.impersonation {
            (&self.trustor, &self.trustor_domain)
        } else {
            (&self.trustee, &self.trustee_domain)
        };
        (Arc::new(user.clone()), domain.clone())
    }

    /// The `OS-TRUST:trust` block of the token body.
    pub fn token_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.trust.id.clone().into());
        m.insert(
            "trustor_user".into(),
            serde_json::json!({"id": self.trustor.id}),
        );
        m.insert(
            "trustee_user".into(),
            serde_json::json!({"id": self.trustee.id}),
        );
        m.insert("impersonation".into(), self.trust.impersonation.into());
        Value::Object(m)
    }
}
