//! A faithful mock of the OpenTok REST API (`POST /session/create`, archives later) for tests,
//! CI and the server's offline mode. It checks the auth JWT and the form the way OpenTok would,
//! records every request, and injects faults on demand. It answers either as an OpenTok project
//! (API key and secret, [`MockOpenTok::start`]) or as a Vonage Video application (application id
//! and RSA public key, [`MockOpenTok::start_vonage`]).
//!
//! Start it on the current actix runtime with [`MockOpenTok::start`] (inside `#[actix_web::test]` or
//! `#[actix_web::main]`), point a client at [`MockOpenTok::url`], then assert on
//! [`MockOpenTok::requests`]. The rules it enforces are described in the crate's README.md.
//!
//! ```
//! use opentok_mock::{Fault, MockConfig, MockOpenTok};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let mock = MockOpenTok::start(MockConfig::new("123456", "the-secret")).await?;
//! mock.set_fault(Fault::Status(503), Some(1));
//!
//! let url = format!("{}/session/create", mock.url());
//! let res = awc::Client::new().post(url).send_body("p2p.preference=disabled").await.unwrap();
//!
//! assert_eq!(res.status(), 503);
//! assert_eq!(mock.requests()[0].body, b"p2p.preference=disabled");
//! mock.stop().await;
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! Depends on the domain crate (to mint ids in the real format) and actix-web; nothing depends on it
//! but tests and the server's `--mock-opentok` mode.

mod answer;
mod auth;
mod bearer;
mod form;
mod routes;
mod state;
mod timer;

pub use state::MAX_RECORDED;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use tiny_opentok_domain::ApiKey;

use crate::state::{Auth, State};

/// The mock-only response header naming why credentials were refused (e.g. `bad_signature`,
/// `expired`, `missing_jti`). The real service sends no such header; its 403 body is always
/// `{"code":-1,"message":"No suitable authentication found"}`.
pub const AUTH_FAILURE_HEADER: &str = "x-mock-auth-failure";

/// How long `stop()` lets in-flight requests finish before closing their connections.
const SHUTDOWN_TIMEOUT_SECS: u64 = 2;

/// What the mock answers as and listens on. `Debug` redacts the secret.
#[derive(Clone)]
pub struct MockConfig {
    /// Address to bind; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The API key requests must be signed for.
    pub api_key: String,
    /// The secret the auth JWT must be signed with.
    pub api_secret: String,
    /// Artificial latency added to every answer (zero by default).
    pub latency: Duration,
}

impl MockConfig {
    /// A config for `127.0.0.1:0` (a free port) with no added latency.
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            latency: Duration::ZERO,
        }
    }
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field("addr", &self.addr)
            .field("api_key", &self.api_key)
            .field("api_secret", &"[redacted]")
            .field("latency", &self.latency)
            .finish()
    }
}

/// What the mock answers as in Vonage mode. `Debug` shows the application id only.
#[derive(Clone)]
pub struct VonageMockConfig {
    /// Address to bind; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The application id (a UUID) the Bearer JWTs must name in `application_id`.
    pub application_id: String,
    /// The application's key in PEM: its public key (`BEGIN PUBLIC KEY`), or its private key (PKCS#8 or PKCS#1), of which only the public
    /// half is kept.
    pub key_pem: String,
    /// Artificial latency added to every answer (zero by default).
    pub latency: Duration,
}

impl VonageMockConfig {
    /// A config for `127.0.0.1:0` (a free port) with no added latency.
    pub fn new(application_id: impl Into<String>, key_pem: impl Into<String>) -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            application_id: application_id.into(),
            key_pem: key_pem.into(),
            latency: Duration::ZERO,
        }
    }
}

impl std::fmt::Debug for VonageMockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VonageMockConfig")
            .field("addr", &self.addr)
            .field("application_id", &self.application_id)
            .field("latency", &self.latency)
            .finish_non_exhaustive()
    }
}

/// A fault to inject into the next answers of `POST /session/create`. The request is still recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this HTTP status with an OpenTok-style JSON error body: `{"code":N,"message":...}`;
    /// 401 and 403 carry the real auth-failure body, and 503 an empty `text/xml` body like the real
    /// fixture. A number that is not a valid status answers 500.
    Status(u16),
    /// Answer 200 `application/json` with a body that is not JSON.
    Garbage,
    /// Wait this long, then answer normally (auth and form checks included).
    Delay(Duration),
    /// Never answer; the connection is dropped only when the mock is stopped.
    Hang,
    /// Close the connection without sending a single byte of HTTP.
    CloseConnection,
}

/// One request the mock received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path with the query string, e.g. `/session/create`.
    pub path: String,
    /// Headers, names lowercase, values decoded lossily as UTF-8. Values of one name keep their
    /// order; the order across names is not preserved (actix stores headers in a map).
    pub headers: Vec<(String, String)>,
    /// The raw body (empty when it was over the 1 MiB limit and refused with 413).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of header `name` (matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as a form, in order; empty if it is not one.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).unwrap_or_default()
    }
}

/// A running mock. Stop it with [`MockOpenTok::stop`]; dropping it stops the server without waiting.
pub struct MockOpenTok {
    url: String,
    state: Arc<State>,
    handle: ServerHandle,
    server: Option<actix_rt::task::JoinHandle<io::Result<()>>>,
}

