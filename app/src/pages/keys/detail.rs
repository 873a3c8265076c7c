//! One key: what it is and does, its usage, its settings (editable), and the actions on it.

use super::form::KeyEditor;
use crate::api::{delete_key, get_form_options, get_key, get_key_usage, set_key_active};
use crate::components::copy_button::CopyIsland;
use crate::components::action::server_call;
use crate::components::dialog::DeleteDialog;
use crate::components::toast::leave;
use crate::components::usage_chart::UsageChart;
use crate::components::widgets::{use_hydrated, LoadError, Loading, QuotaBar, StatusBadge};
use crate::components::layout::{may, Allowed, ProfileResource};
use crate::model::{format, Area, KeyDetail, KeyStatus, Level, UsageWindow};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn KeyPage() -> impl IntoView {
    let params = use_params_map();
    let hash = Memo::new(move |_| params.read().get("hash").unwrap_or_default());
    let detail = Resource::new(move || hash.get(), get_key);
    let options = Resource::new(|| (), |_| get_form_options());
    let profile = expect_context::<ProfileResource>();

    view! {
        <Title text="Key · Portcullis"/>
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/keys">"Keys"</a> " / " <span aria-current="page">"Key"</span></nav>
        <Transition fallback=|| view! { <Loading label="Loading the key…"/> }>
            {move || Suspend::new(async move {
                let (detail, options) = (detail.await, options.await);
                let writable = may(profile, Area::Keys, Level::Write).await;
                match (detail, options) {
                    (Ok(d), Ok(o)) => view! {
                        <Title text=format!("{} · Keys · Portcullis", d.summary.title())/>
                        <KeyHeader hash=d.summary.key_hash.to_string() title=d.summary.title() status=d.summary.status writable=writable/>
                        {(!d.missing_policies.is_empty()).then(|| view! {
                            <p class="alert warning" id="missing-policies">
                                "Policies this key applies that no longer exist, and are skipped: " {d.missing_policies.join(", ")}
                            </p>
                        })}
                        <KeyFacts detail=d.clone()/>
                        <Allowed area=Area::Analytics level=Level::Read><UsageSection hash=hash/></Allowed>
                        {writable.then(|| view! {
                            <h2 class="section-title" id="settings">"Settings"</h2>
                            <KeyEditor options=o existing=d/>
                        })}
                    }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <h1>"Key"</h1> <LoadError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The key's name and status, and the actions on it. An island; after a change the page
/// loads again, to show the key as it is now.
#[island]
fn KeyHeader(hash: String, title: String, status: KeyStatus, writable: bool) -> impl IntoView {
    let active = status != KeyStatus::Inactive;
    let confirm = RwSignal::new(false);
    let hydrated = use_hydrated();
    let h = hash.clone();
    let toggle = server_call(move |()| {
        let hash = h.clone();
        async move {
            set_key_active(hash, !active).await.map_err(|e| e.to_string())?;
            leave(if active { "Key deactivated: the gateway refuses it from now on." } else { "Key activated." }, None);
            Ok::<(), String>(())
        }
    });
    let pending = toggle.pending();
    let failure = move || toggle.value().get().and_then(Result::err);
    view! {
        <div class="page-head" data-hydrated=move || hydrated.get().to_string()>
            <h1>{title.clone()} " " <StatusBadge status=status/></h1>
            {writable.then(|| view! {
                <div class="actions">
                    <button type="button" class="button secondary" id="toggle-active" disabled=move || pending.get()
                        on:click=move |_| {
                            toggle.dispatch(());
                        }>
                        {if active { "Deactivate" } else { "Activate" }}
                    </button>
                    <button type="button" class="button danger" id="delete-key" on:click=move |_| confirm.set(true)>"Delete"</button>
                </div>
            })}
        </div>
        {move || failure().map(|f| view! { <p class="alert error" role="alert">{f}</p> })}
        <Show when=move || confirm.get()>
            <DeleteKeyDialog hash=hash.clone() title=title.clone() close=Callback::new(move |_| confirm.set(false))/>
        </Show>
    }
}

#[component]
fn DeleteKeyDialog(hash: String, title: String, close: Callback<()>) -> impl IntoView {
    let name = title.clone();
    let delete = move || {
        let (hash, name) = (hash.clone(), name.clone());
        async move { delete_key(hash).await.map(|()| format!("Key “{name}” deleted.")) }
    };
    view! {
        <DeleteDialog labelled_by="delete-title" title=format!("Delete the key “{title}”?") confirm="Delete key"
            next="/keys" delete close>
            <p>"Clients using this key are refused at once. This cannot be undone."</p>
        </DeleteDialog>
    }
}

#[component]
fn KeyFacts(detail: KeyDetail) -> impl IntoView {
    let s = detail.summary.clone();
    let now = detail.now;
    let hash = s.key_hash.to_string();
    let auth = match (&s.basic_username, s.hmac) {
        (Some(u), _) => format!("Basic auth user “{u}”"),
        (None, true) => "Key with HMAC signing".to_owned(),
        (None, false) => "Authentication token".to_owned(),
    };
    let expires = if s.expires > 0 {
        format!("{} ({})", format::utc(s.expires), format::relative(s.expires, now))
    } else {
        "Never".to_owned()
    };
    let list = |items: Vec<String>, empty: &str| if items.is_empty() { empty.to_owned() } else { items.join(", ") };
    let policies = list(s.policies.iter().map(|p| p.name.clone()).collect(), "None");
    let apis = list(
        s.apis.iter().map(|a| a.name.clone()).collect(),
        if s.policies.is_empty() { "All APIs (no access rights set)" } else { "None" },
    );
    let tags = list(s.tags.clone(), "None");
    let throttle = if detail.throttle_retry_limit > 0 && detail.throttle_interval > 0.0 {
        format!("{} retries, every {}", detail.throttle_retry_limit, format::period(detail.throttle_interval))
    } else {
        "Off".to_owned()
    };
    let quota = if s.quota_max > 0 {
        let renews = if detail.quota_renews > 0 {
            format!("renews {} ({})", format::utc(detail.quota_renews), format::relative(detail.quota_renews, now))
        } else {
            "never renews".to_owned()
        };
        Some(format!(
            "{} remaining of {}; {}",
            format::thousands(s.quota_remaining.max(0)),
            format::quota(s.quota_max, detail.quota_renewal_rate),
            renews
        ))
    } else {
        None
    };
    view! {
        <section class="card" aria-labelledby="facts-title">
            <h2 id="facts-title" class="visually-hidden">"About this key"</h2>
            <dl class="facts">
                <dt>"Key hash"</dt>
                <dd class="hash-line"><code id="key-hash">{hash.clone()}</code><CopyIsland text=hash label="Copy the key hash" small=true/></dd>
                <dt>"Authentication"</dt><dd>{auth}</dd>
                <dt>"Created"</dt><dd>{format::utc(detail.created_at)}</dd>
                <dt>"Last changed"</dt><dd>{format::utc(detail.updated_at)}</dd>
                <dt>"Expires"</dt><dd id="key-expires">{expires}</dd>
                <dt>"Policies"</dt><dd>{policies}</dd>
                <dt>"APIs"</dt><dd>{apis}</dd>
                <dt>"Rate limit"</dt><dd id="key-rate">{format::rate(detail.rate, detail.per)}</dd>
                <dt>"Throttling"</dt><dd>{throttle}</dd>
                <dt>"Quota"</dt>
                <dd>
                    <QuotaBar used=s.quota_used() max=s.quota_max/>
                    {quota.map(|q| view! { <small class="muted" id="key-quota">{q}</small> })}
                </dd>
                <dt>"Tags"</dt><dd>{tags}</dd>
                <dt>"Detailed logging"</dt><dd>{if detail.detailed_logging { "On" } else { "Off" }}</dd>
            </dl>
        </section>
    }
}

#[component]
fn UsageSection(hash: Memo<String>) -> impl IntoView {
    let query = use_query_map();
    let window = Memo::new(move |_| UsageWindow::from_slug(&query.read().get("window").unwrap_or_default()));
    let usage = Resource::new(move || (hash.get(), window.get()), |(h, w)| get_key_usage(h, w));
    view! {
        <section class="card" aria-labelledby="usage-title">
            <div class="section-head">
                <h2 id="usage-title">"Usage"</h2>
                <nav class="filters" aria-label="Usage period">
                    {UsageWindow::ALL.into_iter().map(|w| {
                        let current = move || (window.get() == w).then_some("page");
                        view! { <a class="filter" href=format!("?window={}", w.slug()) aria-current=current>{w.label()}</a> }
                    }).collect_view()}
                </nav>
            </div>
            <Transition fallback=|| view! { <div class="chart-placeholder"><Loading/></div> }>
                {move || Suspend::new(async move {
                    match usage.await {
                        Ok(u) => {
                            let last = match u.last_used {
                                Some(t) => format!("{} ({})", format::utc(t), format::relative(t, u.now)),
                                None => "never".to_owned(),
                            };
                            view! {
                                <p>"Last used: " <strong id="last-used">{last}</strong></p>
                                <UsageChart usage=u/>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
