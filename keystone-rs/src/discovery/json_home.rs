//! The JSON-home document (RFC draft "Home Documents for HTTP APIs") Keystone serves for
//! `Accept: application/json-home`: one entry per relation, in the order Keystone 30's API
//! modules register them (alphabetical by module). Add a route here when its subsystem
//! lands; `Link::render` and the vector test keep the bytes identical to Keystone's.

use serde_json::{Map, Value};

const BASE: &str = "https://docs.openstack.org/api/openstack-identity/3";

/// An API extension namespace: `…/ext/<name>/<version>/rel|param/…`.
#[derive(Clone, Copy, Debug)]
pub struct Extension {
    pub name: &'static str,
    pub version: &'static str,
}

const fn extension(name: &'static str) -> Extension {
    Extension {
        name,
        version: "1.0",
    }
}

pub const EC2: Extension = extension("OS-EC2");
pub const ENDPOINT_POLICY: Extension = extension("OS-ENDPOINT-POLICY");
pub const EP_FILTER: Extension = extension("OS-EP-FILTER");
pub const FEDERATION: Extension = extension("OS-FEDERATION");
pub const INHERIT: Extension = extension("OS-INHERIT");
pub const OAUTH1: Extension = extension("OS-OAUTH1");
pub const OAUTH2: Extension = extension("OS-OAUTH2");
pub const PKI: Extension = extension("OS-PKI");
pub const REVOKE: Extension = extension("OS-REVOKE");
pub const S3TOKENS: Extension = extension("s3tokens");
pub const SIMPLE_CERT: Extension = extension("OS-SIMPLE-CERT");
pub const TRUST: Extension = extension("OS-TRUST");

/// A relation or parameter name, in the core namespace or an extension's.
#[derive(Clone, Copy, Debug)]
pub struct Name {
    pub extension: Option<Extension>,
    pub name: &'static str,
}

impl Name {
    /// `kind` is `rel` or `param`.
    fn url(&self, kind: &str) -> String {
        match self.extension {
            None => format!("{BASE}/{kind}/{}", self.name),
            Some(ext) => format!(
                "{BASE}/ext/{}/{}/{kind}/{}",
                ext.name, ext.version, self.name
            ),
        }
    }
}

const fn core(name: &'static str) -> Name {
    Name {
        extension: None,
        name,
    }
}

const fn ext(extension: Extension, name: &'static str) -> Name {
    Name {
        extension: Some(extension),
        name,
    }
}

const fn param(name: &'static str) -> Name {
    core(name)
}

const fn ext_param(extension: Extension, name: &'static str) -> Name {
    ext(extension, name)
}

/// Keystone omits the hint for stable resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Stable,
    Experimental,
    Deprecated,
}

/// One resource: a fixed `href`, or an `href-template` with its variables (in Keystone's
/// order, which is not alphabetical).
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub relation: Name,
    pub path: &'static str,
    pub vars: &'static [(&'static str, Name)],
    pub status: Status,
}

