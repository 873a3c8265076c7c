//! APIs: the list, and one form to register or edit an API.

use crate::api::{delete_api, get_api, list_apis, save_api};
use crate::components::action::form_call;
use crate::components::dialog::DeleteDialog;
use crate::components::fields::{CheckField, TextField};
use crate::components::list_page::{CreateLink, DataTable, EmptyState, ListPage};
use crate::components::toast::leave;
use crate::components::widgets::{use_hydrated, ErrorSummary, Errors, FieldMessage, LoadError, Loading};
use crate::model::forms::VERSION_LOCATIONS;
use crate::components::layout::{may, Allowed, NoAccess, ProfileResource};
use crate::model::{format, validate_api_form, Area, Level, ApiDetail, ApiForm, ApiSummary, AuthMode};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ApisPage() -> impl IntoView {
    let apis = Resource::new(|| (), |_| list_apis());
    let create = CreateLink { area: Area::Apis, href: "/apis/new", label: "Register API" };
    let first = CreateLink { label: "Register your first API", ..create };
    let render = |list: Vec<ApiSummary>| view! { <ApiTable apis=list/> };
    view! {
        <ListPage heading="APIs" create create_id="create-api" loading="Loading APIs…" list=apis render
            lead="The APIs the gateway protects: requests to an API's listen path are checked, then sent to its target."
            empty=move || view! {
                <EmptyState heading="No APIs yet" create=first>
                    <p>"Register the API you want to protect: the path the gateway listens on, and the address it forwards requests to. Then create keys for it."</p>
                </EmptyState>
            }/>
    }
}

#[component]
fn ApiTable(apis: Vec<ApiSummary>) -> impl IntoView {
    view! {
        <DataTable caption="APIs" columns=&["Name", "Listen path", "Target", "Authentication", "Versions", "Keys"]>
            {apis.into_iter().map(|s| view! {
                <tr>
                    <td data-label="Name">
                        <div>
                            <a class="key-title" href=format!("/apis/{}", s.api.api_id)>{s.api.name.clone()}</a>
                            {(!s.active).then(|| view! { " " <span class="badge off">"Inactive"</span> })}
                        </div>
                    </td>
                    <td data-label="Listen path"><code>{s.api.listen_path.clone()}</code></td>
                    <td data-label="Target" class="wrap">{s.target_url.clone()}</td>
                    <td data-label="Authentication">{s.api.auth_mode.label()}</td>
                    <td data-label="Versions">{s.api.versions.join(", ")}</td>
                    <td data-label="Keys">{s.key_count}</td>
                </tr>
            }).collect_view()}
        </DataTable>
    }
}

#[component]
pub fn NewApiPage() -> impl IntoView {
    view! {
        <Title text="Register API · Portcullis"/>
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/apis">"APIs"</a> " / " <span aria-current="page">"Register API"</span></nav>
        <h1>"Register API"</h1>
        <Allowed area=Area::Apis level=Level::Write fallback=|| view! { <NoAccess area=Area::Apis level=Level::Write/> }>
            <ApiEditor/>
        </Allowed>
    }
}

