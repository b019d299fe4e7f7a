//! Shared HTTP plumbing.
