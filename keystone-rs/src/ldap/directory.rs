//! Users and groups as Keystone's LDAP driver reads them (`UserApi`, `GroupApi` in
//! keystone/identity/backends/ldap): the filters it builds — every value through
//! `ldap_escape`, so a name can never widen a search —, the attribute mapping, the
//! enabled mask/invert/default rules, and membership by DN or by id.

use super::client::{Failure, Session, bind_as, scope};
use super::options::{EntryOptions, LdapOptions};
use crate::db::listing::{Comparator, Hints};
use ldap3::{Scope, SearchEntry, ldap_escape};
use std::collections::HashMap;

/// An entry's attributes, names lower-cased (servers answer in their own case).
struct Attrs(HashMap<String, Vec<String>>);

impl Attrs {
    fn of(e: &SearchEntry) -> Attrs {
        Attrs(
            e.attrs
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.clone()))
                .collect(),
        )
    }

    fn first(&self, name: &str) -> Option<&String> {
        self.0.get(&name.to_lowercase()).and_then(|v| v.first())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LdapUser {
    /// The local id (the `user_id_attribute` value).
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub email: Option<String>,
    /// `None` when `enabled` is in `user_attribute_ignore`.
    pub enabled: Option<bool>,
    pub default_project_id: Option<String>,
    pub dn: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LdapGroup {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub dn: String,
}

/// An attribute of the model, unless ignored or mapped to nothing.
fn mapped<'a>(kind: &EntryOptions, key: &str, attr: Option<&'a str>) -> Option<&'a str> {
    if kind.attribute_ignore.iter().any(|i| i == key) {
        return None;
    }
    attr
}

/// `_ldap_res_to_model`'s `enabled`, with the mask, the invert flag and the default.
fn enabled_of(opts: &LdapOptions, attrs: &Attrs) -> Option<bool> {
    if opts.users.attribute_ignore.iter().any(|i| i == "enabled") && opts.user_enabled_mask == 0 {
        return None;
    }
    let raw = attrs
        .first(&opts.user_enabled_attribute)
        .cloned()
        .unwrap_or_else(|| opts.user_enabled_default.clone());
    if opts.user_enabled_mask != 0 {
        let value: i64 = raw.trim().parse().unwrap_or(0);
        return Some(value & opts.user_enabled_mask != opts.user_enabled_mask);
    }
    let on = raw.to_lowercase() == "true";
    Some(on != opts.user_enabled_invert)
}

/// `_filter_ldap_result_by_attr(..., 'name')`: entries without a non-blank name are skipped.
fn named(kind: &EntryOptions, attrs: &Attrs) -> Option<String> {
    attrs
        .first(&kind.name_attribute)
        .filter(|n| !n.trim().is_empty())
        .cloned()
}

fn user_of(opts: &LdapOptions, e: &SearchEntry) -> Option<LdapUser> {
    let attrs = Attrs::of(e);
    let k = &opts.users;
    Some(LdapUser {
        id: attrs.first(&k.id_attribute)?.clone(),
        name: named(k, &attrs)?,
        description: mapped(k, "description", Some(k.description_attribute.as_str()))
            .and_then(|a| attrs.first(a).cloned()),
        email: mapped(k, "email", Some(opts.user_mail_attribute.as_str()))
            .and_then(|a| attrs.first(a).cloned()),
        enabled: enabled_of(opts, &attrs),
        default_project_id: mapped(
            k,
            "default_project_id",
            opts.user_default_project_id_attribute.as_deref(),
        )
        .and_then(|a| attrs.first(a).cloned()),
        dn: e.dn.clone(),
    })
}

fn group_of(opts: &LdapOptions, e: &SearchEntry) -> Option<LdapGroup> {
    let attrs = Attrs::of(e);
    let k = &opts.groups;
    Some(LdapGroup {
        id: attrs.first(&k.id_attribute)?.clone(),
        name: named(k, &attrs)?,
        description: mapped(k, "description", Some(k.description_attribute.as_str()))
            .and_then(|a| attrs.first(a).cloned()),
        dn: e.dn.clone(),
    })
}

fn user_attrs(opts: &LdapOptions) -> Vec<&str> {
    let mut a = vec![
        opts.users.id_attribute.as_str(),
        opts.users.name_attribute.as_str(),
        opts.users.description_attribute.as_str(),
        opts.user_mail_attribute.as_str(),
        opts.user_enabled_attribute.as_str(),
    ];
    if let Some(p) = &opts.user_default_project_id_attribute {
        a.push(p);
    }
    a
}

