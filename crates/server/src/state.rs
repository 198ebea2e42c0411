//! What handlers share: the store (one for all workers), the OpenTok API (one per worker), a clock.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use opentok_client::OpenTokApi;
use tiny_opentok_domain::Session;
use tiny_opentok_storage::SessionStore;

use crate::error::ApiError;

/// Where "now" comes from, so tests can pin it.
pub trait Clock: Send + Sync {
    /// Current unix time in seconds.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Builds one OpenTok API per worker: an awc client belongs to one thread.
pub type OpenTokFactory = Arc<dyn Fn() -> Box<dyn OpenTokApi> + Send + Sync>;

/// Per-worker state registered as the app's single `Data` type.
pub struct AppState {
    /// Shared by every worker.
    pub store: Arc<dyn SessionStore>,
    /// This worker's OpenTok API.
    pub opentok: Box<dyn OpenTokApi>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    /// The stored session with this id; a malformed id is simply not found.
    ///
    /// # Errors
    /// [`ApiError::SessionNotFound`], or a store failure.
    pub async fn find_session(&self, id: &str) -> Result<Session, ApiError> {
        self.store.find(id).await?.ok_or(ApiError::SessionNotFound)
    }
}
