//! What MemoryStore adds to the shared contract: capacity and idle expiry.

use std::sync::Arc;
use std::time::Duration;

use tiny_opentok_domain::Session;
use tiny_opentok_storage::conformance::fresh_session;
use tiny_opentok_storage::{ManualClock, MemoryStore, MemoryStoreConfig, SessionStore, StoreError};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

const TTL: Duration = Duration::from_secs(600);
const NANO: Duration = Duration::from_nanos(1);

fn bounded(capacity: usize) -> MemoryStore {
    MemoryStore::with_config(MemoryStoreConfig {
        capacity: Some(capacity),
        idle_ttl: None,
    })
}

fn expiring(capacity: Option<usize>) -> (MemoryStore, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let config = MemoryStoreConfig {
        capacity,
        idle_ttl: Some(TTL),
    };
    (MemoryStore::with_clock(config, clock.clone()), clock)
}

async fn insert_all(store: &MemoryStore, sessions: &[Session]) {
    for session in sessions {
        store.insert(session.clone()).await.unwrap();
    }
}

fn sessions(n: usize) -> Vec<Session> {
    (0..n).map(|_| fresh_session()).collect()
}

// Capacity

#[tokio::test]
async fn refuses_an_insert_beyond_capacity_and_keeps_what_it_has() {
    let store = bounded(3);
    let kept = sessions(3);
    insert_all(&store, &kept).await;
    let extra = fresh_session();

    let result = store.insert(extra.clone()).await;

    assert!(
        matches!(result, Err(StoreError::Full { capacity: 3 })),
        "{result:?}"
    );
    assert_eq!(store.count().await.unwrap(), 3);
    assert_eq!(store.get(&extra.id).await.unwrap(), None);
    for session in &kept {
        assert_eq!(
            store.get(&session.id).await.unwrap().as_ref(),
            Some(session)
        );
    }
}

#[tokio::test]
async fn a_removal_makes_room_for_one_more() {
    let store = bounded(2);
    let kept = sessions(2);
    insert_all(&store, &kept).await;
    store.remove(&kept[0].id).await.unwrap();

    let next = fresh_session();
    store.insert(next.clone()).await.unwrap();

    assert!(matches!(
        store.insert(fresh_session()).await,
        Err(StoreError::Full { capacity: 2 })
    ));
    assert_eq!(store.get(&next.id).await.unwrap(), Some(next));
}

#[tokio::test]
async fn a_duplicate_at_capacity_is_reported_as_a_duplicate() {
    let store = bounded(1);
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();

    let result = store.insert(session.clone()).await;

    assert!(
        matches!(&result, Err(StoreError::AlreadyExists { id }) if *id == session.id),
        "{result:?}"
    );
}

