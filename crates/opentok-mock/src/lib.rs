//! A faithful mock of the OpenTok REST API (`POST /session/create`, archives later) for tests,
//! CI and the server's offline mode. It checks the auth JWT and the form the way OpenTok would,
//! records every request, and injects faults on demand.
//!
//! Depends on the domain crate (to mint ids in the real format) and actix-web; nothing depends on it
//! but tests and the server's `--mock-opentok` mode.

use std::net::SocketAddr;
use std::time::Duration;

/// What the mock answers as and listens on.
#[derive(Debug, Clone)]
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

/// A fault to inject into the next answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this HTTP status with an OpenTok-style JSON error body.
    Status(u16),
    /// Answer 200 with a body that is not OpenTok's JSON.
    Garbage,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Never answer.
    Hang,
    /// Close the connection without answering.
    CloseConnection,
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path with the query string, e.g. `/session/create`.
    pub path: String,
    /// Headers in arrival order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// A running mock (skeleton: filled in by the mock work).
pub struct MockOpenTok {
    url: String,
}

impl MockOpenTok {
    /// Binds and starts the mock on the current actix runtime; returns once it accepts connections.
    pub async fn start(config: MockConfig) -> std::io::Result<Self> {
        let _ = config;
        todo!()
    }

    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        todo!()
    }

    /// Injects `fault` into the next `times` answers, or every answer until cleared when `None`.
    pub fn set_fault(&self, fault: Fault, times: Option<usize>) {
        let _ = (fault, times);
        todo!()
    }

    /// Removes any injected fault.
    pub fn clear_fault(&self) {
        todo!()
    }

    /// Stops the server.
    pub async fn stop(self) {
        todo!()
    }
}
