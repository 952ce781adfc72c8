//! keystone.conf: Keystone's sections and option names, for the options we honour.
//! Unknown options are ignored (debug log); a malformed value stops start-up naming the
//! file, section and option, as oslo.config does.

use ini::Ini;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    pub default: DefaultSection,
    pub database: DatabaseSection,
    pub token: TokenSection,
    pub fernet_tokens: FernetTokensSection,
    pub fernet_receipts: FernetTokensSection,
    pub receipt: ReceiptSection,
    pub totp: TotpSection,
    pub jwt_tokens: JwtTokensSection,
    pub credential: CredentialSection,
    pub identity: IdentitySection,
    pub auth: AuthSection,
    pub oslo_policy: OsloPolicySection,
    pub oslo_middleware: OsloMiddlewareSection,
    pub oauth1: OAuth1Section,
    pub oauth2: OAuth2Section,
    pub resource: ResourceSection,
    pub security_compliance: SecurityComplianceSection,
    pub validation_cache: ValidationCacheSection,
    pub healthcheck: HealthcheckSection,
    pub metrics: MetricsSection,
    pub rate_limit: RateLimitSection,
    pub ssl: SslSection,
    pub unified_limit: UnifiedLimitSection,
    pub federation: FederationSection,
    /// Every section/option as read, for subsystems added later (and for tests).
    pub raw: BTreeMap<String, BTreeMap<String, String>>,
    /// The file this came from, if any (relative paths in it are taken as they are).
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct DefaultSection {
    pub public_endpoint: Option<String>,
    pub insecure_debug: bool,
    pub list_limit: Option<usize>,
    pub max_param_size: usize,
    pub max_token_size: usize,
    pub debug: bool,
}

#[derive(Debug, Clone)]
pub struct DatabaseSection {
    pub connection: String,
    pub max_pool_size: u32,
}

#[derive(Debug, Clone)]
pub struct TokenSection {
    pub expiration: i64,
    pub allow_expired_window: i64,
    pub allow_rescope_scoped_token: bool,
    pub cache_on_issue: bool,
    pub revoke_by_id: bool,
    /// `fernet` (Keystone's default) or `jws`.
    pub provider: TokenProvider,
}

/// `[token] provider`: the token format this deployment issues and validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProvider {
    Fernet,
    Jws,
}

/// Keystone's `SUPPORTED_JWS_ALGORITHMS` (keystone/conf/jwt_tokens.py).
pub const SUPPORTED_JWS_ALGORITHMS: [&str; 4] = ["ES256", "ES384", "ES512", "EdDSA"];

/// `[jwt_tokens]`: the JWS provider's key repositories and algorithms.
#[derive(Debug, Clone)]
pub struct JwtTokensSection {
    /// One of [`SUPPORTED_JWS_ALGORITHMS`].
    pub jws_algorithm: String,
    /// Each one of [`SUPPORTED_JWS_ALGORITHMS`].
    pub jws_accepted_algorithms: Vec<String>,
    pub jws_private_key_repository: PathBuf,
    pub jws_public_key_repository: PathBuf,
}

#[derive(Debug, Clone)]
pub struct FernetTokensSection {
    pub key_repository: PathBuf,
    pub max_active_keys: u32,
}

/// `[receipt]`: MFA auth receipts (receipt/). Keystone's caching options are read and
/// bounded as oslo.config bounds them; a receipt is validated by decrypting it, so there is
/// nothing worth caching and they change nothing else.
#[derive(Debug, Clone)]
pub struct ReceiptSection {
    /// Seconds a receipt stays valid (0..=86400).
    pub expiration: i64,
    pub caching: bool,
    pub cache_time: i64,
    pub cache_on_issue: bool,
}

/// `[totp]`: how many 30-second windows before the current one a passcode may come from.
#[derive(Debug, Clone)]
pub struct TotpSection {
    /// 0..=10, as Keystone bounds it.
    pub included_previous_windows: u32,
}

/// `[credential]`: the key repository credentials are encrypted with, how long a signed
/// EC2/S3 request stays valid, and the per-user limit.
#[derive(Debug, Clone)]
pub struct CredentialSection {
    pub key_repository: PathBuf,
    /// Minutes.
    pub auth_ttl: i64,
    /// Negative: unlimited.
    pub user_limit: i64,
}

