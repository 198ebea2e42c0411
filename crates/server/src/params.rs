//! Request parameters from a JSON, urlencoded or empty body, read one way whatever the encoding.
//!
//! The body is only collected by the extractor; parsing waits for the handler, so that an unknown
//! session is answered 404 before anything about its body is judged.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt as _;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::Value;
use tiny_opentok_domain::DomainError;

use crate::error::ApiError;

/// The body size limit, registered as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A request body, collected within the size limit but not yet parsed.
#[derive(Debug)]
pub struct RawBody {
    content_type: Option<HeaderValue>,
    bytes: Bytes,
}

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(16 * 1024, |l| l.0);
        let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
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
            // A small body arrives as one chunk, which is kept as it is; only more are copied.
            let mut first: Option<Bytes> = None;
            let mut joined: Option<BytesMut> = None;
            let mut len = 0;
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::BadRequest(format!("the request body could not be read: {e}"))
                })?;
                len += chunk.len();
                if len > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                match (&first, &mut joined) {
                    (None, _) => first = Some(chunk),
                    (Some(head), None) => {
                        let mut buf = BytesMut::with_capacity(len);
                        buf.extend_from_slice(head);
                        buf.extend_from_slice(&chunk);
                        joined = Some(buf);
                    }
                    (Some(_), Some(buf)) => buf.extend_from_slice(&chunk),
                }
            }
            let bytes = match (joined, first) {
                (Some(buf), _) => buf.freeze(),
                (None, Some(head)) => head,
                (None, None) => Bytes::new(),
            };
            Ok(RawBody {
                content_type,
                bytes,
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
    pub fn parse(&self) -> Result<Params<'_>, ApiError> {
        if self.bytes.is_empty() {
            return Ok(Params::default());
        }
        let essence = self
            .content_type
            .as_ref()
            .and_then(|ct| ct.to_str().ok())
            .map(|ct| ct.split(';').next().unwrap_or("").trim());
        match essence {
            Some(t) if is_json(t) => parse_json(&self.bytes),
            Some(t) if t.eq_ignore_ascii_case("application/x-www-form-urlencoded") => {
                parse_form(&self.bytes)
            }
            _ => Err(ApiError::UnsupportedMediaType(
                self.content_type
                    .as_ref()
                    .map(|ct| String::from_utf8_lossy(ct.as_bytes()).into_owned())
                    .unwrap_or_default(),
            )),
        }
    }
}

/// `application/json` or `application/<anything>+json`, in any letter case.
fn is_json(essence: &str) -> bool {
    let ends_json = essence
        .len()
        .checked_sub(5)
        .and_then(|at| essence.get(at..))
        .is_some_and(|end| end.eq_ignore_ascii_case("+json"));
    let is_application = essence
        .get(..12)
        .is_some_and(|start| start.eq_ignore_ascii_case("application/"));
    essence.eq_ignore_ascii_case("application/json") || (is_application && ends_json)
}

fn parse_json(bytes: &[u8]) -> Result<Params<'_>, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match Fields::deserialize(&mut de).and_then(|fields| de.end().map(|()| fields)) {
        Ok(Fields(fields)) => Ok(Params { fields }),
        // Rare: parse again as a plain value to say what is wrong in the usual words.
        Err(e) => Err(match serde_json::from_slice::<Value>(bytes) {
            Err(e) => ApiError::BadRequest(format!("the body is not valid JSON: {e}")),
            Ok(Value::Object(_)) => {
                ApiError::BadRequest(format!("the body is not valid JSON: {e}"))
            }
            Ok(_) => ApiError::BadRequest(
                "the JSON body must be an object such as {\"role\": \"subscriber\"}".to_owned(),
            ),
        }),
    }
}

fn parse_form(bytes: &[u8]) -> Result<Params<'_>, ApiError> {
    let mut fields: Vec<(Cow<'_, str>, Param<'_>)> = Vec::new();
    for pair in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = form_decode(name)
            .ok_or_else(|| ApiError::BadRequest("a field name is not valid UTF-8".to_owned()))?;
        let value = form_decode(value)
            .ok_or_else(|| ApiError::BadRequest(format!("{name} is not valid UTF-8")))?;
        fields.push((name, Param::Str(value)));
    }
    // Sorted rather than compared pairwise, so a body of thousands of fields stays cheap.
    let mut names: Vec<&str> = fields.iter().map(|(n, _)| n.as_ref()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(ApiError::BadRequest(format!(
            "{} is given more than once",
            pair[0]
        )));
    }
    Ok(Params { fields })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte. Malformed escapes
