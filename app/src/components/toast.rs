//! Short confirmations ("Key deleted") shown for a few seconds in a live region, so screen
//! readers announce them too.
//!
//! The dashboard hydrates in islands (see `lib.rs`): islands share no reactive context, and a
//! change often ends in a new page load (a navigation, or a reload that shows the saved data).
//! So a toast is plain DOM: `show` appends a `<p class="toast">` to the layout's `.toasts`
//! region, and `flash` keeps the message in sessionStorage for the next page, where a small
//! inline script shows it as soon as the region is parsed (`FLASH_SCRIPT`), before the WASM
//! has even loaded.

use leptos::prelude::*;

const FLASH_KEY: &str = "portcullis-flash";

/// A handle on the toast region; copy it into event handlers.
#[derive(Clone, Copy, Default)]
pub struct Toasts;

impl Toasts {
    /// Shows `message` on this page for five seconds.
    pub fn show(&self, message: impl Into<String>) {
        show_toast(&message.into());
    }

    /// Shows `message` on the next page this tab loads (after a navigation or a reload).
    pub fn flash(&self, message: impl Into<String>) {
        if let Ok(Some(storage)) = window().session_storage() {
            let _ = storage.set_item(FLASH_KEY, &message.into());
        }
    }
}

/// The toasts of the page.
pub fn use_toasts() -> Toasts {
    Toasts
}

/// Shows, in the region just before it, the toast a previous page left with `Toasts::flash`,
/// once. The same markup and timing as `show_toast`.
const FLASH_SCRIPT: &str = "try{var m=sessionStorage.getItem('portcullis-flash');if(m){\
sessionStorage.removeItem('portcullis-flash');var p=document.createElement('p');p.className='toast';\
p.textContent=m;document.currentScript.previousElementSibling.append(p);\
setTimeout(function(){p.remove()},5000)}}catch(e){}";

fn show_toast(message: &str) {
    let document = document();
    let (Some(region), Ok(toast)) = (document.query_selector(".toasts").ok().flatten(), document.create_element("p"))
    else {
        return;
    };
    toast.set_class_name("toast");
    toast.set_text_content(Some(message));
    let _ = region.append_child(&toast);
    set_timeout(move || toast.remove(), std::time::Duration::from_secs(5));
}

/// Where the toasts appear: rendered by the server, filled in the browser.
#[component]
pub fn ToastRegion() -> impl IntoView {
    view! {
        <div class="toasts" role="status" aria-live="polite"></div>
        <script nonce=leptos::nonce::use_nonce() inner_html=FLASH_SCRIPT></script>
    }
}

/// Loads `url` as a new page (there is no client-side router in islands mode).
pub fn go_to(url: &str) {
    let _ = window().location().set_href(url);
}

/// Leaves this page for `next` (or loads this page again, to show what was just saved), with
/// `toast` shown on the page that loads.
pub fn leave(toast: impl Into<String>, next: Option<&str>) {
    use_toasts().flash(toast);
    match next {
        Some(url) => go_to(url),
        None => reload(),
    }
}

/// Loads this page again, so that it shows what was just saved.
pub fn reload() {
    let _ = window().location().reload();
}
