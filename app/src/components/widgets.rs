//! Small pieces every page uses: status badges, quota bars, field errors, error states.

use crate::model::{format, input_id, AppError, FieldError, KeyStatus};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

#[component]
pub fn StatusBadge(status: KeyStatus) -> impl IntoView {
    let class = match status {
        KeyStatus::Active => "badge ok",
        KeyStatus::Inactive => "badge off",
        KeyStatus::Expired => "badge warn",
    };
    view! { <span class=class>{status.label()}</span> }
}

/// How much of a quota is used, as a bar and in numbers.
#[component]
pub fn QuotaBar(used: i64, max: i64) -> impl IntoView {
    if max <= 0 {
        return view! { <span class="muted">"Unlimited"</span> }.into_any();
    }
    let pct = (used as f64 / max as f64 * 100.0).clamp(0.0, 100.0);
    let level = if pct >= 90.0 { "fill high" } else if pct >= 70.0 { "fill mid" } else { "fill" };
    let text = format!("{} of {} used", format::thousands(used), format::thousands(max));
    view! {
        <div class="quota">
            <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax=max.to_string()
                 aria-valuenow=used.to_string() aria-label="Quota used" aria-valuetext=text.clone()>
                <span class=level style=format!("width: {pct:.1}%")></span>
            </div>
            <small>{text}</small>
        </div>
    }
    .into_any()
}

/// The errors of a form, by field. Copy it into the inputs and handlers of the form.
#[derive(Clone, Copy)]
pub struct Errors(pub RwSignal<Vec<FieldError>>);

impl Errors {
    pub fn new() -> Self {
        Self(RwSignal::new(Vec::new()))
    }

    pub fn get(&self, field: &str) -> Option<String> {
        self.0.with(|v| v.iter().find(|e| e.field == field).map(|e| e.message.clone()))
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.with(|v| v.iter().any(|e| e.field == field))
    }

    pub fn set(&self, errors: Vec<FieldError>) {
        self.0.set(errors);
    }

    pub fn clear(&self) {
        self.0.set(Vec::new());
    }

    /// Forgets the error of one field (once the person edits it).
    pub fn clear_field(&self, field: &str) {
        if self.0.with_untracked(|v| v.iter().any(|e| e.field == field)) {
            self.0.update(|v| v.retain(|e| e.field != field));
        }
    }

    /// Shows the client's own errors and moves focus to the first one.
    pub fn show(&self, errors: Vec<FieldError>) {
        let first = errors.first().map(|e| e.field.clone());
        self.0.set(errors);
        if let Some(field) = first {
            focus_field(&field);
        }
    }

    /// Shows the errors the browser found in a form before sending it; true when there are
    /// none (the old ones cleared), and the form may be sent.
    pub fn passes(&self, found: Vec<FieldError>) -> bool {
        if found.is_empty() {
            self.clear();
            return true;
        }
        self.show(found);
        false
    }

    /// Shows a server's answer: at its field when it names one, else at the top of the form.
    pub fn show_server(&self, error: AppError) {
        let e = match error {
            AppError::Invalid { field, message } => FieldError { field, message },
            AppError::Unauthenticated => FieldError::new("", "Your session has ended. Sign in again, then retry."),
            other => FieldError::new("", other.to_string()),
        };
        self.show(vec![e]);
    }
}

impl Default for Errors {
    fn default() -> Self {
        Self::new()
    }
}

/// Moves focus to the input that shows `field` (or to the form's error summary).
pub fn focus_field(field: &str) {
    let id = if field.is_empty() { "form-errors".to_owned() } else { input_id(field) };
    // After the error is rendered.
    request_animation_frame(move || {
        let target = document().get_element_by_id(&id).or_else(|| document().get_element_by_id("form-errors"));
        if let Some(el) = target.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    });
}

/// `aria-describedby` of an input: its error message's id.
pub fn error_id(field: &str) -> String {
    format!("{}-error", input_id(field))
}

/// The message beside an input, when its field has an error.
#[component]
pub fn FieldMessage(errors: Errors, #[prop(into)] field: String) -> impl IntoView {
    let id = error_id(&field);
    let f = field.clone();
    view! {
        <Show when=move || errors.has(&f)>
            <p class="field-error" id=id.clone()>{
                let field = field.clone();
                move || errors.get(&field)
            }</p>
        </Show>
    }
}

/// The list of a form's errors, above it: every message, linked to its field.
#[component]
pub fn ErrorSummary(errors: Errors) -> impl IntoView {
    view! {
        <div id="form-errors" tabindex="-1" class="error-summary">
            <Show when=move || errors.0.with(|e| !e.is_empty())>
                <div class="alert error" role="alert">
                    <p><strong>{move || if errors.0.with(|e| e.len() == 1 && e[0].field.is_empty()) {
                        "The change was not saved."
                    } else {
                        "Please correct the highlighted fields."
                    }}</strong></p>
                    <ul>
                        {move || errors.0.get().into_iter().map(|e| {
                            if e.field.is_empty() {
                                view! { <li>{e.message}</li> }.into_any()
                            } else {
                                view! { <li><a href=format!("#{}", input_id(&e.field))>{e.message}</a></li> }.into_any()
                            }
                        }).collect_view()}
                    </ul>
                </div>
            </Show>
        </div>
    }
}

/// The names of some things, joined by commas, or `none` when there are none.
pub fn names<'a>(names: impl IntoIterator<Item = &'a str>, none: &str) -> String {
    let all: Vec<&str> = names.into_iter().collect();
    if all.is_empty() { none.to_owned() } else { all.join(", ") }
}

/// What a page shows when its data could not be loaded.
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    let (title, text) = match &error {
        AppError::NotFound(m) => ("Not found", m.clone()),
        AppError::Forbidden(m) => ("You do not have access", m.clone()),
        AppError::Unauthenticated => ("Signed out", "Your session has ended. Sign in again.".to_owned()),
        other => ("Could not load this page", other.to_string()),
    };
    view! {
        <section class="card empty-state" role="alert">
            <h2>{title}</h2>
            <p>{text}</p>
        </section>
    }
}

/// A loading placeholder with the height of what it stands for, so the page does not jump.
#[component]
pub fn Loading(#[prop(optional, into)] label: Option<String>) -> impl IntoView {
    view! { <p class="loading muted" aria-busy="true">{label.unwrap_or_else(|| "Loading…".into())}</p> }
}

/// The browser's clock in unix seconds (the server's clock on the server).
pub fn now_unix() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        (js_sys::Date::now() / 1000.0) as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}

/// The unix time of a `datetime-local` value, read in the browser's time zone; 0 if unreadable.
pub fn local_datetime_to_unix(value: &str) -> i64 {
    if value.trim().is_empty() {
        return 0;
    }
    #[cfg(target_arch = "wasm32")]
    {
        let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value)).get_time();
        if ms.is_nan() {
            0
        } else {
            (ms / 1000.0) as i64
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

/// False on the server and until this part of the page is hydrated, then true: forms carry it
/// as `data-hydrated`, so tests (and styles) can tell when they respond to input.
pub fn use_hydrated() -> Signal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    hydrated.into()
}
