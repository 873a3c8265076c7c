//! The key form, for creating a key and for editing one: its state while edited (`KeyState`),
//! the island that checks and sends it, and the dialogs that show a new key's secrets once.
//! Its sections are components of their own, in `sections`.

use super::sections::{AccessSection, AuthSection, DetailsSection, ExpirySection, PolicyLocks};
use crate::api::{create_key, update_key};
use crate::components::access_rights::RightsState;
use crate::components::action::form_call;
use crate::components::copy_button::CopyButton;
use crate::components::dialog::Modal;
use crate::components::fields::{LimitsState, MetaFields, MetaState, QuotaFields, RateFields, TagInput};
use crate::components::toast::leave;
use crate::components::widgets::{use_hydrated, local_datetime_to_unix, now_unix, ErrorSummary, Errors};
use crate::model::{validate_key_form, CreatedKey, Expiry, FormOptions, Governed, KeyAuth, KeyDetail, KeyForm};
use leptos::prelude::*;

/// The form while it is edited.
#[derive(Clone, Copy)]
pub struct KeyState {
    pub use_policies: RwSignal<bool>,
    pub rights: RightsState,
    pub policies: RwSignal<Vec<String>>,
    pub limits: LimitsState,
    /// "never", "keep", "date", or seconds from now.
    pub expiry_choice: RwSignal<String>,
    pub expiry_date: RwSignal<String>,
    /// The expiry an edited key had, offered as "Keep"; 0 for none.
    pub keep_expires: i64,
    pub tags: RwSignal<Vec<String>>,
    pub meta: MetaState,
    pub alias: RwSignal<String>,
    pub detailed_logging: RwSignal<bool>,
    pub auth: RwSignal<KeyAuth>,
    pub basic_username: RwSignal<String>,
    pub basic_password: RwSignal<String>,
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

/// What a save made: a new key (shown once), or an update (with the HMAC secret it made, when
/// it turned HMAC on).
enum Saved {
    Created(CreatedKey),
    Updated { secret: Option<String>, suppress_reset: bool },
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
    let key_hash = existing.as_ref().map(|d| d.summary.key_hash.to_string());
    let editing = key_hash.is_some();
    let state = KeyState::new(existing.map(|d| d.form).unwrap_or_default());
    let errors = Errors::new();
    let hydrated = use_hydrated();
    let created = RwSignal::new(None::<CreatedKey>);
    // The HMAC secret an update made (HMAC turned on): shown once, like a new key's.
    let new_secret = RwSignal::new(None::<String>);
    let all_policies = StoredValue::new(options.policies.clone());
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
    let locks = PolicyLocks::new(state.use_policies, chosen);

    // Input: the form, and whether an update keeps the quota's usage.
    let send = move |(form, suppress_reset): (KeyForm, bool)| {
        let hash = key_hash.clone();
        async move {
            match hash {
                None => create_key(form).await.map(Saved::Created),
                Some(hash) => update_key(hash, form, suppress_reset).await.map(|secret| Saved::Updated { secret, suppress_reset }),
            }
        }
    };
    let save = form_call(errors, send, move |saved: Saved| match saved {
        Saved::Created(key) => created.set(Some(key)),
        Saved::Updated { secret: Some(secret), .. } => new_secret.set(Some(secret)),
        Saved::Updated { secret: None, suppress_reset: true } => leave("Key updated; its quota usage was kept.", None),
        Saved::Updated { secret: None, suppress_reset: false } => leave("Key updated.", None),
    });
    let submit = Callback::new(move |suppress_reset: bool| {
        let form = state.snapshot();
        if errors.passes(validate_key_form(&form, governed.get_untracked(), now_unix())) {
            save.dispatch((form, suppress_reset));
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit.run(false);
    };

    view! {
        <form class="key-form" on:submit=on_submit novalidate data-hydrated=move || hydrated.get().to_string()>
            <ErrorSummary errors/>
            <AccessSection state policies=options.policies apis=options.apis errors lock=locks.access/>
            <RateFields limits=state.limits errors lock=locks.rate throttle_lock=locks.throttle/>
            <ExpirySection state errors/>
            <QuotaFields limits=state.limits errors lock=locks.quota/>
            <TagInput tags=state.tags errors hint="Tags are added to the analytics of every request made with the key, and help you find it. Press Enter to add one."/>
            <MetaFields meta=state.meta errors hint="Key and value pairs kept with the key, e.g. the customer it belongs to."/>
            <DetailsSection state errors/>
            <AuthSection state errors is_basic_key editing/>
            <FormActions editing pending=save.pending() submit/>
        </form>
        {move || created.get().map(|key| view! { <CreatedDialog key=key/> })}
        {move || new_secret.get().map(|secret| view! { <SecretDialog secret=secret/> })}
    }
}

/// Create (or Cancel) for a new key; for a key being edited, Update with or without resetting
/// its quota.
#[component]
fn FormActions(editing: bool, #[prop(into)] pending: Signal<bool>, submit: Callback<bool>) -> impl IntoView {
    let buttons = if editing {
        view! {
            <button type="submit" class="button primary" id="update-key" disabled=move || pending.get()>
                {move || if pending.get() { "Saving…" } else { "Update" }}
            </button>
            <button type="button" class="button secondary" id="update-key-keep-quota" disabled=move || pending.get()
                on:click=move |_| submit.run(true)>"Update without quota reset"</button>
        }
        .into_any()
    } else {
        view! {
            <button type="submit" class="button primary" id="submit-key" disabled=move || pending.get()>
                {move || if pending.get() { "Creating…" } else { "Create key" }}
            </button>
            <a class="button ghost" href="/keys">"Cancel"</a>
        }
        .into_any()
    };
    view! { <div class="form-actions">{buttons}</div> }
}

/// Shows the HMAC secret an update made, once, with a copy button.
#[component]
fn SecretDialog(secret: String) -> impl IntoView {
    let done = Callback::new(move |_| leave("Key updated.", None));
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

/// Shows a new key, once, with copy buttons.
#[component]
fn CreatedDialog(key: CreatedKey) -> impl IntoView {
    let done = Callback::new(move |_| leave("Key created.", Some("/keys")));
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
