//! SQL for `application_credential`, `application_credential_role`, `access_rule` and
//! `application_credential_access_rule` (Keystone's tables and semantics).

use super::{AccessRule, ApplicationCredential, RoleWithOptions};
use crate::assignment::{Role, store as assignment_store};
use crate::db::AnyConnection;
use crate::db::listing::{Column, SqlFilters, lower};
use crate::db::schema::{
    access_rule, application_credential as ac, application_credential_access_rule as ac_rule,
    application_credential_role as ac_role, assignment, role, role_option,
};
use crate::error::{Error, Result};
use crate::identity::{from_epoch_micros, to_epoch_micros};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type CredentialRow = (
    i32,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<bool>,
);

fn credential_columns() -> (
    ac::internal_id,
    ac::id,
    ac::name,
    ac::description,
    ac::user_id,
    ac::project_id,
    ac::expires_at,
    ac::system,
    ac::unrestricted,
) {
    (
        ac::internal_id,
        ac::id,
        ac::name,
        ac::description,
        ac::user_id,
        ac::project_id,
        ac::expires_at,
        ac::system,
        ac::unrestricted,
    )
}

type RuleRow = (
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn rule_columns() -> (
    access_rule::id,
    access_rule::external_id,
    access_rule::service,
    access_rule::path,
    access_rule::method,
    access_rule::user_id,
) {
    (
        access_rule::id,
        access_rule::external_id,
        access_rule::service,
        access_rule::path,
        access_rule::method,
        access_rule::user_id,
    )
}

fn rule_from_row(r: RuleRow) -> AccessRule {
    let (internal_id, id, service, path, method, user_id) = r;
    AccessRule {
        internal_id,
        id,
        service,
        path,
        method,
        user_id,
    }
}

/// Roles and rules of the credential, in the order the peer reads them back (primary key
/// order of the link tables).
fn complete(conn: &mut AnyConnection, row: CredentialRow) -> Result<ApplicationCredential> {
    let (internal_id, id, name, description, user_id, project_id, expires_at, system, unrestricted) =
        row;
    let role_ids: Vec<String> = ac_role::table
        .filter(ac_role::application_credential_id.eq(internal_id))
        .order(ac_role::role_id.asc())
        .select(ac_role::role_id)
        .load(conn)?;
    let rules: Vec<RuleRow> = ac_rule::table
        .inner_join(access_rule::table)
        .filter(ac_rule::application_credential_id.eq(internal_id))
        .order(ac_rule::access_rule_id.asc())
        .select(rule_columns())
        .load(conn)?;
    Ok(ApplicationCredential {
        internal_id,
        id,
        name,
        description,
        user_id,
        project_id,
        system,
        expires_at: expires_at.and_then(from_epoch_micros),
        unrestricted,
        role_ids,
        access_rules: rules.into_iter().map(rule_from_row).collect(),
    })
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<ApplicationCredential>> {
    let row: Option<CredentialRow> = ac::table
        .filter(ac::id.eq(id))
        .select(credential_columns())
        .first(conn)
        .optional()?;
    row.map(|r| complete(conn, r)).transpose()
}

/// The stored secret hash, read only by authentication.
pub fn secret_hash(conn: &mut AnyConnection, id: &str) -> Result<Option<String>> {
    Ok(ac::table
        .filter(ac::id.eq(id))
        .select(ac::secret_hash)
        .first(conn)
        .optional()?)
}

/// A user's credentials, optionally with one exact name, in creation order.
pub fn list_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    name: Option<&str>,
) -> Result<Vec<ApplicationCredential>> {
    let sql = SqlFilters {
        equals: name.map(|n| ("name", n.to_string())).into_iter().collect(),
        ..SqlFilters::default()
    };
    query_for_user(conn, user_id, &sql)
}

/// The credential column `GET /v3/users/{user_id}/application_credentials` filters on.
pub const CREDENTIAL_COLUMNS: &[Column<&str>] = &[Column::text("name", "name", 255)];

/// A user's credentials with the `name` filters SQL satisfies, in creation order.
pub fn query_for_user(
    conn: &mut AnyConnection,
    user_id: &str,
    sql: &SqlFilters<&str>,
) -> Result<Vec<ApplicationCredential>> {
    if sql.cannot_match {
        return Ok(vec![]);
    }
    let mut query = ac::table
        .filter(ac::user_id.eq(user_id))
        .select(credential_columns())
        .order(ac::internal_id.asc())
        .into_boxed();
    for name in sql.equals_on("name") {
        query = query.filter(ac::name.eq(name));
    }
    for pattern in sql.like_on("name") {
        query = query.filter(lower(ac::name).like(lower(pattern)));
    }
    let rows: Vec<CredentialRow> = query.load(conn)?;
    rows.into_iter().map(|r| complete(conn, r)).collect()
}

pub fn count_for_user(conn: &mut AnyConnection, user_id: &str) -> Result<i64> {
    Ok(ac::table
        .filter(ac::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

/// What the create operation stores, already validated and with the secret hashed.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub description: Option<String>,
    pub user_id: String,
    pub project_id: Option<String>,
    pub system: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub unrestricted: Option<bool>,
    /// In insertion order; a repeated id is Keystone's 409.
    pub role_ids: Vec<String>,
    /// Request items, each with an `id` (generated where the client gave none).
    pub access_rules: Vec<Map<String, Value>>,
}

fn duplicate(name: &str) -> Error {
    Error::duplicate("application_credential", "name", name)
}

/// Keystone's model constructor refuses strings longer than their column.
fn check_length(column: &str, value: &str, limit: usize) -> Result<()> {
    if value.chars().count() > limit {
        return Err(Error::bad_request(format!(
            "String length exceeded. The length of string '{value}' exceeds the limit of column \
             {column}(CHAR({limit}))."
        )));
    }
    Ok(())
}

/// A unique violation inside the insert is Keystone's `handle_conflicts` 409 by name.
fn conflict_as_duplicate(name: &str) -> impl Fn(diesel::result::Error) -> Error + '_ {
    move |e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => duplicate(name),
        other => Error::from(other),
    }
}

/// Insert the credential, its roles and its access rules (Keystone's rule resolution:
/// by id across all users, else the owner's identical rule, else a new one).
pub fn insert(conn: &mut AnyConnection, new: &NewCredential) -> Result<ApplicationCredential> {
    if let Some(system) = &new.system {
        check_length("system", system, 64)?;
    }
    let taken: i64 = ac::table
        .filter(ac::user_id.eq(&new.user_id))
        .filter(ac::name.eq(&new.name))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(duplicate(&new.name));
    }
    diesel::insert_into(ac::table)
        .values((
            ac::id.eq(&new.id),
            ac::name.eq(&new.name),
            ac::secret_hash.eq(&new.secret_hash),
            ac::description.eq(&new.description),
            ac::user_id.eq(&new.user_id),
            ac::project_id.eq(&new.project_id),
            ac::expires_at.eq(new.expires_at.map(to_epoch_micros)),
            ac::system.eq(&new.system),
            ac::unrestricted.eq(new.unrestricted),
        ))
        .execute(conn)
        .map_err(conflict_as_duplicate(&new.name))?;
    let internal_id = i32::try_from(crate::db::last_insert_id(conn)?)
        .map_err(|_| Error::internal("application_credential.internal_id out of range"))?;
    for (i, role_id) in new.role_ids.iter().enumerate() {
        if new
            .role_ids
            .get(..i)
            .is_some_and(|seen| seen.contains(role_id))
        {
            return Err(duplicate(&new.name));
        }
        diesel::insert_into(ac_role::table)
            .values((
                ac_role::application_credential_id.eq(internal_id),
                ac_role::role_id.eq(role_id),
            ))
            .execute(conn)
            .map_err(conflict_as_duplicate(&new.name))?;
    }
    let mut rules: Vec<AccessRule> = Vec::new();
    for (index, item) in new.access_rules.iter().enumerate() {
        let rule = resolve_rule(conn, &new.user_id, index, item)?;
        if rules.iter().any(|r| r.internal_id == rule.internal_id) {
            return Err(duplicate(&new.name));
        }
        diesel::insert_into(ac_rule::table)
            .values((
                ac_rule::application_credential_id.eq(internal_id),
                ac_rule::access_rule_id.eq(rule.internal_id),
            ))
            .execute(conn)
            .map_err(conflict_as_duplicate(&new.name))?;
        rules.push(rule);
    }
    Ok(ApplicationCredential {
        internal_id,
        id: new.id.clone(),
        name: new.name.clone(),
        description: new.description.clone(),
        user_id: new.user_id.clone(),
        project_id: new.project_id.clone(),
        system: new.system.clone(),
        expires_at: new.expires_at,
        unrestricted: new.unrestricted,
        role_ids: new.role_ids.clone(),
        access_rules: rules,
    })
}

