-- keystone-rs only (Keystone has no such table): one-time values that must not be accepted
-- twice while they are still valid — OAuth1 nonces (kind 'oauth1_nonce') and OAuth2 JWT ids
-- (kind 'oauth2_jti'). The primary key makes the second insert of a value fail, which is the
-- replay check even across several keystone-rs nodes. expires_at is microseconds since the
-- epoch (UTC), like Keystone's DateTimeInt columns; expired rows may be pruned.
CREATE TABLE ksrs_replay (
    kind VARCHAR(16) NOT NULL,
    value VARCHAR(255) NOT NULL,
    expires_at BIGINT NOT NULL,
    CONSTRAINT ksrs_replay_pkey PRIMARY KEY (kind, value)
);
CREATE INDEX ix_ksrs_replay_expires_at ON ksrs_replay (expires_at);
