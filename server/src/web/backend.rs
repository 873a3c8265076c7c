//! The server's side of the dashboard port (`app::backend::DashboardBackend`).

use crate::accounts::{AccountError, Accounts};
use app::backend::DashboardBackend;
use app::model::{AppError, OrgId, Profile, UserId};

pub struct DashboardService {
    accounts: Accounts,
}

impl DashboardService {
    pub fn new(accounts: Accounts) -> Self {
        Self { accounts }
    }
}

fn internal(e: AccountError) -> AppError {
    tracing::error!("dashboard backend: {e}");
    AppError::Internal("the request could not be completed".into())
}

#[async_trait::async_trait]
impl DashboardBackend for DashboardService {
    async fn profile(&self, session_token: &str) -> Result<Option<Profile>, AppError> {
        let Some(user) = self.accounts.session_user(session_token).await.map_err(internal)? else {
            return Ok(None);
        };
        let org = self.accounts.org(&user.org_id).await.map_err(internal)?;
        Ok(Some(Profile {
            user_id: UserId::from_trusted(user.id),
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            org_id: OrgId::from_trusted(org.id),
            org_name: org.owner_name,
            credential_hint: user.credential_hint,
            created_at: user.created_at,
        }))
    }

    async fn regenerate_credential(&self, session_token: &str) -> Result<String, AppError> {
        let user = self
            .accounts
            .session_user(session_token)
            .await
            .map_err(internal)?
            .ok_or(AppError::Unauthenticated)?;
        self.accounts.regenerate_credential(&user.actor(), &user.id).await.map_err(internal)
    }
}
