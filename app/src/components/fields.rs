//! Form sections shared by the key and policy forms: limits, tags, metadata.

use super::widgets::{error_id, Errors, FieldMessage};
use crate::model::forms::QUOTA_RESET_PRESETS;
use crate::model::{input_id, LimitsForm};
use leptos::prelude::*;

/// Attributes every input gets: `aria-invalid` and `aria-describedby` pointing at its message.
fn invalid(errors: Errors, field: &'static str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || if errors.has(field) { "true" } else { "false" }
}

/// A labelled text input bound to a signal, with its field's error below it.
#[component]
pub fn TextField(
    value: RwSignal<String>,
    errors: Errors,
    field: &'static str,
    #[prop(into)] label: String,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] disabled: Option<Signal<bool>>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let id = input_id(field);
    let hint_id = format!("{id}-hint");
    let described = if hint.is_some() { format!("{} {hint_id}", error_id(field)) } else { error_id(field) };
    let disabled = disabled.unwrap_or_else(|| Signal::stored(false));
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            <input id=id type=kind inputmode=inputmode placeholder=placeholder autocomplete=autocomplete
                value=value.get_untracked() bind:value=value required=required
                on:input=move |_| errors.clear_field(field)
                disabled=move || disabled.get() aria-invalid=invalid(errors, field) aria-describedby=described/>
            <FieldMessage errors field=field/>
        </div>
    }
}

/// A checkbox with its label after it.
#[component]
pub fn CheckField(
    checked: RwSignal<bool>,
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <div class="check-field">
            <label class="check" for=id.clone()>
                <input type="checkbox" id=id.clone() checked=checked.get_untracked() bind:checked=checked/>
                <span>{label}</span>
            </label>
            {hint.map(|h| view! { <p class="hint">{h}</p> })}
        </div>
    }
}

/// The limits of a key or policy while they are edited.
#[derive(Clone, Copy)]
pub struct LimitsState {
    pub rate_disabled: RwSignal<bool>,
    pub rate: RwSignal<String>,
    pub per: RwSignal<String>,
    pub throttle_disabled: RwSignal<bool>,
    pub throttle_retry_limit: RwSignal<String>,
    pub throttle_interval: RwSignal<String>,
    pub quota_unlimited: RwSignal<bool>,
    pub quota_max: RwSignal<String>,
    pub quota_renewal_rate: RwSignal<i64>,
}

impl LimitsState {
    pub fn new(f: LimitsForm) -> Self {
        Self {
            rate_disabled: RwSignal::new(f.rate_disabled),
            rate: RwSignal::new(f.rate),
            per: RwSignal::new(f.per),
            throttle_disabled: RwSignal::new(f.throttle_disabled),
            throttle_retry_limit: RwSignal::new(f.throttle_retry_limit),
            throttle_interval: RwSignal::new(f.throttle_interval),
            quota_unlimited: RwSignal::new(f.quota_unlimited),
            quota_max: RwSignal::new(f.quota_max),
            quota_renewal_rate: RwSignal::new(f.quota_renewal_rate),
        }
    }

    pub fn snapshot(&self) -> LimitsForm {
        LimitsForm {
            rate_disabled: self.rate_disabled.get_untracked(),
            rate: self.rate.get_untracked(),
            per: self.per.get_untracked(),
            throttle_disabled: self.throttle_disabled.get_untracked(),
            throttle_retry_limit: self.throttle_retry_limit.get_untracked(),
            throttle_interval: self.throttle_interval.get_untracked(),
            quota_unlimited: self.quota_unlimited.get_untracked(),
            quota_max: self.quota_max.get_untracked(),
            quota_renewal_rate: self.quota_renewal_rate.get_untracked(),
        }
    }
}

/// What a section shows instead of its inputs when a policy decides it.
#[component]
pub fn LockNote(#[prop(into)] lock: Signal<Option<String>>) -> impl IntoView {
    view! {
        {move || lock.get().map(|text| view! {
            <p class="locked">
                <svg class="lock" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                    <path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z" fill="currentColor"/>
                </svg>
                " " {text}
            </p>
        })}
    }
}

