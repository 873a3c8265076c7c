//! The browser entry point: hydrate the islands of the server-rendered page, and nothing more.
#![recursion_limit = "512"]

// The islands are `#[wasm_bindgen]` exports of `app`, found by name by Leptos' island script:
// `app` must be linked although nothing here calls into it.
#[allow(unused_imports, clippy::single_component_path_imports)]
use app;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the console are for debugging; the hook's formatting costs the release
    // bundle a few KB.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
