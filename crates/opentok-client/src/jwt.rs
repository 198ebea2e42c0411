//! JWTs: HS256 client tokens (Node's claim order) and the REST auth token for OpenTok credentials,
//! RS256 client tokens and the application JWT for Vonage applications (docs/protocol.md).
//! The compact JWS is assembled here (HMAC with `hmac` + `sha2`, RSA with aws-lc-rs) so the header and
//! claims bytes are exactly the ones chosen, which lets the SDKs' vectors reproduce byte for byte.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tiny_opentok_domain::{ApiKey, SessionId, TokenOptions};

use crate::{Nonce, OpenTokError, VonagePrivateKey};

/// The JOSE header every HS256 token here carries, as Node and Python write it.
pub const HS256_HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The JOSE header of every RS256 token here, as the Vonage SDKs write it.
pub const RS256_HEADER_JSON: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

/// Lifetime of the Vonage application JWT, in seconds: `@vonage/jwt`'s default.
pub const APPLICATION_JWT_TTL_SECS: u64 = 300;

/// Lifetime of the REST auth JWT, in seconds: the Python and Java SDKs' value, within the 300 s
/// every SDK stays under.
pub const REST_AUTH_TTL_SECS: u64 = 180;

/// `base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256)`.
pub(crate) fn sign_hs256(mac: &Hmac<Sha256>, header_json: &[u8], claims_json: &[u8]) -> String {
    let b64_len = |n: usize| (n * 4).div_ceil(3);
    let mut token =
        String::with_capacity(b64_len(header_json.len()) + b64_len(claims_json.len()) + 45);
    URL_SAFE_NO_PAD.encode_string(header_json, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims_json, &mut token);
    let mut mac = mac.clone();
    mac.update(token.as_bytes());
    let sig = mac.finalize().into_bytes();
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut token);
    token
}

/// `base64url(header) "." base64url(claims) "." base64url(RSASSA-PKCS1-v1_5-SHA256)`.
pub(crate) fn sign_rs256(
    key: &VonagePrivateKey,
    header_json: &[u8],
    claims_json: &[u8],
) -> Result<String, OpenTokError> {
    let b64_len = |n: usize| (n * 4).div_ceil(3);
    // An RSA-2048 signature is 256 bytes, 342 in base64url.
    let mut token =
        String::with_capacity(b64_len(header_json.len()) + b64_len(claims_json.len()) + 350);
    URL_SAFE_NO_PAD.encode_string(header_json, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims_json, &mut token);
    let sig = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut token);
    Ok(token)
}

