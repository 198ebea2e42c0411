use thiserror::Error;
use tiny_opentok_domain::SessionId;

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many sessions as it may.
    #[error("the session store is full ({capacity} sessions)")]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
    /// A session with this id is already stored.
    #[error("session {id} is already stored")]
    AlreadyExists {
        /// The duplicate id.
        id: SessionId,
    },
    /// The backend failed (I/O, connection, corrupt data).
    #[error("session store backend failed: {message}")]
    Backend {
        /// What failed, without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}
