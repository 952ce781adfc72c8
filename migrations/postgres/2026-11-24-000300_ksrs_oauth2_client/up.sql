-- keystone-rs only (Keystone has no such table): how an application credential, acting as an
-- OAuth 2.0 client, may authenticate with a JWT assertion (RFC 7523). `jwt_secret` is the
-- credential's secret, kept so client_secret_jwt HMACs can be checked (Keystone itself keeps
-- only a hash of it; like its OAuth1 consumer secrets, an HMAC key must be readable);
-- `public_key` is the PEM public key for private_key_jwt, `public_key_alg` RS256 or ES256.
-- Times are microseconds since the epoch (UTC).
CREATE TABLE ksrs_oauth2_client (
	application_credential_id VARCHAR(64) NOT NULL,
	jwt_secret VARCHAR(255),
	public_key TEXT,
	public_key_alg VARCHAR(16),
	created_at BIGINT NOT NULL,
	PRIMARY KEY (application_credential_id)
);
