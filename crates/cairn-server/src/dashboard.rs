//! The web dashboard (owned by the dashboard work; this placeholder only serves `/`).

use axum::Router;
use axum::response::Html;
use axum::routing::get;

pub(crate) fn router() -> Router {
    Router::new().route("/", get(|| async { Html("<!doctype html><title>cairn</title><p>cairn serve: the dashboard is coming; the API is at <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>") }))
}
