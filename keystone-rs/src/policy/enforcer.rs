//! The enforcer: registered defaults merged with the operator's policy files, scope_types,
//! deprecated defaults, reload on change, and the decision Keystone turns into a 403.

use super::check::{Check, Evaluation};
use super::credentials::{Credentials, token_scope};
use super::defaults::{RuleDefault, Scope, registered_defaults};
use super::file::{FileRule, ParseError, parse_policy_document};
use super::parser::{Problem, RuleText, parse};
use crate::config::Config;
use crate::error::Error;
use actix_web::http::StatusCode;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// Keystone's answer when a handler names an action that is not a registered rule.
pub const INVALID_ACTION_MESSAGE: &str =
    "Internal RBAC enforcement error, invalid rule (action) name.";

#[derive(Debug, Clone)]
pub struct EnforcerOptions {
    /// Refuse a token whose scope is not in the rule's scope_types. oslo.policy 6 always
    /// does (it dropped the option); `from_config` keeps this true.
    pub enforce_scope: bool,
    /// `[oslo_policy] enforce_new_defaults`: when false, a default that has a deprecated
    /// predecessor (and is not overridden) evaluates as `(new) or (old)`.
    pub enforce_new_defaults: bool,
    /// How often, at most, enforcement looks at the policy files' modification times.
    pub reload_interval: Duration,
}

impl Default for EnforcerOptions {
    fn default() -> Self {
        EnforcerOptions {
            enforce_scope: true,
            enforce_new_defaults: true,
            reload_interval: Duration::from_secs(1),
        }
    }
}

/// Where the operator's policy files are.
#[derive(Debug, Clone, Default)]
pub struct PolicySources {
    /// `[oslo_policy] policy_file`; empty = none.
    pub policy_file: PathBuf,
    /// `[oslo_policy] policy_dirs`, loaded after the file, in order.
    pub policy_dirs: Vec<PathBuf>,
    /// Where relative names are looked for, first match wins.
    pub search_dirs: Vec<PathBuf>,
}

impl PolicySources {
    /// As oslo.config's `find_file` resolves relative names: the directory of the config
    /// file first, then `~/.keystone`, `~`, `/etc/keystone`, `/etc`. Absolute names are used
    /// as they are. A name found nowhere means "no such file" (defaults only), not an error.
    pub fn from_config(config: &Config) -> PolicySources {
        let mut search_dirs = Vec::new();
        if let Some(source) = &config.source {
            let absolute = std::path::absolute(source).unwrap_or_else(|_| source.clone());
            if let Some(dir) = absolute.parent() {
                search_dirs.push(dir.to_path_buf());
            }
        }
        if let Some(home) = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
        {
            search_dirs.push(home.join(".keystone"));
            search_dirs.push(home);
        }
        search_dirs.push(PathBuf::from("/etc/keystone"));
        search_dirs.push(PathBuf::from("/etc"));
        PolicySources {
            policy_file: config.oslo_policy.policy_file.clone(),
            policy_dirs: config.oslo_policy.policy_dirs.clone(),
            search_dirs,
        }
    }

    fn locate(&self, name: &Path) -> Option<PathBuf> {
        if name.as_os_str().is_empty() {
            return None;
        }
        if name.is_absolute() {
            return name.exists().then(|| name.to_path_buf());
        }
        self.search_dirs
            .iter()
            .map(|dir| dir.join(name))
            .find(|path| path.exists())
    }
}

/// Where an effective rule came from.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleOrigin {
    /// Keystone's registered default.
    Default,
    /// The default or-ed with its deprecated predecessor (`enforce_new_defaults = false`).
    DefaultOrDeprecated,
    /// A policy file; line 0 when unknown (JSON read without positions).
    File { path: PathBuf, line: usize },
}

/// A rule as it is enforced right now.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveRule {
    pub name: String,
    /// The text evaluated: as written in the file or defaults; `(new) or (old)` for
    /// [`RuleOrigin::DefaultOrDeprecated`]; oslo's rendering for legacy lists.
    pub check_str: String,
    pub check: Check,
    /// Scopes the registered rule accepts (files cannot change them); empty = any.
    pub scope_types: Vec<Scope>,
    pub origin: RuleOrigin,
    /// Keystone registers this rule in code.
    pub registered: bool,
    pub deprecated_for_removal: bool,
}

