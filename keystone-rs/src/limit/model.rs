//! Registered limits and limits as Keystone's `to_dict` shows them (columns in table order,
//! `internal_id` and `registered_limit_id` left out; a limit shows its registered limit's
//! service, region and resource name last).

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredLimit {
    pub id: String,
    pub service_id: Option<String>,
    pub region_id: Option<String>,
    pub resource_name: Option<String>,
    pub default_limit: i32,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub id: String,
    pub project_id: Option<String>,
    pub domain_id: Option<String>,
    pub resource_limit: i32,
    pub description: Option<String>,
    pub registered_limit_id: Option<String>,
    /// From the registered limit it refers to; `None` when that is gone.
    pub service_id: Option<String>,
    pub region_id: Option<String>,
    pub resource_name: Option<String>,
}

fn opt(v: &Option<String>) -> Value {
    v.clone().map(Value::from).unwrap_or(Value::Null)
}

impl RegisteredLimit {
    pub fn to_dict(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), Value::from(self.id.clone()));
        m.insert("service_id".into(), opt(&self.service_id));
        m.insert("region_id".into(), opt(&self.region_id));
        m.insert("resource_name".into(), opt(&self.resource_name));
        m.insert("default_limit".into(), Value::from(self.default_limit));
        m.insert("description".into(), opt(&self.description));
        m
    }
}

impl Limit {
    pub fn to_dict(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), Value::from(self.id.clone()));
        m.insert("project_id".into(), opt(&self.project_id));
        m.insert("domain_id".into(), opt(&self.domain_id));
        m.insert("resource_limit".into(), Value::from(self.resource_limit));
        m.insert("description".into(), opt(&self.description));
        m.insert("service_id".into(), opt(&self.service_id));
        m.insert("region_id".into(), opt(&self.region_id));
        m.insert("resource_name".into(), opt(&self.resource_name));
        m
    }
}

/// The configured enforcement model (`[unified_limit] enforcement_model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Flat,
    StrictTwoLevel,
}

impl Model {
    pub fn from_name(name: &str) -> Model {
        match name {
            "strict_two_level" => Model::StrictTwoLevel,
            _ => Model::Flat,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Model::Flat => "flat",
            Model::StrictTwoLevel => "strict_two_level",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Model::Flat => {
                "Limit enforcement and validation does not take project hierarchy into consideration."
            }
            Model::StrictTwoLevel => {
                "This model requires project hierarchy never exceeds a depth of two"
            }
        }
    }

    /// How deep a project tree may grow (domains count as a level), if the model bounds it.
    pub fn max_project_tree_depth(self) -> Option<usize> {
        match self {
            Model::Flat => None,
            Model::StrictTwoLevel => Some(2),
        }
    }
}
