//! Vonage application credentials: the app against opentok-mock in Vonage mode over HTTP (RS256
//! client tokens, the application JWT, upstream faults), and the real binary configured by
//! `VONAGE_*` variables, refusing every bad combination with one line and never showing the key.

// figment::Jail closures must return figment::Error, whose size is not ours to choose.
#![allow(clippy::result_large_err)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use base64::Engine as _;
use figment::Jail;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use opentok_client::TokenFormat;
use opentok_mock::{Fault, MockOpenTok, VonageMockConfig};
use serde_json::{json, Value};
use tiny_opentok_domain::{ApiKey, Session, SessionId, SessionOptions};
use tiny_opentok_server::configuration::{Settings, Sources};

use crate::helpers::*;

/// The instant the token tests pin the server's clock at (in the future, so `exp` validates).
const NOW: u64 = 1_900_000_000;
const OTHER_APP_ID: &str = "0b4c6a8e-1d2f-4e3a-9b8c-7d6e5f4a3b2c";
const CLAIMS: [&str; 11] = [
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
    "application_id",
];

fn key_path(name: &str) -> String {
    format!(
        "{}/../opentok-mock/tests/data/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The body lines of a PEM: what must never show anywhere.
fn key_material(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .map(str::to_owned)
        .collect()
}

/// The token's claims after verifying its RS256 signature with the test public key, and their
/// names in the order they were signed.
fn verified_claims(token: &str) -> (Value, Vec<String>) {
    let public = test_key("test-only-rsa2048.pub.pem");
    let key = DecodingKey::from_rsa_pem(public.as_bytes()).expect("public key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("verifies with the application's public key")
        .claims;
    let payload = token.split('.').nth(1).expect("three parts");
    let text = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("UTF-8");
    let mut names: Vec<(usize, String)> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(|k| {
            (
                text.find(&format!("\"{k}\":")).expect("name in payload"),
                k.clone(),
            )
        })
        .collect();
    names.sort();
    (claims, names.into_iter().map(|(_, k)| k).collect())
}

#[actix_web::test]
async fn sessions_are_created_with_the_application_jwt_and_carry_the_application_id() {
    let app = spawn_vonage(|_| {}, None).await;

    let id = app.create_session().await;

    assert!(session_id(&id).belongs_to(&ApiKey::parse(APP_ID).unwrap()));
    let requests = app.mock.requests();
    let auth = requests[0].header("authorization").expect("Bearer auth");
    assert!(auth.starts_with("Bearer "), "{auth}");
    assert!(requests[0].header("x-opentok-auth").is_none());
    assert_eq!(app.stored().await, 1);
    app.stop().await;
}

#[actix_web::test]
async fn tokens_for_every_role_are_rs256_with_the_node_sdk_claims_in_order() {
    let app = spawn_vonage(|_| {}, Some(NOW)).await;
    let id = app.create_session().await;
    let expires = NOW + 3600;
    let data = r#"user id=42&name=Jane "J" é😀"#;
    for role in ["publisher", "subscriber", "moderator", "publisheronly"] {
        let (status, body) = app
            .post_json(
                &format!("/session/{id}/access"),
                json!({"role": role, "expiresAt": expires, "data": data,
                       "initialLayoutClassList": ["focus", "full"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            body["apiKey"], APP_ID,
            "clients connect with the application id"
        );
        assert_eq!(
            (body["role"].as_str(), body["expiresAt"].as_u64()),
            (Some(role), Some(expires))
        );

        let (claims, names) = verified_claims(body["token"].as_str().unwrap());

        assert_eq!(names, CLAIMS, "{role}");
        assert_eq!(claims["scope"], "session.connect");
        assert_eq!(claims["session_id"], id.as_str());
        assert_eq!(claims["role"], role);
        assert_eq!(claims["initial_layout_class_list"], "focus full");
        assert_eq!(claims["exp"], expires);
        assert_eq!(claims["sub"], "video");
        assert_eq!(claims["acl"], json!({"paths": {"/session/**": {}}}));
        assert_eq!(claims["connection_data"], data);
        assert_eq!(claims["iat"], NOW);
        assert_eq!(claims["application_id"], APP_ID);
        assert_eq!(claims["jti"].as_str().map(str::len), Some(36), "a UUID");
    }
    // Defaults: publisher for a day, no connection_data claim, a fresh jti each time.
    let (_, a) = app.post_empty(&format!("/session/{id}/access")).await;
    let (_, b) = app.post_empty(&format!("/session/{id}/access")).await;
    let (claims, names) = verified_claims(a["token"].as_str().unwrap());
    assert_eq!(
        (claims["role"].as_str(), claims["exp"].as_u64()),
        (Some("publisher"), Some(NOW + 86_400))
    );
    assert!(!names.contains(&"connection_data".to_owned()), "{names:?}");
    assert_ne!(
        claims["jti"],
        verified_claims(b["token"].as_str().unwrap()).0["jti"]
    );
    assert_eq!(
        app.mock.requests().len(),
        1,
        "minting makes no network call"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_session_id_of_another_application_or_key_is_404() {
    let app = spawn_vonage(|_| {}, None).await;
    let other_app = ApiKey::parse(OTHER_APP_ID).unwrap();
    let foreign = SessionId::encode(&other_app, None, 1_700_000_000_000, "abc").unwrap();
    let opentok = SessionId::encode(&ApiKey::parse(KEY).unwrap(), None, 1, "abc").unwrap();
    for id in [&foreign, &opentok] {
        let answer = app
            .post_empty(&format!("/session/{}/access", id.as_str()))
            .await;
        assert_error(
            answer,
            StatusCode::NOT_FOUND,
            "session_not_found",
            "no session",
        );
    }
    // Even when a store kept across a switch of credentials still holds it.
    app.store
        .insert(Session {
            id: foreign.clone(),
            options: SessionOptions::default(),
            created_at: 1,
        })
        .await
        .unwrap();
    let answer = app
        .post_empty(&format!("/session/{}/access", foreign.as_str()))
        .await;
    assert_error(
        answer,
        StatusCode::NOT_FOUND,
        "session_not_found",
        "no session",
    );
    app.stop().await;
}

async fn assert_vonage_fault_maps(fault: Fault, status: StatusCode, code: &str) {
    let app = spawn_vonage(|s| s.opentok.timeout = Duration::from_millis(300), None).await;
    app.mock.set_fault(fault.clone(), Some(1));
    let (s, body) = app.post_empty("/session").await;
    assert_eq!(
        (s, body["error"].as_str()),
        (status, Some(code)),
        "{fault:?}: {body}"
    );
    assert_eq!(app.stored().await, 0, "a failed creation stores nothing");
    app.create_session().await;
    app.stop().await;
}

#[actix_web::test]
async fn every_upstream_fault_maps_as_with_opentok_credentials() {
    let bad_gateway = (StatusCode::BAD_GATEWAY, "upstream_error");
    for (fault, (status, code)) in [
        (Fault::Status(500), bad_gateway),
        (Fault::Status(401), bad_gateway),
        (Fault::Status(403), bad_gateway),
        (Fault::Garbage, bad_gateway),
        (Fault::CloseConnection, bad_gateway),
        (
            Fault::Hang,
            (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
        ),
    ] {
        assert_vonage_fault_maps(fault, status, code).await;
    }
}

#[actix_web::test]
async fn a_wrong_key_or_a_refused_connection_is_502() {
    let other_key = test_key("test-only-rsa2048-other.pem");
    let app = spawn_vonage(|s| s.vonage.private_key = Some(other_key.into()), None).await;
    let answer = app.post_empty("/session").await;
    assert_error(answer, StatusCode::BAD_GATEWAY, "upstream_error", "OpenTok");
    app.stop().await;

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = spawn_vonage(
        |s| s.vonage.api_url = Some(format!("http://127.0.0.1:{port}")),
        None,
    )
    .await;
    let answer = app.post_empty("/session").await;
    assert_error(answer, StatusCode::BAD_GATEWAY, "upstream_error", "OpenTok");
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK);
    app.stop().await;
}

/// Creates a session and a moderator token through the real binary; returns the access answer.
async fn session_and_token(base: &str) -> Value {
    let http = awc::Client::default();
    let mut res = http.post(format!("{base}/session")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let mut res = http
        .post(format!("{base}/session/{id}/access"))
        .send_json(&json!({"role": "moderator", "data": "name=Johnny"}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

fn stop(mut child: std::process::Child) -> String {
    sigterm(&child);
    let _ = child.wait();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    log
}

#[actix_web::test]
async fn the_binary_takes_the_key_from_a_file_or_inline_with_literal_backslash_n() {
    let mock = MockOpenTok::start_vonage(VonageMockConfig::new(
        APP_ID,
        test_key("test-only-rsa2048.pub.pem"),
    ))
    .await
    .unwrap();
    let pem = test_key("test-only-rsa2048.pem");
    let one_line = pem.trim_end().replace('\n', "\\n");
    let path = key_path("test-only-rsa2048.pem");
    for key in [
        ("VONAGE_PRIVATE_KEY_PATH", path.as_str()),
        ("VONAGE_PRIVATE_KEY", &one_line),
    ] {
        let (child, base) = spawn_binary_env(
            &[
                ("VONAGE_APPLICATION_ID", APP_ID),
                key,
                ("VONAGE_API_URL", mock.url()),
                ("RUST_LOG", "debug"),
            ],
            &[],
        );
        let access = session_and_token(&base).await;
        let log = stop(child);

        assert_eq!(access["apiKey"], APP_ID, "{}", key.0);
        let token = access["token"].as_str().unwrap();
        let (claims, _) = verified_claims(token);
        assert_eq!(
            (claims["role"].as_str(), claims["connection_data"].as_str()),
            (Some("moderator"), Some("name=Johnny"))
        );
        assert!(
            log.contains("token_format=rs256") || log.contains("\"token_format\":\"rs256\""),
            "{log}"
        );
        assert!(!log.contains(token), "the token leaked: {log}");
        for line in key_material(&pem) {
            assert!(!log.contains(&line), "key material leaked: {log}");
        }
    }
    mock.stop().await;
}

/// Environment variables, name and value.
type Env<'a> = Vec<(&'a str, &'a str)>;

/// Runs the binary with only `env` and expects it to exit 1; returns its stderr.
fn refused_startup(env: &[(&str, &str)]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tiny-opentok-server"))
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().expect("stop the server we started");
            panic!("started with {env:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    stderr
}

#[test]
fn every_bad_credential_combination_exits_1_with_one_line_naming_the_settings() {
    let pem = test_key("test-only-rsa2048.pem");
    let path = key_path("test-only-rsa2048.pem");
    let short = key_path("../../../opentok-client/tests/data/test-only-rsa1024.pem");
    let ec = key_path("../../../opentok-client/tests/data/test-only-ec-p256.pem");
    let public = key_path("test-only-rsa2048.pub.pem");
    let garbage = "-----BEGIN PRIVATE KEY-----\\nbm90IGEga2V5IGF0IGFsbCBidXQgbG9uZyBlbm91Z2g=\\n-----END PRIVATE KEY-----";
    let app = ("VONAGE_APPLICATION_ID", APP_ID);
    let opentok = [("OPENTOK_KEY", KEY), ("OPENTOK_SECRET", SECRET)];
    let cases: Vec<(Env, Vec<&str>)> = vec![
        (
            vec![],
            vec![
                "missing credentials",
                "OPENTOK_KEY",
                "VONAGE_APPLICATION_ID",
                "--mock-opentok",
            ],
        ),
        (
            [&opentok[..], &[app, ("VONAGE_PRIVATE_KEY_PATH", &path)]].concat(),
            vec![
                "two kinds",
                "OPENTOK_KEY",
                "OPENTOK_SECRET",
                "VONAGE_APPLICATION_ID",
                "VONAGE_PRIVATE_KEY_PATH",
            ],
        ),
        (
            vec![("OPENTOK_KEY", KEY), app],
            vec!["two kinds", "OPENTOK_KEY", "VONAGE_APPLICATION_ID"],
        ),
        (
            vec![app],
            vec!["only VONAGE_APPLICATION_ID set", "VONAGE_PRIVATE_KEY_PATH"],
        ),
        (
            vec![("VONAGE_PRIVATE_KEY", &pem)],
            vec!["only VONAGE_PRIVATE_KEY set"],
        ),
        (
            vec![("OPENTOK_SECRET", SECRET)],
            vec!["only OPENTOK_SECRET set", "OPENTOK_KEY"],
        ),
        (
            vec![
                app,
                ("VONAGE_PRIVATE_KEY_PATH", &path),
                ("VONAGE_PRIVATE_KEY", &pem),
            ],
            vec!["both VONAGE_PRIVATE_KEY_PATH and VONAGE_PRIVATE_KEY"],
        ),
        (
            vec![app, ("VONAGE_PRIVATE_KEY_PATH", "/nonexistent/key.pem")],
            vec!["VONAGE_PRIVATE_KEY_PATH: cannot read /nonexistent/key.pem"],
        ),
        (
            vec![app, ("VONAGE_PRIVATE_KEY_PATH", &short)],
            vec!["VONAGE_PRIVATE_KEY_PATH: ", "2048"],
        ),
        (
            vec![app, ("VONAGE_PRIVATE_KEY_PATH", &ec)],
            vec!["VONAGE_PRIVATE_KEY_PATH: ", "not an RSA key"],
        ),
        (
            vec![app, ("VONAGE_PRIVATE_KEY_PATH", &public)],
            vec!["VONAGE_PRIVATE_KEY_PATH: ", "no unencrypted private key"],
        ),
        (
            vec![app, ("VONAGE_PRIVATE_KEY", garbage)],
            vec!["VONAGE_PRIVATE_KEY: "],
        ),
        (
            vec![
                ("VONAGE_APPLICATION_ID", "not-a-uuid"),
                ("VONAGE_PRIVATE_KEY", &pem),
            ],
            vec!["VONAGE_APPLICATION_ID", "not a UUID"],
        ),
        (
            vec![
                app,
                ("VONAGE_PRIVATE_KEY", &pem),
                ("OPENTOK_TOKEN_FORMAT", "t1"),
            ],
            vec!["OPENTOK_TOKEN_FORMAT", "t1", "Vonage"],
        ),
        (
            vec![
                app,
                ("VONAGE_PRIVATE_KEY", &pem),
                ("OPENTOK_TOKEN_FORMAT", "jwt"),
            ],
            vec!["OPENTOK_TOKEN_FORMAT", "jwt", "Vonage"],
        ),
        (
            [&opentok[..], &[("OPENTOK_TOKEN_FORMAT", "rs256")]].concat(),
            vec!["OPENTOK_TOKEN_FORMAT", "rs256", "OpenTok"],
        ),
    ];
    let mut material = key_material(&pem);
    material.push("bm90IGEga2V5IGF0IGFsbCBidXQgbG9uZyBlbm91Z2g".to_owned());
    for (env, needles) in cases {
        let stderr = refused_startup(&env);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line for {env:?}: {stderr}");
        for needle in needles {
            assert!(
                lines[0].contains(needle),
                "{needle:?} for {env:?}: {stderr}"
            );
        }
        for line in &material {
            assert!(
                !stderr.contains(line.as_str()),
                "key material leaked: {stderr}"
            );
        }
    }
}

#[actix_web::test]
async fn mock_mode_replaces_configured_vonage_credentials() {
    let pem = test_key("test-only-rsa2048.pem");
    let env = [
        ("VONAGE_APPLICATION_ID", APP_ID),
        ("VONAGE_PRIVATE_KEY", &pem),
    ];
    let (child, base) = spawn_binary_env(&env, &["--mock-opentok"]);
    let access = session_and_token(&base).await;
    stop(child);
    let api_key = access["apiKey"].as_str().unwrap();
    assert!(
        api_key.bytes().all(|b| b.is_ascii_digit()),
        "the mock's key: {api_key}"
    );
}

#[test]
fn vonage_settings_load_from_their_variables_and_never_show_the_key() {
    let pem = test_key("test-only-rsa2048.pem");
    Jail::expect_with(|jail| {
        jail.set_env("VONAGE_APPLICATION_ID", APP_ID);
        jail.set_env("VONAGE_PRIVATE_KEY", &pem);
        jail.set_env("VONAGE_PRIVATE_KEY_PATH", "keys/app.pem");
        jail.set_env("VONAGE_API_URL", "http://127.0.0.1:9");
        jail.set_env("OPENTOK_TOKEN_FORMAT", "rs256");
        let s = Settings::load(&Sources {
            config_dir: "config".into(),
            ..Sources::default()
        })
        .expect("loads");
        assert_eq!(s.vonage.application_id.as_deref(), Some(APP_ID));
        assert_eq!(s.vonage.private_key_path.as_deref(), Some("keys/app.pem"));
        assert_eq!(s.vonage.api_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(s.opentok.token_format, Some(TokenFormat::Rs256));
        let shown = format!("{s:?} {s:#?}");
        for line in key_material(&pem) {
            assert!(!shown.contains(&line), "key material in Debug: {shown}");
        }
        Ok(())
    });
}
