//! cairn-server (placeholder: the serve branch brings the daemon; this branch brings
//! the dashboard's pages).

pub mod dashboard;
