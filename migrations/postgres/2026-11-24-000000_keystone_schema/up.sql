-- Keystone's own schema as `keystone-manage db_sync` leaves it on PostgreSQL, at alembic heads
-- 742c857f1dfb (expand) and c88cdce8f248 (contract): same columns, types, defaults and the
-- constraint and index names PostgreSQL gave them there (tests/db.rs compares the catalogs).
-- Keystone-built databases never run this file: keystone-rs recognises them by
-- `alembic_version` and only records it as applied.
--
-- Left out on purpose: the four plpgsql functions Keystone's initial migration still creates
-- (keystone_read_only_update, keystone_read_only_insert, update_federated_user_domain_id,
-- update_user_domain_id). No trigger uses them; they are leftovers of retired data migrations.

CREATE TYPE "type" AS ENUM ('UserProject', 'GroupProject', 'UserDomain', 'GroupDomain');
CREATE TYPE entity_type AS ENUM ('user', 'group');

CREATE TABLE "user" (
    id VARCHAR(64) NOT NULL,
    extra TEXT,
    enabled BOOLEAN,
    default_project_id VARCHAR(64),
    created_at TIMESTAMP WITHOUT TIME ZONE,
    last_active_at DATE,
    domain_id VARCHAR(64) NOT NULL,
    CONSTRAINT user_pkey PRIMARY KEY (id),
    CONSTRAINT ixu_user_id_domain_id UNIQUE (id, domain_id)
);
CREATE INDEX ix_default_project_id ON "user" (default_project_id);

