//! cairn-server (placeholder: the serve branch brings the daemon; this branch brings
//! the dashboard's pages).

mod dashboard;

/// The dashboard's routes (the serve branch mounts them).
pub fn dashboard_router() -> axum::Router {
    dashboard::router()
}