const fn link(relation: Name, path: &'static str, vars: &'static [(&'static str, Name)]) -> Link {
    Link {
        relation,
        path,
        vars,
        status: Status::Stable,
    }
}

impl Link {
    const fn experimental(self) -> Link {
        Link {
            status: Status::Experimental,
            ..self
        }
    }

    pub fn relation_url(&self) -> String {
        self.relation.url("rel")
    }

    /// The resource object, its path behind `prefix` (`""` under `/v3`, `"/v3"` at `/`).
    pub fn render(&self, prefix: &str) -> Value {
        let mut resource = Map::new();
        let path = format!("{prefix}{}", self.path);
        if self.vars.is_empty() {
            resource.insert("href".into(), Value::String(path));
        } else {
            resource.insert("href-template".into(), Value::String(path));
            let vars = self
                .vars
                .iter()
                .map(|(var, name)| (var.to_string(), Value::String(name.url("param"))))
                .collect();
            resource.insert("href-vars".into(), Value::Object(vars));
        }
        let hint = match self.status {
            Status::Stable => None,
            Status::Experimental => Some("experimental"),
            Status::Deprecated => Some("deprecated"),
        };
        if let Some(status) = hint {
            let mut hints = Map::new();
            hints.insert("status".into(), Value::String(status.into()));
            resource.insert("hints".into(), Value::Object(hints));
        }
        Value::Object(resource)
    }
}

/// Every relation Keystone 30.0.0 advertises (121: 63 core, 58 extension).
pub const LINKS: &[Link] = &[
    // auth
    link(core("auth_projects"), "/auth/projects", &[]),
    link(ext(FEDERATION, "projects"), "/auth/projects", &[]),
    link(core("auth_domains"), "/auth/domains", &[]),
    link(ext(FEDERATION, "domains"), "/auth/domains", &[]),
    link(core("auth_system"), "/auth/system", &[]),
    link(core("auth_catalog"), "/auth/catalog", &[]),
    link(ext(PKI, "revocations"), "/auth/tokens/OS-PKI/revoked", &[]),
    link(core("auth_tokens"), "/auth/tokens", &[]),
    link(ext(FEDERATION, "saml2"), "/auth/OS-FEDERATION/saml2", &[]),
    link(ext(FEDERATION, "ecp"), "/auth/OS-FEDERATION/saml2/ecp", &[]),
    link(
        ext(FEDERATION, "websso"),
        "/auth/OS-FEDERATION/websso/{protocol_id}",
        &[("protocol_id", ext_param(FEDERATION, "protocol_id"))],
    ),
    link(
        ext(FEDERATION, "identity_providers_websso"),
        "/auth/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/websso",
        &[
            ("idp_id", ext_param(FEDERATION, "idp_id")),
            ("protocol_id", ext_param(FEDERATION, "protocol_id")),
        ],
    ),
    // credentials
    link(core("credentials"), "/credentials", &[]),
    link(
        core("credential"),
        "/credentials/{credential_id}",
        &[("credential_id", param("credential_id"))],
    ),
    // domains
    link(core("domains"), "/domains", &[]),
    link(
        core("domain"),
        "/domains/{domain_id}",
        &[("domain_id", param("domain_id"))],
    ),
    link(
        core("domain_config"),
        "/domains/{domain_id}/config",
        &[("domain_id", param("domain_id"))],
    ),
    link(
        core("domain_config_group"),
        "/domains/{domain_id}/config/{group}",
        &[
            ("domain_id", param("domain_id")),
            ("group", param("config_group")),
        ],
    ),
    link(
        core("domain_config_option"),
        "/domains/{domain_id}/config/{group}/{option}",
        &[
            ("domain_id", param("domain_id")),
            ("group", param("config_group")),
            ("option", param("config_option")),
        ],
    ),
    link(
        core("domain_config_default"),
        "/domains/config/default",
        &[],
    ),
    link(
        core("domain_config_default_group"),
        "/domains/config/{group}/default",
        &[("group", param("config_group"))],
    ),
    link(
        core("domain_config_default_option"),
        "/domains/config/{group}/{option}/default",
        &[
            ("group", param("config_group")),
            ("option", param("config_option")),
        ],
    ),
    link(
        core("domain_user_roles"),
        "/domains/{domain_id}/users/{user_id}/roles",
        &[
            ("domain_id", param("domain_id")),
            ("user_id", param("user_id")),
        ],
    ),
    link(
        core("domain_user_role"),
        "/domains/{domain_id}/users/{user_id}/roles/{role_id}",
        &[
            ("domain_id", param("domain_id")),
            ("user_id", param("user_id")),
            ("role_id", param("role_id")),
        ],
    ),
    link(
        core("domain_group_roles"),
        "/domains/{domain_id}/groups/{group_id}/roles",
        &[
            ("domain_id", param("domain_id")),
            ("group_id", param("group_id")),
        ],
    ),
    link(
        core("domain_group_role"),
        "/domains/{domain_id}/groups/{group_id}/roles/{role_id}",
        &[
            ("domain_id", param("domain_id")),
            ("group_id", param("group_id")),
            ("role_id", param("role_id")),
        ],
    ),
    // ec2tokens
    link(ext(EC2, "ec2tokens"), "/ec2tokens", &[]),
    // endpoints
    link(core("endpoints"), "/endpoints", &[]),
    link(
        core("endpoint"),
        "/endpoints/{endpoint_id}",
        &[("endpoint_id", param("endpoint_id"))],
    ),
    link(
        ext(ENDPOINT_POLICY, "endpoint_policy"),
        "/endpoints/{endpoint_id}/OS-ENDPOINT-POLICY/policy",
        &[("endpoint_id", param("endpoint_id"))],
    ),
    // groups
    link(core("groups"), "/groups", &[]),
    link(
        core("group"),
        "/groups/{group_id}",
        &[("group_id", param("group_id"))],
    ),
    link(
        core("group_users"),
        "/groups/{group_id}/users",
        &[("group_id", param("group_id"))],
    ),
    link(
        core("group_user"),
        "/groups/{group_id}/users/{user_id}",
        &[
            ("group_id", param("group_id")),
            ("user_id", param("user_id")),
        ],
    ),
    // limits
    link(core("limits"), "/limits", &[]).experimental(),
    link(
        core("limit"),
        "/limits/{limit_id}",
        &[("limit_id", param("limit_id"))],
    )
    .experimental(),
    link(core("limit_model"), "/limits/model", &[]).experimental(),
    // OS-EP-FILTER
    link(
        ext(EP_FILTER, "endpoint_groups"),
        "/OS-EP-FILTER/endpoint_groups",
        &[],
    ),
    link(
        ext(EP_FILTER, "endpoint_group"),
        "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}",
        &[(
            "endpoint_group_id",
            ext_param(EP_FILTER, "endpoint_group_id"),
        )],
    ),
    link(
        ext(EP_FILTER, "endpoint_projects"),
        "/OS-EP-FILTER/endpoints/{endpoint_id}/projects",
        &[("endpoint_id", param("endpoint_id"))],
    ),
    link(
        ext(EP_FILTER, "project_endpoint"),
        "/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}",
        &[
            ("endpoint_id", param("endpoint_id")),
            ("project_id", param("project_id")),
        ],
    ),
    link(
        ext(EP_FILTER, "project_endpoints"),
        "/OS-EP-FILTER/projects/{project_id}/endpoints",
        &[("project_id", param("project_id"))],
    ),
    link(
        ext(EP_FILTER, "project_endpoint_groups"),
        "/OS-EP-FILTER/projects/{project_id}/endpoint_groups",
        &[("project_id", param("project_id"))],
    ),
    link(
        ext(EP_FILTER, "endpoints_in_endpoint_group"),
        "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints",
        &[(
            "endpoint_group_id",
            ext_param(EP_FILTER, "endpoint_group_id"),
        )],
    ),
    link(
        ext(EP_FILTER, "projects_associated_with_endpoint_group"),
        "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects",
        &[(
            "endpoint_group_id",
            ext_param(EP_FILTER, "endpoint_group_id"),
        )],
    ),
    link(
        ext(EP_FILTER, "endpoint_group_to_project_association"),
        "/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}",
        &[
            ("project_id", param("project_id")),
            (
                "endpoint_group_id",
                ext_param(EP_FILTER, "endpoint_group_id"),
            ),
        ],
    ),
    // OS-FEDERATION
    link(
        ext(FEDERATION, "metadata"),
        "/OS-FEDERATION/saml2/metadata",
        &[],
    ),
    link(
        ext(FEDERATION, "identity_provider_protocol_auth"),
        "/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth",
        &[
            ("idp_id", ext_param(FEDERATION, "idp_id")),
            ("protocol_id", ext_param(FEDERATION, "protocol_id")),
        ],
    ),
    link(
        ext(FEDERATION, "identity_providers"),
        "/OS-FEDERATION/identity_providers",
        &[],
    ),
    link(
        ext(FEDERATION, "identity_provider"),
        "/OS-FEDERATION/identity_providers/{idp_id}",
        &[("idp_id", ext_param(FEDERATION, "idp_id"))],
    ),
    link(
        ext(FEDERATION, "identity_provider_protocol"),
        "/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}",
        &[
            ("idp_id", ext_param(FEDERATION, "idp_id")),
            ("protocol_id", ext_param(FEDERATION, "protocol_id")),
        ],
    ),
    link(
        ext(FEDERATION, "identity_provider_protocols"),
        "/OS-FEDERATION/identity_providers/{idp_id}/protocols",
        &[("idp_id", ext_param(FEDERATION, "idp_id"))],
    ),
    link(ext(FEDERATION, "mappings"), "/OS-FEDERATION/mappings", &[]),
    link(
        ext(FEDERATION, "mapping"),
        "/OS-FEDERATION/mappings/{mapping_id}",
        &[("mapping_id", ext_param(FEDERATION, "mapping_id"))],
    ),
    link(
        ext(FEDERATION, "service_providers"),
        "/OS-FEDERATION/service_providers",
        &[],
    ),
    link(
        ext(FEDERATION, "service_provider"),
        "/OS-FEDERATION/service_providers/{service_provider_id}",
        &[(
            "service_provider_id",
            ext_param(FEDERATION, "service_provider_id"),
        )],
    ),
    // OS-INHERIT
    link(
        ext(INHERIT, "domain_group_role_inherited_to_projects"),
        "/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
        &[
            ("domain_id", param("domain_id")),
            ("group_id", param("group_id")),
            ("role_id", param("role_id")),
        ],
    ),
    link(
        ext(INHERIT, "domain_group_roles_inherited_to_projects"),
        "/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects",
        &[
            ("domain_id", param("domain_id")),
            ("group_id", param("group_id")),
        ],
    ),
    link(
        ext(INHERIT, "domain_user_role_inherited_to_projects"),
        "/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects",
        &[
            ("domain_id", param("domain_id")),
            ("user_id", param("user_id")),
            ("role_id", param("role_id")),
        ],
    ),
    link(
        ext(INHERIT, "domain_user_roles_inherited_to_projects"),
        "/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects",
        &[
            ("domain_id", param("domain_id")),
            ("user_id", param("user_id")),
        ],
    ),
    link(
        ext(INHERIT, "project_user_role_inherited_to_projects"),
        "/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects",
        &[
            ("project_id", param("project_id")),
            ("user_id", param("user_id")),
            ("role_id", param("role_id")),
        ],
    ),
    link(
        ext(INHERIT, "project_group_role_inherited_to_projects"),
        "/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects",
        &[
            ("project_id", param("project_id")),
            ("group_id", param("group_id")),
            ("role_id", param("role_id")),
        ],
    ),
    // OS-OAUTH1
    link(ext(OAUTH1, "consumers"), "/OS-OAUTH1/consumers", &[]),
    link(
        ext(OAUTH1, "consumer"),
        "/OS-OAUTH1/consumers/{consumer_id}",
        &[("consumer_id", ext_param(OAUTH1, "consumer_id"))],
    ),
    link(
        ext(OAUTH1, "request_tokens"),
        "/OS-OAUTH1/request_token",
        &[],
    ),
    link(ext(OAUTH1, "access_tokens"), "/OS-OAUTH1/access_token", &[]),
    link(
        ext(OAUTH1, "authorize_request_token"),
        "/OS-OAUTH1/authorize/{request_token_id}",
        &[("request_token_id", ext_param(OAUTH1, "request_token_id"))],
    ),
    // OS-OAUTH2
    link(ext(OAUTH2, "token"), "/OS-OAUTH2/token", &[]),
    // OS-REVOKE
    link(ext(REVOKE, "events"), "/OS-REVOKE/events", &[]),
    // OS-SIMPLE-CERT
    link(
        ext(SIMPLE_CERT, "ca_certificate"),
        "/OS-SIMPLE-CERT/ca",
        &[],
    ),
    link(
        ext(SIMPLE_CERT, "certificates"),
        "/OS-SIMPLE-CERT/certificates",
        &[],
    ),
    // policies
    link(core("policies"), "/policies", &[]),
    link(
        core("policy"),
        "/policies/{policy_id}",
        &[("policy_id", param("policy_id"))],
    ),
    link(
        ext(ENDPOINT_POLICY, "policy_endpoints"),
        "/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints",
        &[("policy_id", param("policy_id"))],
    ),
    link(
        ext(ENDPOINT_POLICY, "endpoint_policy_association"),
        "/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}",
        &[
            ("policy_id", param("policy_id")),
            ("endpoint_id", param("endpoint_id")),
        ],
    ),
    link(
        ext(ENDPOINT_POLICY, "service_policy_association"),
        "/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}",
        &[
            ("policy_id", param("policy_id")),
            ("service_id", param("service_id")),
        ],
    ),
    link(
        ext(ENDPOINT_POLICY, "region_and_service_policy_association"),
        "/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}",
        &[
            ("policy_id", param("policy_id")),
            ("service_id", param("service_id")),
            ("region_id", param("region_id")),
        ],
    ),
    // projects
    link(core("projects"), "/projects", &[]),
    link(
        core("project"),
        "/projects/{project_id}",
        &[("project_id", param("project_id"))],
    ),
    link(
        core("project_tags"),
        "/projects/{project_id}/tags/{value}",
        &[
            ("project_id", param("project_id")),
            ("value", param("tag_value")),
        ],
    ),
    link(
        core("project_user_role"),
        "/projects/{project_id}/users/{user_id}/roles/{role_id}",
        &[
            ("project_id", param("project_id")),
            ("user_id", param("user_id")),
            ("role_id", param("role_id")),
        ],
    ),
    link(
        core("project_user_roles"),
        "/projects/{project_id}/users/{user_id}/roles",
        &[
            ("project_id", param("project_id")),
            ("user_id", param("user_id")),
        ],
    ),
    link(
        core("project_group_role"),
        "/projects/{project_id}/groups/{group_id}/roles/{role_id}",
        &[
            ("project_id", param("project_id")),
            ("group_id", param("group_id")),
            ("role_id", param("role_id")),
        ],
    ),
    link(
        core("project_group_roles"),
        "/projects/{project_id}/groups/{group_id}/roles",
        &[
            ("project_id", param("project_id")),
            ("group_id", param("group_id")),
        ],
    ),
    // regions
    link(core("regions"), "/regions", &[]),
    link(
        core("region"),
        "/regions/{region_id}",
        &[("region_id", param("region_id"))],
    ),
    // registered_limits
    link(core("registered_limits"), "/registered_limits", &[]).experimental(),
    link(
        core("registered_limit"),
        "/registered_limits/{registered_limit_id}",
        &[("registered_limit_id", param("registered_limit_id"))],
    )
    .experimental(),
    // role_assignments
    link(core("role_assignments"), "/role_assignments", &[]),
    // role_inferences
    link(core("role_inferences"), "/role_inferences", &[]),
    // roles
    link(core("roles"), "/roles", &[]),
    link(
        core("role"),
        "/roles/{role_id}",
        &[("role_id", param("role_id"))],
    ),
    link(
        core("implied_roles"),
        "/roles/{prior_role_id}/implies",
        &[("prior_role_id", param("role_id"))],
    ),
    link(
        core("implied_role"),
        "/roles/{prior_role_id}/implies/{implied_role_id}",
        &[
            ("prior_role_id", param("role_id")),
            ("implied_role_id", param("role_id")),
        ],
    ),
    // s3tokens
    link(ext(S3TOKENS, "s3tokens"), "/s3tokens", &[]),
    // services
    link(core("services"), "/services", &[]),
    link(
        core("service"),
        "/services/{service_id}",
        &[("service_id", param("service_id"))],
    ),
    // system
    link(
        core("system_user_roles"),
        "/system/users/{user_id}/roles",
        &[("user_id", param("user_id"))],
    ),
    link(
        core("system_user_role"),
        "/system/users/{user_id}/roles/{role_id}",
        &[("role_id", param("role_id")), ("user_id", param("user_id"))],
    ),
    link(
        core("system_group_roles"),
        "/system/groups/{group_id}/roles",
        &[("group_id", param("group_id"))],
    ),
    link(
        core("system_group_role"),
        "/system/groups/{group_id}/roles/{role_id}",
        &[
            ("role_id", param("role_id")),
            ("group_id", param("group_id")),
        ],
    ),
    // OS-TRUST
    link(ext(TRUST, "trusts"), "/OS-TRUST/trusts", &[]),
    link(
        ext(TRUST, "trust"),
        "/OS-TRUST/trusts/{trust_id}",
        &[("trust_id", ext_param(TRUST, "trust_id"))],
    ),
    link(
        ext(TRUST, "trust_roles"),
        "/OS-TRUST/trusts/{trust_id}/roles",
        &[("trust_id", ext_param(TRUST, "trust_id"))],
    ),
    link(
        ext(TRUST, "trust_role"),
        "/OS-TRUST/trusts/{trust_id}/roles/{role_id}",
        &[
            ("trust_id", ext_param(TRUST, "trust_id")),
            ("role_id", param("role_id")),
        ],
    ),
    // users
    link(core("users"), "/users", &[]),
    link(
        core("user"),
        "/users/{user_id}",
        &[("user_id", param("user_id"))],
    ),
    link(
        core("user_change_password"),
        "/users/{user_id}/password",
        &[("user_id", param("user_id"))],
    ),
    link(
        core("user_groups"),
        "/users/{user_id}/groups",
        &[("user_id", param("user_id"))],
    ),
    link(
        core("user_projects"),
        "/users/{user_id}/projects",
        &[("user_id", param("user_id"))],
    ),
    link(
        ext(EC2, "user_credentials"),
        "/users/{user_id}/credentials/OS-EC2",
        &[("user_id", param("user_id"))],
    ),
    link(
        ext(EC2, "user_credential"),
        "/users/{user_id}/credentials/OS-EC2/{credential_id}",
        &[
            ("credential_id", param("credential_id")),
            ("user_id", param("user_id")),
        ],
    ),
    link(
        ext(OAUTH1, "user_access_tokens"),
        "/users/{user_id}/OS-OAUTH1/access_tokens",
        &[("user_id", param("user_id"))],
    ),
    link(
        ext(OAUTH1, "user_access_token"),
        "/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}",
        &[
            ("access_token_id", ext_param(OAUTH1, "access_token_id")),
            ("user_id", param("user_id")),
        ],
    ),
    link(
        ext(OAUTH1, "user_access_token_roles"),
        "/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}/roles",
        &[
            ("access_token_id", ext_param(OAUTH1, "access_token_id")),
            ("user_id", param("user_id")),
        ],
    ),
    link(
        ext(OAUTH1, "user_access_token_role"),
        "/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}/roles/{role_id}",
        &[
            ("access_token_id", ext_param(OAUTH1, "access_token_id")),
            ("role_id", param("role_id")),
            ("user_id", param("user_id")),
        ],
    ),
    link(
        core("application_credentials"),
        "/users/{user_id}/application_credentials",
        &[("user_id", param("user_id"))],
    ),
    link(
        core("application_credential"),
        "/users/{user_id}/application_credentials/{application_credential_id}",
        &[
            ("user_id", param("user_id")),
            (
                "application_credential_id",
                param("application_credential_id"),
            ),
        ],
    ),
    link(
        core("access_rules"),
        "/users/{user_id}/access_rules",
        &[("user_id", param("user_id"))],
    ),
    link(
        core("access_rule"),
        "/users/{user_id}/access_rules/{access_rule_id}",
        &[
            ("user_id", param("user_id")),
            ("access_rule_id", param("access_rule_id")),
        ],
    ),
    // In 30.0.0; later Keystone drops it.
    link(
        core("user_tokens"),
        "/users/{user_id}/tokens",
        &[("user_id", param("user_id"))],
    ),
];
