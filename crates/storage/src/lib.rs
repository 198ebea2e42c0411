//! Where sessions live: the async [`SessionStore`] trait, the in-memory [`MemoryStore`] (with
//! optional capacity and idle expiry timed by an injectable [`Clock`]), and a
//! backend-independent conformance suite (feature `testing`, which also brings tokio and
//! `ManualClock`).
//!
//! Stores keep domain values and know nothing of HTTP or OpenTok. Of this workspace it depends
//! only on the domain crate.

use async_trait::async_trait;
use tiny_opentok_domain::{Session, SessionId};

mod clock;
#[cfg(feature = "testing")]
pub mod conformance;
mod error;
mod memory;

#[cfg(feature = "testing")]
pub use clock::ManualClock;
pub use clock::{Clock, MonotonicClock};
pub use error::StoreError;
pub use memory::{MemoryStore, MemoryStoreConfig};

/// A place to keep the sessions this service created. Shared by every worker as
/// `Arc<dyn SessionStore>`; backends may do I/O and fail.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    ///
    /// # Errors
    /// [`StoreError::Full`] at capacity, [`StoreError::AlreadyExists`] for a duplicate id, or a
    /// backend failure. Nothing is stored on error.
    async fn insert(&self, session: Session) -> Result<(), StoreError>;

    /// Looks a session up; a missing (or expired) one is `Ok(None)`.
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;

    /// Looks a session up by id text as a client sent it: text that is not a valid id is simply
    /// not found. Stores that can search by text skip validating it (only valid ids are ever
    /// stored); the default parses the id and calls [`SessionStore::get`].
    async fn find(&self, id: &str) -> Result<Option<Session>, StoreError> {
        match SessionId::parse(id) {
            Ok(id) => self.get(&id).await,
            Err(_) => Ok(None),
        }
    }

    /// Removes a session, returning it if it was there.
    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;

    /// How many sessions are stored.
    async fn count(&self) -> Result<usize, StoreError>;
}
