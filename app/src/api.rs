//! Server functions: thin wrappers that find the session and call the backend port.

use crate::model::{
    ApiDetail, ApiForm, ApiSummary, AppError, CreatedKey, FormOptions, KeyDetail, KeyForm, KeyHash, KeyListQuery,
    KeyPage, KeyUsage, PolicyDetail, PolicyForm, PolicySummary, Profile, UsageWindow, UserForm, UserSummary,
};
use leptos::prelude::*;
// Arguments and answers are JSON, answers decoded from text (see crate::codec). No URL-encoded
// arguments: that would put serde_qs into the WASM bundle.
#[allow(unused_imports)]
use crate::codec::Json;

#[cfg(feature = "ssr")]
mod session {
    use crate::backend::{session_cookie, SessionCookieName, SharedBackend};
    use crate::model::AppError;

    pub fn backend() -> Result<SharedBackend, AppError> {
        leptos::prelude::use_context::<SharedBackend>()
            .ok_or_else(|| AppError::Internal("dashboard backend missing from context".into()))
    }

    /// The value of the session cookie of the request being served.
    pub async fn token() -> Result<String, AppError> {
        let parts: http::request::Parts = leptos_axum::extract()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let SessionCookieName(name) = leptos::prelude::use_context::<SessionCookieName>()
            .ok_or_else(|| AppError::Internal("session cookie name missing from context".into()))?;
        parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| session_cookie(h, name))
            .map(str::to_owned)
            .ok_or(AppError::Unauthenticated)
    }

    /// The backend and the session token of this request.
    pub async fn caller() -> Result<(SharedBackend, String), AppError> {
        Ok((backend()?, token().await?))
    }

    /// Runs a server function's body and gives a failure its HTTP status (server functions
    /// answer 500 otherwise): 400 for a broken rule, 401, 404.
    pub async fn answer<T>(body: impl std::future::Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let response = leptos::prelude::use_context::<leptos_axum::ResponseOptions>();
        let result = body.await;
        if let Err(e) = &result {
            let status = match e {
                AppError::Unauthenticated => http::StatusCode::UNAUTHORIZED,
                AppError::Invalid { .. } => http::StatusCode::BAD_REQUEST,
                AppError::NotFound(_) => http::StatusCode::NOT_FOUND,
                AppError::Forbidden(_) => http::StatusCode::FORBIDDEN,
                AppError::Internal(_) | AppError::Transport(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
            };
            if let Some(response) = response {
                response.set_status(status);
            }
        }
        result
    }
}

/// The signed-in user, or `Unauthenticated`.
#[server(input = Json, output = Json)]
pub async fn get_profile() -> Result<Profile, AppError> {
    let token = session::token().await?;
    session::backend()?.profile(&token).await?.ok_or(AppError::Unauthenticated)
}

/// Replaces the user's REST API credential; the new one is returned this once.
#[server(input = Json, output = Json)]
pub async fn regenerate_credential() -> Result<String, AppError> {
    let token = session::token().await?;
    session::backend()?.regenerate_credential(&token).await
}

// ---- users ----

#[server(input = Json, output = Json)]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.list_users(&t).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn create_user(form: UserForm) -> Result<UserSummary, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.create_user(&t, form).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn update_user(user_id: String, form: UserForm) -> Result<(), AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.update_user(&t, &user_id, form).await
    })
    .await
}

/// Replaces another user's REST credential (admins only); the new one is returned this once.
#[server(input = Json, output = Json)]
pub async fn reset_user_credential(user_id: String) -> Result<String, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.reset_user_credential(&t, &user_id).await
    })
    .await
}

// ---- keys ----

#[server(input = Json, output = Json)]
pub async fn list_keys(query: KeyListQuery) -> Result<KeyPage, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.list_keys(&t, query).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn get_key(key_hash: String) -> Result<KeyDetail, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.key_detail(&t, &key_hash).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn lookup_key(key: String) -> Result<KeyHash, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.lookup_key(&t, &key).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn create_key(form: KeyForm) -> Result<CreatedKey, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.create_key(&t, form).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn update_key(key_hash: String, form: KeyForm, suppress_reset: bool) -> Result<Option<String>, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.update_key(&t, &key_hash, form, suppress_reset).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn set_key_active(key_hash: String, active: bool) -> Result<(), AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.set_key_active(&t, &key_hash, active).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn delete_key(key_hash: String) -> Result<(), AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.delete_key(&t, &key_hash).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn get_key_usage(key_hash: String, window: UsageWindow) -> Result<KeyUsage, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.key_usage(&t, &key_hash, window).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn get_form_options() -> Result<FormOptions, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.form_options(&t).await
    })
    .await
}

// ---- policies ----

#[server(input = Json, output = Json)]
pub async fn list_policies() -> Result<Vec<PolicySummary>, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.list_policies(&t).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn get_policy(id: String) -> Result<PolicyDetail, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.policy_detail(&t, &id).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn save_policy(id: Option<String>, form: PolicyForm) -> Result<String, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.save_policy(&t, id, form).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn delete_policy(id: String) -> Result<i64, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.delete_policy(&t, &id).await
    })
    .await
}

// ---- APIs ----

#[server(input = Json, output = Json)]
pub async fn list_apis() -> Result<Vec<ApiSummary>, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.list_apis(&t).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn get_api(api_id: String) -> Result<ApiDetail, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.api_detail(&t, &api_id).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn save_api(api_id: Option<String>, form: ApiForm) -> Result<String, AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.save_api(&t, api_id, form).await
    })
    .await
}

#[server(input = Json, output = Json)]
pub async fn delete_api(api_id: String) -> Result<(), AppError> {
    session::answer(async move {
        let (b, t) = session::caller().await?;
        b.delete_api(&t, &api_id).await
    })
    .await
}
