//! The behaviour every [`SessionStore`] must show, written once and run against each backend
//! (feature `testing`).
//!
//! Each check panics, with a message naming the broken rule, when the store misbehaves. Checks
//! use ids no other call in the process uses and remove what they insert, but they compare
//! [`SessionStore::count`] before and after, so give the suite a store that nothing else writes
//! to while it runs, with room for at least [`MIN_CAPACITY`] sessions and no idle expiry shorter
//! than the run (a few seconds).
//!
//! The concurrent checks spawn tokio tasks and must run on a multi-thread runtime, as a
//! `#[tokio::test(flavor = "multi_thread")]` does:
//!
//! ```
//! use std::sync::Arc;
//! use tiny_opentok_storage::{conformance, MemoryStore};
//!
//! let runtime = tokio::runtime::Builder::new_multi_thread().build().unwrap();
//! runtime.block_on(conformance::run_all(Arc::new(MemoryStore::new())));
//! ```

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tiny_opentok_domain::{ApiKey, ArchiveMode, MediaMode, Session, SessionId, SessionOptions};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::{SessionStore, StoreError};

/// Tasks each concurrent check runs at once.
pub const TASKS: usize = 8;
/// Sessions each writer task inserts in [`concurrent_inserts_and_reads_agree`].
pub const PER_TASK: usize = 200;
/// The most sessions the suite holds at one time.
pub const MIN_CAPACITY: usize = TASKS * PER_TASK;

/// Runs every check below, one after another.
///
/// # Panics
/// At the first broken rule, or when not called on a multi-thread tokio runtime.
pub async fn run_all(store: Arc<dyn SessionStore>) {
    let s = store.as_ref();
    inserted_session_reads_back_unchanged(s).await;
    every_option_survives_the_round_trip(s).await;
    missing_id_is_none_not_an_error(s).await;
    find_by_text_agrees_with_get(s).await;
    duplicate_insert_is_refused_and_keeps_the_original(s).await;
    remove_returns_the_session_once(s).await;
    removed_id_can_be_inserted_again(s).await;
    count_follows_inserts_and_removes(s).await;
    concurrent_inserts_and_reads_agree(store.clone()).await;
    concurrent_inserts_of_one_id_have_one_winner(store.clone()).await;
    concurrent_removes_of_one_id_have_one_winner(store).await;
}

/// A session whose id no other call in this process returns; about 80 characters long, like
/// OpenTok's.
pub fn fresh_session() -> Session {
    fresh_session_with(SessionOptions::default())
}

fn fresh_session_with(options: SessionOptions) -> Session {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // The process id keeps two test processes sharing one backend (a Redis, say) apart.
    let random = format!("{:010}{n:020}", std::process::id());
    let key = ApiKey::parse("47665971").expect("a valid literal key");
    let created_ms = 1_700_000_000_000 + n;
    let id = SessionId::encode(&key, None, created_ms, &random).expect("a valid generated id");
    Session {
        id,
        options,
        created_at: created_ms / 1000,
    }
}

async fn count(store: &dyn SessionStore) -> usize {
    store.count().await.expect("count failed")
}

async fn insert(store: &dyn SessionStore, session: &Session) {
    store
        .insert(session.clone())
        .await
        .unwrap_or_else(|e| panic!("insert of {} failed: {e}", session.id));
}

async fn get(store: &dyn SessionStore, id: &SessionId) -> Option<Session> {
    store
        .get(id)
        .await
        .unwrap_or_else(|e| panic!("get of {id} failed: {e}"))
}

async fn remove(store: &dyn SessionStore, id: &SessionId) -> Option<Session> {
    store
        .remove(id)
        .await
        .unwrap_or_else(|e| panic!("remove of {id} failed: {e}"))
}

