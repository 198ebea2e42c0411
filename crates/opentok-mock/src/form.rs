//! Validates the `POST /session/create` form (docs/protocol.md, "Creating a session").
//!
//! The rule is the strict union of the SDKs' checks, which is what our own client must satisfy:
//! `p2p.preference` is required (every SDK sends it; the real service would default to relayed, but a
//! client that leaves it out almost certainly forgot the media mode), `archiveMode` defaults to
//! `manual`, `always` and `e2ee=true` need routed media and exclude each other, `location` is a strict
//! dotted quad, and `archiveName` / `archiveResolution` are only allowed with `always`. Fields the mock
//! does not know are ignored, as the service ignores the Python SDK's `e2ee=false` and PHP's `api_key`.

use std::net::Ipv4Addr;

use tiny_opentok_domain::{parse_location, ArchiveMode, MediaMode, SessionOptions};

/// Resolutions the service accepts for automatic archives.
const RESOLUTIONS: [&str; 6] = [
    "640x480",
    "480x640",
    "1280x720",
    "720x1280",
    "1920x1080",
    "1080x1920",
];

/// The longest archive name, in characters.
const ARCHIVE_NAME_MAX_CHARS: usize = 80;

/// A validated create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreateForm {
    pub options: SessionOptions,
}

impl CreateForm {
    pub(crate) fn location(&self) -> Option<Ipv4Addr> {
        self.options.location()
    }
}

