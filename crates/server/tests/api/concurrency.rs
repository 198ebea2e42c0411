//! Many clients at once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use futures_util::future::join_all;
use tiny_opentok_domain::{Session, SessionId};
use tiny_opentok_storage::{MemoryStore, SessionStore, StoreError};

use crate::helpers::*;

/// A memory store whose lookups take 20 ms and that records how many were in flight at once.
#[derive(Default)]
struct SlowLookups {
    inner: MemoryStore,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

#[async_trait::async_trait]
impl SessionStore for SlowLookups {
    async fn insert(&self, session: Session) -> Result<(), StoreError> {
        self.inner.insert(session).await
    }
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.inner.get(id).await
    }
    async fn find(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.inner.find(id).await
    }
    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.inner.remove(id).await
    }
    async fn count(&self) -> Result<usize, StoreError> {
        self.inner.count().await
    }
}

#[actix_web::test]
async fn a_thousand_concurrent_access_requests_get_distinct_valid_tokens() {
    let store = Arc::new(SlowLookups::default());
    let app = spawn_custom(|_| {}, Some(Arc::clone(&store) as Arc<dyn SessionStore>)).await;
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
    let peak = store.peak.load(Ordering::SeqCst);
    assert!(
        peak >= 100,
        "requests overlapped: at most {peak} lookups were in flight at once"
    );
    app.stop().await;
}