/// `get` returns exactly what `insert` stored, as often as it is asked.
///
/// # Panics
/// When the session is missing or changed.
pub async fn inserted_session_reads_back_unchanged(store: &dyn SessionStore) {
    let session = fresh_session();
    insert(store, &session).await;

    assert_eq!(get(store, &session.id).await.as_ref(), Some(&session));
    assert_eq!(
        get(store, &session.id).await.as_ref(),
        Some(&session),
        "a second read differs"
    );

    remove(store, &session.id).await;
}

/// Every media mode, archive mode, location and e2ee flag comes back as stored.
///
/// # Panics
/// When any field of any variant changes on the way through.
pub async fn every_option_survives_the_round_trip(store: &dyn SessionStore) {
    let mut sessions = Vec::new();
    for media in MediaMode::ALL {
        for archive in ArchiveMode::ALL {
            for location in [None, Some(Ipv4Addr::new(12, 34, 56, 78))] {
                for e2ee in [false, true] {
                    if let Ok(options) = SessionOptions::new(*media, *archive, location, e2ee) {
                        sessions.push(fresh_session_with(options));
                    }
                }
            }
        }
    }
    assert!(sessions.len() > 4, "the domain rules left too few variants");
    for session in &sessions {
        insert(store, session).await;
    }

    for session in &sessions {
        assert_eq!(get(store, &session.id).await.as_ref(), Some(session));
    }

    for session in &sessions {
        remove(store, &session.id).await;
    }
}

/// An id never stored is `Ok(None)` for `get` and `remove`, and changes no count.
///
/// # Panics
/// When either call errs or finds something, or the count moves.
pub async fn missing_id_is_none_not_an_error(store: &dyn SessionStore) {
    let before = count(store).await;
    let never_stored = fresh_session().id;

    assert_eq!(store.get(&never_stored).await.ok(), Some(None));
    assert_eq!(store.remove(&never_stored).await.ok(), Some(None));

    assert_eq!(count(store).await, before);
}

/// [`SessionStore::find`] by the id's text returns what [`SessionStore::get`] returns; text that
/// is not a stored id (unknown, malformed, or a stored id with a character changed) is `Ok(None)`.
///
/// # Panics
/// When a lookup by text disagrees with `get` or fails.
pub async fn find_by_text_agrees_with_get(store: &dyn SessionStore) {
    let session = fresh_session();
    store
        .insert(session.clone())
        .await
        .expect("a fresh session is accepted");
    assert_eq!(
        store.find(session.id.as_str()).await.ok(),
        Some(Some(session.clone()))
    );
    let mut altered = session.id.as_str().to_owned();
    let last = altered.pop();
    altered.push(if last == Some('A') { 'B' } else { 'A' });
    for text in [
        fresh_session().id.as_str(),
        "",
        "blahblahblah",
        "1_",
        altered.as_str(),
        &session.id.as_str()[..session.id.as_str().len() - 1],
    ] {
        assert_eq!(store.find(text).await.ok(), Some(None), "{text:?}");
    }
    assert_eq!(store.remove(&session.id).await.ok(), Some(Some(session)));
}

/// A second insert with the same id fails with [`StoreError::AlreadyExists`] naming that id, and
/// the first session stays as it was.
///
/// # Panics
/// When the duplicate is accepted, fails another way, or changes the stored session.
pub async fn duplicate_insert_is_refused_and_keeps_the_original(store: &dyn SessionStore) {
    let original = fresh_session();
    insert(store, &original).await;
    let before = count(store).await;
    let impostor = Session {
        id: original.id.clone(),
        options: SessionOptions::new(MediaMode::Relayed, ArchiveMode::Manual, None, false)
            .expect("valid options"),
        created_at: original.created_at + 1,
    };

    let result = store.insert(impostor).await;

    match result {
        Err(StoreError::AlreadyExists { id }) => assert_eq!(id, original.id),
        other => panic!("a duplicate insert gave {other:?}, not AlreadyExists"),
    }
    assert_eq!(get(store, &original.id).await.as_ref(), Some(&original));
    assert_eq!(count(store).await, before);

    remove(store, &original.id).await;
}

