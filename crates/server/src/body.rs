//! Request bodies (JSON, urlencoded or empty) into a route's serde-derived request type, in the
//! handler, so an unknown session is 404 before its body is judged. Unknown names are ignored, a
//! repeated name is a 400, and every error names its field; [`crate::routes::params`] reads each.

use std::fmt;

use actix_web::{HttpMessage as _, HttpRequest};
use percent_encoding::percent_decode;
use serde::Deserialize;

use crate::error::ApiError;

/// Reads `body` by the request's Content-Type; an empty body of any type is all defaults.
///
/// # Errors
/// 415 for a non-empty body of another or no type; 400 for malformed JSON, JSON that is not an
/// object, urlencoded text that is not UTF-8 once decoded, a repeated name, or a field of the
/// wrong type or value.
pub fn parse<'a, T: Deserialize<'a> + Default>(
    req: &HttpRequest,
    body: &'a [u8],
) -> Result<T, ApiError> {
    if body.is_empty() {
        return Ok(T::default());
    }
    // The media type without parameters such as `; charset=utf-8`.
    let essence = req.content_type();
    if is_json(essence) {
        json(body)
    } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        form(body)
    } else {
        Err(ApiError::UnsupportedMediaType(
            req.headers()
                .get(actix_web::http::header::CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default(),
        ))
    }
}

/// `application/json` or `application/<anything>+json`, in any letter case.
fn is_json(essence: &str) -> bool {
    let b = essence.as_bytes();
    let end = &b[b.len().saturating_sub(5)..];
    b.len() > "application/".len()
        && b[.."application/".len()].eq_ignore_ascii_case(b"application/")
        && (end.eq_ignore_ascii_case(b"/json") || end.eq_ignore_ascii_case(b"+json"))
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    // Checked first: serde's derived structs would also read an array, by position.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::BadRequest(
            "the JSON body must be an object such as {\"role\": \"subscriber\"}".to_owned(),
        ));
    }
    // Read again with the path tracked only when the first reading failed, to name the field.
    serde_json::from_slice(body).or_else(|_| {
        let mut de = serde_json::Deserializer::from_slice(body);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            if e.inner().is_data() {
                field_error(e.path(), e.inner())
            } else {
                ApiError::BadRequest(format!("the body is not valid JSON: {}", e.inner()))
            }
        })?;
        de.end()
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
        Ok(value)
    })
}

fn form<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    // serde_urlencoded replaces bytes that are not UTF-8; refusing them keeps data unaltered.
    for pair in body.split(|&b| b == b'&') {
        let mut parts = pair.splitn(2, |&b| b == b'=');
        let name = parts.next().unwrap_or_default();
        let value = parts.next().unwrap_or_default();
        let name = percent_decode(name)
            .decode_utf8()
            .map_err(|_| ApiError::BadRequest("a field name is not valid UTF-8".to_owned()))?;
        if percent_decode(value).decode_utf8().is_err() {
            return Err(ApiError::BadRequest(format!("{name} is not valid UTF-8")));
        }
    }
    serde_urlencoded::from_bytes(body).or_else(|_| {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(body));
        serde_path_to_error::deserialize(de).map_err(|e| field_error(e.path(), e.inner()))
    })
}

