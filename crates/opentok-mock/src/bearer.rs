//! Vonage mode: checks the application JWT in `Authorization: Bearer` (docs/protocol.md, "The
//! Vonage application JWT") and reads the application's RSA public key.
//!
//! The rule: RS256 verified with the application's public key (ring, PKCS#1 v1.5, 2048 to 8192
//! bits), `application_id` = the application, numeric `iat` and `exp` describing a current token
//! (30 s of clock skew, at most 24 h long) and a non-empty `jti`. Other claims (`iss`, `ist`, `sub`,
//! `acl`, `nbf`) are ignored, as the Node `opentok` SDK and `@vonage/video` send different sets.

use actix_web::http::header::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use rustls_pki_types::pem::{PemObject, SectionKind};
use serde_json::{Map, Value};

use crate::auth::CLOCK_SKEW_SECS;

/// The longest application JWT accepted, in seconds (Vonage documents 24 h as the limit).
pub(crate) const MAX_LIFETIME_SECS: f64 = 86_400.0;

/// Why a Bearer token was refused; [`Rejection::as_str`] goes into the mock-only header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    MissingHeader,
    /// `X-OPENTOK-AUTH` sent to an application: OpenTok credentials, which this mock does not hold.
    OpenTokAuthNotSupported,
    NotBearer,
    Malformed,
    UnsupportedAlgorithm,
    BadSignature,
    MissingApplicationId,
    WrongApplicationId,
    MissingIat,
    MissingExp,
    MissingJti,
    Expired,
    IssuedInFuture,
    BadLifetime,
}

impl Rejection {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::MissingHeader => "missing_header",
            Self::OpenTokAuthNotSupported => "opentok_auth_not_supported",
            Self::NotBearer => "not_bearer",
            Self::Malformed => "malformed_token",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::BadSignature => "bad_signature",
            Self::MissingApplicationId => "missing_application_id",
            Self::WrongApplicationId => "wrong_application_id",
            Self::MissingIat => "missing_iat",
            Self::MissingExp => "missing_exp",
            Self::MissingJti => "missing_jti",
            Self::Expired => "expired",
            Self::IssuedInFuture => "iat_in_future",
            Self::BadLifetime => "bad_lifetime",
        }
    }
}

/// Reads the application's public key from PEM: a public key (`BEGIN PUBLIC KEY`) or a private key (PKCS#8 or PKCS#1) whose public half is taken.
/// Returns the DER `RSAPublicKey` ring verifies with. Errors never quote the PEM.
pub(crate) fn public_key_der(pem: &str) -> Result<Vec<u8>, &'static str> {
    let sections = <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes());
    for section in sections {
        let (kind, der) = section.map_err(|_| "the PEM cannot be read")?;
        let public = match kind {
            SectionKind::PublicKey => rsa_public_key_from_spki(&der)?,
            SectionKind::PrivateKey => RsaKeyPair::from_pkcs8(&der)
                .map_err(|_| "the private key is not a usable RSA key")?
                .public()
                .as_ref()
                .to_vec(),
            SectionKind::RsaPrivateKey => RsaKeyPair::from_der(&der)
                .map_err(|_| "the private key is not a usable RSA key")?
                .public()
                .as_ref()
                .to_vec(),
            _ => continue,
        };
        return Ok(public);
    }
    Err("no RSA public or private key in the PEM")
}

/// `SubjectPublicKeyInfo` → the `RSAPublicKey` inside its BIT STRING, checking the algorithm is
/// rsaEncryption. A few DER reads, enough for the keys `openssl` writes.
fn rsa_public_key_from_spki(der: &[u8]) -> Result<Vec<u8>, &'static str> {
    // 1.2.840.113549.1.1.1
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    const BAD: &str = "the public key is not an RSA SubjectPublicKeyInfo";
    let (spki, _) = der_element(der, 0x30).ok_or(BAD)?;
    let (algorithm, rest) = der_element(spki, 0x30).ok_or(BAD)?;
    let (oid, _) = der_element(algorithm, 0x06).ok_or(BAD)?;
    if oid != RSA_ENCRYPTION {
        return Err("the public key is not an RSA key");
    }
    let (bits, _) = der_element(rest, 0x03).ok_or(BAD)?;
    match bits.split_first() {
        Some((0, key)) => Ok(key.to_vec()),
        _ => Err(BAD),
    }
}

/// One DER element with tag `tag`: its contents and what follows it.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Checks the request's Bearer token for `application_id` at `now` (unix seconds).
pub(crate) fn check(
    headers: &HeaderMap,
    application_id: &str,
    public_key_der: &[u8],
    now: u64,
) -> Result<(), Rejection> {
    let Some(value) = headers.get("authorization") else {
        return Err(if headers.contains_key("x-opentok-auth") {
            Rejection::OpenTokAuthNotSupported
        } else {
            Rejection::MissingHeader
        });
    };
    let value = value.to_str().map_err(|_| Rejection::Malformed)?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(Rejection::NotBearer),
    };
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::Malformed);
    };
    let header: Map<String, Value> = decode_json(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(Rejection::UnsupportedAlgorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Rejection::Malformed)?;
    let signed = &token[..header_and_payload_len(token)];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key_der)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| Rejection::BadSignature)?;
    let claims: Map<String, Value> = decode_json(payload)?;
    check_claims(&claims, application_id, now as f64)
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