CREATE TABLE local_user (
    id SERIAL NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    failed_auth_count INTEGER,
    failed_auth_at TIMESTAMP WITHOUT TIME ZONE,
    CONSTRAINT local_user_pkey PRIMARY KEY (id),
    CONSTRAINT local_user_domain_id_name_key UNIQUE (domain_id, name),
    CONSTRAINT local_user_user_id_key UNIQUE (user_id),
    CONSTRAINT local_user_user_id_fkey FOREIGN KEY (user_id, domain_id) REFERENCES "user"(id, domain_id) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE password (
    id SERIAL NOT NULL,
    local_user_id INTEGER NOT NULL,
    expires_at TIMESTAMP WITHOUT TIME ZONE,
    self_service BOOLEAN DEFAULT false NOT NULL,
    password_hash VARCHAR(255),
    created_at_int BIGINT DEFAULT '0' NOT NULL,
    expires_at_int BIGINT,
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    CONSTRAINT password_pkey PRIMARY KEY (id),
    CONSTRAINT password_local_user_id_fkey FOREIGN KEY (local_user_id) REFERENCES local_user(id) ON DELETE CASCADE
);

CREATE TABLE nonlocal_user (
    domain_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    CONSTRAINT nonlocal_user_pkey PRIMARY KEY (domain_id, name),
    CONSTRAINT ixu_nonlocal_user_user_id UNIQUE (user_id),
    CONSTRAINT nonlocal_user_user_id_fkey FOREIGN KEY (user_id, domain_id) REFERENCES "user"(id, domain_id) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE user_option (
    user_id VARCHAR(64) NOT NULL,
    option_id VARCHAR(4) NOT NULL,
    option_value TEXT,
    CONSTRAINT user_option_pkey PRIMARY KEY (user_id, option_id),
    CONSTRAINT user_option_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user"(id) ON DELETE CASCADE
);

CREATE TABLE "group" (
    id VARCHAR(64) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    name VARCHAR(64) NOT NULL,
    description TEXT,
    extra TEXT,
    CONSTRAINT group_pkey PRIMARY KEY (id),
    CONSTRAINT ixu_group_name_domain_id UNIQUE (domain_id, name)
);

CREATE TABLE user_group_membership (
    user_id VARCHAR(64) NOT NULL,
    group_id VARCHAR(64) NOT NULL,
    CONSTRAINT user_group_membership_pkey PRIMARY KEY (user_id, group_id),
    CONSTRAINT fk_user_group_membership_group_id FOREIGN KEY (group_id) REFERENCES "group"(id),
    CONSTRAINT fk_user_group_membership_user_id FOREIGN KEY (user_id) REFERENCES "user"(id)
);
CREATE INDEX group_id ON user_group_membership (group_id);

CREATE TABLE identity_provider (
    id VARCHAR(64) NOT NULL,
    enabled BOOLEAN NOT NULL,
    description TEXT,
    domain_id VARCHAR(64) NOT NULL,
    authorization_ttl INTEGER,
    CONSTRAINT identity_provider_pkey PRIMARY KEY (id)
);

CREATE TABLE idp_remote_ids (
    idp_id VARCHAR(64),
    remote_id VARCHAR(255) NOT NULL,
    CONSTRAINT idp_remote_ids_pkey PRIMARY KEY (remote_id),
    CONSTRAINT idp_remote_ids_idp_id_fkey FOREIGN KEY (idp_id) REFERENCES identity_provider(id) ON DELETE CASCADE
);

CREATE TABLE mapping (
    id VARCHAR(64) NOT NULL,
    rules TEXT NOT NULL,
    schema_version VARCHAR(5) DEFAULT '1.0' NOT NULL,
    CONSTRAINT mapping_pkey PRIMARY KEY (id)
);

CREATE TABLE federation_protocol (
    id VARCHAR(64) NOT NULL,
    idp_id VARCHAR(64) NOT NULL,
    mapping_id VARCHAR(64) NOT NULL,
    remote_id_attribute VARCHAR(64),
    CONSTRAINT federation_protocol_pkey PRIMARY KEY (id, idp_id),
    CONSTRAINT federation_protocol_idp_id_fkey FOREIGN KEY (idp_id) REFERENCES identity_provider(id) ON DELETE CASCADE
);

CREATE TABLE federated_user (
    id SERIAL NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    idp_id VARCHAR(64) NOT NULL,
    protocol_id VARCHAR(64) NOT NULL,
    unique_id VARCHAR(255) NOT NULL,
    display_name VARCHAR(255),
    CONSTRAINT federated_user_pkey PRIMARY KEY (id),
    CONSTRAINT federated_user_idp_id_protocol_id_unique_id_key UNIQUE (idp_id, protocol_id, unique_id),
    CONSTRAINT federated_user_idp_id_fkey FOREIGN KEY (idp_id) REFERENCES identity_provider(id) ON DELETE CASCADE,
    CONSTRAINT federated_user_protocol_id_fkey FOREIGN KEY (protocol_id, idp_id) REFERENCES federation_protocol(id, idp_id) ON DELETE CASCADE,
    CONSTRAINT federated_user_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user"(id) ON DELETE CASCADE
);

CREATE TABLE expiring_user_group_membership (
    user_id VARCHAR(64) NOT NULL,
    group_id VARCHAR(64) NOT NULL,
    idp_id VARCHAR(64) NOT NULL,
    last_verified TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    CONSTRAINT expiring_user_group_membership_pkey PRIMARY KEY (user_id, group_id, idp_id),
    CONSTRAINT expiring_user_group_membership_group_id_fkey FOREIGN KEY (group_id) REFERENCES "group"(id),
    CONSTRAINT expiring_user_group_membership_idp_id_fkey FOREIGN KEY (idp_id) REFERENCES identity_provider(id) ON DELETE CASCADE,
    CONSTRAINT expiring_user_group_membership_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user"(id)
);

CREATE TABLE id_mapping (
    public_id VARCHAR(64) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    local_id VARCHAR(255) NOT NULL,
    entity_type entity_type NOT NULL,
    CONSTRAINT id_mapping_pkey PRIMARY KEY (public_id),
    CONSTRAINT domain_id UNIQUE (domain_id, local_id, entity_type)
);

CREATE TABLE project (
    id VARCHAR(64) NOT NULL,
    name VARCHAR(64) NOT NULL,
    extra TEXT,
    description TEXT,
    enabled BOOLEAN,
    domain_id VARCHAR(64) NOT NULL,
    parent_id VARCHAR(64),
    is_domain BOOLEAN DEFAULT false NOT NULL,
    CONSTRAINT project_pkey PRIMARY KEY (id),
    CONSTRAINT ixu_project_name_domain_id UNIQUE (domain_id, name),
    CONSTRAINT project_domain_id_fkey FOREIGN KEY (domain_id) REFERENCES project(id),
    CONSTRAINT project_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES project(id)
);

CREATE TABLE project_option (
    project_id VARCHAR(64) NOT NULL,
    option_id VARCHAR(4) NOT NULL,
    option_value TEXT,
    CONSTRAINT project_option_pkey PRIMARY KEY (project_id, option_id),
    CONSTRAINT project_option_project_id_fkey FOREIGN KEY (project_id) REFERENCES project(id) ON DELETE CASCADE
);

CREATE TABLE project_tag (
    project_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    CONSTRAINT project_tag_pkey PRIMARY KEY (project_id, name),
    CONSTRAINT project_tag_project_id_fkey FOREIGN KEY (project_id) REFERENCES project(id) ON DELETE CASCADE
);

CREATE TABLE project_endpoint (
    endpoint_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    CONSTRAINT project_endpoint_pkey PRIMARY KEY (endpoint_id, project_id)
);

CREATE TABLE role (
    id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    extra TEXT,
    domain_id VARCHAR(64) DEFAULT '<<null>>' NOT NULL,
    description VARCHAR(255),
    CONSTRAINT role_pkey PRIMARY KEY (id),
    CONSTRAINT ixu_role_name_domain_id UNIQUE (name, domain_id)
);

CREATE TABLE role_option (
    role_id VARCHAR(64) NOT NULL,
    option_id VARCHAR(4) NOT NULL,
    option_value TEXT,
    CONSTRAINT role_option_pkey PRIMARY KEY (role_id, option_id),
    CONSTRAINT role_option_role_id_fkey FOREIGN KEY (role_id) REFERENCES role(id) ON DELETE CASCADE
);

CREATE TABLE implied_role (
    prior_role_id VARCHAR(64) NOT NULL,
    implied_role_id VARCHAR(64) NOT NULL,
    CONSTRAINT implied_role_pkey PRIMARY KEY (prior_role_id, implied_role_id),
    CONSTRAINT implied_role_implied_role_id_fkey FOREIGN KEY (implied_role_id) REFERENCES role(id) ON DELETE CASCADE,
    CONSTRAINT implied_role_prior_role_id_fkey FOREIGN KEY (prior_role_id) REFERENCES role(id) ON DELETE CASCADE
);

CREATE TABLE assignment (
    type "type" NOT NULL,
    actor_id VARCHAR(64) NOT NULL,
    target_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    inherited BOOLEAN NOT NULL,
    CONSTRAINT assignment_pkey PRIMARY KEY (type, actor_id, target_id, role_id, inherited)
);
CREATE INDEX ix_actor_id ON assignment (actor_id);

CREATE TABLE system_assignment (
    type VARCHAR(64) NOT NULL,
    actor_id VARCHAR(64) NOT NULL,
    target_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    inherited BOOLEAN NOT NULL,
    CONSTRAINT system_assignment_pkey PRIMARY KEY (type, actor_id, target_id, role_id, inherited)
);

CREATE TABLE service (
    id VARCHAR(64) NOT NULL,
    type VARCHAR(255),
    enabled BOOLEAN DEFAULT true NOT NULL,
    extra TEXT,
    CONSTRAINT service_pkey PRIMARY KEY (id)
);

CREATE TABLE region (
    id VARCHAR(255) NOT NULL,
    description VARCHAR(255) NOT NULL,
    parent_region_id VARCHAR(255),
    extra TEXT,
    CONSTRAINT region_pkey PRIMARY KEY (id)
);

CREATE TABLE endpoint (
    id VARCHAR(64) NOT NULL,
    legacy_endpoint_id VARCHAR(64),
    interface VARCHAR(8) NOT NULL,
    service_id VARCHAR(64) NOT NULL,
    url TEXT NOT NULL,
    extra TEXT,
    enabled BOOLEAN DEFAULT true NOT NULL,
    region_id VARCHAR(255),
    CONSTRAINT endpoint_pkey PRIMARY KEY (id),
    CONSTRAINT endpoint_service_id_fkey FOREIGN KEY (service_id) REFERENCES service(id),
    CONSTRAINT fk_endpoint_region_id FOREIGN KEY (region_id) REFERENCES region(id)
);
CREATE INDEX service_id ON endpoint (service_id);

CREATE TABLE endpoint_group (
    id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    filters TEXT NOT NULL,
    CONSTRAINT endpoint_group_pkey PRIMARY KEY (id)
);

CREATE TABLE project_endpoint_group (
    endpoint_group_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    CONSTRAINT project_endpoint_group_pkey PRIMARY KEY (endpoint_group_id, project_id),
    CONSTRAINT project_endpoint_group_endpoint_group_id_fkey FOREIGN KEY (endpoint_group_id) REFERENCES endpoint_group(id)
);
CREATE INDEX idx_project_id ON project_endpoint_group (project_id);

CREATE TABLE policy (
    id VARCHAR(64) NOT NULL,
    type VARCHAR(255) NOT NULL,
    blob TEXT NOT NULL,
    extra TEXT,
    CONSTRAINT policy_pkey PRIMARY KEY (id)
);

CREATE TABLE policy_association (
    id VARCHAR(64) NOT NULL,
    policy_id VARCHAR(64) NOT NULL,
    endpoint_id VARCHAR(64),
    service_id VARCHAR(64),
    region_id VARCHAR(64),
    CONSTRAINT policy_association_pkey PRIMARY KEY (id),
    CONSTRAINT policy_association_endpoint_id_service_id_region_id_key UNIQUE (endpoint_id, service_id, region_id)
);

CREATE TABLE application_credential (
    internal_id SERIAL NOT NULL,
    id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    secret_hash VARCHAR(255) NOT NULL,
    description TEXT,
    user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    expires_at BIGINT,
    system VARCHAR(64),
    unrestricted BOOLEAN,
    CONSTRAINT application_credential_pkey PRIMARY KEY (internal_id),
    CONSTRAINT duplicate_app_cred_constraint UNIQUE (user_id, name)
);

CREATE TABLE application_credential_role (
    application_credential_id INTEGER NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    CONSTRAINT application_credential_role_pkey PRIMARY KEY (application_credential_id, role_id),
    CONSTRAINT application_credential_role_application_credential_id_fkey FOREIGN KEY (application_credential_id) REFERENCES application_credential(internal_id) ON DELETE CASCADE
);

CREATE TABLE access_rule (
    id SERIAL NOT NULL,
    service VARCHAR(64),
    path VARCHAR(128),
    method VARCHAR(16),
    external_id VARCHAR(64),
    user_id VARCHAR(64),
    CONSTRAINT access_rule_pkey PRIMARY KEY (id),
    CONSTRAINT duplicate_access_rule_for_user_constraint UNIQUE (user_id, service, path, method)
);
CREATE INDEX external_id ON access_rule (external_id);
CREATE INDEX user_id ON access_rule (user_id);

CREATE TABLE application_credential_access_rule (
    application_credential_id INTEGER NOT NULL,
    access_rule_id INTEGER NOT NULL,
    CONSTRAINT application_credential_access_rule_pkey PRIMARY KEY (application_credential_id, access_rule_id),
    CONSTRAINT application_credential_access_ru_application_credential_id_fkey FOREIGN KEY (application_credential_id) REFERENCES application_credential(internal_id) ON DELETE CASCADE,
    CONSTRAINT application_credential_access_rule_access_rule_id_fkey FOREIGN KEY (access_rule_id) REFERENCES access_rule(id) ON DELETE CASCADE
);

CREATE TABLE consumer (
    id VARCHAR(64) NOT NULL,
    description VARCHAR(64),
    secret VARCHAR(64) NOT NULL,
    extra TEXT NOT NULL,
    CONSTRAINT consumer_pkey PRIMARY KEY (id)
);

CREATE TABLE request_token (
    id VARCHAR(64) NOT NULL,
    request_secret VARCHAR(64) NOT NULL,
    verifier VARCHAR(64),
    authorizing_user_id VARCHAR(64),
    requested_project_id VARCHAR(64) NOT NULL,
    role_ids TEXT,
    consumer_id VARCHAR(64) NOT NULL,
    expires_at VARCHAR(64),
    CONSTRAINT request_token_pkey PRIMARY KEY (id),
    CONSTRAINT request_token_consumer_id_fkey FOREIGN KEY (consumer_id) REFERENCES consumer(id)
);
CREATE INDEX ix_request_token_consumer_id ON request_token (consumer_id);

CREATE TABLE access_token (
    id VARCHAR(64) NOT NULL,
    access_secret VARCHAR(64) NOT NULL,
    authorizing_user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64) NOT NULL,
    role_ids TEXT NOT NULL,
    consumer_id VARCHAR(64) NOT NULL,
    expires_at VARCHAR(64),
    CONSTRAINT access_token_pkey PRIMARY KEY (id),
    CONSTRAINT access_token_consumer_id_fkey FOREIGN KEY (consumer_id) REFERENCES consumer(id)
);
CREATE INDEX ix_access_token_authorizing_user_id ON access_token (authorizing_user_id);
CREATE INDEX ix_access_token_consumer_id ON access_token (consumer_id);

CREATE TABLE revocation_event (
    id SERIAL NOT NULL,
    domain_id VARCHAR(64),
    project_id VARCHAR(64),
    user_id VARCHAR(64),
    role_id VARCHAR(64),
    trust_id VARCHAR(64),
    consumer_id VARCHAR(64),
    access_token_id VARCHAR(64),
    issued_before TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITHOUT TIME ZONE,
    revoked_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    audit_id VARCHAR(32),
    audit_chain_id VARCHAR(32),
    CONSTRAINT revocation_event_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_revocation_event_audit_id_issued_before ON revocation_event (audit_id, issued_before);
CREATE INDEX ix_revocation_event_composite ON revocation_event (issued_before, user_id, project_id, audit_id);
CREATE INDEX ix_revocation_event_issued_before ON revocation_event (issued_before);
CREATE INDEX ix_revocation_event_new_revoked_at ON revocation_event (revoked_at);
CREATE INDEX ix_revocation_event_project_id_issued_before ON revocation_event (project_id, issued_before);
CREATE INDEX ix_revocation_event_project_id_user_id ON revocation_event (project_id, user_id);
CREATE INDEX ix_revocation_event_user_id_issued_before ON revocation_event (user_id, issued_before);

CREATE TABLE credential (
    id VARCHAR(64) NOT NULL,
    user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    type VARCHAR(255) NOT NULL,
    extra TEXT,
    key_hash VARCHAR(64) NOT NULL,
    encrypted_blob TEXT NOT NULL,
    CONSTRAINT credential_pkey PRIMARY KEY (id)
);

CREATE TABLE trust (
    id VARCHAR(64) NOT NULL,
    trustor_user_id VARCHAR(64) NOT NULL,
    trustee_user_id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    impersonation BOOLEAN NOT NULL,
    deleted_at TIMESTAMP WITHOUT TIME ZONE,
    expires_at TIMESTAMP WITHOUT TIME ZONE,
    remaining_uses INTEGER,
    extra TEXT,
    expires_at_int BIGINT,
    redelegated_trust_id VARCHAR(64),
    redelegation_count INTEGER,
    CONSTRAINT trust_pkey PRIMARY KEY (id),
    CONSTRAINT duplicate_trust_constraint UNIQUE (trustor_user_id, trustee_user_id, project_id, impersonation, expires_at)
);

CREATE TABLE trust_role (
    trust_id VARCHAR(64) NOT NULL,
    role_id VARCHAR(64) NOT NULL,
    CONSTRAINT trust_role_pkey PRIMARY KEY (trust_id, role_id)
);

CREATE TABLE registered_limit (
    id VARCHAR(64) NOT NULL,
    service_id VARCHAR(255),
    region_id VARCHAR(64),
    resource_name VARCHAR(255),
    default_limit INTEGER NOT NULL,
    description TEXT,
    internal_id SERIAL NOT NULL,
    CONSTRAINT registered_limit_pkey PRIMARY KEY (internal_id),
    CONSTRAINT registered_limit_id_key UNIQUE (id)
);

CREATE TABLE "limit" (
    id VARCHAR(64) NOT NULL,
    project_id VARCHAR(64),
    resource_limit INTEGER NOT NULL,
    description TEXT,
    internal_id SERIAL NOT NULL,
    registered_limit_id VARCHAR(64),
    domain_id VARCHAR(64),
    CONSTRAINT limit_pkey PRIMARY KEY (internal_id),
    CONSTRAINT limit_id_key UNIQUE (id)
);

CREATE TABLE service_provider (
    auth_url VARCHAR(256) NOT NULL,
    id VARCHAR(64) NOT NULL,
    enabled BOOLEAN NOT NULL,
    description TEXT,
    sp_url VARCHAR(256) NOT NULL,
    relay_state_prefix VARCHAR(256) NOT NULL,
    CONSTRAINT service_provider_pkey PRIMARY KEY (id)
);

CREATE TABLE config_register (
    type VARCHAR(64) NOT NULL,
    domain_id VARCHAR(64) NOT NULL,
    CONSTRAINT config_register_pkey PRIMARY KEY (type)
);

CREATE TABLE whitelisted_config (
    domain_id VARCHAR(64) NOT NULL,
    "group" VARCHAR(255) NOT NULL,
    option VARCHAR(255) NOT NULL,
    value TEXT NOT NULL,
    CONSTRAINT whitelisted_config_pkey PRIMARY KEY (domain_id, "group", option)
);

CREATE TABLE sensitive_config (
    domain_id VARCHAR(64) NOT NULL,
    "group" VARCHAR(255) NOT NULL,
    option VARCHAR(255) NOT NULL,
    value TEXT NOT NULL,
    CONSTRAINT sensitive_config_pkey PRIMARY KEY (domain_id, "group", option)
);

CREATE TABLE token (
    id VARCHAR(64) NOT NULL,
    expires TIMESTAMP WITHOUT TIME ZONE,
    extra TEXT,
    valid BOOLEAN NOT NULL,
    trust_id VARCHAR(64),
    user_id VARCHAR(64),
    CONSTRAINT token_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_token_expires ON token (expires);
CREATE INDEX ix_token_expires_valid ON token (expires, valid);
CREATE INDEX ix_token_trust_id ON token (trust_id);
CREATE INDEX ix_token_user_id ON token (user_id);

-- The hidden root that every domain row points at, so project.domain_id can be a foreign key.
INSERT INTO project (id, name, extra, description, enabled, domain_id, parent_id, is_domain)
VALUES ('<<keystone.domain.root>>', '<<keystone.domain.root>>', '{}', '', false,
        '<<keystone.domain.root>>', NULL, true);

-- Stamp the database with Keystone's alembic heads: Python Keystone's db_sync then sees a
-- current schema and can share this database.
CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('742c857f1dfb'), ('c88cdce8f248');
