//! Known-answer tests against the SDK vectors in tests/data (see docs/protocol.md).

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use opentok_client::{jwt, t1, Credentials, Nonce, TokenSigner};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use tiny_opentok_domain::{
    parse_layout_class_list, ApiKey, Role, SessionId, TokenOptions, TokenParams,
};

const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";

#[derive(Deserialize)]
struct T1File {
    vectors: Vec<T1Vector>,
}

#[derive(Deserialize)]
struct T1Vector {
    id: String,
    inputs: T1Inputs,
    data_string: String,
    data_fields_in_order: Vec<(String, String)>,
    signature_hmac_sha1_hex: String,
    plaintext_before_base64: String,
    token: String,
}

#[derive(Deserialize)]
struct T1Inputs {
    api_key: String,
    api_secret: String,
    session_id: String,
    role: String,
    create_time: u64,
    expire_time: u64,
    nonce: String,
    data: Option<String>,
    initial_layout_class_list: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct JwtFile {
    vectors: Vec<JwtVector>,
}

#[derive(Deserialize)]
struct JwtVector {
    id: String,
    alg: String,
    header_json: String,
    claims_json: String,
    claims: Value,
    token: String,
    #[serde(default)]
    sdk_call_options: Value,
}

fn read(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn t1_vectors() -> Vec<T1Vector> {
    let file: T1File = serde_json::from_str(&read("t1-tokens.json")).unwrap();
    assert_eq!(file.vectors.len(), 55, "the file holds 55 T1 vectors");
    file.vectors
}

fn jwt_vectors(name: &str) -> Vec<JwtVector> {
    let file: JwtFile = serde_json::from_str(&read(name)).unwrap();
    file.vectors
}

fn signer_for(api_key: &str, secret: &str) -> TokenSigner {
    TokenSigner::new(&Credentials::new(
        ApiKey::parse(api_key).unwrap(),
        SecretString::from(secret),
    ))
}

fn options_for(inputs: &T1Inputs) -> TokenOptions {
    // One case passes the class "big screen"; our domain refuses white space inside a class, but
    // classes travel space-joined, so ["big", "screen"] puts the very same bytes in the token.
    let joined = inputs
        .initial_layout_class_list
        .as_deref()
        .unwrap_or_default()
        .join(" ");
    let params = TokenParams {
        role: Role::parse(&inputs.role).unwrap(),
        expire_time: Some(inputs.expire_time),
        data: inputs.data.clone().unwrap_or_default(),
        initial_layout_class_list: parse_layout_class_list(&joined),
    };
    TokenOptions::new(params, inputs.create_time).unwrap()
}

/// Decodes a JWT checking only its HS256 signature: the vectors' expiry lies in 2023.
fn verified_claims(token: &str, secret: &str) -> Result<Value, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims = HashSet::new();
    jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map(|data| data.claims)
}

#[test]
fn t1_encoder_reproduces_every_node_vector_byte_for_byte() {
    let node: Vec<_> = t1_vectors()
        .into_iter()
        .filter(|v| v.id.starts_with("node/"))
        .collect();
    assert_eq!(node.len(), 19);
    for v in &node {
        let i = &v.inputs;
        let session_id = SessionId::parse(&i.session_id).unwrap();
        let options = options_for(i);
        let nonce = Nonce::new(i.nonce.parse().unwrap()).unwrap();
        assert_eq!(nonce.as_str(), i.nonce, "{}: nonce text", v.id);

        let data = t1::data_string(&session_id, &options, i.create_time, &nonce);
        assert_eq!(data, v.data_string, "{}: data string", v.id);
        let token = signer_for(&i.api_key, &i.api_secret)
            .t1_token(&session_id, &options, i.create_time, &nonce)
            .unwrap();
        assert_eq!(token, v.token, "{}: token", v.id);
    }
}

#[test]
fn t1_decoder_accepts_and_verifies_every_vector_of_every_sdk() {
    let vectors = t1_vectors();
    for sdk in ["node/", "python/", "java/"] {
        assert!(
            vectors.iter().any(|v| v.id.starts_with(sdk)),
            "no {sdk} vectors"
        );
    }
    for v in &vectors {
        let decoded = t1::decode(&v.token).unwrap_or_else(|e| panic!("{}: {e}", v.id));
        assert_eq!(decoded.partner_id(), v.inputs.api_key, "{}", v.id);
        assert_eq!(decoded.signature(), v.signature_hmac_sha1_hex, "{}", v.id);
        assert_eq!(decoded.data_string(), v.data_string, "{}", v.id);
        assert_eq!(
            decoded.fields(),
            v.data_fields_in_order.as_slice(),
            "{}",
            v.id
        );
        assert!(
            v.plaintext_before_base64.ends_with(decoded.data_string()),
            "{}",
            v.id
        );
        assert!(
            decoded.verify(&SecretString::from(v.inputs.api_secret.as_str())),
            "{}: signature refused",
            v.id
        );
        assert!(
            !decoded.verify(&SecretString::from("not-the-secret")),
            "{}: wrong secret accepted",
            v.id
        );
    }
}

#[test]
fn t1_vectors_cover_both_base64_alphabets() {
    let vectors = t1_vectors();
    let body = |v: &T1Vector| v.token["T1==".len()..].to_owned();
    assert!(vectors.iter().any(|v| body(v).contains('+')));
    assert!(vectors.iter().any(|v| body(v).contains('-')));
}

#[test]
fn t1_verifier_refuses_a_tampered_data_string() {
    let v = &t1_vectors()[0];
    let plain = v
        .plaintext_before_base64
        .replace("role=publisher", "role=moderator");
    assert_ne!(plain, v.plaintext_before_base64);
    let forged = format!("T1=={}", base64_standard(plain.as_bytes()));
    let decoded = t1::decode(&forged).unwrap();
    assert!(!decoded.verify(&SecretString::from(SECRET)));
}

fn base64_standard(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn jwt_client_tokens_reproduce_every_node_hs256_vector_byte_for_byte() {
    let t1_inputs = t1_vectors();
    let node: Vec<_> = jwt_vectors("jwt-connection-tokens.json")
        .into_iter()
        .filter(|v| v.id.starts_with("node/") && v.alg == "HS256")
        .collect();
    assert_eq!(node.len(), 18);
    for v in &node {
        // The JWT cases reuse the T1 cases' inputs; only the nonce differs, so read it from the claims.
        let case = t1_inputs
            .iter()
            .find(|t| t.id == v.id)
            .unwrap_or_else(|| panic!("{}: no T1 case with these inputs", v.id));
        let i = &case.inputs;
        let nonce_text = v
            .claims_json
            .split_once("\"nonce\":")
            .and_then(|(_, rest)| rest.split_once(','))
            .map(|(text, _)| text)
            .unwrap();
        let nonce = Nonce::new(nonce_text.parse().unwrap()).unwrap();
        assert_eq!(nonce.as_str(), nonce_text, "{}: nonce text", v.id);

        let session_id = SessionId::parse(&i.session_id).unwrap();
        let options = options_for(i);
        let signer = signer_for(&i.api_key, &i.api_secret);
        let claims = jwt::client_token_claims(
            signer.api_key(),
            &session_id,
            &options,
            i.create_time,
            &nonce,
        );
        assert_eq!(claims, v.claims_json, "{}: claims", v.id);
        let token = signer
            .jwt_token(&session_id, &options, i.create_time, &nonce)
            .unwrap();
        assert_eq!(token, v.token, "{}: token", v.id);
    }
}

#[test]
fn every_hs256_vector_verifies_and_decodes_to_its_claims() {
    let mut count = 0;
    for file in ["jwt-connection-tokens.json", "rest-auth-jwt.json"] {
        for v in jwt_vectors(file).iter().filter(|v| v.alg == "HS256") {
            let claims =
                verified_claims(&v.token, SECRET).unwrap_or_else(|e| panic!("{}: {e}", v.id));
            assert_eq!(claims, v.claims, "{}", v.id);
            assert!(verified_claims(&v.token, "wrong").is_err(), "{}", v.id);
            count += 1;
        }
    }
    // 36 client tokens (Node and Python) and 3 REST tokens (Node, Python, Ruby).
    assert_eq!(count, 39);
}

#[test]
fn hs256_assembly_reproduces_every_sdk_token_from_its_exact_header_and_claims() {
    let signer = signer_for("123456", SECRET);
    for file in ["jwt-connection-tokens.json", "rest-auth-jwt.json"] {
        for v in jwt_vectors(file).iter().filter(|v| v.alg == "HS256") {
            assert_eq!(
                signer.sign_hs256(&v.header_json, &v.claims_json).unwrap(),
                v.token,
                "{}",
                v.id
            );
        }
    }
}

#[test]
fn rest_auth_jwt_verifies_and_carries_the_recommended_claims() {
    let signer = signer_for("123456", SECRET);
    let token = signer.rest_auth_jwt(1_700_000_000, "5f0c1d2e").unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let claims = verified_claims(&token, SECRET).unwrap();
    assert_eq!(
        claims,
        serde_json::json!({
            "iss": "123456",
            "ist": "project",
            "iat": 1_700_000_000u64,
            "exp": 1_700_000_180u64,
            "jti": "5f0c1d2e",
        })
    );
    assert!(verified_claims(&token, "wrong").is_err());
    // Python's REST vector used the same lifetime and claim set, in another order.
    let python = jwt_vectors("rest-auth-jwt.json")
        .into_iter()
        .find(|v| v.id == "python/opentok-hs256")
        .unwrap();
    let python_jti = python.sdk_call_options["random.random()"].to_string();
    let ours = signer.rest_auth_jwt(1_700_000_000, &python_jti).unwrap();
    let ours = verified_claims(&ours, SECRET).unwrap();
    assert_eq!(ours, python.claims);
}
