use leptos::prelude::*;
use std::time::Duration;

/// Short confirmations ("Key deleted") shown for a few seconds in a live region, so screen
/// readers announce them too. Provided by the layout; copy the handle into event handlers.
#[derive(Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<(u32, String)>>,
    next: StoredValue<u32>,
}

impl Toasts {
    pub fn new() -> Self {
        Self { items: RwSignal::new(Vec::new()), next: StoredValue::new(0) }
    }

    pub fn show(&self, message: impl Into<String>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.items.update(|v| v.push((id, message.into())));
        let items = self.items;
        set_timeout(move || items.update(|v| v.retain(|(i, _)| *i != id)), Duration::from_secs(5));
    }
}

impl Default for Toasts {
    fn default() -> Self {
        Self::new()
    }
}

/// The toasts of the layout, or a detached set when there is no layout (tests).
pub fn use_toasts() -> Toasts {
    use_context::<Toasts>().unwrap_or_default()
}

#[component]
pub fn ToastRegion(toasts: Toasts) -> impl IntoView {
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toasts.items.get() key=|(id, _)| *id let:item>
                <p class="toast">{item.1}</p>
            </For>
        </div>
    }
}
