use std::time::Duration;

use async_trait::async_trait;
use tiny_opentok_domain::{Session, SessionId};

use crate::{SessionStore, StoreError};

/// Limits for a [`MemoryStore`].
#[derive(Debug, Clone, Default)]
pub struct MemoryStoreConfig {
    /// Most sessions held at once; `None` is unbounded.
    pub capacity: Option<usize>,
    /// Sessions not read or written for this long are dropped; `None` keeps them forever.
    pub idle_ttl: Option<Duration>,
}

/// A concurrent in-memory store (skeleton: filled in by the storage work).
#[derive(Debug, Default)]
pub struct MemoryStore {
    _config: MemoryStoreConfig,
}

impl MemoryStore {
    /// An unbounded store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store with the given limits.
    pub fn with_config(config: MemoryStoreConfig) -> Self {
        Self { _config: config }
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert(&self, _session: Session) -> Result<(), StoreError> {
        todo!()
    }
    async fn get(&self, _id: &SessionId) -> Result<Option<Session>, StoreError> {
        todo!()
    }
    async fn remove(&self, _id: &SessionId) -> Result<Option<Session>, StoreError> {
        todo!()
    }
    async fn count(&self) -> Result<usize, StoreError> {
        todo!()
    }
}
