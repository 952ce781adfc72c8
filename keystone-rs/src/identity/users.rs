//! User operations with Keystone's rules (identity manager + SQL driver): create, update,
//! delete, self-service password change, token revocation, lists. Each runs on one
//! connection inside the caller's transaction; password hashing happens before (it is
//! slow and must not hold the transaction open).

use super::inactivity;
use super::listing;
use super::options::{
    self, IGNORE_CHANGE_PASSWORD, IGNORE_PASSWORD_EXPIRY, LOCK_PASSWORD, StoredOptions,
};
use super::store::{self, NewPassword, UserSource};
use super::{FederatedObject, User, UserDetails, new_id};
use crate::config::Config;
use crate::db::AnyConnection;
use crate::db::listing::{Hints, list_limit, max_db_limit};
use crate::error::{Error, Result};
use crate::resource::store as resource_store;
use crate::revoke::{self, RevocationEvent};
use actix_web::http::StatusCode;
use chrono::{Duration, NaiveDateTime, Timelike, Utc};
use serde_json::{Map, Value};

/// Keystone's `User.attributes` plus the keys its model never stores as extras.
const NOT_EXTRA: [&str; 10] = [
    "id",
    "name",
    "domain_id",
    "password",
    "enabled",
    "default_project_id",
    "password_expires_at",
    "options",
    "extra",
    "federated",
];

/// The new password of a request, already hashed: absent, `null`, or a hash.
#[derive(Debug, Clone, PartialEq)]
pub enum PasswordInput {
    Absent,
    Null,
    Hashed(String),
}

impl PasswordInput {
    fn hash(&self) -> Option<&str> {
        match self {
            PasswordInput::Hashed(h) => Some(h),
            _ => None,
        }
    }
}