#[derive(Debug, Clone)]
pub struct IdentitySection {
    pub default_domain_id: String,
    pub password_hash_algorithm: String,
    pub password_hash_rounds: Option<u32>,
    pub max_password_length: usize,
    pub list_limit: Option<usize>,
    /// scrypt and pbkdf2_sha512 salt length in bytes; unset (or 0) means 16.
    pub salt_bytesize: Option<usize>,
    /// scrypt `r`; unset (or 0) means 8.
    pub scrypt_block_size: Option<u32>,
    /// scrypt `p`; unset (or 0) means 1.
    pub scrypt_parallelism: Option<u32>,
    /// `[DEFAULT] strict_password_check`: Keystone consults it only when a password is
    /// longer than the limit, so it travels with the other password options.
    pub strict_password_check: bool,
    /// Domain-specific identity configuration is read at all (Keystone's default: off).
    pub domain_specific_drivers_enabled: bool,
    /// Domain-specific configuration comes from the database (the `/config` API) rather
    /// than from `keystone.<domain name>.conf` files.
    pub domain_configurations_from_database: bool,
    /// Where `keystone.<domain name>.conf` files live (`manage domain_config_upload` too).
    pub domain_config_dir: PathBuf,
}

/// `[unified_limit]`: the enforcement model the limit API validates against.
#[derive(Debug, Clone)]
pub struct UnifiedLimitSection {
    /// `flat` or `strict_two_level`.
    pub enforcement_model: String,
}

