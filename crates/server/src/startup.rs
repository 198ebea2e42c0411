//! Composition: the parts the app is built from ([`AppDeps`]), what each worker's handlers share
//! ([`AppState`]), and the bound server ([`Application`]).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, Condition, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use opentok_client::{
    ClientConfig, CredentialSettings, HttpOpenTokClient, OpenTokApi, OpenTokError, Setting,
};
use tiny_opentok_storage::{SessionStore, StoreError};

use crate::configuration::Settings;
use crate::error::with_causes;
use crate::middleware::{self, Gate};
use crate::routes;

/// Builds one OpenTok API per worker: an awc client belongs to one thread.
pub type OpenTokFactory = Arc<dyn Fn() -> Box<dyn OpenTokApi> + Send + Sync>;

/// Where "now" (unix seconds) comes from; tests pin it.
pub type Now = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The parts the app is built from; the binary injects real ones, tests inject what they need.
#[derive(Clone)]
pub struct AppDeps {
    /// The session store, shared by every worker.
    pub store: Arc<dyn SessionStore>,
    /// Builds each worker's OpenTok API.
    pub opentok: OpenTokFactory,
    /// The clock.
    pub now: Now,
}

/// What handlers share, one per worker, registered as the app's single `Data` type.
pub struct AppState {
    /// Shared by every worker.
    pub store: Arc<dyn SessionStore>,
    /// This worker's OpenTok API.
    pub opentok: Box<dyn OpenTokApi>,
    /// The clock.
    pub now: Now,
    /// `http.body_limit_bytes`, for the 413 message.
    pub body_limit: usize,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Credentials are missing.
    #[error("missing credentials: set OPENTOK_KEY and OPENTOK_SECRET, or VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY_PATH (or VONAGE_PRIVATE_KEY), in the environment or config/local.toml (opentok.key, vonage.application_id, ...), or run with --mock-opentok")]
    MissingCredentials,
    /// Both kinds of credentials, half of one, or a key that cannot be used.
    #[error(transparent)]
    Credentials(OpenTokError),
    /// `OPENTOK_TOKEN_FORMAT` names a format the credentials cannot sign.
    #[error("OPENTOK_TOKEN_FORMAT: {0}")]
    TokenFormat(OpenTokError),
    /// The session store could not be opened (a Redis down at startup stops it: docs/deployment.md).
    #[error("cannot open the session store {url} (SESSION_STORE): {}", with_causes(.source))]
    Store {
        /// The store URL, password hidden.
        url: String,
        /// The store's error.
        #[source]
        source: StoreError,
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
    /// The production parts, from settings: the store `storage.url` names, opened (and for
    /// Redis, reached) now, and the awc OpenTok client.
    ///
    /// # Errors
    /// Missing credentials; a store that cannot be opened or does not answer within its timeout.
    pub async fn from_settings(settings: &Settings) -> Result<Self, StartupError> {
        let (ot, v) = (&settings.opentok, &settings.vonage);
        let credentials = CredentialSettings {
            api_key: Setting::new("OPENTOK_KEY", ot.key.as_ref()),
            api_secret: Setting::new("OPENTOK_SECRET", ot.secret.as_ref()),
            application_id: Setting::new("VONAGE_APPLICATION_ID", v.application_id.as_deref()),
            private_key_path: Setting::new(
                "VONAGE_PRIVATE_KEY_PATH",
                v.private_key_path.as_deref().map(Path::new),
            ),
            private_key: Setting::new("VONAGE_PRIVATE_KEY", v.private_key.as_ref()),
        }
        .credentials()
        .map_err(StartupError::Credentials)?
        .ok_or(StartupError::MissingCredentials)?;
        let mut client_config = ClientConfig {
            timeout: ot.timeout,
            connect_timeout: ot.connect_timeout,
            ..ClientConfig::new(credentials)
        };
        let url = if client_config.credentials.is_vonage() {
            v.api_url.as_ref()
        } else {
            Some(&ot.api_url)
        };
        client_config.base_url = url.unwrap_or(&client_config.base_url).clone();
        client_config.token_format = ot.token_format.unwrap_or(client_config.token_format);
        client_config
            .validate()
            .map_err(StartupError::TokenFormat)?;
        let (format, url) = (client_config.token_format.as_str(), &client_config.base_url);
        tracing::info!(token_format = format, opentok_url = %url, "OpenTok client");
        let url = &settings.storage.url;
        let store = url
            .open(&settings.storage.options())
            .await
            .map_err(|source| StartupError::Store {
                url: url.to_string(),
                source,
            })?;
        Ok(Self {
            store,
            opentok: Arc::new(move || -> Box<dyn OpenTokApi> {
                Box::new(HttpOpenTokClient::new(client_config.clone()))
            }),
            now: Arc::new(|| {
                let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
                since_epoch.map_or(0, |d| d.as_secs())
            }),
        })
    }
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
        let bind_error = |source| StartupError::Bind {
            addr: addr.clone(),
            source,
        };
        let listener = TcpListener::bind(&addr).map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        let body_limit = http.body_limit_bytes;
        let gate = Arc::new(Gate::new(&settings.auth.api_keys, http.max_header_bytes));
        let origins = settings.auth.cors_allowed_origins.clone();
        let mut server = HttpServer::new(move || {
            let state = AppState {
                store: Arc::clone(&deps.store),
                opentok: (deps.opentok)(),
                now: Arc::clone(&deps.now),
                body_limit,
            };
            let gate = Arc::clone(&gate);
            // Outermost last: log → JSON safety net → CORS → gate (header limit, auth) → routes.
            App::new()
                .app_data(web::Data::new(state))
                .app_data(web::PayloadConfig::new(body_limit))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(move |req, next| {
                    middleware::gate(Arc::clone(&gate), req, next)
                }))
                .wrap(Condition::new(
                    !origins.is_empty(),
                    middleware::cors(&origins),
                ))
                .wrap(ErrorHandlers::new().default_handler(middleware::json_errors))
                .wrap(from_fn(middleware::request_log))
        })
        .max_connections(http.max_connections)
        .client_request_timeout(http.client_request_timeout)
        .shutdown_timeout(http.shutdown_timeout_secs);
        if let Some(workers) = http.workers {
            server = server.workers(workers.max(1));
        }
        let server = server.listen(listener).map_err(bind_error)?.run();
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
