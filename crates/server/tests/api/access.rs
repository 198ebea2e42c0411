//! `POST /session/{id}/access`: tokens for stored sessions.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// The instant the access tests pin the server's clock at.
const NOW: u64 = 1_800_000_000;

#[actix_web::test]
async fn empty_post_mints_a_publisher_token_for_a_day() {
    let app = spawn_at(NOW).await;
    let id = app.create_session().await;
    let requests_before = app.mock.requests().len();
    let (status, body) = app.post_empty(&format!("/session/{id}/access")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["apiKey", "data", "expiresAt", "role", "sessionId", "token"]
    );
    assert_eq!(body["role"], "publisher");
    assert_eq!(body["data"], "");
    assert_eq!(body["sessionId"], id.as_str());
    assert_eq!(body["apiKey"], KEY);
    let expires = body["expiresAt"].as_u64().unwrap();
    assert_eq!(expires, NOW + 86_400);

    let fields = verify_t1(body["token"].as_str().unwrap());
    assert_eq!(field(&fields, "session_id"), Some(id.as_str()));
    assert_eq!(field(&fields, "role"), Some("publisher"));
    assert_eq!(
        field(&fields, "expire_time"),
        Some(expires.to_string().as_str())
    );
    assert_eq!(field(&fields, "connection_data"), None);
    assert_eq!(
        app.mock.requests().len(),
        requests_before,
        "minting makes no network call"
    );
    app.stop().await;
}

#[actix_web::test]
async fn every_role_and_parameter_goes_into_the_token() {
    let app = spawn_at(NOW).await;
    let id = app.create_session().await;
    let expires = NOW + 3600;
    let data = r#"user id=42&name=Jane Doe:admin "quoted" é😀 {"json":[1,2]}"#;
    for role in ["publisher", "subscriber", "moderator", "publisheronly"] {
        let (status, body) = app
            .post_json(
                &format!("/session/{id}/access"),
                json!({"role": role, "expiresAt": expires, "data": data,
                       "initialLayoutClassList": ["focus", "inactive"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["role"], role);
        assert_eq!(body["expiresAt"], expires);
        assert_eq!(body["data"], data);
        let fields = verify_t1(body["token"].as_str().unwrap());
        assert_eq!(field(&fields, "role"), Some(role));
        assert_eq!(field(&fields, "connection_data"), Some(data));
        assert_eq!(
            field(&fields, "initial_layout_class_list"),
            Some("focus inactive")
        );
        assert_eq!(
            field(&fields, "expire_time"),
            Some(expires.to_string().as_str())
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn urlencoded_access_takes_digit_strings_and_space_separated_classes() {
    let app = spawn_at(NOW).await;
    let id = app.create_session().await;
    let expires = NOW + 600;
    let (status, body) = app
        .post_form(
            &format!("/session/{id}/access"),
            &format!("role=subscriber&expiresAt={expires}&data=a%26b%3Dc+d&initialLayoutClassList=focus+big"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role"], "subscriber");
    assert_eq!(body["expiresAt"], expires);
    assert_eq!(body["data"], "a&b=c d");
    let fields = verify_t1(body["token"].as_str().unwrap());
    assert_eq!(
        field(&fields, "initial_layout_class_list"),
        Some("focus big")
    );
    assert_eq!(field(&fields, "connection_data"), Some("a&b=c d"));

    let (status, body) = app
        .post_json(
            &format!("/session/{id}/access"),
            json!({"expiresAt": expires.to_string(), "initialLayoutClassList": "a b"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["expiresAt"], expires);
    app.stop().await;
}

#[actix_web::test]
async fn jwt_format_mints_verifiable_jwts() {
    let app = spawn_with(|s| s.opentok.token_format = Some(opentok_client::TokenFormat::Jwt)).await;
    let id = app.create_session().await;
    let (status, body) = app
        .post_json(
            &format!("/session/{id}/access"),
            json!({"role": "moderator", "data": "x y"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "iat"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .expect("valid HS256 JWT")
    .claims;
    assert_eq!(claims["session_id"], id.as_str());
    assert_eq!(claims["role"], "moderator");
    assert_eq!(claims["connection_data"], "x y");
    assert_eq!(claims["exp"], body["expiresAt"]);
    assert_eq!(claims["iss"], KEY);
    app.stop().await;
}

#[actix_web::test]
async fn tokens_minted_in_the_same_second_differ() {
    // The clock is pinned, so both tokens carry the same create and expire times: only the
    // nonce can tell them apart.
    let app = spawn_at(NOW).await;
    let id = app.create_session().await;
    let (status_a, a) = app.post_empty(&format!("/session/{id}/access")).await;
    let (status_b, b) = app.post_empty(&format!("/session/{id}/access")).await;
    assert_eq!(
        (status_a, status_b),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    let (fa, fb) = (
        verify_t1(a["token"].as_str().unwrap()),
        verify_t1(b["token"].as_str().unwrap()),
    );
    assert_eq!(field(&fa, "create_time"), Some(NOW.to_string().as_str()));
    assert_eq!(field(&fa, "create_time"), field(&fb, "create_time"));
    assert_eq!(a["expiresAt"], b["expiresAt"]);
    assert_ne!(field(&fa, "nonce"), field(&fb, "nonce"));
    assert_ne!(a["token"], b["token"]);
    app.stop().await;
}

#[actix_web::test]
async fn expiry_rules_are_judged_against_the_server_clock() {
    let app = spawn_at(NOW).await;
    let path = format!("/session/{}/access", app.create_session().await);
    for (expires, status) in [
        (NOW, StatusCode::BAD_REQUEST),
        (NOW + 1, StatusCode::CREATED),
        (NOW + 30 * 86_400, StatusCode::CREATED),
        (NOW + 30 * 86_400 + 1, StatusCode::BAD_REQUEST),
    ] {
        let (got, body) = app.post_json(&path, json!({ "expiresAt": expires })).await;
        assert_eq!(got, status, "{expires}: {body}");
    }
    app.stop().await;
}
