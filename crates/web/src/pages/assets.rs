//! The pages' stylesheet and scripts, compiled into the binary and served
//! from our own origin (the CSP allows nothing else). Cached for an hour;
//! a deployment that changes them changes the `?v=` in the templates.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

pub const APP_CSS: &str = include_str!("../../assets/app.css");
pub const APP_JS: &str = include_str!("../../assets/app.js");
pub const POW_WORKER_JS: &str = include_str!("../../assets/pow-worker.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/assets/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/assets/pow-worker.js", get(|| async { asset("text/javascript; charset=utf-8", POW_WORKER_JS) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
