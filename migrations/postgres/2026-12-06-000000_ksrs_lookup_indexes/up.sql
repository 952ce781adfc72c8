-- keystone-rs only: indexes for lookups Keystone's schema leaves to a full scan on SQLite and
-- PostgreSQL (MySQL's InnoDB indexes every foreign key by itself; Keystone declares these
-- columns as foreign keys and relies on that). Every user read loads the user's passwords
-- by `local_user_id`; walking down the project tree reads `parent_id`; a federated user is
-- found by `user_id`; assignments of a project, for any actor, by `target_id`. At 10,000
-- users the password scan alone cost every token validation of an uncached user a scan of
-- 10,000 rows. Named ksrs_* so no Keystone migration can collide with them; Python Keystone
-- sharing the database neither notices nor minds them.
CREATE INDEX ksrs_ix_password_local_user_id ON password (local_user_id);
CREATE INDEX ksrs_ix_project_parent_id ON project (parent_id);
CREATE INDEX ksrs_ix_federated_user_user_id ON federated_user (user_id);
CREATE INDEX ksrs_ix_assignment_target_id ON assignment (target_id);