#[derive(Debug, Clone)]
pub struct AuthSection {
    pub methods: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct OsloPolicySection {
    pub policy_file: PathBuf,
    pub policy_dirs: Vec<PathBuf>,
    pub enforce_scope: bool,
    pub enforce_new_defaults: bool,
}

#[derive(Debug, Clone)]
pub struct OsloMiddlewareSection {
    pub max_request_body_size: usize,
    /// Honour `Forwarded` / `X-Forwarded-Host` / `X-Forwarded-Prefix` from a proxy.
    pub enable_proxy_headers_parsing: bool,
}

#[derive(Debug, Clone)]
pub struct OAuth1Section {
    pub request_token_duration: i64,
    pub access_token_duration: i64,
}

#[derive(Debug, Clone)]
pub struct OAuth2Section {
    /// `oauth2_authn_methods`: the client authentication methods the OAuth2 endpoints
    /// accept. Keystone knows `tls_client_auth` and `client_secret_basic` (under which it also
    /// takes a secret sent in the form); keystone-rs adds `client_secret_post`,
    /// `client_secret_jwt` and `private_key_jwt`, all enabled by default.
    pub authn_methods: Vec<String>,
    /// `oauth2_cert_dn_mapping_id`: the federation mapping `tls_client_auth` runs on the
    /// client certificate's subject and issuer names.
    pub cert_dn_mapping_id: String,
}

/// `[ssl]`: TLS served by keystone-rs itself (the option names of Keystone's former
/// `[eventlet_server_ssl]`); see tls.rs. TLS is on when `certfile` is set.
#[derive(Debug, Clone, Default)]
pub struct SslSection {
    /// PEM server certificate chain.
    pub certfile: Option<PathBuf>,
    /// PEM private key (default: `certfile`, for a combined file).
    pub keyfile: Option<PathBuf>,
    /// PEM CA certificates that issue client certificates; without it none is asked for.
    pub ca_certs: Option<PathBuf>,
    /// Refuse connections without a client certificate (default: optional).
    pub cert_required: bool,
}

#[derive(Debug, Clone)]
pub struct ResourceSection {
    pub list_limit: Option<usize>,
}

/// `[rate_limit]`: keystone-rs's own section (Keystone has no such limit); see ratelimit.rs.
#[derive(Debug, Clone, Default)]
pub struct RateLimitSection {
    /// Token/OAuth1 issue requests a source may make per minute (its burst as well); unset
    /// or 0 turns the limit off.
    pub issue_requests_per_minute: Option<u32>,
    /// Peers whose `X-Forwarded-For` is believed: addresses or CIDR networks.
    pub trusted_proxies: Vec<Network>,
}

/// `[federation]`: how federated logins through a trusted front end are read.
#[derive(Debug, Clone, Default)]
pub struct FederationSection {
    /// Keystone's option: only request attributes whose names start with this prefix form
    /// the assertion (compared without regard to ASCII case: they arrive as HTTP headers;
    /// a prefix starting `HTTP_` names them as the WSGI environ does, compared exactly).
    pub assertion_prefix: String,
    /// Keystone's option: the attribute naming the identity provider, checked against its
    /// `remote_ids` (a protocol's own `remote_id_attribute` comes first).
    pub remote_id_attribute: Option<String>,
    /// keystone-rs's own option: the peers (addresses or CIDR networks) whose headers are
    /// believed as an assertion — the Apache/mod_shib/mod_auth_openidc front ends. Keystone
    /// reads the WSGI environ, which only its Apache can set; keystone-rs is reached over
    /// HTTP, so headers from anyone else are ignored. Empty: no header-based login.
    pub trusted_proxies: Vec<Network>,
    /// Keystone's `trusted_dashboard` (repeatable): the dashboards a WebSSO login may
    /// return its token to.
    pub trusted_dashboard: Vec<String>,
    /// Keystone's `sso_callback_template`: the page that posts the token to the
    /// dashboard. Unset: Keystone's default file when it exists, else the same page built in.
    pub sso_callback_template: Option<PathBuf>,
    /// Keystone's `[saml] idp_metadata_path`: the identity-provider metadata
    /// `GET /v3/OS-FEDERATION/saml2/metadata` serves (keystone-rs makes none itself).
    pub saml_idp_metadata_path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct SecurityComplianceSection {
    pub lockout_failure_attempts: Option<u32>,
    pub lockout_duration: i64,
    pub disable_user_account_days_inactive: Option<u32>,
    pub password_expires_days: Option<u32>,
    pub change_password_upon_first_use: bool,
    pub password_regex: Option<PasswordRegex>,
    /// Shown to the user when a password does not match (Keystone prints `None` if unset).
    pub password_regex_description: Option<String>,
}

/// `[security_compliance] password_regex`, compiled once.
#[derive(Debug, Clone)]
pub struct PasswordRegex {
    pub pattern: String,
    /// Anchored at the start only, as Python's `re.match`. `None` when the pattern does
    /// not compile: Keystone starts anyway and refuses every new password with a
    /// configuration error, so we do too. fancy-regex, because Python's syntax (and the
    /// usual password rules) need look-ahead, which the `regex` crate lacks.
    pub compiled: Option<fancy_regex::Regex>,
}

impl PasswordRegex {
    fn new(pattern: String) -> Self {
        let compiled = fancy_regex::Regex::new(&format!("\\A(?:{pattern})"))
            .map_err(|e| {
                tracing::error!(error = %e, "Unable to validate password due to invalid regular expression - password_regex: {pattern}");
            })
            .ok();
        PasswordRegex { pattern, compiled }
    }
}

/// keystone-rs's caches of what token validation reads (README, "Caching").
#[derive(Debug, Clone)]
pub struct ValidationCacheSection {
    pub enabled: bool,
    /// How often a node looks at the shared change marker: the bound on how long a write
    /// (or revocation) made by another node can go unnoticed here.
    pub sync_interval_ms: u64,
    /// The longest an entry is used, whatever the marker says (Keystone's
    /// `[cache] expiration_time`): bounds staleness for writes no marker records.
    pub expiration_time: u64,
    /// Entries per cache of users, projects, roles, catalogs…: an eighth of them make room
    /// when it is full.
    pub max_entries: usize,
    /// Whole validated tokens kept (with their rendered bodies, a few KiB each).
    pub max_tokens: usize,
}

/// oslo.middleware's healthcheck options (Keystone reads them from `[healthcheck]`).
#[derive(Debug, Clone)]
pub struct HealthcheckSection {
    pub detailed: bool,
    pub backends: Vec<String>,
    pub disable_by_file_path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct MetricsSection {
    /// Serve `GET /metrics` (unauthenticated, like `/healthcheck`).
    pub enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}: {reason}")]
    Read { file: String, reason: String },
    #[error("{file}: [{section}] {option}: {reason}")]
    Value {
        file: String,
        section: String,
        option: String,
        reason: String,
    },
}

/// Where the embedded default keeps its state.
pub const DEFAULT_STATE_DIR: &str = "var";

impl Default for Config {
    fn default() -> Self {
        Config::from_sections(BTreeMap::new(), None).expect("defaults are valid")
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Config::parse(&text, Some(path))
    }

