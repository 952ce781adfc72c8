//! The `keystone-rs` command: `serve`, and `manage` with keystone-manage's verbs. Invoked
//! as `keystone-manage` (a symlink or copy by that name), it is `keystone-rs manage`, with
//! keystone-manage's global options and oslo.config's default configuration files.

use clap::{Args, Parser, Subcommand};
use keystone_rs::config::Config;
use keystone_rs::db::Db;
use keystone_rs::manage::{self, bootstrap};
use keystone_rs::server;
use keystone_rs::state::AppState;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "keystone-rs",
    version,
    propagate_version = true,
    about = "OpenStack Identity (Keystone) v3 server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server. Without --config-file: the embedded default under ./var/.
    Serve {
        #[arg(long = "config-file")]
        config_file: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:5000")]
        bind: String,
    },
    /// Administrative tasks, as keystone-manage.
    Manage(ManageCli),
}

// `keystone-rs manage …`, and the whole command line of `keystone-manage …`.
#[derive(Parser)]
#[command(
    name = "keystone-manage",
    version,
    about = "Keystone's administrative commands, as keystone-manage"
)]
struct ManageCli {
    #[command(flatten)]
    globals: ManageGlobals,
    #[command(subcommand)]
    verb: Manage,
}

/// keystone-manage's global options (oslo.config's and oslo.log's command-line options),
/// in both `--opt value` and `--opt=value` forms. Accepted anywhere on the line (Keystone
/// wants them before the verb).
#[derive(Args)]
struct ManageGlobals {
    /// A config file; several are read in order, later ones winning.
    #[arg(long = "config-file", value_name = "PATH", global = true)]
    config_file: Vec<PathBuf>,
    /// A directory whose `*.conf` files are read (sorted) after the config files.
    #[arg(long = "config-dir", value_name = "DIR", global = true)]
    config_dir: Vec<PathBuf>,
    /// `[DEFAULT] debug = true`: debug logging (and doctor's progress lines).
    #[arg(long, short = 'd', global = true, overrides_with = "nodebug")]
    debug: bool,
    /// The inverse of --debug.
    #[arg(long, global = true, overrides_with = "debug")]
    nodebug: bool,
    /// Accepted for older scripts (oslo.log dropped it); no effect.
    #[arg(long, short = 'v', global = true, hide = true)]
    verbose: bool,
    /// Write the log to this file instead of stderr.
    #[arg(
        long = "log-file",
        visible_alias = "logfile",
        value_name = "PATH",
        global = true
    )]
    log_file: Option<PathBuf>,
    /// The base directory of a relative --log-file.
    #[arg(long = "log-dir", visible_alias = "logdir", global = true)]
    log_dir: Option<PathBuf>,
    /// Accepted; keystone-rs does not read Python logging configuration files.
    #[arg(long = "log-config-append", visible_aliases = ["log-config", "log_config"], value_name = "PATH", global = true)]
    log_config_append: Option<PathBuf>,
    /// Accepted; keystone-rs's log lines carry RFC 3339 times.
    #[arg(long = "log-date-format", global = true)]
    log_date_format: Option<String>,
    /// Accepted; no syslog output.
    #[arg(long = "syslog-log-facility", global = true)]
    syslog_log_facility: Option<String>,
    /// Accepted; no syslog output.
    #[arg(long = "use-syslog", global = true)]
    use_syslog: bool,
    #[arg(long = "nouse-syslog", global = true, hide = true)]
    nouse_syslog: bool,
    /// Accepted; no journald output.
    #[arg(long = "use-journal", global = true)]
    use_journal: bool,
    #[arg(long = "nouse-journal", global = true, hide = true)]
    nouse_journal: bool,
    /// Accepted; log lines stay text.
    #[arg(long = "use-json", global = true)]
    use_json: bool,
    #[arg(long = "nouse-json", global = true, hide = true)]
    nouse_json: bool,
}

/// keystone-manage's `db_sync` arguments.
#[derive(Args)]
#[group(multiple = false)]
struct DbSyncArgs {
    /// Refused, as in Keystone: specifying a version is no longer supported.
    #[arg(value_name = "version")]
    target_version: Option<String>,
    /// Apply the pending migrations (every keystone-rs migration is an expand step).
    #[arg(long, group = "phase")]
    expand: bool,
    /// Nothing to do, as in Keystone since alembic.
    #[arg(long, group = "phase")]
    migrate: bool,
    /// Confirm that expand ran; refused while migrations are pending.
    #[arg(long, group = "phase")]
    contract: bool,
    /// Exit 0 when up to date, 2 when db_sync --expand is needed, 4 when --contract is.
    #[arg(long, group = "phase")]
    check: bool,
}