/// What `check` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Allowed,
    Denied,
    /// The token's scope is not among the rule's scope_types.
    ScopeRefused {
        scope_types: Vec<Scope>,
    },
    /// No rule of that name: denied.
    UnknownRule,
    /// A check could not be evaluated (bad `%` format, unreadable kind, …): denied.
    Undecidable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The rule (action) that decided.
    pub rule: String,
    pub outcome: Outcome,
    /// The rule text evaluated, when the rule exists.
    pub check_str: Option<String>,
    pub origin: Option<RuleOrigin>,
    pub token_scope: Scope,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.outcome == Outcome::Allowed
    }
}

/// Why the policy could not be loaded.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyError {
    /// The compiled-in defaults are broken (a build defect).
    Defaults(String),
    Read {
        path: PathBuf,
        reason: String,
    },
    Parse {
        path: PathBuf,
        error: ParseError,
    },
    NotADirectory {
        path: PathBuf,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Defaults(message) => write!(f, "built-in policy defaults: {message}"),
            PolicyError::Read { path, reason } => {
                write!(f, "cannot read policy file {}: {reason}", path.display())
            }
            PolicyError::Parse { path, error } => {
                write!(f, "policy file {}: {error}", path.display())
            }
            PolicyError::NotADirectory { path } => {
                write!(f, "policy directory {} is not a directory", path.display())
            }
        }
    }
}

impl std::error::Error for PolicyError {}

/// The rules in force, replaced as a whole on reload.
#[derive(Debug, Default)]
struct RuleSet {
    rules: Vec<EffectiveRule>,
    index: HashMap<String, usize>,
}

impl RuleSet {
    fn get(&self, name: &str) -> Option<&EffectiveRule> {
        self.index.get(name).and_then(|&i| self.rules.get(i))
    }
}

/// Modification times and sizes of everything that feeds the rules.
#[derive(Debug, Clone, Default, PartialEq)]
struct Fingerprint(Vec<(PathBuf, Option<(SystemTime, u64)>)>);

struct ReloadState {
    checked_at: Instant,
    fingerprint: Fingerprint,
}

pub struct Enforcer {
    defaults: Vec<RuleDefault>,
    registered: HashMap<String, usize>,
    sources: PolicySources,
    options: EnforcerOptions,
    current: RwLock<Arc<RuleSet>>,
    reload: Mutex<ReloadState>,
}

impl fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enforcer")
            .field("sources", &self.sources)
            .field("options", &self.options)
            .finish()
    }
}

impl Enforcer {
    /// From keystone.conf's `[oslo_policy]`. Fails, naming the file, rule and position, if
    /// a policy file exists but does not load.
    pub fn from_config(config: &Config) -> Result<Enforcer, PolicyError> {
        if !config.oslo_policy.enforce_scope {
            tracing::warn!(
                "[oslo_policy] enforce_scope = false is ignored: as with oslo.policy 6, scope_types are always enforced"
            );
        }
        let options = EnforcerOptions {
            enforce_scope: true,
            enforce_new_defaults: config.oslo_policy.enforce_new_defaults,
            ..EnforcerOptions::default()
        };
        Enforcer::new(PolicySources::from_config(config), options)
    }

    /// Keystone's defaults plus the files in `sources`.
    pub fn new(sources: PolicySources, options: EnforcerOptions) -> Result<Enforcer, PolicyError> {
        let defaults = registered_defaults()
            .map_err(PolicyError::Defaults)?
            .to_vec();
        Enforcer::with_defaults(defaults, sources, options)
    }

    /// Keystone's defaults only, no files.
    pub fn defaults_only(options: EnforcerOptions) -> Result<Enforcer, PolicyError> {
        Enforcer::new(PolicySources::default(), options)
    }

