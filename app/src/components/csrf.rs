//! The hidden anti-forgery field of the sign-in and sign-out forms (plain HTML forms, posted
//! before or without hydration). The server checks it against its cookie (`web::same_origin`).

use leptos::prelude::*;

/// `<input type="hidden" name="csrf_token">` with this request's token. Rendered on the server
/// only: these forms sit outside every island.
#[component]
pub fn CsrfField() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let token = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::backend::CsrfToken>().map(|t| t.0.clone()))
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let token = String::new();
    view! { <input type="hidden" name="csrf_token" value=token/> }
}
