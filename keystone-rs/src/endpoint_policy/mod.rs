//! Policy blobs (`/v3/policies`, Keystone's `policy` subsystem and its `policy` table) and
//! their OS-ENDPOINT-POLICY associations with endpoints, services and service+region pairs
//! (Keystone's `endpoint_policy` subsystem, table `policy_association`), with the lookup of
//! the policy in effect for an endpoint.
//!
//! Not to be confused with `crate::policy`, the oslo.policy enforcement of every route:
//! these blobs are opaque documents Keystone stores for other services and never enforces.

pub mod schema;
pub mod store;

use crate::catalog::{self, Endpoint};
use crate::db::AnyConnection;
use crate::db::listing::SqlFilters;
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// A `policy` row: Keystone's `PolicyModel` (`id`, `blob`, `type` and the `extra` blob).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: String,
    pub policy_type: String,
    pub blob: Value,
    pub extra: Map<String, Value>,
}

const POLICY_ATTRIBUTES: &[&str] = &["id", "blob", "type"];

impl Policy {
    /// Keystone's `from_dict`: every key that is not a column, except `extra`, is an extra.
    fn from_dict(d: &Map<String, Value>) -> Policy {
        Policy {
            id: d.get("id").and_then(Value::as_str).unwrap_or("").into(),
            policy_type: d.get("type").and_then(Value::as_str).unwrap_or("").into(),
            blob: d.get("blob").cloned().unwrap_or(Value::Null),
            extra: d
                .iter()
                .filter(|(k, _)| !POLICY_ATTRIBUTES.contains(&k.as_str()) && *k != "extra")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Keystone's `to_dict`: the extras, then `id`, `blob`, `type`.
    pub fn to_dict(&self) -> Map<String, Value> {
        let mut d = self.extra.clone();
        d.insert("id".into(), self.id.clone().into());
        d.insert("blob".into(), self.blob.clone());
        d.insert("type".into(), self.policy_type.clone().into());
        d
    }

    /// The API form, its self link under `collection` (`policies`; Keystone's effective
    /// policy lookup names `endpoints` there, with the policy's id).
    pub fn to_json(&self, base_url: &str, collection: &str) -> Value {
        let mut d = self.to_dict();
        catalog::model::add_self_link(&mut d, format!("{base_url}/v3/{collection}/{}", self.id));
        Value::Object(d)
    }
}

/// A `policy_association` row: exactly one of endpoint, service, or service+region.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub id: String,
    pub policy_id: String,
    pub endpoint_id: Option<String>,
    pub service_id: Option<String>,
    pub region_id: Option<String>,
}

/// What an association names (Keystone's three supported kinds).
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Endpoint(&'a str),
    Service(&'a str),
    ServiceInRegion(&'a str, &'a str),
}

impl<'a> Subject<'a> {
    fn columns(self) -> (Option<&'a str>, Option<&'a str>, Option<&'a str>) {
        match self {
            Subject::Endpoint(e) => (Some(e), None, None),
            Subject::Service(s) => (None, Some(s), None),
            Subject::ServiceInRegion(s, r) => (None, Some(s), Some(r)),
        }
    }
}

pub fn policy_not_found(id: &str) -> Error {
    Error::could_not_find("policy", id)
}

fn association_not_found() -> Error {
    Error::not_found("Could not find policy association.")
}

// ---- policy blobs -----------------------------------------------------------------------

/// `POST /v3/policies` with the checked `policy` member: keys normalised (`-`/`:` → `_`),
/// a fresh id.
pub fn create_policy(conn: &mut AnyConnection, body: &Map<String, Value>) -> Result<Policy> {
    let mut d = catalog::normalize_keys(body.clone());
    d.insert("id".into(), catalog::new_id().into());
    let created = Policy::from_dict(&d);
    store::insert_policy(conn, &created)?;
    Ok(created)
}

pub fn get_policy(conn: &mut AnyConnection, id: &str) -> Result<Policy> {
    store::get_policy(conn, id)?.ok_or_else(|| policy_not_found(id))
}

pub fn list_policies(conn: &mut AnyConnection) -> Result<Vec<Policy>> {
    store::list_policies(conn)
}

/// `PATCH /v3/policies/{id}`: the stored dict updated with the body (an `id` must match).
pub fn update_policy(
    conn: &mut AnyConnection,
    id: &str,
    update: &Map<String, Value>,
) -> Result<Policy> {
    if let Some(given) = update.get("id")
        && given.as_str() != Some(id)
    {
        return Err(Error::bad_request("Cannot change policy ID"));
    }
    let mut d = get_policy(conn, id)?.to_dict();
    for (k, v) in update {
        d.insert(k.clone(), v.clone());
    }
    let mut updated = Policy::from_dict(&d);
    updated.id = id.to_string();
    store::update_policy(conn, &updated)?;
    Ok(updated)
}

/// The policy row only; its associations go with it in [`crate::cascade`].
pub fn delete_policy(conn: &mut AnyConnection, id: &str) -> Result<()> {
    if !store::delete_policy(conn, id)? {
        return Err(policy_not_found(id));
    }
    Ok(())
}

// ---- associations -----------------------------------------------------------------------

/// Keystone's `create_policy_association`: the row for this subject now names the policy
/// (an existing one is repointed, so a subject has at most one policy).
pub fn associate(conn: &mut AnyConnection, policy_id: &str, subject: Subject) -> Result<()> {
    let (e, s, r) = subject.columns();
    match store::associations_for(conn, e, s, r)?.first() {
        Some(existing) => store::set_association_policy(conn, &existing.id, policy_id),
        None => store::insert_association(
            conn,
            &Association {
                id: catalog::new_id(),
                policy_id: policy_id.to_string(),
                endpoint_id: e.map(str::to_string),
                service_id: s.map(str::to_string),
                region_id: r.map(str::to_string),
            },
        ),
    }
}

pub fn check_association(
    conn: &mut AnyConnection,
    policy_id: &str,
    subject: Subject,
) -> Result<()> {
    let (e, s, r) = subject.columns();
    if store::associations_for(conn, e, s, r)?
        .iter()
        .any(|a| a.policy_id == policy_id)
    {
        Ok(())
    } else {
        Err(association_not_found())
    }
}

/// Removing an association that does not exist is not an error, as in Keystone.
pub fn dissociate(conn: &mut AnyConnection, policy_id: &str, subject: Subject) -> Result<()> {
    let (e, s, r) = subject.columns();
    let ids: Vec<String> = store::associations_for(conn, e, s, r)?
        .into_iter()
        .filter(|a| a.policy_id == policy_id)
        .map(|a| a.id)
        .collect();
    store::delete_associations(conn, &ids)
}

fn policy_id_for(conn: &mut AnyConnection, subject: Subject) -> Result<Option<String>> {
    let (e, s, r) = subject.columns();
    Ok(store::associations_for(conn, e, s, r)?
        .into_iter()
        .next()
        .map(|a| a.policy_id))
}

/// Keystone's `get_policy_for_endpoint` (the endpoint is known to exist): an association
/// with the endpoint itself; else with its service in its region or the nearest ancestor
/// region; else with its service alone. 404 when none applies, or when the associated
/// policy is gone.
pub fn policy_for_endpoint(conn: &mut AnyConnection, endpoint: &Endpoint) -> Result<Policy> {
    if let Some(policy_id) = policy_id_for(conn, Subject::Endpoint(&endpoint.id))? {
        return get_policy(conn, &policy_id);
    }
    let mut region_id = endpoint.region_id.clone();
    let mut examined = HashSet::new();
    while let Some(region) = region_id {
        let subject = Subject::ServiceInRegion(&endpoint.service_id, &region);
        if let Some(policy_id) = policy_id_for(conn, subject)? {
            return get_policy(conn, &policy_id);
        }
        examined.insert(region.clone());
        region_id = catalog::get_region(conn, &region)?
            .parent_region_id
            .filter(|parent| !examined.contains(parent));
    }
    if let Some(policy_id) = policy_id_for(conn, Subject::Service(&endpoint.service_id))? {
        return get_policy(conn, &policy_id);
    }
    Err(Error::not_found(format!(
        "No policy is associated with endpoint {}.",
        endpoint.id
    )))
}

/// Keystone's `list_endpoints_for_policy` (the policy is known to exist): per association
/// in table order, the endpoint, the service's endpoints, or the service's endpoints in the
/// region and the regions below it. Duplicates are kept, as Keystone keeps them; an
/// associated endpoint that no longer exists is a 404.
pub fn endpoints_for_policy(conn: &mut AnyConnection, policy_id: &str) -> Result<Vec<Endpoint>> {
    let endpoints = catalog::store::list_endpoints(conn)?;
    let regions = catalog::store::query_regions(conn, &SqlFilters::default(), None)?;
    let mut found = Vec::new();
    for a in store::associations_of_policy(conn, policy_id)? {
        match (&a.endpoint_id, &a.service_id, &a.region_id) {
            (Some(endpoint_id), _, _) => found.push(catalog::get_endpoint(conn, endpoint_id)?),
            (None, Some(service_id), None) => found.extend(
                endpoints
                    .iter()
                    .filter(|e| &e.service_id == service_id)
                    .cloned(),
            ),
            (None, Some(service_id), Some(region_id)) => {
                let mut examined = Vec::new();
                let mut pending = vec![region_id.clone()];
                // Depth first, children in the region table's order, as Keystone recurses.
                while let Some(region) = pending.pop() {
                    if examined.contains(&region) {
                        continue;
                    }
                    examined.push(region.clone());
                    found.extend(
                        endpoints
                            .iter()
                            .filter(|e| {
                                &e.service_id == service_id
                                    && e.region_id.as_deref() == Some(region.as_str())
                            })
                            .cloned(),
                    );
                    let children: Vec<String> = regions
                        .iter()
                        .filter(|r| r.parent_region_id.as_deref() == Some(region.as_str()))
                        .map(|r| r.id.clone())
                        .collect();
                    pending.extend(children.into_iter().rev());
                }
            }
            // Keystone logs and skips any other mix.
            _ => {}
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_dicts_put_extras_first_and_drop_extra() {
        let d = json!({"x": 1, "type": "t", "blob": "b", "extra": {"y": 2}, "id": "i"});
        let p = Policy::from_dict(d.as_object().unwrap());
        let keys: Vec<String> = p.to_dict().keys().cloned().collect();
        assert_eq!(keys, ["x", "id", "blob", "type"]);
        let json = p.to_json("http://k", "policies");
        assert_eq!(json["links"]["self"], "http://k/v3/policies/i");
    }
}