/// `remove` hands back the stored session the first time and `None` after; `get` then finds
/// nothing.
///
/// # Panics
/// When any of those differ.
pub async fn remove_returns_the_session_once(store: &dyn SessionStore) {
    let session = fresh_session();
    insert(store, &session).await;

    assert_eq!(remove(store, &session.id).await.as_ref(), Some(&session));
    assert_eq!(remove(store, &session.id).await, None);
    assert_eq!(get(store, &session.id).await, None);
}

/// After a remove, the same id may be stored again with new contents.
///
/// # Panics
/// When the second insert fails or the old contents come back.
pub async fn removed_id_can_be_inserted_again(store: &dyn SessionStore) {
    let first = fresh_session();
    insert(store, &first).await;
    remove(store, &first.id).await;
    let second = Session {
        created_at: first.created_at + 1,
        ..first.clone()
    };

    insert(store, &second).await;

    assert_eq!(get(store, &second.id).await.as_ref(), Some(&second));
    remove(store, &second.id).await;
}

/// `count` goes up by one per insert, down by one per remove, and ignores failed inserts and
/// removes of missing ids.
///
/// # Panics
/// When the count is off at any step.
pub async fn count_follows_inserts_and_removes(store: &dyn SessionStore) {
    let before = count(store).await;
    let sessions: Vec<Session> = (0..5).map(|_| fresh_session()).collect();

    for (i, session) in sessions.iter().enumerate() {
        insert(store, session).await;
        assert_eq!(count(store).await, before + i + 1, "after insert {i}");
    }
    assert!(store.insert(sessions[0].clone()).await.is_err());
    assert_eq!(count(store).await, before + 5, "after a refused duplicate");
    remove(store, &fresh_session().id).await;
    assert_eq!(
        count(store).await,
        before + 5,
        "after removing a missing id"
    );
    for (i, session) in sessions.iter().enumerate() {
        remove(store, &session.id).await;
        assert_eq!(count(store).await, before + 4 - i, "after remove {i}");
    }
}

fn assert_multi_thread() {
    assert_eq!(
        Handle::current().runtime_flavor(),
        RuntimeFlavor::MultiThread,
        "the concurrent checks need #[tokio::test(flavor = \"multi_thread\")]"
    );
}

/// Waits for every task, re-raising the first panic so its message reaches the test output.
async fn join_all<T: 'static>(mut tasks: JoinSet<T>) -> Vec<T> {
    let mut results = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(value) => results.push(value),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a task was cancelled: {e}"),
        }
    }
    results
}

