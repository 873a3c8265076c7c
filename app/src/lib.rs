//! The Portcullis dashboard, built twice: for the server (`ssr`) and for the browser (`hydrate`).
//!
//! Leptos islands mode: the server renders every page (router, layout, lists, details); the
//! browser hydrates only the components marked `#[island]`: the forms, the action buttons and
//! their dialogs, the copy buttons, the theme switch. An island gets its data as props (JSON in
//! the page), talks to the server through server functions, and ends a change with a page load
//! (`components::toast::{go_to, reload}`) that shows the result, its toast carried over in
//! sessionStorage. Links are plain page loads. This keeps the router, the resources and every
//! read-only view out of the WASM bundle.
#![recursion_limit = "512"]

pub mod api;
pub mod codec;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod model;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Apply the saved theme before first paint, so a dark page never flashes white.
                <script nonce=leptos::nonce::use_nonce() inner_html=components::theme::THEME_BOOTSTRAP></script>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/portcullis.css"/>
        <Title text="Portcullis"/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage/>
                // Async: the server waits for the page's data and sends it whole, so reading works
                // without JavaScript and the first paint is the final layout (no fallbacks swapped
                // for content).
                <ParentRoute path=path!("") view=components::layout::Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::home::HomePage/>
                    <Route path=path!("profile") view=pages::profile::ProfilePage/>
                    <Route path=path!("keys") view=pages::keys::list::KeysPage/>
                    <Route path=path!("keys/new") view=pages::keys::NewKeyPage/>
                    <Route path=path!("keys/:hash") view=pages::keys::detail::KeyPage/>
                    <Route path=path!("policies") view=pages::policies::PoliciesPage/>
                    <Route path=path!("policies/new") view=pages::policies::NewPolicyPage/>
                    <Route path=path!("policies/:id") view=pages::policies::PolicyPage/>
                    <Route path=path!("apis") view=pages::apis::ApisPage/>
                    <Route path=path!("apis/new") view=pages::apis::NewApiPage/>
                    <Route path=path!("apis/:id") view=pages::apis::ApiPage/>
                    <Route path=path!("users") view=pages::users::UsersPage/>
                    <Route path=path!("users/new") view=pages::users::NewUserPage/>
                    <Route path=path!("users/:id") view=pages::users::UserPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
