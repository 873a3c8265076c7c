use crate::accounts::Accounts;
use crate::analytics::Reports;
use crate::apis::Apis;
use crate::audit::Audit;
use crate::config::Config;
use crate::gateway::Gateway;
use crate::keys::Keys;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::policies::Policies;
use crate::store::{Store, StoreError};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// What every handler can reach: the services, never the store itself.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub health: Health,
    pub accounts: Accounts,
    pub apis: Apis,
    pub audit: Audit,
    pub reports: Reports,
    pub keys: Keys,
    pub policies: Policies,
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    pub gateway: Arc<Gateway>,
    pub leptos: LeptosOptions,
}

/// What the readiness check may ask of the database: whether it answers.
#[derive(Clone)]
pub struct Health {
    store: Store,
}

impl Health {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub async fn database(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }
}
