//! Server integration tests: the real app on 127.0.0.1:0 against the real opentok-mock over HTTP.

mod access;
mod concurrency;
mod config;
mod contract;
mod hardening;
mod helpers;
mod openapi;
mod redis_store;
mod secrets;
mod shutdown;
mod sqlite_store;
mod store_support;
mod upstream;
mod validation;
mod vonage;
