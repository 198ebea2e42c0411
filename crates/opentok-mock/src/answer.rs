//! The bodies the mock answers with: the session-create answer in its JSON and legacy XML forms, and
//! OpenTok-style error bodies (docs/protocol.md, "Creating a session").

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand::Rng as _;
use serde::Serialize;
use std::net::Ipv4Addr;

use time::macros::format_description;
use time::OffsetDateTime;
use tiny_opentok_domain::{ApiKey, DomainError, SessionId};

/// The real service's body for every authentication failure.
pub(crate) const AUTH_FAILURE_BODY: &str =
    r#"{"code":-1,"message":"No suitable authentication found"}"#;

/// One element of the session-create answer, fields in the order of the 2025 fixture
/// (`json-full-opentok` in vectors/session-create-responses.json).
#[derive(Debug, Serialize)]
pub(crate) struct CreatedSession<'a> {
    pub session_id: &'a str,
    pub project_id: &'a str,
    pub partner_id: &'a str,
    pub create_dt: String,
    pub session_status: Option<()>,
    pub status_invalid: Option<()>,
    pub media_server_hostname: Option<()>,
    pub messaging_server_url: Option<()>,
    pub messaging_url: Option<()>,
    pub symphony_address: Option<()>,
    pub properties: Option<()>,
    pub ice_server: Option<()>,
    pub session_segment_id: String,
    pub ice_servers: Option<()>,
    pub ice_credential_expiration: u32,
    /// Vonage mode only: the application id (also in `project_id` and `partner_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_id: Option<&'a str>,
    /// Vonage mode only: empty, as in older answers and the Node SDK's fixture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_server_url: Option<&'static str>,
}

impl<'a> CreatedSession<'a> {
    pub(crate) fn new(session_id: &'a str, api_key: &'a str, created_secs: u64) -> Self {
        Self {
            session_id,
            project_id: api_key,
            partner_id: api_key,
            create_dt: java_date(created_secs),
            session_status: None,
            status_invalid: None,
            media_server_hostname: None,
            messaging_server_url: None,
            messaging_url: None,
            symphony_address: None,
            properties: None,
            ice_server: None,
            session_segment_id: random_uuid(),
            ice_servers: None,
            ice_credential_expiration: 86_100,
            application_id: None,
            media_server_url: None,
        }
    }

    /// The Vonage-application shape: the 2024 fixture's fields plus `application_id` and
    /// `media_server_url`.
    pub(crate) fn for_application(self) -> Self {
        Self {
            application_id: Some(self.project_id),
            media_server_url: Some(""),
            ..self
        }
    }

    /// `200 application/json` with a one-element array, as every SDK expects.
    pub(crate) fn json_response(&self) -> HttpResponse {
        match serde_json::to_string(&[self]) {
            Ok(body) => HttpResponse::Ok()
                .content_type("application/json")
                .body(body),
            // Serialising plain strings and numbers cannot fail; answer like a broken upstream if it does.
            Err(_) => error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }

    /// `200 text/xml` in the legacy form served when `Accept: application/json` is missing.
    pub(crate) fn xml_response(&self) -> HttpResponse {
        // Ids are base64url and keys are letters, digits and '-': nothing here needs XML escaping.
        let body = format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
                "<sessions><Session><session_id>{}</session_id><partner_id>{}</partner_id>",
                "<create_dt>{}</create_dt></Session></sessions>"
            ),
            self.session_id, self.partner_id, self.create_dt
        );
        HttpResponse::Ok().content_type("text/xml").body(body)
    }
}

/// The random part of a new-style session id: 24 characters of standard base64 (18 bytes), as in
/// `Q9mcXG1QrN3TIYu8y+ppx/gs`. Standard base64 never contains `~`, so the id record stays well formed.
pub(crate) fn random_id_part() -> String {
    let bytes: [u8; 18] = rand::thread_rng().gen();
    STANDARD.encode(bytes)
}

/// A session id as minted for a Vonage application: `1_` + base64url(
/// `1~<application id>~<location>~<created ms>~<random>~~~`), the layout of the Python SDK's 2024
/// fixture (one more trailing field than OpenTok ids).
pub(crate) fn vonage_session_id(
    application_id: &ApiKey,
    location: Option<Ipv4Addr>,
    created_ms: u64,
    random: &str,
) -> Result<SessionId, DomainError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let location = location.map(|ip| ip.to_string()).unwrap_or_default();
    let record = format!("1~{application_id}~{location}~{created_ms}~{random}~~~");
    SessionId::parse(&format!("1_{}", URL_SAFE_NO_PAD.encode(record)))
}

/// A random (version 4) UUID in its usual text form, for `session_segment_id`.
fn random_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::thread_rng().gen())
        .into_uuid()
        .to_string()
}

/// Formats unix seconds like Java's `Date.toString()` in GMT, e.g. `Fri Feb 14 13:14:54 GMT 2025`
/// (the service's zone varies; one fixture shows GMT). Empty past the year 9999, which `time`
/// cannot represent and no client reads.
pub(crate) fn java_date(unix_secs: u64) -> String {
    let format = format_description!(
        "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] GMT [year]"
    );
    i64::try_from(unix_secs)
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|date| date.format(format).ok())
        .unwrap_or_default()
}

/// An OpenTok-style JSON error: `{"code":<status>,"message":"..."}`.
pub(crate) fn error_response(status: StatusCode, message: &str) -> HttpResponse {
    let body = serde_json::json!({ "code": status.as_u16(), "message": message });
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body.to_string())
}

