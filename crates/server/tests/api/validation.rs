//! Bad input: every rule answers a JSON error with the right status, and never reaches OpenTok.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::*;

const BAD: StatusCode = StatusCode::BAD_REQUEST;

#[actix_web::test]
async fn invalid_session_parameters_are_400_and_never_reach_opentok() {
    let app = spawn_app().await;
    let cases = [
        (json!({"mediaMode": "Routed"}), "mediaMode"),
        (json!({"mediaMode": "p2p"}), "mediaMode"),
        (json!({"mediaMode": 1}), "mediaMode"),
        (json!({"archiveMode": "auto"}), "archiveMode"),
        (json!({"location": "127.1"}), "location"),
        (json!({"location": "::1"}), "location"),
        (json!({"location": "1.2.3.256"}), "location"),
        (json!({"location": 1234}), "location"),
        (json!({"e2ee": "yes"}), "e2ee"),
        (json!({"e2ee": 1}), "e2ee"),
        (
            json!({"mediaMode": "relayed", "archiveMode": "always"}),
            "archiveMode",
        ),
        (json!({"mediaMode": "relayed", "e2ee": true}), "e2ee"),
        (json!({"archiveMode": "always", "e2ee": true}), "e2ee"),
    ];
    for (body, needle) in cases {
        let answer = app.post_json("/session", body.clone()).await;
        assert_error(answer, BAD, "invalid_parameter", needle);
    }
    assert_error(
        app.post_form("/session", "mediaMode=RELAYED").await,
        BAD,
        "invalid_parameter",
        "mediaMode",
    );
    assert_error(
        app.post_form("/session", "e2ee=1").await,
        BAD,
        "invalid_parameter",
        "e2ee",
    );
    assert!(
        app.mock.requests().is_empty(),
        "invalid requests never reach OpenTok"
    );
    assert_eq!(app.stored().await, 0);
    app.stop().await;
}

#[actix_web::test]
async fn invalid_access_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    let id = app.create_session().await;
    let path = format!("/session/{id}/access");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cases = [
        (json!({"role": "admin"}), "role"),
        (json!({"role": "Publisher"}), "role"),
        (json!({"role": 3}), "role"),
        (json!({"expiresAt": now - 10}), "expiresAt"),
        (json!({"expiresAt": now + 31 * 86_400}), "expiresAt"),
        (json!({"expiresAt": 1.5}), "expiresAt"),
        (json!({"expiresAt": -1}), "expiresAt"),
        (json!({"expiresAt": "soon"}), "expiresAt"),
        (json!({"data": 42}), "data"),
        (json!({"data": "x".repeat(1001)}), "data"),
        (
            json!({"initialLayoutClassList": [1]}),
            "initialLayoutClassList",
        ),
        (
            json!({"initialLayoutClassList": {"a": 1}}),
            "initialLayoutClassList",
        ),
    ];
    for (body, needle) in cases {
        let answer = app.post_json(&path, body.clone()).await;
        assert_error(answer, BAD, "invalid_parameter", needle);
    }
    assert_error(
        app.post_form(&path, "expiresAt=12abc").await,
        BAD,
        "invalid_parameter",
        "expiresAt",
    );
    let (status, _) = app
        .post_json(&path, json!({"data": "x".repeat(1000)}))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "exactly 1000 characters is allowed"
    );
    app.stop().await;
}

#[actix_web::test]
async fn unknown_session_is_404_even_with_invalid_parameters() {
    let app = spawn_app().await;
    let foreign = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";
    for path in [
        format!("/session/{foreign}/access"),
        "/session/not-a-session-id/access".to_owned(),
    ] {
        assert_error(
            app.post_json(&path, json!({"role": "admin", "expiresAt": "x"}))
                .await,
            StatusCode::NOT_FOUND,
            "session_not_found",
            "session",
        );
        assert_error(
            app.post_raw(&path, Some("application/json"), "{broken")
                .await,
            StatusCode::NOT_FOUND,
            "session_not_found",
            "session",
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn malformed_bodies_are_400() {
    let app = spawn_app().await;
    for body in ["{", "[1,2]", "\"routed\"", "{\"mediaMode\":}"] {
        assert_error(
            app.post_raw("/session", Some("application/json"), body)
                .await,
            BAD,
            "invalid_parameter",
            "JSON",
        );
    }
    assert_error(
        app.post_form("/session", "location=%FF").await,
        BAD,
        "invalid_parameter",
        "location",
    );
    assert!(app.mock.requests().is_empty());
    app.stop().await;
}

#[actix_web::test]
async fn other_content_types_are_415_but_empty_bodies_of_any_type_are_fine() {
    let app = spawn_app().await;
    assert_error(
        app.post_raw("/session", Some("text/plain"), "mediaMode=relayed")
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "text/plain",
    );
    assert_error(
        app.post_raw("/session", None, "{}").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Content-Type",
    );
    let (status, body) = app.post_raw("/session", Some("application/json"), "").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.post_raw("/session", Some("text/plain"), "").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

#[actix_web::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_app().await;
    let id = app.create_session().await;
    let big = format!("{{\"data\": \"{}\"}}", "x".repeat(17 * 1024));
    assert_error(
        app.post_raw(
            &format!("/session/{id}/access"),
            Some("application/json"),
            big,
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "16384",
    );
    let (status, _) = app
        .post_raw(
            &format!("/session/{id}/access"),
            Some("application/json"),
            format!("{{\"pad\": \"{}\"}}", "x".repeat(16 * 1024 - 20)),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a body under the limit is read"
    );
    app.stop().await;
}

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = spawn_app().await;
    assert_error(
        app.post_empty("/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
        "/nope",
    );
    assert_error(
        app.get("/session").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "POST",
    );
    assert_error(
        app.post_empty("/healthz").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "GET",
    );
    let res = app
        .http
        .delete(format!("{}/session/x/access", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers().get("allow").unwrap(), "POST");
    app.stop().await;
}

#[actix_web::test]
async fn a_parameter_given_twice_is_400_in_json_as_in_forms() {
    let app = spawn_app().await;
    let path = format!("/session/{}/access", app.create_session().await);
    assert_error(
        app.post_raw(
            &path,
            Some("application/json"),
            r#"{"role":"subscriber","role":"moderator"}"#,
        )
        .await,
        BAD,
        "invalid_parameter",
        "role",
    );
    assert_error(
        app.post_form(&path, "role=subscriber&role=moderator").await,
        BAD,
        "invalid_parameter",
        "role",
    );
    assert_error(
        app.post_form("/session", "mediaMode=routed&mediaMode=relayed")
            .await,
        BAD,
        "invalid_parameter",
        "mediaMode",
    );
    assert_eq!(app.stored().await, 1, "only the first session was stored");
    app.stop().await;
}