    /// Several files read in order, a later one's options winning (oslo.config's
    /// `--config-file a --config-file b` and `--config-dir`). Relative paths inside are
    /// taken from the last file.
    pub fn load_files(paths: &[PathBuf]) -> Result<Config, ConfigError> {
        let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                file: path.display().to_string(),
                reason: e.to_string(),
            })?;
            for (name, options) in Config::sections(&text, Some(path))? {
                sections.entry(name).or_default().extend(options);
            }
        }
        Config::from_sections(sections, paths.last().map(PathBuf::as_path))
    }

    /// The `*.conf` files of a `--config-dir`, sorted (oslo.config's parse order).
    pub fn files_in_dir(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ConfigError::Read {
            file: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
            .collect();
        files.sort();
        Ok(files)
    }

    pub fn parse(text: &str, path: Option<&Path>) -> Result<Config, ConfigError> {
        Config::from_sections(Config::sections(text, path)?, path)
    }

    fn sections(
        text: &str,
        path: Option<&Path>,
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, ConfigError> {
        let file = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "<config>".into());
        let ini = Ini::load_from_str_opt(
            text,
            ini::ParseOption {
                enabled_quote: false,
                enabled_escape: false,
                ..Default::default()
            },
        )
        .map_err(|e| ConfigError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (section, props) in ini.iter() {
            // oslo.config: options outside any section belong to DEFAULT.
            let name = section.unwrap_or("DEFAULT").to_string();
            let entry = sections.entry(name.clone()).or_default();
            for (k, v) in props.iter() {
                let (k, v) = (k.trim(), v.trim());
                // oslo.config's MultiStrOpt: each occurrence is one more value.
                match entry.get_mut(k) {
                    Some(values) if MULTI_VALUED.contains(&(name.as_str(), k)) => {
                        values.push(MULTI_SEPARATOR);
                        values.push_str(v);
                    }
                    _ => {
                        entry.insert(k.to_string(), v.to_string());
                    }
                }
            }
        }
        Ok(sections)
    }

    fn from_sections(
        raw: BTreeMap<String, BTreeMap<String, String>>,
        path: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let r = Reader {
            raw: &raw,
            file: path
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "<config>".into()),
        };
        let state = Path::new(DEFAULT_STATE_DIR);
        let config = Config {
            default: DefaultSection {
                public_endpoint: r.string("DEFAULT", "public_endpoint"),
                insecure_debug: r.boolean("DEFAULT", "insecure_debug", false)?,
                list_limit: r.opt_parse("DEFAULT", "list_limit")?,
                max_param_size: r.parse("DEFAULT", "max_param_size", 64)?,
                max_token_size: r.parse("DEFAULT", "max_token_size", 255)?,
                debug: r.boolean("DEFAULT", "debug", false)?,
            },
            database: DatabaseSection {
                connection: r.string("database", "connection").unwrap_or_else(|| {
                    format!("sqlite:///{}", state.join("keystone.db").display())
                }),
                max_pool_size: r.parse("database", "max_pool_size", 10)?,
            },
            token: TokenSection {
                expiration: r.parse("token", "expiration", 3600)?,
                allow_expired_window: r.parse("token", "allow_expired_window", 172800)?,
                allow_rescope_scoped_token: r.boolean(
                    "token",
                    "allow_rescope_scoped_token",
                    true,
                )?,
                cache_on_issue: r.boolean("token", "cache_on_issue", true)?,
                revoke_by_id: r.boolean("token", "revoke_by_id", true)?,
                provider: match r
                    .choice("token", "provider", &["fernet", "jws"], "fernet")?
                    .as_str()
                {
                    "jws" => TokenProvider::Jws,
                    _ => TokenProvider::Fernet,
                },
            },
            jwt_tokens: JwtTokensSection {
                jws_algorithm: r.choice(
                    "jwt_tokens",
                    "jws_algorithm",
                    &SUPPORTED_JWS_ALGORITHMS,
                    "ES256",
                )?,
                jws_accepted_algorithms: r.jws_accepted_algorithms()?,
                jws_private_key_repository: r
                    .string("jwt_tokens", "jws_private_key_repository")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| "/etc/keystone/jws-keys/private".into()),
                jws_public_key_repository: r
                    .string("jwt_tokens", "jws_public_key_repository")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| "/etc/keystone/jws-keys/public".into()),
            },
            fernet_tokens: FernetTokensSection {
                key_repository: r
                    .string("fernet_tokens", "key_repository")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| state.join("fernet-keys")),
                max_active_keys: r.parse("fernet_tokens", "max_active_keys", 3)?,
            },
            // Keystone's default is its token default (/etc/keystone/fernet-keys/): receipts
            // share the token keys unless told otherwise. Unset, we follow wherever the token
            // keys are configured to be (api-ref/DEVIATIONS.md).
            fernet_receipts: FernetTokensSection {
                key_repository: r
                    .string("fernet_receipts", "key_repository")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        r.string("fernet_tokens", "key_repository")
                            .map(PathBuf::from)
                            .unwrap_or_else(|| state.join("fernet-keys"))
                    }),
                max_active_keys: r.parse("fernet_receipts", "max_active_keys", 3)?,
            },
            receipt: ReceiptSection {
                expiration: r.parse("receipt", "expiration", 300)?,
                caching: r.boolean("receipt", "caching", true)?,
                cache_time: r.parse("receipt", "cache_time", 300)?,
                cache_on_issue: r.boolean("receipt", "cache_on_issue", true)?,
            },
            totp: TotpSection {
                included_previous_windows: r.parse("totp", "included_previous_windows", 1)?,
            },
            credential: CredentialSection {
                // Keystone's default for a deployment with a keystone.conf; the embedded
                // default (no file) keeps everything under ./var/.
                key_repository: r
                    .string("credential", "key_repository")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| match path {
                        Some(_) => PathBuf::from("/etc/keystone/credential-keys/"),
                        None => state.join("credential-keys"),
                    }),
                auth_ttl: r.parse("credential", "auth_ttl", 15)?,
                user_limit: r.parse("credential", "user_limit", -1)?,
            },
            identity: IdentitySection {
                default_domain_id: r
                    .string("identity", "default_domain_id")
                    .unwrap_or_else(|| "default".into()),
                password_hash_algorithm: r.choice(
                    "identity",
                    "password_hash_algorithm",
                    &["bcrypt", "bcrypt_sha256", "scrypt", "pbkdf2_sha512"],
                    "bcrypt",
                )?,
                password_hash_rounds: r.opt_parse("identity", "password_hash_rounds")?,
                max_password_length: r.parse("identity", "max_password_length", 4096)?,
                list_limit: r.opt_parse("identity", "list_limit")?,
                salt_bytesize: r.opt_parse("identity", "salt_bytesize")?,
                scrypt_block_size: r.opt_parse("identity", "scrypt_block_size")?,
                scrypt_parallelism: r.opt_parse("identity", "scrypt_parallelism")?,
                strict_password_check: r.boolean("DEFAULT", "strict_password_check", false)?,
                domain_specific_drivers_enabled: r.boolean(
                    "identity",
                    "domain_specific_drivers_enabled",
                    false,
                )?,
                domain_configurations_from_database: r.boolean(
                    "identity",
                    "domain_configurations_from_database",
                    false,
                )?,
                domain_config_dir: r
                    .string("identity", "domain_config_dir")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/etc/keystone/domains")),
            },
            unified_limit: UnifiedLimitSection {
                enforcement_model: r.choice(
                    "unified_limit",
                    "enforcement_model",
                    &["flat", "strict_two_level"],
                    "flat",
                )?,
            },
            auth: AuthSection {
                methods: r.list("auth", "methods").unwrap_or_else(|| {
                    [
                        "external",
                        "password",
                        "token",
                        "oauth1",
                        "mapped",
                        "application_credential",
                        // Keystone 30: the marker of tokens minted by ec2tokens/s3tokens,
                        // kept through the Fernet methods bitmask (LP#2153453).
                        "ec2credential",
                    ]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
                }),
            },
            oslo_policy: OsloPolicySection {
                policy_file: r
                    .string("oslo_policy", "policy_file")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| "policy.yaml".into()),
                policy_dirs: r
                    .list("oslo_policy", "policy_dirs")
                    .unwrap_or_else(|| vec!["policy.d".into()])
                    .into_iter()
                    .map(PathBuf::from)
                    .collect(),
                enforce_scope: r.boolean("oslo_policy", "enforce_scope", true)?,
                enforce_new_defaults: r.boolean("oslo_policy", "enforce_new_defaults", true)?,
            },
            oslo_middleware: OsloMiddlewareSection {
                max_request_body_size: r.parse(
                    "oslo_middleware",
                    "max_request_body_size",
                    114688,
                )?,
                enable_proxy_headers_parsing: r.boolean(
                    "oslo_middleware",
                    "enable_proxy_headers_parsing",
                    false,
                )?,
            },
            oauth1: OAuth1Section {
                request_token_duration: r.parse("oauth1", "request_token_duration", 28800)?,
                access_token_duration: r.parse("oauth1", "access_token_duration", 86400)?,
            },
            oauth2: OAuth2Section {
                authn_methods: r.list("oauth2", "oauth2_authn_methods").unwrap_or_else(|| {
                    [
                        "tls_client_auth",
                        "client_secret_basic",
                        "client_secret_post",
                        "client_secret_jwt",
                        "private_key_jwt",
                    ]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
                }),
                cert_dn_mapping_id: r
                    .string("oauth2", "oauth2_cert_dn_mapping_id")
                    .unwrap_or_else(|| "oauth2_mapping".into()),
            },
            ssl: SslSection {
                certfile: r.string("ssl", "certfile").map(PathBuf::from),
                keyfile: r.string("ssl", "keyfile").map(PathBuf::from),
                ca_certs: r.string("ssl", "ca_certs").map(PathBuf::from),
                cert_required: r.boolean("ssl", "cert_required", false)?,
            },
            resource: ResourceSection {
                list_limit: r.opt_parse("resource", "list_limit")?,
            },
            security_compliance: SecurityComplianceSection {
                lockout_failure_attempts: r
                    .opt_parse("security_compliance", "lockout_failure_attempts")?,
                lockout_duration: r.parse("security_compliance", "lockout_duration", 1800)?,
                disable_user_account_days_inactive: r
                    .opt_parse("security_compliance", "disable_user_account_days_inactive")?,
                password_expires_days: r
                    .opt_parse("security_compliance", "password_expires_days")?,
                change_password_upon_first_use: r.boolean(
                    "security_compliance",
                    "change_password_upon_first_use",
                    false,
                )?,
                password_regex: r
                    .value("security_compliance", "password_regex")
                    .filter(|p| !p.is_empty())
                    .map(|p| PasswordRegex::new(p.to_string())),
                password_regex_description: r
                    .value("security_compliance", "password_regex_description")
                    .map(str::to_string),
            },
            rate_limit: RateLimitSection {
                issue_requests_per_minute: r
                    .opt_parse("rate_limit", "issue_requests_per_minute")?,
                trusted_proxies: r.networks("rate_limit", "trusted_proxies")?,
            },
            federation: FederationSection {
                assertion_prefix: r
                    .value("federation", "assertion_prefix")
                    .unwrap_or_default()
                    .to_string(),
                remote_id_attribute: r
                    .value("federation", "remote_id_attribute")
                    .filter(|a| !a.is_empty())
                    .map(str::to_string),
                trusted_proxies: r.networks("federation", "trusted_proxies")?,
                trusted_dashboard: r
                    .value("federation", "trusted_dashboard")
                    .unwrap_or_default()
                    .split(MULTI_SEPARATOR)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect(),
                sso_callback_template: r
                    .string("federation", "sso_callback_template")
                    .map(PathBuf::from),
                saml_idp_metadata_path: r
                    .string("saml", "idp_metadata_path")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/etc/keystone/saml2_idp_metadata.xml")),
            },
            validation_cache: ValidationCacheSection {
                enabled: r.boolean("validation_cache", "enabled", true)?,
                sync_interval_ms: r.parse("validation_cache", "sync_interval_ms", 1000)?,
                expiration_time: r.parse("validation_cache", "expiration_time", 600)?,
                max_entries: r.parse("validation_cache", "max_entries", 100_000)?,
                max_tokens: r.parse("validation_cache", "max_tokens", 2_000)?,
            },
            healthcheck: HealthcheckSection {
                detailed: r.boolean("healthcheck", "detailed", false)?,
                backends: r.list("healthcheck", "backends").unwrap_or_default(),
                disable_by_file_path: r
                    .string("healthcheck", "disable_by_file_path")
                    .map(PathBuf::from),
            },
            metrics: MetricsSection {
                enabled: r.boolean("metrics", "enabled", true)?,
            },
            raw: raw.clone(),
            source: path.map(Path::to_path_buf),
        };
        // oslo.config bounds these two options (max=4096, max=96) and refuses to start.
        if config.identity.max_password_length > 4096 {
            return Err(r.fail(
                "identity",
                "max_password_length",
                "must be at most 4096".into(),
            ));
        }
        if !(0..=86400).contains(&config.receipt.expiration) {
            return Err(r.fail(
                "receipt",
                "expiration",
                "must be between 0 and 86400".into(),
            ));
        }
        if config.receipt.cache_time < 0 {
            return Err(r.fail("receipt", "cache_time", "must be at least 0".into()));
        }
        if config.totp.included_previous_windows > 10 {
            return Err(r.fail(
                "totp",
                "included_previous_windows",
                "must be between 0 and 10".into(),
            ));
        }
        if config.fernet_receipts.max_active_keys < 1 {
            return Err(r.fail(
                "fernet_receipts",
                "max_active_keys",
                "must be at least 1".into(),
            ));
        }
        if config.identity.salt_bytesize.is_some_and(|n| n > 96) {
            return Err(r.fail("identity", "salt_bytesize", "must be at most 96".into()));
        }
        for (section, options) in &raw {
            for option in options.keys() {
                if !KNOWN.contains(&(section.as_str(), option.as_str())) {
                    tracing::debug!(section = %section, option = %option, "ignoring option keystone-rs does not use");
                }
            }
        }
        Ok(config)
    }

    /// A value of a section this module does not model (later subsystems read theirs here).
    pub fn get(&self, section: &str, option: &str) -> Option<&str> {
        self.raw
            .get(section)
            .and_then(|s| s.get(option))
            .map(String::as_str)
    }
}