    /// Custom registered rules (tests, tools).
    pub fn with_defaults(
        defaults: Vec<RuleDefault>,
        sources: PolicySources,
        options: EnforcerOptions,
    ) -> Result<Enforcer, PolicyError> {
        let fingerprint = fingerprint(&sources);
        let rules = build_rules(&defaults, &sources, &options)?;
        let registered = defaults
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.clone(), i))
            .collect();
        Ok(Enforcer {
            defaults,
            registered,
            sources,
            options,
            current: RwLock::new(Arc::new(rules)),
            reload: Mutex::new(ReloadState {
                checked_at: Instant::now(),
                fingerprint,
            }),
        })
    }

    /// Enforces `action` as Keystone does: Ok, or the 403 Keystone sends.
    pub fn enforce(&self, action: &str, target: &Value, creds: &Credentials) -> Result<(), Error> {
        self.enforce_dict(action, target, &creds.to_map())
    }

    /// [`Enforcer::enforce`] with the credentials already as oslo.policy's dict
    /// ([`Credentials::to_map`]): callers that check one token often build it once.
    pub fn enforce_dict(
        &self,
        action: &str,
        target: &Value,
        creds: &Map<String, Value>,
    ) -> Result<(), Error> {
        if !self.is_enforceable(action) {
            tracing::warn!(
                action,
                "RBAC: unknown enforcement action name; rejecting as forbidden (programming error)"
            );
            return Err(Error::new(StatusCode::FORBIDDEN, INVALID_ACTION_MESSAGE));
        }
        let decision = self.check_dict(action, target, creds);
        match decision.outcome {
            Outcome::Allowed => Ok(()),
            Outcome::Undecidable(reason) => {
                tracing::error!(action, reason = %reason, "policy check could not be evaluated; denying");
                Err(Error::forbidden_action(action).with_detail(reason))
            }
            Outcome::ScopeRefused { .. } => {
                Err(Error::forbidden_action(action).with_detail(format!(
                    "token scope {} not in the rule's scope_types",
                    decision.token_scope
                )))
            }
            Outcome::Denied | Outcome::UnknownRule => Err(Error::forbidden_action(action)),
        }
    }

    /// Evaluates any rule in force (registered or only in a file) and says what decided.
    /// `target` is Keystone's target dict, nested or already flattened (see
    /// [`super::target`]); a non-object is taken as empty.
    pub fn check(&self, rule: &str, target: &Value, creds: &Credentials) -> Decision {
        self.check_dict(rule, target, &creds.to_map())
    }

    /// [`Enforcer::check`] with the credentials as oslo.policy's dict.
    pub fn check_dict(&self, rule: &str, target: &Value, creds: &Map<String, Value>) -> Decision {
        self.maybe_reload();
        let rules = self.current_rules();
        let token_scope = token_scope(creds);
        // Keystone flattens before enforcing; flattening a flat target changes nothing, so
        // callers may pass either form.
        let target = &super::target::flatten(target);
        let Some(effective) = rules.get(rule) else {
            return Decision {
                rule: rule.to_string(),
                outcome: Outcome::UnknownRule,
                check_str: None,
                origin: None,
                token_scope,
            };
        };
        let outcome = if self.options.enforce_scope
            && !effective.scope_types.is_empty()
            && !effective.scope_types.contains(&token_scope)
        {
            Outcome::ScopeRefused {
                scope_types: effective.scope_types.clone(),
            }
        } else {
            let lookup = |name: &str| rules.get(name).map(|r| &r.check);
            let evaluation = Evaluation {
                rules: &lookup,
                target,
                creds,
            };
            match effective.check.evaluate(&evaluation) {
                Ok(true) => Outcome::Allowed,
                Ok(false) => Outcome::Denied,
                Err(e) => Outcome::Undecidable(e.to_string()),
            }
        };
        Decision {
            rule: rule.to_string(),
            outcome,
            check_str: Some(effective.check_str.clone()),
            origin: Some(effective.origin.clone()),
            token_scope,
        }
    }

    /// Whether Keystone accepts `action` as an enforcement action name.
    pub fn is_enforceable(&self, action: &str) -> bool {
        self.registered
            .get(action)
            .and_then(|&i| self.defaults.get(i))
            .is_some_and(|d| !d.deprecated_for_removal)
    }

    /// Every rule in force: registered ones in registration order, then file-only ones.
    pub fn effective_rules(&self) -> Vec<EffectiveRule> {
        self.maybe_reload();
        self.current_rules().rules.clone()
    }

    /// The registered defaults.
    pub fn registered_rules(&self) -> &[RuleDefault] {
        &self.defaults
    }

    /// Re-reads the policy files now if they changed. Ok(true) when new rules were taken;
    /// on error the previous rules stay in force.
    pub fn reload_if_changed(&self) -> Result<bool, PolicyError> {
        let mut state = self
            .reload
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.reload_locked(&mut state)
    }

    fn current_rules(&self) -> Arc<RuleSet> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// At most once per `reload_interval`, and never making a request wait on another's
    /// reload: if one is under way, this request uses the rules in force.
    fn maybe_reload(&self) {
        let mut state = match self.reload.try_lock() {
            Ok(state) => state,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        if state.checked_at.elapsed() < self.options.reload_interval {
            return;
        }
        if let Err(error) = self.reload_locked(&mut state) {
            tracing::error!(error = %error, "policy files changed but no longer load; keeping the previous rules");
        }
    }

    fn reload_locked(&self, state: &mut ReloadState) -> Result<bool, PolicyError> {
        state.checked_at = Instant::now();
        let fingerprint = fingerprint(&self.sources);
        if fingerprint == state.fingerprint {
            return Ok(false);
        }
        // Remember the new state even if it fails to load, so a broken file is reported once
        // per change rather than at every check.
        state.fingerprint = fingerprint;
        let rules = build_rules(&self.defaults, &self.sources, &self.options)?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(rules);
        tracing::info!("policy files changed; rules reloaded");
        Ok(true)
    }
}

