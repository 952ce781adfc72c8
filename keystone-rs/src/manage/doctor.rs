//! `keystone-manage doctor`: Keystone's symptoms that apply to keystone-rs, in Keystone's
//! order and with its texts (printed as `\nWARNING: <docstring>`, exit status 1 when any
//! is found), plus what keystone-rs's start-up refuses on ([`crate::preflight`]): the
//! database and its schema, TLS files, policy files. With `--debug`, a "Checking for …"
//! line before each check, as Keystone prints.
//!
//! Not checked, because keystone-rs has no such part: memcached (its caches are in
//! process), SAML IdP certificate paths (no SAML IdP), LDAP (no LDAP driver).

use crate::config::Config;
use crate::db::{Backend, parse_connection_url};
use crate::preflight::{self, Finding, FindingKind, Repository, RepositoryState};

/// One symptom: Keystone's function name (without `symptom_`) and its docstring.
pub struct Symptom {
    pub name: &'static str,
    pub doc: String,
}

/// What the checks found, in order.
pub fn diagnose(config: &Config, mut progress: impl FnMut(&str)) -> Vec<Symptom> {
    let mut found = Vec::new();
    let mut check = |name: &'static str, doc: Option<String>| {
        progress(&name.replace('_', " "));
        if let Some(doc) = doc {
            found.push(Symptom { name, doc });
        }
    };
    check(
        "caching_disabled",
        (!config.validation_cache.enabled).then(|| CACHING_DISABLED.into()),
    );

    let credential = repository(config, Repository::Credential);
    check(
        "keys_in_credential_fernet_key_repository",
        (!matches!(credential, RepositoryState::Usable { .. }))
            .then(|| CREDENTIAL_KEYS_EMPTY.into()),
    );
    check(
        "unique_key_repositories",
        same_path(
            &config.credential.key_repository,
            &config.fernet_tokens.key_repository,
        )
        .then(|| UNIQUE_KEY_REPOSITORIES.into()),
    );
    check(
        "usability_of_credential_fernet_key_repository",
        matches!(credential, RepositoryState::Unusable(_)).then(|| CREDENTIAL_UNUSABLE.into()),
    );

    let sqlite = parse_connection_url(&config.database.connection)
        .is_ok_and(|u| u.backend == Backend::Sqlite);
    check(
        "database_connection_is_not_SQLite",
        sqlite.then(|| SQLITE.into()),
    );
    let database = preflight::database(config);
    check(
        "database_is_unreachable",
        finding_of(&database, FindingKind::DatabaseUnreachable),
    );
    check(
        "database_schema_is_not_current",
        finding_of(&database, FindingKind::SchemaNotCurrent),
    );

    check(
        "debug_mode_is_enabled",
        config.default.debug.then(|| DEBUG.into()),
    );

    let compliance = &config.security_compliance;
    check(
        "invalid_password_regular_expression",
        compliance
            .password_regex
            .as_ref()
            .is_some_and(|r| r.compiled.is_none())
            .then(|| INVALID_REGEX.into()),
    );
    let min_age = raw_int(config, "security_compliance", "minimum_password_age");
    let expires = i64::from(compliance.password_expires_days.unwrap_or(0));
    check(
        "minimum_password_age_greater_than_expires_days",
        (min_age > 0 && expires > 0 && min_age >= expires).then(|| MIN_AGE.into()),
    );
    check(
        "password_regular_expression_description_not_set",
        (compliance.password_regex.is_some() && compliance.password_regex_description.is_none())
            .then(|| REGEX_DESCRIPTION.into()),
    );

    let fernet = preflight::token_provider(config).contains("fernet");
    check(
        "unreasonable_max_token_size",
        (fernet && config.default.max_token_size > 255).then(|| MAX_TOKEN_SIZE.into()),
    );
    check(
        "unreasonable_token_expiration",
        (config.token.expiration <= 0).then(|| {
            format!(
                "`keystone.conf [token] expiration` is {}.\n\n    Every token would be expired \
                 the moment it is issued. Set it to the lifetime\n    tokens should have, in \
                 seconds (Keystone's default is 3600).\n    ",
                config.token.expiration
            )
        }),
    );

    let tokens = repository(config, Repository::FernetTokens);
    check(
        "keys_in_Fernet_key_repository",
        (fernet && !matches!(tokens, RepositoryState::Usable { .. }))
            .then(|| FERNET_KEYS_EMPTY.into()),
    );
    check(
        "usability_of_Fernet_key_repository",
        (fernet && matches!(tokens, RepositoryState::Unusable(_))).then(|| FERNET_UNUSABLE.into()),
    );

    check(
        "TLS_files",
        preflight::tls_files(config).map(|f| as_doc(&f)),
    );
    check(
        "policy_files",
        preflight::policy_files(config).map(|f| as_doc(&f)),
    );
    found
}

/// Keystone's `FernetUtils.validate_key_repository` logs this when a repository cannot
/// be used; doctor's output carries it on stderr between the warnings.
fn repository(config: &Config, which: Repository) -> RepositoryState {
    let repo = which.open(config);
    let state = preflight::repository_state(&repo);
    match &state {
        RepositoryState::Unusable(_) => eprintln!(
            "ERROR: Either {} does not exist or Keystone does not have sufficient \
             permission to access it: {}",
            which.option(),
            repo.path().display()
        ),
        RepositoryState::Usable {
            world_readable: true,
            ..
        } => eprintln!(
            "WARNING: key_repository is world readable: {}",
            repo.path().display()
        ),
        _ => {}
    }
    state
}

