//! Request parameters from a JSON, urlencoded or empty body, read one way whatever the encoding.
//!
//! The body is only collected by the extractor; parsing waits for the handler, so that an unknown
//! session is answered 404 before anything about its body is judged.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt as _;
use serde_json::Value;
use tiny_opentok_domain::DomainError;

use crate::error::ApiError;

/// The body size limit, registered as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A request body, collected within the size limit but not yet parsed.
#[derive(Debug)]
pub struct RawBody {
    content_type: Option<String>,
    bytes: Bytes,
}

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(16 * 1024, |l| l.0);
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|len| len > limit as u64) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let mut buf = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::BadRequest(format!("the request body could not be read: {e}"))
                })?;
                if buf.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(RawBody {
                content_type,
                bytes: buf.freeze(),
            })
        })
    }
}

impl RawBody {
    /// Parses the body by its Content-Type. An empty body is no parameters, whatever its type.
    ///
    /// # Errors
    /// 415 for a non-empty body of another or no type; 400 for malformed JSON, JSON that is not an
    /// object, malformed or non-UTF-8 urlencoded text, or a repeated urlencoded field.
    pub fn parse(&self) -> Result<Params, ApiError> {
        if self.bytes.is_empty() {
            return Ok(Params::default());
        }
        let essence = self.content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        match essence.as_deref() {
            Some("application/json") => parse_json(&self.bytes),
            Some(t) if t.starts_with("application/") && t.ends_with("+json") => {
                parse_json(&self.bytes)
            }
            Some("application/x-www-form-urlencoded") => parse_form(&self.bytes),
            _ => Err(ApiError::UnsupportedMediaType(
                self.content_type.clone().unwrap_or_default(),
            )),
        }
    }
}

fn parse_json(bytes: &[u8]) -> Result<Params, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(Params {
            fields: map.into_iter().collect(),
        }),
        _ => Err(ApiError::BadRequest(
            "the JSON body must be an object such as {\"role\": \"subscriber\"}".to_owned(),
        )),
    }
}

fn parse_form(bytes: &[u8]) -> Result<Params, ApiError> {
    let mut fields: Vec<(String, Value)> = Vec::new();
    for pair in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = form_decode(name)
            .ok_or_else(|| ApiError::BadRequest("a field name is not valid UTF-8".to_owned()))?;
        let value = form_decode(value)
            .ok_or_else(|| ApiError::BadRequest(format!("{name} is not valid UTF-8")))?;
        if fields.iter().any(|(n, _)| *n == name) {
            return Err(ApiError::BadRequest(format!(
                "{name} is given more than once"
            )));
        }
        fields.push((name, Value::String(value)));
    }
    Ok(Params { fields })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte. Malformed escapes
/// stay literal, as browsers do; bytes that are not UTF-8 are refused rather than replaced, so
/// connection data is never silently altered.
fn form_decode(input: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Named parameters. `null` and the empty string mean "absent", in JSON as in urlencoded bodies;
/// unknown names are ignored.
#[derive(Debug, Default)]
pub struct Params {
    fields: Vec<(String, Value)>,
}

impl Params {
    fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
    }

    /// A string parameter.
    ///
    /// # Errors
    /// 400 naming the parameter when it is not a string.
    pub fn string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(name, "a string", other)),
        }
    }

    /// A parameter from a closed set, parsed by the domain type.
    ///
    /// # Errors
    /// 400 naming the parameter and the allowed values.
    pub fn choice<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, DomainError>,
    ) -> Result<Option<T>, ApiError> {
        Ok(self.string(name)?.map(parse).transpose()?)
    }

    /// A boolean: JSON `true`/`false`, or the text `true`/`false`.
    ///
    /// # Errors
    /// 400 naming the parameter for anything else.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" => Ok(Some(false)),
            Some(other) => Err(wrong_type(name, "true or false", other)),
        }
    }

    /// Unix seconds: a non-negative JSON integer, or a string of digits.
    ///
    /// # Errors
    /// 400 naming the parameter for fractions, negatives, exponents, or values beyond u64.
    pub fn unix_seconds(&self, name: &str) -> Result<Option<u64>, ApiError> {
        let parsed = match self.get(name) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
            Some(_) => None,
        };
        parsed.map(Some).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{name} must be a whole number of unix seconds (digits only), got {}",
                shown(self.get(name))
            ))
        })
    }

    /// A list of strings: a JSON array of strings, or one space-separated string.
    ///
    /// # Errors
    /// 400 naming the parameter for other types or non-string elements.
    pub fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(tiny_opentok_domain::parse_layout_class_list(s))),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(wrong_type(name, "an array of strings", other)),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(other) => Err(wrong_type(name, "an array of strings", other)),
        }
    }
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::BadRequest(format!(
        "{name} must be {expected}, got {}",
        shown(Some(got))
    ))
}