fn field_error(path: &serde_path_to_error::Path, inner: &dyn fmt::Display) -> ApiError {
    match path.to_string().as_str() {
        "." => ApiError::BadRequest(inner.to_string()),
        field => ApiError::BadRequest(format!("{field}: {inner}")),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    use super::*;
    use crate::routes::params::{flag, string_list, text, unix_seconds};

    #[derive(Debug, Default, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    struct Probe<'a> {
        #[serde(borrow, deserialize_with = "text")]
        data: Option<Cow<'a, str>>,
        #[serde(deserialize_with = "flag")]
        e2ee: Option<bool>,
        #[serde(deserialize_with = "unix_seconds")]
        expires_at: Option<u64>,
        #[serde(deserialize_with = "string_list")]
        list: Option<Vec<String>>,
    }

    fn read<'a>(content_type: Option<&str>, body: &'a str) -> Result<Probe<'a>, ApiError> {
        let mut req = TestRequest::default();
        if let Some(ct) = content_type {
            req = req.insert_header(("Content-Type", ct));
        }
        parse(&req.to_http_request(), body.as_bytes())
    }

    const JSON: Option<&str> = Some("application/json");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded; charset=UTF-8");

    fn message(result: Result<Probe<'_>, ApiError>) -> String {
        result.expect_err("an error").to_string()
    }

    #[test]
    fn empty_bodies_of_any_type_are_all_defaults() {
        for ct in [None, Some("text/plain"), JSON, FORM] {
            assert_eq!(read(ct, "").unwrap(), Probe::default());
        }
    }

    #[test]
    fn json_and_form_read_the_same_fields() {
        let j = read(
            JSON,
            r#"{"data":"a b","e2ee":true,"expiresAt":17,"list":["x","y"]}"#,
        )
        .unwrap();
        let f = read(FORM, "data=a+b&e2ee=true&expiresAt=17&list=x%20y").unwrap();
        assert_eq!(j, f);
        assert_eq!(j.data.as_deref(), Some("a b"));
        assert_eq!(j.list, Some(vec!["x".to_owned(), "y".to_owned()]));
        assert!(
            matches!(j.data, Some(Cow::Borrowed(_))),
            "borrowed from the body"
        );
    }

    #[test]
    fn null_and_empty_strings_are_absent() {
        let p = read(
            JSON,
            r#"{"data":null,"e2ee":"","expiresAt":null,"list":"","x":1}"#,
        )
        .unwrap();
        assert_eq!(p, Probe::default());
        assert_eq!(
            read(FORM, "data=&e2ee=&expiresAt=").unwrap(),
            Probe::default()
        );
    }

    #[test]
    fn a_repeated_name_is_refused_in_both_encodings() {
        assert!(message(read(JSON, r#"{"data":"a","data":"b"}"#)).contains("data"));
        assert!(message(read(FORM, "data=a&data=b")).contains("data"));
        // Unknown names may repeat: they are ignored.
        assert!(read(FORM, "x=1&x=2").is_ok());
    }

    #[test]
    fn wrong_types_and_values_name_the_field() {
        for (body, field) in [
            (r#"{"data":5}"#, "data"),
            (r#"{"e2ee":"yes"}"#, "e2ee"),
            (r#"{"e2ee":1}"#, "e2ee"),
            (r#"{"expiresAt":1.5}"#, "expiresAt"),
            (r#"{"expiresAt":-1}"#, "expiresAt"),
            (r#"{"expiresAt":"1e9"}"#, "expiresAt"),
            (r#"{"expiresAt":"99999999999999999999999"}"#, "expiresAt"),
            (r#"{"list":[1]}"#, "list"),
            (r#"{"list":{"a":1}}"#, "list"),
        ] {
            let text = message(read(JSON, body));
            assert!(text.starts_with(field), "{body}: {text}");
        }
        assert!(message(read(FORM, "expiresAt=12abc")).starts_with("expiresAt: "));
    }

    #[test]
    fn digit_strings_and_integers_are_unix_seconds() {
        assert_eq!(
            read(JSON, r#"{"expiresAt":"17"}"#).unwrap().expires_at,
            Some(17)
        );
        assert_eq!(
            read(JSON, r#"{"expiresAt":1700000000}"#)
                .unwrap()
                .expires_at,
            Some(1_700_000_000)
        );
    }

    #[test]
    fn form_bytes_that_are_not_utf8_are_refused() {
        assert_eq!(message(read(FORM, "data=%FF")), "data is not valid UTF-8");
        assert_eq!(
            message(read(FORM, "%FF=1")),
            "a field name is not valid UTF-8"
        );
        let p = read(FORM, "data=%C3%A9%F0%9F%98%80+%26").unwrap();
        assert_eq!(p.data.as_deref(), Some("é😀 &"));
    }

    #[test]
    fn json_must_be_one_well_formed_object() {
        for bad in [
            "{",
            "[]",
            "[\"x\"]",
            "\"data\"",
            "null",
            "{\"a\":1}x",
            "{\"data\":}",
        ] {
            let text = message(read(JSON, bad));
            assert!(text.contains("JSON"), "{bad}: {text}");
        }
    }

    #[test]
    fn other_types_with_a_body_are_unsupported() {
        for ct in [
            None,
            Some("text/plain"),
            Some("multipart/form-data"),
            Some("nonsense"),
        ] {
            let err = read(ct, "data=x").unwrap_err();
            assert!(matches!(err, ApiError::UnsupportedMediaType(_)), "{ct:?}");
        }
        for ct in [
            "application/vnd.api+json",
            "Application/JSON; charset=utf-8",
        ] {
            assert!(read(Some(ct), "{}").is_ok(), "{ct}");
        }
        for ct in [
            "application/jsonx",
            "text/json",
            "application/",
            "application/x-json5",
        ] {
            assert!(read(Some(ct), "{}").is_err(), "{ct}");
        }
    }

    proptest! {
        #[test]
        fn urlencoded_text_decodes_to_exactly_what_was_encoded(data in ".{1,200}") {
            let encoded = serde_urlencoded::to_string([("data", data.as_str())]).unwrap();
            let p = read(FORM, &encoded).unwrap();
            prop_assert_eq!(p.data.as_deref(), Some(data.as_str()));
        }

        #[test]
        fn no_body_makes_parsing_panic(
            ct in prop::option::of(prop_oneof![Just("application/json"), Just("application/x-www-form-urlencoded")]),
            bytes in prop::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut req = TestRequest::default();
            if let Some(ct) = ct {
                req = req.insert_header(("Content-Type", ct));
            }
            let _ = parse::<Probe<'_>>(&req.to_http_request(), &bytes);
        }
    }
}