fn item_str<'a>(item: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    item.get(key).and_then(Value::as_str)
}

/// Keystone's 500 (a `KeyError`) for an item that names no existing rule and lacks part of
/// the triple becomes a 400 in jsonschema's words.
fn missing_part(index: usize, item: &Map<String, Value>, key: &str) -> Error {
    Error::bad_request(format!(
        "Invalid input for field/attribute {index}. Value: {}. '{key}' is a required property",
        crate::python::py_repr(&Value::Object(item.clone()))
    ))
}

fn resolve_rule(
    conn: &mut AnyConnection,
    user_id: &str,
    index: usize,
    item: &Map<String, Value>,
) -> Result<AccessRule> {
    let external_id = item_str(item, "id").unwrap_or_default().to_string();
    let by_id: Option<RuleRow> = access_rule::table
        .filter(access_rule::external_id.eq(&external_id))
        .select(rule_columns())
        .order(access_rule::id.asc())
        .first(conn)
        .optional()?;
    if let Some(row) = by_id {
        let rule = rule_from_row(row);
        if rule.user_id.as_deref() != Some(user_id) {
            return Err(Error::could_not_find("Access Rule", &external_id));
        }
        return Ok(rule);
    }
    let part = |key: &str| {
        item_str(item, key)
            .map(str::to_string)
            .ok_or_else(|| missing_part(index, item, key))
    };
    let (service, path, method) = (part("service")?, part("path")?, part("method")?);
    let same: Option<RuleRow> = access_rule::table
        .filter(access_rule::user_id.eq(user_id))
        .filter(access_rule::service.eq(&service))
        .filter(access_rule::path.eq(&path))
        .filter(access_rule::method.eq(&method))
        .select(rule_columns())
        .first(conn)
        .optional()?;
    if let Some(row) = same {
        return Ok(rule_from_row(row));
    }
    // Keystone builds the row from the item with `id` renamed: first the column lengths,
    // then unknown keys (SQLAlchemy's constructor), in the item's key order.
    let renamed: Vec<(String, &Value)> = item
        .iter()
        .map(|(k, v)| (k.replace("id", "external_id"), v))
        .collect();
    for (key, value) in &renamed {
        let limit = match key.as_str() {
            "external_id" | "user_id" | "service" => 64,
            "path" => 128,
            "method" => 16,
            _ => continue,
        };
        let text = match value {
            Value::String(s) => s.clone(),
            other => crate::python::py_repr(other),
        };
        check_length(key, &text, limit)?;
    }
    if let Some((key, _)) = renamed.iter().find(|(k, _)| {
        !matches!(
            k.as_str(),
            "external_id" | "user_id" | "service" | "path" | "method" | "id"
        )
    }) {
        return Err(Error::bad_request(format!(
            "'{key}' is an invalid keyword argument for AccessRuleModel"
        )));
    }
    diesel::insert_into(access_rule::table)
        .values((
            access_rule::external_id.eq(&external_id),
            access_rule::user_id.eq(user_id),
            access_rule::service.eq(&service),
            access_rule::path.eq(&path),
            access_rule::method.eq(&method),
        ))
        .execute(conn)?;
    let internal_id = i32::try_from(crate::db::last_insert_id(conn)?)
        .map_err(|_| Error::internal("access_rule.id out of range"))?;
    Ok(AccessRule {
        internal_id,
        id: Some(external_id),
        service: Some(service),
        path: Some(path),
        method: Some(method),
        user_id: Some(user_id.to_string()),
    })
}

