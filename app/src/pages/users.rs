//! Users of the organisation: the list, creating a user with its permissions, changing one
//! (names, permissions, active), and resetting another user's REST credential (admins).

use crate::api::{create_user, list_users, reset_user_credential, update_user};
use crate::components::copy_button::CopyButton;
use crate::components::fields::{CheckField, TextField};
use crate::components::layout::{may, Allowed, NoAccess, ProfileResource};
use crate::components::toast::{go_to, reload, use_toasts};
use crate::components::widgets::{use_hydrated, ErrorSummary, Errors, FieldMessage, LoadError, Loading};
use crate::model::{format, validate_password, Area, FieldError, Level, Permissions, UserForm, UserSummary};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <Title text="Users · Portcullis"/>
        <div class="page-head">
            <h1>"Users"</h1>
            <Allowed area=Area::Users level=Level::Write>
                <a class="button primary" href="/users/new" id="create-user">"Create user"</a>
            </Allowed>
        </div>
        <p class="lead muted">"The people who sign in to this dashboard or call the REST API for your organisation, and what each may see and change."</p>
        <Transition fallback=|| view! { <Loading label="Loading users…"/> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => view! { <UserTable users=list/> }.into_any(),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UserTable(users: Vec<UserSummary>) -> impl IntoView {
    view! {
        <div class="card table-card">
            <table class="data users-table">
                <caption class="visually-hidden">"Users"</caption>
                <thead><tr>
                    <th scope="col">"Email"</th><th scope="col">"Name"</th><th scope="col">"Role"</th>
                    <th scope="col">"State"</th><th scope="col">"Last sign-in"</th>
                </tr></thead>
                <tbody>
                    {users.into_iter().map(|u| {
                        let name = format!("{} {}", u.first_name, u.last_name).trim().to_owned();
                        view! {
                            <tr>
                                <td data-label="Email"><a class="key-title" href=format!("/users/{}", u.user_id)>{u.email.clone()}</a></td>
                                <td data-label="Name">{if name.is_empty() { "—".to_owned() } else { name }}</td>
                                <td data-label="Role">{u.permissions.summary()}</td>
                                <td data-label="State">{if u.active { view! { <span class="badge ok">"Active"</span> } } else { view! { <span class="badge off">"Inactive"</span> } }}</td>
                                <td data-label="Last sign-in">{u.last_login.map(format::utc).unwrap_or_else(|| "Never".into())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn NewUserPage() -> impl IntoView {
    view! {
        <Title text="Create user · Portcullis"/>
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/users">"Users"</a> " / " <span aria-current="page">"Create user"</span></nav>
        <h1>"Create user"</h1>
        <Allowed area=Area::Users level=Level::Write fallback=|| view! { <NoAccess area=Area::Users level=Level::Write/> }>
            <UserEditor/>
        </Allowed>
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let users = Resource::new(|| (), |_| list_users());
    let profile = expect_context::<ProfileResource>();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/users">"Users"</a> " / " <span aria-current="page">"User"</span></nav>
        <Transition fallback=|| view! { <Loading label="Loading the user…"/> }>
            {move || Suspend::new(async move {
                let writable = may(profile, Area::Users, Level::Write).await;
                let me = profile.await.ok();
                let admin = me.as_ref().is_some_and(|p| p.permissions.admin);
                let found = users.await.map(|list| list.into_iter().find(|u| u.user_id.as_str() == id.get_untracked()));
                match found {
                    Ok(Some(u)) => {
                        // Another user's credential: admins only (one's own is on the profile page).
                        let reset = (admin && me.as_ref().is_some_and(|p| p.user_id != u.user_id)).then(|| u.user_id.to_string());
                        let email = u.email.clone();
                        let since = format!("Created {}. Last sign-in: {}.", format::utc(u.created_at),
                            u.last_login.map(format::utc).unwrap_or_else(|| "never".into()));
                        view! {
                            <Title text=format!("{email} · Users · Portcullis")/>
                            <div class="page-head"><h1>{email.clone()}</h1></div>
                            <p class="muted">{since}</p>
                            {reset.map(|user_id| view! { <ResetCredential user_id/> })}
                            // Read-only: the settings are shown, every input disabled, no Save.
                            <fieldset class="plain read-only-when" disabled=!writable data-read-only=(!writable).to_string()>
                                <UserEditor existing=u/>
                            </fieldset>
                        }.into_any()
                    }
                    Ok(None) => view! { <h1>"User"</h1> <LoadError error=crate::model::AppError::NotFound("This user does not exist (it may have been deleted).".into())/> }.into_any(),
                    Err(e) => view! { <h1>"User"</h1> <LoadError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The choice for one area: none, read or write.
#[component]
fn AreaChoice(area: Area, value: RwSignal<Option<Level>>) -> impl IntoView {
    let id = format!("perm-{}", area.as_str());
    let current = move || match value.get() {
        None => "none",
        Some(l) => l.as_str(),
    };
    view! {
        <div class="field">
            <label for=id.clone()>{area.label()}</label>
            <select id=id prop:value=current on:change=move |ev| value.set(Level::parse(&event_target_value(&ev)))>
                <option value="none" selected=move || current() == "none">"No access"</option>
                <option value="read" selected=move || current() == "read">"Read"</option>
                <option value="write" selected=move || current() == "write">"Read and write"</option>
            </select>
        </div>
    }
}

/// The form of a new user, or of the user being changed. An island; after a change the page
/// loads again.
#[island]
fn UserEditor(#[prop(optional)] existing: Option<UserSummary>) -> impl IntoView {
    let id = StoredValue::new(existing.as_ref().map(|u| u.user_id.to_string()));
    let editing = existing.is_some();
    let (email, first_name, last_name, active, permissions) = match existing {
        Some(u) => (u.email, u.first_name, u.last_name, u.active, u.permissions),
        None => (String::new(), String::new(), String::new(), true, Permissions::default()),
    };
    let email = RwSignal::new(email);
    let first_name = RwSignal::new(first_name);
    let last_name = RwSignal::new(last_name);
    let password = RwSignal::new(String::new());
    let active = RwSignal::new(active);
    let admin = RwSignal::new(permissions.admin);
    let other = StoredValue::new(permissions.other.clone());
    let levels: Vec<(Area, RwSignal<Option<Level>>)> =
        Area::ALL.into_iter().map(|a| (a, RwSignal::new(permissions.areas.get(&a).copied()))).collect();
    let levels = StoredValue::new(levels);
    let errors = Errors::new();
    let hydrated = use_hydrated();
    let pending = RwSignal::new(false);
    let toasts = use_toasts();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let permissions = Permissions {
            admin: admin.get_untracked(),
            areas: levels.with_value(|l| l.iter().filter_map(|(a, v)| v.get_untracked().map(|lv| (*a, lv))).collect()),
            other: other.get_value(),
        };
        let form = UserForm {
            email: email.get_untracked().trim().to_owned(),
            first_name: first_name.get_untracked(),
            last_name: last_name.get_untracked(),
            password: password.get_untracked(),
            active: active.get_untracked(),
            permissions,
        };
        let mut found = Vec::new();
        if form.email.is_empty() {
            found.push(FieldError::new("email_address", "Enter the user's email address"));
        }
        if !form.password.is_empty() || !editing {
            if let Err(m) = validate_password(&form.password) {
                found.push(FieldError::new("password", format!("The {m}")));
            }
        }
        if form.permissions.is_empty() {
            found.push(FieldError::new("user_permissions", "Give at least one permission, or make the user an admin"));
        }
        if !found.is_empty() {
            errors.show(found);
            return;
        }
        errors.clear();
        pending.set(true);
        let current = id.get_value();
        spawn_local(async move {
            let result = match current {
                Some(user_id) => update_user(user_id, form).await.map(|()| None),
                None => create_user(form).await.map(Some),
            };
            pending.set(false);
            match result {
                Ok(None) => {
                    toasts.flash("User saved.");
                    reload();
                }
                Ok(Some(created)) => {
                    toasts.flash(format!("User {} created: they can sign in with the password you chose.", created.email));
                    go_to("/users");
                }
                Err(e) => errors.show_server(e),
            }
        });
    };
    view! {
        <form class="user-form" on:submit=submit novalidate data-hydrated=move || hydrated.get().to_string()>
            <ErrorSummary errors/>
            <section class="card form-section" aria-labelledby="sec-user">
                <h2 id="sec-user">"User"</h2>
                <TextField value=email errors field="email_address" label="Email" kind="email" autocomplete="off" required=true/>
                <div class="row">
                    <TextField value=first_name errors field="first_name" label="First name"/>
                    <TextField value=last_name errors field="last_name" label="Last name"/>
                </div>
                <TextField value=password errors field="password" kind="password" autocomplete="new-password"
                    label=if editing { "New password" } else { "Password" }
                    hint=if editing { "Leave empty to keep the current password." } else { "At least 8 characters. Tell the user; they sign in with it." }/>
                <CheckField checked=active id="f-user-active" label="Active"
                    hint="An inactive user can neither sign in nor use the REST API."/>
            </section>
            <section class="card form-section" aria-labelledby="sec-permissions">
                <h2 id="sec-permissions">"Permissions"</h2>
                <div id="f-user_permissions" tabindex="-1">
                    <CheckField checked=admin id="f-admin" label="Admin"
                        hint="An admin may do everything, including managing users and resetting their credentials."/>
                </div>
                <FieldMessage errors field="user_permissions"/>
                <Show when=move || !admin.get()>
                    <div class="row wrap">
                        {levels.get_value().into_iter().map(|(a, v)| view! { <AreaChoice area=a value=v/> }).collect_view()}
                    </div>
                </Show>
            </section>
            <div class="form-actions">
                <button type="submit" class="button primary" id="save-user" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else if editing { "Save user" } else { "Create user" }}
                </button>
                <a class="button ghost" href="/users">"Cancel"</a>
            </div>
        </form>
    }
}

/// Resetting another user's REST credential, shown once. An island (admins only).
#[island]
fn ResetCredential(user_id: String) -> impl IntoView {
    let pending = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    let credential = RwSignal::new(String::new());
    let hydrated = use_hydrated();
    let reset = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let user_id = user_id.clone();
        pending.set(true);
        spawn_local(async move {
            match reset_user_credential(user_id).await {
                Ok(c) => credential.set(c),
                Err(e) => failure.set(Some(e.to_string())),
            }
            pending.set(false);
        });
    };
    view! {
        <section class="card">
            <h2>"REST credential"</h2>
            <p>"Resetting replaces this user's credential at once: scripts using the old one stop working."</p>
            <form on:submit=reset>
                <button type="submit" class="button secondary" id="reset-credential" disabled=move || !hydrated.get() || pending.get()>
                    {move || if pending.get() { "Resetting…" } else { "Reset credential" }}
                </button>
            </form>
            {move || failure.get().map(|e| view! { <p class="alert error" role="alert">{e}</p> })}
            <Show when=move || !credential.get().is_empty()>
                <div class="secret" role="status">
                    <p class="alert warning">"Copy the new credential now and give it to the user: it will not be shown again."</p>
                    <div class="secret-row">
                        <code id="new-user-credential">{move || credential.get()}</code>
                        <CopyButton text=Signal::derive(move || credential.get()) label="Copy the new credential"/>
                    </div>
                </div>
            </Show>
        </section>
    }
}
