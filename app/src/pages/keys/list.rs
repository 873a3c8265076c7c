//! The key list: search, status filters, sorting, pages; and looking a key up by its value.
//! Everything the list shows is in the URL (`?q=&status=&sort=&page=&cursor=`), so it works,
//! and can be bookmarked, without JavaScript. Next and Previous follow the server's cursors.

use crate::api::{list_keys, lookup_key};
use crate::components::action::form_call;
use crate::components::copy_button::CopyIsland;
use crate::components::list_page::{CreateLink, DataTable, EmptyState, ListPage, Listed, Pager};
use crate::components::toast::go_to;
use crate::components::widgets::{names, use_hydrated, Errors, FieldMessage, QuotaBar, StatusBadge};
use crate::model::{format, short_hash, Area, FieldError, KeyHash, KeyListQuery, KeyPage, KeySort, KeySummary, StatusFilter};
use leptos::prelude::*;
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
            cursor: q.get("cursor").unwrap_or_default(),
        }
    })
}

#[component]
pub fn KeysPage() -> impl IntoView {
    let query = use_list_query();
    let keys = Resource::new(move || query.get(), list_keys);
    let create = CreateLink { area: Area::Keys, href: "/keys/new", label: "Create key" };
    view! {
        <ListPage heading="Keys" create create_id="create-key" loading="Loading keys…" list=keys
            render=move |page: KeyPage| view! { <KeyTable page query=query.get_untracked()/> }>
            <KeySearch query/>
        </ListPage>
        <LookupForm/>
    }
}

/// Searching, sorting and filtering the list.
#[component]
fn KeySearch(query: Memo<KeyListQuery>) -> impl IntoView {
    view! {
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
                    let href = move || KeyListQuery { status: f, page: 1, cursor: String::new(), ..query.get() }.href();
                    let current = move || (query.get().status == f).then_some("page");
                    view! { <a href=href aria-current=current class="filter">{f.label()}</a> }
                }).collect_view()}
            </nav>
        </section>
    }
}

/// The list page gives `KeyTable` even an empty page: it says what that means (no key at all,
/// or none that matches).
impl Listed for KeyPage {
    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[component]
fn KeyTable(page: KeyPage, query: KeyListQuery) -> impl IntoView {
    if page.keys.is_empty() {
        return if !page.any_keys {
            let create = CreateLink { area: Area::Keys, href: "/keys/new", label: "Create your first key" };
            view! {
                <EmptyState heading="No keys yet" create>
                    <p>"A key lets a client call your APIs through the gateway, within the limits you set: "
                       "which APIs, how often, how many requests and until when."</p>
                    <p>"Register an API first (under " <a href="/apis">"APIs"</a> "), then create a key for it."</p>
                </EmptyState>
            }
            .into_any()
        } else {
            view! {
                <EmptyState heading="No keys match">
                    <p>"No key matches this search and filter. Try another word, or "
                       <a href="/keys">"show all keys"</a> "."</p>
                </EmptyState>
            }
            .into_any()
        };
    }
    let now = page.now;
    let rows = page.keys.into_iter().map(|k| view! { <KeyRow key=k now=now/> }).collect_view();
    let prev = page.prev.map(|cursor| KeyListQuery { page: page.page.saturating_sub(1).max(1), cursor, ..query.clone() }.href());
    let next = page.next.map(|cursor| KeyListQuery { page: page.page + 1, cursor, ..query.clone() }.href());
    let summary = format!("Page {} of {} · {}", page.page, page.pages, format::count(page.total, "key"));
    view! {
        <DataTable caption="Keys" class="keys-table" columns=&["Key", "Policies", "APIs", "Expires", "Quota", "Status"]>
            {rows}
        </DataTable>
        <Pager summary prev next/>
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
    let policies = names(key.policies.iter().map(|p| p.name.as_str()), "—");
    let apis = names(key.apis.iter().map(|a| a.name.as_str()), if key.policies.is_empty() { "All APIs" } else { "—" });
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
    let hydrated = use_hydrated();
    let lookup = form_call(errors, lookup_key, move |hash: KeyHash| {
        value.set(String::new());
        go_to(&format!("/keys/{hash}"));
    });
    let pending = lookup.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let key = value.get_untracked();
        let missing = key.trim().is_empty().then(|| FieldError::new("lookup", "Paste the key you are looking for"));
        if errors.passes(missing.into_iter().collect()) {
            lookup.dispatch(key);
        }
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
