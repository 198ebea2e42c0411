use thiserror::Error;

/// Why a value was refused. Each message names the parameter (by its HTTP API name) and the rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DomainError {
    /// A session id that is not in OpenTok's format.
    #[error("sessionId is not a valid OpenTok session id: {reason}")]
    InvalidSessionId {
        /// The rule it broke.
        reason: &'static str,
    },
    /// An API key that is empty, too long or has characters no key has.
    #[error("apiKey is invalid: {reason}")]
    InvalidApiKey {
        /// The rule it broke.
        reason: &'static str,
    },
    /// A value outside a closed set (role, mediaMode, archiveMode).
    #[error("{param} must be one of {allowed}, got {value:?}")]
    InvalidChoice {
        /// The parameter's wire name.
        param: &'static str,
        /// The accepted values, as a human-readable list.
        allowed: &'static str,
        /// What was given (truncated to 64 characters).
        value: String,
    },
    /// A location that is not a strict dotted-quad IPv4 address.
    #[error("location must be a dotted-quad IPv4 address such as 12.34.56.78, got {value:?}")]
    InvalidLocation {
        /// What was given (truncated to 64 characters).
        value: String,
    },
    /// `archiveMode=always` with a relayed session.
    #[error("archiveMode 'always' requires mediaMode 'routed'")]
    ArchiveAlwaysNeedsRouted,
    /// `e2ee=true` with a relayed session.
    #[error("e2ee requires mediaMode 'routed'")]
    E2eeNeedsRouted,
    /// `e2ee=true` together with `archiveMode=always`.
    #[error("e2ee cannot be combined with archiveMode 'always'")]
    E2eeWithArchiveAlways,
    /// An expiry at or before the current time.
    #[error("expiresAt must be in the future: it is {expire_time}, now is {now}")]
    ExpiryNotInFuture {
        /// The requested expiry (unix seconds).
        expire_time: u64,
        /// The current time (unix seconds).
        now: u64,
    },
    /// An expiry more than 30 days ahead.
    #[error("expiresAt must be at most 30 days (2592000 s) after now: it is {expire_time}, the latest allowed is {max}")]
    ExpiryTooFar {
        /// The requested expiry (unix seconds).
        expire_time: u64,
        /// The latest allowed expiry (unix seconds).
        max: u64,
    },
    /// Connection data longer than the documented limit.
    #[error("data must be at most {max} characters, got {len}")]
    DataTooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A layout class name that is empty or contains white space.
    #[error("initialLayoutClassList entries must be non-empty and contain no white space, got {value:?}")]
    InvalidLayoutClass {
        /// The offending class (truncated to 64 characters).
        value: String,
    },
    /// The space-joined layout class list is too long.
    #[error("initialLayoutClassList must be at most {max} characters when joined with spaces, got {len}")]
    LayoutTooLong {
        /// The joined length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Keeps error messages bounded when a client sends a huge value.
pub(crate) fn shown(value: &str) -> String {
    const MAX: usize = 64;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}
