//! The compact, versioned byte form of a session's options and creation time, as the persistent
//! backends store it (the id is the key and is not repeated).
//!
//! Layout, all integers little-endian:
//!
//! | byte | field |
//! | --- | --- |
//! | 0 | format version, 1 here; 0 is never written |
//! | 1 | flags: bit 0 relayed, bit 1 archive always, bit 2 e2ee, bit 3 has location |
//! | 2..10 | `created_at`, unix seconds (u64) |
//! | 10..14 | the location's IPv4 octets, only with flag bit 3 |
//!
//! A later release adds fields only by appending bytes and raising the version, so it can still
//! read version 1, and this one reads the version 1 prefix of a newer record and ignores the rest.

use std::net::Ipv4Addr;

use tiny_opentok_domain::{ArchiveMode, MediaMode, Session, SessionId, SessionOptions};

/// The version this release writes.
const VERSION: u8 = 1;
const RELAYED: u8 = 1;
const ARCHIVE_ALWAYS: u8 = 1 << 1;
const E2EE: u8 = 1 << 2;
const LOCATION: u8 = 1 << 3;
const FIXED_LEN: usize = 10;

/// The record for `session`: 10 bytes, 14 with a location.
pub(crate) fn encode(session: &Session) -> Vec<u8> {
    let options = &session.options;
    let mut flags = 0;
    if options.media_mode() == MediaMode::Relayed {
        flags |= RELAYED;
    }
    if options.archive_mode() == ArchiveMode::Always {
        flags |= ARCHIVE_ALWAYS;
    }
    if options.e2ee() {
        flags |= E2EE;
    }
    if options.location().is_some() {
        flags |= LOCATION;
    }
    let mut out = Vec::with_capacity(FIXED_LEN + 4);
    out.push(VERSION);
    out.push(flags);
    out.extend_from_slice(&session.created_at.to_le_bytes());
    if let Some(ip) = options.location() {
        out.extend_from_slice(&ip.octets());
    }
    out
}

/// Why a stored record cannot be read; only logged, never returned to callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Corrupt {
    Empty,
    Version(u8),
    Length(usize),
    Options,
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("empty record"),
            Self::Version(v) => write!(f, "unknown record version {v}"),
            Self::Length(n) => write!(f, "record of {n} bytes does not fit its flags"),
            Self::Options => f.write_str("options break the domain rules"),
        }
    }
}

/// Reads a record back into the session stored under `id`.
pub(crate) fn decode(id: SessionId, bytes: &[u8]) -> Result<Session, Corrupt> {
    let (&version, rest) = bytes.split_first().ok_or(Corrupt::Empty)?;
    if version == 0 {
        return Err(Corrupt::Version(version));
    }
    let flags = *rest.first().ok_or(Corrupt::Length(bytes.len()))?;
    let needed = if flags & LOCATION != 0 {
        FIXED_LEN + 4
    } else {
        FIXED_LEN
    };
    // Version 1 must be exact, so a truncated or padded record is caught; newer ones may append.
    let fits = if version == VERSION {
        bytes.len() == needed
    } else {
        bytes.len() >= needed
    };
    if !fits {
        return Err(Corrupt::Length(bytes.len()));
    }
    let mut created = [0; 8];
    created.copy_from_slice(&bytes[2..FIXED_LEN]);
    let location = (flags & LOCATION != 0).then(|| {
        Ipv4Addr::new(
            bytes[FIXED_LEN],
            bytes[FIXED_LEN + 1],
            bytes[FIXED_LEN + 2],
            bytes[FIXED_LEN + 3],
        )
    });
    let media = if flags & RELAYED != 0 {
        MediaMode::Relayed
    } else {
        MediaMode::Routed
    };
    let archive = if flags & ARCHIVE_ALWAYS != 0 {
        ArchiveMode::Always
    } else {
        ArchiveMode::Manual
    };
    let options = SessionOptions::new(media, archive, location, flags & E2EE != 0)
        .map_err(|_| Corrupt::Options)?;
    Ok(Session {
        id,
        options,
        created_at: u64::from_le_bytes(created),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_opentok_domain::ApiKey;

    fn id() -> SessionId {
        let key = ApiKey::parse("123456").unwrap();
        SessionId::encode(&key, None, 1_700_000_000_000, "r").unwrap()
    }

    fn session(options: SessionOptions) -> Session {
        Session {
            id: id(),
            options,
            created_at: 1_700_000_123,
        }
    }

    #[test]
    fn every_valid_option_set_round_trips() {
        for media in MediaMode::ALL {
            for archive in ArchiveMode::ALL {
                for location in [None, Some(Ipv4Addr::new(1, 2, 3, 4))] {
                    for e2ee in [false, true] {
                        let Ok(options) = SessionOptions::new(*media, *archive, location, e2ee)
                        else {
                            continue;
                        };
                        let s = session(options);
                        assert_eq!(decode(id(), &encode(&s)), Ok(s));
                    }
                }
            }
        }
    }

    #[test]
    fn pins_the_version_1_layout() {
        let options =
            SessionOptions::new(MediaMode::Relayed, ArchiveMode::Manual, None, false).unwrap();
        let bytes = encode(&session(options));
        assert_eq!(bytes, [1, 1, 0x7b, 0xf1, 0x53, 0x65, 0, 0, 0, 0]);
    }

    #[test]
    fn a_newer_version_with_appended_fields_still_reads() {
        let s = session(SessionOptions::default());
        let mut bytes = encode(&s);
        bytes[0] = 2;
        bytes.extend_from_slice(b"future");
        assert_eq!(decode(id(), &bytes), Ok(s));
    }

    #[test]
    fn damaged_records_are_refused_not_misread() {
        let good = encode(&session(SessionOptions::default()));
        let mut padded = good.clone();
        padded.push(0);
        let mut zero_version = good.clone();
        zero_version[0] = 0;
        let mut bad_rules = good.clone();
        bad_rules[1] = RELAYED | E2EE;
        let mut claims_location = good.clone();
        claims_location[1] |= LOCATION;
        let cases: [(&[u8], Corrupt); 7] = [
            (&[], Corrupt::Empty),
            (&[1], Corrupt::Length(1)),
            (&good[..9], Corrupt::Length(9)),
            (&padded, Corrupt::Length(11)),
            (&zero_version, Corrupt::Version(0)),
            (&bad_rules, Corrupt::Options),
            (&claims_location, Corrupt::Length(10)),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(id(), bytes), Err(want), "{bytes:?}");
        }
    }
}