/// Options that may be repeated, each occurrence adding a value (oslo.config's
/// `MultiStrOpt`); their values are kept joined by [`MULTI_SEPARATOR`].
const MULTI_VALUED: &[(&str, &str)] = &[("federation", "trusted_dashboard")];
const MULTI_SEPARATOR: char = '\n';

const KNOWN: &[(&str, &str)] = &[
    ("saml", "idp_metadata_path"),
    ("federation", "trusted_dashboard"),
    ("federation", "sso_callback_template"),
    ("DEFAULT", "public_endpoint"),
    ("DEFAULT", "insecure_debug"),
    ("DEFAULT", "list_limit"),
    ("DEFAULT", "max_param_size"),
    ("DEFAULT", "max_token_size"),
    ("DEFAULT", "debug"),
    ("database", "connection"),
    ("database", "max_pool_size"),
    ("token", "expiration"),
    ("token", "allow_expired_window"),
    ("token", "allow_rescope_scoped_token"),
    ("token", "cache_on_issue"),
    ("token", "revoke_by_id"),
    ("token", "provider"),
    ("jwt_tokens", "jws_algorithm"),
    ("jwt_tokens", "jws_accepted_algorithms"),
    ("jwt_tokens", "jws_private_key_repository"),
    ("jwt_tokens", "jws_public_key_repository"),
    ("fernet_tokens", "key_repository"),
    ("fernet_tokens", "max_active_keys"),
    ("fernet_receipts", "key_repository"),
    ("fernet_receipts", "max_active_keys"),
    ("receipt", "expiration"),
    ("receipt", "provider"),
    ("receipt", "caching"),
    ("receipt", "cache_time"),
    ("receipt", "cache_on_issue"),
    ("totp", "included_previous_windows"),
    ("credential", "key_repository"),
    ("credential", "auth_ttl"),
    ("credential", "user_limit"),
    ("credential", "list_limit"),
    ("identity", "default_domain_id"),
    ("identity", "password_hash_algorithm"),
    ("identity", "password_hash_rounds"),
    ("identity", "max_password_length"),
    ("identity", "list_limit"),
    ("identity", "salt_bytesize"),
    ("identity", "scrypt_block_size"),
    ("identity", "scrypt_parallelism"),
    ("DEFAULT", "strict_password_check"),
    ("oslo_middleware", "enable_proxy_headers_parsing"),
    ("auth", "methods"),
    ("oslo_policy", "policy_file"),
    ("oslo_policy", "policy_dirs"),
    ("oslo_policy", "enforce_scope"),
    ("oslo_policy", "enforce_new_defaults"),
    ("oslo_middleware", "max_request_body_size"),
    ("oauth1", "request_token_duration"),
    ("oauth1", "access_token_duration"),
    ("oauth2", "oauth2_authn_methods"),
    ("oauth2", "oauth2_cert_dn_mapping_id"),
    ("ssl", "certfile"),
    ("ssl", "keyfile"),
    ("ssl", "ca_certs"),
    ("ssl", "cert_required"),
    ("resource", "list_limit"),
    ("security_compliance", "lockout_failure_attempts"),
    ("security_compliance", "lockout_duration"),
    ("security_compliance", "disable_user_account_days_inactive"),
    ("security_compliance", "password_expires_days"),
    ("security_compliance", "change_password_upon_first_use"),
    ("validation_cache", "enabled"),
    ("validation_cache", "sync_interval_ms"),
    ("validation_cache", "expiration_time"),
    ("validation_cache", "max_entries"),
    ("validation_cache", "max_tokens"),
    ("healthcheck", "detailed"),
    ("healthcheck", "backends"),
    ("healthcheck", "disable_by_file_path"),
    ("metrics", "enabled"),
    ("security_compliance", "password_regex"),
    ("rate_limit", "issue_requests_per_minute"),
    ("rate_limit", "trusted_proxies"),
    ("federation", "assertion_prefix"),
    ("federation", "remote_id_attribute"),
    ("federation", "trusted_proxies"),
    ("security_compliance", "password_regex_description"),
    ("security_compliance", "unique_last_password_count"),
    ("security_compliance", "minimum_password_age"),
    ("identity", "domain_specific_drivers_enabled"),
    ("identity", "domain_configurations_from_database"),
    ("identity", "domain_config_dir"),
    ("unified_limit", "enforcement_model"),
    ("unified_limit", "list_limit"),
];

