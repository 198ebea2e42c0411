use thiserror::Error;

/// Why an OpenTok operation failed. Variants speak OpenTok's terms; the caller maps them to its own.
/// No variant ever carries the API secret, a private key or a token.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OpenTokError {
    /// OpenTok refused the request as invalid (400 and other 4xx but 401/403/404).
    #[error("OpenTok rejected the request (HTTP {status}): {message}")]
    InvalidRequest {
        /// The HTTP status.
        status: u16,
        /// OpenTok's `message`, when it sent one.
        message: String,
    },
    /// OpenTok refused the credentials (401 or 403).
    #[error("OpenTok refused the credentials (HTTP {status}): check the API key and secret (or the application id and private key)")]
    AuthenticationRefused {
        /// The HTTP status.
        status: u16,
    },
    /// OpenTok answered 404.
    #[error("OpenTok answered 404 Not Found")]
    NotFound,
    /// OpenTok failed (5xx).
    #[error("OpenTok failed (HTTP {status})")]
    Upstream {
        /// The HTTP status.
        status: u16,
    },
    /// OpenTok answered 2xx with a body we cannot use.
    #[error("OpenTok sent a malformed answer: {reason}")]
    MalformedResponse {
        /// What was wrong with it.
        reason: String,
    },
    /// No complete answer within the configured timeout.
    #[error("OpenTok did not answer within {timeout_ms} ms")]
    Timeout {
        /// The timeout that ran out.
        timeout_ms: u64,
    },
    /// The connection could not be made or broke before an answer arrived.
    #[error("OpenTok could not be reached: {reason}")]
    Unreachable {
        /// The transport error, as text.
        reason: String,
    },
    /// The session id was not issued for this API key, so a token for it would be useless.
    #[error("session {session_id} does not belong to API key {api_key}")]
    ForeignSession {
        /// The session id.
        session_id: String,
        /// Our API key.
        api_key: String,
    },
    /// A client token that cannot be taken apart (only the decoders return this).
    #[error("not a valid OpenTok token: {reason}")]
    MalformedToken {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Credentials that cannot be used: an application id that is not a UUID, or a private key that
    /// is unreadable, not RSA, too short or malformed. The reason never quotes key material.
    #[error("unusable credentials: {reason}")]
    InvalidCredentials {
        /// What is wrong.
        reason: String,
    },
    /// The token format needs another kind of credentials (T1 and JWT need an API secret, RS256
    /// a Vonage private key).
    #[error("{format} tokens cannot be signed with {credentials} credentials")]
    UnsupportedTokenFormat {
        /// The format asked for (`t1`, `jwt`, `rs256`).
        format: &'static str,
        /// The kind of credentials held (`OpenTok` or `Vonage application`).
        credentials: &'static str,
    },
    /// The RSA signature could not be made (AWS-LC refused to sign).
    #[error("RS256 signing failed")]
    SigningFailed,
}