#[derive(Args)]
struct ResetLastActiveArgs {
    /// Write to the database without asking for confirmation.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct MappingEngineArgs {
    /// JSON file with the rules (a list, or an object with a `rules` list).
    #[arg(long)]
    rules: String,
    /// File of `NAME: value` lines; `;` separates the values of a list.
    #[arg(long)]
    input: String,
    /// Only the input attributes whose names start with this prefix.
    #[arg(long)]
    prefix: Option<String>,
    /// Print the rules and assertion used, and debug messages.
    #[arg(long = "engine-debug")]
    engine_debug: bool,
    /// The schema version the rules are checked against (default: theirs, else 1.0).
    #[arg(long = "mapping-schema-version")]
    mapping_schema_version: Option<String>,
}

/// The arguments of a verb keystone-rs answers with "not supported": taken as they come.
#[derive(Args)]
struct AnyArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

#[derive(Subcommand)]
enum Manage {
    /// Create or upgrade the database schema (--check: is it up to date?).
    #[command(name = "db_sync")]
    DbSync(DbSyncArgs),
    /// Print the database's migration version (Keystone's expand revision).
    #[command(name = "db_version")]
    DbVersion,
    /// Diagnose common problems with this deployment; exit 1 when any is found.
    Doctor,
    /// Deprecated no-op: tokens are not persisted.
    #[command(name = "token_flush")]
    TokenFlush,
    /// Set last_active_at to now for every user that has none.
    #[command(name = "reset_last_active")]
    ResetLastActive(ResetLastActiveArgs),
    /// Run federation mapping rules over an assertion file.
    #[command(name = "mapping_engine")]
    MappingEngine(MappingEngineArgs),
    /// Create the token key repository (as fernet_setup).
    #[command(name = "token_setup")]
    TokenSetup(OwnerArgs),
    /// Rotate the token keys (as fernet_rotate).
    #[command(name = "token_rotate")]
    TokenRotate(OwnerArgs),
    /// Not supported by keystone-rs (exits 1 saying why).
    #[command(name = "project_setup")]
    ProjectSetup(AnyArgs),
    /// Not supported by keystone-rs (exits 1 saying why).
    #[command(name = "user_setup")]
    UserSetup(AnyArgs),
    /// Create the id mapping of every user of a domain on a domain-specific backend (LDAP).
    #[command(name = "mapping_populate")]
    MappingPopulate(MappingPopulateArgs),
    /// Purge the id mapping (at least one option; --all alone).
    #[command(name = "mapping_purge")]
    MappingPurge(MappingPurgeArgs),
    /// Not supported by keystone-rs (exits 1 saying why).
    #[command(name = "saml_idp_metadata")]
    SamlIdpMetadata(AnyArgs),
    /// Create the admin user, project, roles and the identity service (idempotent).
    Bootstrap(BootstrapArgs),
    /// Create the Fernet key repository.
    #[command(name = "fernet_setup")]
    FernetSetup(OwnerArgs),
    /// Rotate the Fernet keys.
    #[command(name = "fernet_rotate")]
    FernetRotate(OwnerArgs),
    /// Create the auth receipt key repository ([fernet_receipts]).
    #[command(name = "receipt_setup")]
    ReceiptSetup(OwnerArgs),
    /// Rotate the auth receipt keys.
    #[command(name = "receipt_rotate")]
    ReceiptRotate(OwnerArgs),
    /// Create a JWS key pair (private.pem, public.pem) in the current directory, for
    /// `[jwt_tokens] jws_algorithm`.
    #[command(name = "create_jws_keypair")]
    CreateJwsKeypair(JwsKeypairArgs),
    /// Create the credential encryption key repository.
    #[command(name = "credential_setup")]
    CredentialSetup(OwnerArgs),
    /// Rotate the credential encryption keys (refused until every credential uses the primary key).
    #[command(name = "credential_rotate")]
    CredentialRotate(OwnerArgs),
    /// Re-encrypt every credential with the primary credential key.
    #[command(name = "credential_migrate")]
    CredentialMigrate(OwnerArgs),
    /// Would this caller be allowed this action on this target? (like oslopolicy-checker)
    #[command(name = "policy_check")]
    PolicyCheck(PolicyCheckArgs),
    /// Print the effective policy: the defaults merged with the configured overrides.
    #[command(name = "policy_dump")]
    PolicyDump,
    /// Purge soft-deleted trusts and trusts expired before --date.
    #[command(name = "trust_flush")]
    TrustFlush(TrustFlushArgs),
    /// Upload `keystone.<domain name>.conf` files from `[identity] domain_config_dir` into
    /// the domain configuration tables.
    #[command(name = "domain_config_upload")]
    DomainConfigUpload(DomainConfigUploadArgs),
}

