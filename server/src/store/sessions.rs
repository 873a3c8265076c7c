use super::{Store, StoreError, UserRow};
use app::model::UserId;

impl Store {
    pub async fn insert_session(&self, token_hash: &str, user_id: &UserId, now: i64, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO user_sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id.as_str())
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user behind an unexpired session.
    pub async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<UserRow>, StoreError> {
        let user_id: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM user_sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        match user_id {
            // Our own column, which references users.id.
            Some(id) => self.user(&UserId::from_trusted(id)).await,
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM user_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