/// The claims of an RS256 client token in `@vonage/video`'s order (`generateClientToken`, then
/// `@vonage/jwt` adds the rest): `scope, session_id, role, initial_layout_class_list, exp, sub,
/// acl, [connection_data], jti, iat, application_id`. No `iss`, `ist` or nonce.
pub fn vonage_client_token_claims(
    application_id: &ApiKey,
    session_id: &SessionId,
    options: &TokenOptions,
    iat: u64,
    jti: &str,
) -> String {
    let mut out = Vec::with_capacity(
        320 + session_id.as_str().len()
            + 2 * options.data().len()
            + 64 * options.initial_layout_class_list().len(),
    );
    out.extend_from_slice(b"{\"scope\":\"session.connect\",\"session_id\":");
    push_json_str(&mut out, session_id.as_str());
    out.extend_from_slice(b",\"role\":");
    push_json_str(&mut out, options.role().as_str());
    out.extend_from_slice(b",\"initial_layout_class_list\":");
    push_json_str(&mut out, &options.joined_layout_class_list());
    out.extend_from_slice(b",\"exp\":");
    push_int(&mut out, options.expire_time());
    out.extend_from_slice(b",\"sub\":\"video\",\"acl\":{\"paths\":{\"/session/**\":{}}}");
    if !options.data().is_empty() {
        out.extend_from_slice(b",\"connection_data\":");
        push_json_str(&mut out, options.data());
    }
    out.extend_from_slice(b",\"jti\":");
    push_json_str(&mut out, jti);
    out.extend_from_slice(b",\"iat\":");
    push_int(&mut out, iat);
    out.extend_from_slice(b",\"application_id\":");
    push_json_str(&mut out, application_id.as_str());
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

/// The claims of the Vonage application JWT (`Authorization: Bearer`):
/// `{"application_id":id,"iat":iat,"exp":iat+300,"jti":jti}`.
pub fn application_jwt_claims(application_id: &ApiKey, iat: u64, jti: &str) -> String {
    let mut out = Vec::with_capacity(96 + application_id.as_str().len() + jti.len());
    out.extend_from_slice(b"{\"application_id\":");
    push_json_str(&mut out, application_id.as_str());
    out.extend_from_slice(b",\"iat\":");
    push_int(&mut out, iat);
    out.extend_from_slice(b",\"exp\":");
    push_int(&mut out, iat.saturating_add(APPLICATION_JWT_TTL_SECS));
    out.extend_from_slice(b",\"jti\":");
    push_json_str(&mut out, jti);
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

/// A random (version 4) UUID in its usual text form, the `jti` of RS256 tokens.
pub fn random_uuid_v4() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// The claims of a client token in the Node SDK's order:
/// `iss, ist, iat, exp, session_id, create_time, nonce, role, expire_time, [connection_data],
/// initial_layout_class_list, scope`. Values are plain JSON (connection data is not URL-encoded).
pub fn client_token_claims(
    api_key: &ApiKey,
    session_id: &SessionId,
    options: &TokenOptions,
    create_time: u64,
    nonce: &Nonce,
) -> String {
    let mut out = Vec::with_capacity(
        300 + session_id.as_str().len()
            + 2 * options.data().len()
            + 64 * options.initial_layout_class_list().len(),
    );
    out.extend_from_slice(b"{\"iss\":");
    push_json_str(&mut out, api_key.as_str());
    out.extend_from_slice(b",\"ist\":\"project\",\"iat\":");
    push_int(&mut out, create_time);
    out.extend_from_slice(b",\"exp\":");
    push_int(&mut out, options.expire_time());
    out.extend_from_slice(b",\"session_id\":");
    push_json_str(&mut out, session_id.as_str());
    out.extend_from_slice(b",\"create_time\":");
    push_int(&mut out, create_time);
    out.extend_from_slice(b",\"nonce\":");
    out.extend_from_slice(nonce.as_bytes());
    out.extend_from_slice(b",\"role\":");
    push_json_str(&mut out, options.role().as_str());
    out.extend_from_slice(b",\"expire_time\":");
    push_int(&mut out, options.expire_time());
    if !options.data().is_empty() {
        out.extend_from_slice(b",\"connection_data\":");
        push_json_str(&mut out, options.data());
    }
    out.extend_from_slice(b",\"initial_layout_class_list\":");
    push_json_str(&mut out, &options.joined_layout_class_list());
    out.extend_from_slice(b",\"scope\":\"session.connect\"}");
    // Only valid UTF-8 was written: JSON punctuation, digits and escaped UTF-8 strings.
    String::from_utf8(out).unwrap_or_default()
}

/// The claims of the REST auth JWT: `{"iss":key,"ist":"project","iat":iat,"exp":iat+180,"jti":jti}`.
pub fn rest_auth_claims(api_key: &ApiKey, iat: u64, jti: &str) -> String {
    let mut out = Vec::with_capacity(96 + api_key.as_str().len() + jti.len());
    out.extend_from_slice(b"{\"iss\":");
    push_json_str(&mut out, api_key.as_str());
    out.extend_from_slice(b",\"ist\":\"project\",\"iat\":");
    push_int(&mut out, iat);
    out.extend_from_slice(b",\"exp\":");
    push_int(&mut out, iat.saturating_add(REST_AUTH_TTL_SECS));
    out.extend_from_slice(b",\"jti\":");
    push_json_str(&mut out, jti);
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

/// A JSON string literal. serde_json escapes exactly what `JSON.stringify` does (`"`, `\\`, control
/// characters) and leaves the rest, non-ASCII included, as it is.
fn push_json_str(out: &mut Vec<u8>, value: &str) {
    // Serialising a str into a Vec cannot fail: neither the value nor the writer has an error case.
    let _ = serde_json::to_writer(out, value);
}

fn push_int(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_str(value: &str) -> String {
        let mut out = Vec::new();
        push_json_str(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(json_str(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(
            json_str("\u{8}\u{c}\n\r\t\u{1}\u{1f}"),
            r#""\b\f\n\r\t\u0001\u001f""#
        );
        assert_eq!(json_str("é 😀 \u{7f} \u{2028}"), "\"é 😀 \u{7f} \u{2028}\"");
    }

    #[test]
    fn application_jwt_claims_expire_after_300_seconds() {
        let id = ApiKey::parse("29f760f8-7ce1-46c9-ade3-f2dedee4ed5f").unwrap();
        assert_eq!(
            application_jwt_claims(&id, 1_700_000_000, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"),
            r#"{"application_id":"29f760f8-7ce1-46c9-ade3-f2dedee4ed5f","iat":1700000000,"exp":1700000300,"jti":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"}"#
        );
    }

    #[test]
    fn jti_values_are_distinct_version_4_uuids() {
        let a = random_uuid_v4();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_ne!(a, random_uuid_v4());
    }

    #[test]
    fn rest_auth_claims_expire_after_180_seconds() {
        let key = ApiKey::parse("123456").unwrap();
        assert_eq!(
            rest_auth_claims(&key, 1_700_000_000, "j\"1"),
            r#"{"iss":"123456","ist":"project","iat":1700000000,"exp":1700000180,"jti":"j\"1"}"#
        );
    }
}
