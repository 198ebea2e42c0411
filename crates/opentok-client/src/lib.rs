//! Talks to OpenTok: mints client tokens (legacy T1 and JWT) and calls the REST API over awc.
//!
//! It knows OpenTok's formats (shared/opentok-protocol.md) and HTTP, and nothing of the server's
//! routes, JSON error bodies or storage. Depends only on the domain crate among the workspace's.

use async_trait::async_trait;
use tiny_opentok_domain::{ApiKey, SessionId, SessionOptions, TokenOptions};

mod client;
mod credentials;
mod error;
pub mod jwt;
mod nonce;
mod signer;
pub mod t1;

pub use client::{ClientConfig, HttpOpenTokClient, DEFAULT_API_URL};
pub use credentials::{Credentials, TokenFormat};
pub use error::OpenTokError;
pub use nonce::Nonce;
pub use signer::TokenSigner;

/// The OpenTok operations the server needs. The server holds a `Box<dyn OpenTokApi>` per worker, so
/// tests and other credential kinds can plug in. `?Send` because `awc::Client` is not `Send`.
#[async_trait(?Send)]
pub trait OpenTokApi {
    /// The API key sessions are created under and tokens carry.
    fn api_key(&self) -> &ApiKey;

    /// Creates a session through the REST API and returns the id OpenTok issued.
    ///
    /// # Errors
    /// See [`OpenTokError`]; every REST failure mode has its own variant.
    async fn create_session(&self, options: &SessionOptions) -> Result<SessionId, OpenTokError>;

    /// Mints a client token locally (no network) for a session of this key, created at `now`
    /// (unix seconds), with a fresh random nonce.
    ///
    /// # Errors
    /// [`OpenTokError::ForeignSession`] when the id was not issued for this API key.
    fn mint_token(
        &self,
        session_id: &SessionId,
        options: &TokenOptions,
        now: u64,
    ) -> Result<String, OpenTokError>;
}