struct Reader<'a> {
    raw: &'a BTreeMap<String, BTreeMap<String, String>>,
    file: String,
}

impl Reader<'_> {
    /// A comma-separated list of addresses or CIDR networks.
    fn networks(&self, section: &str, option: &str) -> Result<Vec<Network>, ConfigError> {
        self.value(section, option)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                Network::parse(t).ok_or_else(|| {
                    self.fail(
                        section,
                        option,
                        format!("{t:?} is not an IP address or network"),
                    )
                })
            })
            .collect()
    }

    fn value(&self, section: &str, option: &str) -> Option<&str> {
        self.raw
            .get(section)
            .and_then(|s| s.get(option))
            .map(String::as_str)
    }

    fn fail(&self, section: &str, option: &str, reason: String) -> ConfigError {
        ConfigError::Value {
            file: self.file.clone(),
            section: section.into(),
            option: option.into(),
            reason,
        }
    }

    /// oslo.config treats an empty value of a string option as unset for our purposes.
    fn string(&self, section: &str, option: &str) -> Option<String> {
        self.value(section, option)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    fn list(&self, section: &str, option: &str) -> Option<Vec<String>> {
        self.value(section, option).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    fn boolean(&self, section: &str, option: &str, default: bool) -> Result<bool, ConfigError> {
        match self.value(section, option) {
            None | Some("") => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(self.fail(section, option, format!("'{v}' is not a boolean"))),
            },
        }
    }

    fn parse<T: std::str::FromStr>(
        &self,
        section: &str,
        option: &str,
        default: T,
    ) -> Result<T, ConfigError> {
        Ok(self.opt_parse(section, option)?.unwrap_or(default))
    }

    fn opt_parse<T: std::str::FromStr>(
        &self,
        section: &str,
        option: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.value(section, option) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                self.fail(
                    section,
                    option,
                    format!("'{v}' is not a valid {}", std::any::type_name::<T>()),
                )
            }),
        }
    }

    fn choice(
        &self,
        section: &str,
        option: &str,
        allowed: &[&str],
        default: &str,
    ) -> Result<String, ConfigError> {
        match self.value(section, option) {
            None | Some("") => Ok(default.to_string()),
            Some(v) if allowed.contains(&v) => Ok(v.to_string()),
            Some(v) => Err(self.fail(
                section,
                option,
                format!("'{v}' is not one of {}", allowed.join(", ")),
            )),
        }
    }

    /// `[jwt_tokens] jws_accepted_algorithms` (default `ES256`). Keystone takes any names
    /// and PyJWT never matches the unknown ones; here they stop start-up, naming the option.
    fn jws_accepted_algorithms(&self) -> Result<Vec<String>, ConfigError> {
        let names = self
            .list("jwt_tokens", "jws_accepted_algorithms")
            .unwrap_or_else(|| vec!["ES256".into()]);
        for name in &names {
            if !SUPPORTED_JWS_ALGORITHMS.contains(&name.as_str()) {
                return Err(self.fail(
                    "jwt_tokens",
                    "jws_accepted_algorithms",
                    format!(
                        "'{name}' is not one of {}",
                        SUPPORTED_JWS_ALGORITHMS.join(", ")
                    ),
                ));
            }
        }
        Ok(names)
    }
}

