pub mod detail;
pub mod form;
pub mod list;
mod sections;

use crate::api::get_form_options;
use crate::components::layout::{Allowed, NoAccess};
use crate::components::widgets::{LoadError, Loading};
use crate::model::{Area, Level};
use form::KeyEditor;
use leptos::prelude::*;
use leptos_meta::Title;

/// Creating a key.
#[component]
pub fn NewKeyPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| get_form_options());
    view! {
        <Title text="Create key · Portcullis"/>
        <nav class="crumbs" aria-label="Breadcrumb"><a href="/keys">"Keys"</a> " / " <span aria-current="page">"Create key"</span></nav>
        <h1>"Create key"</h1>
        <Allowed area=Area::Keys level=Level::Write fallback=|| view! { <NoAccess area=Area::Keys level=Level::Write/> }>
            <Suspense fallback=|| view! { <Loading label="Loading the form…"/> }>
                {move || Suspend::new(async move {
                    match options.await {
                        Ok(options) => view! { <KeyEditor options=options/> }.into_any(),
                        Err(e) => view! { <LoadError error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </Allowed>
    }
}
