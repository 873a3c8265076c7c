use super::action::server_call;
use super::toast::leave;
use crate::model::AppError;
use leptos::html;
use leptos::prelude::*;
use std::future::Future;
use wasm_bindgen::JsCast;

/// A modal dialog: focus moves into it when it opens, Tab stays inside it, Escape calls
/// `on_close` (when given). `labelled_by` is the id of its heading.
#[component]
pub fn Modal(
    #[prop(into)] labelled_by: String,
    #[prop(optional, into)] on_close: Option<Callback<()>>,
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            let target = el
                .query_selector("[autofocus], button:not([disabled]), input:not([disabled]), [href]")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            match target {
                Some(t) => {
                    let _ = t.focus();
                }
                None => {
                    let _ = el.focus();
                }
            }
        }
    });
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            if let Some(close) = on_close {
                ev.prevent_default();
                close.run(());
            }
            return;
        }
        if ev.key() != "Tab" {
            return;
        }
        // Keep Tab inside the dialog.
        let Some(el) = node.get() else { return };
        let el: &web_sys::Element = &el;
        let Ok(list) = el.query_selector_all("button:not([disabled]), input:not([disabled]), select, textarea, [href]") else {
            return;
        };
        let (Some(first), Some(last)) = (list.get(0), list.length().checked_sub(1).and_then(|i| list.get(i))) else {
            return;
        };
        let active = document().active_element().map(|a| a.unchecked_into::<web_sys::Node>());
        let wrap_to = if ev.shift_key() && active.as_ref() == Some(&first) {
            Some(last)
        } else if !ev.shift_key() && active.as_ref() == Some(&last) {
            Some(first)
        } else {
            None
        };
        if let Some(target) = wrap_to.and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
            ev.prevent_default();
            let _ = target.focus();
        }
    };
    view! {
        <div class="modal-backdrop">
            <div class="modal card" role="dialog" aria-modal="true" aria-labelledby=labelled_by
                 tabindex="-1" node_ref=node on:keydown=keydown>
                {children()}
            </div>
        </div>
    }
}

/// Asking before a delete: `title` asks, `children` say what follows. Confirm runs `delete`,
/// whose answer is either the toast to show on `next` (the page that then loads) or the error
/// shown in the dialog.
#[component]
pub fn DeleteDialog<F, Fu>(
    /// The id of the question's heading.
    labelled_by: &'static str,
    #[prop(into)] title: String,
    /// The confirm button's label.
    confirm: &'static str,
    /// The page that loads after the delete.
    next: &'static str,
    delete: F,
    close: Callback<()>,
    /// The id of the error message, where tests look for it.
    #[prop(optional)]
    error_id: Option<&'static str>,
    /// True when it cannot be deleted now (the dialog says why): Confirm stays disabled.
    #[prop(optional)]
    blocked: bool,
    children: Children,
) -> impl IntoView
where
    F: Fn() -> Fu + Send + Sync + 'static,
    Fu: Future<Output = Result<String, AppError>> + Send + 'static,
{
    let call = server_call(move |()| {
        let answer = delete();
        async move {
            let message = answer.await.map_err(|e| e.to_string())?;
            leave(message, Some(next));
            Ok::<(), String>(())
        }
    });
    // After a delete the next page is loading: the button stays disabled until it replaces this one.
    let busy = move || call.pending().get() || matches!(call.value().get(), Some(Ok(())));
    let failure = move || call.value().get().and_then(Result::err);
    view! {
        <Modal labelled_by=labelled_by on_close=close>
            <h2 id=labelled_by>{title}</h2>
            {children()}
            {move || failure().map(|f| view! { <p class="alert error" role="alert" id=error_id>{f}</p> })}
            <div class="dialog-actions">
                <button type="button" class="button danger" id="confirm-delete" disabled=move || busy() || blocked
                    on:click=move |_| {
                        call.dispatch(());
                    }>
                    {move || if busy() { "Deleting…" } else { confirm }}
                </button>
                <button type="button" class="button secondary" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}
