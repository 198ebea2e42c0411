use thiserror::Error;
use tiny_opentok_domain::SessionId;

/// The store URL forms [`crate::open_store`] accepts, for error messages and docs.
pub const ACCEPTED_URLS: &str = "memory, sqlite://PATH, redis://[user:password@]host:port[/db] \
                                 or rediss://[user:password@]host:port[/db]";

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
    /// The backend cannot be reached or did not answer within the store's timeout. Transient:
    /// the same call may succeed later without rebuilding the store.
    #[error("session store unavailable: {message}")]
    Unavailable {
        /// What failed, without secrets.
        message: String,
        /// The underlying error, if there was one (a timeout has none).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The store URL or an option is not one this crate accepts; the message names the forms
    /// that are (never the password).
    #[error("invalid session store configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// The backend failed (I/O, a refused command, a database from a newer release).
    #[error("session store backend failed: {message}")]
    Backend {
        /// What failed, without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    /// Whether retrying later may succeed: the server answers these with 503 and `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    #[cfg(any(feature = "sqlite", feature = "redis"))]
    pub(crate) fn unavailable(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    #[cfg(any(feature = "sqlite", feature = "redis"))]
    pub(crate) fn backend(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            message: message.into(),
        }
    }
}
