DROP INDEX ksrs_ix_assignment_target_id ON assignment;
