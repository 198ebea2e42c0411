//! Minted tokens decode back to exactly the data they were given, in both formats.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use opentok_client::{t1, Credentials, Nonce, TokenFormat, TokenSigner};
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::Value;
use tiny_opentok_domain::{ApiKey, Role, SessionId, TokenOptions, TokenParams};

const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";
const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";
const NOW: u64 = 1_700_000_000;

fn signer() -> TokenSigner {
    TokenSigner::new(&Credentials::new(
        ApiKey::parse("123456").unwrap(),
        SecretString::from(SECRET),
    ))
}

fn options(role: Role, data: &str, classes: &[String]) -> TokenOptions {
    let params = TokenParams {
        role,
        expire_time: Some(NOW + 3600),
        data: data.to_owned(),
        initial_layout_class_list: classes.to_vec(),
    };
    TokenOptions::new(params, NOW).unwrap()
}

fn jwt_claims(token: &str) -> Value {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims = HashSet::new();
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .unwrap()
    .claims
}

fn claims_text(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

/// Mints both formats and checks that every field decodes back to its input.
fn assert_round_trip(role: Role, data: &str, classes: &[String], nonce: &Nonce) {
    let sid = SessionId::parse(SID).unwrap();
    let opts = options(role, data, classes);
    let joined = classes.join(" ");

    let token = signer()
        .mint_with_nonce(TokenFormat::T1, &sid, &opts, NOW, nonce)
        .unwrap();
    let decoded = t1::decode(&token).unwrap();
    assert!(decoded.verify(&SecretString::from(SECRET)));
    assert_eq!(decoded.partner_id(), "123456");
    assert_eq!(decoded.field("session_id"), Some(SID));
    assert_eq!(decoded.field("role"), Some(role.as_str()));
    assert_eq!(decoded.field("nonce"), Some(nonce.as_str()));
    assert_eq!(decoded.field("create_time"), Some("1700000000"));
    assert_eq!(decoded.field("expire_time"), Some("1700003600"));
    assert_eq!(decoded.field("scope"), Some("session.connect"));
    assert_eq!(
        decoded.field("initial_layout_class_list"),
        Some(joined.as_str())
    );
    let expected_data = (!data.is_empty()).then_some(data);
    assert_eq!(decoded.field("connection_data"), expected_data);

    let token = signer()
        .mint_with_nonce(TokenFormat::Jwt, &sid, &opts, NOW, nonce)
        .unwrap();
    let claims = jwt_claims(&token);
    assert_eq!(claims["session_id"], SID);
    assert_eq!(claims["role"], role.as_str());
    assert_eq!(claims["exp"], 1_700_003_600u64);
    assert_eq!(claims["iat"], NOW);
    // serde_json's default float parser may be one ulp off, so compare the nonce as text.
    assert!(claims_text(&token).contains(&format!(",\"nonce\":{nonce},")));
    assert_eq!(claims["initial_layout_class_list"], joined.as_str());
    assert_eq!(
        claims.get("connection_data").and_then(Value::as_str),
        expected_data
    );
}

#[test]
fn awkward_connection_data_decodes_back_exactly() {
    let nonce = Nonce::new(0.123).unwrap();
    for data in [
        "user id=42&name=Jane Doe:admin",
        "a=b&c=d==",
        "quotes \" and ' and \\ backslash",
        "José Müller 日本語",
        "emoji 😀👩‍👩‍👧 flags 🇫🇷",
        r#"{"name":"Ana María","tags":["a","b"],"n":1.5e3}"#,
        "+%20%zz% 100%",
        "line\nbreak\ttab\u{0}nul",
        "",
    ] {
        assert_round_trip(Role::Subscriber, data, &[], &nonce);
    }
}

#[test]
fn layout_classes_decode_back_space_joined() {
    let classes = vec!["focus".to_owned(), "big~screen".to_owned(), "é".to_owned()];
    assert_round_trip(Role::Moderator, "x", &classes, &Nonce::new(0.5).unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_valid_data_and_layout_round_trip(
        data in "\\PC{0,200}|.{0,1000}",
        classes in prop::collection::vec("[^\\s]{1,12}", 0..4),
        role in prop::sample::select(Role::ALL.to_vec()),
        bits in 0u64..(1u64 << 53),
    ) {
        let nonce = Nonce::new(bits as f64 / (1u64 << 53) as f64).unwrap();
        assert_round_trip(role, &data, &classes, &nonce);
    }
}