/// Parses and validates the body; the error is the message for a 400 answer.
pub(crate) fn parse(body: &[u8]) -> Result<CreateForm, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|e| format!("body is not a valid form: {e}"))?;
    // The first occurrence wins; SDKs never repeat a field.
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    let media_mode = match field("p2p.preference") {
        Some("enabled") => MediaMode::Relayed,
        Some("disabled") => MediaMode::Routed,
        Some(other) => {
            return Err(format!(
                "p2p.preference must be 'enabled' or 'disabled', got {other:?}"
            ))
        }
        None => return Err("p2p.preference is required ('enabled' or 'disabled')".to_owned()),
    };
    let archive_mode = match field("archiveMode") {
        Some(value) => ArchiveMode::parse(value).map_err(|e| e.to_string())?,
        None => ArchiveMode::Manual,
    };
    // `@vonage/video` sends the literal `location=null` when no location is given.
    let location = field("location")
        .filter(|value| *value != "null")
        .map(parse_location)
        .transpose()
        .map_err(|e| e.to_string())?;
    let e2ee = match field("e2ee") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(format!("e2ee must be 'true' or 'false', got {other:?}")),
    };
    let options =
        SessionOptions::new(media_mode, archive_mode, location, e2ee).map_err(|e| e.to_string())?;

    if let Some(name) = field("archiveName") {
        if archive_mode != ArchiveMode::Always {
            return Err("archiveName is only allowed with archiveMode 'always'".to_owned());
        }
        let len = name.chars().count();
        if !(1..=ARCHIVE_NAME_MAX_CHARS).contains(&len) {
            return Err(format!(
                "archiveName must be 1 to {ARCHIVE_NAME_MAX_CHARS} characters, got {len}"
            ));
        }
    }
    if let Some(resolution) = field("archiveResolution") {
        if archive_mode != ArchiveMode::Always {
            return Err("archiveResolution is only allowed with archiveMode 'always'".to_owned());
        }
        if !RESOLUTIONS.contains(&resolution) {
            return Err(format!(
                "archiveResolution must be one of {}, got {resolution:?}",
                RESOLUTIONS.join(", ")
            ));
        }
    }
    Ok(CreateForm { options })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> SessionOptions {
        match parse(body.as_bytes()) {
            Ok(form) => form.options,
            Err(e) => panic!("{body:?} refused: {e}"),
        }
    }

    #[test]
    fn accepts_every_body_the_sdks_sent() {
        // Bodies the SDKs sent (Node, Python, Ruby), as in opentok-client's
        // tests/data/session-create-responses.json.
        for body in [
            "archiveMode=manual&p2p.preference=enabled",
            "archiveMode=always&p2p.preference=disabled",
            "location=12.34.56.78&archiveMode=manual&p2p.preference=enabled",
            "e2ee=true&archiveMode=manual&p2p.preference=disabled",
            "archiveMode=always&archiveName=my+archive&archiveResolution=1280x720&p2p.preference=disabled",
            "p2p.preference=enabled&archiveMode=manual&e2ee=false",
            "p2p.preference=disabled&archiveMode=manual&location=12.34.56.78&e2ee=false",
            "p2p.preference=enabled",
            "e2ee=true&p2p.preference=disabled",
            "archiveMode=always&archiveName=foo&archiveResolution=720x1280&p2p.preference=disabled",
            // @vonage/video 1.31.1.
            "archiveMode=manual&p2p.preference=disabled&location=null",
        ] {
            ok(body);
        }
    }

    #[test]
    fn the_literal_null_location_means_none() {
        assert_eq!(ok("p2p.preference=disabled&location=null").location(), None);
        assert!(parse(b"p2p.preference=disabled&location=nul").is_err());
    }

    #[test]
    fn reads_media_mode_archive_mode_location_and_e2ee() {
        let o = ok("p2p.preference=disabled&archiveMode=always&location=10.0.0.1");
        assert_eq!(o.media_mode(), MediaMode::Routed);
        assert_eq!(o.archive_mode(), ArchiveMode::Always);
        assert_eq!(o.location(), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(!o.e2ee());
        let o = ok("p2p.preference=enabled&unknown=1&api_key=123456");
        assert_eq!(o.media_mode(), MediaMode::Relayed);
        assert_eq!(o.archive_mode(), ArchiveMode::Manual);
        assert_eq!(o.location(), None);
    }

    #[test]
    fn refuses_what_the_strictest_sdk_refuses() {
        for (body, expected) in [
            ("", "p2p.preference is required"),
            ("archiveMode=manual", "p2p.preference is required"),
            ("p2p.preference=maybe", "p2p.preference must be"),
            ("p2p.preference=ENABLED", "p2p.preference must be"),
            (
                "p2p.preference=enabled&archiveMode=sometimes",
                "archiveMode must be",
            ),
            (
                "p2p.preference=enabled&archiveMode=always",
                "requires mediaMode 'routed'",
            ),
            ("p2p.preference=enabled&location=127.1", "location must be"),
            ("p2p.preference=enabled&location=::1", "location must be"),
            ("p2p.preference=enabled&location=", "location must be"),
            ("p2p.preference=enabled&e2ee=yes", "e2ee must be"),
            (
                "p2p.preference=enabled&e2ee=true",
                "e2ee requires mediaMode 'routed'",
            ),
            (
                "p2p.preference=disabled&archiveMode=always&e2ee=true",
                "cannot be combined",
            ),
            (
                "p2p.preference=disabled&archiveName=x",
                "archiveName is only allowed",
            ),
            (
                "p2p.preference=disabled&archiveMode=always&archiveName=",
                "archiveName must be",
            ),
            (
                "p2p.preference=disabled&archiveResolution=640x480",
                "archiveResolution is only",
            ),
            (
                "p2p.preference=disabled&archiveMode=always&archiveResolution=1x1",
                "archiveResolution must",
            ),
        ] {
            let err = parse(body.as_bytes()).expect_err(body);
            assert!(err.contains(expected), "{body:?}: {err}");
        }
        let long = format!(
            "p2p.preference=disabled&archiveMode=always&archiveName={}",
            "n".repeat(81)
        );
        assert!(parse(long.as_bytes()).unwrap_err().contains("1 to 80"));
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        for body in [
            &b"\xff\xfe"[..],
            b"%%%",
            b"p2p.preference=%ZZ",
            b"&&&=",
            b"=enabled",
        ] {
            let _ = parse(body);
        }
    }
}
