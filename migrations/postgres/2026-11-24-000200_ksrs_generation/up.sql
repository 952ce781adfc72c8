-- keystone-rs only (Keystone has no such table): a counter every keystone-rs write
-- transaction increments before it commits. Nodes sharing the database poll it (with the
-- revocation_event high-water mark) to drop their validation caches within
-- [validation_cache] sync_interval_ms of a write made by another node.
CREATE TABLE ksrs_generation (
    id INTEGER NOT NULL,
    generation BIGINT NOT NULL,
    CONSTRAINT ksrs_generation_pkey PRIMARY KEY (id)
);
INSERT INTO ksrs_generation (id, generation) VALUES (1, 0);
