//! Checks the REST-auth JWT in `X-OPENTOK-AUTH` (docs/protocol.md, "The REST auth JWT").
//!
//! The rule is the documented claim set: HS256 with the project secret, `iss` = the API key,
//! `ist` = `"project"`, numeric `iat` and `exp` describing a current token of at most five minutes, and
//! a `jti`. Tokens from the Python, Java and PHP SDKs pass; the Node SDK omits `jti` and the Ruby SDK
//! omits `jti` and puts `ist` in the JOSE header, so this mock refuses both although the real service
//! accepts them.

use actix_web::http::header::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// The longest lifetime (`exp - iat`) any SDK uses.
pub(crate) const MAX_LIFETIME_SECS: f64 = 300.0;
/// How far the client's clock may run ahead of or behind ours.
pub(crate) const CLOCK_SKEW_SECS: f64 = 30.0;

/// Why a request's credentials were refused. [`Rejection::as_str`] is sent in the mock-only
/// `x-mock-auth-failure` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// No `X-OPENTOK-AUTH` and no `Authorization` header.
    MissingHeader,
    /// Only `Authorization: Bearer` (Vonage application credentials), which this mock does not hold.
    BearerNotSupported,
    /// Not three base64url parts of JSON, or a header value that is not text.
    Malformed,
    /// An `alg` other than HS256, including `none`.
    UnsupportedAlgorithm,
    /// The HMAC does not match the configured secret.
    BadSignature,
    /// A required claim is absent.
    MissingClaim(Claim),
    /// A claim has the wrong JSON type or an empty value.
    BadClaim(Claim),
    /// `iss` names another API key.
    WrongIssuer,
    /// `ist` is not `"project"`.
    WrongIssuerType,
    /// `exp` has passed.
    Expired,
    /// `iat` lies in the future.
    IssuedInFuture,
    /// `exp` is not after `iat`, or more than five minutes after it.
    BadLifetime,
}

/// The claims the rule requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Iss,
    Ist,
    Iat,
    Exp,
    Jti,
}

impl Rejection {
    /// A stable snake_case name for the reason.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::MissingHeader => "missing_header",
            Self::BearerNotSupported => "bearer_not_supported",
            Self::Malformed => "malformed_token",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::BadSignature => "bad_signature",
            Self::MissingClaim(Claim::Iss) => "missing_iss",
            Self::MissingClaim(Claim::Ist) => "missing_ist",
            Self::MissingClaim(Claim::Iat) => "missing_iat",
            Self::MissingClaim(Claim::Exp) => "missing_exp",
            Self::MissingClaim(Claim::Jti) => "missing_jti",
            Self::BadClaim(Claim::Iss) => "bad_iss",
            Self::BadClaim(Claim::Ist) => "bad_ist",
            Self::BadClaim(Claim::Iat) => "bad_iat",
            Self::BadClaim(Claim::Exp) => "bad_exp",
            Self::BadClaim(Claim::Jti) => "bad_jti",
            Self::WrongIssuer => "wrong_iss",
            Self::WrongIssuerType => "wrong_ist",
            Self::Expired => "expired",
            Self::IssuedInFuture => "iat_in_future",
            Self::BadLifetime => "bad_lifetime",
        }
    }
}

/// Checks the request's credentials against the project's key and secret at time `now` (unix seconds).
pub(crate) fn check(
    headers: &HeaderMap,
    api_key: &str,
    secret: &str,
    now: u64,
    require_jti: bool,
) -> Result<(), Rejection> {
    let Some(value) = headers.get("x-opentok-auth") else {
        return Err(if headers.contains_key("authorization") {
            Rejection::BearerNotSupported
        } else {
            Rejection::MissingHeader
        });
    };
    let token = value.to_str().map_err(|_| Rejection::Malformed)?.trim();
    check_algorithm(token)?;
    let claims = verify_signature(token, secret)?;
    check_claims(&claims, api_key, now as f64, require_jti)
}

