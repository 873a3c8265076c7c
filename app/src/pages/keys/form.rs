//! The key form, for creating a key and for editing one: every section of seed 000.

use crate::api::{create_key, update_key};
use crate::components::access_rights::{AccessRightsEditor, RightsState};
use crate::components::copy_button::CopyButton;
use crate::components::dialog::Modal;
use crate::components::fields::{CheckField, LimitsState, LockNote, MetaFields, MetaState, QuotaFields, RateFields, TagInput, TextField};
use crate::components::toast::{go_to, reload, use_toasts};
use crate::components::widgets::{use_hydrated, local_datetime_to_unix, now_unix, ErrorSummary, Errors, FieldMessage};
use crate::model::forms::EXPIRY_PRESETS;
use crate::model::{
    format, validate_key_form, CreatedKey, Expiry, FormOptions, Governed, KeyAuth, KeyDetail, KeyForm, PolicyChoice,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The form while it is edited.
#[derive(Clone, Copy)]
struct KeyState {
    use_policies: RwSignal<bool>,
    rights: RightsState,
    policies: RwSignal<Vec<String>>,
    limits: LimitsState,
    /// "never", "keep", "date", or seconds from now.
    expiry_choice: RwSignal<String>,
    expiry_date: RwSignal<String>,
    keep_expires: i64,
    tags: RwSignal<Vec<String>>,
    meta: MetaState,
    alias: RwSignal<String>,
    detailed_logging: RwSignal<bool>,
    auth: RwSignal<KeyAuth>,
    basic_username: RwSignal<String>,
    basic_password: RwSignal<String>,
    existing: bool,
}

impl KeyState {
    fn new(f: KeyForm) -> Self {
        let (choice, keep) = match f.expiry {
            Expiry::Never => ("never".to_owned(), 0),
            Expiry::Keep(t) => ("keep".to_owned(), t),
            Expiry::In(s) => (s.to_string(), 0),
            Expiry::At(_) => ("date".to_owned(), 0),
        };
        Self {
            use_policies: RwSignal::new(f.use_policies),
            rights: RightsState::new(f.access_rights),
            policies: RwSignal::new(f.policies),
            limits: LimitsState::new(f.limits),
            expiry_choice: RwSignal::new(choice),
            expiry_date: RwSignal::new(String::new()),
            keep_expires: keep,
            tags: RwSignal::new(f.tags),
            meta: MetaState::new(f.meta_data),
            alias: RwSignal::new(f.alias),
            detailed_logging: RwSignal::new(f.detailed_logging),
            auth: RwSignal::new(f.auth),
            basic_username: RwSignal::new(f.basic_username),
            basic_password: RwSignal::new(String::new()),
            existing: f.existing,
        }
    }

    fn snapshot(&self) -> KeyForm {
        let choice = self.expiry_choice.get_untracked();
        let expiry = match choice.as_str() {
            "never" => Expiry::Never,
            "keep" => Expiry::Keep(self.keep_expires),
            "date" => Expiry::At(local_datetime_to_unix(&self.expiry_date.get_untracked())),
            secs => Expiry::In(secs.parse().unwrap_or(0)),
        };
        KeyForm {
            use_policies: self.use_policies.get_untracked(),
            access_rights: self.rights.snapshot(),
            policies: self.policies.get_untracked(),
            limits: self.limits.snapshot(),
            expiry,
            tags: self.tags.get_untracked(),
            meta_data: self.meta.snapshot(),
            alias: self.alias.get_untracked(),
            detailed_logging: self.detailed_logging.get_untracked(),
            auth: self.auth.get_untracked(),
            basic_username: self.basic_username.get_untracked(),
            basic_password: self.basic_password.get_untracked(),
            existing: self.existing,
        }
    }
}

/// What each chosen policy decides, by name: the text of the lock on a section.
fn lock_text(chosen: &[PolicyChoice], decides: impl Fn(&PolicyChoice) -> bool, what: impl Fn(&PolicyChoice) -> String) -> Option<String> {
    let deciding: Vec<&PolicyChoice> = chosen.iter().filter(|p| decides(p)).collect();
    match deciding.as_slice() {
        [] => None,
        [one] => Some(format!("Set by the policy {}: {}.", one.name, what(one))),
        many => Some(format!(
            "Set by the policies {} (the most generous value applies).",
            many.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn governs(p: &PolicyChoice) -> Governed {
    Governed::by([&p.partitions])
}

/// "Decides the key's access rights, rate limit and quota".
fn governs_text(p: &PolicyChoice) -> String {
    let g = governs(p);
    let mut parts = Vec::new();
    if g.access_rights {
        parts.push("access rights");
    }
    if g.rate_limit {
        parts.push("rate limit");
    }
    if g.quota {
        parts.push("quota");
    }
    let list = match parts.as_slice() {
        [] => "nothing".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    format!("Decides the key's {list}")
}

/// The form of a new key, or of the key being edited. An island: its props come from the
/// server as JSON. After an update the page loads again, to show the key as it is now.
#[island]
pub fn KeyEditor(
    options: FormOptions,
    /// The key being edited; none when creating one.
    #[prop(optional)]
    existing: Option<KeyDetail>,
) -> impl IntoView {
    let is_basic_key = existing.as_ref().is_some_and(|d| d.summary.basic_username.is_some());
    let key_hash = StoredValue::new(existing.as_ref().map(|d| d.summary.key_hash.to_string()));
    let state = KeyState::new(existing.as_ref().map(|d| d.form.clone()).unwrap_or_default());
    let errors = Errors::new();
    let hydrated = use_hydrated();
    let pending = RwSignal::new(false);
    let created = RwSignal::new(None::<CreatedKey>);
    // The HMAC secret an update made (HMAC turned on): shown once, like a new key's.
    let new_secret = RwSignal::new(None::<String>);
    let toasts = use_toasts();
    let all_policies = StoredValue::new(options.policies.clone());
    let apis = StoredValue::new(options.apis.clone());

    let chosen = Memo::new(move |_| {
        let ids = state.policies.get();
        all_policies.with_value(|all| all.iter().filter(|p| ids.contains(&p.id)).cloned().collect::<Vec<_>>())
    });
    let governed = Memo::new(move |_| {
        if state.use_policies.get() {
            chosen.with(|c| Governed::by(c.iter().map(|p| &p.partitions)))
        } else {
            Governed::default()
        }
    });
    let rate_lock = Signal::derive(move || {
        if !state.use_policies.get() {
            return None;
        }
        chosen.with(|c| lock_text(c, |p| governs(p).rate_limit, |p| format::rate(p.rate, p.per)))
    });
    let throttle_lock = Signal::derive(move || {
        if !state.use_policies.get() {
            return None;
        }
        chosen.with(|c| {
            lock_text(c, |p| governs(p).rate_limit, |p| {
                if p.throttle_retry_limit > 0 && p.throttle_interval > 0.0 {
                    format!("{} retries, every {}", p.throttle_retry_limit, format::period(p.throttle_interval))
                } else {
                    "no throttling".to_owned()
                }
            })
        })
    });
    let quota_lock = Signal::derive(move || {
        if !state.use_policies.get() {
            return None;
        }
        chosen.with(|c| lock_text(c, |p| governs(p).quota, |p| format::quota(p.quota_max, p.quota_renewal_rate)))
    });
    let access_lock = Signal::derive(move || {
        if !state.use_policies.get() || chosen.with(Vec::is_empty) {
            return None;
        }
        let text = chosen.with(|c| {
            lock_text(c, |p| governs(p).access_rights, |p| {
                if p.apis.is_empty() {
                    "no API listed (the policy sets limits only)".to_owned()
                } else {
                    p.apis.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                }
            })
        });
        Some(text.unwrap_or_else(|| {
            "None of the chosen policies decides access rights, so the key could reach no API: \
             add a policy with the Access rights partition (or none)."
                .to_owned()
        }))
    });

    let submit = move |suppress_reset: bool| {
        let form = state.snapshot();
        let found = validate_key_form(&form, governed.get_untracked(), now_unix());
        if !found.is_empty() {
            errors.show(found);
            return;
        }
        errors.clear();
        pending.set(true);
        match key_hash.get_value() {
            None => spawn_local(async move {
                let result = create_key(form).await;
                pending.set(false);
                match result {
                    Ok(key) => created.set(Some(key)),
                    Err(e) => errors.show_server(e),
                }
            }),
            Some(hash) => spawn_local(async move {
                let result = update_key(hash, form, suppress_reset).await;
                pending.set(false);
                match result {
                    Ok(None) => {
                        toasts.flash(if suppress_reset { "Key updated; its quota usage was kept." } else { "Key updated." });
                        reload();
                    }
                    Ok(Some(secret)) => new_secret.set(Some(secret)),
                    Err(e) => errors.show_server(e),
                }
            }),
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit(false);
    };

    let editing = key_hash.with_value(Option::is_some);
    let keep_label = (state.keep_expires > 0).then(|| format!("Keep: {}", format::utc(state.keep_expires)));
    let expiry = state.expiry_choice;

    let access_section = view! {
            <section class="card form-section" aria-labelledby="sec-access">
                <h2 id="sec-access">"Access"</h2>
                <fieldset class="plain">
                    <legend>"How the key gets its access"</legend>
                    <div class="choice-row">
                        <label class="check" for="mode-rights">
                            <input type="radio" name="access-mode" id="mode-rights" checked=!state.use_policies.get_untracked()
                                prop:checked=move || !state.use_policies.get() on:change=move |_| state.use_policies.set(false)/>
                            <span>"Choose access rights"</span>
                        </label>
                        <label class="check" for="mode-policies">
                            <input type="radio" name="access-mode" id="mode-policies" checked=state.use_policies.get_untracked()
                                prop:checked=move || state.use_policies.get() on:change=move |_| state.use_policies.set(true)/>
                            <span>"Apply policies"</span>
                        </label>
                    </div>
                </fieldset>
                <Show when=move || state.use_policies.get()>
                    <PolicyPicker policies=all_policies.get_value() chosen=state.policies errors/>
                </Show>
                <LockNote lock=access_lock/>
                <Show when=move || !state.use_policies.get()>
                    <h3 class="sub">"Access rights"</h3>
                    <AccessRightsEditor rights=state.rights apis=apis.get_value() errors
                        empty_note="No access rights added: the key may call every API."/>
                </Show>
            </section>
    }
    .into_any();
    let expiry_section = view! {
            <section class="card form-section" aria-labelledby="sec-expiry">
                <h2 id="sec-expiry">"Expiry"</h2>
                <p class="hint">"Keys that expire limit the harm a leaked key can do."</p>
                <div class="row">
                    <div class="field">
                        <label for="f-expires">"Expires"</label>
                        <select id="f-expires" prop:value=move || expiry.get() on:change=move |ev| expiry.set(event_target_value(&ev))
                            aria-describedby="f-expires-error">
                            {keep_label.map(|label| view! { <option value="keep" selected=move || expiry.get() == "keep">{label}</option> })}
                            <option value="never" selected=move || expiry.get() == "never">"Never"</option>
                            {EXPIRY_PRESETS.iter().map(|(label, secs)| {
                                let v = secs.to_string();
                                let sel = v.clone();
                                view! { <option value=v selected=move || expiry.get() == sel>{*label}</option> }
                            }).collect_view()}
                            <option value="date" selected=move || expiry.get() == "date">"On a date…"</option>
                        </select>
                    </div>
                    <Show when=move || expiry.get() == "date">
                        <div class="field">
                            <label for="f-expires-date">"Expiry date"</label>
                            <input id="f-expires-date" type="datetime-local" bind:value=state.expiry_date aria-describedby="f-expires-error"/>
                        </div>
                    </Show>
                </div>
                <FieldMessage errors field="expires"/>
            </section>
    }
    .into_any();
    let middle = view! {
            <QuotaFields limits=state.limits errors lock=quota_lock/>

            <TagInput tags=state.tags errors hint="Tags are added to the analytics of every request made with the key, and help you find it. Press Enter to add one."/>

            <MetaFields meta=state.meta errors hint="Key and value pairs kept with the key, e.g. the customer it belongs to."/>

            <section class="card form-section" aria-labelledby="sec-details">
                <h2 id="sec-details">"Alias and logging"</h2>
                <TextField value=state.alias errors field="alias" label="Alias" hint="A name for the key, shown in lists and analytics instead of its hash."/>
                <CheckField checked=state.detailed_logging id="f-detailed-logging" label="Enable detailed logging"
                    hint="Record each request and response in full in the analytics of this key."/>
            </section>
    }
    .into_any();
    let auth_section = view! {
            <section class="card form-section" aria-labelledby="sec-auth">
                <h2 id="sec-auth">"Authentication"</h2>
                {(!is_basic_key).then(|| view! {
                    <fieldset class="plain">
                        <legend>"How the client proves it holds the key"</legend>
                        <AuthChoice auth=state.auth value=KeyAuth::Token id="auth-token" label="Authentication token"
                            hint="The client sends the key itself in the Authorization header."/>
                        <AuthChoice auth=state.auth value=KeyAuth::Hmac id="auth-hmac" label="Enforce HMAC signing"
                            hint="The client signs each request with a secret made for this key (for APIs that check HMAC signatures)."/>
                        {(!editing).then(|| view! {
                            <AuthChoice auth=state.auth value=KeyAuth::Basic id="auth-basic" label="Basic auth user"
                                hint="The client sends a username and password. Usernames are unique in your organisation."/>
                        })}
                    </fieldset>
                })}
                <Show when=move || state.auth.get() == KeyAuth::Basic>
                    <div class="row">
                        <TextField value=state.basic_username errors field="basic_auth_data.user" label="Username"
                            autocomplete="off" disabled=Signal::stored(is_basic_key)/>
                        <TextField value=state.basic_password errors field="basic_auth_data.password"
                            label=if is_basic_key { "New password" } else { "Password" } kind="password" autocomplete="new-password"
                            hint=if is_basic_key { "Leave empty to keep the current password." } else { "Stored as a bcrypt hash; it cannot be shown again." }/>
                    </div>
                </Show>
            </section>
    }
    .into_any();
    let actions = view! {
            <div class="form-actions">
                {if editing {
                    view! {
                        <button type="submit" class="button primary" id="update-key" disabled=move || pending.get()>
                            {move || if pending.get() { "Saving…" } else { "Update" }}
                        </button>
                        <button type="button" class="button secondary" id="update-key-keep-quota" disabled=move || pending.get()
                            on:click=move |_| submit(true)>"Update without quota reset"</button>
                    }.into_any()
                } else {
                    view! {
                        <button type="submit" class="button primary" id="submit-key" disabled=move || pending.get()>
                            {move || if pending.get() { "Creating…" } else { "Create key" }}
                        </button>
                        <a class="button ghost" href="/keys">"Cancel"</a>
                    }.into_any()
                }}
            </div>
    }
    .into_any();

    view! {
        <form class="key-form" on:submit=on_submit novalidate data-hydrated=move || hydrated.get().to_string()>
            <ErrorSummary errors/>
            {access_section}
            <RateFields limits=state.limits errors lock=rate_lock throttle_lock=throttle_lock/>
            {expiry_section}
            {middle}
            {auth_section}
            {actions}
        </form>
        {move || created.get().map(|key| view! { <CreatedDialog key=key/> })}
        {move || new_secret.get().map(|secret| view! { <SecretDialog secret=secret/> })}
    }
}

/// Shows the HMAC secret an update made, once, with a copy button.
#[component]
fn SecretDialog(secret: String) -> impl IntoView {
    let toasts = use_toasts();
    let done = Callback::new(move |_| {
        toasts.flash("Key updated.");
        reload();
    });
    view! {
        <Modal labelled_by="secret-title" on_close=done>
            <h2 id="secret-title">"HMAC signing is on"</h2>
            <p class="alert warning">"Copy the HMAC secret now: it will not be shown again."</p>
            <p class="field-label">"HMAC secret"</p>
            <p class="hint">"The client signs its requests with this secret."</p>
            <div class="secret-row">
                <code id="updated-hmac-secret">{secret.clone()}</code>
                <CopyButton text=secret label="Copy the HMAC secret"/>
            </div>
            <div class="dialog-actions">
                <button type="button" class="button primary" id="secret-done" on:click=move |_| done.run(())>
                    "I have copied it"
                </button>
            </div>
        </Modal>
    }
}

#[component]
fn AuthChoice(auth: RwSignal<KeyAuth>, value: KeyAuth, id: &'static str, label: &'static str, hint: &'static str) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    view! {
        <div class="radio-option">
            <label class="check" for=id>
                <input type="radio" name="auth" id=id checked=auth.get_untracked() == value
                    prop:checked=move || auth.get() == value on:change=move |_| auth.set(value)
                    aria-describedby=hint_id.clone()/>
                <span>{label}</span>
            </label>
            <p class="hint" id=hint_id>{hint}</p>
        </div>
    }
}

#[component]
fn PolicyPicker(policies: Vec<PolicyChoice>, chosen: RwSignal<Vec<String>>, errors: Errors) -> impl IntoView {
    if policies.is_empty() {
        return view! {
            <p class="alert warning" id="f-apply_policies" tabindex="-1">"There is no policy yet. "
                <a href="/policies/new">"Create a policy"</a> " first, or choose access rights."</p>
            <FieldMessage errors field="apply_policies"/>
        }
        .into_any();
    }
    view! {
        <fieldset class="plain policy-picker" id="f-apply_policies" tabindex="-1" aria-describedby="f-apply_policies-error">
            <legend>"Policies to apply"</legend>
            <ul class="options">
                {policies.into_iter().map(|p| {
                    let id = format!("policy-{}", p.id);
                    let pid = p.id.clone();
                    let pid2 = p.id.clone();
                    let facts = format!(
                        "Rate: {} · Quota: {} · APIs: {}",
                        format::rate(p.rate, p.per),
                        format::quota(p.quota_max, p.quota_renewal_rate),
                        if p.apis.is_empty() { "none listed".to_owned() } else { p.apis.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ") }
                    );
                    view! {
                        <li class="option">
                            <label class="check" for=id.clone()>
                                <input type="checkbox" id=id.clone() checked=chosen.with_untracked(|c| c.contains(&p.id))
                                    prop:checked=move || chosen.with(|c| c.contains(&pid))
                                    on:change=move |_| chosen.update(|c| {
                                        if let Some(i) = c.iter().position(|x| *x == pid2) { c.remove(i); } else { c.push(pid2.clone()); }
                                    })/>
                                <span><strong>{p.name.clone()}</strong>
                                    {(!p.active).then(|| view! { <span class="badge off">"Draft: keys using it are refused"</span> })}
                                </span>
                            </label>
                            <p class="hint">{governs_text(&p)} ". " {facts}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <FieldMessage errors field="apply_policies"/>
        </fieldset>
    }
    .into_any()
}

/// Shows a new key, once, with copy buttons.
#[component]
fn CreatedDialog(key: CreatedKey) -> impl IntoView {
    let toasts = use_toasts();
    let done = Callback::new(move |_| {
        toasts.flash("Key created.");
        go_to("/keys");
    });
    let value = key.key.clone();
    view! {
        <Modal labelled_by="created-title" on_close=done>
            <h2 id="created-title">{if key.basic_username.is_some() { "Basic auth user created" } else { "Key created" }}</h2>
            {match key.basic_username.clone() {
                Some(user) => view! {
                    <p>"The client signs in with this username and the password you chose."</p>
                    <p class="field-label">"Username"</p>
                    <div class="secret-row">
                        <code id="created-username">{user.clone()}</code>
                        <CopyButton text=user label="Copy the username"/>
                    </div>
                }.into_any(),
                None => view! {
                    <p class="alert warning">"Copy the key now: it will not be shown again. Portcullis keeps only its hash."</p>
                    <p class="field-label">"Key"</p>
                    <div class="secret-row">
                        <code id="created-key">{value.clone()}</code>
                        <CopyButton text=value label="Copy the key"/>
                    </div>
                }.into_any(),
            }}
            {key.hmac_secret.clone().map(|secret| view! {
                <p class="field-label">"HMAC secret"</p>
                <p class="hint">"The client signs its requests with this secret."</p>
                <div class="secret-row">
                    <code id="created-hmac-secret">{secret.clone()}</code>
                    <CopyButton text=secret label="Copy the HMAC secret"/>
                </div>
            })}
            <p class="muted small">"Key hash (how the key is listed): " <code>{key.key_hash.to_string()}</code></p>
            <div class="dialog-actions">
                <button type="button" class="button primary" id="created-done" on:click=move |_| done.run(())>
                    "I have copied it"
                </button>
            </div>
        </Modal>
    }
}
