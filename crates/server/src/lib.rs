//! tiny-opentok-server: an HTTP API that creates OpenTok sessions and mints client tokens.
//!
//! This crate only wires things together and translates HTTP to domain calls: signing and REST live
//! in `opentok-client`, storage in `tiny-opentok-storage`, the rules in `tiny-opentok-domain`.
//! `main` loads [`configuration::Settings`] and calls [`Application::build`]; tests inject their
//! own parts through [`AppDeps`].

pub mod body;
pub mod configuration;
pub mod error;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod telemetry;

pub use crate::startup::{AppDeps, AppState, Application, Now, OpenTokFactory, StartupError};
