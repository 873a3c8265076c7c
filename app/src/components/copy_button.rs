use leptos::prelude::*;

/// A button that copies `text` to the clipboard and says so.
#[component]
pub fn CopyButton(#[prop(into)] text: Signal<String>, #[prop(into)] label: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&text.get_untracked());
        copied.set(true);
    };
    view! {
        <button type="button" class="button secondary copy" aria-label=label.clone() on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
