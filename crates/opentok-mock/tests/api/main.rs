//! Real-HTTP tests of the mock with awc, built as one test binary.

mod helpers;

mod auth;
mod core;
