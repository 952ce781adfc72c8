DROP INDEX IF EXISTS ksrs_ix_password_local_user_id;
DROP INDEX IF EXISTS ksrs_ix_project_parent_id;
DROP INDEX IF EXISTS ksrs_ix_federated_user_user_id;
DROP INDEX IF EXISTS ksrs_ix_assignment_target_id;
