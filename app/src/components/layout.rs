use super::theme::ThemeToggle;
use super::toast::ToastRegion;
use crate::api::get_profile;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};

/// The frame of every signed-in page: header, navigation, sign-out, and the page itself.
/// The profile is loaded once here and shared with the pages below as context.
#[component]
pub fn Layout() -> impl IntoView {
    let profile = Resource::new(|| (), |_| get_profile());
    provide_context(profile);
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">"Portcullis"</a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Overview"</A>
                <A href="/keys">"Keys"</A>
                <A href="/policies">"Policies"</A>
                <A href="/apis">"APIs"</A>
                <A href="/profile">"Profile"</A>
            </nav>
            <div class="topbar-end">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match profile.await {
                            Ok(p) => view! { <span class="whoami">{p.email}</span> }.into_any(),
                            Err(AppError::Unauthenticated) => view! { <Redirect path="/login"/> }.into_any(),
                            Err(_) => ().into_any(),
                        }
                    })}
                </Suspense>
                <ThemeToggle/>
                <form method="post" action="/auth/logout">
                    <super::csrf::CsrfField/>
                    <button type="submit" class="button ghost" id="sign-out">"Sign out"</button>
                </form>
            </div>
        </header>
        <main id="main" class="content" tabindex="-1">
            <Outlet/>
        </main>
        <ToastRegion/>
    }
}

/// The profile resource the layout loaded.
pub type ProfileResource = Resource<Result<crate::model::Profile, AppError>>;
