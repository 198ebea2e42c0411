//! Runs the backend-independent suite against MemoryStore, and checks that the suite itself
//! catches a store that breaks the rules.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tiny_opentok_domain::{Session, SessionId};
use tiny_opentok_storage::conformance::{self, MIN_CAPACITY};
use tiny_opentok_storage::{
    open_store, ManualClock, MemoryStore, MemoryStoreConfig, SessionStore, StoreError, StoreOptions,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unbounded_memory_store_conforms() {
    conformance::run_all(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_with_exactly_enough_capacity_and_a_ttl_conforms() {
    let config = MemoryStoreConfig {
        capacity: Some(MIN_CAPACITY),
        idle_ttl: Some(Duration::from_secs(3600)),
    };
    let store = MemoryStore::with_clock(config, Arc::new(ManualClock::new()));

    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_memory_store_open_store_builds_conforms() {
    let options = StoreOptions {
        capacity: Some(MIN_CAPACITY),
        idle_ttl: Some(Duration::from_secs(3600)),
        ..StoreOptions::default()
    };
    let store = open_store("memory", &options).await.unwrap();

    conformance::run_all(store).await;
}

#[tokio::test]
async fn open_store_refuses_a_zero_timeout() {
    let options = StoreOptions {
        timeout: Duration::ZERO,
        ..StoreOptions::default()
    };

    let result = open_store("memory", &options).await;

    assert!(matches!(result, Err(StoreError::InvalidConfig { .. })));
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_checks_refuse_a_single_thread_runtime() {
    let outcome = tokio::spawn(conformance::concurrent_inserts_of_one_id_have_one_winner(
        Arc::new(MemoryStore::new()),
    ))
    .await;

    assert!(outcome.is_err_and(|e| e.is_panic()));
}

/// A store that lets a second insert overwrite the first.
#[derive(Default)]
struct Overwriting(MemoryStore);

/// A store that reports a missing session as a backend failure.
#[derive(Default)]
struct MissingIsAnError(MemoryStore);

#[async_trait]
impl SessionStore for Overwriting {
    async fn insert(&self, session: Session) -> Result<(), StoreError> {
        self.0.remove(&session.id).await?;
        self.0.insert(session).await
    }
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.0.get(id).await
    }
    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.0.remove(id).await
    }
    async fn count(&self) -> Result<usize, StoreError> {
        self.0.count().await
    }
}

#[async_trait]
impl SessionStore for MissingIsAnError {
    async fn insert(&self, session: Session) -> Result<(), StoreError> {
        self.0.insert(session).await
    }
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        match self.0.get(id).await? {
            Some(session) => Ok(Some(session)),
            None => Err(StoreError::Backend {
                message: format!("no such session {id}"),
                source: None,
            }),
        }
    }
    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.0.remove(id).await
    }
    async fn count(&self) -> Result<usize, StoreError> {
        self.0.count().await
    }
}

/// Whether `check` panics, run as its own task so the panic is caught.
async fn panics(check: impl Future<Output = ()> + Send + 'static) -> bool {
    tokio::spawn(check).await.is_err_and(|e| e.is_panic())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_store_that_overwrites_duplicates() {
    let store: Arc<dyn SessionStore> = Arc::new(Overwriting::default());

    let s = store.clone();
    assert!(
        panics(async move {
            conformance::duplicate_insert_is_refused_and_keeps_the_original(s.as_ref()).await
        })
        .await
    );
    assert!(
        panics(conformance::concurrent_inserts_of_one_id_have_one_winner(
            store.clone()
        ))
        .await
    );
    // The checks that never insert twice pass on it.
    conformance::inserted_session_reads_back_unchanged(store.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_store_that_errs_on_missing_ids() {
    let store: Arc<dyn SessionStore> = Arc::new(MissingIsAnError::default());

    let s = store.clone();
    assert!(
        panics(async move { conformance::missing_id_is_none_not_an_error(s.as_ref()).await }).await
    );
    let s = store.clone();
    assert!(
        panics(async move { conformance::remove_returns_the_session_once(s.as_ref()).await }).await
    );
    conformance::inserted_session_reads_back_unchanged(store.as_ref()).await;
}
