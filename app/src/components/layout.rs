use super::theme::ThemeToggle;
use super::toast::ToastRegion;
use crate::api::get_profile;
use crate::model::{AppError, Area, Level};
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
                // Only the areas the user may read.
                <Allowed area=Area::Keys level=Level::Read><A href="/keys">"Keys"</A></Allowed>
                <Allowed area=Area::Policies level=Level::Read><A href="/policies">"Policies"</A></Allowed>
                <Allowed area=Area::Apis level=Level::Read><A href="/apis">"APIs"</A></Allowed>
                <Allowed area=Area::Users level=Level::Read><A href="/users">"Users"</A></Allowed>
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

/// Renders `children` only when the signed-in user may do `level` in `area`, else `fallback`
/// (nothing by default). Rendered on the server: a read-only user is never sent the controls.
#[component]
pub fn Allowed(area: Area, level: Level, children: ChildrenFn, #[prop(optional, into)] fallback: ViewFn) -> impl IntoView {
    let profile = expect_context::<ProfileResource>();
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (children, fallback) = (children.clone(), fallback.clone());
                Suspend::new(async move {
                    match profile.await {
                        Ok(p) if p.permissions.allows(area, level) => children().into_any(),
                        _ => fallback.run().into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// What a page shows instead of itself when the user may not use it.
#[component]
pub fn NoAccess(area: Area, level: Level) -> impl IntoView {
    let what = area.label().to_lowercase();
    let text = match level {
        Level::Read => format!("Your permissions do not include {what}. Ask an admin of your organisation for access."),
        Level::Write => format!("You may look at {what} but not change them. Ask an admin of your organisation for write access."),
    };
    view! { <super::widgets::LoadError error=AppError::Forbidden(text)/> }
}

/// Whether the signed-in user may do `level` in `area` (false while signed out).
pub async fn may(profile: ProfileResource, area: Area, level: Level) -> bool {
    profile.await.is_ok_and(|p| p.permissions.allows(area, level))
}