/// Reads `alg` from the JOSE header ourselves: jsonwebtoken cannot even parse `"none"`, and the reason
/// should say "algorithm" rather than "malformed".
fn check_algorithm(token: &str) -> Result<(), Rejection> {
    let header_part = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(header_part)
        .map_err(|_| Rejection::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| Rejection::Malformed)?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => Ok(()),
        Some(_) => Err(Rejection::UnsupportedAlgorithm),
        None => Err(Rejection::Malformed),
    }
}

fn verify_signature(token: &str, secret: &str) -> Result<Map<String, Value>, Rejection> {
    let mut validation = Validation::new(Algorithm::HS256);
    // Claims are checked by hand below so each failure has its own reason.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    // The secret is used as its raw UTF-8 bytes, never hex-decoded (docs/protocol.md).
    let key = DecodingKey::from_secret(secret.as_bytes());
    match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(err) => Err(match err.kind() {
            ErrorKind::InvalidSignature => Rejection::BadSignature,
            ErrorKind::InvalidAlgorithm => Rejection::UnsupportedAlgorithm,
            _ => Rejection::Malformed,
        }),
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    api_key: &str,
    now: f64,
    require_jti: bool,
) -> Result<(), Rejection> {
    match claims.get("iss") {
        None => return Err(Rejection::MissingClaim(Claim::Iss)),
        Some(Value::String(iss)) if iss == api_key => {}
        // The Java SDK holds the key as an int; accept it written as a JSON number too.
        Some(Value::Number(n)) if n.to_string() == api_key => {}
        Some(Value::String(_) | Value::Number(_)) => return Err(Rejection::WrongIssuer),
        Some(_) => return Err(Rejection::BadClaim(Claim::Iss)),
    }
    match claims.get("ist") {
        None => return Err(Rejection::MissingClaim(Claim::Ist)),
        Some(Value::String(ist)) if ist == "project" => {}
        Some(Value::String(_)) => return Err(Rejection::WrongIssuerType),
        Some(_) => return Err(Rejection::BadClaim(Claim::Ist)),
    }
    let iat = numeric(claims, "iat", Claim::Iat)?;
    let exp = numeric(claims, "exp", Claim::Exp)?;
    match claims.get("jti") {
        // The Node SDK sends none; the real service evidently accepts that (docs/protocol.md).
        None if !require_jti => {}
        None => return Err(Rejection::MissingClaim(Claim::Jti)),
        Some(Value::String(s)) if !s.is_empty() => {}
        // The community Rust crate sends a number.
        Some(Value::Number(_)) => {}
        Some(_) => return Err(Rejection::BadClaim(Claim::Jti)),
    }
    if exp + CLOCK_SKEW_SECS <= now {
        return Err(Rejection::Expired);
    }
    if iat > now + CLOCK_SKEW_SECS {
        return Err(Rejection::IssuedInFuture);
    }
    if exp <= iat || exp - iat > MAX_LIFETIME_SECS {
        return Err(Rejection::BadLifetime);
    }
    Ok(())
}

