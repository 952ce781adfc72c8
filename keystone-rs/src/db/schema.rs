//! diesel table definitions for Keystone's tables (shared/spec/schema.md), column for column
//! as `keystone-manage db_sync` creates them, plus the keystone-rs-only `ksrs_replay`.
//!
//! Only SQL types that every backend of `AnyConnection` supports are used: Text, Integer,
//! BigInt, Bool, Timestamp/Date (chrono) and Nullable of those, plus the two ENUM types. Encodings to keep in mind
//! (schema.md §0):
//! - `extra` columns are TEXT holding a JSON object (Keystone writes `{}`, never NULL);
//!   `option_value`, `role_ids`, `filters`, `rules`, `blob`, `value` are JSON in TEXT too.
//! - BigInt `*_int` columns and `application_credential.expires_at` are microseconds since the
//!   epoch (Keystone's DateTimeInt); `password.created_at_int = 0` means unset.
//! - Timestamp columns are naive UTC. MySQL's DATETIME keeps whole seconds only.
//! - `request_token.expires_at` / `access_token.expires_at` are ISO strings, not timestamps.
//! - `assignment.type` and `id_mapping.entity_type` are ENUMs on MySQL and PostgreSQL
//!   (PostgreSQL type names `type` and `entity_type`); they have their own SQL types and Rust
//!   enums in [`crate::db::enums`], because PostgreSQL will not take text for them.
//! - Sentinels: `project.domain_id = '<<keystone.domain.root>>'` for domains,
//!   `role.domain_id = '<<null>>'` for global roles.
//! - Autoincrement keys (`local_user.id`, `password.id`, `federated_user.id`,
//!   `application_credential.internal_id`, `access_rule.id`, `revocation_event.id`,
//!   `registered_limit.internal_id`, `limit.internal_id`): insert without them and read the
//!   new value with [`crate::db::last_insert_id`] (no RETURNING on MySQL).

// ---- identity -------------------------------------------------------------------------

diesel::table! {
    user (id) {
        id -> Text,
        extra -> Nullable<Text>,
        enabled -> Nullable<Bool>,
        default_project_id -> Nullable<Text>,
        created_at -> Nullable<Timestamp>,
        last_active_at -> Nullable<Date>,
        domain_id -> Text,
    }
}

