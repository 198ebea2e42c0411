//! The vocabulary of OpenTok sessions and tokens: validated identifiers, session and token options,
//! and the rules that bind them (docs/protocol.md).
//!
//! This crate is pure: no I/O, no async, no clock reads and no randomness. Time and random parts come in
//! as arguments, so every function gives the same output for the same input. It must not depend on
//! actix, awc, storage or any other crate of the workspace.

mod api_key;
mod enums;
mod error;
mod session;
mod session_id;
mod token;

pub use api_key::ApiKey;
pub use enums::{ArchiveMode, MediaMode, Role};
pub use error::DomainError;
pub use session::{parse_location, Session, SessionOptions};
pub use session_id::{SessionId, SessionIdRecord, SESSION_ID_MAX_LEN};
pub use token::{
    parse_layout_class_list, TokenOptions, TokenParams, DATA_MAX_CHARS, DEFAULT_TOKEN_TTL_SECS,
    LAYOUT_MAX_CHARS, MAX_TOKEN_TTL_SECS,
};
