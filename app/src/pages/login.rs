use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The sign-in form. It is a plain HTML form posted to `/auth/login`, so it works before the
/// page is hydrated and without JavaScript; the server redirects back here with `?error=`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        let q = query.read();
        match q.get("error").as_deref() {
            Some("invalid") => Some("Wrong email or password.".to_string()),
            Some("throttled") => {
                let wait = q.get("retry").unwrap_or_else(|| "a few".into());
                Some(format!("Too many failed sign-in attempts. Try again in {wait} seconds."))
            }
            Some("missing") => Some("Enter your email and your password.".to_string()),
            Some(_) => Some("Sign-in failed. Try again.".to_string()),
            None => None,
        }
    };
    let email = move || query.read().get("email").unwrap_or_default();
    view! {
        <Title text="Sign in · Portcullis"/>
        <main class="login">
            <form class="card login-card" method="post" action="/auth/login">
                <h1>"Sign in to Portcullis"</h1>
                <crate::components::csrf::CsrfField/>
                {move || error().map(|e| view! { <p class="alert error" role="alert" id="login-error">{e}</p> })}
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required value=email/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="button primary" id="sign-in">"Sign in"</button>
            </form>
        </main>
    }
}