/// Rate limiting and throttling.
#[component]
pub fn RateFields(
    limits: LimitsState,
    errors: Errors,
    /// Set when policies decide the rate limit: says which, and what it is.
    #[prop(into)]
    lock: Signal<Option<String>>,
    /// The same, for throttling (decided with the rate limit).
    #[prop(into)]
    throttle_lock: Signal<Option<String>>,
) -> impl IntoView {
    let locked = move || lock.with(Option::is_some);
    let rate_off = Signal::derive(move || limits.rate_disabled.get());
    let throttle_off = Signal::derive(move || limits.throttle_disabled.get());
    view! {
        <section class="card form-section" aria-labelledby="sec-rate">
            <h2 id="sec-rate">"Rate limiting"</h2>
            <p class="hint">"How many requests the key may make in a period, counted per key."</p>
            <LockNote lock/>
            <Show when=move || !locked()>
                <fieldset class="plain">
                    <legend class="visually-hidden">"Rate limit"</legend>
                    <CheckField checked=limits.rate_disabled id="f-rate-disabled" label="Disable rate limiting"/>
                    <div class="row">
                        <TextField value=limits.rate errors field="rate" label="Rate (requests)" inputmode="decimal" disabled=rate_off/>
                        <TextField value=limits.per errors field="per" label="Per (seconds)" inputmode="decimal" disabled=rate_off/>
                    </div>
                </fieldset>
            </Show>
        </section>
        <section class="card form-section" aria-labelledby="sec-throttle">
            <h2 id="sec-throttle">"Throttling"</h2>
            <p class="hint">"When the rate limit is reached, the gateway retries the request this many times, waiting this long between tries, before it refuses it."</p>
            <LockNote lock=throttle_lock/>
            <Show when=move || !locked()>
                <fieldset class="plain">
                    <legend class="visually-hidden">"Throttling"</legend>
                    <CheckField checked=limits.throttle_disabled id="f-throttle-disabled" label="Disable throttling"/>
                    <div class="row">
                        <TextField value=limits.throttle_retry_limit errors field="throttle_retry_limit" label="Retry limit" inputmode="numeric" disabled=throttle_off/>
                        <TextField value=limits.throttle_interval errors field="throttle_interval" label="Interval (seconds)" inputmode="decimal" disabled=throttle_off/>
                    </div>
                </fieldset>
            </Show>
        </section>
    }
}

/// The usage quota: unlimited, or a number of requests and when it resets.
#[component]
pub fn QuotaFields(limits: LimitsState, errors: Errors, #[prop(into)] lock: Signal<Option<String>>) -> impl IntoView {
    let locked = move || lock.with(Option::is_some);
    let off = Signal::derive(move || limits.quota_unlimited.get());
    let renewal = limits.quota_renewal_rate;
    let initial = renewal.get_untracked();
    let custom = (!QUOTA_RESET_PRESETS.iter().any(|(_, s)| *s == initial)).then_some(initial);
    view! {
        <section class="card form-section" aria-labelledby="sec-quota">
            <h2 id="sec-quota">"Usage quota"</h2>
            <p class="hint">"The most requests the key may make until the quota resets."</p>
            <LockNote lock/>
            <Show when=move || !locked()>
            <fieldset class="plain">
                <legend class="visually-hidden">"Quota"</legend>
                <CheckField checked=limits.quota_unlimited id="f-quota-unlimited" label="Unlimited quota"/>
                <div class="row">
                    <TextField value=limits.quota_max errors field="quota_max" label="Maximum requests" inputmode="numeric" disabled=off/>
                    <div class="field">
                        <label for="f-quota_renewal_rate">"Quota resets"</label>
                        <select id="f-quota_renewal_rate" disabled=move || off.get()
                            prop:value=move || renewal.get().to_string()
                            on:change=move |ev| renewal.set(event_target_value(&ev).parse().unwrap_or(0))>
                            {custom.map(|secs| view! {
                                <option value=secs.to_string() selected=move || renewal.get() == secs>
                                    {format!("Every {secs} seconds")}
                                </option>
                            })}
                            {QUOTA_RESET_PRESETS.iter().map(|(label, secs)| {
                                let secs = *secs;
                                view! { <option value=secs.to_string() selected=move || renewal.get() == secs>{*label}</option> }
                            }).collect_view()}
                        </select>
                        <FieldMessage errors field="quota_renewal_rate"/>
                    </div>
                </div>
            </fieldset>
            </Show>
        </section>
    }
}

