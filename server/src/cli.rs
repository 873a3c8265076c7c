//! The command line: `portcullis serve | migrate | org … | user …`.

use crate::accounts::{Accounts, NewOrg, NewUserRequest};
use crate::config::{Config, StorageConfig};
use crate::startup::{open_store, shutdown_signal, Application, StartError};
use clap::{Parser, Subcommand};
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

async fn accounts(config: &StorageConfig) -> Result<Accounts, StartError> {
    Ok(Accounts::new(open_store(config).await?, config.bcrypt_cost))
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
    }
}
