-- keystone-rs only: see the SQLite migration of the same name. InnoDB already indexes the
-- foreign-key columns (password.local_user_id, project.parent_id, federated_user.user_id);
-- what it lacks is `assignment.target_id`, which has no foreign key: a project's
-- assignments for any actor are otherwise a scan of every assignment.
CREATE INDEX ksrs_ix_assignment_target_id ON assignment (target_id);