/// stay literal, as browsers do; bytes that are not UTF-8 are refused rather than replaced, so
/// connection data is never silently altered. Text with nothing to decode is borrowed.
fn form_decode(input: &[u8]) -> Option<Cow<'_, str>> {
    if !input.iter().any(|&b| b == b'+' || b == b'%') {
        return std::str::from_utf8(input).ok().map(Cow::Borrowed);
    }
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
    String::from_utf8(out).ok().map(Cow::Owned)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One parameter's value. Strings borrow from the body when they hold no escapes, so reading
/// `{"role":"subscriber"}` allocates nothing per field.
#[derive(Debug, Clone, PartialEq)]
enum Param<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(Cow<'a, str>),
    /// Arrays and objects, as JSON.
    Json(Value),
}

impl Param<'_> {
    /// The value as compact JSON, for error messages.
    fn to_json_text(&self) -> String {
        match self {
            Param::Null => "null".to_owned(),
            Param::Bool(b) => b.to_string(),
            Param::Number(n) => n.to_string(),
            Param::Str(s) => Value::String(s.as_ref().to_owned()).to_string(),
            Param::Json(v) => v.to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Param<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamVisitor;
        impl<'de> Visitor<'de> for ParamVisitor {
            type Value = Param<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Param::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Param::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Param::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                serde_json::Number::from_f64(v)
                    .map(Param::Number)
                    .ok_or_else(|| E::custom("a number that is not finite"))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Param::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Param::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Param::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Param::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Param::Null)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Param::Json)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Param::Json)
            }
        }
        deserializer.deserialize_any(ParamVisitor)
    }
}

/// A JSON object's members in order, names borrowed when they hold no escapes.
struct Fields<'a>(Vec<(Cow<'a, str>, Param<'a>)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name<'a>(Cow<'a, str>);
        impl<'de> Deserialize<'de> for Name<'de> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct NameVisitor;
                impl<'de> Visitor<'de> for NameVisitor {
                    type Value = Name<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a field name")
                    }
                    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                        Ok(Name(Cow::Borrowed(v)))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                        Ok(Name(Cow::Owned(v.to_owned())))
                    }
                    fn visit_string<E: de::Error>(self, v: String) -> Result<Name<'de>, E> {
                        Ok(Name(Cow::Owned(v)))
                    }
                }
                deserializer.deserialize_str(NameVisitor)
            }
        }

        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(4).min(16));
                while let Some(Name(name)) = map.next_key()? {
                    fields.push((name, map.next_value()?));
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// Named parameters. `null` and the empty string mean "absent", in JSON as in urlencoded bodies;
/// unknown names are ignored. A name repeated in JSON takes its last value.
#[derive(Debug, Default)]
pub struct Params<'a> {
    fields: Vec<(Cow<'a, str>, Param<'a>)>,
}

impl Params<'_> {
    fn get(&self, name: &str) -> Option<&Param<'_>> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .filter(|v| match v {
                Param::Null => false,
                Param::Str(s) => !s.is_empty(),
                _ => true,
            })
    }

    /// A string parameter.
    ///
    /// # Errors
    /// 400 naming the parameter when it is not a string.
    pub fn string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Param::Str(s)) => Ok(Some(s)),
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
            Some(Param::Bool(b)) => Ok(Some(*b)),
            Some(Param::Str(s)) if s == "true" => Ok(Some(true)),
            Some(Param::Str(s)) if s == "false" => Ok(Some(false)),
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
            Some(Param::Number(n)) => n.as_u64(),
            Some(Param::Str(s)) if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
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
            Some(Param::Str(s)) => Ok(Some(tiny_opentok_domain::parse_layout_class_list(s))),
            Some(Param::Json(Value::Array(items))) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(ApiError::BadRequest(format!(
                        "{name} must be an array of strings, got {}",
                        truncated(other.to_string())
                    ))),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(other) => Err(wrong_type(name, "an array of strings", other)),
        }
    }
}

fn wrong_type(name: &str, expected: &str, got: &Param<'_>) -> ApiError {
    ApiError::BadRequest(format!(
        "{name} must be {expected}, got {}",
        shown(Some(got))
    ))
}