/// keystone-manage mapping_populate's flags.
#[derive(Args)]
struct MappingPopulateArgs {
    /// Name of the domain configured to use domain-specific backend.
    #[arg(long = "domain-name", required = true)]
    domain_name: String,
}

/// keystone-manage mapping_purge's flags.
#[derive(Args)]
struct MappingPurgeArgs {
    /// Purge all mappings.
    #[arg(long)]
    all: bool,
    /// Purge any mappings for the domain specified.
    #[arg(long = "domain-name")]
    domain_name: Option<String>,
    /// Purge the mapping for the Public ID specified.
    #[arg(long = "public-id")]
    public_id: Option<String>,
    /// Purge the mappings for the Local ID specified.
    #[arg(long = "local-id")]
    local_id: Option<String>,
    /// Purge any mappings for the type specified.
    #[arg(long = "type", value_parser = ["user", "group"])]
    entity_type: Option<String>,
}

/// keystone-manage trust_flush's flags.
#[derive(Args)]
struct TrustFlushArgs {
    /// Only the trusts of this project.
    #[arg(long = "project-id")]
    project_id: Option<String>,
    /// Only the trusts of this trustor.
    #[arg(long = "trustor-user-id")]
    trustor_user_id: Option<String>,
    /// Only the trusts of this trustee.
    #[arg(long = "trustee-user-id")]
    trustee_user_id: Option<String>,
    /// Expired before this day (DD-MM-YYYY); default now.
    #[arg(long)]
    date: Option<String>,
}

#[derive(Args)]
struct DomainConfigUploadArgs {
    /// Upload every domain configuration file found.
    #[arg(long)]
    all: bool,
    /// Upload the configuration file of this domain only.
    #[arg(long = "domain-name")]
    domain_name: Option<String>,
}

#[derive(Args)]
struct PolicyCheckArgs {
    /// A token, validated against this deployment's database and keys.
    #[arg(long, conflicts_with = "credentials")]
    token: Option<String>,
    /// A JSON file (or `-` for stdin) with oslo.policy credentials: user_id, project_id, roles, …
    #[arg(long)]
    credentials: Option<String>,
    /// The rule to check, e.g. identity:list_projects.
    #[arg(long)]
    action: String,
    /// The target as JSON text, or @FILE.
    #[arg(long, default_value = "{}")]
    target: String,
}

/// JSON from `-` (stdin), `@file`, a file path, or the text itself.
fn read_json(arg: &str) -> anyhow::Result<serde_json::Value> {
    let text = if arg == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path)?
    } else if std::path::Path::new(arg).is_file() {
        std::fs::read_to_string(arg)?
    } else {
        arg.to_string()
    };
    Ok(serde_json::from_str(&text)?)
}

/// keystone-manage's ownership flags; keys are created by and for the running user.
#[derive(Args)]
struct OwnerArgs {
    #[arg(long = "keystone-user")]
    keystone_user: Option<String>,
    #[arg(long = "keystone-group")]
    keystone_group: Option<String>,
}

