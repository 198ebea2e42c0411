//! Talks to OpenTok: mints client tokens (legacy T1 and JWT; RS256 for Vonage applications) and
//! calls the REST API over awc.
//!
//! It knows OpenTok's formats (described in the repository's `docs/protocol.md`) and HTTP, and
//! nothing of the server's routes, JSON error bodies or storage. Depends only on the domain crate
//! among the workspace's.
//!
//! - [`HttpOpenTokClient`] implements [`OpenTokApi`]: `create_session` over REST, `mint_token` locally.
//! - [`TokenSigner`] holds the keyed HMAC states; with a pinned [`Nonce`] minting is a pure function.
//! - [`t1`] encodes Node's exact T1 layout and decodes/verifies the T1 tokens of every SDK;
//!   [`jwt`] writes the JWT claims in Node's order.
//! - [`Credentials`] holds an OpenTok key and secret or a Vonage [`ApplicationId`] with its
//!   [`VonagePrivateKey`]; the client picks the REST auth header, the default URL and the token
//!   format ([`TokenFormat::Rs256`]) from it.
//!
//! With a Vonage application (the PEM may come from a file or, with `\n` for line breaks, from an
//! environment variable):
//!
//! ```no_run
//! use opentok_client::{ApplicationId, ClientConfig, Credentials, HttpOpenTokClient, VonagePrivateKey};
//!
//! # fn run(pem: &str) -> Result<(), opentok_client::OpenTokError> {
//! let credentials = Credentials::vonage(
//!     ApplicationId::parse("29f760f8-7ce1-46c9-ade3-f2dedee4ed5f")?,
//!     VonagePrivateKey::from_pem(pem)?,
//! );
//! let config = ClientConfig::new(credentials); // video.api.vonage.com, RS256 tokens
//! config.validate()?;
//! let client = HttpOpenTokClient::new(config);
//! # let _ = client;
//! # Ok(())
//! # }
//! ```
//!
//! Creating a session and minting a token (needs a network and real credentials, so not run here):
//!
//! ```no_run
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//!
//! use opentok_client::{ClientConfig, Credentials, HttpOpenTokClient, OpenTokApi, TokenFormat};
//! use secrecy::SecretString;
//! use tiny_opentok_domain::{ApiKey, SessionOptions, TokenOptions, TokenParams};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let credentials = Credentials::new(ApiKey::parse("123456")?, SecretString::from("the secret"));
//! // Inside an actix worker: the awc client it builds belongs to this thread.
//! let client = HttpOpenTokClient::new(ClientConfig {
//!     timeout: Duration::from_secs(5),
//!     connect_timeout: Duration::from_secs(3),
//!     token_format: TokenFormat::Jwt,
//!     ..ClientConfig::new(credentials)
//! });
//! let session_id = client.create_session(&SessionOptions::default()).await?;
//! let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
//! let options = TokenOptions::new(TokenParams::default(), now)?;
//! let token = client.mint_token(&session_id, &options, now)?;
//! # let _ = token;
//! # Ok(())
//! # }
//! ```
//!
//! Signing alone, with the nonce pinned, reproduces the Node SDK's token byte for byte:
//!
//! ```
//! use opentok_client::{t1, Credentials, Nonce, TokenSigner};
//! use secrecy::SecretString;
//! use tiny_opentok_domain::{ApiKey, SessionId, TokenOptions, TokenParams};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = SecretString::from("1234567890abcdef1234567890abcdef1234567890");
//! let signer = TokenSigner::new(&Credentials::new(ApiKey::parse("123456")?, secret.clone()));
//! let session_id =
//!     SessionId::parse("1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4")?;
//! let now = 1_700_000_000;
//! let options = TokenOptions::new(TokenParams::default(), now)?;
//! let nonce = Nonce::new(0.5488135039273248).ok_or("nonce out of range")?;
//!
//! let token = signer.t1_token(&session_id, &options, now, &nonce)?;
//!
//! let decoded = t1::decode(&token)?;
//! assert_eq!(decoded.signature(), "ed08135fd94733b32ae86b18e27fe6fd3c27be56");
//! assert_eq!(decoded.field("role"), Some("publisher"));
//! assert!(decoded.verify(&secret));
//! # Ok(())
//! # }
//! ```

use async_trait::async_trait;
use tiny_opentok_domain::{ApiKey, SessionId, SessionOptions, TokenOptions};

mod client;
mod credentials;
mod error;
pub mod jwt;
mod nonce;
mod signer;
pub mod t1;
mod vonage;

pub use client::{ClientConfig, HttpOpenTokClient, DEFAULT_API_URL, DEFAULT_VONAGE_API_URL};
pub use credentials::{CredentialSettings, Credentials, Setting, TokenFormat};
pub use error::OpenTokError;
pub use nonce::Nonce;
pub use signer::TokenSigner;
pub use vonage::{pem_from_env_value, ApplicationId, VonagePrivateKey, MIN_RSA_BITS};

/// The OpenTok operations the server needs. The server holds a `Box<dyn OpenTokApi>` per worker, so
/// tests and other credential kinds can plug in. `?Send` because `awc::Client` is not `Send`.
#[async_trait(?Send)]
pub trait OpenTokApi {
    /// The API key sessions are created under and tokens carry; for a Vonage application, its
    /// application id (what clients connect with).
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