fn stat(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        meta.len(),
    ))
}

/// The policy directory's files, as oslo.policy takes them: regular entries (not
/// subdirectories), not hidden, sorted by name.
fn directory_files(dir: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    if !dir.is_dir() {
        return Err(PolicyError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let entries = std::fs::read_dir(dir).map_err(|e| PolicyError::Read {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.path())
        .filter(|path| !path.is_dir())
        .collect();
    files.sort();
    Ok(files)
}

fn fingerprint(sources: &PolicySources) -> Fingerprint {
    let mut parts = Vec::new();
    match sources.locate(&sources.policy_file) {
        Some(path) => parts.push((path.clone(), stat(&path))),
        None => parts.push((sources.policy_file.clone(), None)),
    }
    for dir in &sources.policy_dirs {
        let Some(dir) = sources.locate(dir) else {
            continue;
        };
        parts.push((dir.clone(), stat(&dir)));
        // A non-directory here fails the load (once per change), not the fingerprint.
        for file in directory_files(&dir).unwrap_or_default() {
            let meta = stat(&file);
            parts.push((file, meta));
        }
    }
    Fingerprint(parts)
}

/// Reads one policy file, refusing remote checks (naming rule and position) and logging the
/// rules that fail closed.
fn read_policy_file(path: &Path) -> Result<Vec<FileRule>, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let rules = parse_policy_document(text).map_err(|error| PolicyError::Parse {
        path: path.to_path_buf(),
        error,
    })?;
    for rule in &rules {
        let parsed = parse(&rule.text);
        for problem in &parsed.problems {
            if let Problem::Remote(token) = problem {
                return Err(PolicyError::Parse {
                    path: path.to_path_buf(),
                    error: ParseError {
                        rule: Some(rule.name.clone()),
                        position: (rule.line > 0).then_some((rule.line, rule.column)),
                        message: format!(
                            "remote check '{token}': http:/https: checks are not supported by keystone-rs"
                        ),
                    },
                });
            }
            tracing::error!(
                file = %path.display(),
                rule = %rule.name,
                line = rule.line,
                problem = %problem,
                "policy rule fails closed"
            );
        }
        if let Some(value) = &rule.falsy_value {
            tracing::warn!(
                file = %path.display(),
                rule = %rule.name,
                value = %value,
                "policy rule value is {value}, which oslo.policy treats as always true (allow); write \"\" to say so or \"!\" to deny"
            );
        }
    }
    Ok(rules)
}

fn rule_text_string(text: &RuleText, check: &Check) -> String {
    match text {
        RuleText::Text(s) => s.clone(),
        RuleText::List(_) => match check {
            Check::True => String::new(),
            other => other.to_string(),
        },
    }
}

/// Defaults, then the policy file, then each policy directory's files, rule by rule.
fn build_rules(
    defaults: &[RuleDefault],
    sources: &PolicySources,
    options: &EnforcerOptions,
) -> Result<RuleSet, PolicyError> {
    let mut file_rules: Vec<(FileRule, PathBuf)> = Vec::new();
    let mut add = |rules: Vec<FileRule>, path: &Path| {
        for rule in rules {
            match file_rules
                .iter_mut()
                .find(|(existing, _)| existing.name == rule.name)
            {
                Some(slot) => *slot = (rule, path.to_path_buf()),
                None => file_rules.push((rule, path.to_path_buf())),
            }
        }
    };
    if let Some(path) = sources.locate(&sources.policy_file) {
        add(read_policy_file(&path)?, &path);
    } else if !sources.policy_file.as_os_str().is_empty() {
        tracing::debug!(file = %sources.policy_file.display(), "policy file not found; using the defaults");
    }
    for dir in &sources.policy_dirs {
        let Some(dir) = sources.locate(dir) else {
            continue;
        };
        for file in directory_files(&dir)? {
            add(read_policy_file(&file)?, &file);
        }
    }

    let mut from_files: HashMap<String, (FileRule, PathBuf)> = HashMap::new();
    let mut file_order = Vec::new();
    for (rule, path) in file_rules {
        file_order.push(rule.name.clone());
        from_files.insert(rule.name.clone(), (rule, path));
    }

    let mut rules = Vec::with_capacity(defaults.len() + from_files.len());
    for default in defaults {
        let effective = match from_files.remove(&default.name) {
            Some((file_rule, path)) => {
                let check = parse(&file_rule.text).check;
                EffectiveRule {
                    name: default.name.clone(),
                    check_str: rule_text_string(&file_rule.text, &check),
                    check,
                    scope_types: default.scope_types.clone(),
                    origin: RuleOrigin::File {
                        path,
                        line: file_rule.line,
                    },
                    registered: true,
                    deprecated_for_removal: default.deprecated_for_removal,
                }
            }
            None => {
                let (check_str, check, origin) = match &default.deprecated {
                    Some(old)
                        if !options.enforce_new_defaults && old.check_str != default.check_str =>
                    {
                        (
                            format!("({}) or ({})", default.check_str, old.check_str),
                            Check::Or(vec![default.check.clone(), old.check.clone()]),
                            RuleOrigin::DefaultOrDeprecated,
                        )
                    }
                    _ => (
                        default.check_str.clone(),
                        default.check.clone(),
                        RuleOrigin::Default,
                    ),
                };
                EffectiveRule {
                    name: default.name.clone(),
                    check_str,
                    check,
                    scope_types: default.scope_types.clone(),
                    origin,
                    registered: true,
                    deprecated_for_removal: default.deprecated_for_removal,
                }
            }
        };
        rules.push(effective);
    }
    for name in file_order {
        if let Some((file_rule, path)) = from_files.remove(&name) {
            let check = parse(&file_rule.text).check;
            rules.push(EffectiveRule {
                name,
                check_str: rule_text_string(&file_rule.text, &check),
                check,
                scope_types: Vec::new(),
                origin: RuleOrigin::File {
                    path,
                    line: file_rule.line,
                },
                registered: false,
                deprecated_for_removal: false,
            });
        }
    }
    let index = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.clone(), i))
        .collect();
    let set = RuleSet { rules, index };
    warn_about_references(&set);
    Ok(set)
}

