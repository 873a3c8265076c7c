//! The sections of the key form, each a component of its own: access (rights, or the policies
//! to apply), expiry, alias and logging, and authentication; and the notes that say which
//! policy decides a section. The rate and quota sections are `RateFields` and `QuotaFields`,
//! shared with the policy form.

use super::form::KeyState;
use crate::components::access_rights::AccessRightsEditor;
use crate::components::fields::{CheckField, LockNote, TextField};
use crate::components::widgets::{names, Errors, FieldMessage};
use crate::model::forms::EXPIRY_PRESETS;
use crate::model::{format, ApiChoice, Governed, KeyAuth, PolicyChoice};
use leptos::prelude::*;

/// What the chosen policies decide, as the notes on the sections they lock: none while the key
/// chooses its own access rights.
#[derive(Clone, Copy)]
pub struct PolicyLocks {
    pub access: Signal<Option<String>>,
    pub rate: Signal<Option<String>>,
    pub throttle: Signal<Option<String>>,
    pub quota: Signal<Option<String>>,
}

impl PolicyLocks {
    pub fn new(use_policies: RwSignal<bool>, chosen: Memo<Vec<PolicyChoice>>) -> Self {
        // One lock: the text `what` gives for the chosen policies that decide (per `decides`).
        let lock = move |decides: fn(&Governed) -> bool, what: fn(&PolicyChoice) -> String| {
            Signal::derive(move || {
                if !use_policies.get() {
                    return None;
                }
                chosen.with(|c| lock_text(c, |p| decides(&governs(p)), what))
            })
        };
        let access = lock(|g| g.access_rights, |p| names(p.apis.iter().map(|a| a.name.as_str()), "no API listed (the policy sets limits only)"));
        Self {
            access: Signal::derive(move || {
                if !use_policies.get() || chosen.with(Vec::is_empty) {
                    return None;
                }
                Some(access.get().unwrap_or_else(|| {
                    "None of the chosen policies decides access rights, so the key could reach no API: \
                     add a policy with the Access rights partition (or none)."
                        .to_owned()
                }))
            }),
            rate: lock(|g| g.rate_limit, |p| format::rate(p.rate, p.per)),
            throttle: lock(|g| g.rate_limit, throttle_text),
            quota: lock(|g| g.quota, |p| format::quota(p.quota_max, p.quota_renewal_rate)),
        }
    }
}

fn throttle_text(p: &PolicyChoice) -> String {
    if p.throttle_retry_limit > 0 && p.throttle_interval > 0.0 {
        format!("{} retries, every {}", p.throttle_retry_limit, format::period(p.throttle_interval))
    } else {
        "no throttling".to_owned()
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

/// How the key gets its access: its own access rights, or the policies it applies.
#[component]
pub fn AccessSection(
    state: KeyState,
    policies: Vec<PolicyChoice>,
    apis: Vec<ApiChoice>,
    errors: Errors,
    #[prop(into)] lock: Signal<Option<String>>,
) -> impl IntoView {
    let use_policies = state.use_policies;
    let (policies, apis) = (StoredValue::new(policies), StoredValue::new(apis));
    view! {
        <section class="card form-section" aria-labelledby="sec-access">
            <h2 id="sec-access">"Access"</h2>
            <fieldset class="plain">
                <legend>"How the key gets its access"</legend>
                <div class="choice-row">
                    <label class="check" for="mode-rights">
                        <input type="radio" name="access-mode" id="mode-rights" checked=!use_policies.get_untracked()
                            prop:checked=move || !use_policies.get() on:change=move |_| use_policies.set(false)/>
                        <span>"Choose access rights"</span>
                    </label>
                    <label class="check" for="mode-policies">
                        <input type="radio" name="access-mode" id="mode-policies" checked=use_policies.get_untracked()
                            prop:checked=move || use_policies.get() on:change=move |_| use_policies.set(true)/>
                        <span>"Apply policies"</span>
                    </label>
                </div>
            </fieldset>
            <Show when=move || use_policies.get()>
                <PolicyPicker policies=policies.get_value() chosen=state.policies errors/>
            </Show>
            <LockNote lock/>
            <Show when=move || !use_policies.get()>
                <h3 class="sub">"Access rights"</h3>
                <AccessRightsEditor rights=state.rights apis=apis.get_value() errors
                    empty_note="No access rights added: the key may call every API."/>
            </Show>
        </section>
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
                {policies.into_iter().map(|p| view! { <PolicyOption policy=p chosen/> }).collect_view()}
            </ul>
            <FieldMessage errors field="apply_policies"/>
        </fieldset>
    }
    .into_any()
}

/// One policy to check or uncheck, with what it decides and sets.
#[component]
fn PolicyOption(policy: PolicyChoice, chosen: RwSignal<Vec<String>>) -> impl IntoView {
    let p = policy;
    let id = format!("policy-{}", p.id);
    let pid = p.id.clone();
    let pid2 = p.id.clone();
    let facts = format!(
        "Rate: {} · Quota: {} · APIs: {}",
        format::rate(p.rate, p.per),
        format::quota(p.quota_max, p.quota_renewal_rate),
        names(p.apis.iter().map(|a| a.name.as_str()), "none listed")
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
}

/// When the key stops working: never, after a while, on a date, or when it did before.
#[component]
pub fn ExpirySection(state: KeyState, errors: Errors) -> impl IntoView {
    let keep_label = (state.keep_expires > 0).then(|| format!("Keep: {}", format::utc(state.keep_expires)));
    let expiry = state.expiry_choice;
    view! {
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
}

/// The key's alias, and whether its requests are logged in full.
#[component]
pub fn DetailsSection(state: KeyState, errors: Errors) -> impl IntoView {
    view! {
        <section class="card form-section" aria-labelledby="sec-details">
            <h2 id="sec-details">"Alias and logging"</h2>
            <TextField value=state.alias errors field="alias" label="Alias" hint="A name for the key, shown in lists and analytics instead of its hash."/>
            <CheckField checked=state.detailed_logging id="f-detailed-logging" label="Enable detailed logging"
                hint="Record each request and response in full in the analytics of this key."/>
        </section>
    }
}

/// How the client proves it holds the key: the key itself, HMAC signatures, or a basic-auth
/// username and password. A basic-auth key stays one; a key becomes one only when created.
#[component]
pub fn AuthSection(state: KeyState, errors: Errors, is_basic_key: bool, editing: bool) -> impl IntoView {
    view! {
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
