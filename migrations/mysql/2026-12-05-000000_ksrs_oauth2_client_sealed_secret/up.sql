-- keystone-rs only: the client_secret_jwt secret is sealed with the credential key
-- repository (as Keystone seals credential blobs); `jwt_secret_key_hash` is the SHA-1 of
-- the key that sealed it. NULL marks a secret stored before sealing (still plaintext):
-- `keystone-rs manage credential_migrate` seals those. A sealed secret outgrows 255.
ALTER TABLE ksrs_oauth2_client MODIFY jwt_secret TEXT NULL;
ALTER TABLE ksrs_oauth2_client ADD COLUMN jwt_secret_key_hash VARCHAR(64);
