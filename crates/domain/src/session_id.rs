use std::fmt;
use std::net::Ipv4Addr;

use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api_key::ApiKey;
use crate::error::DomainError;

/// The SDK documentation's upper bound for a session id.
pub const SESSION_ID_MAX_LEN: usize = 255;

/// A session id in OpenTok's format: a two-character prefix (`1_`, `2_`) and the unpadded base64url
/// encoding of a `~`-separated record whose field 1 is the API key (docs/protocol.md, "Session ids").
///
/// Only decodable ids exist: [`SessionId::parse`] checks the whole format, so ids such as
/// `blahblahblah` are refused as the Node and Python SDKs refuse them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Box<str>);

/// The fields decoded from a session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIdRecord {
    fields: Vec<String>,
}

impl SessionId {
    /// Validates the format: length, prefix, base64url body, and a record of at least 4 fields.
    ///
    /// # Errors
    /// [`DomainError::InvalidSessionId`] with the rule that failed.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        with_record(value, |_| ())?;
        Ok(Self(value.into()))
    }

    /// Builds an id in the current format, `1_` + base64url(`1~key~location~created_ms~random~~`).
    ///
    /// The opentok-mock crate mints ids this way, so [`SessionId::record`] reads them back.
    ///
    /// # Errors
    /// [`DomainError::InvalidSessionId`] when `random` contains `~` or the id would be too long.
    pub fn encode(
        api_key: &ApiKey,
        location: Option<Ipv4Addr>,
        created_ms: u64,
        random: &str,
    ) -> Result<Self, DomainError> {
        if random.contains('~') {
            return Err(DomainError::InvalidSessionId {
                reason: "the random part may not contain '~'",
            });
        }
        let location = location.map(|ip| ip.to_string()).unwrap_or_default();
        let record = format!("1~{api_key}~{location}~{created_ms}~{random}~~");
        Self::parse(&format!("1_{}", URL_SAFE_NO_PAD.encode(record)))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Decodes the record. Infallible: the format was checked on the way in.
    pub fn record(&self) -> SessionIdRecord {
        // parse() accepted this id, and decoding is deterministic.
        decode_record(&self.0).unwrap_or(SessionIdRecord { fields: Vec::new() })
    }

    /// Whether the id was issued for `key`: field 1 must equal it exactly, as the Node SDK checks
    /// (other SDKs accept looser matches that let one key's id pass for another's).
    pub fn belongs_to(&self, key: &ApiKey) -> bool {
        // The id was checked when it was parsed, so only its start needs decoding: field 0 is a
        // digit or two and field 1 a key of at most 64 characters, well inside the first 96
        // base64 characters (72 bytes). This runs on every mint: decoding the whole id was 2.4k of
        // the token route's 62.6k instructions (bench/callgrind.sh).
        let body = &self.0.as_bytes()[2..];
        let mut head = [0u8; 72];
        if let Ok(len) = LENIENT_URL_SAFE.decode_slice(&body[..body.len().min(96)], &mut head) {
            let mut fields = head[..len].split(|&b| b == b'~');
            if let (Some(_), Some(field), Some(_)) = (fields.next(), fields.next(), fields.next()) {
                return field == key.as_str().as_bytes();
            }
        }
        // A first field too long for the head: read the whole record.
        with_record(&self.0, |text| text.split('~').nth(1) == Some(key.as_str())).unwrap_or(false)
    }
}

/// Base64url as the SDKs decode it: padding optional, non-zero trailing bits tolerated, so every
/// real id decodes.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Room for the decoded record of the longest id (253 base64 characters after the prefix).
const MAX_RECORD_BYTES: usize = (SESSION_ID_MAX_LEN - 2) * 3 / 4 + 1;

/// Checks the whole format and hands the decoded record text to `then`. Decodes into a stack
/// buffer, so validating an id on the request path allocates nothing.
fn with_record<T>(value: &str, then: impl FnOnce(&str) -> T) -> Result<T, DomainError> {
    let invalid = |reason| Err(DomainError::InvalidSessionId { reason });
    if value.len() > SESSION_ID_MAX_LEN {
        return invalid("it is longer than 255 characters");
    }
    let bytes = value.as_bytes();
    if bytes.len() < 3 {
        return invalid("it is too short");
    }
    if !(bytes[0].is_ascii_digit() && bytes[1] == b'_') {
        return invalid("it must start with a digit and '_' (e.g. '1_')");
    }
    let body = &bytes[2..];
    if !body
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return invalid("it may only contain base64url characters after the prefix");
    }
    let mut buf = [0u8; MAX_RECORD_BYTES];
    let Ok(len) = LENIENT_URL_SAFE.decode_slice(body, &mut buf) else {
        return invalid("its body is not base64url");
    };
    let Ok(text) = std::str::from_utf8(&buf[..len]) else {
        return invalid("its record is not UTF-8 text");
    };
    let mut fields = text.split('~');
    let api_key = fields.nth(1);
    if fields.nth(1).is_none() {
        return invalid("its record has fewer than 4 '~'-separated fields");
    }
    if api_key.is_none_or(str::is_empty) {
        return invalid("its record names no API key");
    }
    Ok(then(text))
}

fn decode_record(value: &str) -> Result<SessionIdRecord, DomainError> {
    with_record(value, |text| SessionIdRecord {
        fields: text.split('~').map(str::to_owned).collect(),
    })
}

