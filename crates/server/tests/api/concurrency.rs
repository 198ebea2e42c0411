//! Many clients at once.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use futures_util::future::join_all;

use crate::helpers::*;

#[actix_web::test]
async fn a_thousand_concurrent_access_requests_get_distinct_valid_tokens() {
    let app = spawn_app().await;
    let id = app.create_session().await;
    let path = format!("/session/{id}/access");
    // A client with room for all 1000 connections, so they really are in flight at once.
    let http = awc::Client::builder()
        .connector(awc::Connector::new().limit(1000))
        .timeout(std::time::Duration::from_secs(60))
        .finish();
    let url = format!("{}{path}", app.address);
    let answers = join_all((0..1000).map(|_| async {
        let mut res = http.post(&url).send().await.expect("sent");
        let body: serde_json::Value = res.json().await.expect("JSON");
        (res.status(), body)
    }))
    .await;
    let mut tokens = HashSet::new();
    for (status, body) in answers {
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        verify_t1(&token);
        tokens.insert(token);
    }
    assert_eq!(tokens.len(), 1000, "every token is distinct");
    app.stop().await;
}
