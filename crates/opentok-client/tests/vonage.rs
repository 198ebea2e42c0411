//! Vonage application credentials: reading keys, RS256 known answers from the SDKs' vectors
//! (tests/data, see docs/protocol.md) and the claims of the tokens we mint.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use opentok_client::{
    jwt, pem_from_env_value, ApplicationId, ClientConfig, Credentials, Nonce, OpenTokError,
    TokenFormat, TokenSigner, VonagePrivateKey, DEFAULT_VONAGE_API_URL,
};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use tiny_opentok_domain::{
    parse_layout_class_list, ApiKey, Role, SessionId, TokenOptions, TokenParams,
};

const APP_ID: &str = "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f";
// A session id from the Python SDK's fixtures, minted for APP_ID (session-ids.json).
const VONAGE_SID: &str = "1_MX4yOWY3NjBmOC03Y2UxLTQ2YzktYWRlMy1mMmRlZGVlNGVkNWZ-fjE3MjY0NjI1ODg2NDd-MTF4TGExYmJoelBlR1FHbVhzbWd4STBrfn5-";
const OPENTOK_SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";
const NOW: u64 = 1_700_000_000;

fn read(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn signer_with(pem: &str) -> TokenSigner {
    TokenSigner::new(&Credentials::vonage(
        ApplicationId::parse(APP_ID).unwrap(),
        VonagePrivateKey::from_pem(pem).unwrap(),
    ))
}

/// The key of the SDK captures (jwt-connection-tokens.json): a throwaway made for the vectors.
fn vector_key_pem() -> String {
    let file: Value = serde_json::from_str(&read("jwt-connection-tokens.json")).unwrap();
    file["vonage_credentials"]["private_key_pem"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn vector_public_pem() -> String {
    let file: Value = serde_json::from_str(&read("rest-auth-jwt.json")).unwrap();
    file["vonage_credentials"]["public_key_pem"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[derive(Deserialize)]
struct SdkVector {
    name: String,
    private_key_pem: String,
    token: String,
    header_json: String,
    payload_json: String,
}

#[derive(Deserialize)]
struct JwtVector {
    id: String,
    alg: String,
    header_json: String,
    claims_json: String,
    claims: Value,
    token: String,
}

fn jwt_vectors(name: &str) -> Vec<JwtVector> {
    #[derive(Deserialize)]
    struct File {
        vectors: Vec<JwtVector>,
    }
    let file: File = serde_json::from_str(&read(name)).unwrap();
    file.vectors
        .into_iter()
        .filter(|v| v.alg == "RS256")
        .collect()
}

/// Checks the RS256 signature against a public key PEM and returns the claims; no time checks
/// (the vectors' expiry lies in the past).
fn verified_claims(token: &str, public_pem: &str) -> Value {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.required_spec_claims = HashSet::new();
    let key = DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

/// The payload's claim names in their written order (serde_json's `Map` would sort them).
fn claim_names(token: &str) -> Vec<String> {
    use base64::Engine as _;
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    struct Names(Vec<String>);
    impl<'de> Deserialize<'de> for Names {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Names;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Names, A::Error> {
                    let mut names = Vec::new();
                    while let Some((name, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                        names.push(name);
                    }
                    Ok(Names(names))
                }
            }
            d.deserialize_map(V)
        }
    }

    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Names>(&bytes).unwrap().0
}

#[test]
fn re_signing_each_vonage_sdk_vector_gives_its_signature_byte_for_byte() {
    let file: Value = serde_json::from_str(&read("vonage-rs256.json")).unwrap();
    let vectors: Vec<SdkVector> = serde_json::from_value(file["vectors"].clone()).unwrap();
    assert_eq!(vectors.len(), 4);
    for v in &vectors {
        let token = signer_with(&v.private_key_pem)
            .sign_rs256(&v.header_json, &v.payload_json)
            .unwrap();
        assert_eq!(token, v.token, "{}", v.name);
    }
}

#[test]
fn node_rs256_client_tokens_reproduce_byte_for_byte() {
    let signer = signer_with(&vector_key_pem());
    let node: Vec<_> = jwt_vectors("jwt-connection-tokens.json")
        .into_iter()
        .filter(|v| v.id.starts_with("node/"))
        .collect();
    assert_eq!(node.len(), 4);
    for v in &node {
        let c = &v.claims;
        assert_eq!(v.header_json, jwt::RS256_HEADER_JSON, "{}", v.id);
        let params = TokenParams {
            role: Role::parse(c["role"].as_str().unwrap()).unwrap(),
            expire_time: c["exp"].as_u64(),
            data: c["connection_data"].as_str().unwrap_or_default().to_owned(),
            initial_layout_class_list: parse_layout_class_list(
                c["initial_layout_class_list"].as_str().unwrap(),
            ),
        };
        let iat = c["iat"].as_u64().unwrap();
        let options = TokenOptions::new(params, iat).unwrap();
        let session_id = SessionId::parse(c["session_id"].as_str().unwrap()).unwrap();
        let jti = c["jti"].as_str().unwrap();

        let claims =
            jwt::vonage_client_token_claims(signer.api_key(), &session_id, &options, iat, jti);
        assert_eq!(claims, v.claims_json, "{}: claims", v.id);
        let token = signer.rs256_token(&session_id, &options, iat, jti).unwrap();
        assert_eq!(token, v.token, "{}: token", v.id);
    }
}

#[test]
fn python_rs256_client_tokens_re_sign_byte_for_byte_and_verify() {
    let signer = signer_with(&vector_key_pem());
    let python: Vec<_> = jwt_vectors("jwt-connection-tokens.json")
        .into_iter()
        .filter(|v| v.id.starts_with("python/"))
        .collect();
    assert_eq!(python.len(), 3);
    for v in &python {
        let token = signer.sign_rs256(&v.header_json, &v.claims_json).unwrap();
        assert_eq!(token, v.token, "{}", v.id);
        assert_eq!(
            verified_claims(&v.token, &vector_public_pem()),
            v.claims,
            "{}",
            v.id
        );
    }
}

#[test]
fn rs256_rest_auth_vectors_re_sign_byte_for_byte() {
    let signer = signer_with(&vector_key_pem());
    let vectors = jwt_vectors("rest-auth-jwt.json");
    assert_eq!(vectors.len(), 2);
    for v in &vectors {
        let token = signer.sign_rs256(&v.header_json, &v.claims_json).unwrap();
        assert_eq!(token, v.token, "{}", v.id);
        assert_eq!(v.claims["application_id"], APP_ID, "{}", v.id);
    }
}

#[test]
fn our_application_jwt_verifies_and_carries_the_four_claims() {
    let signer = signer_with(&vector_key_pem());
    let token = signer
        .rest_auth_jwt(NOW, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
        .unwrap();
    let (header, _) = token.split_once('.').unwrap();
    assert_eq!(header, "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9");
    let claims = verified_claims(&token, &vector_public_pem());
    assert_eq!(
        claims,
        serde_json::json!({
            "application_id": APP_ID,
            "iat": NOW,
            "exp": NOW + 300,
            "jti": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        })
    );
    assert_eq!(claim_names(&token), ["application_id", "iat", "exp", "jti"]);
}

#[test]
fn minted_rs256_tokens_verify_with_the_public_key_and_have_the_node_claims() {
    let pem = read("test-only-rsa2048.pem");
    let signer = signer_with(&pem);
    let session_id = SessionId::parse(VONAGE_SID).unwrap();
    let params = TokenParams {
        role: Role::Subscriber,
        expire_time: Some(NOW + 3600),
        data: "name=Johnny \"J\"".to_owned(),
        initial_layout_class_list: vec!["focus".into(), "inactive".into()],
    };
    let options = TokenOptions::new(params, NOW).unwrap();

    let token = signer
        .mint(TokenFormat::Rs256, &session_id, &options, NOW)
        .unwrap();

    let claims = verified_claims(&token, &read("test-only-rsa2048.pub.pem"));
    assert_eq!(
        claim_names(&token),
        [
            "scope",
            "session_id",
            "role",
            "initial_layout_class_list",
            "exp",
            "sub",
            "acl",
            "connection_data",
            "jti",
            "iat",
            "application_id"
        ]
    );
    assert_eq!(claims["scope"], "session.connect");
    assert_eq!(claims["session_id"], VONAGE_SID);
    assert_eq!(claims["role"], "subscriber");
    assert_eq!(claims["initial_layout_class_list"], "focus inactive");
    assert_eq!(claims["exp"], NOW + 3600);
    assert_eq!(claims["sub"], "video");
    assert_eq!(
        claims["acl"],
        serde_json::json!({"paths": {"/session/**": {}}})
    );
    assert_eq!(claims["connection_data"], "name=Johnny \"J\"");
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["application_id"], APP_ID);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!((jti.len(), &jti[14..15]), (36, "4"), "{jti}");

    // Without data there is no connection_data claim, and each token has its own jti.
    let plain = TokenOptions::new(TokenParams::default(), NOW).unwrap();
    let a = signer
        .mint(TokenFormat::Rs256, &session_id, &plain, NOW)
        .unwrap();
    let b = signer
        .mint(TokenFormat::Rs256, &session_id, &plain, NOW)
        .unwrap();
    assert!(!claim_names(&a).contains(&"connection_data".to_owned()));
    assert_ne!(a, b);
}

#[test]
fn the_vonage_session_id_belongs_to_its_application_id() {
    let id = SessionId::parse(VONAGE_SID).unwrap();
    let app = ApplicationId::parse(APP_ID).unwrap();
    assert!(id.belongs_to(app.as_api_key()));
    assert!(!id.belongs_to(&ApiKey::parse("123456").unwrap()));
}

#[test]
fn rs256_refuses_a_session_of_another_key() {
    let signer = signer_with(&read("test-only-rsa2048.pem"));
    let foreign = SessionId::parse(OPENTOK_SID).unwrap();
    let options = TokenOptions::new(TokenParams::default(), NOW).unwrap();
    let err = signer
        .mint(TokenFormat::Rs256, &foreign, &options, NOW)
        .unwrap_err();
    assert!(
        matches!(&err, OpenTokError::ForeignSession { api_key, .. } if api_key == APP_ID),
        "{err:?}"
    );
}

#[test]
fn formats_that_need_the_other_kind_of_credentials_are_refused() {
    let vonage = signer_with(&read("test-only-rsa2048.pem"));
    let sid = SessionId::parse(VONAGE_SID).unwrap();
    let options = TokenOptions::new(TokenParams::default(), NOW).unwrap();
    let nonce = Nonce::new(0.5).unwrap();
    for format in [TokenFormat::T1, TokenFormat::Jwt] {
        let err = vonage.mint(format, &sid, &options, NOW).unwrap_err();
        assert!(
            matches!(
                err,
                OpenTokError::UnsupportedTokenFormat {
                    credentials: "Vonage application",
                    ..
                }
            ),
            "{format:?}: {err:?}"
        );
    }
    assert!(vonage.t1_token(&sid, &options, NOW, &nonce).is_err());
    assert!(vonage.sign_hs256("{}", "{}").is_err());

    let opentok = TokenSigner::new(&Credentials::new(
        ApiKey::parse("123456").unwrap(),
        SecretString::from("secret"),
    ));
    let sid = SessionId::parse(OPENTOK_SID).unwrap();
    let err = opentok
        .mint(TokenFormat::Rs256, &sid, &options, NOW)
        .unwrap_err();
    assert!(
        matches!(
            err,
            OpenTokError::UnsupportedTokenFormat {
                format: "rs256",
                credentials: "OpenTok"
            }
        ),
        "{err:?}"
    );
    assert!(opentok.sign_rs256("{}", "{}").is_err());
}

#[test]
fn config_for_vonage_credentials_defaults_to_rs256_and_the_vonage_url() {
    let credentials = Credentials::vonage(
        ApplicationId::parse(APP_ID).unwrap(),
        VonagePrivateKey::from_pem(&read("test-only-rsa2048.pem")).unwrap(),
    );
    let mut config = ClientConfig::new(credentials);
    assert_eq!(config.token_format, TokenFormat::Rs256);
    assert_eq!(config.base_url, DEFAULT_VONAGE_API_URL);
    assert_eq!(config.credentials.api_key().as_str(), APP_ID);
    assert!(config.validate().is_ok());
    config.token_format = TokenFormat::T1;
    assert!(matches!(
        config.validate(),
        Err(OpenTokError::UnsupportedTokenFormat { format: "t1", .. })
    ));

    let opentok = ClientConfig::new(Credentials::new(
        ApiKey::parse("123456").unwrap(),
        SecretString::from("secret"),
    ));
    assert_eq!(opentok.token_format, TokenFormat::T1);
    assert!(opentok.validate().is_ok());
}

#[test]
fn reads_pkcs8_pkcs1_and_env_style_pem() {
    for name in ["test-only-rsa2048.pem", "test-only-rsa2048-pkcs1.pem"] {
        let pem = read(name);
        let key = VonagePrivateKey::from_pem(&pem).unwrap();
        assert_eq!(key.bits(), 2048, "{name}");
        // One line, with the two characters `\n` for each line break, as in an env var.
        let one_line = pem.trim_end().replace('\n', "\\n");
        assert!(!one_line.contains('\n'));
        let again = VonagePrivateKey::from_pem(&one_line).unwrap();
        assert_eq!(again.public_key_der(), key.public_key_der(), "{name}");
        assert_eq!(pem_from_env_value(&one_line), pem.trim_end());
    }
}

#[test]
fn refuses_unusable_keys_without_quoting_them() {
    let rsa = read("test-only-rsa2048.pem");
    let body_line = rsa.lines().nth(3).unwrap().to_owned();
    let truncated: String = rsa.lines().take(10).collect::<Vec<_>>().join("\n");
    let damaged = rsa.replacen(&body_line, &"A".repeat(body_line.len()), 1);
    let cases = [
        ("empty", String::new(), "no unencrypted private key"),
        ("not PEM", "hello".to_owned(), "no unencrypted private key"),
        (
            "public key only",
            read("test-only-rsa2048.pub.pem"),
            "no unencrypted private key",
        ),
        ("EC key", read("test-only-ec-p256.pem"), "not an RSA key"),
        ("1024 bits", read("test-only-rsa1024.pem"), "2048"),
        ("no END line", truncated, "END"),
        ("damaged body", damaged, "malformed"),
        (
            "bad base64",
            "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".to_owned(),
            "base64",
        ),
    ];
    for (what, pem, expected) in cases {
        let err = VonagePrivateKey::from_pem(&pem).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(
            matches!(err, OpenTokError::InvalidCredentials { .. }),
            "{what}: {shown}"
        );
        assert!(shown.contains(expected), "{what}: {shown}");
        for line in pem
            .lines()
            .filter(|l| l.len() > 20 && !l.starts_with("-----"))
        {
            assert!(
                !shown.contains(line),
                "{what}: the error quotes key material"
            );
        }
    }
}

#[test]
fn debug_never_shows_the_private_key() {
    let pem = read("test-only-rsa2048.pem");
    let key = VonagePrivateKey::from_pem(&pem).unwrap();
    let credentials = Credentials::vonage(ApplicationId::parse(APP_ID).unwrap(), key.clone());
    let config = ClientConfig::new(credentials.clone());
    let signer = TokenSigner::new(&credentials);
    let shown = format!("{key:?} {credentials:?} {credentials:#?} {config:?} {signer:?}");
    assert!(shown.contains(APP_ID), "{shown}");
    assert!(shown.contains("2048"), "{shown}");
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!shown.contains(line), "Debug shows key material: {shown}");
    }
    // Nor in base64 of the DER as a whole, nor hex of the public part's start.
    assert!(!shown.contains("MII"), "{shown}");
}