fn group_attrs(opts: &LdapOptions) -> Vec<&str> {
    vec![
        opts.groups.id_attribute.as_str(),
        opts.groups.name_attribute.as_str(),
        opts.groups.description_attribute.as_str(),
    ]
}

/// `_ldap_get_all`'s query: `(&<extra><filter>(objectClass=…)(<id>=*))`.
fn all_query(kind: &EntryOptions, extra: &str) -> String {
    format!(
        "(&{extra}{}(objectClass={})({}=*))",
        kind.filter.as_deref().unwrap_or(""),
        kind.objectclass,
        kind.id_attribute
    )
}

/// `_ldap_get`'s query for one id.
fn id_query(kind: &EntryOptions, id: &str) -> String {
    format!(
        "(&({}={}){}(objectClass={}))",
        kind.id_attribute,
        ldap_escape(id),
        kind.filter.as_deref().unwrap_or(""),
        kind.objectclass
    )
}

/// `filter_query`: the list filters the directory can answer, removed from the hints
/// (the rest — `enabled`, case-sensitive ones, `domain_id` — stay for the caller).
/// `mapping` names the LDAP attribute of each filterable model attribute.
fn filter_query(hints: &mut Hints, mapping: &[(&str, &str)]) -> String {
    let mut terms = String::new();
    hints.filters.retain(|f| {
        let Some((_, attr)) = mapping.iter().find(|(k, _)| *k == f.name) else {
            return true;
        };
        if f.case_sensitive || f.name == "enabled" {
            return true;
        }
        let v = ldap_escape(f.value.as_str());
        let term = match f.comparator {
            Comparator::Equals => format!("({attr}={v})"),
            Comparator::Contains => format!("({attr}=*{v}*)"),
            Comparator::StartsWith => format!("({attr}={v}*)"),
            Comparator::EndsWith => format!("({attr}=*{v})"),
            _ => return true,
        };
        terms.push_str(&term);
        false
    });
    terms
}

fn limit_of(hints: &Hints) -> Option<i32> {
    hints
        .limit
        .and_then(|l| i32::try_from(l.limit).ok())
        .filter(|l| *l > 0)
}

/// The directory of one domain, through the service account.
pub struct Directory<'o> {
    opts: &'o LdapOptions,
    session: Session<'o>,
}

