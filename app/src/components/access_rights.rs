//! The access rights editor shared by the key and policy forms: which APIs and versions, and
//! optionally which paths and methods.

use super::widgets::{Errors, FieldMessage};
use crate::model::forms::METHODS;
use crate::model::{AccessRightForm, ApiChoice, PathRuleForm};
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct PathRow {
    pub id: u32,
    pub path: RwSignal<String>,
    pub methods: RwSignal<Vec<String>>,
}

#[derive(Clone)]
pub struct RightRow {
    pub id: u32,
    pub api_id: String,
    pub api_name: String,
    pub versions: RwSignal<Vec<String>>,
    pub paths: RwSignal<Vec<PathRow>>,
}

/// The access rights while they are edited.
#[derive(Clone, Copy)]
pub struct RightsState {
    pub rows: RwSignal<Vec<RightRow>>,
    next: StoredValue<u32>,
}

impl RightsState {
    pub fn new(rights: Vec<AccessRightForm>) -> Self {
        let mut next = 0;
        let mut id = || {
            next += 1;
            next
        };
        let rows = rights
            .into_iter()
            .map(|r| RightRow {
                id: id(),
                api_id: r.api_id,
                api_name: r.api_name,
                versions: RwSignal::new(r.versions),
                paths: RwSignal::new(
                    r.paths
                        .into_iter()
                        .map(|p| PathRow { id: id(), path: RwSignal::new(p.path), methods: RwSignal::new(p.methods) })
                        .collect(),
                ),
            })
            .collect();
        Self { rows: RwSignal::new(rows), next: StoredValue::new(next + 1) }
    }

    fn next_id(&self) -> u32 {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        id
    }

    /// Grants a version of an API (adding the API if it is not there yet).
    pub fn add(&self, api: &ApiChoice, version: &str) {
        let existing = self.rows.with_untracked(|rows| rows.iter().find(|r| r.api_id == api.api_id).cloned());
        match existing {
            Some(row) => row.versions.update(|v| {
                if !version.is_empty() && !v.iter().any(|x| x == version) {
                    v.push(version.to_owned())
                }
            }),
            None => {
                let row = RightRow {
                    id: self.next_id(),
                    api_id: api.api_id.clone(),
                    api_name: api.name.clone(),
                    versions: RwSignal::new(if version.is_empty() { vec![] } else { vec![version.to_owned()] }),
                    paths: RwSignal::new(Vec::new()),
                };
                self.rows.update(|r| r.push(row));
            }
        }
    }

    pub fn snapshot(&self) -> Vec<AccessRightForm> {
        self.rows.with_untracked(|rows| {
            rows.iter()
                .map(|r| AccessRightForm {
                    api_id: r.api_id.clone(),
                    api_name: r.api_name.clone(),
                    versions: r.versions.get_untracked(),
                    paths: r.paths.with_untracked(|p| {
                        p.iter()
                            .map(|p| PathRuleForm { path: p.path.get_untracked(), methods: p.methods.get_untracked() })
                            .collect()
                    }),
                })
                .collect()
        })
    }
}