diesel::table! {
    local_user (id) {
        id -> Integer,
        user_id -> Text,
        domain_id -> Text,
        name -> Text,
        failed_auth_count -> Nullable<Integer>,
        failed_auth_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    password (id) {
        id -> Integer,
        local_user_id -> Integer,
        expires_at -> Nullable<Timestamp>,
        self_service -> Bool,
        password_hash -> Nullable<Text>,
        created_at_int -> BigInt,
        expires_at_int -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    nonlocal_user (domain_id, name) {
        domain_id -> Text,
        name -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    user_option (user_id, option_id) {
        user_id -> Text,
        option_id -> Text,
        option_value -> Nullable<Text>,
    }
}

diesel::table! {
    group (id) {
        id -> Text,
        domain_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        extra -> Nullable<Text>,
    }
}

diesel::table! {
    user_group_membership (user_id, group_id) {
        user_id -> Text,
        group_id -> Text,
    }
}

diesel::table! {
    expiring_user_group_membership (user_id, group_id, idp_id) {
        user_id -> Text,
        group_id -> Text,
        idp_id -> Text,
        last_verified -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::enums::sql_types::EntityType;

    /// Public ids for users and groups of non-SQL identity drivers.
    id_mapping (public_id) {
        public_id -> Text,
        domain_id -> Text,
        local_id -> Text,
        /// ENUM 'user' | 'group' on MySQL/PostgreSQL: read and write it as
        /// `crate::db::enums::EntityType`.
        entity_type -> EntityType,
    }
}

// ---- federation -----------------------------------------------------------------------

diesel::table! {
    identity_provider (id) {
        id -> Text,
        enabled -> Bool,
        description -> Nullable<Text>,
        domain_id -> Text,
        authorization_ttl -> Nullable<Integer>,
    }
}

diesel::table! {
    idp_remote_ids (remote_id) {
        idp_id -> Nullable<Text>,
        remote_id -> Text,
    }
}

diesel::table! {
    mapping (id) {
        id -> Text,
        /// A JSON string whose content is the JSON rules list (double-encoded).
        rules -> Text,
        schema_version -> Text,
    }
}

diesel::table! {
    federation_protocol (id, idp_id) {
        id -> Text,
        idp_id -> Text,
        mapping_id -> Text,
        remote_id_attribute -> Nullable<Text>,
    }
}

diesel::table! {
    federated_user (id) {
        id -> Integer,
        user_id -> Text,
        idp_id -> Text,
        protocol_id -> Text,
        unique_id -> Text,
        display_name -> Nullable<Text>,
    }
}

diesel::table! {
    service_provider (id) {
        auth_url -> Text,
        id -> Text,
        enabled -> Bool,
        description -> Nullable<Text>,
        sp_url -> Text,
        relay_state_prefix -> Text,
    }
}

// ---- resource -------------------------------------------------------------------------

diesel::table! {
    /// Projects and domains (`is_domain`), under the hidden root row.
    project (id) {
        id -> Text,
        name -> Text,
        extra -> Nullable<Text>,
        description -> Nullable<Text>,
        enabled -> Nullable<Bool>,
        domain_id -> Text,
        parent_id -> Nullable<Text>,
        is_domain -> Bool,
    }
}

diesel::table! {
    project_option (project_id, option_id) {
        project_id -> Text,
        option_id -> Text,
        option_value -> Nullable<Text>,
    }
}

diesel::table! {
    project_tag (project_id, name) {
        project_id -> Text,
        name -> Text,
    }
}

diesel::table! {
    config_register (type_) {
        #[sql_name = "type"]
        type_ -> Text,
        domain_id -> Text,
    }
}

diesel::table! {
    whitelisted_config (domain_id, group, option) {
        domain_id -> Text,
        group -> Text,
        option -> Text,
        value -> Text,
    }
}

diesel::table! {
    sensitive_config (domain_id, group, option) {
        domain_id -> Text,
        group -> Text,
        option -> Text,
        value -> Text,
    }
}

// ---- assignment -----------------------------------------------------------------------

diesel::table! {
    role (id) {
        id -> Text,
        name -> Text,
        extra -> Nullable<Text>,
        domain_id -> Text,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    role_option (role_id, option_id) {
        role_id -> Text,
        option_id -> Text,
        option_value -> Nullable<Text>,
    }
}

diesel::table! {
    implied_role (prior_role_id, implied_role_id) {
        prior_role_id -> Text,
        implied_role_id -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::enums::sql_types::AssignmentType;

    assignment (type_, actor_id, target_id, role_id, inherited) {
        /// ENUM 'UserProject' | 'GroupProject' | 'UserDomain' | 'GroupDomain' on
        /// MySQL/PostgreSQL: read and write it as `crate::db::enums::AssignmentType`.
        #[sql_name = "type"]
        type_ -> AssignmentType,
        actor_id -> Text,
        target_id -> Text,
        role_id -> Text,
        inherited -> Bool,
    }
}

diesel::table! {
    system_assignment (type_, actor_id, target_id, role_id, inherited) {
        /// 'UserSystem' | 'GroupSystem'
        #[sql_name = "type"]
        type_ -> Text,
        actor_id -> Text,
        /// Always 'system'.
        target_id -> Text,
        role_id -> Text,
        inherited -> Bool,
    }
}

// ---- catalog --------------------------------------------------------------------------

diesel::table! {
    service (id) {
        id -> Text,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        enabled -> Bool,
        extra -> Nullable<Text>,
    }
}

diesel::table! {
    region (id) {
        id -> Text,
        description -> Text,
        parent_region_id -> Nullable<Text>,
        extra -> Nullable<Text>,
    }
}

diesel::table! {
    endpoint (id) {
        id -> Text,
        legacy_endpoint_id -> Nullable<Text>,
        interface -> Text,
        service_id -> Text,
        url -> Text,
        extra -> Nullable<Text>,
        enabled -> Bool,
        region_id -> Nullable<Text>,
    }
}

diesel::table! {
    endpoint_group (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        filters -> Text,
    }
}

diesel::table! {
    project_endpoint (endpoint_id, project_id) {
        endpoint_id -> Text,
        project_id -> Text,
    }
}

diesel::table! {
    project_endpoint_group (endpoint_group_id, project_id) {
        endpoint_group_id -> Text,
        project_id -> Text,
    }
}

diesel::table! {
    policy (id) {
        id -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        blob -> Text,
        extra -> Nullable<Text>,
    }
}

diesel::table! {
    policy_association (id) {
        id -> Text,
        policy_id -> Text,
        endpoint_id -> Nullable<Text>,
        service_id -> Nullable<Text>,
        region_id -> Nullable<Text>,
    }
}

// ---- application credentials ----------------------------------------------------------

diesel::table! {
    application_credential (internal_id) {
        internal_id -> Integer,
        id -> Text,
        name -> Text,
        secret_hash -> Text,
        description -> Nullable<Text>,
        user_id -> Text,
        project_id -> Nullable<Text>,
        /// Microseconds since the epoch (DateTimeInt).
        expires_at -> Nullable<BigInt>,
        system -> Nullable<Text>,
        unrestricted -> Nullable<Bool>,
    }
}

diesel::table! {
    application_credential_role (application_credential_id, role_id) {
        /// `application_credential.internal_id`, not the public id.
        application_credential_id -> Integer,
        role_id -> Text,
    }
}

diesel::table! {
    access_rule (id) {
        id -> Integer,
        service -> Nullable<Text>,
        path -> Nullable<Text>,
        method -> Nullable<Text>,
        /// The public rule id.
        external_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
    }
}

diesel::table! {
    application_credential_access_rule (application_credential_id, access_rule_id) {
        application_credential_id -> Integer,
        /// `access_rule.id` (the surrogate), not `external_id`.
        access_rule_id -> Integer,
    }
}

// ---- OAuth1 ---------------------------------------------------------------------------

diesel::table! {
    consumer (id) {
        id -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        extra -> Text,
    }
}

diesel::table! {
    request_token (id) {
        id -> Text,
        request_secret -> Text,
        verifier -> Nullable<Text>,
        authorizing_user_id -> Nullable<Text>,
        requested_project_id -> Text,
        role_ids -> Nullable<Text>,
        consumer_id -> Text,
        /// ISO string `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
        expires_at -> Nullable<Text>,
    }
}

diesel::table! {
    access_token (id) {
        id -> Text,
        access_secret -> Text,
        authorizing_user_id -> Text,
        project_id -> Text,
        role_ids -> Text,
        consumer_id -> Text,
        /// ISO string `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
        expires_at -> Nullable<Text>,
    }
}

// ---- tokens, credentials, trusts, limits ----------------------------------------------

diesel::table! {
    revocation_event (id) {
        id -> Integer,
        domain_id -> Nullable<Text>,
        project_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        role_id -> Nullable<Text>,
        trust_id -> Nullable<Text>,
        consumer_id -> Nullable<Text>,
        access_token_id -> Nullable<Text>,
        issued_before -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Timestamp,
        audit_id -> Nullable<Text>,
        audit_chain_id -> Nullable<Text>,
    }
}

diesel::table! {
    credential (id) {
        id -> Text,
        user_id -> Text,
        project_id -> Nullable<Text>,
        #[sql_name = "type"]
        type_ -> Text,
        extra -> Nullable<Text>,
        key_hash -> Text,
        encrypted_blob -> Text,
    }
}

diesel::table! {
    trust (id) {
        id -> Text,
        trustor_user_id -> Text,
        trustee_user_id -> Text,
        project_id -> Nullable<Text>,
        impersonation -> Bool,
        deleted_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        remaining_uses -> Nullable<Integer>,
        extra -> Nullable<Text>,
        expires_at_int -> Nullable<BigInt>,
        redelegated_trust_id -> Nullable<Text>,
        redelegation_count -> Nullable<Integer>,
    }
}

diesel::table! {
    trust_role (trust_id, role_id) {
        trust_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    registered_limit (internal_id) {
        id -> Text,
        service_id -> Nullable<Text>,
        region_id -> Nullable<Text>,
        resource_name -> Nullable<Text>,
        default_limit -> Integer,
        description -> Nullable<Text>,
        internal_id -> Integer,
    }
}

diesel::table! {
    limit (internal_id) {
        id -> Text,
        project_id -> Nullable<Text>,
        resource_limit -> Integer,
        description -> Nullable<Text>,
        internal_id -> Integer,
        registered_limit_id -> Nullable<Text>,
        domain_id -> Nullable<Text>,
    }
}

diesel::table! {
    /// Keystone's legacy persistent-token table; unused with Fernet tokens.
    token (id) {
        id -> Text,
        expires -> Nullable<Timestamp>,
        extra -> Nullable<Text>,
        valid -> Bool,
        trust_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
    }
}

// ---- keystone-rs only -----------------------------------------------------------------

diesel::table! {
    /// One-time values (OAuth1 nonces, OAuth2 `jti`s) seen while still valid; the primary
    /// key turns a replay into a unique violation.
    ksrs_replay (kind, value) {
        /// 'oauth1_nonce' | 'oauth2_jti'
        kind -> Text,
        value -> Text,
        /// Microseconds since the epoch, UTC.
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// OAuth 2.0 JWT client authentication registered on an application credential.
    ksrs_oauth2_client (application_credential_id) {
        application_credential_id -> Text,
        /// Sealed with the credential keys (Fernet, padded); plaintext when
        /// `jwt_secret_key_hash` is NULL (stored before sealing).
        jwt_secret -> Nullable<Text>,
        public_key -> Nullable<Text>,
        public_key_alg -> Nullable<Text>,
        /// Microseconds since the epoch, UTC.
        created_at -> BigInt,
        jwt_secret_key_hash -> Nullable<Text>,
    }
}

diesel::table! {
    /// The RFC 8705 thumbprint of each certificate a token was bound to, by Keystone's.
    ksrs_oauth2_certificate (thumbprint) {
        thumbprint -> Text,
        x5t_s256 -> Text,
        /// Microseconds since the epoch, UTC.
        created_at -> BigInt,
    }
}

// Joins along Keystone's single-column foreign keys.
diesel::joinable!(local_user -> user (user_id));
diesel::joinable!(password -> local_user (local_user_id));
diesel::joinable!(nonlocal_user -> user (user_id));
diesel::joinable!(user_option -> user (user_id));
diesel::joinable!(user_group_membership -> user (user_id));
diesel::joinable!(user_group_membership -> group (group_id));
diesel::joinable!(expiring_user_group_membership -> user (user_id));
diesel::joinable!(expiring_user_group_membership -> group (group_id));
diesel::joinable!(expiring_user_group_membership -> identity_provider (idp_id));
diesel::joinable!(federated_user -> user (user_id));
diesel::joinable!(federated_user -> identity_provider (idp_id));
diesel::joinable!(federation_protocol -> identity_provider (idp_id));
diesel::joinable!(project_option -> project (project_id));
diesel::joinable!(project_tag -> project (project_id));
diesel::joinable!(role_option -> role (role_id));
diesel::joinable!(assignment -> role (role_id));
diesel::joinable!(system_assignment -> role (role_id));
diesel::joinable!(endpoint -> service (service_id));
diesel::joinable!(endpoint -> region (region_id));
diesel::joinable!(project_endpoint_group -> endpoint_group (endpoint_group_id));
diesel::joinable!(application_credential_role -> application_credential (application_credential_id));
diesel::joinable!(application_credential_access_rule -> application_credential (application_credential_id));
diesel::joinable!(application_credential_access_rule -> access_rule (access_rule_id));
diesel::joinable!(request_token -> consumer (consumer_id));
diesel::joinable!(access_token -> consumer (consumer_id));
diesel::joinable!(trust_role -> trust (trust_id));

diesel::allow_tables_to_appear_in_same_query!(
    user,
    local_user,
    password,
    nonlocal_user,
    user_option,
    group,
    user_group_membership,
    expiring_user_group_membership,
    id_mapping,
    identity_provider,
    idp_remote_ids,
    mapping,
    federation_protocol,
    federated_user,
    service_provider,
    project,
    project_option,
    project_tag,
    config_register,
    whitelisted_config,
    sensitive_config,
    role,
    role_option,
    implied_role,
    assignment,
    system_assignment,
    service,
    region,
    endpoint,
    endpoint_group,
    project_endpoint,
    project_endpoint_group,
    policy,
    policy_association,
    application_credential,
    application_credential_role,
    access_rule,
    application_credential_access_rule,
    consumer,
    request_token,
    access_token,
    revocation_event,
    credential,
    trust,
    trust_role,
    registered_limit,
    limit,
    token,
    ksrs_replay,
    ksrs_oauth2_client,
    ksrs_oauth2_certificate,
);
