//! Policies: the list, and one form to create or edit a policy.

use crate::api::{delete_policy, get_form_options, get_policy, list_policies, save_policy};
use crate::components::access_rights::{AccessRightsEditor, RightsState};
use crate::components::action::form_call;
use crate::components::dialog::DeleteDialog;
use crate::components::fields::{CheckField, LimitsState, MetaFields, MetaState, QuotaFields, RateFields, TagInput, TextField};
use crate::components::list_page::{CreateLink, DataTable, EmptyState, ListPage};
use crate::components::toast::leave;
use crate::components::widgets::{names, use_hydrated, ErrorSummary, Errors, FieldMessage, LoadError, Loading};
use crate::components::layout::{may, Allowed, NoAccess, ProfileResource};
use crate::model::{format, validate_policy_form, Area, Level, ApiChoice, PolicyDetail, PolicyForm, PolicyPartitions, PolicySummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn PoliciesPage() -> impl IntoView {
    let policies = Resource::new(|| (), |_| list_policies());
    let create = CreateLink { area: Area::Policies, href: "/policies/new", label: "Create policy" };
    let first = CreateLink { label: "Create your first policy", ..create };
    let render = |list: Vec<PolicySummary>| view! { <PolicyTable policies=list/> };
    view! {
        <ListPage heading="Policies" create create_id="create-policy" loading="Loading policies…" list=policies render
            lead="A policy holds limits and access rights that many keys share: change the policy and every key that applies it changes with it."
            empty=move || view! {
                <EmptyState heading="No policies yet" create=first>
                    <p>"Create a policy to manage the rate limit, quota and access of many keys in one place; then apply it when you create a key."</p>
                </EmptyState>
            }/>
    }
}

fn partitions_text(p: &PolicyPartitions) -> String {
    if p.per_api {
        return "Per API".into();
    }
    if !p.enabled() {
        return "Everything".into();
    }
    let mut parts = Vec::new();
    if p.acl {
        parts.push("Access rights");
    }
    if p.rate_limit {
        parts.push("Rate limit");
    }
    if p.quota {
        parts.push("Quota");
    }
    if p.complexity {
        parts.push("Complexity");
    }
    parts.join(", ")
}

#[component]
fn PolicyTable(policies: Vec<PolicySummary>) -> impl IntoView {
    view! {
        <DataTable caption="Policies" columns=&["Name", "Rate limit", "Quota", "APIs", "Decides", "State", "Keys"]>
            {policies.into_iter().map(|s| {
                let p = s.choice;
                let apis = names(p.apis.iter().map(|a| a.name.as_str()), "—");
                view! {
                    <tr>
                        <td data-label="Name"><a class="key-title" href=format!("/policies/{}", p.id)>{p.name.clone()}</a></td>
                        <td data-label="Rate limit">{format::rate(p.rate, p.per)}</td>
                        <td data-label="Quota">{format::quota(p.quota_max, p.quota_renewal_rate)}</td>
                        <td data-label="APIs">{apis}</td>
                        <td data-label="Decides">{partitions_text(&p.partitions)}</td>
                        <td data-label="State">{if p.active { view! { <span class="badge ok">"Active"</span> } } else { view! { <span class="badge off">"Draft"</span> } }}</td>
                        <td data-label="Keys">{s.key_count}</td>
                    </tr>
                }
            }).collect_view()}
        </DataTable>
    }
}

#[component]
pub fn NewPolicyPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| get_form_options());
    view! {
        <Title text="Create policy · Portcullis"/>
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/policies">"Policies"</a> " / " <span aria-current="page">"Create policy"</span></nav>
        <h1>"Create policy"</h1>
        <Allowed area=Area::Policies level=Level::Write fallback=|| view! { <NoAccess area=Area::Policies level=Level::Write/> }>
            <Suspense fallback=|| view! { <Loading label="Loading the form…"/> }>
                {move || Suspend::new(async move {
                    match options.await {
                        Ok(o) => view! { <PolicyEditor apis=o.apis/> }.into_any(),
                        Err(e) => view! { <LoadError error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </Allowed>
    }
}

#[component]
pub fn PolicyPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let detail = Resource::new(move || id.get(), get_policy);
    let options = Resource::new(|| (), |_| get_form_options());
    let profile = expect_context::<ProfileResource>();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/policies">"Policies"</a> " / " <span aria-current="page">"Policy"</span></nav>
        <Transition fallback=|| view! { <Loading label="Loading the policy…"/> }>
            {move || Suspend::new(async move {
                let writable = may(profile, Area::Policies, Level::Write).await;
                match (detail.await, options.await) {
                    (Ok(d), Ok(o)) => view! {
                        <Title text=format!("{} · Policies · Portcullis", d.form.name)/>
                        <PolicyHead id=d.id.clone() name=d.form.name.clone() key_count=d.key_count writable=writable/>
                        // Read-only: the settings are shown, every input disabled, no Save.
                        <fieldset class="plain read-only-when" disabled=!writable data-read-only=(!writable).to_string()>
                            <PolicyEditor apis=o.apis existing=d/>
                        </fieldset>
                    }.into_any(),
                    (Err(e), _) | (_, Err(e)) => view! { <h1>"Policy"</h1> <LoadError error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The policy's name and the Delete action. An island.
#[island]
fn PolicyHead(id: String, name: String, key_count: i64, writable: bool) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let hydrated = use_hydrated();
    let uses = match key_count {
        0 => "No key applies this policy.".to_owned(),
        n => format!("{} {} this policy.", format::count(n, "key"), if n == 1 { "applies" } else { "apply" }),
    };
    view! {
        <div class="page-head" data-hydrated=move || hydrated.get().to_string()>
            <h1>{name.clone()}</h1>
            {writable.then(|| view! {
                <div class="actions">
                    <button type="button" class="button danger" id="delete-policy" on:click=move |_| confirm.set(true)>"Delete"</button>
                </div>
            })}
        </div>
        <p class="muted">"Id " <code>{id.clone()}</code> ". " {uses}</p>
        <Show when=move || confirm.get()>
            <DeletePolicyDialog id=id.clone() name=name.clone() key_count=key_count
                close=Callback::new(move |_| confirm.set(false))/>
        </Show>
    }
}

#[component]
fn DeletePolicyDialog(id: String, name: String, key_count: i64, close: Callback<()>) -> impl IntoView {
    let consequence = if key_count > 0 {
        format!(
            "{} {} this policy. They keep naming it, and a key whose only policy is gone is refused by the gateway: \
             apply another policy to them first.",
            format::count(key_count, "key"),
            if key_count == 1 { "applies" } else { "apply" }
        )
    } else {
        "No key applies it. This cannot be undone.".to_owned()
    };
    let n = name.clone();
    let delete = move || {
        let (id, name) = (id.clone(), n.clone());
        async move {
            delete_policy(id).await.map(|count| format!("Policy “{name}” deleted; {} named it.", format::count(count, "key")))
        }
    };
    view! {
        <DeleteDialog labelled_by="delete-policy-title" title=format!("Delete the policy “{name}”?") confirm="Delete policy"
            next="/policies" delete close>
            <p id="delete-policy-consequence">{consequence}</p>
        </DeleteDialog>
    }
}

#[component]
fn PartitionBox(value: RwSignal<PolicyPartitions>, id: &'static str, label: &'static str, get: fn(&PolicyPartitions) -> bool, set: fn(&mut PolicyPartitions, bool)) -> impl IntoView {
    view! {
        <label class="check inline" for=id>
            <input type="checkbox" id=id checked=get(&value.get_untracked()) prop:checked=move || get(&value.get())
                on:change=move |ev| { let on = event_target_checked(&ev); value.update(|p| set(p, on)); }/>
            <span>{label}</span>
        </label>
    }
}

/// The policy form while it is edited.
#[derive(Clone, Copy)]
struct PolicyState {
    name: RwSignal<String>,
    active: RwSignal<bool>,
    limits: LimitsState,
    rights: RightsState,
    partitions: RwSignal<PolicyPartitions>,
    tags: RwSignal<Vec<String>>,
    meta: MetaState,
}

impl PolicyState {
    fn new(f: PolicyForm) -> Self {
        Self {
            name: RwSignal::new(f.name),
            active: RwSignal::new(f.active),
            limits: LimitsState::new(f.limits),
            rights: RightsState::new(f.access_rights),
            partitions: RwSignal::new(f.partitions),
            tags: RwSignal::new(f.tags),
            meta: MetaState::new(f.meta_data),
        }
    }

    fn snapshot(&self) -> PolicyForm {
        PolicyForm {
            name: self.name.get_untracked(),
            active: self.active.get_untracked(),
            limits: self.limits.snapshot(),
            access_rights: self.rights.snapshot(),
            partitions: self.partitions.get_untracked(),
            tags: self.tags.get_untracked(),
            meta_data: self.meta.snapshot(),
        }
    }
}

/// The form of a new policy, or of the policy being edited. An island; after an update the page
/// loads again.
#[island]
fn PolicyEditor(apis: Vec<ApiChoice>, #[prop(optional)] existing: Option<PolicyDetail>) -> impl IntoView {
    let id = existing.as_ref().map(|d| d.id.clone());
    let editing = id.is_some();
    let state = PolicyState::new(existing.map(|d| d.form).unwrap_or_default());
    let errors = Errors::new();
    let hydrated = use_hydrated();
    let save = form_call(errors, move |form| save_policy(id.clone(), form), move |saved: String| match editing {
        true => leave("Policy saved. Keys that apply it use the new settings at once.", None),
        false => leave("Policy created.", Some(&format!("/policies/{saved}"))),
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = state.snapshot();
        if errors.passes(validate_policy_form(&form)) {
            save.dispatch(form);
        }
    };
    let pending = save.pending();
    let no_lock = Signal::stored(None::<String>);
    let limits = state.limits;
    view! {
        <form class="policy-form" on:submit=submit novalidate data-hydrated=move || hydrated.get().to_string()>
            <ErrorSummary errors/>
            <section class="card form-section" aria-labelledby="sec-policy">
                <h2 id="sec-policy">"Policy"</h2>
                <TextField value=state.name errors field="name" label="Name" required=true/>
                <CheckField checked=state.active id="f-active" label="Active"
                    hint="A policy that is not active is a draft: keys that apply it are refused."/>
            </section>
            <section class="card form-section" aria-labelledby="sec-access">
                <h2 id="sec-access">"Access rights"</h2>
                <AccessRightsEditor rights=state.rights apis=apis errors empty_note="No access rights: the policy sets limits only, and keys keep their own access rights."/>
            </section>
            <RateFields limits errors lock=no_lock throttle_lock=no_lock/>
            <QuotaFields limits errors lock=no_lock/>
            <PartitionsSection partitions=state.partitions errors/>
            <TagInput tags=state.tags errors hint="Tags are added to the analytics of every key that applies the policy. Press Enter to add one."/>
            <MetaFields meta=state.meta errors hint="Key and value pairs merged into the metadata of every key that applies the policy."/>
            <div class="form-actions">
                <button type="submit" class="button primary" id="save-policy" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else if editing { "Save policy" } else { "Create policy" }}
                </button>
                <a class="button ghost" href="/policies">"Cancel"</a>
            </div>
        </form>
    }
}

/// What the policy decides for the keys that apply it.
#[component]
fn PartitionsSection(partitions: RwSignal<PolicyPartitions>, errors: Errors) -> impl IntoView {
    view! {
        <section class="card form-section" aria-labelledby="sec-partitions">
            <h2 id="sec-partitions">"Partitions"</h2>
            <p class="hint">"What the policy decides for the keys that apply it. None checked: everything. Partitioned policies can be combined, e.g. one for the quota and one for access."</p>
            <fieldset class="plain" aria-describedby="f-partitions-error">
                <legend class="visually-hidden">"Partitions"</legend>
                <div class="choice-row" id="f-partitions" tabindex="-1">
                    <PartitionBox value=partitions id="part-acl" label="Access rights" get=|p| p.acl set=|p, v| p.acl = v/>
                    <PartitionBox value=partitions id="part-rate" label="Rate limit" get=|p| p.rate_limit set=|p, v| p.rate_limit = v/>
                    <PartitionBox value=partitions id="part-quota" label="Quota" get=|p| p.quota set=|p, v| p.quota = v/>
                    <PartitionBox value=partitions id="part-complexity" label="Query complexity" get=|p| p.complexity set=|p, v| p.complexity = v/>
                    <PartitionBox value=partitions id="part-per-api" label="Per API (limits per API; not with the others)" get=|p| p.per_api set=|p, v| p.per_api = v/>
                </div>
            </fieldset>
            <FieldMessage errors field="partitions"/>
        </section>
    }
}
