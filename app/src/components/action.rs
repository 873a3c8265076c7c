//! Calling the server from a form or a button of an island.

use super::widgets::Errors;
use crate::model::AppError;
use leptos::prelude::*;
use std::future::Future;

/// Leptos's `Action`, with its input taken by value: `dispatch(input)` runs `run(input)` in the
/// browser, `pending()` is true until it has finished, and `value()` holds what it returned.
pub fn server_call<I, O, Fu>(run: impl Fn(I) -> Fu + Send + Sync + 'static) -> Action<I, O>
where
    I: Clone + Send + Sync + 'static,
    O: Send + Sync + 'static,
    Fu: Future<Output = O> + Send + 'static,
{
    Action::new(move |input: &I| run(input.clone()))
}

/// The call that sends a form: `send` sends what `dispatch` is given, `then` follows a success
/// (a toast, the next page), and an error the server finds is shown at its field.
pub fn form_call<I, T, Fu, Then>(errors: Errors, send: impl Fn(I) -> Fu + Send + Sync + 'static, then: Then) -> Action<I, ()>
where
    I: Clone + Send + Sync + 'static,
    T: 'static,
    Fu: Future<Output = Result<T, AppError>> + Send + 'static,
    Then: Fn(T) + Clone + Send + Sync + 'static,
{
    Action::new(move |input: &I| {
        let (sent, then) = (send(input.clone()), then.clone());
        async move {
            match sent.await {
                Ok(answer) => then(answer),
                Err(e) => errors.show_server(e),
            }
        }
    })
}