impl SessionIdRecord {
    /// Every `~`-separated field, in order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Field 1: the API key or Vonage application id.
    pub fn api_key(&self) -> Option<&str> {
        self.fields.get(1).map(String::as_str)
    }

    /// Field 2: the location hint, when it is an IPv4 address.
    pub fn location(&self) -> Option<Ipv4Addr> {
        self.fields.get(2).and_then(|s| s.parse().ok())
    }

    /// Field 3: the create time as issued (a date string in old ids, epoch milliseconds in new ones).
    pub fn create_time(&self) -> Option<&str> {
        self.fields.get(3).map(String::as_str)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Maps keyed by `SessionId` can be searched with the text a client sent, without building an id:
/// the derived `Hash` and `Eq` are those of the text.
impl std::borrow::Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SDK_ID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";

    fn key(k: &str) -> ApiKey {
        ApiKey::parse(k).unwrap()
    }

    #[test]
    fn decodes_the_sdk_test_id() {
        let id = SessionId::parse(SDK_ID).unwrap();
        let record = id.record();
        assert_eq!(
            record.fields(),
            [
                "1",
                "123456",
                "",
                "Sat Mar 15 14:42:23 PDT 2014",
                "0.49013025",
                ""
            ]
        );
        assert_eq!(record.api_key(), Some("123456"));
        assert_eq!(record.location(), None);
        assert!(id.belongs_to(&key("123456")));
        assert!(!id.belongs_to(&key("12345")));
        assert!(!id.belongs_to(&key("1234567")));
    }

    #[test]
    fn decodes_location_and_two_prefix() {
        let id = SessionId::parse(
            "2_MX4xNzAxMjYzMX4xMjcuMC4wLjF-V2VkIEZlYiAyNiAxODo1NzoyNCBQU1QgMjAxNH4wLjU0MDU4ODc0fg",
        )
        .unwrap();
        assert_eq!(id.record().api_key(), Some("17012631"));
        assert_eq!(id.record().location(), Some(Ipv4Addr::new(127, 0, 0, 1)));
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "1_",
            "blahblahblah",
            "x_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4",
            "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4 ",
            "1_MX4xMjM0NTZ+flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4",
            "1_aGVsbG8", // "hello": no '~' fields
            "1_fn5-",    // "~~~": empty API key
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{SDK_ID}{}", "A".repeat(SESSION_ID_MAX_LEN));
        assert!(SessionId::parse(&long).is_err());
    }

    #[test]
    fn rejects_session_id_with_whitespace() {
        assert!(SessionId::parse(&format!(" {SDK_ID}")).is_err());
    }

    #[test]
    fn encodes_ids_that_decode_back() {
        let id = SessionId::encode(
            &key("47665971"),
            Some(Ipv4Addr::new(12, 34, 56, 78)),
            1_739_538_894_959,
            "Q9mcXG1QrN3TIYu8y+ppx/gs",
        )
        .unwrap();
        assert!(id.as_str().starts_with("1_"));
        let record = id.record();
        assert_eq!(record.api_key(), Some("47665971"));
        assert_eq!(record.location(), Some(Ipv4Addr::new(12, 34, 56, 78)));
        assert_eq!(record.create_time(), Some("1739538894959"));
        assert!(id.belongs_to(&key("47665971")));
        assert!(SessionId::encode(&key("1"), None, 0, "a~b").is_err());
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(
            k in "[0-9]{1,12}",
            ip in any::<u32>(),
            with_ip in any::<bool>(),
            ms in any::<u64>(),
            random in "[A-Za-z0-9+/]{0,24}",
        ) {
            let location = with_ip.then(|| Ipv4Addr::from(ip));
            let id = SessionId::encode(&key(&k), location, ms, &random).unwrap();
            let again = SessionId::parse(id.as_str()).unwrap();
            prop_assert_eq!(&again, &id);
            let record = again.record();
            prop_assert_eq!(record.api_key(), Some(k.as_str()));
            prop_assert_eq!(record.location(), location);
            let ms_text = ms.to_string();
            prop_assert_eq!(record.create_time(), Some(ms_text.as_str()));
        }

        #[test]
        fn belongs_to_agrees_with_the_decoded_record(
            first in "[0-9A-Za-z]{0,40}",
            k in "[0-9A-Za-z-]{1,64}",
            other in "[0-9A-Za-z-]{1,64}",
            rest in "[ -}]{0,40}",
        ) {
            let text = format!("{first}~{k}~{rest}~x~");
            let id = format!("1_{}", LENIENT_URL_SAFE.encode(&text));
            let Ok(id) = SessionId::parse(&id) else { return Ok(()); };
            prop_assert!(id.belongs_to(&key(&k)));
            prop_assert_eq!(id.belongs_to(&key(&other)), other == k);
            let longer = format!("{}0", k);
            if let Ok(longer) = ApiKey::parse(&longer) {
                prop_assert!(!id.belongs_to(&longer));
            }
        }

        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = SessionId::parse(&s);
        }

        #[test]
        fn serde_round_trips(k in "[0-9]{1,12}", ms in any::<u64>()) {
            let id = SessionId::encode(&key(&k), None, ms, "r").unwrap();
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
        }
    }
}
