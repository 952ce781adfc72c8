//! Roles, implied roles and role assignments; the effective-role computation that tokens
//! use at issue and at every validation (shared/spec/tokens-api.md §4).

pub mod store;

use std::collections::{BTreeMap, BTreeSet};

/// Global roles carry this in `role.domain_id`.
pub const NULL_DOMAIN_ID: &str = "<<null>>";

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub name: String,
    /// `None` for a global role.
    pub domain_id: Option<String>,
    pub description: Option<String>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The role ids `roots` imply, recursively, including the roots; cycles are ignored.
pub fn expand_implied(
    roots: &[String],
    implications: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<String> = roots.iter().rev().cloned().collect();
    while let Some(role) = stack.pop() {
        if !seen.insert(role.clone()) {
            continue;
        }
        if let Some(implied) = implications.get(&role) {
            stack.extend(implied.iter().rev().cloned());
        }
        out.push(role);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_chains_and_ignores_cycles() {
        let mut imp = BTreeMap::new();
        imp.insert("admin".to_string(), vec!["member".to_string()]);
        imp.insert("member".to_string(), vec!["reader".to_string()]);
        imp.insert("reader".to_string(), vec!["admin".to_string()]);
        assert_eq!(
            expand_implied(&["admin".into()], &imp),
            vec!["admin", "member", "reader"]
        );
    }
}