/// Tags as removable chips; Enter or comma adds what was typed.
#[component]
pub fn TagInput(tags: RwSignal<Vec<String>>, errors: Errors, #[prop(into)] hint: String) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let add = move || {
        let t = draft.get_untracked().trim().trim_matches(',').trim().to_owned();
        if !t.is_empty() {
            tags.update(|v| {
                if !v.contains(&t) {
                    v.push(t)
                }
            });
        }
        draft.set(String::new());
    };
    view! {
        <section class="card form-section" aria-labelledby="sec-tags">
            <h2 id="sec-tags">"Tags"</h2>
            <p class="hint" id="f-tags-hint">{hint}</p>
            <ul class="chips" aria-label="Tags added">
                <For each=move || tags.get() key=|t| t.clone() let:tag>
                    {
                        let name = tag.clone();
                        view! {
                            <li class="chip">
                                <span>{tag.clone()}</span>
                                <button type="button" class="chip-remove" aria-label=format!("Remove tag {tag}")
                                    on:click=move |_| tags.update(|v| v.retain(|x| *x != name))>"×"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <div class="row inline">
                <div class="field grow">
                    <label for="f-tags">"New tag"</label>
                    <input id="f-tags" type="text" bind:value=draft autocomplete="off"
                        aria-describedby="f-tags-hint f-tags-error" aria-invalid=invalid(errors, "tags")
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" || ev.key() == "," {
                                ev.prevent_default();
                                add();
                            }
                        }/>
                </div>
                <button type="button" class="button secondary" on:click=move |_| add()>"Add tag"</button>
            </div>
            <FieldMessage errors field="tags"/>
        </section>
    }
}

/// One metadata row while it is edited.
#[derive(Clone, Copy)]
pub struct MetaRow {
    pub id: u32,
    pub key: RwSignal<String>,
    pub value: RwSignal<String>,
}

#[derive(Clone, Copy)]
pub struct MetaState {
    pub rows: RwSignal<Vec<MetaRow>>,
    next: StoredValue<u32>,
}

impl MetaState {
    pub fn new(rows: Vec<(String, String)>) -> Self {
        let n = rows.len() as u32;
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, (k, v))| MetaRow { id: i as u32, key: RwSignal::new(k), value: RwSignal::new(v) })
            .collect();
        Self { rows: RwSignal::new(rows), next: StoredValue::new(n) }
    }

    pub fn add(&self) -> u32 {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.rows.update(|r| r.push(MetaRow { id, key: RwSignal::new(String::new()), value: RwSignal::new(String::new()) }));
        id
    }

    pub fn snapshot(&self) -> Vec<(String, String)> {
        self.rows.with_untracked(|r| r.iter().map(|m| (m.key.get_untracked(), m.value.get_untracked())).collect())
    }
}

/// Metadata: key and value rows.
#[component]
pub fn MetaFields(meta: MetaState, errors: Errors, #[prop(into)] hint: String) -> impl IntoView {
    let add = move |_| {
        let id = meta.add();
        request_animation_frame(move || {
            if let Some(el) = document().get_element_by_id(&format!("meta-key-{id}")) {
                use wasm_bindgen::JsCast;
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        });
    };
    view! {
        <section class="card form-section" aria-labelledby="sec-meta">
            <h2 id="sec-meta">"Metadata"</h2>
            <p class="hint">{hint}</p>
            <div class="meta-rows">
                <For each=move || meta.rows.get() key=|r| r.id let:row>
                    <div class="meta-row">
                        <div class="field">
                            <label for=format!("meta-key-{}", row.id)>{format!("Metadata key {}", row.id + 1)}</label>
                            <input id=format!("meta-key-{}", row.id) type="text" value=row.key.get_untracked() bind:value=row.key autocomplete="off"/>
                        </div>
                        <div class="field">
                            <label for=format!("meta-value-{}", row.id)>{format!("Metadata value {}", row.id + 1)}</label>
                            <input id=format!("meta-value-{}", row.id) type="text" value=row.value.get_untracked() bind:value=row.value autocomplete="off"/>
                        </div>
                        <button type="button" class="button ghost small" aria-label=format!("Remove metadata {}", row.id + 1)
                            on:click=move |_| meta.rows.update(|r| r.retain(|m| m.id != row.id))>"Remove"</button>
                    </div>
                </For>
            </div>
            <button type="button" class="button secondary" id="f-meta_data" on:click=add>"Add metadata"</button>
            <FieldMessage errors field="meta_data"/>
        </section>
    }
}
