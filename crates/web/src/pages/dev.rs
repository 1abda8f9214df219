//! The development outbox as a page, like a local mail catcher. The route
//! exists only while no provider is configured, exactly like its API twin.

use axum::extract::Query;
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;

use super::Page;
use super::render::{failure, render, time_tag};

#[derive(Deserialize)]
pub struct OutboxQuery {
    #[serde(default)]
    to: String,
}

pub async fn outbox(page: Page, Query(q): Query<OutboxQuery>) -> Response {
    let to = q.to.trim();
    let filter = (!to.is_empty()).then(|| twostep_domain::normalize_email(to).unwrap_or_else(|_| to.to_owned()));
    let messages = match page.app().store.outbox_for(filter.as_deref(), 100).await {
        Ok(m) => m,
        Err(e) => return failure(&page, e.into()),
    };
    let rows: Vec<Value> = messages
        .iter()
        .map(|m| {
            let code = code_in(&m.body);
            context! { channel => m.channel, to => m.to, body => m.body, at => time_tag(m.sent_at), code => code }
        })
        .collect();
    render(&page, "outbox.html", context! { messages => rows, to => to })
}

/// The message's code, shown large for copying.
fn code_in(body: &str) -> Option<String> {
    twostep_domain::codes::code_in_text(body).map(str::to_owned)
}
