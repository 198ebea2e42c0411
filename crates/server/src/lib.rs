//! tiny-opentok-server: an HTTP API that creates OpenTok sessions and mints client tokens.
//!
//! This crate only wires things together and translates HTTP to domain calls: signing and REST live
//! in `opentok-client`, storage in `tiny-opentok-storage`, the rules in `tiny-opentok-domain`.
//! `main` parses configuration and calls [`Application::build`]; tests inject their own parts
//! through [`AppDeps`].

pub mod config;
pub mod error;
pub mod json;
pub mod log_writer;
pub mod logging;
pub mod middleware;
pub mod openapi;
pub mod params;
pub mod routes;
pub mod state;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Condition, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use opentok_client::{ClientConfig, Credentials, HttpOpenTokClient, OpenTokApi, TokenFormat};
use secrecy::SecretString;
use tiny_opentok_domain::ApiKey;
use tiny_opentok_storage::{MemoryStore, MemoryStoreConfig, SessionStore};

use crate::config::Settings;
use crate::params::BodyLimit;
pub use crate::state::{AppState, Clock, OpenTokFactory, SystemClock};

/// The parts the app is built from; the binary injects real ones, tests inject what they need.
#[derive(Clone)]
pub struct AppDeps {
    /// The session store, shared by every worker.
    pub store: Arc<dyn SessionStore>,
    /// Builds each worker's OpenTok API.
    pub opentok: OpenTokFactory,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Credentials are missing.
    #[error("missing OpenTok credentials: set OPENTOK_KEY and OPENTOK_SECRET in the environment (or opentok.key and opentok.secret in config/local.toml), or run with --mock-opentok")]
    MissingCredentials,
    /// A setting has a value we cannot use.
    #[error("invalid setting {key}: {reason}")]
    InvalidSetting {
        /// The setting's key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl AppDeps {
    /// The production parts: an in-memory store and the awc OpenTok client, from settings.
    ///
    /// # Errors
    /// Missing credentials, an invalid key, or an unknown token format.
    pub fn from_settings(settings: &Settings) -> Result<Self, StartupError> {
        let (Some(key), Some(secret)) = (&settings.opentok.key, &settings.opentok.secret) else {
            return Err(StartupError::MissingCredentials);
        };
        let api_key = ApiKey::parse(key).map_err(|e| StartupError::InvalidSetting {
            key: "opentok.key (OPENTOK_KEY)",
            reason: e.to_string(),
        })?;
        let token_format: TokenFormat =
            settings.opentok.token_format.parse().map_err(|reason| {
                StartupError::InvalidSetting {
                    key: "opentok.token_format (OPENTOK_TOKEN_FORMAT)",
                    reason,
                }
            })?;
        if settings.opentok.timeout_ms == 0 {
            return Err(StartupError::InvalidSetting {
                key: "opentok.timeout_ms (OPENTOK_TIMEOUT_MS)",
                reason: "must be at least 1".to_owned(),
            });
        }
        let client_config = ClientConfig {
            credentials: Credentials::new(api_key, SecretString::from(secret_text(secret))),
            base_url: settings.opentok.api_url.trim_end_matches('/').to_owned(),
            timeout: settings.opentok_timeout(),
            connect_timeout: Duration::from_millis(settings.opentok.connect_timeout_ms.max(1)),
            token_format,
        };
        let idle_ttl = settings.storage.idle_ttl_secs.map(Duration::from_secs);
        let store = Arc::new(MemoryStore::with_config(MemoryStoreConfig {
            capacity: settings.storage.capacity,
            idle_ttl,
        }));
        if let Some(ttl) = idle_ttl {
            // Expired sessions leave memory within about a quarter of the TTL, request or not.
            let every = (ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
            if let Err(e) = store.sweep_every(every) {
                tracing::warn!(error = %e, "no sweeper thread; expired sessions are swept by requests only");
            }
        }
        Ok(Self {
            store,
            opentok: Arc::new(move || -> Box<dyn OpenTokApi> {
                Box::new(HttpOpenTokClient::new(client_config.clone()))
            }),
            clock: Arc::new(SystemClock),
        })
    }
}

fn secret_text(secret: &SecretString) -> String {
    use secrecy::ExposeSecret as _;
    secret.expose_secret().to_owned()
}

/// A bound, not yet running, server.
pub struct Application {
    server: Server,
    address: SocketAddr,
}

impl Application {
    /// Binds the listener and builds the server; call [`Application::run`] to serve.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub fn build(settings: &Settings, deps: AppDeps) -> Result<Self, StartupError> {
        let http = &settings.http;
        let addr = format!("{}:{}", http.host, http.port);
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let limit = BodyLimit(http.body_limit_bytes);
        let gate = middleware::Gate {
            keys: middleware::ClientKeys::new(&settings.auth.api_keys),
            max_header_bytes: http.max_header_bytes,
        };
        let origins = settings.auth.cors_allowed_origins.clone();
        let mut server = HttpServer::new(move || {
            let state = AppState {
                store: Arc::clone(&deps.store),
                opentok: (deps.opentok)(),
                clock: Arc::clone(&deps.clock),
            };
            // Outermost last: log → JSON safety net → CORS → gate (header limit, auth) → routes.
            App::new()
                .app_data(web::Data::new(state))
                .app_data(limit)
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(gate.clone())
                .wrap(Condition::new(
                    !origins.is_empty(),
                    middleware::cors(&origins),
                ))
                .wrap(ErrorHandlers::new().default_handler(middleware::json_errors))
                .wrap(middleware::RequestLog)
        })
        .max_connections(http.max_connections)
        .client_request_timeout(Duration::from_millis(http.client_request_timeout_ms))
        .shutdown_timeout(http.shutdown_timeout_secs);
        if let Some(workers) = http.workers {
            server = server.workers(workers.max(1));
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind { addr, source })?
            .run();
        Ok(Self { server, address })
    }

    /// The bound address (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM or the handle); in-flight requests finish first.
    ///
    /// # Errors
    /// An I/O error from the server.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
