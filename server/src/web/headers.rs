//! Security headers on every dashboard response: a Content-Security-Policy whose inline scripts
//! (the hydration script, the theme and toast scripts) are allowed by a per-response nonce, and
//! the headers that keep the dashboard out of frames and its URLs out of other sites' logs.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::{provide_context, use_context};
use std::sync::{Arc, OnceLock};

/// Where a page render leaves the nonce it used, for the CSP header (the nonce is made inside
/// the render: Leptos' `Nonce` can only be generated, not given).
#[derive(Clone, Default)]
struct NonceSlot(Arc<OnceLock<String>>);

/// The middleware: every response gets the headers; a rendered page's nonce goes into its CSP.
pub async fn security_headers(mut req: Request, next: Next) -> Response {
    let slot = NonceSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    let csp = policy(slot.0.get().map(String::as_str));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).expect("policy is ASCII"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Called while a page's render is set up (Leptos' additional context): makes this page's
/// nonce, which `HydrationScripts` and the inline scripts use, and leaves it for the header.
pub fn provide_nonce() {
    let Some(slot) = use_context::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<NonceSlot>().cloned()) else {
        return;
    };
    let nonce = leptos::nonce::Nonce::new();
    // One render per request: the nonce the header lists is the first one made.
    if slot.0.set(nonce.to_string()).is_ok() {
        provide_context(nonce);
    }
}

/// The policy: scripts only from this origin or with the nonce (WASM compiled from this
/// origin), styles from this origin (and `style` attributes: the usage bars' widths), no
/// plugins, no `<base>`, forms post only here, no framing.
fn policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'{nonce}; \
         style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}
