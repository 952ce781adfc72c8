//! Policy (RBAC): the oslo.policy rule language, Keystone's registered default rules
//! (`policy/policy.yaml`, compiled in), operator overrides from `[oslo_policy]`
//! `policy_file`/`policy_dirs`, and the enforcer handlers call with an action name
//! (`identity:get_user`), the caller's [`Credentials`] and a flattened target
//! ([`TargetBuilder`]).
//!
//! Fidelity notes (spec/policy.md): parsing reproduces oslo.policy's shift-reduce parser, so
//! precedence and failures match; a rule that does not parse denies (fail closed). Where
//! Python would raise at evaluation (a `%` format error, a kind Python cannot read, walking
//! a credential path through a string) we deny with 403 and log, where Keystone would
//! answer 500. `http:`/`https:` checks are refused when a file is loaded.

pub mod check;
pub mod credentials;
pub mod defaults;
pub mod enforcer;
pub mod file;
pub mod parser;
pub mod target;

#[cfg(test)]
mod tests;

pub use check::Check;
pub use credentials::Credentials;
pub use defaults::{RuleDefault, Scope, registered_defaults};
pub use enforcer::{
    Decision, EffectiveRule, Enforcer, EnforcerOptions, Outcome, PolicyError, PolicySources,
    RuleOrigin,
};
pub use parser::{Parsed, parse_text};
pub use target::{TargetBuilder, flatten};