/// [`TASKS`] writers insert [`PER_TASK`] sessions each and read every one straight back, while as
/// many readers sweep all the ids and may see each session absent or whole, never altered. At
/// the end every session is there once and the count rose by exactly `TASKS * PER_TASK`.
///
/// # Panics
/// When a write fails or is lost, a read sees a wrong session, or the count is off.
pub async fn concurrent_inserts_and_reads_agree(store: Arc<dyn SessionStore>) {
    assert_multi_thread();
    let before = count(store.as_ref()).await;
    let batches: Vec<Arc<Vec<Session>>> = (0..TASKS)
        .map(|_| Arc::new((0..PER_TASK).map(|_| fresh_session()).collect()))
        .collect();
    let all: Arc<Vec<Session>> = Arc::new(batches.iter().flat_map(|b| b.iter().cloned()).collect());
    let start = Arc::new(Barrier::new(2 * TASKS));
    let mut tasks = JoinSet::new();
    for batch in &batches {
        let (store, batch, start) = (store.clone(), batch.clone(), start.clone());
        tasks.spawn(async move {
            start.wait().await;
            for session in batch.iter() {
                insert(store.as_ref(), session).await;
                let read = get(store.as_ref(), &session.id).await;
                assert_eq!(read.as_ref(), Some(session), "a writer lost its own insert");
                // An in-memory store never yields by itself; this interleaves tasks sharing a
                // worker thread too.
                tokio::task::yield_now().await;
            }
        });
    }
    for reader in 0..TASKS {
        let (store, all, start) = (store.clone(), all.clone(), start.clone());
        tasks.spawn(async move {
            start.wait().await;
            // Readers start at different places so they meet writers in different shards.
            for i in 0..all.len() {
                let expected = &all[(i + reader * PER_TASK) % all.len()];
                if let Some(read) = get(store.as_ref(), &expected.id).await {
                    assert_eq!(&read, expected, "a reader saw an altered session");
                }
                tokio::task::yield_now().await;
            }
        });
    }

    join_all(tasks).await;

    assert_eq!(count(store.as_ref()).await, before + MIN_CAPACITY);
    for session in all.iter() {
        assert_eq!(
            get(store.as_ref(), &session.id).await.as_ref(),
            Some(session)
        );
    }
    let mut removals = JoinSet::new();
    for batch in batches {
        let store = store.clone();
        removals.spawn(async move {
            for session in batch.iter() {
                let removed = remove(store.as_ref(), &session.id).await;
                assert_eq!(
                    removed.as_ref(),
                    Some(session),
                    "a concurrent remove missed"
                );
                tokio::task::yield_now().await;
            }
        });
    }
    join_all(removals).await;
    assert_eq!(count(store.as_ref()).await, before);
}

/// [`TASKS`] tasks insert different sessions under one id at the same moment: exactly one
/// succeeds, every other gets [`StoreError::AlreadyExists`], and the winner's session is the one
/// stored.
///
/// # Panics
/// When there is not exactly one winner, a loser fails another way, or a loser's session is
/// the one stored.
pub async fn concurrent_inserts_of_one_id_have_one_winner(store: Arc<dyn SessionStore>) {
    assert_multi_thread();
    let base = fresh_session();
    let start = Arc::new(Barrier::new(TASKS));
    let mut tasks = JoinSet::new();
    for n in 0..TASKS as u64 {
        let contender = Session {
            created_at: base.created_at + n,
            ..base.clone()
        };
        let (store, start) = (store.clone(), start.clone());
        tasks.spawn(async move {
            start.wait().await;
            let result = store.insert(contender.clone()).await;
            (contender, result)
        });
    }

    let results = join_all(tasks).await;

    let mut winners = Vec::new();
    for (contender, result) in results {
        match result {
            Ok(()) => winners.push(contender),
            Err(StoreError::AlreadyExists { id }) => assert_eq!(id, base.id),
            Err(other) => panic!("a racing insert failed with {other}, not AlreadyExists"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "racing inserts of one id: {winners:?} all won"
    );
    assert_eq!(
        get(store.as_ref(), &base.id).await.as_ref(),
        Some(&winners[0]),
        "the stored session is not the winner's"
    );
    remove(store.as_ref(), &base.id).await;
}

/// [`TASKS`] tasks remove one stored session at the same moment: exactly one gets it back.
///
/// # Panics
/// When not exactly one removal returns the session.
pub async fn concurrent_removes_of_one_id_have_one_winner(store: Arc<dyn SessionStore>) {
    assert_multi_thread();
    let session = fresh_session();
    insert(store.as_ref(), &session).await;
    let start = Arc::new(Barrier::new(TASKS));
    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        let (store, start, id) = (store.clone(), start.clone(), session.id.clone());
        tasks.spawn(async move {
            start.wait().await;
            remove(store.as_ref(), &id).await
        });
    }

    let removed: Vec<Session> = join_all(tasks).await.into_iter().flatten().collect();

    assert_eq!(removed, vec![session.clone()], "racing removes of one id");
    assert_eq!(get(store.as_ref(), &session.id).await, None);
}