#[component]
pub fn ApiPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let detail = Resource::new(move || id.get(), get_api);
    let profile = expect_context::<ProfileResource>();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/apis">"APIs"</a> " / " <span aria-current="page">"API"</span></nav>
        <Transition fallback=|| view! { <Loading label="Loading the API…"/> }>
            {move || Suspend::new(async move {
                let writable = may(profile, Area::Apis, Level::Write).await;
                match detail.await {
                    Ok(d) => view! {
                        <Title text=format!("{} · APIs · Portcullis", d.form.name)/>
                        <ApiHead detail=d.clone() writable=writable/>
                        // Read-only: the settings are shown, every input disabled, no Save.
                        <fieldset class="plain read-only-when" disabled=!writable data-read-only=(!writable).to_string()>
                            <ApiEditor existing=d/>
                        </fieldset>
                    }.into_any(),
                    Err(e) => view! { <h1>"API"</h1> <LoadError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The API's name and the Delete action. An island.
#[island]
fn ApiHead(detail: ApiDetail, writable: bool) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let hydrated = use_hydrated();
    let name = detail.form.name.clone();
    let uses = match detail.key_count {
        0 => "No key grants access to it.".to_owned(),
        n => format!("{} {} access to it.", format::count(n, "key"), if n == 1 { "grants" } else { "grant" }),
    };
    view! {
        <div class="page-head" data-hydrated=move || hydrated.get().to_string()>
            <h1>{name.clone()}</h1>
            {writable.then(|| view! {
                <div class="actions">
                    <button type="button" class="button danger" id="delete-api" on:click=move |_| confirm.set(true)>"Delete"</button>
                </div>
            })}
        </div>
        <p class="muted">"API id " <code>{detail.api_id.clone()}</code> ". " {uses}</p>
        <Show when=move || confirm.get()>
            <DeleteApiDialog detail=detail.clone() close=Callback::new(move |_| confirm.set(false))/>
        </Show>
    }
}

#[component]
fn DeleteApiDialog(detail: ApiDetail, close: Callback<()>) -> impl IntoView {
    let name = detail.form.name.clone();
    let in_use = detail.key_count > 0;
    let consequence = if in_use {
        format!(
            "It cannot be deleted now: {} {} access to it. Remove it from their access rights (or delete those keys) first.",
            format::count(detail.key_count, "key"),
            if detail.key_count == 1 { "grants" } else { "grant" }
        )
    } else {
        format!(
            "The gateway stops serving {} at once, and requests there get 404. This cannot be undone.",
            detail.form.listen_path
        )
    };
    let (api_id, n) = (detail.api_id.clone(), name.clone());
    let delete = move || {
        let (id, name) = (api_id.clone(), n.clone());
        async move { delete_api(id).await.map(|()| format!("API “{name}” deleted.")) }
    };
    view! {
        <DeleteDialog labelled_by="delete-api-title" title=format!("Delete the API “{name}”?") confirm="Delete API"
            next="/apis" delete close error_id="delete-api-error" blocked=in_use>
            <p id="delete-api-consequence">{consequence}</p>
        </DeleteDialog>
    }
}

/// The API form while it is edited.
#[derive(Clone, Copy)]
struct ApiState {
    name: RwSignal<String>,
    listen_path: RwSignal<String>,
    domain: RwSignal<String>,
    target_url: RwSignal<String>,
    strip: RwSignal<bool>,
    auth_mode: RwSignal<AuthMode>,
    versioned: RwSignal<bool>,
    versions: RwSignal<Vec<String>>,
    version_location: RwSignal<String>,
    version_key: RwSignal<String>,
    active: RwSignal<bool>,
    /// The version being typed, not added yet.
    new_version: RwSignal<String>,
}

impl ApiState {
    fn new(f: ApiForm) -> Self {
        Self {
            name: RwSignal::new(f.name),
            listen_path: RwSignal::new(f.listen_path),
            domain: RwSignal::new(f.domain),
            target_url: RwSignal::new(f.target_url),
            strip: RwSignal::new(f.strip_listen_path),
            auth_mode: RwSignal::new(f.auth_mode),
            versioned: RwSignal::new(f.versioned),
            versions: RwSignal::new(f.versions),
            version_location: RwSignal::new(f.version_location),
            version_key: RwSignal::new(f.version_key),
            active: RwSignal::new(f.active),
            new_version: RwSignal::new(String::new()),
        }
    }

    fn snapshot(&self) -> ApiForm {
        ApiForm {
            name: self.name.get_untracked(),
            listen_path: self.listen_path.get_untracked(),
            domain: self.domain.get_untracked(),
            target_url: self.target_url.get_untracked(),
            strip_listen_path: self.strip.get_untracked(),
            auth_mode: self.auth_mode.get_untracked(),
            versioned: self.versioned.get_untracked(),
            versions: self.versions.get_untracked(),
            version_location: self.version_location.get_untracked(),
            version_key: self.version_key.get_untracked(),
            active: self.active.get_untracked(),
        }
    }

    /// Adds the version being typed (once), and empties its input.
    fn add_version(&self) {
        let v = self.new_version.get_untracked().trim().to_owned();
        if !v.is_empty() {
            self.versions.update(|list| {
                if !list.contains(&v) {
                    list.push(v)
                }
            });
        }
        self.new_version.set(String::new());
    }
}

/// The form of a new API, or of the API being edited. An island; after an update the page loads
/// again.
#[island]
fn ApiEditor(#[prop(optional)] existing: Option<ApiDetail>) -> impl IntoView {
    let id = existing.as_ref().map(|d| d.api_id.clone());
    let editing = id.is_some();
    let state = ApiState::new(existing.map(|d| d.form).unwrap_or_default());
    let errors = Errors::new();
    let hydrated = use_hydrated();
    let save = form_call(errors, move |form| save_api(id.clone(), form), move |saved: String| match editing {
        true => leave("API saved.", None),
        false => leave("API registered.", Some(&format!("/apis/{saved}"))),
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = state.snapshot();
        if errors.passes(validate_api_form(&form)) {
            save.dispatch(form);
        }
    };
    let pending = save.pending();
    view! {
        <form class="api-form" on:submit=submit novalidate data-hydrated=move || hydrated.get().to_string()>
            <ErrorSummary errors/>
            <ApiSection state errors/>
            <ApiAuthSection auth_mode=state.auth_mode/>
            <VersionsSection state errors/>
            <div class="form-actions">
                <button type="submit" class="button primary" id="save-api" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else if editing { "Save API" } else { "Register API" }}
                </button>
                <a class="button ghost" href="/apis">"Cancel"</a>
            </div>
        </form>
    }
}

/// Where the API is: its name, paths, target and host.
#[component]
fn ApiSection(state: ApiState, errors: Errors) -> impl IntoView {
    view! {
        <section class="card form-section" aria-labelledby="sec-api">
            <h2 id="sec-api">"API"</h2>
            <TextField value=state.name errors field="name" label="Name" required=true/>
            <div class="row">
                <TextField value=state.listen_path errors field="proxy.listen_path" label="Listen path" placeholder="/orders/"
                    hint="Requests to this path on the gateway are for this API."/>
                <TextField value=state.target_url errors field="proxy.target_url" label="Target URL" placeholder="http://orders.internal:8080"
                    kind="url" hint="Where the gateway forwards the requests it lets through."/>
            </div>
            <TextField value=state.domain errors field="domain" label="Domain (optional)" placeholder="api.example.com"
                hint="Serve this API only to requests for this host name. Empty: every host."/>
            <CheckField checked=state.strip id="f-strip" label="Strip the listen path" hint="Forward /orders/items as /items."/>
            <CheckField checked=state.active id="f-api-active" label="Active" hint="An inactive API is not served by the gateway."/>
        </section>
    }
}

/// How clients of the API prove who they are.
#[component]
fn ApiAuthSection(auth_mode: RwSignal<AuthMode>) -> impl IntoView {
    view! {
        <section class="card form-section" aria-labelledby="sec-api-auth">
            <h2 id="sec-api-auth">"Authentication"</h2>
            <fieldset class="plain">
                <legend>"How clients prove who they are"</legend>
                {AuthMode::ALL.into_iter().map(|m| {
                    let id = format!("api-auth-{}", m.slug());
                    view! {
                        <label class="check" for=id.clone()>
                            <input type="radio" name="api-auth" id=id.clone() checked=auth_mode.get_untracked() == m
                                prop:checked=move || auth_mode.get() == m on:change=move |_| auth_mode.set(m)/>
                            <span>{m.label()}</span>
                        </label>
                    }
                }).collect_view()}
            </fieldset>
        </section>
    }
}

/// The API's versions, and where the gateway reads which one a request is for.
#[component]
fn VersionsSection(state: ApiState, errors: Errors) -> impl IntoView {
    let versions = state.versions;
    let version_location = state.version_location;
    view! {
        <section class="card form-section" aria-labelledby="sec-versions">
            <h2 id="sec-versions">"Versions"</h2>
            <CheckField checked=state.versioned id="f-versioned" label="This API has versions"
                hint="Without versions, every request is for the one Default version."/>
            <Show when=move || state.versioned.get()>
                <ul class="chips" aria-label="Versions added">
                    <For each=move || versions.get() key=|v| v.clone() let:v>
                        {
                            let value = v.clone();
                            view! {
                                <li class="chip">
                                    <span>{v.clone()}</span>
                                    <button type="button" class="chip-remove" aria-label=format!("Remove version {v}")
                                        on:click=move |_| versions.update(|l| l.retain(|x| *x != value))>"×"</button>
                                </li>
                            }
                        }
                    </For>
                </ul>
                <div class="row inline">
                    <div class="field grow">
                        <label for="f-version_data-versions">"New version"</label>
                        <input id="f-version_data-versions" type="text" bind:value=state.new_version placeholder="v1" autocomplete="off"
                            aria-describedby="f-version_data-versions-error"
                            on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); state.add_version(); }/>
                    </div>
                    <button type="button" class="button secondary" on:click=move |_| state.add_version()>"Add version"</button>
                </div>
                <FieldMessage errors field="version_data.versions"/>
                <div class="row">
                    <div class="field">
                        <label for="f-definition-location">"Version is read from"</label>
                        <select id="f-definition-location" prop:value=move || version_location.get()
                            on:change=move |ev| version_location.set(event_target_value(&ev))>
                            {VERSION_LOCATIONS.iter().map(|(v, label)| {
                                let v = *v;
                                view! { <option value=v selected=move || version_location.get() == v>{*label}</option> }
                            }).collect_view()}
                        </select>
                        <FieldMessage errors field="definition.location"/>
                    </div>
                    <TextField value=state.version_key errors field="definition.key" label="Header or parameter name"/>
                </div>
            </Show>
        </section>
    }
}
