ALTER TABLE ksrs_oauth2_client DROP COLUMN jwt_secret_key_hash;
