use leptos::prelude::*;

/// A button that copies `text` to the clipboard and says so.
#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(into)] label: String,
    #[prop(optional)] small: bool,
    #[prop(optional, into)] id: Option<String>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&text.get_untracked());
        copied.set(true);
    };
    let class = if small { "button secondary copy small" } else { "button secondary copy" };
    view! {
        <button type="button" class=class aria-label=label.clone() title=label id=id on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

/// A `CopyButton` in a page the server renders: an island of its own. (Inside an island, use
/// `CopyButton`: islands are not nested.)
#[island]
pub fn CopyIsland(#[prop(into)] text: String, #[prop(into)] label: String, small: bool) -> impl IntoView {
    view! { <CopyButton text=text label=label small=small/> }
}
