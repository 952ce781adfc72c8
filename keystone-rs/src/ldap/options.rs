//! A domain's `[ldap]` options (keystone/conf/ldap.py names and defaults), read from the
//! domain's configuration: a `keystone.<domain>.conf` file (strings) or the database's
//! domain configuration (JSON values).

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryScope {
    One,
    Sub,
}

/// `tls_req_cert`: `demand` verifies the server certificate; `allow` and `never` do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsReqCert {
    Demand,
    Allow,
    Never,
}

/// What one kind of entry (users or groups) is read by.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryOptions {
    pub tree_dn: String,
    pub filter: Option<String>,
    pub objectclass: String,
    pub id_attribute: String,
    pub name_attribute: String,
    pub description_attribute: String,
    pub attribute_ignore: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LdapOptions {
    /// The servers, tried in order.
    pub urls: Vec<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub suffix: String,
    pub query_scope: QueryScope,
    /// 0: no paged results control.
    pub page_size: i32,
    pub use_tls: bool,
    pub tls_cacertfile: Option<String>,
    pub tls_req_cert: TlsReqCert,
    pub connection_timeout: Option<Duration>,
    pub use_pool: bool,
    pub pool_size: usize,
    pub pool_connection_lifetime: Duration,
    pub users: EntryOptions,
    pub user_mail_attribute: String,
    pub user_enabled_attribute: String,
    pub user_enabled_mask: i64,
    pub user_enabled_invert: bool,
    pub user_enabled_default: String,
    pub user_default_project_id_attribute: Option<String>,
    pub groups: EntryOptions,
    pub group_member_attribute: String,
    pub group_members_are_ids: bool,
}

fn invalid(option: &str, reason: &str) -> Error {
    Error::service_unavailable(format!("[ldap] {option}: {reason}"))
}

struct Reader<'a>(&'a Map<String, Value>);

impl Reader<'_> {
    /// A set value as text; JSON `null` and an empty string are unset, as oslo.config has it.
    fn text(&self, option: &str) -> Option<String> {
        match self.0.get(option)? {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    fn string(&self, option: &str, default: &str) -> String {
        self.text(option).unwrap_or_else(|| default.to_string())
    }

    fn boolean(&self, option: &str, default: bool) -> Result<bool> {
        match self.0.get(option) {
            Some(Value::Bool(b)) => Ok(*b),
            _ => match self.text(option) {
                None => Ok(default),
                Some(t) => match t.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => Ok(true),
                    "false" | "0" | "no" | "off" => Ok(false),
                    _ => Err(invalid(option, "not a boolean")),
                },
            },
        }
    }

    fn int(&self, option: &str, default: i64) -> Result<i64> {
        match self.text(option) {
            None => Ok(default),
            Some(t) => t
                .trim()
                .parse()
                .map_err(|_| invalid(option, "not an integer")),
        }
    }

    fn list(&self, option: &str, default: &[&str]) -> Vec<String> {
        match self.0.get(option) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => match self.text(option) {
                None => default.iter().map(|s| s.to_string()).collect(),
                Some(t) => t
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            },
        }
    }
}