fn decode_json(part: &str) -> Result<Map<String, Value>, Rejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| Rejection::Malformed)
}

fn check_claims(
    claims: &Map<String, Value>,
    application_id: &str,
    now: f64,
) -> Result<(), Rejection> {
    match claims.get("application_id") {
        None => return Err(Rejection::MissingApplicationId),
        Some(Value::String(id)) if id.eq_ignore_ascii_case(application_id) => {}
        Some(_) => return Err(Rejection::WrongApplicationId),
    }
    let number = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite())
    };
    let iat = number("iat").ok_or(Rejection::MissingIat)?;
    let exp = number("exp").ok_or(Rejection::MissingExp)?;
    match claims.get("jti") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(Rejection::MissingJti),
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    const APP: &str = "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f";
    // The start of the Node `opentok` SDK's application JWT at iat=1700000000
    // (tests/data/rest-auth-jwt.json), and the public key of the capture's throwaway key.
    const NODE: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIyOWY3NjBmOC03Y2UxLTQ2YzktYWRlMy1mMmRlZGVlNGVkNWYiLCJpc3QiOiJwcm9qZWN0IiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDAsImFwcGxpY2F0aW9uX2lkIjoiMjlmNzYwZjgtN2NlMS00NmM5LWFkZTMtZjJkZWRlZTRlZDVmIiwianRpIjoiYWFhYWFhYWEtYmJiYi00Y2NjLThkZGQtZWVlZWVlZWVlZWVlIn0";
    const PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsohDi3znjlkl/m46mFXF\n+4QtAqdFWD2Xnbzj5GByJHAqah52Wu0//t+EqvuwoSgI2YLr9TnySqaHUaLF99MH\numQoI3jLPJ4vpnFUuOdRvN/nDL3IiDc14JCtPA5Y1daFjUu6DAW6yIn9lm7JgA82\nNdhxtzMXll0yOMVRXeArVZCJ/fNChgbDSiVfhiv8CxJ4F1r7PdSC55HquGxZKLWj\nmS2NtUWV7EpOoJAXDXVuhI1JygicgPf2Ekr1yqvFiuA83+Z3htyW2hKJGeZvJMSX\nqsQAMT8u/b0y14J6MYgDyyvUyCNpzxzwd4W6FPM+XdvidoB9yvMJvM+v33FzK6Jz\njQIDAQAB\n-----END PUBLIC KEY-----\n";

    fn node_token() -> String {
        let file = include_str!("../tests/data/rest-auth-jwt.json");
        let v: Value = serde_json::from_str(file).unwrap();
        let token = v["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == "node/vonage-rs256")
            .unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(token.starts_with(NODE));
        token
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("authorization"),
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        h
    }

    #[test]
    fn accepts_the_node_sdk_vector_at_its_time_only() {
        let key = public_key_der(PUBLIC).unwrap();
        let h = bearer(&node_token());
        assert_eq!(check(&h, APP, &key, 1_700_000_010), Ok(()));
        assert_eq!(check(&h, APP, &key, 1_700_000_400), Err(Rejection::Expired));
        assert_eq!(
            check(
                &h,
                "00000000-0000-4000-8000-000000000000",
                &key,
                1_700_000_010
            ),
            Err(Rejection::WrongApplicationId)
        );
    }

    #[test]
    fn refuses_a_changed_payload_or_signature() {
        let key = public_key_der(PUBLIC).unwrap();
        let token = node_token();
        let (signed, sig) = token.rsplit_once('.').unwrap();
        let other_sig = format!("{signed}.{}", sig.replace('A', "B"));
        let forged = token.replacen("eyJpc3Mi", "eyJpc3Ni", 1);
        for bad in [other_sig, forged] {
            assert_ne!(bad, token);
            let got = check(&bearer(&bad), APP, &key, 1_700_000_010);
            assert!(
                matches!(got, Err(Rejection::BadSignature | Rejection::Malformed)),
                "{got:?}"
            );
        }
    }

    #[test]
    fn reads_spki_public_keys_and_derives_them_from_private_keys() {
        let from_public = public_key_der(include_str!("../tests/data/test-only-rsa2048.pub.pem"));
        let from_private = public_key_der(include_str!("../tests/data/test-only-rsa2048.pem"));
        assert_eq!(from_private.unwrap(), from_public.unwrap());
        assert_ne!(public_key_der(PUBLIC).unwrap(), from_private_other());
        assert!(public_key_der("nothing here").is_err());
        assert!(public_key_der(include_str!("../tests/data/test-only-rsa2048-pkcs1.pem")).is_ok());
    }

    fn from_private_other() -> Vec<u8> {
        public_key_der(include_str!("../tests/data/test-only-rsa2048-other.pem")).unwrap()
    }

    #[test]
    fn never_panics_on_junk() {
        let key = public_key_der(PUBLIC).unwrap();
        for junk in [
            "",
            ".",
            "..",
            "a.b.c",
            "e30.e30.",
            "eyJhbGciOiJSUzI1NiJ9..",
            "x.y.z.w",
        ] {
            assert!(
                check(&bearer(junk), APP, &key, 1_700_000_000).is_err(),
                "{junk:?}"
            );
        }
        assert!(der_element(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], 0x30).is_none());
        assert!(rsa_public_key_from_spki(&[]).is_err());
    }
}
