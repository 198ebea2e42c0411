//! The served OpenAPI document and the committed docs/openapi.json must not drift.

use actix_web::http::StatusCode;

use crate::helpers::*;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[test]
fn committed_openapi_matches_the_code() {
    let generated = tiny_opentok_server::openapi::document();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, generated).expect("write docs/openapi.json");
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p tiny-opentok-server --test api openapi` and commit it"
    );
}

#[actix_web::test]
async fn the_server_serves_the_committed_document() {
    let app = spawn_app().await;
    let mut res = app
        .http
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let served: serde_json::Value = res.json().limit(1 << 20).await.unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(COMMITTED).unwrap()).unwrap();
    assert_eq!(served, committed);
    let paths = served["paths"].as_object().unwrap();
    for path in [
        "/session",
        "/session/{id}/access",
        "/healthz",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} documented");
    }
    app.stop().await;
}
