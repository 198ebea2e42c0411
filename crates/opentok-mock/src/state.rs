//! What the running mock shares between its worker and the test holding [`crate::MockOpenTok`].

use std::collections::VecDeque;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tiny_opentok_domain::ApiKey;
use tokio::sync::watch;

use crate::{Fault, RecordedRequest};

/// Shared by the handlers and the [`crate::MockOpenTok`] handle. Critical sections are a few
/// assignments, so a std mutex held across no await point is enough.
/// The most requests kept for [`crate::MockOpenTok::requests`]; older ones are dropped first.
pub const MAX_RECORDED: usize = 10_000;

pub(crate) struct State {
    /// The API key, or in Vonage mode the application id (which session ids carry in its place).
    pub api_key: ApiKey,
    pub auth: Auth,
    /// Off by default, as the real service accepts OpenTok auth JWTs without `jti` (the Node
    /// `opentok` SDK sends none); on, the mock insists on one.
    pub require_jti: AtomicBool,
    inner: Mutex<Inner>,
    /// Flipped to `true` by `stop()`, to release requests held by `Hang` or `Delay`.
    shutdown: watch::Sender<bool>,
}

/// What requests must be authenticated with.
pub(crate) enum Auth {
    /// `X-OPENTOK-AUTH`: HS256 with the project secret.
    OpenTok { api_secret: String },
    /// `Authorization: Bearer`: RS256 verified with the application's public key (DER
    /// `RSAPublicKey`).
    Vonage { public_key_der: Vec<u8> },
}

struct Inner {
    requests: VecDeque<RecordedRequest>,
    fault: Option<ArmedFault>,
    latency: Duration,
    sessions_created: usize,
}

struct ArmedFault {
    fault: Fault,
    /// `None`: until cleared.
    remaining: Option<usize>,
}

impl State {
    pub(crate) fn new(api_key: ApiKey, auth: Auth, latency: Duration) -> Self {
        Self {
            api_key,
            auth,
            require_jti: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                requests: VecDeque::new(),
                fault: None,
                latency,
                sessions_created: 0,
            }),
            shutdown: watch::channel(false).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave Inner half-updated in a way that matters to a mock.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut inner = self.lock();
        // Bounded, so a long-running mock (the server's offline mode, benchmarks) does not grow.
        if inner.requests.len() == MAX_RECORDED {
            inner.requests.pop_front();
        }
        inner.requests.push_back(request);
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    pub(crate) fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    pub(crate) fn set_fault(&self, fault: Fault, times: Option<usize>) {
        self.lock().fault = match times {
            Some(0) => None,
            remaining => Some(ArmedFault { fault, remaining }),
        };
    }

    pub(crate) fn clear_fault(&self) {
        self.lock().fault = None;
    }

    /// The fault for this request, counting it against `times`.
    pub(crate) fn take_fault(&self) -> Option<Fault> {
        let mut inner = self.lock();
        let armed = inner.fault.as_mut()?;
        let fault = armed.fault.clone();
        if let Some(n) = armed.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.fault = None;
            }
        }
        Some(fault)
    }

    pub(crate) fn latency(&self) -> Duration {
        self.lock().latency
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    pub(crate) fn count_session(&self) {
        self.lock().sessions_created += 1;
    }

    pub(crate) fn sessions_created(&self) -> usize {
        self.lock().sessions_created
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once `stop()` has been called (immediately if it already was).
    pub(crate) async fn shutting_down(&self) {
        let mut rx = self.shutdown.subscribe();
        // The sender lives as long as self, so wait_for only ends when the flag is set.
        let _ = rx.wait_for(|down| *down).await;
    }

    /// Sleeps for `duration` counted from `since`, or less if the mock is being stopped. Returns
    /// whether it slept in full.
    pub(crate) async fn sleep(&self, since: Instant, duration: Duration) -> bool {
        if duration.is_zero() {
            return true;
        }
        tokio::select! {
            () = crate::timer::sleep_until(since + duration) => true,
            () = self.shutting_down() => false,
        }
    }
}
