//! The command line: `portcullis serve | migrate | org … | user … | keys … | provision`.

use crate::accounts::{Accounts, NewOrg, NewUserRequest};
use crate::apis::Apis;
use crate::audit::{Actor, Audit};
use crate::changes::Changes;
use crate::config::{Config, StorageConfig};
use crate::gateway::egress::Egress;
use crate::keys::{Keys, KeysDeps, NewKey};
use crate::limits::quota::Quotas;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::startup::{open_store, shutdown_signal, Application, StartError};
use crate::vault::Vault;
use crate::keys::bulk::{LineResult, Lines};
use crate::rest::responses::{BulkLine, ExportedKey};
use app::model::{AccessDefinition, ApiDefinition, OrgId, SessionState};
use clap::{Parser, Subcommand};
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "portcullis", version, about = "Self-hosted API key manager and gateway that speaks Tyk's key API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the dashboard, the REST APIs and the gateway.
    Serve(Config),
    /// Apply the database migrations and exit.
    Migrate(StorageConfig),
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCommand),
    /// Import and export keys as JSON lines, the format of `POST /api/keys/bulk` and
    /// `GET /api/keys/export`.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create an organisation, a user, an API and optionally a key in one go, and print them
    /// as one JSON object (`org_id`, `credential`, `api_id`, `key`, `key_hash`). For scripts,
    /// benchmarks and tests; run it before `serve`, on the same storage and environment.
    Provision(Provision),
}