/// `security_compliance` options beyond the ones `Config` models.
fn compliance_int(config: &Config, option: &str) -> i64 {
    config
        .get("security_compliance", option)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// How many old password rows survive a change (`unique_last_password_count`, min 1).
fn keep_previous(config: &Config) -> usize {
    usize::try_from(compliance_int(config, "unique_last_password_count"))
        .unwrap_or(0)
        .max(1)
}

/// When a password set now expires (`password_expires_days`, whole seconds), unless the
/// user is exempt.
fn expiry_for_new_password(
    config: &Config,
    options: &StoredOptions,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    if options::is_true(options, IGNORE_PASSWORD_EXPIRY) {
        return None;
    }
    let days = config
        .security_compliance
        .password_expires_days
        .filter(|d| *d > 0)?;
    let t = now + Duration::days(i64::from(days));
    Some(t.with_nanosecond(0).unwrap_or(t))
}

/// `change_password_upon_first_use`: passwords set by an administrator expire at once.
fn must_change_password(config: &Config, options: &StoredOptions) -> bool {
    config.security_compliance.change_password_upon_first_use
        && !options::is_true(options, IGNORE_CHANGE_PASSWORD)
}

/// Keystone's `validate_password`: with `[security_compliance] password_regex` set, a new
/// password must be a string that the expression matches from its start.
pub fn validate_password(config: &Config, password: &Value) -> Result<()> {
    let Some(rule) = &config.security_compliance.password_regex else {
        return Ok(());
    };
    let Value::String(password) = password else {
        return Err(Error::bad_request(
            "Password validation error: Password must be a string type.",
        ));
    };
    let Some(regex) = &rule.compiled else {
        return Err(Error::bad_request(
            "Password validation error: Unable to validate password due to invalid configuration.",
        ));
    };
    // An expression that gives up (backtracking limit) refuses rather than admits.
    if regex.is_match(password).unwrap_or(false) {
        return Ok(());
    }
    let description = config
        .security_compliance
        .password_regex_description
        .as_deref()
        .unwrap_or("None");
    Err(Error::bad_request(format!(
        "The password does not match the requirements: {description}."
    )))
}

/// Keystone's `StringLengthExceeded` (a 400 without the ValidationError suffix).
pub fn string_too_long(value: &str, column: &str, length: usize) -> Error {
    Error::bad_request(format!(
        "String length exceeded. The length of string '{value}' exceeds the limit of column {column}(CHAR({length}))."
    ))
}

/// Keystone's `Conflict` for a duplicate name (`handle_conflicts`).
pub fn duplicate_name(kind: &str, name: &str, domain_id: Option<&str>) -> Error {
    let details = match domain_id {
        Some(d) => format!("Duplicate entry found with name {name} at domain ID {d}"),
        None => format!("Duplicate entry found with name {name}"),
    };
    Error::conflict(format!(
        "Conflict occurred attempting to store {kind} - {details}."
    ))
}

fn default_project_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// `_assert_default_project_id_is_not_domain`, then the column width check.
fn check_default_project(conn: &mut AnyConnection, project_id: Option<&str>) -> Result<()> {
    let Some(id) = project_id.filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    if let Some(p) = resource_store::get_any(conn, id)? {
        if p.is_domain {
            return Err(Error::bad_request(format!(
                "User's default project ID cannot be a domain ID: {id}"
            )));
        }
    }
    Ok(())
}

fn check_widths(default_project_id: Option<&str>) -> Result<()> {
    if let Some(p) = default_project_id {
        if p.chars().count() > store::ID_WIDTH {
            return Err(string_too_long(p, "default_project_id", store::ID_WIDTH));
        }
    }
    Ok(())
}

/// `federated` objects of a request, checked against the identity providers.
fn federated_input(conn: &mut AnyConnection, v: Option<&Value>) -> Result<Vec<FederatedObject>> {
    let Some(Value::Array(items)) = v else {
        return Ok(vec![]);
    };
    let mut out = Vec::new();
    for item in items {
        let idp = item
            .get("idp_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !store::idp_exists(conn, &idp)? {
            return Err(Error::bad_request(format!(
                "Could not find Identity Provider: {idp}"
            )));
        }
        let mut protocols = Vec::new();
        for p in item
            .get("protocols")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let protocol = p
                .get("protocol_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let unique = p
                .get("unique_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if !store::protocol_exists(conn, &idp, &protocol)? {
                return Err(Error::bad_request(format!(
                    "Could not find federated protocol {protocol} for Identity Provider: {idp}."
                )));
            }
            protocols.push((protocol, unique));
        }
        out.push(FederatedObject {
            idp_id: idp,
            protocols,
        });
    }
    Ok(out)
}

/// `POST /v3/users`. `user` is the request's user object after Keystone's key
/// normalisation, with `domain_id` filled in.
pub fn create(
    conn: &mut AnyConnection,
    config: &Config,
    user: &Map<String, Value>,
    password: &PasswordInput,
) -> Result<UserDetails> {
    let name = user
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string();
    let enabled = user.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    let domain_id = user
        .get("domain_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    resource_store::get_domain(conn, &domain_id)?
        .ok_or_else(|| Error::could_not_find("domain", &domain_id))?;
    let default_project_id = default_project_of(user.get("default_project_id"));
    check_default_project(conn, default_project_id.as_deref())?;
    check_widths(default_project_id.as_deref())?;
    let requested_options = user
        .get("options")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let stored_options = options::apply(&[], &options::changes(&requested_options));
    let federated = federated_input(conn, user.get("federated"))?;
    if store::local_name_taken(conn, &domain_id, &name, None)? {
        return Err(duplicate_name("user", &name, Some(&domain_id)));
    }
    let extra: Map<String, Value> = user
        .iter()
        .filter(|(k, _)| !NOT_EXTRA.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let id = new_id();
    store::insert_user(
        conn,
        &id,
        &domain_id,
        &extra,
        enabled,
        default_project_id.as_deref(),
    )?;
    store::insert_local_user(conn, &id, &domain_id, &name)?;
    let last_active_at = mark_enabled(conn, config, &id, enabled)?;
    let mut password_expires_at = None;
    if *password != PasswordInput::Absent {
        let now = Utc::now().naive_utc();
        password_expires_at = if must_change_password(config, &stored_options) {
            Some(now)
        } else {
            expiry_for_new_password(config, &stored_options, now)
        };
        store::set_password(
            conn,
            &id,
            &NewPassword {
                hash: password.hash(),
                self_service: false,
                expires_at: password_expires_at,
                keep_previous: keep_previous(config),
            },
        )?;
    }
    store::write_options(conn, &id, &stored_options)?;
    if !federated.is_empty() {
        store::write_federated(conn, &id, &name, &federated)?;
    }
    Ok(UserDetails {
        user: User {
            id,
            domain_id,
            name,
            enabled,
            default_project_id,
            extra,
            password_expires_at,
            last_active_at,
            created_at: None,
        },
        options: stored_options,
        federated,
    })
}

/// Keystone's `enabled` setter: with the inactivity limit set, enabling a user (creating
/// or updating one that is enabled) makes today its last active day.
fn mark_enabled(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    enabled: bool,
) -> Result<Option<chrono::NaiveDate>> {
    if !enabled || !inactivity::enforced(config) {
        return Ok(None);
    }
    let today = inactivity::today();
    store::set_last_active(conn, user_id, today)?;
    Ok(Some(today))
}

/// `PATCH /v3/users/{user_id}` after the API checks (user exists, ids match).
pub fn update(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    changes: &Map<String, Value>,
    password: &PasswordInput,
) -> Result<UserDetails> {
    let mut old =
        store::get_details(conn, user_id)?.ok_or_else(|| Error::could_not_find("user", user_id))?;
    // Keystone rebuilds the row from the user as shown: an inactive user stays disabled in
    // the row unless this update enables it.
    inactivity::apply_details(config, &mut old);
    if let Some(domain) = changes.get("domain_id") {
        if domain.as_str() != Some(old.user.domain_id.as_str()) {
            return Err(Error::bad_request("Cannot change Domain ID"));
        }
    }
    if let Some(id) = changes.get("id") {
        if id.as_str() != Some(user_id) {
            return Err(Error::bad_request("Cannot change user ID"));
        }
    }
    let name = changes
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.trim().to_string());
    if changes.contains_key("default_project_id") {
        check_default_project(
            conn,
            changes.get("default_project_id").and_then(Value::as_str),
        )?;
    }

    let mut user = old.user.clone();
    for (k, v) in changes {
        if !NOT_EXTRA.contains(&k.as_str()) {
            user.extra.insert(k.clone(), v.clone());
        }
    }
    if let Some(enabled) = changes.get("enabled").and_then(Value::as_bool) {
        user.enabled = enabled;
    }
    if changes.contains_key("default_project_id") {
        user.default_project_id = default_project_of(changes.get("default_project_id"));
    }
    check_widths(user.default_project_id.as_deref())?;
    if let Some(name) = &name {
        if store::local_name_taken(conn, &old.user.domain_id, name, Some(user_id))? {
            let domain_in_request = changes.get("domain_id").and_then(Value::as_str);
            return Err(duplicate_name("user", name, domain_in_request));
        }
        user.name = name.clone();
    }
    let requested_options = changes
        .get("options")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let new_options = options::apply(&old.options, &options::changes(&requested_options));
    let federated = federated_input(conn, changes.get("federated"))?;

    store::update_user_row(
        conn,
        user_id,
        &user.extra,
        user.enabled,
        user.default_project_id.as_deref(),
    )?;
    if let Some(name) = &name {
        store::rename(conn, user_id, name)?;
    }
    if let Some(day) = mark_enabled(conn, config, user_id, user.enabled)? {
        user.last_active_at = Some(day);
    }
    if user.enabled {
        // Keystone's `enabled` setter runs on every update and clears the lockout counter.
        store::reset_failed_auth(conn, user_id)?;
    }
    if new_options != old.options {
        store::write_options(conn, user_id, &new_options)?;
    }
    let federated = if federated.is_empty() {
        old.federated.clone()
    } else {
        store::write_federated(conn, user_id, &user.name, &federated)?;
        federated
    };
    if *password != PasswordInput::Absent {
        let now = Utc::now().naive_utc();
        let expires_at = if must_change_password(config, &new_options) {
            Some(now)
        } else {
            expiry_for_new_password(config, &new_options, now)
        };
        store::set_password(
            conn,
            user_id,
            &NewPassword {
                hash: password.hash(),
                self_service: false,
                expires_at,
                keep_previous: keep_previous(config),
            },
        )?;
        user.password_expires_at = expires_at;
    }
    // Keystone tests `is False`; a disabling string ("false") revokes here too.
    let disabled_now =
        changes.get("enabled").and_then(Value::as_bool) == Some(false) && old.user.enabled;
    if disabled_now || password.hash().is_some() {
        revoke::store::insert(
            conn,
            &RevocationEvent::for_user(user_id),
            revoke::retention_secs(config),
        )?;
    }
    Ok(UserDetails {
        user,
        options: new_options,
        federated,
    })
}

/// The identity part of deleting a user: its own rows, then a user event so its tokens
/// stop validating. `crate::cascade::delete_user` runs what other subsystems keep about the
/// user first, in the same transaction.
pub fn delete(conn: &mut AnyConnection, retention_secs: i64, user_id: &str) -> Result<()> {
    require(conn, user_id)?;
    store::delete_user(conn, user_id)?;
    revoke::store::insert(conn, &RevocationEvent::for_user(user_id), retention_secs)
}

/// The user, or Keystone's 404.
pub fn require(conn: &mut AnyConnection, user_id: &str) -> Result<User> {
    store::get(conn, user_id)?.ok_or_else(|| Error::could_not_find("user", user_id))
}

/// `DELETE /v3/users/{user_id}/tokens`: one user event.
pub fn revoke_tokens(conn: &mut AnyConnection, config: &Config, user_id: &str) -> Result<()> {
    require(conn, user_id)?;
    revoke::store::insert(
        conn,
        &RevocationEvent::for_user(user_id),
        revoke::retention_secs(config),
    )
}

/// What the self-service password change needs to know before hashing anything.
pub struct PasswordChangeState {
    pub user: User,
    pub options: StoredOptions,
    /// Newest last.
    pub history: Vec<super::PasswordRecord>,
}

pub fn password_change_state(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Option<PasswordChangeState>> {
    let Some(details) = store::get_details(conn, user_id)? else {
        return Ok(None);
    };
    let history = store::password_history(conn, user_id)?;
    Ok(Some(PasswordChangeState {
        user: details.user,
        options: details.options,
        history,
    }))
}

/// The checks Keystone makes after the original password was verified, except the
/// history check (which compares hashes and runs on the blocking pool).
pub fn check_password_change_allowed(
    config: &Config,
    state: &PasswordChangeState,
    new_password: &str,
) -> Result<()> {
    if !state.user.enabled || inactivity::is_inactive_with(config, &state.user, &state.options) {
        return Err(Error::unauthorized_shown(format!(
            "The account is disabled for user: {}.",
            state.user.id
        )));
    }
    validate_password(config, &Value::String(new_password.to_string()))?;
    if options::is_true(&state.options, LOCK_PASSWORD) {
        return Err(Error::bad_request(
            "You cannot change your password at this time due to password policy disallowing password changes. \
             Please contact your administrator to reset your password.",
        ));
    }
    let min_age_days = compliance_int(config, "minimum_password_age");
    if let Some(current) = state.history.last().filter(|p| p.self_service) {
        if let Some(created) = current.created_at {
            let min_age = created + Duration::days(min_age_days);
            let now = Utc::now().naive_utc();
            if now < min_age {
                let days_left = (min_age - now).num_days();
                return Err(Error::bad_request(format!(
                    "You cannot change your password at this time due to the minimum password age. Once you change \
                     your password, it must be used for {min_age_days} day(s) before it can be changed. Please try \
                     again in {days_left} day(s) or contact your administrator to reset your password."
                )));
            }
        }
    }
    Ok(())
}

/// The hashes a new password must differ from (`unique_last_password_count`, current included).
pub fn history_to_check(config: &Config, state: &PasswordChangeState) -> (usize, Vec<String>) {
    let count = usize::try_from(compliance_int(config, "unique_last_password_count")).unwrap_or(0);
    if count == 0 {
        return (0, vec![]);
    }
    let skip = state.history.len().saturating_sub(count);
    (
        count,
        state
            .history
            .iter()
            .skip(skip)
            .filter_map(|p| p.hash.clone())
            .collect(),
    )
}

pub fn password_reused(count: usize) -> Error {
    Error::new(
        StatusCode::BAD_REQUEST,
        format!(
            "The new password cannot be identical to a previous password. The total number which includes the new \
             password must be unique is {count}."
        ),
    )
}

/// Store the self-service password and write the user event.
pub fn store_changed_password(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: &str,
    hash: &str,
) -> Result<()> {
    let options = store::options_of(conn, &[user_id.to_string()])?
        .remove(user_id)
        .unwrap_or_default();
    let expires_at = expiry_for_new_password(config, &options, Utc::now().naive_utc());
    store::set_password(
        conn,
        user_id,
        &NewPassword {
            hash: Some(hash),
            self_service: true,
            expires_at,
            keep_previous: keep_previous(config),
        },
    )?;
    revoke::store::insert(
        conn,
        &RevocationEvent::for_user(user_id),
        revoke::retention_secs(config),
    )
}

/// `GET /v3/users`: Keystone's identity manager + SQL driver list.
pub fn list(
    conn: &mut AnyConnection,
    config: &Config,
    hints: &mut Hints,
    domain_scope: Option<&str>,
) -> Result<Vec<UserDetails>> {
    if let Some(limit) = list_limit(config, "identity") {
        hints.set_limit(limit, false);
    }
    if let Some(domain) = domain_scope {
        if hints.exact("domain_id").is_none() {
            hints.add_filter("domain_id", domain);
        }
    }
    listing::translate_password_expiry(hints)?;
    let max = max_db_limit(config);
    let users = hints.truncated(|h| {
        let users = store::list(conn, UserSource::All, h, max)?;
        h.assume_truncated(users.len());
        Ok(users)
    })?;
    shown(config, store::details(conn, users, false)?)
}

/// Users as Keystone shows them (inactive ones disabled).
fn shown(config: &Config, mut users: Vec<UserDetails>) -> Result<Vec<UserDetails>> {
    for d in &mut users {
        inactivity::apply_details(config, d);
    }
    Ok(users)
}

/// `GET /v3/groups/{group_id}/users` (the group is known to exist).
pub fn list_in_group(
    conn: &mut AnyConnection,
    config: &Config,
    group_id: &str,
    hints: &mut Hints,
) -> Result<Vec<UserDetails>> {
    if let Some(limit) = list_limit(config, "identity") {
        hints.set_limit(limit, false);
    }
    listing::translate_password_expiry(hints)?;
    // No pagination here in Keystone: the limit is applied to the whole filtered list.
    let mut sql_hints = Hints {
        filters: std::mem::take(&mut hints.filters),
        marker: None,
        limit: None,
        cannot_match: false,
    };
    let users = store::list(
        conn,
        UserSource::Group(group_id),
        &mut sql_hints,
        max_db_limit(config),
    )?;
    hints.filters = sql_hints.filters;
    shown(config, store::details(conn, users, false)?)
}
