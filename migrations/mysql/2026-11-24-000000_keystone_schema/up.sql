-- Keystone's own schema as `keystone-manage db_sync` leaves it on MySQL/MariaDB, at alembic
-- heads 742c857f1dfb (expand) and c88cdce8f248 (contract): the tables as SHOW CREATE TABLE
-- prints them there, index and constraint names included (tests/db.rs compares them).
-- Keystone-built databases never run this file: keystone-rs recognises them by
-- `alembic_version` and only records it as applied.
--
-- MySQL commits every DDL statement on its own, so a failure part-way leaves the tables made
-- so far. Every statement is therefore safe to repeat (IF NOT EXISTS, INSERT IGNORE): fix the
-- cause and run the migration again. Tables come in foreign-key order, and `alembic_version`
-- comes last, so a half-built database is never mistaken for one Keystone built.
-- Strings use single quotes only: our connections run with ANSI_QUOTES.

-- As Keystone's first migration does: tables without an explicit charset inherit utf8.
ALTER DATABASE DEFAULT CHARACTER SET utf8;

CREATE TABLE IF NOT EXISTS `user` (
  `id` VARCHAR(64) NOT NULL,
  `extra` TEXT,
  `enabled` BOOL,
  `default_project_id` VARCHAR(64),
  `created_at` DATETIME,
  `last_active_at` DATE,
  `domain_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ixu_user_id_domain_id` (`id`,`domain_id`),
  KEY `ix_default_project_id` (`default_project_id`),
  KEY `domain_id` (`domain_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `local_user` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `user_id` VARCHAR(64) NOT NULL,
  `domain_id` VARCHAR(64) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `failed_auth_count` INT,
  `failed_auth_at` DATETIME,
  PRIMARY KEY (`id`),
  UNIQUE KEY `domain_id` (`domain_id`,`name`),
  UNIQUE KEY `user_id` (`user_id`),
  KEY `local_user_user_id_fkey` (`user_id`,`domain_id`),
  CONSTRAINT `local_user_user_id_fkey` FOREIGN KEY (`user_id`, `domain_id`) REFERENCES `user` (`id`, `domain_id`) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `password` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `local_user_id` INT NOT NULL,
  `expires_at` DATETIME,
  `self_service` BOOL NOT NULL DEFAULT 0,
  `password_hash` VARCHAR(255),
  `created_at_int` BIGINT NOT NULL DEFAULT 0,
  `expires_at_int` BIGINT,
  `created_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`),
  KEY `local_user_id` (`local_user_id`),
  CONSTRAINT `password_ibfk_1` FOREIGN KEY (`local_user_id`) REFERENCES `local_user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `nonlocal_user` (
  `domain_id` VARCHAR(64) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `user_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`domain_id`,`name`),
  UNIQUE KEY `ixu_nonlocal_user_user_id` (`user_id`),
  KEY `nonlocal_user_user_id_fkey` (`user_id`,`domain_id`),
  CONSTRAINT `nonlocal_user_user_id_fkey` FOREIGN KEY (`user_id`, `domain_id`) REFERENCES `user` (`id`, `domain_id`) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `user_option` (
  `user_id` VARCHAR(64) NOT NULL,
  `option_id` VARCHAR(4) NOT NULL,
  `option_value` TEXT,
  PRIMARY KEY (`user_id`,`option_id`),
  CONSTRAINT `user_option_ibfk_1` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `group` (
  `id` VARCHAR(64) NOT NULL,
  `domain_id` VARCHAR(64) NOT NULL,
  `name` VARCHAR(64) NOT NULL,
  `description` TEXT,
  `extra` TEXT,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ixu_group_name_domain_id` (`domain_id`,`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `user_group_membership` (
  `user_id` VARCHAR(64) NOT NULL,
  `group_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`user_id`,`group_id`),
  KEY `group_id` (`group_id`),
  CONSTRAINT `fk_user_group_membership_group_id` FOREIGN KEY (`group_id`) REFERENCES `group` (`id`),
  CONSTRAINT `fk_user_group_membership_user_id` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `identity_provider` (
  `id` VARCHAR(64) NOT NULL,
  `enabled` BOOL NOT NULL,
  `description` TEXT,
  `domain_id` VARCHAR(64) NOT NULL,
  `authorization_ttl` INT,
  PRIMARY KEY (`id`),
  KEY `domain_id` (`domain_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `idp_remote_ids` (
  `idp_id` VARCHAR(64),
  `remote_id` VARCHAR(255) NOT NULL,
  PRIMARY KEY (`remote_id`),
  KEY `idp_id` (`idp_id`),
  CONSTRAINT `idp_remote_ids_ibfk_1` FOREIGN KEY (`idp_id`) REFERENCES `identity_provider` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `mapping` (
  `id` VARCHAR(64) NOT NULL,
  `rules` TEXT NOT NULL,
  `schema_version` VARCHAR(5) NOT NULL DEFAULT '1.0',
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `federation_protocol` (
  `id` VARCHAR(64) NOT NULL,
  `idp_id` VARCHAR(64) NOT NULL,
  `mapping_id` VARCHAR(64) NOT NULL,
  `remote_id_attribute` VARCHAR(64),
  PRIMARY KEY (`id`,`idp_id`),
  KEY `idp_id` (`idp_id`),
  CONSTRAINT `federation_protocol_ibfk_1` FOREIGN KEY (`idp_id`) REFERENCES `identity_provider` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `federated_user` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `user_id` VARCHAR(64) NOT NULL,
  `idp_id` VARCHAR(64) NOT NULL,
  `protocol_id` VARCHAR(64) NOT NULL,
  `unique_id` VARCHAR(255) NOT NULL,
  `display_name` VARCHAR(255),
  PRIMARY KEY (`id`),
  UNIQUE KEY `idp_id` (`idp_id`,`protocol_id`,`unique_id`),
  KEY `federated_user_protocol_id_fkey` (`protocol_id`,`idp_id`),
  KEY `user_id` (`user_id`),
  CONSTRAINT `federated_user_ibfk_1` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE,
  CONSTRAINT `federated_user_ibfk_2` FOREIGN KEY (`idp_id`) REFERENCES `identity_provider` (`id`) ON DELETE CASCADE,
  CONSTRAINT `federated_user_protocol_id_fkey` FOREIGN KEY (`protocol_id`, `idp_id`) REFERENCES `federation_protocol` (`id`, `idp_id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `expiring_user_group_membership` (
  `user_id` VARCHAR(64) NOT NULL,
  `group_id` VARCHAR(64) NOT NULL,
  `idp_id` VARCHAR(64) NOT NULL,
  `last_verified` DATETIME NOT NULL,
  PRIMARY KEY (`user_id`,`group_id`,`idp_id`),
  KEY `group_id` (`group_id`),
  KEY `idp_id` (`idp_id`),
  CONSTRAINT `expiring_user_group_membership_ibfk_1` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`),
  CONSTRAINT `expiring_user_group_membership_ibfk_2` FOREIGN KEY (`group_id`) REFERENCES `group` (`id`),
  CONSTRAINT `expiring_user_group_membership_ibfk_3` FOREIGN KEY (`idp_id`) REFERENCES `identity_provider` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `id_mapping` (
  `public_id` VARCHAR(64) NOT NULL,
  `domain_id` VARCHAR(64) NOT NULL,
  `local_id` VARCHAR(255) NOT NULL,
  `entity_type` ENUM('user','group') NOT NULL,
  PRIMARY KEY (`public_id`),
  UNIQUE KEY `domain_id` (`domain_id`,`local_id`,`entity_type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `project` (
  `id` VARCHAR(64) NOT NULL,
  `name` VARCHAR(64) NOT NULL,
  `extra` TEXT,
  `description` TEXT,
  `enabled` BOOL,
  `domain_id` VARCHAR(64) NOT NULL,
  `parent_id` VARCHAR(64),
  `is_domain` BOOL NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ixu_project_name_domain_id` (`domain_id`,`name`),
  KEY `project_parent_id_fkey` (`parent_id`),
  CONSTRAINT `project_domain_id_fkey` FOREIGN KEY (`domain_id`) REFERENCES `project` (`id`),
  CONSTRAINT `project_parent_id_fkey` FOREIGN KEY (`parent_id`) REFERENCES `project` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `project_option` (
  `project_id` VARCHAR(64) NOT NULL,
  `option_id` VARCHAR(4) NOT NULL,
  `option_value` TEXT,
  PRIMARY KEY (`project_id`,`option_id`),
  CONSTRAINT `project_option_ibfk_1` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `project_tag` (
  `project_id` VARCHAR(64) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  PRIMARY KEY (`project_id`,`name`),
  CONSTRAINT `project_tag_ibfk_1` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `project_endpoint` (
  `endpoint_id` VARCHAR(64) NOT NULL,
  `project_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`endpoint_id`,`project_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `role` (
  `id` VARCHAR(64) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `extra` TEXT,
  `domain_id` VARCHAR(64) NOT NULL DEFAULT '<<null>>',
  `description` VARCHAR(255),
  PRIMARY KEY (`id`),
  UNIQUE KEY `ixu_role_name_domain_id` (`name`,`domain_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `role_option` (
  `role_id` VARCHAR(64) NOT NULL,
  `option_id` VARCHAR(4) NOT NULL,
  `option_value` TEXT,
  PRIMARY KEY (`role_id`,`option_id`),
  CONSTRAINT `role_option_ibfk_1` FOREIGN KEY (`role_id`) REFERENCES `role` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `implied_role` (
  `prior_role_id` VARCHAR(64) NOT NULL,
  `implied_role_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`prior_role_id`,`implied_role_id`),
  KEY `implied_role_implied_role_id_fkey` (`implied_role_id`),
  CONSTRAINT `implied_role_implied_role_id_fkey` FOREIGN KEY (`implied_role_id`) REFERENCES `role` (`id`) ON DELETE CASCADE,
  CONSTRAINT `implied_role_prior_role_id_fkey` FOREIGN KEY (`prior_role_id`) REFERENCES `role` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `assignment` (
  `type` ENUM('UserProject','GroupProject','UserDomain','GroupDomain') NOT NULL,
  `actor_id` VARCHAR(64) NOT NULL,
  `target_id` VARCHAR(64) NOT NULL,
  `role_id` VARCHAR(64) NOT NULL,
  `inherited` BOOL NOT NULL,
  PRIMARY KEY (`type`,`actor_id`,`target_id`,`role_id`,`inherited`),
  KEY `ix_actor_id` (`actor_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `system_assignment` (
  `type` VARCHAR(64) NOT NULL,
  `actor_id` VARCHAR(64) NOT NULL,
  `target_id` VARCHAR(64) NOT NULL,
  `role_id` VARCHAR(64) NOT NULL,
  `inherited` BOOL NOT NULL,
  PRIMARY KEY (`type`,`actor_id`,`target_id`,`role_id`,`inherited`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `service` (
  `id` VARCHAR(64) NOT NULL,
  `type` VARCHAR(255),
  `enabled` BOOL NOT NULL DEFAULT 1,
  `extra` TEXT,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `region` (
  `id` VARCHAR(255) NOT NULL,
  `description` VARCHAR(255) NOT NULL,
  `parent_region_id` VARCHAR(255),
  `extra` TEXT,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `endpoint` (
  `id` VARCHAR(64) NOT NULL,
  `legacy_endpoint_id` VARCHAR(64),
  `interface` VARCHAR(8) NOT NULL,
  `service_id` VARCHAR(64) NOT NULL,
  `url` TEXT NOT NULL,
  `extra` TEXT,
  `enabled` BOOL NOT NULL DEFAULT 1,
  `region_id` VARCHAR(255),
  PRIMARY KEY (`id`),
  KEY `fk_endpoint_region_id` (`region_id`),
  KEY `service_id` (`service_id`),
  CONSTRAINT `endpoint_service_id_fkey` FOREIGN KEY (`service_id`) REFERENCES `service` (`id`),
  CONSTRAINT `fk_endpoint_region_id` FOREIGN KEY (`region_id`) REFERENCES `region` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `endpoint_group` (
  `id` VARCHAR(64) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `description` TEXT,
  `filters` TEXT NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `project_endpoint_group` (
  `endpoint_group_id` VARCHAR(64) NOT NULL,
  `project_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`endpoint_group_id`,`project_id`),
  KEY `idx_project_id` (`project_id`),
  CONSTRAINT `project_endpoint_group_ibfk_1` FOREIGN KEY (`endpoint_group_id`) REFERENCES `endpoint_group` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `policy` (
  `id` VARCHAR(64) NOT NULL,
  `type` VARCHAR(255) NOT NULL,
  `blob` TEXT NOT NULL,
  `extra` TEXT,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `policy_association` (
  `id` VARCHAR(64) NOT NULL,
  `policy_id` VARCHAR(64) NOT NULL,
  `endpoint_id` VARCHAR(64),
  `service_id` VARCHAR(64),
  `region_id` VARCHAR(64),
  PRIMARY KEY (`id`),
  UNIQUE KEY `endpoint_id` (`endpoint_id`,`service_id`,`region_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `application_credential` (
  `internal_id` INT NOT NULL AUTO_INCREMENT,
  `id` VARCHAR(64) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `secret_hash` VARCHAR(255) NOT NULL,
  `description` TEXT,
  `user_id` VARCHAR(64) NOT NULL,
  `project_id` VARCHAR(64),
  `expires_at` BIGINT,
  `system` VARCHAR(64),
  `unrestricted` BOOL,
  PRIMARY KEY (`internal_id`),
  UNIQUE KEY `duplicate_app_cred_constraint` (`user_id`,`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `application_credential_role` (
  `application_credential_id` INT NOT NULL,
  `role_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`application_credential_id`,`role_id`),
  CONSTRAINT `application_credential_role_ibfk_1` FOREIGN KEY (`application_credential_id`) REFERENCES `application_credential` (`internal_id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `access_rule` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `service` VARCHAR(64),
  `path` VARCHAR(128),
  `method` VARCHAR(16),
  `external_id` VARCHAR(64),
  `user_id` VARCHAR(64),
  PRIMARY KEY (`id`),
  UNIQUE KEY `duplicate_access_rule_for_user_constraint` (`user_id`,`service`,`path`,`method`),
  KEY `user_id` (`user_id`),
  KEY `external_id` (`external_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `application_credential_access_rule` (
  `application_credential_id` INT NOT NULL,
  `access_rule_id` INT NOT NULL,
  PRIMARY KEY (`application_credential_id`,`access_rule_id`),
  KEY `access_rule_id` (`access_rule_id`),
  CONSTRAINT `application_credential_access_rule_ibfk_1` FOREIGN KEY (`application_credential_id`) REFERENCES `application_credential` (`internal_id`) ON DELETE CASCADE,
  CONSTRAINT `application_credential_access_rule_ibfk_2` FOREIGN KEY (`access_rule_id`) REFERENCES `access_rule` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `consumer` (
  `id` VARCHAR(64) NOT NULL,
  `description` VARCHAR(64),
  `secret` VARCHAR(64) NOT NULL,
  `extra` TEXT NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `request_token` (
  `id` VARCHAR(64) NOT NULL,
  `request_secret` VARCHAR(64) NOT NULL,
  `verifier` VARCHAR(64),
  `authorizing_user_id` VARCHAR(64),
  `requested_project_id` VARCHAR(64) NOT NULL,
  `role_ids` TEXT,
  `consumer_id` VARCHAR(64) NOT NULL,
  `expires_at` VARCHAR(64),
  PRIMARY KEY (`id`),
  KEY `ix_request_token_consumer_id` (`consumer_id`),
  CONSTRAINT `request_token_ibfk_1` FOREIGN KEY (`consumer_id`) REFERENCES `consumer` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `access_token` (
  `id` VARCHAR(64) NOT NULL,
  `access_secret` VARCHAR(64) NOT NULL,
  `authorizing_user_id` VARCHAR(64) NOT NULL,
  `project_id` VARCHAR(64) NOT NULL,
  `role_ids` TEXT NOT NULL,
  `consumer_id` VARCHAR(64) NOT NULL,
  `expires_at` VARCHAR(64),
  PRIMARY KEY (`id`),
  KEY `ix_access_token_authorizing_user_id` (`authorizing_user_id`),
  KEY `ix_access_token_consumer_id` (`consumer_id`),
  CONSTRAINT `access_token_ibfk_1` FOREIGN KEY (`consumer_id`) REFERENCES `consumer` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `revocation_event` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `domain_id` VARCHAR(64),
  `project_id` VARCHAR(64),
  `user_id` VARCHAR(64),
  `role_id` VARCHAR(64),
  `trust_id` VARCHAR(64),
  `consumer_id` VARCHAR(64),
  `access_token_id` VARCHAR(64),
  `issued_before` DATETIME NOT NULL,
  `expires_at` DATETIME,
  `revoked_at` DATETIME NOT NULL,
  `audit_id` VARCHAR(32),
  `audit_chain_id` VARCHAR(32),
  PRIMARY KEY (`id`),
  KEY `ix_revocation_event_new_revoked_at` (`revoked_at`),
  KEY `ix_revocation_event_project_id_issued_before` (`project_id`,`issued_before`),
  KEY `ix_revocation_event_issued_before` (`issued_before`),
  KEY `ix_revocation_event_user_id_issued_before` (`user_id`,`issued_before`),
  KEY `ix_revocation_event_audit_id_issued_before` (`audit_id`,`issued_before`),
  KEY `ix_revocation_event_project_id_user_id` (`project_id`,`user_id`),
  KEY `ix_revocation_event_composite` (`issued_before`,`user_id`,`project_id`,`audit_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `credential` (
  `id` VARCHAR(64) NOT NULL,
  `user_id` VARCHAR(64) NOT NULL,
  `project_id` VARCHAR(64),
  `type` VARCHAR(255) NOT NULL,
  `extra` TEXT,
  `key_hash` VARCHAR(64) NOT NULL,
  `encrypted_blob` TEXT NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `trust` (
  `id` VARCHAR(64) NOT NULL,
  `trustor_user_id` VARCHAR(64) NOT NULL,
  `trustee_user_id` VARCHAR(64) NOT NULL,
  `project_id` VARCHAR(64),
  `impersonation` BOOL NOT NULL,
  `deleted_at` DATETIME,
  `expires_at` DATETIME,
  `remaining_uses` INT,
  `extra` TEXT,
  `expires_at_int` BIGINT,
  `redelegated_trust_id` VARCHAR(64),
  `redelegation_count` INT,
  PRIMARY KEY (`id`),
  UNIQUE KEY `duplicate_trust_constraint` (`trustor_user_id`,`trustee_user_id`,`project_id`,`impersonation`,`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `trust_role` (
  `trust_id` VARCHAR(64) NOT NULL,
  `role_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`trust_id`,`role_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `registered_limit` (
  `id` VARCHAR(64) NOT NULL,
  `service_id` VARCHAR(255),
  `region_id` VARCHAR(64),
  `resource_name` VARCHAR(255),
  `default_limit` INT NOT NULL,
  `description` TEXT,
  `internal_id` INT NOT NULL AUTO_INCREMENT,
  PRIMARY KEY (`internal_id`),
  UNIQUE KEY `registered_limit_id_key` (`id`),
  KEY `region_id` (`region_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `limit` (
  `id` VARCHAR(64) NOT NULL,
  `project_id` VARCHAR(64),
  `resource_limit` INT NOT NULL,
  `description` TEXT,
  `internal_id` INT NOT NULL AUTO_INCREMENT,
  `registered_limit_id` VARCHAR(64),
  `domain_id` VARCHAR(64),
  PRIMARY KEY (`internal_id`),
  UNIQUE KEY `limit_id_key` (`id`),
  KEY `registered_limit_id` (`registered_limit_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `service_provider` (
  `auth_url` VARCHAR(256) NOT NULL,
  `id` VARCHAR(64) NOT NULL,
  `enabled` BOOL NOT NULL,
  `description` TEXT,
  `sp_url` VARCHAR(256) NOT NULL,
  `relay_state_prefix` VARCHAR(256) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `config_register` (
  `type` VARCHAR(64) NOT NULL,
  `domain_id` VARCHAR(64) NOT NULL,
  PRIMARY KEY (`type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `whitelisted_config` (
  `domain_id` VARCHAR(64) NOT NULL,
  `group` VARCHAR(255) NOT NULL,
  `option` VARCHAR(255) NOT NULL,
  `value` TEXT NOT NULL,
  PRIMARY KEY (`domain_id`,`group`,`option`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `sensitive_config` (
  `domain_id` VARCHAR(64) NOT NULL,
  `group` VARCHAR(255) NOT NULL,
  `option` VARCHAR(255) NOT NULL,
  `value` TEXT NOT NULL,
  PRIMARY KEY (`domain_id`,`group`,`option`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

CREATE TABLE IF NOT EXISTS `token` (
  `id` VARCHAR(64) NOT NULL,
  `expires` DATETIME,
  `extra` TEXT,
  `valid` BOOL NOT NULL,
  `trust_id` VARCHAR(64),
  `user_id` VARCHAR(64),
  PRIMARY KEY (`id`),
  KEY `ix_token_user_id` (`user_id`),
  KEY `ix_token_expires` (`expires`),
  KEY `ix_token_trust_id` (`trust_id`),
  KEY `ix_token_expires_valid` (`expires`,`valid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

-- The hidden root that every domain row points at, so project.domain_id can be a foreign key.
INSERT IGNORE INTO `project` (`id`, `name`, `extra`, `description`, `enabled`, `domain_id`, `parent_id`, `is_domain`)
VALUES ('<<keystone.domain.root>>', '<<keystone.domain.root>>', '{}', '', 0,
        '<<keystone.domain.root>>', NULL, 1);

-- Stamp the database with Keystone's alembic heads: Python Keystone's db_sync then sees a
-- current schema and can share this database. Keystone's own copy of this table predates its
-- utf8 switch and so has the server's default charset (utf8mb4 on current servers).
CREATE TABLE IF NOT EXISTS `alembic_version` (
  `version_num` VARCHAR(32) NOT NULL,
  PRIMARY KEY (`version_num`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT IGNORE INTO `alembic_version` (`version_num`) VALUES ('742c857f1dfb'), ('c88cdce8f248');
