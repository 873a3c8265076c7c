use crate::accounts::Accounts;
use crate::apis::Apis;
use crate::audit::Audit;
use crate::config::Config;
use crate::gateway::Gateway;
use crate::keys::Keys;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::policies::Policies;
use crate::store::Store;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub accounts: Accounts,
    pub apis: Apis,
    pub audit: Audit,
    pub keys: Keys,
    pub policies: Policies,
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    pub gateway: Arc<Gateway>,
    pub leptos: LeptosOptions,
}
