//! `cairn mcp` through the real binary: raw stdio, streamable HTTP under hostile
//! clients, the official Python SDK and the official conformance suite.
//!
//! Each file of this directory was a test binary of its own; now each is a module of
//! this one binary, compiled and linked once (issue 14). One file's tests:
//! `cargo test -p cairn --test mcp -- FILE::`.

mod mcp_conformance;
mod mcp_http_access;
mod mcp_http_limits;
mod mcp_python;
mod mcp_stdio;
