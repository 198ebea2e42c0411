use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::enums::{ArchiveMode, MediaMode};
use crate::error::{shown, DomainError};
use crate::session_id::SessionId;

/// Parses a location hint: a strict dotted-quad IPv4 address (no shorthand such as `127.1`, no
/// leading zeros, no IPv6), the strictest rule among the SDKs.
///
/// # Errors
/// [`DomainError::InvalidLocation`].
pub fn parse_location(value: &str) -> Result<Ipv4Addr, DomainError> {
    value
        .parse::<Ipv4Addr>()
        .ok()
        // Ipv4Addr's parser is already strict; printing it back guards against any future leniency.
        .filter(|ip| ip.to_string() == value)
        .ok_or_else(|| DomainError::InvalidLocation {
            value: shown(value),
        })
}

/// The options a session is created with. Only valid combinations can be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    try_from = "SessionOptionsRepr",
    into = "SessionOptionsRepr"
)]
pub struct SessionOptions {
    media_mode: MediaMode,
    archive_mode: ArchiveMode,
    location: Option<Ipv4Addr>,
    e2ee: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionOptionsRepr {
    #[serde(default)]
    media_mode: MediaMode,
    #[serde(default)]
    archive_mode: ArchiveMode,
    #[serde(default)]
    location: Option<Ipv4Addr>,
    #[serde(default)]
    e2ee: bool,
}

impl SessionOptions {
    /// Checks the strict union of the SDKs' rules: `always` needs routed; e2ee needs routed and
    /// excludes `always` (docs/protocol.md, "Creating a session").
    ///
    /// # Errors
    /// The first rule broken, in the order above.
    pub fn new(
        media_mode: MediaMode,
        archive_mode: ArchiveMode,
        location: Option<Ipv4Addr>,
        e2ee: bool,
    ) -> Result<Self, DomainError> {
        if archive_mode == ArchiveMode::Always && media_mode != MediaMode::Routed {
            return Err(DomainError::ArchiveAlwaysNeedsRouted);
        }
        if e2ee && media_mode != MediaMode::Routed {
            return Err(DomainError::E2eeNeedsRouted);
        }
        if e2ee && archive_mode == ArchiveMode::Always {
            return Err(DomainError::E2eeWithArchiveAlways);
        }
        Ok(Self {
            media_mode,
            archive_mode,
            location,
            e2ee,
        })
    }

    /// Routed or relayed.
    pub fn media_mode(&self) -> MediaMode {
        self.media_mode
    }

    /// Manual or always.
    pub fn archive_mode(&self) -> ArchiveMode {
        self.archive_mode
    }

    /// The location hint, if any.
    pub fn location(&self) -> Option<Ipv4Addr> {
        self.location
    }

    /// Whether end-to-end encryption is on.
    pub fn e2ee(&self) -> bool {
        self.e2ee
    }
}

impl TryFrom<SessionOptionsRepr> for SessionOptions {
    type Error = DomainError;
    fn try_from(r: SessionOptionsRepr) -> Result<Self, Self::Error> {
        Self::new(r.media_mode, r.archive_mode, r.location, r.e2ee)
    }
}

impl From<SessionOptions> for SessionOptionsRepr {
    fn from(o: SessionOptions) -> Self {
        Self {
            media_mode: o.media_mode,
            archive_mode: o.archive_mode,
            location: o.location,
            e2ee: o.e2ee,
        }
    }
}

/// A session this service created, as it is stored.
///
/// Serialises as `{"id","mediaMode","location","archiveMode","e2ee","createdAt"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The id OpenTok issued.
    pub id: SessionId,
    /// What it was created with.
    #[serde(flatten)]
    pub options: SessionOptions,
    /// When this service created it (unix seconds).
    pub created_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn location_must_be_a_strict_dotted_quad() {
        assert_eq!(
            parse_location("12.34.56.78"),
            Ok(Ipv4Addr::new(12, 34, 56, 78))
        );
        for bad in [
            "127.1",
            "01.2.3.4",
            "1.2.3.256",
            "::1",
            "1.2.3.4 ",
            "",
            "1.2.3",
            "a.b.c.d",
        ] {
            let err = parse_location(bad).unwrap_err();
            assert!(err.to_string().starts_with("location must be"), "{bad:?}");
        }
    }

    #[test]
    fn archive_always_needs_routed() {
        let err = SessionOptions::new(MediaMode::Relayed, ArchiveMode::Always, None, false);
        assert_eq!(err, Err(DomainError::ArchiveAlwaysNeedsRouted));
        assert!(SessionOptions::new(MediaMode::Routed, ArchiveMode::Always, None, false).is_ok());
    }

    #[test]
    fn e2ee_needs_routed_and_manual_archiving() {
        assert_eq!(
            SessionOptions::new(MediaMode::Relayed, ArchiveMode::Manual, None, true),
            Err(DomainError::E2eeNeedsRouted)
        );
        assert_eq!(
            SessionOptions::new(MediaMode::Routed, ArchiveMode::Always, None, true),
            Err(DomainError::E2eeWithArchiveAlways)
        );
        assert!(SessionOptions::new(MediaMode::Routed, ArchiveMode::Manual, None, true).is_ok());
    }

    #[test]
    fn default_options_are_routed_manual_nowhere_unencrypted() {
        let o = SessionOptions::default();
        assert_eq!(o.media_mode(), MediaMode::Routed);
        assert_eq!(o.archive_mode(), ArchiveMode::Manual);
        assert_eq!(o.location(), None);
        assert!(!o.e2ee());
    }

    #[test]
    fn session_serialises_with_api_names() {
        let id = SessionId::parse(
            "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4",
        )
        .unwrap();
        let s = Session {
            id,
            options: SessionOptions::new(
                MediaMode::Relayed,
                ArchiveMode::Manual,
                Some(Ipv4Addr::new(1, 2, 3, 4)),
                false,
            )
            .unwrap(),
            created_at: 1_700_000_000,
        };
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4",
                "mediaMode": "relayed", "location": "1.2.3.4", "archiveMode": "manual",
                "e2ee": false, "createdAt": 1_700_000_000u64
            })
        );
        assert_eq!(serde_json::from_value::<Session>(json).unwrap(), s);
    }

    #[test]
    fn deserialising_invalid_options_fails() {
        let json = r#"{"mediaMode":"relayed","archiveMode":"always","location":null,"e2ee":false}"#;
        let err = serde_json::from_str::<SessionOptions>(json).unwrap_err();
        assert!(
            err.to_string().contains("requires mediaMode 'routed'"),
            "{err}"
        );
    }

    fn media() -> impl Strategy<Value = MediaMode> {
        prop::sample::select(MediaMode::ALL.to_vec())
    }
    fn archive() -> impl Strategy<Value = ArchiveMode> {
        prop::sample::select(ArchiveMode::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn options_serde_round_trips(m in media(), a in archive(), ip in any::<Option<u32>>(), e in any::<bool>()) {
            if let Ok(o) = SessionOptions::new(m, a, ip.map(Ipv4Addr::from), e) {
                let json = serde_json::to_string(&o).unwrap();
                prop_assert_eq!(serde_json::from_str::<SessionOptions>(&json).unwrap(), o);
            }
        }

        #[test]
        fn any_ipv4_prints_and_parses_back(ip in any::<u32>()) {
            let ip = Ipv4Addr::from(ip);
            prop_assert_eq!(parse_location(&ip.to_string()), Ok(ip));
        }
    }
}