/// oslo.policy's `check_rules`: log references to undefined rules and reference cycles.
fn warn_about_references(set: &RuleSet) {
    let undefined: Vec<&str> = set
        .rules
        .iter()
        .filter(|r| {
            r.check
                .referenced_rules()
                .iter()
                .any(|name| set.get(name).is_none())
        })
        .map(|r| r.name.as_str())
        .collect();
    if !undefined.is_empty() {
        tracing::warn!(rules = ?undefined, "policies reference a rule that is not defined");
    }
    let cyclic: Vec<&str> = set
        .rules
        .iter()
        .filter(|r| reaches_cycle(set, &r.name))
        .map(|r| r.name.as_str())
        .collect();
    if !cyclic.is_empty() {
        tracing::warn!(rules = ?cyclic, "policies are part of a cyclical reference; they deny");
    }
}

/// Whether following `rule:` references from `start` ever revisits a rule on the path.
fn reaches_cycle(set: &RuleSet, start: &str) -> bool {
    // Iterative DFS over (rule, next child index), with the current path as a set.
    let mut on_path: HashSet<&str> = HashSet::new();
    let mut done: HashSet<&str> = HashSet::new();
    let mut stack: Vec<(&str, Vec<&str>, usize)> = Vec::new();
    let Some(rule) = set.get(start) else {
        return false;
    };
    on_path.insert(&rule.name);
    stack.push((&rule.name, rule.check.referenced_rules(), 0));
    while let Some((name, children, next)) = stack.last_mut() {
        let Some(child) = children.get(*next).copied() else {
            on_path.remove(*name);
            done.insert(*name);
            stack.pop();
            continue;
        };
        *next += 1;
        if on_path.contains(child) {
            return true;
        }
        if done.contains(child) {
            continue;
        }
        if let Some(rule) = set.get(child) {
            on_path.insert(&rule.name);
            stack.push((&rule.name, rule.check.referenced_rules(), 0));
        }
    }
    false
}