/// Delete one credential with its role and rule links (the rules stay). `false` if absent.
pub fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool> {
    let internal: Option<i32> = ac::table
        .filter(ac::id.eq(id))
        .select(ac::internal_id)
        .first(conn)
        .optional()?;
    let Some(internal) = internal else {
        return Ok(false);
    };
    delete_internal(conn, &[internal])?;
    Ok(true)
}

/// Delete credentials by internal id; their public ids, for what other subsystems keep
/// about them (`crate::cascade`).
fn delete_internal(conn: &mut AnyConnection, internal_ids: &[i32]) -> Result<Vec<String>> {
    if internal_ids.is_empty() {
        return Ok(vec![]);
    }
    let public_ids: Vec<String> = ac::table
        .filter(ac::internal_id.eq_any(internal_ids))
        .select(ac::id)
        .load(conn)?;
    // The foreign keys cascade where they exist; adopted databases may lack them.
    diesel::delete(ac_role::table.filter(ac_role::application_credential_id.eq_any(internal_ids)))
        .execute(conn)?;
    diesel::delete(ac_rule::table.filter(ac_rule::application_credential_id.eq_any(internal_ids)))
        .execute(conn)?;
    diesel::delete(ac::table.filter(ac::internal_id.eq_any(internal_ids))).execute(conn)?;
    Ok(public_ids)
}

