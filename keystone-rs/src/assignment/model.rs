//! The assignment subsystem's domain types: roles (with their resource options) and role
//! assignments as Keystone's assignment manager passes them around.

use serde_json::{Map, Value};

/// Global roles carry this in `role.domain_id`.
pub const NULL_DOMAIN_ID: &str = "<<null>>";

/// `role_option.option_id` of the one role option Keystone registers.
pub const IMMUTABLE_OPTION_ID: &str = "IMMU";

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// `None` for a global role.
    pub domain_id: Option<String>,
    pub description: Option<String>,
    /// Attributes Keystone keeps in the `extra` column (anything a client sent beyond the
    /// schema's properties).
    pub extra: Map<String, Value>,
    /// `options.immutable` when it is stored (`Some(false)` is kept and shown, as Keystone
    /// does).
    pub immutable: Option<bool>,
}

impl Role {
    /// A role that exists only in memory, with no options and no extras.
    pub fn new(id: &str, name: &str, domain_id: Option<&str>) -> Role {
        Role {
            id: id.to_string(),
            name: name.to_string(),
            domain_id: domain_id.map(str::to_string),
            description: None,
            extra: Map::new(),
            immutable: None,
        }
    }

    pub fn is_immutable(&self) -> bool {
        self.immutable == Some(true)
    }

    /// The `options` object.
    pub fn options_json(&self) -> Value {
        let mut options = Map::new();
        if let Some(immutable) = self.immutable {
            options.insert("immutable".into(), Value::Bool(immutable));
        }
        Value::Object(options)
    }

    /// Keystone's `RoleTable.to_dict()`: extras first, then the columns, then `options`.
    /// This is also what policy sees as `target.role`.
    pub fn to_dict(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("id".into(), self.id.clone().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert("domain_id".into(), self.domain_id.clone().into());
        m.insert("description".into(), self.description.clone().into());
        m.insert("options".into(), self.options_json());
        Value::Object(m)
    }

    /// The API form: the dict plus its `links`.
    pub fn to_json(&self, base_url: &str) -> Value {
        let mut v = self.to_dict();
        if let Value::Object(m) = &mut v {
            m.insert(
                "links".into(),
                serde_json::json!({ "self": role_url(base_url, &self.id) }),
            );
        }
        v
    }

    /// The short form implied-role responses use: `id`, `links`, `name`.
    pub fn to_reference_json(&self, base_url: &str) -> Value {
        serde_json::json!({
            "id": self.id,
            "links": {"self": role_url(base_url, &self.id)},
            "name": self.name,
        })
    }
}

/// A role named in a request body (`{"id": …}` or `{"name": …}`): application credential
/// and OS-OAUTH1 authorization requests name their roles this way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

impl RoleRef {
    /// The references in a list the request's schema accepted: an `id` wins over a `name`.
    pub fn list(items: Option<&Value>) -> Vec<RoleRef> {
        let items = items.and_then(Value::as_array).map(Vec::as_slice);
        items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| match (item.get("id"), item.get("name")) {
                (Some(Value::String(id)), _) => Some(RoleRef::Id(id.clone())),
                (_, Some(Value::String(name))) => Some(RoleRef::Name(name.clone())),
                _ => None,
            })
            .collect()
    }
}

pub fn role_url(base_url: &str, role_id: &str) -> String {
    format!("{base_url}/v3/roles/{role_id}")
}

/// Who holds an assignment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    User(String),
    Group(String),
}

/// Where an assignment applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Project(String),
    Domain(String),
    System,
}

/// Where an expanded (effective) assignment came from: Keystone's `indirect` dict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Indirect {
    /// The group whose membership gave the user this assignment.
    pub group_id: Option<String>,
    /// The project an inherited assignment was made on.
    pub project_id: Option<String>,
    /// The domain an inherited assignment was made on.
    pub domain_id: Option<String>,
    /// The prior role that implied this one.
    pub role_id: Option<String>,
}

/// One role assignment, stored or derived, as Keystone's assignment manager represents it.
/// Equality is structural, which is what Keystone's cycle check on implied roles compares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Assignment {
    pub actor: Actor,
    pub target: Target,
    pub role_id: String,
    /// `inherited_to_projects`: stored with the inherited flag and not yet expanded.
    pub inherited: bool,
    pub indirect: Indirect,
}

impl Assignment {
    pub fn direct(actor: Actor, target: Target, role_id: &str, inherited: bool) -> Assignment {
        Assignment {
            actor,
            target,
            role_id: role_id.to_string(),
            inherited,
            indirect: Indirect::default(),
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match &self.actor {
            Actor::User(id) => Some(id),
            Actor::Group(_) => None,
        }
    }

    pub fn group_id(&self) -> Option<&str> {
        match &self.actor {
            Actor::Group(id) => Some(id),
            Actor::User(_) => None,
        }
    }

    pub fn project_id(&self) -> Option<&str> {
        match &self.target {
            Target::Project(id) => Some(id),
            _ => None,
        }
    }

    pub fn domain_id(&self) -> Option<&str> {
        match &self.target {
            Target::Domain(id) => Some(id),
            _ => None,
        }
    }
}

/// A filter on stored project/domain assignments: the assignment driver's
/// `list_role_assignments` arguments. `None` (or an empty list) means "no filter".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrantQuery {
    pub role_id: Option<String>,
    pub user_id: Option<String>,
    pub group_ids: Option<Vec<String>>,
    pub domain_id: Option<String>,
    pub project_ids: Option<Vec<String>>,
    pub inherited: Option<bool>,
}