fn finding_of(finding: &Option<Finding>, kind: FindingKind) -> Option<String> {
    finding.as_ref().filter(|f| f.kind == kind).map(as_doc)
}

/// A finding in the shape of Keystone's docstrings: a title line, then indented text.
fn as_doc(finding: &Finding) -> String {
    format!(
        "{}\n\n    To fix: {}\n    ",
        finding.problem, finding.remedy
    )
}

fn same_path(a: &std::path::Path, b: &std::path::Path) -> bool {
    let trim = |p: &std::path::Path| p.display().to_string().trim_end_matches('/').to_string();
    trim(a) == trim(b)
}

fn raw_int(config: &Config, section: &str, option: &str) -> i64 {
    config
        .raw
        .get(section)
        .and_then(|s| s.get(option))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Keystone's output: each symptom as `\nWARNING: <docstring>`.
pub fn render(symptoms: &[Symptom]) -> String {
    symptoms
        .iter()
        .map(|s| format!("\nWARNING: {}\n", s.doc))
        .collect()
}

const CACHING_DISABLED: &str = "`keystone.conf [validation_cache] enabled` is not enabled.

    Caching greatly improves the performance of keystone, and it is highly
    recommended that you enable it.
    ";

const CREDENTIAL_KEYS_EMPTY: &str = "Credential key repository is empty.

    After configuring keystone to use the Fernet credential provider, you
    should use `keystone-manage credential_setup` to initially populate your
    key repository with keys, and periodically rotate your keys with
    `keystone-manage credential_rotate`.
    ";

const UNIQUE_KEY_REPOSITORIES: &str = "Key repositories for encryption should be unique.

    Even though credentials are encrypted using the same mechanism as Fernet
    tokens, they should have key repository locations that are independent of
    one another. Using the same repository to encrypt credentials and tokens
    can be considered a security vulnerability because ciphertext from the keys
    used to encrypt credentials is exposed as the token ID. Sharing a key
    repository can also lead to premature key removal during key rotation. This
    could result in indecipherable credentials, rendering them completely
    useless, or early token invalidation because the key that was used to
    encrypt the entity has been deleted.

    Ensure `keystone.conf [credential] key_repository` and `keystone.conf
    [fernet_tokens] key_repository` are not pointing to the same location.
    ";

const CREDENTIAL_UNUSABLE: &str = "Credential key repository is not setup correctly.

    The credential Fernet key repository is expected to be readable by the user
    running keystone, but not world-readable, because it contains
    security sensitive secrets.
    ";

const SQLITE: &str = "SQLite is not recommended for production deployments.

    SQLite does not enforce type checking and has limited support for
    migrations, making it unsuitable for use in keystone. Please change your
    `keystone.conf [database] connection` value to point to a supported
    database driver, such as MySQL.
    ";

const DEBUG: &str = "Debug mode should be set to False.

    Debug mode can be used to get more information back when trying to isolate
    a problem, but it is not recommended to be enabled when running a
    production environment.

    Ensure `keystone.conf debug` is set to False
    ";

const INVALID_REGEX: &str = "Invalid password regular expression.

    The password regular expression is invalid and users will not be able to
    make password changes until this has been corrected.

    Ensure `[security_compliance] password_regex` is a valid regular
    expression.
    ";

const MIN_AGE: &str = "Minimum password age should be less than the password expires days.

    If the minimum password age is greater than or equal to the password
    expires days, then users would not be able to change their passwords before
    they expire.

    Ensure `[security_compliance] minimum_password_age` is less than the
    `[security_compliance] password_expires_days`.
    ";

const REGEX_DESCRIPTION: &str = "Password regular expression description is not set.

    The password regular expression is set, but the description is not. Thus,
    if a user fails the password regular expression, they will not receive a
    message to explain why their requested password was insufficient.

    Ensure `[security_compliance] password_regex_description` is set with a
    description of your password regular expression in a language for humans.
    ";

const MAX_TOKEN_SIZE: &str = "`keystone.conf [DEFAULT] max_token_size` should be adjusted.

    This option is intended to protect keystone from unreasonably sized tokens,
    where \"reasonable\" is mostly dependent on the `keystone.conf [token]
    provider` that you're using. If you're using one of the following token
    providers, then you should set `keystone.conf [DEFAULT] max_token_size`
    accordingly:

    - For Fernet, set `keystone.conf [DEFAULT] max_token_size = 255`, because
      Fernet tokens should never exceed this length in most deployments.
      However, if you are also using `keystone.conf [identity] driver = ldap`,
      Fernet tokens may not be built using an efficient packing method,
      depending on the IDs returned from LDAP, resulting in longer Fernet
      tokens (adjust your `max_token_size` accordingly).
    ";

const FERNET_KEYS_EMPTY: &str = "Fernet key repository is empty.

    After configuring keystone to use the Fernet token provider, you should use
    `keystone-manage fernet_setup` to initially populate your key repository
    with keys, and periodically rotate your keys with `keystone-manage
    fernet_rotate`.
    ";

const FERNET_UNUSABLE: &str = "Fernet key repository is not setup correctly.

    The Fernet key repository is expected to be readable by the user running
    keystone, but not world-readable, because it contains security-sensitive
    secrets.
    ";