/// A deleted user: all their credentials and access rules (Keystone's user-deleted
/// callback); the deleted credentials' ids. Call inside the transaction that deletes the user.
pub fn delete_for_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<String>> {
    let ids: Vec<i32> = ac::table
        .filter(ac::user_id.eq(user_id))
        .select(ac::internal_id)
        .load(conn)?;
    let deleted = delete_internal(conn, &ids)?;
    let rule_ids: Vec<i32> = access_rule::table
        .filter(access_rule::user_id.eq(user_id))
        .select(access_rule::id)
        .load(conn)?;
    if !rule_ids.is_empty() {
        diesel::delete(ac_rule::table.filter(ac_rule::access_rule_id.eq_any(&rule_ids)))
            .execute(conn)?;
        diesel::delete(access_rule::table.filter(access_rule::id.eq_any(&rule_ids)))
            .execute(conn)?;
    }
    Ok(deleted)
}

/// All of a user's credentials bound to a project.
pub fn delete_for_user_on_project(
    conn: &mut AnyConnection,
    user_id: &str,
    project_id: &str,
) -> Result<Vec<String>> {
    let ids: Vec<i32> = ac::table
        .filter(ac::user_id.eq(user_id))
        .filter(ac::project_id.eq(project_id))
        .select(ac::internal_id)
        .load(conn)?;
    delete_internal(conn, &ids)
}

/// A role about to be deleted: for every *direct* user-on-project assignment of it, all
/// that user's credentials on that project go, whether or not they carry the role
/// (Keystone's role-deleted behaviour; group and domain grants delete nothing). Call inside
/// the transaction that deletes the role, before its assignments are removed. The deleted
/// credentials' ids.
pub fn delete_for_role(conn: &mut AnyConnection, role_id: &str) -> Result<Vec<String>> {
    let pairs: Vec<(String, String)> = assignment::table
        .filter(assignment::role_id.eq(role_id))
        .filter(assignment::type_.eq(crate::db::enums::AssignmentType::UserProject))
        .select((assignment::actor_id, assignment::target_id))
        .load(conn)?;
    let mut deleted = Vec::new();
    for (user_id, project_id) in pairs {
        deleted.extend(delete_for_user_on_project(conn, &user_id, &project_id)?);
    }
    Ok(deleted)
}

