use leptos::html;
use leptos::prelude::*;
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
