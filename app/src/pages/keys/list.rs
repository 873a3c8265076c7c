//! The key list: search, status filters, sorting, pages; and looking a key up by its value.
//! Everything the list shows is in the URL (`?q=&status=&sort=&page=`), so it works, and can
//! be bookmarked, without JavaScript.

use crate::api::{list_keys, lookup_key};
use crate::components::copy_button::CopyIsland;
use crate::components::toast::go_to;
use crate::components::widgets::{use_hydrated, Errors, FieldMessage, LoadError, Loading, QuotaBar, StatusBadge};
use crate::components::layout::Allowed;
use crate::model::{format, short_hash, Area, Level, KeyListQuery, KeyPage, KeySort, KeySummary, StatusFilter};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The list's query, read from the URL.
pub fn use_list_query() -> Memo<KeyListQuery> {
    let query = use_query_map();
    Memo::new(move |_| {
        let q = query.read();
        KeyListQuery {
            q: q.get("q").unwrap_or_default(),
            status: StatusFilter::from_slug(&q.get("status").unwrap_or_default()),
            sort: KeySort::from_slug(&q.get("sort").unwrap_or_default()),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1),
        }
    })
}

#[component]
pub fn KeysPage() -> impl IntoView {
    let query = use_list_query();
    let keys = Resource::new(move || query.get(), list_keys);
    view! {
        <Title text="Keys · Portcullis"/>
        <div class="page-head">
            <h1>"Keys"</h1>
            <Allowed area=Area::Keys level=Level::Write>
                <a class="button primary" href="/keys/new" id="create-key">"Create key"</a>
            </Allowed>
        </div>
        <section class="card toolbar" aria-label="Find keys">
            // A plain GET form: searching and sorting load the list's URL, with or without
            // JavaScript (a change of sort submits the form).
            <form method="get" action="/keys">
                <div class="row inline search-row">
                    <div class="field grow">
                        <label for="key-search">"Search"</label>
                        <input type="search" id="key-search" name="q" value=move || query.get().q
                            placeholder="Alias, key hash, tag, policy or API" autocomplete="off"/>
                    </div>
                    <div class="field">
                        <label for="key-sort">"Sort"</label>
                        <select id="key-sort" name="sort">
                            {KeySort::ALL.into_iter().map(|s| view! {
                                <option value=s.slug() selected=move || query.get().sort == s>{s.label()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <input type="hidden" name="status" value=move || query.get().status.slug()/>
                    <button type="submit" class="button secondary">"Search"</button>
                </div>
            </form>
            // Not an inline handler (onchange=): the Content-Security-Policy allows only
            // scripts that carry the page's nonce.
            <script nonce=leptos::nonce::use_nonce() inner_html=SORT_SUBMITS></script>
            <nav class="filters" aria-label="Status">
                {StatusFilter::ALL.into_iter().map(|f| {
                    let href = move || KeyListQuery { status: f, page: 1, ..query.get() }.href();
                    let current = move || (query.get().status == f).then_some("page");
                    view! { <a href=href aria-current=current class="filter">{f.label()}</a> }
                }).collect_view()}
            </nav>
        </section>
        <Transition fallback=|| view! { <Loading label="Loading keys…"/> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(page) => view! { <KeyTable page=page query=query.get_untracked()/> }.into_any(),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                }
            })}
        </Transition>
        <LookupForm/>
    }
}

#[component]
fn KeyTable(page: KeyPage, query: KeyListQuery) -> impl IntoView {
    if page.keys.is_empty() {
        return if !page.any_keys {
            view! {
                <section class="card empty-state">
                    <h2>"No keys yet"</h2>
                    <p>"A key lets a client call your APIs through the gateway, within the limits you set: "
                       "which APIs, how often, how many requests and until when."</p>
                    <p>"Register an API first (under " <a href="/apis">"APIs"</a> "), then create a key for it."</p>
                    <Allowed area=Area::Keys level=Level::Write>
                        <a class="button primary" href="/keys/new">"Create your first key"</a>
                    </Allowed>
                </section>
            }
            .into_any()
        } else {
            view! {
                <section class="card empty-state">
                    <h2>"No keys match"</h2>
                    <p>"No key matches this search and filter. Try another word, or "
                       <a href="/keys">"show all keys"</a> "."</p>
                </section>
            }
            .into_any()
        };
    }
    let now = page.now;
    let rows = page.keys.into_iter().map(|k| view! { <KeyRow key=k now=now/> }).collect_view();
    let prev = (page.page > 1).then(|| KeyListQuery { page: page.page - 1, ..query.clone() }.href());
    let next = (page.page < page.pages).then(|| KeyListQuery { page: page.page + 1, ..query.clone() }.href());
    view! {
        <div class="card table-card">
            <table class="data keys-table">
                <caption class="visually-hidden">"Keys"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Policies"</th>
                        <th scope="col">"APIs"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"Quota"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            <span class="muted">{format!("Page {} of {} · {}", page.page, page.pages, format::count(page.total, "key"))}</span>
            <span class="pager-links">
                {match prev {
                    Some(href) => view! { <a class="button secondary" href=href rel="prev">"Previous"</a> }.into_any(),
                    None => view! { <span class="button secondary" aria-disabled="true">"Previous"</span> }.into_any(),
                }}
                {match next {
                    Some(href) => view! { <a class="button secondary" href=href rel="next">"Next"</a> }.into_any(),
                    None => view! { <span class="button secondary" aria-disabled="true">"Next"</span> }.into_any(),
                }}
            </span>
        </nav>
    }
    .into_any()
}

#[component]
fn KeyRow(key: KeySummary, now: i64) -> impl IntoView {
    let title = key.title();
    let hash = key.key_hash.to_string();
    let href = format!("/keys/{hash}");
    let short = short_hash(&hash).to_owned();
    let copy_label = format!("Copy the key hash of {title}");
    let policies = if key.policies.is_empty() {
        "—".to_owned()
    } else {
        key.policies.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
    };
    let apis = if key.apis.is_empty() {
        if key.policies.is_empty() { "All APIs".to_owned() } else { "—".to_owned() }
    } else {
        key.apis.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
    };
    let (expires, expires_title) = if key.expires > 0 {
        (format::relative(key.expires, now), format::utc(key.expires))
    } else {
        ("Never".to_owned(), "This key does not expire".to_owned())
    };
    let kind = if let Some(u) = &key.basic_username {
        Some(format!("Basic auth: {u}"))
    } else if key.hmac {
        Some("HMAC".to_owned())
    } else {
        None
    };
    view! {
        <tr>
            <td data-label="Key">
                <div>
                    <a class="key-title" href=href>{title}</a>
                    {kind.map(|k| view! { <span class="tag-pill">{k}</span> })}
                    <div class="hash-line">
                        <code title=hash.clone()>{short}"…"</code>
                        <CopyIsland text=hash label=copy_label small=true/>
                    </div>
                </div>
            </td>
            <td data-label="Policies">{policies}</td>
            <td data-label="APIs">{apis}</td>
            <td data-label="Expires"><span title=expires_title>{expires}</span></td>
            <td data-label="Quota"><QuotaBar used=key.quota_used() max=key.quota_max/></td>
            <td data-label="Status"><StatusBadge status=key.status/></td>
        </tr>
    }
}

/// Finds a key by its exact value (or a basic-auth username) and opens it. An island.
#[island]
fn LookupForm() -> impl IntoView {
    let value = RwSignal::new(String::new());
    let errors = Errors::new();
    let pending = RwSignal::new(false);
    let hydrated = use_hydrated();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let key = value.get_untracked();
        if key.trim().is_empty() {
            errors.show(vec![crate::model::FieldError::new("lookup", "Paste the key you are looking for")]);
            return;
        }
        errors.clear();
        pending.set(true);
        spawn_local(async move {
            let result = lookup_key(key).await;
            pending.set(false);
            match result {
                Ok(hash) => {
                    value.set(String::new());
                    go_to(&format!("/keys/{hash}"));
                }
                Err(e) => errors.show_server(e),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="lookup-title">
            <h2 id="lookup-title">"Look up a key"</h2>
            <form on:submit=submit class="row inline" data-hydrated=move || hydrated.get().to_string()>
                <div class="field grow">
                    <label for="f-lookup">"Key value or basic-auth username"</label>
                    // The hint above the input, so that the button lines up with the input.
                    <p class="hint" id="lookup-hint">"Keys are stored as hashes: paste the whole key to find it."</p>
                    <input id="f-lookup" type="text" autocomplete="off" spellcheck="false" bind:value=value
                        aria-describedby="f-lookup-error lookup-hint"
                        aria-invalid=move || if errors.has("lookup") { "true" } else { "false" }/>
                    <FieldMessage errors field="lookup"/>
                </div>
                <button type="submit" class="button secondary" disabled=move || pending.get()>
                    {move || if pending.get() { "Looking up…" } else { "Look up" }}
                </button>
            </form>
        </section>
    }
}

/// A change of sort submits the search form.
const SORT_SUBMITS: &str = "document.getElementById('key-sort').addEventListener('change',function(){this.form.submit()})";