#[tokio::test]
async fn zero_capacity_refuses_everything() {
    let store = bounded(0);

    let result = store.insert(fresh_session()).await;

    assert!(matches!(result, Err(StoreError::Full { capacity: 0 })));
    assert_eq!(store.count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_fill_the_store_exactly_to_capacity() {
    const CAPACITY: usize = 100;
    const TASKS: usize = 8;
    const PER_TASK: usize = 50;
    // Several rounds on fresh stores give a racy check more chances to overshoot.
    for round in 0..10 {
        let store = Arc::new(bounded(CAPACITY));
        let start = Arc::new(Barrier::new(TASKS));
        let mut tasks = JoinSet::new();
        for _ in 0..TASKS {
            let (store, start, batch) = (store.clone(), start.clone(), sessions(PER_TASK));
            tasks.spawn(async move {
                start.wait().await;
                let mut stored = Vec::new();
                for session in batch {
                    match store.insert(session.clone()).await {
                        Ok(()) => stored.push(session),
                        Err(StoreError::Full { capacity }) => assert_eq!(capacity, CAPACITY),
                        Err(other) => panic!("unexpected {other}"),
                    }
                }
                stored
            });
        }

        let stored: Vec<Session> = tasks.join_all().await.into_iter().flatten().collect();

        assert_eq!(stored.len(), CAPACITY, "round {round}");
        assert_eq!(store.count().await.unwrap(), CAPACITY, "round {round}");
        for session in &stored {
            assert_eq!(
                store.get(&session.id).await.unwrap().as_ref(),
                Some(session)
            );
        }
    }
}

// Idle expiry

#[tokio::test]
async fn sessions_never_expire_without_an_idle_ttl() {
    let clock = Arc::new(ManualClock::new());
    let store = MemoryStore::with_clock(MemoryStoreConfig::default(), clock.clone());
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();

    clock.advance(Duration::from_secs(10 * 365 * 86_400));

    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(store.purge_expired(), 0);
    assert_eq!(store.get(&session.id).await.unwrap(), Some(session));
}

#[tokio::test]
async fn an_untouched_session_expires_exactly_one_ttl_after_its_insert() {
    let (store, clock) = expiring(None);
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();

    clock.advance(TTL - NANO);
    // count does not refresh a session, so the check itself cannot keep it alive.
    assert_eq!(store.count().await.unwrap(), 1, "expired early");
    clock.advance(NANO);

    assert_eq!(store.count().await.unwrap(), 0);
    assert_eq!(store.get(&session.id).await.unwrap(), None);
}

#[tokio::test]
async fn each_read_restarts_the_idle_time() {
    let (store, clock) = expiring(None);
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();

    clock.advance(TTL / 2);
    assert!(store.get(&session.id).await.unwrap().is_some());
    clock.advance(TTL - NANO);
    assert_eq!(
        store.get(&session.id).await.unwrap().as_ref(),
        Some(&session),
        "1.5 TTL after insert but less than one TTL after the last read"
    );
    clock.advance(TTL);

    assert_eq!(store.get(&session.id).await.unwrap(), None);
}

#[tokio::test]
async fn an_expired_session_is_gone_for_remove_too() {
    let (store, clock) = expiring(None);
    let session = fresh_session();
    store.insert(session.clone()).await.unwrap();
    clock.advance(TTL);

    assert_eq!(store.remove(&session.id).await.unwrap(), None);
    assert_eq!(store.count().await.unwrap(), 0);
}

#[tokio::test]
async fn an_expired_id_may_be_inserted_again() {
    let (store, clock) = expiring(None);
    let old = fresh_session();
    store.insert(old.clone()).await.unwrap();
    clock.advance(TTL);
    let new = Session {
        created_at: old.created_at + 1,
        ..old.clone()
    };

    store.insert(new.clone()).await.unwrap();

    assert_eq!(store.get(&old.id).await.unwrap(), Some(new));
    assert_eq!(store.count().await.unwrap(), 1);
}

#[tokio::test]
async fn expired_sessions_do_not_hold_room_in_a_full_store() {
    let (store, clock) = expiring(Some(2));
    let old = sessions(2);
    insert_all(&store, &old).await;
    clock.advance(TTL);

    let new = sessions(2);
    insert_all(&store, &new).await;

    assert_eq!(store.count().await.unwrap(), 2);
    assert_eq!(store.get(&old[0].id).await.unwrap(), None);
    assert_eq!(store.get(&new[1].id).await.unwrap().as_ref(), Some(&new[1]));
}

#[tokio::test]
async fn a_full_store_of_live_sessions_still_refuses() {
    let (store, clock) = expiring(Some(2));
    insert_all(&store, &sessions(2)).await;
    clock.advance(TTL - NANO);

    let result = store.insert(fresh_session()).await;

    assert!(matches!(result, Err(StoreError::Full { capacity: 2 })));
}

#[tokio::test]
async fn purge_expired_removes_only_expired_sessions_and_counts_them() {
    let (store, clock) = expiring(None);
    let old = sessions(3);
    insert_all(&store, &old).await;
    clock.advance(TTL / 2);
    let young = sessions(2);
    insert_all(&store, &young).await;
    clock.advance(TTL / 2);

    assert_eq!(store.purge_expired(), 3);

    assert_eq!(store.purge_expired(), 0);
    assert_eq!(store.count().await.unwrap(), 2);
    for session in &young {
        assert_eq!(
            store.get(&session.id).await.unwrap().as_ref(),
            Some(session)
        );
    }
}

#[tokio::test]
async fn the_sweeper_thread_frees_expired_sessions_without_any_request() {
    let (store, clock) = expiring(None);
    let store = Arc::new(store);
    let old = sessions(3);
    insert_all(&store, &old).await;
    clock.advance(TTL / 2);
    let young = fresh_session();
    store.insert(young.clone()).await.unwrap();
    clock.advance(TTL / 2);
    assert_eq!(store.held(), 4, "nothing has swept yet");

    store.sweep_every(Duration::from_millis(10)).unwrap();
    let started = std::time::Instant::now();
    while store.held() != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the sweeper never ran: {} held",
            store.held()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(store.get(&young.id).await.unwrap(), Some(young));
}

#[tokio::test]
async fn without_a_ttl_no_sweeper_is_needed_and_nothing_leaves() {
    let store = Arc::new(MemoryStore::new());
    insert_all(&store, &sessions(2)).await;
    store.sweep_every(Duration::from_millis(1)).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.held(), 2);
}

#[tokio::test]
async fn a_zero_ttl_expires_sessions_as_soon_as_they_are_stored() {
    let config = MemoryStoreConfig {
        capacity: None,
        idle_ttl: Some(Duration::ZERO),
    };
    let store = MemoryStore::with_clock(config, Arc::new(ManualClock::new()));
    let session = fresh_session();

    store.insert(session.clone()).await.unwrap();

    assert_eq!(store.get(&session.id).await.unwrap(), None);
    assert_eq!(store.count().await.unwrap(), 0);
}