fn shown(value: Option<&Param<'_>>) -> String {
    truncated(value.map_or_else(String::new, Param::to_json_text))
}

fn truncated(text: String) -> String {
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
            let content_type = ct.and_then(|ct| HeaderValue::from_str(&ct).ok());
            let raw = RawBody { content_type, bytes: Bytes::from(bytes) };
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
            let p = parsed(Some("application/x-www-form-urlencoded"), &encoded).unwrap();
            let expected = (!data.is_empty()).then_some(data.as_str());
            prop_assert_eq!(p.string("data").unwrap(), expected);
        }
    }

    proptest! {
        #[test]
        fn json_fields_read_as_serde_json_reads_them(
            members in prop::collection::vec((prop::sample::select(vec!["data", "role", "d\\u0061ta", "x"]), arb_json(2)), 0..6),
        ) {
            // Written by hand so that names may repeat; serde_json keeps the last of a repeated name.
            let text = format!("{{{}}}", members.iter().map(|(n, v)| format!("\"{n}\":{v}")).collect::<Vec<_>>().join(","));
            let expected: Value = serde_json::from_str(&text).unwrap();
            let p = parsed(Some("application/json"), &text).unwrap();
            for name in ["data", "role", "x"] {
                let want = match expected.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) if s.is_empty() => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(()),
                };
                prop_assert_eq!(p.string(name).map_err(|_| ()), want, "{}", text);
            }
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

    /// Parses a body that lives for the rest of the test run (leaked: tests only).
    fn parsed(ct: Option<&str>, text: &str) -> Result<Params<'static>, ApiError> {
        Box::leak(Box::new(body(ct, text))).parse()
    }

    fn body(ct: Option<&str>, text: &str) -> RawBody {
        RawBody {
            content_type: ct.map(|ct| HeaderValue::from_str(ct).unwrap()),
            bytes: Bytes::copy_from_slice(text.as_bytes()),
        }
    }

    #[test]
    fn empty_body_has_no_parameters_whatever_its_type() {
        for ct in [None, Some("text/plain"), Some("application/json")] {
            let p = parsed(ct, "").unwrap();
            assert_eq!(p.string("role").unwrap(), None);
        }
    }

    #[test]
    fn form_decoding_handles_plus_percent_and_malformed_escapes() {
        let p = parsed(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "data=a+b%26c%3D%C3%A9%F0%9F%98%80&x=%zz&y=%4&z=100%",
        )
        .unwrap();
        assert_eq!(p.string("data").unwrap(), Some("a b&c=é😀"));
        assert_eq!(p.string("x").unwrap(), Some("%zz"));
        assert_eq!(p.string("y").unwrap(), Some("%4"));
        assert_eq!(p.string("z").unwrap(), Some("100%"));
    }

    #[test]
    fn refuses_form_values_that_are_not_utf8() {
        let err = parsed(Some("application/x-www-form-urlencoded"), "data=%FF").unwrap_err();
        assert_eq!(err.to_string(), "data is not valid UTF-8");
    }

    #[test]
    fn refuses_repeated_form_fields() {
        let err = parsed(Some("application/x-www-form-urlencoded"), "role=a&role=b").unwrap_err();
        assert_eq!(err.to_string(), "role is given more than once");
    }

    #[test]
    fn json_null_and_empty_strings_are_absent() {
        let p = parsed(Some("application/json"), r#"{"location":null,"role":""}"#).unwrap();
        assert_eq!(p.string("location").unwrap(), None);
        assert_eq!(p.string("role").unwrap(), None);
    }

    #[test]
    fn unix_seconds_accepts_integers_and_digit_strings_only() {
        let p = |json: &str| parsed(Some("application/json"), json).unwrap();
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
        let p = parsed(
            Some("application/json"),
            r#"{"data":5,"e2ee":"yes","l":[1]}"#,
        )
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
            let err = parsed(ct, "role=x").unwrap_err();
            assert!(matches!(err, ApiError::UnsupportedMediaType(_)), "{ct:?}");
        }
    }

    #[test]
    fn json_must_be_a_well_formed_object() {
        for bad in ["{", "[]", "\"role\"", "null", "{\"a\":1}x"] {
            let err = parsed(Some("application/json"), bad).unwrap_err();
            assert!(matches!(err, ApiError::BadRequest(_)), "{bad}");
        }
    }
}
