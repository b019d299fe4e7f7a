//! Server-sent events parser.
