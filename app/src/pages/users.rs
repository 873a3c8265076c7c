//! Users of the organisation: the list, creating a user with its permissions, changing one
//! (names, permissions, active), and resetting another user's REST credential (admins).

use crate::api::{create_user, list_users, reset_user_credential, update_user};
use crate::components::action::{form_call, server_call};
use crate::components::copy_button::CopyButton;
use crate::components::fields::{CheckField, TextField};
use crate::components::layout::{may, Allowed, NoAccess, ProfileResource};
use crate::components::list_page::{CreateLink, DataTable, ListPage};
use crate::components::toast::leave;
use crate::components::widgets::{use_hydrated, ErrorSummary, Errors, FieldMessage, LoadError, Loading};
use crate::model::{format, validate_password, Area, FieldError, Level, Permissions, UserForm, UserSummary};
use leptos::prelude::*;
use std::collections::BTreeMap;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    let create = CreateLink { area: Area::Users, href: "/users/new", label: "Create user" };
    let render = |list: Vec<UserSummary>| view! { <UserTable users=list/> };
    view! {
        <ListPage heading="Users" create create_id="create-user" loading="Loading users…" list=users render
            lead="The people who sign in to this dashboard or call the REST API for your organisation, and what each may see and change."/>
    }
}

#[component]
fn UserTable(users: Vec<UserSummary>) -> impl IntoView {
    view! {
        <DataTable caption="Users" class="users-table" columns=&["Email", "Name", "Role", "State", "Last sign-in"]>
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
        </DataTable>
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

/// What is wrong with a user form before it is sent (a new user needs a password).
fn user_form_errors(form: &UserForm, editing: bool) -> Vec<FieldError> {
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
    found
}

/// The user form while it is edited.
#[derive(Clone, Copy)]
struct UserState {
    email: RwSignal<String>,
    first_name: RwSignal<String>,
    last_name: RwSignal<String>,
    password: RwSignal<String>,
    active: RwSignal<bool>,
    admin: RwSignal<bool>,
    /// The level of each area of the dashboard; none for no access.
    levels: StoredValue<Vec<(Area, RwSignal<Option<Level>>)>>,
    /// The permissions Portcullis does not know, kept as they were.
    other: StoredValue<BTreeMap<String, String>>,
}

impl UserState {
    fn new(existing: Option<UserSummary>) -> Self {
        let (email, first_name, last_name, active, permissions) = match existing {
            Some(u) => (u.email, u.first_name, u.last_name, u.active, u.permissions),
            None => (String::new(), String::new(), String::new(), true, Permissions::default()),
        };
        let levels = Area::ALL.into_iter().map(|a| (a, RwSignal::new(permissions.areas.get(&a).copied()))).collect();
        Self {
            email: RwSignal::new(email),
            first_name: RwSignal::new(first_name),
            last_name: RwSignal::new(last_name),
            password: RwSignal::new(String::new()),
            active: RwSignal::new(active),
            admin: RwSignal::new(permissions.admin),
            levels: StoredValue::new(levels),
            other: StoredValue::new(permissions.other),
        }
    }

    fn snapshot(&self) -> UserForm {
        let permissions = Permissions {
            admin: self.admin.get_untracked(),
            areas: self.levels.with_value(|l| l.iter().filter_map(|(a, v)| v.get_untracked().map(|lv| (*a, lv))).collect()),
            other: self.other.get_value(),
        };
        UserForm {
            email: self.email.get_untracked().trim().to_owned(),
            first_name: self.first_name.get_untracked(),
            last_name: self.last_name.get_untracked(),
            password: self.password.get_untracked(),
            active: self.active.get_untracked(),
            permissions,
        }
    }
}

/// The form of a new user, or of the user being changed. An island; after a change the page
/// loads again.
#[island]
fn UserEditor(#[prop(optional)] existing: Option<UserSummary>) -> impl IntoView {
    let id = existing.as_ref().map(|u| u.user_id.to_string());
    let editing = existing.is_some();
    let state = UserState::new(existing);
    let UserState { email, first_name, last_name, password, active, admin, levels, .. } = state;
    let errors = Errors::new();
    let hydrated = use_hydrated();
    let send = move |form: UserForm| {
        let current = id.clone();
        async move {
            match current {
                Some(user_id) => update_user(user_id, form).await.map(|()| None),
                None => create_user(form).await.map(Some),
            }
        }
    };
    let save = form_call(errors, send, |created: Option<UserSummary>| match created {
        None => leave("User saved.", None),
        Some(u) => leave(format!("User {} created: they can sign in with the password you chose.", u.email), Some("/users")),
    });
    let pending = save.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = state.snapshot();
        if errors.passes(user_form_errors(&form, editing)) {
            save.dispatch(form);
        }
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
    let reset = server_call(move |()| reset_user_credential(user_id.clone()));
    let pending = reset.pending();
    let credential = Signal::derive(move || reset.value().get().and_then(Result::ok).unwrap_or_default());
    let failure = move || reset.value().get().and_then(Result::err).map(|e| e.to_string());
    let hydrated = use_hydrated();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        reset.dispatch(());
    };
    view! {
        <section class="card">
            <h2>"REST credential"</h2>
            <p>"Resetting replaces this user's credential at once: scripts using the old one stop working."</p>
            <form on:submit=submit>
                <button type="submit" class="button secondary" id="reset-credential" disabled=move || !hydrated.get() || pending.get()>
                    {move || if pending.get() { "Resetting…" } else { "Reset credential" }}
                </button>
            </form>
            {move || failure().map(|e| view! { <p class="alert error" role="alert">{e}</p> })}
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