/// keystone-manage create_jws_keypair's flags.
#[derive(Args)]
struct JwsKeypairArgs {
    #[command(flatten)]
    _owner: OwnerArgs,
    /// Forcibly overwrite keys if they already exist.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct BootstrapArgs {
    #[arg(long = "bootstrap-password", env = "OS_BOOTSTRAP_PASSWORD")]
    password: String,
    #[arg(long = "bootstrap-username", default_value = "admin")]
    username: String,
    #[arg(long = "bootstrap-project-name", default_value = "admin")]
    project_name: String,
    #[arg(long = "bootstrap-role-name", default_value = "admin")]
    role_name: String,
    #[arg(long = "bootstrap-service-name", default_value = "keystone")]
    service_name: String,
    #[arg(long = "bootstrap-region-id")]
    region_id: Option<String>,
    #[arg(long = "bootstrap-public-url")]
    public_url: Option<String>,
    #[arg(long = "bootstrap-internal-url")]
    internal_url: Option<String>,
    #[arg(long = "bootstrap-admin-url")]
    admin_url: Option<String>,
}

fn load_config(path: &Option<PathBuf>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    })
}

/// keystone-manage's configuration: the files and directories given, else (as
/// `keystone-manage`) oslo.config's default locations, else the embedded default; then
/// `--debug` / `--nodebug`.
fn manage_config(globals: &ManageGlobals, as_keystone_manage: bool) -> anyhow::Result<Config> {
    let (files, dirs) =
        if globals.config_file.is_empty() && globals.config_dir.is_empty() && as_keystone_manage {
            manage::oslo::default_sources()
        } else {
            (globals.config_file.clone(), globals.config_dir.clone())
        };
    let mut config = match manage::oslo::load(&files, &dirs)? {
        Some(config) => config,
        None => {
            if as_keystone_manage {
                eprintln!("WARNING: Config file not found, using default configs.");
            }
            Config::default()
        }
    };
    if globals.debug {
        config.default.debug = true;
    } else if globals.nodebug {
        config.default.debug = false;
    }
    Ok(config)
}

fn init_logging(config: &Config) {
    init_logging_to(config, None);
}