impl MockOpenTok {
    /// Binds and starts the mock on the current actix runtime; returns once it accepts connections.
    ///
    /// It runs one worker thread and installs no signal handlers, so it can be embedded in a test or
    /// in another server.
    ///
    /// # Errors
    /// `InvalidInput` when the API key is not a valid key or the secret is empty; any error from
    /// binding the address.
    ///
    /// # Panics
    /// When called outside an actix system (use `#[actix_web::test]` or `#[actix_web::main]`).
    pub async fn start(config: MockConfig) -> io::Result<Self> {
        let api_key = ApiKey::parse(&config.api_key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if config.api_secret.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the API secret is empty",
            ));
        }
        let auth = Auth::OpenTok {
            api_secret: config.api_secret,
        };
        Self::serve(config.addr, api_key, auth, config.latency).await
    }

    /// Like [`MockOpenTok::start`], answering as a Vonage Video application: requests must carry
    /// `Authorization: Bearer` with an RS256 application JWT, and session ids carry the
    /// application id.
    ///
    /// # Errors
    /// `InvalidInput` when the application id is not a UUID or the PEM holds no usable RSA key
    /// (the message never quotes the PEM); any error from binding the address.
    ///
    /// # Panics
    /// When called outside an actix system.
    pub async fn start_vonage(config: VonageMockConfig) -> io::Result<Self> {
        let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
        let id = &config.application_id;
        let is_uuid = id.len() == 36
            && id.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if !is_uuid {
            return Err(invalid(format!("the application id {id:?} is not a UUID")));
        }
        let api_key = ApiKey::parse(id).map_err(|e| invalid(e.to_string()))?;
        let public_key_der = bearer::public_key_der(&config.key_pem)
            .map_err(|reason| invalid(format!("application key: {reason}")))?;
        let auth = Auth::Vonage { public_key_der };
        Self::serve(config.addr, api_key, auth, config.latency).await
    }

    async fn serve(
        addr: SocketAddr,
        api_key: ApiKey,
        auth: Auth,
        latency: Duration,
    ) -> io::Result<Self> {
        // Binding here, before run(), means the socket is listening when start() returns:
        // connections made from then on wait in the backlog until the worker picks them up.
        let listener = TcpListener::bind(addr)?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        let state = Arc::new(State::new(api_key, auth, latency));
        let data = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(routes::dispatch))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)?
        .run();
        let handle = server.handle();
        let server = actix_rt::spawn(server);
        tracing::info!(%addr, "opentok-mock started");
        Ok(Self {
            url: format!("http://{addr}"),
            state,
            handle,
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The requests received so far (the latest [`MAX_RECORDED`]), oldest first, rejected ones
    /// included.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }

    /// How many sessions were created (answered 200 with an id) so far.
    pub fn sessions_created(&self) -> usize {
        self.state.sessions_created()
    }

    /// Injects `fault` into the next `times` session-create answers, or every answer until cleared
    /// when `None`. Replaces any fault already set; `Some(0)` clears it.
    pub fn set_fault(&self, fault: Fault, times: Option<usize>) {
        self.state.set_fault(fault, times);
    }

    /// Removes any injected fault.
    pub fn clear_fault(&self) {
        self.state.clear_fault();
    }

    /// From now on, refuses (`true`) or accepts (`false`, the default) OpenTok auth JWTs without
    /// a `jti` claim. The real service accepts them, and the Node `opentok` SDK sends none; the
    /// strict setting checks that a client of ours always sends one. Vonage application JWTs
    /// always need a `jti`.
    pub fn set_require_jti(&self, require: bool) {
        self.state
            .require_jti
            .store(require, std::sync::atomic::Ordering::Relaxed);
    }

    /// Changes the latency added to every answer from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.state.set_latency(latency);
    }

    /// Stops the server gracefully: requests held by [`Fault::Hang`], [`Fault::Delay`] or the latency
    /// are released by closing their connections, others get up to 2 s to finish.
    pub async fn stop(mut self) {
        self.state.begin_shutdown();
        self.handle.stop(true).await;
        if let Some(server) = self.server.take() {
            if let Ok(Err(err)) = server.await {
                tracing::warn!(error = %err, "opentok-mock server ended with an error");
            }
        }
        tracing::info!(url = %self.url, "opentok-mock stopped");
    }
}

impl Drop for MockOpenTok {
    fn drop(&mut self) {
        if self.server.is_some() {
            self.state.begin_shutdown();
            // Sends the stop command now; nobody needs to wait for it to complete.
            drop(self.handle.stop(false));
        }
    }
}

impl std::fmt::Debug for MockOpenTok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockOpenTok")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vonage_config_debug_hides_the_key() {
        let config = VonageMockConfig::new("29f760f8-7ce1-46c9-ade3-f2dedee4ed5f", "PEM-TEXT");
        let shown = format!("{config:?}");
        assert!(!shown.contains("PEM-TEXT"), "{shown}");
        assert!(shown.contains("29f760f8"), "{shown}");
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let config = MockConfig::new("123456", "s3cr3t-value");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("123456"), "{shown}");
        assert_eq!(config.addr, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        assert_eq!(config.latency, Duration::ZERO);
    }
}
