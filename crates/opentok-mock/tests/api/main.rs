//! Real-HTTP tests of the mock with awc, built as one test binary.

mod helpers;

mod auth;
mod binary;
mod core;
mod faults;
mod session;
mod vonage;