/// Log to stderr, or to `log_file` (appended) when given.
fn init_logging_to(config: &Config, log_file: Option<&std::path::Path>) {
    let default = if config.default.debug {
        "debug"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYSTONE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    if let Some(path) = log_file {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .try_init();
                return;
            }
            Err(e) => eprintln!("keystone-rs: cannot open log file {}: {e}", path.display()),
        }
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `serve` with a configuration file: refuse to start, naming each thing that is missing
/// and the command that fixes it, rather than answer every request with a 500.
fn refuse_broken_deployment(config: &Config) -> anyhow::Result<()> {
    let findings = keystone_rs::preflight::startup(config);
    if findings.is_empty() {
        if let Some(f) = keystone_rs::preflight::key_repository(
            config,
            keystone_rs::preflight::Repository::Credential,
        ) {
            tracing::warn!(
                "{} Credentials (and OAuth2 client secrets) cannot be used until then. To fix: {}",
                f.problem,
                f.remedy
            );
        }
        return Ok(());
    }
    eprintln!("keystone-rs: cannot serve: this deployment is not ready.");
    for finding in &findings {
        eprintln!("keystone-rs: {finding}");
    }
    std::process::exit(1);
}

/// The embedded default: keys, schema and an admin are made on first start.
fn prepare_embedded(config: &Config, bind: &str) -> anyhow::Result<()> {
    manage::fernet_setup(config)?;
    manage::credential_setup(config)?;
    manage::db_sync(config)?;
    let db = Db::open(&config.database.connection, 1)?;
    if bootstrap::is_empty(config, &db)? {
        let (password, generated) = match std::env::var("KEYSTONE_ADMIN_PASSWORD") {
            Ok(p) if !p.is_empty() => (p, false),
            _ => (keystone_rs::identity::password::generate_secret(24), true),
        };
        let url = format!("http://{bind}/v3");
        let mut opts = bootstrap::BootstrapOptions::with_password(password.clone());
        opts.region_id = Some("RegionOne".into());
        opts.public_url = Some(url.clone());
        opts.internal_url = Some(url.clone());
        opts.admin_url = Some(url);
        bootstrap::run(config, &db, &opts)?;
        if generated {
            // Printed once, to the terminal of whoever started the server: never logged.
            println!("Bootstrapped user 'admin' in project 'admin' with password: {password}");
        }
    }
    Ok(())
}

fn run(cli: Cli, as_keystone_manage: bool) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config_file, bind } => {
            let config = load_config(&config_file)?;
            init_logging(&config);
            if config_file.is_none() {
                prepare_embedded(&config, &bind)?;
            }
            refuse_broken_deployment(&config)?;
            let state = AppState::open(config)?;
            actix_web::rt::System::new().block_on(server::serve(state, &bind))
        }
        Command::Manage(ManageCli { globals, verb }) => {
            let config = manage_config(&globals, as_keystone_manage)?;
            let log_file = globals
                .log_file
                .as_deref()
                .map(|f| manage::oslo::log_path(f, globals.log_dir.as_deref()));
            init_logging_to(&config, log_file.as_deref());
            match verb {
                Manage::DbSync(a) => {
                    if a.target_version.is_some() {
                        anyhow::bail!("Specifying a version is no longer supported");
                    }
                    if a.check {
                        let (status, lines) = manage::db::check(&config)?;
                        // Keystone logs these, and oslo.log writes to stdout by default.
                        for line in lines {
                            println!("{line}");
                        }
                        std::process::exit(status);
                    }
                    let phase = if a.expand {
                        manage::db::Phase::Expand
                    } else if a.migrate {
                        manage::db::Phase::Migrate
                    } else if a.contract {
                        manage::db::Phase::Contract
                    } else {
                        manage::db::Phase::All
                    };
                    manage::db::sync(&config, phase)
                }
                Manage::DbVersion => {
                    println!("{}", manage::db::version(&config)?);
                    Ok(())
                }
                Manage::Doctor => {
                    let debug = config.default.debug;
                    let symptoms = manage::doctor::diagnose(&config, |name| {
                        if debug {
                            println!("Checking for {name}...");
                        }
                    });
                    print!("{}", manage::doctor::render(&symptoms));
                    std::process::exit(i32::from(!symptoms.is_empty()));
                }
                Manage::TokenFlush => {
                    println!(
                        "WARNING: The token_flush command is deprecated and no longer needed with \
                         the development of non-persistent token formats. It will be removed in \
                         Stein. It is recommended that you remove usage of this command or \
                         integrate it's functionality into a separate tool if you are using an \
                         out-of-tree provider that relies on persistent token storage."
                    );
                    Ok(())
                }
                Manage::ResetLastActive(a) => {
                    if !a.force && !confirm_reset_last_active()? {
                        eprintln!("reset_last_active aborted.");
                        std::process::exit(1);
                    }
                    let changed = manage::reset_last_active(&config)?;
                    tracing::debug!(users = changed, "reset last_active_at to today");
                    Ok(())
                }
                Manage::MappingEngine(a) => {
                    let request = manage::mapping_engine::Request {
                        rules: &a.rules,
                        input: &a.input,
                        prefix: a.prefix.as_deref(),
                        engine_debug: a.engine_debug,
                        schema_version: a.mapping_schema_version.as_deref(),
                    };
                    match manage::mapping_engine::run(&request) {
                        Ok(text) => {
                            print!("{text}");
                            Ok(())
                        }
                        Err(refusal) => {
                            eprintln!("{}", refusal.0);
                            std::process::exit(1);
                        }
                    }
                }
                Manage::TokenSetup(_) => manage::fernet_setup(&config),
                Manage::TokenRotate(_) => manage::fernet_rotate(&config),
                Manage::ProjectSetup(_) => unsupported("project_setup"),
                Manage::UserSetup(_) => unsupported("user_setup"),
                Manage::MappingPopulate(a) => {
                    use manage::id_mapping::Populated;
                    if let Populated::NoSuchDomain(line) =
                        manage::id_mapping::populate(&config, &a.domain_name)?
                    {
                        println!("{line}");
                    }
                    Ok(())
                }
                Manage::MappingPurge(a) => {
                    let options = manage::id_mapping::PurgeOptions {
                        all: a.all,
                        domain_name: a.domain_name,
                        public_id: a.public_id,
                        local_id: a.local_id,
                        entity_type: a
                            .entity_type
                            .as_deref()
                            .and_then(keystone_rs::db::enums::EntityType::parse),
                    };
                    manage::id_mapping::purge(&config, &options)?;
                    Ok(())
                }
                Manage::SamlIdpMetadata(_) => unsupported("saml_idp_metadata"),
                Manage::FernetSetup(_) => manage::fernet_setup(&config),
                Manage::FernetRotate(_) => manage::fernet_rotate(&config),
                Manage::ReceiptSetup(_) => manage::receipt_setup(&config),
                Manage::ReceiptRotate(_) => manage::receipt_rotate(&config),
                Manage::TrustFlush(a) => {
                    let what = keystone_rs::trust::store::Flush {
                        project_id: a.project_id,
                        trustor_user_id: a.trustor_user_id,
                        trustee_user_id: a.trustee_user_id,
                    };
                    manage::trust::trust_flush(&config, what, a.date.as_deref())?;
                    Ok(())
                }
                Manage::CreateJwsKeypair(a) => manage::create_jws_keypair(&config, a.force),
                Manage::CredentialSetup(_) => manage::credential_setup(&config),
                Manage::CredentialRotate(_) => manage::credential_rotate(&config),
                Manage::CredentialMigrate(_) => manage::credential_migrate(&config),
                Manage::DomainConfigUpload(a) => {
                    let what = match manage::domain_config::choose(a.all, a.domain_name) {
                        Ok(what) => what,
                        Err(message) => {
                            println!("{message}");
                            std::process::exit(1);
                        }
                    };
                    if !manage::domain_config::upload(&config, what)? {
                        std::process::exit(1);
                    }
                    Ok(())
                }
                Manage::PolicyDump => {
                    print!("{}", manage::policy::dump(&config)?);
                    Ok(())
                }
                Manage::PolicyCheck(a) => {
                    let subject = match (a.token, a.credentials) {
                        (Some(token), _) => manage::policy::Subject::Token(token),
                        (None, Some(creds)) => {
                            manage::policy::Subject::Credentials(read_json(&creds)?)
                        }
                        (None, None) => anyhow::bail!("give --token or --credentials"),
                    };
                    let decision =
                        manage::policy::check(&config, subject, &a.action, &read_json(&a.target)?)?;
                    println!("{}", manage::policy::describe(&decision));
                    if !decision.allowed() {
                        std::process::exit(2);
                    }
                    Ok(())
                }
                Manage::Bootstrap(a) => {
                    let db = Db::open(&config.database.connection, 1)?;
                    let opts = bootstrap::BootstrapOptions {
                        password: a.password,
                        username: a.username,
                        project_name: a.project_name,
                        role_name: a.role_name,
                        service_name: a.service_name,
                        region_id: a.region_id,
                        public_url: a.public_url,
                        internal_url: a.internal_url,
                        admin_url: a.admin_url,
                    };
                    bootstrap::run(&config, &db, &opts)?;
                    Ok(())
                }
            }
        }
    }
}