/// The real 403 for a missing or unacceptable auth JWT. `reason` goes into a mock-only header so
/// tests can tell the rejections apart; the body is the service's own.
pub(crate) fn auth_failure(reason: &'static str) -> HttpResponse {
    let mut res = HttpResponse::Forbidden()
        .content_type("application/json")
        .body(AUTH_FAILURE_BODY);
    res.headers_mut().insert(
        header::HeaderName::from_static(crate::AUTH_FAILURE_HEADER),
        HeaderValue::from_static(reason),
    );
    res
}

/// Vonage mode's refusal of an application JWT: 401 with a JSON body, the reason also in the
/// mock-only header.
pub(crate) fn bearer_failure(reason: &'static str) -> HttpResponse {
    let body = serde_json::json!({
        "code": 401,
        "message": "Invalid or missing application JWT",
    });
    let mut res = HttpResponse::Unauthorized()
        .content_type("application/json")
        .body(body.to_string());
    res.headers_mut().insert(
        header::HeaderName::from_static(crate::AUTH_FAILURE_HEADER),
        HeaderValue::from_static(reason),
    );
    res
}

/// The answer to [`crate::Fault::Status`]: 503 comes with an empty `text/xml` body like the real
/// fixture, 401/403 with the auth body, anything else with `{"code":N,"message":...}`.
/// A number that is not an HTTP status answers 500.
pub(crate) fn fault_status(code: u16) -> HttpResponse {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match status.as_u16() {
        503 => HttpResponse::build(status)
            .content_type("text/xml")
            .finish(),
        401 | 403 => HttpResponse::build(status)
            .content_type("application/json")
            .body(AUTH_FAILURE_BODY),
        _ => error_response(status, status.canonical_reason().unwrap_or("Error")),
    }
}

/// The answer to [`crate::Fault::Garbage`]: a 200 that claims to be JSON but is not.
pub(crate) fn garbage() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body("<html><body>502 Bad Gateway</body></html>\u{0}{\"session_id\":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_opentok_domain::{ApiKey, SessionId};

    #[test]
    fn formats_dates_like_java_in_gmt() {
        // The 2025 fixture says "Fri Feb 14 05:14:54 PST 2025"; its id carries 1739538894959 ms.
        assert_eq!(java_date(1_739_538_894), "Fri Feb 14 13:14:54 GMT 2025");
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 GMT 1970");
        assert_eq!(java_date(951_782_400), "Tue Feb 29 00:00:00 GMT 2000");
        assert_eq!(java_date(1_700_000_000), "Tue Nov 14 22:13:20 GMT 2023");
        assert_eq!(java_date(253_402_300_799), "Fri Dec 31 23:59:59 GMT 9999");
        assert_eq!(java_date(253_402_300_800), "");
        assert_eq!(java_date(u64::MAX), "");
    }

    #[test]
    fn random_part_is_24_base64_characters_that_fit_in_an_id() {
        let part = random_id_part();
        assert_eq!(part.len(), 24);
        assert!(part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
        let key = ApiKey::parse("123456").unwrap();
        assert!(SessionId::encode(&key, None, 1, &part).is_ok());
    }

    #[test]
    fn segment_ids_are_version_4_uuids() {
        let id = random_uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_eq!(id.matches('-').count(), 4, "{id}");
        assert_ne!(id, random_uuid());
    }

    #[test]
    fn vonage_ids_have_the_fixture_layout_and_belong_to_the_application() {
        let app = ApiKey::parse("29f760f8-7ce1-46c9-ade3-f2dedee4ed5f").unwrap();
        // The Python SDK's 2024 fixture id (session-ids.json), rebuilt from its fields.
        let id =
            vonage_session_id(&app, None, 1_726_462_588_647, "11xLa1bbhzPeGQGmXsmgxI0k").unwrap();
        assert_eq!(
            id.as_str(),
            "1_MX4yOWY3NjBmOC03Y2UxLTQ2YzktYWRlMy1mMmRlZGVlNGVkNWZ-fjE3MjY0NjI1ODg2NDd-MTF4TGExYmJoelBlR1FHbVhzbWd4STBrfn5-"
        );
        assert!(id.belongs_to(&app));
    }

    #[test]
    fn the_application_answer_names_the_application() {
        let created = CreatedSession::new("1_abc", "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f", 0)
            .for_application();
        let json = serde_json::to_value([&created]).unwrap();
        assert_eq!(
            json[0]["application_id"],
            "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f"
        );
        assert_eq!(
            json[0]["project_id"],
            "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f"
        );
        assert_eq!(json[0]["media_server_url"], "");
        let plain = serde_json::to_value([CreatedSession::new("1_abc", "123456", 0)]).unwrap();
        assert!(plain[0].get("application_id").is_none());
    }

    #[test]
    fn json_answer_has_the_fixture_shape() {
        let created = CreatedSession::new("1_abc", "123456", 1_739_538_894);
        let json = serde_json::to_value([&created]).unwrap();
        let obj = json[0].as_object().unwrap();
        let names: Vec<&str> = obj.keys().map(String::as_str).collect();
        for name in [
            "session_id",
            "project_id",
            "partner_id",
            "create_dt",
            "session_status",
            "media_server_hostname",
            "properties",
            "ice_servers",
            "session_segment_id",
            "ice_credential_expiration",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        assert_eq!(obj["project_id"], "123456");
        assert_eq!(obj["session_status"], serde_json::Value::Null);
        assert_eq!(obj["ice_credential_expiration"], 86_100);
    }
}
