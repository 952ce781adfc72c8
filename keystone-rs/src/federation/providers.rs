//! OS-FEDERATION identity providers (with their remote ids), their protocols and service
//! providers: the entities, their bodies as Keystone renders them, and what Keystone's
//! federation manager does on create (an IdP without a domain gets a domain of its own;
//! a protocol must name an existing mapping).

use super::provider_store as store;
use crate::db::AnyConnection;
use crate::error::{Error, Result};
use crate::resource::{self, Settings};
use serde_json::{Map, Value, json};

/// `[saml] relay_state_prefix`'s default.
pub const DEFAULT_RELAY_STATE_PREFIX: &str = "ss:mem:";

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityProvider {
    pub id: String,
    pub domain_id: String,
    pub enabled: bool,
    pub description: Option<String>,
    /// In the order the client gave them on create and update; sorted when read back.
    pub remote_ids: Vec<String>,
    pub authorization_ttl: Option<i32>,
}

impl IdentityProvider {
    /// Keystone's body: the model's attributes in its order, then `links` with `self`,
    /// and `protocols` in a list (Keystone adds that link in its list resource only; the
    /// member routes answer `self` alone).
    pub fn to_json(&self, base_url: &str, in_list: bool) -> Value {
        let this = format!("{base_url}/v3/OS-FEDERATION/identity_providers/{}", self.id);
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("domain_id".into(), self.domain_id.clone().into());
        m.insert("enabled".into(), self.enabled.into());
        m.insert("description".into(), self.description.clone().into());
        m.insert("remote_ids".into(), self.remote_ids.clone().into());
        m.insert("authorization_ttl".into(), self.authorization_ttl.into());
        let links = if in_list {
            json!({"self": this, "protocols": format!("{this}/protocols")})
        } else {
            json!({"self": this})
        };
        m.insert("links".into(), links);
        Value::Object(m)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    pub id: String,
    pub idp_id: String,
    pub mapping_id: String,
    pub remote_id_attribute: Option<String>,
}

impl Protocol {
    /// Keystone's links for a protocol. Its protocol resources carry no `api_prefix`, so
    /// `self` is `/v3/protocols/{id}` and `identity_provider` is `/v3/{idp_id}`: that is
    /// what Keystone 30.0.0 sends, and clients compare these bodies.
    fn links(&self, base_url: &str) -> Value {
        json!({
            "self": format!("{base_url}/v3/protocols/{}", self.id),
            "identity_provider": format!("{base_url}/v3/{}", self.idp_id),
        })
    }

    /// The body of GET/PUT/PATCH on one protocol: `id`, `mapping_id`, `links`.
    pub fn to_member_json(&self, base_url: &str) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("mapping_id".into(), self.mapping_id.clone().into());
        m.insert("links".into(), self.links(base_url));
        Value::Object(m)
    }

    /// A member of the protocol list, which Keystone does not filter: every attribute.
    pub fn to_list_json(&self, base_url: &str) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), self.id.clone().into());
        m.insert("idp_id".into(), self.idp_id.clone().into());
        m.insert("mapping_id".into(), self.mapping_id.clone().into());
        m.insert(
            "remote_id_attribute".into(),
            self.remote_id_attribute.clone().into(),
        );
        m.insert("links".into(), self.links(base_url));
        Value::Object(m)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceProvider {
    pub auth_url: String,
    pub id: String,
    pub enabled: bool,
    pub description: Option<String>,
    pub relay_state_prefix: String,
    pub sp_url: String,
}

impl ServiceProvider {
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut m = Map::new();
        m.insert("auth_url".into(), self.auth_url.clone().into());
        m.insert("id".into(), self.id.clone().into());
        m.insert("enabled".into(), self.enabled.into());
        m.insert("description".into(), self.description.clone().into());
        m.insert(
            "relay_state_prefix".into(),
            self.relay_state_prefix.clone().into(),
        );
        m.insert("sp_url".into(), self.sp_url.clone().into());
        m.insert(
            "links".into(),
            json!({"self": format!("{base_url}/v3/OS-FEDERATION/service_providers/{}", self.id)}),
        );
        Value::Object(m)
    }
}