fn numeric(claims: &Map<String, Value>, name: &str, claim: Claim) -> Result<f64, Rejection> {
    match claims.get(name) {
        None => Err(Rejection::MissingClaim(claim)),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or(Rejection::BadClaim(claim)),
        Some(_) => Err(Rejection::BadClaim(claim)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    const KEY: &str = "123456";
    const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";
    // The SDK vectors of rest-auth-jwt.json (opentok-client's tests/data), all signed at iat=1700000000.
    const PYTHON: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3QiOiJwcm9qZWN0IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAxODAsImlzcyI6IjEyMzQ1NiIsImp0aSI6IjAuMTIzNDU2Nzg5In0.F3E5xPSCxo5-pH6XmWERaYjnJ7feJOBnw-Id-dUa9b8";
    const NODE: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIxMjM0NTYiLCJpc3QiOiJwcm9qZWN0IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDB9.NQ-QKS1mi_SRiz9UkEOgEMA-B0HKdwkIkLGxWz7g9vI";
    const RUBY: &str = "eyJpc3QiOiJwcm9qZWN0IiwiYWxnIjoiSFMyNTYifQ.eyJpc3MiOiIxMjM0NTYiLCJpYXQiOjE0OTI1MTA2NjAsImV4cCI6MTQ5MjUxMDk2MH0.BplMVhJWx4ld7KLKXqEmow6MjNPPFw9W8IHCMfeb120";

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("x-opentok-auth"),
            HeaderValue::from_str(token).unwrap(),
        );
        h
    }

    #[test]
    fn accepts_the_python_sdk_vector_at_its_time() {
        assert_eq!(
            check(&headers(PYTHON), KEY, SECRET, 1_700_000_010, true),
            Ok(())
        );
    }

    #[test]
    fn refuses_the_python_vector_once_expired_or_with_another_key() {
        assert_eq!(
            check(&headers(PYTHON), KEY, SECRET, 1_700_000_300, true),
            Err(Rejection::Expired)
        );
        assert_eq!(
            check(&headers(PYTHON), "654321", SECRET, 1_700_000_010, true),
            Err(Rejection::WrongIssuer)
        );
    }

    #[test]
    fn refuses_node_and_ruby_tokens_for_lack_of_jti_or_ist() {
        assert_eq!(
            check(&headers(NODE), KEY, SECRET, 1_700_000_010, true),
            Err(Rejection::MissingClaim(Claim::Jti))
        );
        assert_eq!(
            check(&headers(RUBY), KEY, SECRET, 1_492_510_670, true),
            Err(Rejection::MissingClaim(Claim::Ist))
        );
    }

    #[test]
    fn accepts_node_tokens_when_jti_is_optional() {
        assert_eq!(
            check(&headers(NODE), KEY, SECRET, 1_700_000_010, false),
            Ok(())
        );
        // Everything else is still checked.
        assert_eq!(
            check(&headers(NODE), "654321", SECRET, 1_700_000_010, false),
            Err(Rejection::WrongIssuer)
        );
    }

    #[test]
    fn allows_a_little_clock_skew() {
        // exp is 1700000180: 29 s late still passes, 30 s late does not.
        assert_eq!(
            check(&headers(PYTHON), KEY, SECRET, 1_700_000_209, true),
            Ok(())
        );
        assert_eq!(
            check(&headers(PYTHON), KEY, SECRET, 1_700_000_210, true),
            Err(Rejection::Expired)
        );
        // iat is 1700000000: a server clock 30 s behind still passes, 31 s does not.
        assert_eq!(
            check(&headers(PYTHON), KEY, SECRET, 1_699_999_970, true),
            Ok(())
        );
        assert_eq!(
            check(&headers(PYTHON), KEY, SECRET, 1_699_999_969, true),
            Err(Rejection::IssuedInFuture)
        );
    }

    #[test]
    fn every_reason_has_its_own_name() {
        let all = [
            Rejection::MissingHeader,
            Rejection::BearerNotSupported,
            Rejection::Malformed,
            Rejection::UnsupportedAlgorithm,
            Rejection::BadSignature,
            Rejection::MissingClaim(Claim::Iss),
            Rejection::MissingClaim(Claim::Ist),
            Rejection::MissingClaim(Claim::Iat),
            Rejection::MissingClaim(Claim::Exp),
            Rejection::MissingClaim(Claim::Jti),
            Rejection::BadClaim(Claim::Iss),
            Rejection::BadClaim(Claim::Ist),
            Rejection::BadClaim(Claim::Iat),
            Rejection::BadClaim(Claim::Exp),
            Rejection::BadClaim(Claim::Jti),
            Rejection::WrongIssuer,
            Rejection::WrongIssuerType,
            Rejection::Expired,
            Rejection::IssuedInFuture,
            Rejection::BadLifetime,
        ];
        let mut names: Vec<&str> = all.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn never_panics_on_junk() {
        for junk in ["", ".", "..", "a.b.c", "e30.e30.", "eyJhbGciOiJIUzI1NiJ9.."] {
            let h = headers(junk);
            assert!(
                check(&h, KEY, SECRET, 1_700_000_000, true).is_err(),
                "{junk:?}"
            );
        }
    }
}
