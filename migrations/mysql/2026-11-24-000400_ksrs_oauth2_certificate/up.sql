-- keystone-rs only (Keystone has no such table): the RFC 8705 thumbprint of each client
-- certificate a token was bound to. Bound tokens carry Keystone's thumbprint (base64url of
-- SHA-256 over the PEM text, padded; fixed by the Fernet payload), from which the DER
-- thumbprint RFC 7662 introspection must answer as `cnf.x5t#S256` cannot be derived.
-- Both are case-sensitive base64url. Times are microseconds since the epoch (UTC).
CREATE TABLE IF NOT EXISTS `ksrs_oauth2_certificate` (
  `thumbprint` VARCHAR(64) CHARACTER SET utf8 COLLATE utf8_bin NOT NULL,
  `x5t_s256` VARCHAR(64) CHARACTER SET utf8 COLLATE utf8_bin NOT NULL,
  `created_at` BIGINT NOT NULL,
  PRIMARY KEY (`thumbprint`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
