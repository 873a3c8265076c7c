use crate::api::RegenerateCredential;
use crate::components::{copy_button::CopyButton, layout::ProfileResource};
use leptos::prelude::*;
use leptos_meta::Title;

/// The signed-in user's details and REST API credential.
#[component]
pub fn ProfilePage() -> impl IntoView {
    let profile = expect_context::<ProfileResource>();

    view! {
        <Title text="Profile · Portcullis"/>
        <h1>"Profile"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                profile.await.map(|p| view! {
                    <section class="card">
                        <dl class="facts">
                            <dt>"Email"</dt><dd id="profile-email">{p.email.clone()}</dd>
                            <dt>"Name"</dt><dd>{format!("{} {}", p.first_name, p.last_name).trim().to_string()}</dd>
                            <dt>"Organisation"</dt><dd>{p.org_name.clone()} " " <code>{p.org_id.to_string()}</code></dd>
                        </dl>
                    </section>
                    <section class="card">
                        <h2>"REST API credential"</h2>
                        <p>"Send it in the " <code>"Authorization"</code> " header of requests to "
                           <code>"/api"</code> ". Portcullis keeps only a hash of it, so it was shown once, when it was made; "
                           "the one in use ends in " <code id="credential-hint">{format!("…{}", p.credential_hint)}</code> "."</p>
                    </section>
                })
            })}
        </Suspense>
        <NewCredential/>
    }
}

/// Regenerating the REST API credential, and showing the new one once. An island.
#[island]
fn NewCredential() -> impl IntoView {
    let regenerate = ServerAction::<RegenerateCredential>::new();
    let new_credential = Signal::derive(move || regenerate.value().get().and_then(Result::ok).unwrap_or_default());
    let failure = move || regenerate.value().get().and_then(Result::err).map(|e| e.to_string());
    // The page is a full page load now (no client-side router): the button stays disabled until
    // the island responds, so that an early click is not lost.
    let hydrated = crate::components::widgets::use_hydrated();
    view! {
        <section class="card">
            <h2>"New credential"</h2>
            <p>"Regenerating replaces your credential at once: scripts using the old one stop working."</p>
            // A plain form, not ActionForm: ActionForm decodes the form's fields with serde_qs in
            // the browser, which cost the bundle ~15 KB for a form without fields. (Without
            // JavaScript there is nothing to show the new credential in anyway.)
            <form on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                regenerate.dispatch(RegenerateCredential {});
            }>
                <button type="submit" class="button primary" id="regenerate"
                    disabled=move || !hydrated.get() || regenerate.pending().get()>
                    {move || if regenerate.pending().get() { "Regenerating…" } else { "Regenerate credential" }}
                </button>
            </form>
            {move || failure().map(|e| view! { <p class="alert error" role="alert">{e}</p> })}
            <Show when=move || !new_credential.get().is_empty()>
                <div class="secret" role="status">
                    <p class="alert warning">"Copy your new credential now: it will not be shown again."</p>
                    <div class="secret-row">
                        <code id="new-credential">{new_credential}</code>
                        <CopyButton text=new_credential label="Copy the new credential"/>
                    </div>
                </div>
            </Show>
        </section>
    }
}