// ---- request bodies (already checked against Keystone's schemas) ------------------------

/// The inner object of a checked body (`{}` when absent, as Keystone's `.get(key, {})`).
pub fn inner<'a>(body: &'a Value, key: &str) -> Map<String, Value> {
    body.get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn opt_string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn ttl(v: Option<&Value>) -> Option<i32> {
    v.and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

/// Apply the mutable attributes a PATCH names to an identity provider.
pub fn patch_idp(idp: &mut IdentityProvider, patch: &Map<String, Value>) {
    if let Some(v) = patch.get("enabled").and_then(Value::as_bool) {
        idp.enabled = v;
    }
    if let Some(v) = patch.get("description") {
        idp.description = opt_string(Some(v));
    }
    if patch.contains_key("remote_ids") {
        idp.remote_ids = string_list(patch.get("remote_ids"));
    }
    if let Some(v) = patch.get("authorization_ttl") {
        idp.authorization_ttl = ttl(Some(v));
    }
}

/// `PUT /v3/OS-FEDERATION/identity_providers/{idp_id}`: Keystone's `create_idp`. Without a
/// `domain_id` the IdP gets a new enabled domain named after its id; a given one must
/// exist. The id and remote ids are checked before the domain is made, so a refused IdP
/// leaves no domain behind (Keystone deletes the one it made).
pub fn create_idp(
    conn: &mut AnyConnection,
    s: &Settings,
    id: &str,
    body: &Map<String, Value>,
) -> Result<IdentityProvider> {
    let mut idp = IdentityProvider {
        id: id.to_string(),
        domain_id: String::new(),
        enabled: false,
        description: None,
        remote_ids: Vec::new(),
        authorization_ttl: None,
    };
    patch_idp(&mut idp, body);
    let given_domain = body
        .get("domain_id")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty());
    if let Some(domain_id) = given_domain {
        resource::get_domain(conn, domain_id)?;
    }
    store::check_idp_insertable(conn, &idp)?;
    idp.domain_id = match given_domain {
        Some(domain_id) => domain_id.to_string(),
        None => create_idp_domain(conn, s, id)?,
    };
    store::insert_idp(conn, &idp)?;
    Ok(idp)
}

/// Keystone's `_create_idp_domain`.
fn create_idp_domain(conn: &mut AnyConnection, s: &Settings, idp_id: &str) -> Result<String> {
    let domain_id = uuid::Uuid::new_v4().simple().to_string();
    let mut body = Map::new();
    body.insert("explicit_domain_id".into(), domain_id.clone().into());
    body.insert("name".into(), domain_id.clone().into());
    body.insert(
        "description".into(),
        format!("Auto generated federated domain for Identity Provider: {idp_id}").into(),
    );
    body.insert("enabled".into(), true.into());
    Ok(resource::create_domain(conn, s, &body)?.id)
}

/// `PATCH /v3/OS-FEDERATION/identity_providers/{idp_id}`.
pub fn update_idp(
    conn: &mut AnyConnection,
    id: &str,
    patch: &Map<String, Value>,
) -> Result<IdentityProvider> {
    let mut idp = store::get_idp(conn, id)?.ok_or_else(|| idp_not_found(id))?;
    patch_idp(&mut idp, patch);
    store::update_idp(conn, &idp)?;
    Ok(idp)
}

pub fn idp_not_found(id: &str) -> Error {
    Error::not_found(format!("Could not find Identity Provider: {id}."))
}

pub fn protocol_not_found(idp_id: &str, protocol_id: &str) -> Error {
    Error::not_found(format!(
        "Could not find federated protocol {protocol_id} for Identity Provider: {idp_id}."
    ))
}

pub fn sp_not_found(id: &str) -> Error {
    Error::not_found(format!("Could not find Service Provider: {id}."))
}

/// Keystone's `_validate_mapping_exists`.
fn require_mapping(conn: &mut AnyConnection, mapping_id: &str) -> Result<()> {
    match super::store::get(conn, mapping_id)? {
        Some(_) => Ok(()),
        None => Err(Error::bad_request(format!(
            "Invalid mapping id: {mapping_id}"
        ))),
    }
}

/// `PUT …/identity_providers/{idp_id}/protocols/{protocol_id}`: the mapping must exist,
/// then the IdP (404), then the id must be free (409).
pub fn create_protocol(
    conn: &mut AnyConnection,
    idp_id: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Protocol> {
    let protocol = Protocol {
        id: id.to_string(),
        idp_id: idp_id.to_string(),
        mapping_id: opt_string(body.get("mapping_id")).unwrap_or_default(),
        remote_id_attribute: opt_string(body.get("remote_id_attribute")),
    };
    require_mapping(conn, &protocol.mapping_id)?;
    if store::get_idp(conn, idp_id)?.is_none() {
        return Err(idp_not_found(idp_id));
    }
    if store::get_protocol(conn, idp_id, id)?.is_some() {
        return Err(Error::duplicate("federation_protocol", "ID", id));
    }
    store::insert_protocol(conn, &protocol)?;
    Ok(protocol)
}

/// `PATCH …/protocols/{protocol_id}`: `mapping_id` (required) and `remote_id_attribute`.
pub fn update_protocol(
    conn: &mut AnyConnection,
    idp_id: &str,
    id: &str,
    body: &Map<String, Value>,
) -> Result<Protocol> {
    let mapping_id = opt_string(body.get("mapping_id")).unwrap_or_default();
    require_mapping(conn, &mapping_id)?;
    let mut protocol =
        store::get_protocol(conn, idp_id, id)?.ok_or_else(|| protocol_not_found(idp_id, id))?;
    protocol.mapping_id = mapping_id;
    if let Some(v) = body.get("remote_id_attribute") {
        protocol.remote_id_attribute = opt_string(Some(v));
    }
    store::update_protocol(conn, &protocol)?;
    Ok(protocol)
}

/// Apply what a service provider body names.
fn patch_sp(sp: &mut ServiceProvider, body: &Map<String, Value>) {
    if let Some(v) = opt_string(body.get("auth_url")) {
        sp.auth_url = v;
    }
    if let Some(v) = opt_string(body.get("sp_url")) {
        sp.sp_url = v;
    }
    if let Some(v) = body.get("description") {
        sp.description = opt_string(Some(v));
    }
    if let Some(v) = body.get("enabled").and_then(Value::as_bool) {
        sp.enabled = v;
    }
    if let Some(v) = opt_string(body.get("relay_state_prefix")) {
        sp.relay_state_prefix = v;
    }
}

/// `PUT /v3/OS-FEDERATION/service_providers/{sp_id}`: disabled unless said otherwise, the
/// relay state prefix from `[saml] relay_state_prefix` unless given.
pub fn create_sp(
    conn: &mut AnyConnection,
    id: &str,
    default_relay_state_prefix: &str,
    body: &Map<String, Value>,
) -> Result<ServiceProvider> {
    let mut sp = ServiceProvider {
        auth_url: String::new(),
        id: id.to_string(),
        enabled: false,
        description: None,
        relay_state_prefix: default_relay_state_prefix.to_string(),
        sp_url: String::new(),
    };
    patch_sp(&mut sp, body);
    if store::get_sp(conn, id)?.is_some() {
        return Err(Error::duplicate("service_provider", "ID", id));
    }
    store::insert_sp(conn, &sp)?;
    Ok(sp)
}

/// `PATCH /v3/OS-FEDERATION/service_providers/{sp_id}`.
pub fn update_sp(
    conn: &mut AnyConnection,
    id: &str,
    body: &Map<String, Value>,
) -> Result<ServiceProvider> {
    let mut sp = store::get_sp(conn, id)?.ok_or_else(|| sp_not_found(id))?;
    patch_sp(&mut sp, body);
    store::update_sp(conn, &sp)?;
    Ok(sp)
}