fn shown(value: Option<&Value>) -> String {
    let text = value.map_or_else(String::new, Value::to_string);
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsing_and_reading_never_panic(
            ct in prop::option::of(prop_oneof![
                Just("application/json".to_owned()),
                Just("application/x-www-form-urlencoded".to_owned()),
                ".{0,40}",
            ]),
            bytes in prop::collection::vec(any::<u8>(), 0..512),
        ) {
            let raw = RawBody { content_type: ct, bytes: Bytes::from(bytes) };
            if let Ok(p) = raw.parse() {
                for name in ["role", "data", "expiresAt", "e2ee", "initialLayoutClassList", ""] {
                    let _ = p.string(name);
                    let _ = p.boolean(name);
                    let _ = p.unix_seconds(name);
                    let _ = p.string_list(name);
                }
            }
        }

        #[test]
        fn json_objects_of_any_shape_never_panic(json in arb_json(3)) {
            let raw = body(Some("application/json"), &serde_json::json!({ "data": json, "expiresAt": json, "role": json, "initialLayoutClassList": json }).to_string());
            let p = raw.parse().unwrap();
            let _ = (p.string("data"), p.unix_seconds("expiresAt"), p.boolean("role"), p.string_list("initialLayoutClassList"));
        }

        #[test]
        fn urlencoded_values_decode_to_exactly_what_was_encoded(data in ".{0,200}") {
            let encoded = serde_urlencoded::to_string([("data", data.as_str())]).unwrap();
            let p = body(Some("application/x-www-form-urlencoded"), &encoded).parse().unwrap();
            let expected = (!data.is_empty()).then_some(data.as_str());
            prop_assert_eq!(p.string("data").unwrap(), expected);
        }
    }

    fn arb_json(depth: u32) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(depth, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn body(ct: Option<&str>, text: &str) -> RawBody {
        RawBody {
            content_type: ct.map(str::to_owned),
            bytes: Bytes::copy_from_slice(text.as_bytes()),
        }
    }

    #[test]
    fn empty_body_has_no_parameters_whatever_its_type() {
        for ct in [None, Some("text/plain"), Some("application/json")] {
            let p = body(ct, "").parse().unwrap();
            assert_eq!(p.string("role").unwrap(), None);
        }
    }

    #[test]
    fn form_decoding_handles_plus_percent_and_malformed_escapes() {
        let p = body(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "data=a+b%26c%3D%C3%A9%F0%9F%98%80&x=%zz&y=%4&z=100%",
        )
        .parse()
        .unwrap();
        assert_eq!(p.string("data").unwrap(), Some("a b&c=é😀"));
        assert_eq!(p.string("x").unwrap(), Some("%zz"));
        assert_eq!(p.string("y").unwrap(), Some("%4"));
        assert_eq!(p.string("z").unwrap(), Some("100%"));
    }

    #[test]
    fn refuses_form_values_that_are_not_utf8() {
        let err = body(Some("application/x-www-form-urlencoded"), "data=%FF")
            .parse()
            .unwrap_err();
        assert_eq!(err.to_string(), "data is not valid UTF-8");
    }

    #[test]
    fn refuses_repeated_form_fields() {
        let err = body(Some("application/x-www-form-urlencoded"), "role=a&role=b")
            .parse()
            .unwrap_err();
        assert_eq!(err.to_string(), "role is given more than once");
    }

    #[test]
    fn json_null_and_empty_strings_are_absent() {
        let p = body(Some("application/json"), r#"{"location":null,"role":""}"#)
            .parse()
            .unwrap();
        assert_eq!(p.string("location").unwrap(), None);
        assert_eq!(p.string("role").unwrap(), None);
    }

    #[test]
    fn unix_seconds_accepts_integers_and_digit_strings_only() {
        let p = |json: &str| body(Some("application/json"), json).parse().unwrap();
        assert_eq!(
            p(r#"{"t":1700000000}"#).unix_seconds("t").unwrap(),
            Some(1_700_000_000)
        );
        assert_eq!(p(r#"{"t":"17"}"#).unix_seconds("t").unwrap(), Some(17));
        for bad in [
            r#"{"t":1.5}"#,
            r#"{"t":-1}"#,
            r#"{"t":"1e9"}"#,
            r#"{"t":"-5"}"#,
            r#"{"t":"99999999999999999999999"}"#,
            r#"{"t":true}"#,
            r#"{"t":1e3}"#,
        ] {
            let err = p(bad).unix_seconds("t").unwrap_err();
            assert!(
                err.to_string().starts_with("t must be a whole number"),
                "{bad}"
            );
        }
    }

    #[test]
    fn wrong_json_types_name_the_field() {
        let p = body(
            Some("application/json"),
            r#"{"data":5,"e2ee":"yes","l":[1]}"#,
        )
        .parse()
        .unwrap();
        assert_eq!(
            p.string("data").unwrap_err().to_string(),
            "data must be a string, got 5"
        );
        assert!(p
            .boolean("e2ee")
            .unwrap_err()
            .to_string()
            .starts_with("e2ee must be"));
        assert!(p
            .string_list("l")
            .unwrap_err()
            .to_string()
            .starts_with("l must be"));
    }

    #[test]
    fn bodies_of_other_types_are_unsupported() {
        for ct in [None, Some("text/plain"), Some("multipart/form-data")] {
            let err = body(ct, "role=x").parse().unwrap_err();
            assert!(matches!(err, ApiError::UnsupportedMediaType(_)), "{ct:?}");
        }
    }

    #[test]
    fn json_must_be_a_well_formed_object() {
        for bad in ["{", "[]", "\"role\"", "null", "{\"a\":1}x"] {
            let err = body(Some("application/json"), bad).parse().unwrap_err();
            assert!(matches!(err, ApiError::BadRequest(_)), "{bad}");
        }
    }
}