/// One of the user's rules by public id.
pub fn get_rule(
    conn: &mut AnyConnection,
    external_id: &str,
    user_id: &str,
) -> Result<Option<AccessRule>> {
    let row: Option<RuleRow> = access_rule::table
        .filter(access_rule::external_id.eq(external_id))
        .filter(access_rule::user_id.eq(user_id))
        .select(rule_columns())
        .first(conn)
        .optional()?;
    Ok(row.map(rule_from_row))
}

/// The user's rules in creation order.
pub fn list_rules(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<AccessRule>> {
    let rows: Vec<RuleRow> = access_rule::table
        .filter(access_rule::user_id.eq(user_id))
        .order(access_rule::id.asc())
        .select(rule_columns())
        .load(conn)?;
    Ok(rows.into_iter().map(rule_from_row).collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleDeletion {
    Deleted,
    NotFound,
    /// Still linked to a credential: Keystone's 403.
    InUse,
}

pub fn delete_rule(
    conn: &mut AnyConnection,
    external_id: &str,
    user_id: &str,
) -> Result<RuleDeletion> {
    let Some(rule) = get_rule(conn, external_id, user_id)? else {
        return Ok(RuleDeletion::NotFound);
    };
    let links: i64 = ac_rule::table
        .filter(ac_rule::access_rule_id.eq(rule.internal_id))
        .count()
        .get_result(conn)?;
    if links > 0 {
        return Ok(RuleDeletion::InUse);
    }
    diesel::delete(access_rule::table.filter(access_rule::id.eq(rule.internal_id)))
        .execute(conn)?;
    Ok(RuleDeletion::Deleted)
}

/// Ids of every role with this name, whatever its domain (`get_unique_role_by_name`).
pub fn role_ids_named(conn: &mut AnyConnection, name: &str) -> Result<Vec<String>> {
    Ok(role::table
        .filter(role::name.eq(name))
        .select(role::id)
        .load(conn)?)
}

/// Resource options by role, as the API shows them (`IMMU` is `immutable`).
fn role_options(
    conn: &mut AnyConnection,
    role_ids: &[String],
) -> Result<BTreeMap<String, Map<String, Value>>> {
    let rows: Vec<(String, String, Option<String>)> = role_option::table
        .filter(role_option::role_id.eq_any(role_ids))
        .select((
            role_option::role_id,
            role_option::option_id,
            role_option::option_value,
        ))
        .load(conn)?;
    let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (role_id, option_id, value) in rows {
        let name = match option_id.as_str() {
            "IMMU" => "immutable",
            _ => continue,
        };
        let value = value
            .and_then(|v| serde_json::from_str::<Value>(&v).ok())
            .unwrap_or(Value::Null);
        out.entry(role_id).or_default().insert(name.into(), value);
    }
    Ok(out)
}

/// Full role objects for ids, in that order. A role that no longer exists is Keystone's
/// 404 (`get_role` while loading the credential).
pub fn roles_with_options(
    conn: &mut AnyConnection,
    role_ids: &[String],
) -> Result<Vec<RoleWithOptions>> {
    let roles: BTreeMap<String, Role> = assignment_store::get_roles(conn, role_ids)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let mut options = role_options(conn, role_ids)?;
    role_ids
        .iter()
        .map(|id| {
            let role = roles
                .get(id)
                .cloned()
                .ok_or_else(|| Error::could_not_find("role", id))?;
            Ok(RoleWithOptions {
                role,
                options: options.remove(id).unwrap_or_default(),
            })
        })
        .collect()
}