#[derive(clap::Args)]
struct Provision {
    /// The organisation's name; the user is `<name>@example.org` and the API is named after it.
    #[arg(long)]
    name: String,
    /// The API's listen path, e.g. `/bench/`.
    #[arg(long)]
    listen_path: String,
    /// Where the API forwards to (the listen path is stripped).
    #[arg(long)]
    target_url: String,
    /// A key to create, as a session in JSON (e.g. `{"rate":100,"per":1}`); it is given
    /// access to the new API. Without it, no key is made.
    #[arg(long)]
    key: Option<String>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation and print its id.
    Create {
        /// The organisation's name (Tyk's `owner_name`).
        #[arg(long)]
        name: String,
        #[command(flatten)]
        config: StorageConfig,
    },
    /// List organisations: id and name.
    List(StorageConfig),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a dashboard user and print its REST API credential.
    Create {
        /// Id of the organisation the user belongs to (see `portcullis org list`).
        #[arg(long)]
        org: String,
        /// The user's email: the dashboard sign-in name.
        #[arg(long)]
        email: String,
        /// Dashboard password; without it the user can only use the REST API.
        #[arg(long, env = "PORTCULLIS_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        #[command(flatten)]
        config: StorageConfig,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create the keys a JSON lines file describes, one per line (`key_hash` stores a key by its
    /// hash). Prints one result per line on stdout (new keys in clear: shown this once),
    /// progress and a summary on stderr; exits non-zero when a line failed.
    Import {
        /// The file (`/dev/stdin` reads standard input).
        file: std::path::PathBuf,
        /// Id of the organisation the keys belong to.
        #[arg(long)]
        org: String,
        /// All or nothing: one bad line and no key is stored (at most 10 000 lines).
        #[arg(long)]
        atomic: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Print every key of an organisation as JSON lines: hashes and settings, no secret.
    Export {
        #[arg(long)]
        org: String,
        #[command(flatten)]
        config: Config,
    },
}

/// The services a command uses, on the storage alone: no listener, no background task.
struct Services {
    apis: Apis,
    keys: Keys,
    accounts: Accounts,
}

async fn services(config: &Config) -> Result<Services, StartError> {
    let store = open_store(&config.storage).await?;
    let audit = Audit::new(store.clone());
    let changes = Changes::default();
    let egress = Arc::new(Egress::new(config.security.upstream_allow.clone(), Vec::new()));
    let apis = Apis::new(store.clone(), audit.clone(), changes.clone(), egress);
    let limits = Arc::new(Limits::new(Arc::new(Quotas::new(store.clone())), None, config.redis_fallback, Arc::new(Metrics::default())));
    let vault = Vault::open(config.secret_key.as_ref().map(|s| s.expose()), &config.storage.data_dir)?;
    let bcrypt_cost = config.storage.bcrypt_cost;
    let keys = Keys::new(KeysDeps { store: store.clone(), apis: apis.clone(), audit, vault, bcrypt_cost, changes, limits });
    Ok(Services { apis, keys, accounts: Accounts::new(store, bcrypt_cost) })
}

fn org_id(org: &str) -> Result<OrgId, StartError> {
    OrgId::parse(org).ok_or_else(|| StartError::Refused(format!("--org: '{org}' is not an organisation id")))
}

/// Imports a file through the bulk service, as `POST /api/keys/bulk` does.
async fn import(file: &std::path::Path, org: &str, atomic: bool, config: &Config) -> Result<(), StartError> {
    use std::io::Write;
    use tokio::io::AsyncReadExt;
    let refused = |e: &dyn std::fmt::Display| StartError::Refused(e.to_string());
    let mut input = tokio::fs::File::open(file).await.map_err(|e| StartError::Refused(format!("cannot read {}: {e}", file.display())))?;
    let keys = services(config).await?.keys;
    let mut bulk = keys.bulk(&org_id(org)?, &Actor::System, atomic).await.map_err(|e| refused(&e))?;
    let mut lines = Lines::new();
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut answered = 0usize;
    let mut emit = |results: Vec<LineResult>, out: &mut dyn Write| -> Result<(), StartError> {
        for r in results {
            answered += 1;
            serde_json::to_writer(&mut *out, &BulkLine::from(r)).map_err(|e| refused(&e))?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        // Progress: one line on the terminal, rewritten.
        let _ = write!(stderr.lock(), "\r{answered} lines done");
        Ok(())
    };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = input.read(&mut buf).await?;
        let read: Vec<_> = if n == 0 { lines.finish().into_iter().collect() } else { lines.push(&buf[..n]) };
        for line in read {
            let results = bulk.line(line).await.map_err(|e| refused(&e))?;
            emit(results, &mut out)?;
        }
        if n == 0 {
            break;
        }
    }
    let (results, summary) = bulk.finish().await.map_err(|e| refused(&e))?;
    emit(results, &mut out)?;
    let stored = if summary.committed { "stored" } else { "rolled back: nothing stored" };
    eprintln!("\r{} lines: {} keys created, {} failed ({stored})", summary.lines, summary.created, summary.failed);
    if summary.failed > 0 {
        return Err(StartError::Refused(format!("{} of {} lines failed; see their results on stdout", summary.failed, summary.lines)));
    }
    Ok(())
}

/// Writes an organisation's keys to stdout, a page at a time.
async fn export(org: &str, config: &Config) -> Result<(), StartError> {
    use std::io::Write;
    let Services { keys, accounts, .. } = services(config).await?;
    let org_id = org_id(org)?;
    let refused = |e: &dyn std::fmt::Display| StartError::Refused(e.to_string());
    if !accounts.org_exists(&org_id).await.map_err(|e| refused(&e))? {
        return Err(StartError::Refused(format!("--org: organisation '{org}' does not exist")));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut count, mut cursor) = (0usize, None);
    loop {
        let (page, next) = keys.export_page(&org_id, cursor.as_ref()).await.map_err(|e| refused(&e))?;
        for k in page {
            serde_json::to_writer(&mut out, &ExportedKey::from(k)).map_err(|e| refused(&e))?;
            out.write_all(b"\n")?;
            count += 1;
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    out.flush()?;
    eprintln!("{count} keys exported");
    Ok(())
}

async fn accounts(config: &StorageConfig) -> Result<Accounts, StartError> {
    Ok(Accounts::new(open_store(config).await?, config.bcrypt_cost))
}

/// Provisions what `p` asks for, through the same services as the REST API (so the same rules
/// apply), on the storage alone: no listener, no background task.
async fn provision(p: Provision) -> Result<serde_json::Value, StartError> {
    let config = &p.config;
    let refused = |e: &dyn std::fmt::Display| StartError::Refused(e.to_string());
    let Services { apis, keys, accounts } = services(config).await?;

    let org = accounts.create_org(NewOrg::named(&p.name)?).await?;
    let email = format!("{}@example.org", p.name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    let req = NewUserRequest { email_address: email, first_name: String::new(), last_name: String::new(), org_id: org.id.to_string(),
                               password: None, active: Some(true), user_permissions: None };
    let (_, credential) = accounts.create_user(&Actor::System, req).await?;
    let definition: ApiDefinition = serde_json::from_value(serde_json::json!({ "name": p.name,
        "proxy": { "listen_path": p.listen_path, "target_url": p.target_url, "strip_listen_path": true } }))
    .map_err(|e| refused(&e))?;
    let api = apis.create(&org.id, &Actor::System, definition).await.map_err(|e| refused(&e))?;
    let api_id = api.row.api_id;
    let mut out = serde_json::json!({ "org_id": org.id, "credential": credential, "api_id": api_id });
    if let Some(body) = p.key {
        let mut session: SessionState = serde_json::from_str(&body).map_err(|e| refused(&format!("--key: {e}")))?;
        session.access_rights.entry(api_id.clone()).or_insert_with(|| AccessDefinition { api_id: api_id.clone(), ..Default::default() });
        let key = keys.create(&org.id, &Actor::System, NewKey::Generated, session).await.map_err(|e| refused(&e))?;
        out["key"] = key.key_id.into();
        out["key_hash"] = key.key_hash.to_string().into();
    }
    Ok(out)
}

pub async fn run() -> Result<(), StartError> {
    let cli = Cli::parse();
    // Logs go to stderr: stdout carries what commands print for scripts (ids, credentials).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();
    match cli.command {
        Command::Serve(config) => Application::build(config).await?.run(shutdown_signal()).await,
        Command::Migrate(config) => {
            open_store(&config).await?;
            println!("Migrations applied to {}", config.database().map_err(StartError::DatabaseUrl)?);
            Ok(())
        }
        Command::Org(OrgCommand::Create { name, config }) => {
            let accounts = accounts(&config).await?;
            let org = accounts.create_org(NewOrg::named(&name)?).await?;
            println!("{}", org.id);
            Ok(())
        }
        Command::Org(OrgCommand::List(config)) => {
            let accounts = accounts(&config).await?;
            for org in accounts.orgs().await? {
                println!("{}\t{}", org.id, org.owner_name);
            }
            Ok(())
        }
        Command::User(UserCommand::Create { org, email, password, first_name, last_name, config }) => {
            let accounts = accounts(&config).await?;
            let req = NewUserRequest { email_address: email, first_name, last_name, org_id: org, password, active: Some(true), user_permissions: None };
            let (user, credential) = accounts.create_user(&crate::audit::Actor::System, req).await?;
            println!("Created user {} ({}) in organisation {}", user.email, user.id, user.org_id);
            println!("REST API credential (shown once): {credential}");
            Ok(())
        }
        Command::Keys(KeysCommand::Import { file, org, atomic, config }) => import(&file, &org, atomic, &config).await,
        Command::Keys(KeysCommand::Export { org, config }) => export(&org, &config).await,
        Command::Provision(p) => {
            println!("{}", provision(p).await?);
            Ok(())
        }
    }
}
