use leptos::prelude::*;

/// Runs in <head> before the body paints: applies the theme saved in localStorage, or else the
/// system's preference.
pub const THEME_BOOTSTRAP: &str = "try{var t=localStorage.getItem('portcullis-theme')||\
(matchMedia('(prefers-color-scheme: dark)').matches?'dark':'light');\
document.documentElement.dataset.theme=t}catch(e){}";

/// Switches between the light and dark themes (CSS variables in style/main.css) and remembers
/// the choice in the browser. An island: interactive on every page.
#[island]
pub fn ThemeToggle() -> impl IntoView {
    let dark = RwSignal::new(false);
    // The server cannot know the saved theme; read it once hydrated.
    Effect::new(move |_| {
        if current_theme().as_deref() == Some("dark") {
            dark.set(true);
        }
    });
    let toggle = move |_| {
        let next = !dark.get_untracked();
        dark.set(next);
        apply_theme(if next { "dark" } else { "light" });
    };
    view! {
        <button
            type="button"
            id="theme-toggle"
            class="button ghost"
            aria-pressed=move || dark.get().to_string()
            on:click=toggle
        >
            {move || if dark.get() { "Light theme" } else { "Dark theme" }}
        </button>
    }
}

fn current_theme() -> Option<String> {
    document().document_element()?.get_attribute("data-theme")
}

fn apply_theme(theme: &str) {
    if let Some(root) = document().document_element() {
        let _ = root.set_attribute("data-theme", theme);
    }
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item("portcullis-theme", theme);
    }
}