/// A verb of keystone-manage that keystone-rs does not carry out: say so, exit 1.
fn unsupported(verb: &str) -> anyhow::Result<()> {
    let why = manage::unsupported_reason(verb).unwrap_or("it has no keystone-rs counterpart");
    eprintln!("keystone-manage {verb}: not supported by keystone-rs: {why}.");
    std::process::exit(1);
}

/// Keystone's confirmation prompt for reset_last_active.
fn confirm_reset_last_active() -> anyhow::Result<bool> {
    use std::io::Write;
    print!(
        "Security Warning: reset_last_active  will update all users\n\
         in the database with a NULL value for last_active_at to be\n\
         last active at the current time.  This includes users that\n\
         have never logged in.  If your Keystone deployment is\n\
         configured to use disable_user_account_days_inactive, these\n\
         users will still be enabled and won't be disabled until the\n\
         configured amount of time has passed after this command is\n\
         run.\n\
         Are you sure you want to continue [y/N]? "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Invoked as `keystone-manage` (argv[0]'s file name, e.g. a symlink).
fn invoked_as_keystone_manage(argv0: &std::ffi::OsStr) -> bool {
    std::path::Path::new(argv0)
        .file_name()
        .is_some_and(|name| name == "keystone-manage")
}

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let as_keystone_manage = args
        .first()
        .is_some_and(|argv0| invoked_as_keystone_manage(argv0));
    let cli = if as_keystone_manage {
        // `keystone-manage X …` is `keystone-rs manage X …`, with its own usage line.
        Cli {
            command: Command::Manage(ManageCli::parse_from(args)),
        }
    } else {
        Cli::parse()
    };
    if let Err(e) = run(cli, as_keystone_manage) {
        let name = if as_keystone_manage {
            "keystone-manage"
        } else {
            "keystone-rs"
        };
        eprintln!("{name}: {e:#}");
        std::process::exit(1);
    }
}
