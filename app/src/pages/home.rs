use crate::components::layout::ProfileResource;
use leptos::prelude::*;
use leptos_meta::Title;

/// The overview: who is signed in, and how to reach the REST API and the gateway.
#[component]
pub fn HomePage() -> impl IntoView {
    let profile = expect_context::<ProfileResource>();
    view! {
        <Title text="Overview · Portcullis"/>
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                profile.await.map(|p| view! {
                    <section class="card">
                        <h2>"Welcome, " {if p.first_name.is_empty() { p.email.clone() } else { p.first_name.clone() }}</h2>
                        <p>"You manage the organisation " <strong>{p.org_name.clone()}</strong>
                           " (" <code>{p.org_id.to_string()}</code> ")."</p>
                    </section>
                    <section class="card">
                        <h2>"Use the REST API"</h2>
                        <p>"Scripts written for Tyk's Dashboard API work against Portcullis. Send your credential
                           (see " <a href="/profile">"Profile"</a> ") in the " <code>"Authorization"</code> " header:"</p>
                        <pre tabindex="0"><code>"curl -H \"Authorization: $PORTCULLIS_CREDENTIAL\" http://127.0.0.1:3000/api/users/me"</code></pre>
                    </section>
                })
            })}
        </Suspense>
    }
}
