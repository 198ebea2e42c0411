//! The original contract and its extensions, with each body type and every default.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn form_of(app: &TestApp, index: usize) -> Vec<(String, String)> {
    let requests = app.mock.requests();
    let request = &requests[index];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/session/create");
    serde_urlencoded::from_bytes(&request.body).expect("form body")
}

fn has(form: &[(String, String)], name: &str, value: &str) -> bool {
    form.iter().any(|(k, v)| k == name && v == value)
}

#[actix_web::test]
async fn empty_post_creates_a_routed_session_with_all_defaults() {
    let app = spawn_app().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (status, body) = app.post_empty("/session").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "archiveMode",
            "createdAt",
            "e2ee",
            "id",
            "location",
            "mediaMode"
        ]
    );
    assert_eq!(body["mediaMode"], "routed");
    assert_eq!(body["location"], json!(null));
    assert_eq!(body["archiveMode"], "manual");
    assert_eq!(body["e2ee"], false);
    let created = body["createdAt"]
        .as_u64()
        .expect("createdAt is unix seconds");
    assert!(created >= before && created <= before + 60, "{created}");
    let id = session_id(body["id"].as_str().unwrap());
    assert!(id.belongs_to(&tiny_opentok_domain::ApiKey::parse(KEY).unwrap()));
    assert_eq!(app.stored().await, 1);
    let form = form_of(&app, 0);
    assert!(has(&form, "p2p.preference", "disabled"), "{form:?}");
    assert!(has(&form, "archiveMode", "manual"), "{form:?}");
    assert!(!form.iter().any(|(k, _)| k == "location" || k == "e2ee"));
    app.stop().await;
}

#[actix_web::test]
async fn json_body_sets_every_option() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/session",
            json!({"mediaMode": "routed", "location": "12.34.56.78", "archiveMode": "always", "unknown": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["location"], "12.34.56.78");
    assert_eq!(body["archiveMode"], "always");
    let id = session_id(body["id"].as_str().unwrap());
    assert_eq!(
        id.record().location(),
        Some("12.34.56.78".parse().unwrap()),
        "OpenTok got the location"
    );
    let form = form_of(&app, 0);
    assert!(has(&form, "location", "12.34.56.78"));
    assert!(has(&form, "archiveMode", "always"));

    let (status, body) = app
        .post_json(
            "/session",
            json!({"mediaMode": "relayed", "location": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["mediaMode"], "relayed");
    assert_eq!(body["location"], json!(null));
    assert!(has(&form_of(&app, 1), "p2p.preference", "enabled"));

    let (status, body) = app.post_json("/session", json!({"e2ee": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["e2ee"], true);
    assert!(has(&form_of(&app, 2), "e2ee", "true"));
    assert_eq!(app.stored().await, 3);
    app.stop().await;
}

#[actix_web::test]
async fn urlencoded_body_sets_options_and_empty_values_mean_absent() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_form("/session", "mediaMode=relayed&location=1.2.3.4&e2ee=false")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["mediaMode"], "relayed");
    assert_eq!(body["location"], "1.2.3.4");
    let (status, body) = app
        .post_raw(
            "/session",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            "location=&mediaMode=",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["location"], json!(null));
    assert_eq!(body["mediaMode"], "routed");
    app.stop().await;
}

#[actix_web::test]
async fn health_check_answers_ok() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/healthz").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    app.stop().await;
}

#[actix_web::test]
async fn sessions_are_not_shared_between_server_instances() {
    let a = spawn_app().await;
    let b = spawn_app().await;
    let id = a.create_session().await;
    let (status, _) = b.post_empty(&format!("/session/{id}/access")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only sessions created here may be used"
    );
    a.stop().await;
    b.stop().await;
}
