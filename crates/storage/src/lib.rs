//! Where sessions live: the async [`SessionStore`] trait, the in-memory [`MemoryStore`] (with
//! optional capacity and idle expiry timed by an injectable [`Clock`]), the persistent
//! `SqliteStore` (feature `sqlite`) and `RedisStore` (feature `redis`) behind a bounded
//! in-process cache, [`open_store`] to pick one from a URL, and a backend-independent
//! conformance suite (feature `testing`, which also brings tokio and `ManualClock`).
//!
//! Stores keep domain values and know nothing of HTTP or OpenTok. Of this workspace it depends
//! only on the domain crate.

use async_trait::async_trait;
use tiny_opentok_domain::{Session, SessionId};

#[cfg(any(feature = "sqlite", feature = "redis"))]
mod cached;
mod clock;
#[cfg(feature = "testing")]
pub mod conformance;
mod error;
mod memory;
mod open;
#[cfg(any(feature = "sqlite", feature = "redis"))]
mod record;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "testing")]
pub use clock::ManualClock;
pub use clock::{Clock, MonotonicClock};
pub use error::{StoreError, ACCEPTED_URLS};
pub use memory::{MemoryStore, MemoryStoreConfig};
pub use open::{open_store, StoreOptions, StoreUrl};
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// A place to keep the sessions this service created. Shared by every worker as
/// `Arc<dyn SessionStore>`; backends may do I/O and fail.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session. For the persistent stores, `Ok` means the write is committed
    /// (SQLite) or acknowledged (Redis).
    ///
    /// # Errors
    /// [`StoreError::Full`] at capacity, [`StoreError::AlreadyExists`] for a duplicate id,
    /// [`StoreError::Unavailable`] when the backend is down or too slow (the write may or may not
    /// have happened), or another backend failure. Nothing is stored on the other errors.
    async fn insert(&self, session: Session) -> Result<(), StoreError>;

    /// Looks a session up; a missing (or expired, or unreadable) one is `Ok(None)`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the backend had to be asked and did not answer in time.
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;

    /// Looks a session up by id text as a client sent it: text that is not a valid id is simply
    /// not found. Stores that can search by text skip validating it (only valid ids are ever
    /// stored); the default parses the id and calls [`SessionStore::get`].
    ///
    /// # Errors
    /// As [`SessionStore::get`].
    async fn find(&self, id: &str) -> Result<Option<Session>, StoreError> {
        match SessionId::parse(id) {
            Ok(id) => self.get(&id).await,
            Err(_) => Ok(None),
        }
    }

    /// Removes a session, returning it if it was there.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or another backend failure.
    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;

    /// How many sessions are stored.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or another backend failure.
    async fn count(&self) -> Result<usize, StoreError>;

    /// Whether the backend answers right now, for a readiness probe. The default (a store with
    /// no backend to lose) is always ready.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not answer within the store's timeout.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Stored records this store could not read (and so treated as not found) since it was
    /// opened, each counted once. Always 0 for stores that keep no encoded records.
    fn corrupt_records(&self) -> u64 {
        0
    }
}
