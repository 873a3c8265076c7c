//! The frame the list pages share: the heading with its create link, a lead or a toolbar, the
//! list once loaded (or why it could not be), and the pieces lists are made of: the table, the
//! empty state and the pager.

use super::layout::Allowed;
use super::widgets::{LoadError, Loading};
use crate::model::{AppError, Area, Level};
use leptos::prelude::*;
use leptos_meta::Title;

/// A link that creates one more of a list's things, shown only to those who may write in its area.
#[derive(Clone, Copy)]
pub struct CreateLink {
    pub area: Area,
    pub href: &'static str,
    pub label: &'static str,
}

/// What a list page loads: a list, which may be empty.
pub trait Listed {
    fn is_empty(&self) -> bool;
}

impl<T> Listed for Vec<T> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

#[component]
pub fn ListPage<T, F, V>(
    /// The page's heading, and the start of its title.
    heading: &'static str,
    /// The create link beside the heading, and its id.
    create: CreateLink,
    create_id: &'static str,
    /// What the list is, under the heading.
    #[prop(optional)]
    lead: Option<&'static str>,
    /// Shown while the list loads.
    loading: &'static str,
    list: Resource<Result<T, AppError>>,
    /// The list once loaded: its table.
    render: F,
    /// What shows instead when the list is empty (else `render` shows it).
    #[prop(optional, into)]
    empty: Option<ViewFn>,
    /// Between the heading and the list: a search form, filters.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView
where
    T: Listed + Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Copy + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Title text=format!("{heading} · Portcullis")/>
        <div class="page-head">
            <h1>{heading}</h1>
            <Allowed area=create.area level=Level::Write>
                <a class="button primary" href=create.href id=create_id>{create.label}</a>
            </Allowed>
        </div>
        {lead.map(|text| view! { <p class="lead muted">{text}</p> })}
        {children.map(|toolbar| toolbar())}
        <Transition fallback=move || view! { <Loading label=loading/> }>
            {move || {
                let empty = empty.clone();
                Suspend::new(async move {
                    match (list.await, empty) {
                        (Ok(items), Some(empty)) if items.is_empty() => empty.run(),
                        (Ok(items), _) => render(items).into_any(),
                        (Err(e), _) => view! { <LoadError error=e/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// A list's table: `columns` head it, `children` are its rows.
#[component]
pub fn DataTable(
    /// For screen readers: what the rows are.
    caption: &'static str,
    columns: &'static [&'static str],
    /// Classes besides `data`.
    #[prop(optional)]
    class: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let class = class.map_or_else(|| "data".to_owned(), |c| format!("data {c}"));
    view! {
        <div class="card table-card">
            <table class=class>
                <caption class="visually-hidden">{caption}</caption>
                <thead><tr>{columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}</tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// What a list shows when it has nothing: what to do about it (`children`), and the link that
/// creates the first one.
#[component]
pub fn EmptyState(heading: &'static str, #[prop(optional)] create: Option<CreateLink>, children: Children) -> impl IntoView {
    view! {
        <section class="card empty-state">
            <h2>{heading}</h2>
            {children()}
            {create.map(|c| view! {
                <Allowed area=c.area level=Level::Write>
                    <a class="button primary" href=c.href>{c.label}</a>
                </Allowed>
            })}
        </section>
    }
}

/// Where one is in a list of pages (`summary`), and the links to the pages before and after.
#[component]
pub fn Pager(summary: String, prev: Option<String>, next: Option<String>) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="muted">{summary}</span>
            <span class="pager-links">{page_link(prev, "prev", "Previous")}{page_link(next, "next", "Next")}</span>
        </nav>
    }
}

/// A link to another page of the list, or the same button greyed out when there is none.
fn page_link(href: Option<String>, rel: &'static str, label: &'static str) -> AnyView {
    match href {
        Some(href) => view! { <a class="button secondary" href=href rel=rel>{label}</a> }.into_any(),
        None => view! { <span class="button secondary" aria-disabled="true">{label}</span> }.into_any(),
    }
}