impl LdapOptions {
    /// The `[ldap]` group of a domain's configuration.
    pub fn from_group(group: &Map<String, Value>) -> Result<LdapOptions> {
        let r = Reader(group);
        let suffix = r.string("suffix", "cn=example,cn=com");
        let tree = |option: &str, ou: &str| r.text(option).unwrap_or(format!("{ou},{suffix}"));
        let urls: Vec<String> = r
            .string("url", "ldap://localhost")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let use_tls = r.boolean("use_tls", false)?;
        if use_tls
            && urls
                .iter()
                .any(|u| u.to_ascii_lowercase().starts_with("ldaps://"))
        {
            return Err(invalid("use_tls", "Invalid TLS / LDAPS combination"));
        }
        let query_scope = match r.string("query_scope", "one").as_str() {
            "one" => QueryScope::One,
            "sub" => QueryScope::Sub,
            _ => return Err(invalid("query_scope", "must be one or sub")),
        };
        let tls_req_cert = match r.string("tls_req_cert", "demand").to_lowercase().as_str() {
            "demand" => TlsReqCert::Demand,
            "allow" => TlsReqCert::Allow,
            "never" => TlsReqCert::Never,
            _ => return Err(invalid("tls_req_cert", "must be demand, allow or never")),
        };
        let timeout = r.int("connection_timeout", -1)?;
        Ok(LdapOptions {
            urls,
            user: r.text("user"),
            password: r.text("password"),
            query_scope,
            page_size: i32::try_from(r.int("page_size", 0)?.max(0)).unwrap_or(i32::MAX),
            use_tls,
            tls_cacertfile: r.text("tls_cacertfile"),
            tls_req_cert,
            connection_timeout: u64::try_from(timeout)
                .ok()
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
            use_pool: r.boolean("use_pool", true)?,
            pool_size: usize::try_from(r.int("pool_size", 10)?).unwrap_or(0),
            pool_connection_lifetime: Duration::from_secs(
                u64::try_from(r.int("pool_connection_lifetime", 600)?).unwrap_or(0),
            ),
            users: EntryOptions {
                tree_dn: tree("user_tree_dn", "ou=Users"),
                filter: r.text("user_filter"),
                objectclass: r.string("user_objectclass", "inetOrgPerson"),
                id_attribute: r.string("user_id_attribute", "cn"),
                name_attribute: r.string("user_name_attribute", "sn"),
                description_attribute: r.string("user_description_attribute", "description"),
                attribute_ignore: r.list("user_attribute_ignore", &["default_project_id"]),
            },
            user_mail_attribute: r.string("user_mail_attribute", "mail"),
            user_enabled_attribute: r.string("user_enabled_attribute", "enabled"),
            user_enabled_mask: r.int("user_enabled_mask", 0)?,
            user_enabled_invert: r.boolean("user_enabled_invert", false)?,
            user_enabled_default: r.string("user_enabled_default", "True"),
            user_default_project_id_attribute: r.text("user_default_project_id_attribute"),
            groups: EntryOptions {
                tree_dn: tree("group_tree_dn", "ou=UserGroups"),
                filter: r.text("group_filter"),
                objectclass: r.string("group_objectclass", "groupOfNames"),
                id_attribute: r.string("group_id_attribute", "cn"),
                name_attribute: r.string("group_name_attribute", "ou"),
                description_attribute: r.string("group_desc_attribute", "description"),
                attribute_ignore: r.list("group_attribute_ignore", &[]),
            },
            group_member_attribute: r.string("group_member_attribute", "member"),
            group_members_are_ids: r.boolean("group_members_are_ids", false)?,
            suffix,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn defaults_are_keystones() {
        let o = LdapOptions::from_group(&group(json!({"suffix": "dc=example,dc=org"}))).unwrap();
        assert_eq!(o.urls, vec!["ldap://localhost"]);
        assert_eq!(o.users.tree_dn, "ou=Users,dc=example,dc=org");
        assert_eq!(o.groups.tree_dn, "ou=UserGroups,dc=example,dc=org");
        assert_eq!(o.users.name_attribute, "sn");
        assert_eq!(o.groups.name_attribute, "ou");
        assert_eq!(o.users.attribute_ignore, vec!["default_project_id"]);
        assert_eq!(o.query_scope, QueryScope::One);
        assert!(o.use_pool && o.connection_timeout.is_none());
    }

    #[test]
    fn file_strings_and_database_values_read_alike() {
        let file = group(json!({"url": "ldap://a:1, ldaps://b:2", "page_size": "50",
            "group_members_are_ids": "True", "user_attribute_ignore": "enabled,email"}));
        let db = group(json!({"url": "ldap://a:1, ldaps://b:2", "page_size": 50,
            "group_members_are_ids": true, "user_attribute_ignore": ["enabled", "email"]}));
        let (f, d) = (
            LdapOptions::from_group(&file).unwrap(),
            LdapOptions::from_group(&db).unwrap(),
        );
        assert_eq!(f, d);
        assert_eq!(f.urls, vec!["ldap://a:1", "ldaps://b:2"]);
        assert_eq!(f.page_size, 50);
    }

    #[test]
    fn starttls_over_ldaps_is_refused() {
        let g = group(json!({"url": "ldaps://a", "use_tls": true}));
        assert!(LdapOptions::from_group(&g).is_err());
    }
}