/// An address, or a network in CIDR notation, from `trusted_proxies`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Option<Network> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => (u128::from(u32::from(v4)), 32),
                    None => (u128::from(v6), 128),
                },
            }
        };
        let (net, net_width) = bits(self.addr);
        let (ip, ip_width) = bits(ip);
        if net_width != ip_width {
            return false;
        }
        let shift = u32::from(net_width - self.prefix.min(net_width));
        let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
        (net & mask) == (ip & mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_keystone() {
        let c = Config::default();
        assert_eq!(c.token.expiration, 3600);
        assert_eq!(c.fernet_tokens.max_active_keys, 3);
        assert_eq!(c.identity.password_hash_algorithm, "bcrypt");
        assert_eq!(c.oslo_middleware.max_request_body_size, 114688);
        assert!(
            c.auth
                .methods
                .contains(&"application_credential".to_string())
        );
    }

    #[test]
    fn reads_values_and_ignores_unknown_options() {
        let c = Config::parse(
            "[DEFAULT]\npublic_endpoint = http://k:5000\nfoo = bar\n[token]\nexpiration = 60\n[auth]\nmethods = password, token\n",
            None,
        )
        .unwrap();
        assert_eq!(c.default.public_endpoint.as_deref(), Some("http://k:5000"));
        assert_eq!(c.token.expiration, 60);
        assert_eq!(c.auth.methods, vec!["password", "token"]);
    }

    #[test]
    fn malformed_value_names_file_section_and_option() {
        let err = Config::parse(
            "[token]\nexpiration = soon\n",
            Some(Path::new("/etc/k.conf")),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/etc/k.conf") && text.contains("[token]") && text.contains("expiration"),
            "{text}"
        );
    }
}