#[component]
pub fn AccessRightsEditor(
    rights: RightsState,
    apis: Vec<ApiChoice>,
    errors: Errors,
    /// What a key without rights may reach ("every API") or a policy without rights does.
    #[prop(into)]
    empty_note: String,
) -> impl IntoView {
    if apis.is_empty() && rights.rows.with_untracked(Vec::is_empty) {
        return view! {
            <p class="alert warning">"No API is registered yet. " <a href="/apis/new">"Register an API"</a>
               " to grant access to it. " {empty_note}</p>
            <FieldMessage errors field="access_rights"/>
        }
        .into_any();
    }
    let apis = StoredValue::new(apis);
    let chosen_api = RwSignal::new(apis.with_value(|a| a.first().map(|a| a.api_id.clone()).unwrap_or_default()));
    let first_version = move |api_id: &str| {
        apis.with_value(|a| a.iter().find(|x| x.api_id == api_id).and_then(|x| x.versions.first().cloned()).unwrap_or_default())
    };
    let chosen_version = RwSignal::new(first_version(&chosen_api.get_untracked()));
    let versions = move || {
        let id = chosen_api.get();
        apis.with_value(|a| a.iter().find(|x| x.api_id == id).map(|x| x.versions.clone()).unwrap_or_default())
    };
    let add = move |_| {
        let id = chosen_api.get_untracked();
        if let Some(api) = apis.with_value(|a| a.iter().find(|x| x.api_id == id).cloned()) {
            rights.add(&api, &chosen_version.get_untracked());
        }
    };
    view! {
        <div class="row inline picker">
            <div class="field">
                <label for="f-access_rights">"API"</label>
                <select id="f-access_rights" prop:value=move || chosen_api.get()
                    on:change=move |ev| {
                        let id = event_target_value(&ev);
                        chosen_version.set(first_version(&id));
                        chosen_api.set(id);
                    }>
                    {apis.with_value(|a| a.iter().map(|api| {
                        let id = api.api_id.clone();
                        let selected = { let id = id.clone(); move || chosen_api.get() == id };
                        view! { <option value=id selected=selected>{format!("{} ({})", api.name, api.listen_path)}</option> }
                    }).collect_view())}
                </select>
            </div>
            <div class="field">
                <label for="access-version">"Version"</label>
                <select id="access-version" prop:value=move || chosen_version.get()
                    on:change=move |ev| chosen_version.set(event_target_value(&ev))>
                    {move || versions().into_iter().map(|v| {
                        let selected = { let v = v.clone(); move || chosen_version.get() == v };
                        view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <button type="button" class="button secondary" id="access-add" on:click=add>"Add"</button>
        </div>
        <FieldMessage errors field="access_rights"/>
        <Show when=move || rights.rows.with(Vec::is_empty)>
            <p class="note">{empty_note.clone()}</p>
        </Show>
        <Show when=move || rights.rows.with(|r| !r.is_empty())>
            <p class="hint" id="path-hint">"Path rules are regular expressions matched against the request path, e.g. /users/.*; with rules, only matching paths and methods are allowed."</p>
        </Show>
        <ul class="rights" aria-label="Access rights added">
            <For each=move || rights.rows.get() key=|r| r.id let:row>
                <RightItem row=row rights=rights/>
            </For>
        </ul>
    }
    .into_any()
}

#[component]
fn RightItem(row: RightRow, rights: RightsState) -> impl IntoView {
    let RightRow { id, api_id, api_name, versions, paths } = row;
    let name = if api_name.is_empty() { api_id.clone() } else { api_name };
    let remove_label = format!("Remove access to {name}");
    let add_rule_label = format!("Add a path rule to {name}");
    let remove = move |_| rights.rows.update(|r| r.retain(|x| x.id != id));
    let add_rule = move |_| {
        let rid = rights.next_id();
        paths.update(|p| p.push(PathRow { id: rid, path: RwSignal::new(String::new()), methods: RwSignal::new(vec!["GET".into()]) }));
        request_animation_frame(move || {
            use wasm_bindgen::JsCast;
            if let Some(el) = document().get_element_by_id(&format!("path-{rid}")) {
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        });
    };
    let name_for_versions = name.clone();
    let name_for_paths = name.clone();
    view! {
        <li class="right">
            <div class="right-head">
                <div>
                    <strong>{name.clone()}</strong>
                    <ul class="chips inline" aria-label=format!("Versions of {name}")>
                        <For each=move || versions.get() key=|v| v.clone() let:v>
                            {
                                let label = format!("Remove version {v} of {name_for_versions}");
                                let value = v.clone();
                                view! {
                                    <li class="chip small">
                                        <span>{v.clone()}</span>
                                        <button type="button" class="chip-remove" aria-label=label
                                            on:click=move |_| versions.update(|x| x.retain(|y| *y != value))>"×"</button>
                                    </li>
                                }
                            }
                        </For>
                    </ul>
                </div>
                <button type="button" class="button ghost small" aria-label=remove_label on:click=remove>"Remove"</button>
            </div>
            <Show when=move || paths.with(Vec::is_empty)>
                <p class="hint">"Every path and method of this API is allowed."</p>
            </Show>
            <For each=move || paths.get() key=|p| p.id let:rule>
                <PathRuleItem rule=rule paths=paths api_name=name_for_paths.clone()/>
            </For>
            <button type="button" class="button ghost small" aria-label=add_rule_label on:click=add_rule>"Add path rule"</button>
        </li>
    }
}

#[component]
fn PathRuleItem(rule: PathRow, paths: RwSignal<Vec<PathRow>>, api_name: String) -> impl IntoView {
    let id = rule.id;
    let input_id = format!("path-{id}");
    view! {
        <div class="path-rule">
            <div class="field grow">
                <label for=input_id.clone()>"Path pattern"</label>
                <input id=input_id type="text" placeholder="/users/.*" value=rule.path.get_untracked()
                    bind:value=rule.path autocomplete="off" aria-describedby="path-hint"/>
            </div>
            <fieldset class="methods">
                <legend>"Methods"</legend>
                {METHODS.iter().map(|m| {
                    let m = *m;
                    let mid = format!("path-{id}-{m}");
                    view! {
                        <label class="check inline" for=mid.clone()>
                            <input type="checkbox" id=mid.clone()
                                checked=rule.methods.with_untracked(|v| v.iter().any(|x| x == m))
                                prop:checked=move || rule.methods.with(|v| v.iter().any(|x| x == m))
                                on:change=move |_| rule.methods.update(|v| {
                                    if let Some(i) = v.iter().position(|x| x == m) { v.remove(i); } else { v.push(m.to_owned()); }
                                })/>
                            {m}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <button type="button" class="button ghost small" aria-label=format!("Remove path rule from {api_name}")
                on:click=move |_| paths.update(|p| p.retain(|x| x.id != id))>"Remove rule"</button>
        </div>
    }
}
