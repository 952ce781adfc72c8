//! The `keystone-rs` command: `serve`, and `manage` with keystone-manage's verbs.

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
    Manage {
        #[arg(long = "config-file", global = true)]
        config_file: Option<PathBuf>,
        #[command(subcommand)]
        verb: Manage,
    },
}

#[derive(Subcommand)]
enum Manage {
    /// Create or upgrade the database schema.
    #[command(name = "db_sync")]
    DbSync,
    /// Create the admin user, project, roles and the identity service (idempotent).
    Bootstrap(BootstrapArgs),
    /// Create the Fernet key repository.
    #[command(name = "fernet_setup")]
    FernetSetup(OwnerArgs),
    /// Rotate the Fernet keys.
    #[command(name = "fernet_rotate")]
    FernetRotate(OwnerArgs),
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

fn init_logging(config: &Config) {
    let default = if config.default.debug {
        "debug"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYSTONE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config_file, bind } => {
            let config = load_config(&config_file)?;
            init_logging(&config);
            if config_file.is_none() {
                prepare_embedded(&config, &bind)?;
            }
            let state = AppState::open(config)?;
            actix_web::rt::System::new().block_on(server::serve(state, &bind))
        }
        Command::Manage { config_file, verb } => {
            let config = load_config(&config_file)?;
            init_logging(&config);
            match verb {
                Manage::DbSync => manage::db_sync(&config),
                Manage::FernetSetup(_) => manage::fernet_setup(&config),
                Manage::FernetRotate(_) => manage::fernet_rotate(&config),
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

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("keystone-rs: {e:#}");
        std::process::exit(1);
    }
}