impl<'o> Directory<'o> {
    pub fn open(opts: &'o LdapOptions) -> Result<Directory<'o>, Failure> {
        Ok(Directory {
            opts,
            session: Session::open(opts)?,
        })
    }

    fn users_where(&mut self, query: &str, limit: Option<i32>) -> Result<Vec<LdapUser>, Failure> {
        let opts = self.opts;
        let entries = self.session.search(
            &opts.users.tree_dn,
            scope(opts),
            query,
            &user_attrs(opts),
            limit,
        )?;
        Ok(entries.iter().filter_map(|e| user_of(opts, e)).collect())
    }

    fn groups_where(&mut self, query: &str, limit: Option<i32>) -> Result<Vec<LdapGroup>, Failure> {
        let opts = self.opts;
        let entries = self.session.search(
            &opts.groups.tree_dn,
            scope(opts),
            query,
            &group_attrs(opts),
            limit,
        )?;
        Ok(entries.iter().filter_map(|e| group_of(opts, e)).collect())
    }

    /// `get_all_filtered` for users.
    pub fn list_users(&mut self, hints: &mut Hints) -> Result<Vec<LdapUser>, Failure> {
        let o = self.opts;
        let mapping = [
            ("name", o.users.name_attribute.as_str()),
            ("email", o.user_mail_attribute.as_str()),
            ("description", o.users.description_attribute.as_str()),
        ];
        let terms = filter_query(hints, &mapping);
        let query = all_query(&o.users, &terms);
        self.users_where(&query, limit_of(hints))
    }

    pub fn get_user(&mut self, local_id: &str) -> Result<Option<LdapUser>, Failure> {
        let query = id_query(&self.opts.users, local_id);
        Ok(self.users_where(&query, None)?.into_iter().next())
    }

    /// `get_by_name`: the first user whose name attribute matches.
    pub fn user_by_name(&mut self, name: &str) -> Result<Option<LdapUser>, Failure> {
        let o = self.opts;
        let term = format!("({}={})", o.users.name_attribute, ldap_escape(name));
        let query = all_query(&o.users, &term);
        Ok(self.users_where(&query, None)?.into_iter().next())
    }

    /// `get_all_filtered` for groups.
    pub fn list_groups(&mut self, hints: &mut Hints) -> Result<Vec<LdapGroup>, Failure> {
        let o = self.opts;
        let mapping = [
            ("name", o.groups.name_attribute.as_str()),
            ("description", o.groups.description_attribute.as_str()),
        ];
        let terms = filter_query(hints, &mapping);
        let query = all_query(&o.groups, &terms);
        self.groups_where(&query, limit_of(hints))
    }

    pub fn get_group(&mut self, local_id: &str) -> Result<Option<LdapGroup>, Failure> {
        let query = id_query(&self.opts.groups, local_id);
        Ok(self.groups_where(&query, None)?.into_iter().next())
    }

    pub fn group_by_name(&mut self, name: &str) -> Result<Option<LdapGroup>, Failure> {
        let o = self.opts;
        let term = format!("({}={})", o.groups.name_attribute, ldap_escape(name));
        let query = all_query(&o.groups, &term);
        Ok(self.groups_where(&query, None)?.into_iter().next())
    }

    /// `list_groups_for_user`: groups whose member attribute names the user (its DN, or
    /// its id with `group_members_are_ids`).
    pub fn groups_of(
        &mut self,
        user: &LdapUser,
        hints: &mut Hints,
    ) -> Result<Vec<LdapGroup>, Failure> {
        let o = self.opts;
        let member = if o.group_members_are_ids {
            &user.id
        } else {
            &user.dn
        };
        let mut term = format!(
            "({}={})",
            o.group_member_attribute,
            ldap_escape(member.as_str())
        );
        let mapping = [
            ("name", o.groups.name_attribute.as_str()),
            ("description", o.groups.description_attribute.as_str()),
        ];
        term.push_str(&filter_query(hints, &mapping));
        let query = all_query(&o.groups, &term);
        self.groups_where(&query, None)
    }

    /// `list_users_in_group`: the members that are users of this directory (a member that
    /// is not is skipped, as Keystone skips it).
    pub fn members_of(&mut self, group: &LdapGroup) -> Result<Vec<LdapUser>, Failure> {
        let o = self.opts;
        let entries = self.session.search(
            &group.dn,
            Scope::Base,
            "(objectClass=*)",
            &[o.group_member_attribute.as_str()],
            None,
        )?;
        let values: Vec<String> = entries
            .iter()
            .flat_map(|e| {
                Attrs::of(e)
                    .0
                    .remove(&o.group_member_attribute.to_lowercase())
            })
            .flatten()
            .collect();
        let mut users = Vec::new();
        for value in values {
            let found = if o.group_members_are_ids {
                self.get_user(&value)?
            } else {
                self.user_at(&value)?
            };
            match found {
                Some(u) => users.push(u),
                None => tracing::debug!(
                    group = %group.id,
                    "group member not found in the directory; ignored"
                ),
            }
        }
        Ok(users)
    }

    /// The user entry at a DN (`_dn_to_id` then `get`, in one base search).
    fn user_at(&mut self, dn: &str) -> Result<Option<LdapUser>, Failure> {
        let o = self.opts;
        let query = all_query(&o.users, "");
        let entries = self
            .session
            .search(dn, Scope::Base, &query, &user_attrs(o), None)?;
        Ok(entries.iter().find_map(|e| user_of(o, e)))
    }

    /// `authenticate`: the user's own bind.
    pub fn authenticate(&self, user: &LdapUser, password: &str) -> Result<(), Failure> {
        bind_as(self.opts, &user.dn, password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::listing::Filter;

    fn filter(name: &str, value: &str, comparator: Comparator) -> Filter {
        Filter {
            name: name.into(),
            value: value.into(),
            comparator,
            case_sensitive: false,
        }
    }

    #[test]
    fn filter_values_are_escaped_and_unknown_filters_stay() {
        let mut hints = Hints::default();
        hints.filters = vec![
            filter("name", "*)(uid=*", Comparator::Equals),
            filter("name", "a(b", Comparator::StartsWith),
            filter("enabled", "true", Comparator::Equals),
            filter("domain_id", "d", Comparator::Equals),
        ];
        let q = filter_query(&mut hints, &[("name", "sn")]);
        assert_eq!(q, r"(sn=\2a\29\28uid=\2a)(sn=a\28b*)");
        let left: Vec<&str> = hints.filters.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(left, vec!["enabled", "domain_id"]);
    }

    #[test]
    fn ids_are_escaped_in_get() {
        let opts = LdapOptions::from_group(&serde_json::Map::new()).unwrap();
        assert_eq!(
            id_query(&opts.users, "x)(cn=*"),
            r"(&(cn=x\29\28cn=\2a)(objectClass=inetOrgPerson))"
        );
    }
}
