//! Insert and get on MemoryStore against a naive baseline measured in the same run, so results
//! can be quoted as ratios: a `Mutex<HashMap>` store, called the same way (through
//! `&dyn SessionStore`, polling each call's future once).
//!
//! `cargo bench -p tiny-opentok-storage --bench store -- --warm-up-time 1 --measurement-time 3`

// criterion_group! generates a pub fn that cannot carry a doc comment.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tiny_opentok_domain::{ApiKey, Session, SessionId, SessionOptions};
use tiny_opentok_storage::{
    MemoryStore, MemoryStoreConfig, MonotonicClock, SessionStore, StoreError,
};

/// Sessions per store: inserts run in rounds of this many on a fresh store.
const POOL: usize = 100_000;

/// The baseline: one global lock around a std HashMap (same SipHash hasher as MemoryStore).
#[derive(Default)]
struct MutexHashMapStore(Mutex<HashMap<SessionId, Session>>);

#[async_trait]
impl SessionStore for MutexHashMapStore {
    async fn insert(&self, session: Session) -> Result<(), StoreError> {
        let mut map = self.0.lock().expect("bench lock");
        if map.contains_key(&session.id) {
            return Err(StoreError::AlreadyExists { id: session.id });
        }
        map.insert(session.id.clone(), session);
        Ok(())
    }
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.0.lock().expect("bench lock").get(id).cloned())
    }
    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.0.lock().expect("bench lock").remove(id))
    }
    async fn count(&self) -> Result<usize, StoreError> {
        Ok(self.0.lock().expect("bench lock").len())
    }
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Runs a store call to completion. Neither store awaits anything, so one poll finishes it; an
/// executor would only add its own overhead to both sides of the ratio.
fn ready<F: Future>(future: F) -> F::Output {
    thread_local! {
        static WAKER: Waker = Waker::from(Arc::new(NoopWake));
    }
    WAKER.with(
        |waker| match pin!(future).poll(&mut Context::from_waker(waker)) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("an in-memory store call did not finish on its first poll"),
        },
    )
}

type Factory = fn() -> Box<dyn SessionStore>;

fn contenders() -> [(&'static str, Factory); 3] {
    [
        ("baseline_mutex_hashmap", || {
            Box::new(MutexHashMapStore::default())
        }),
        ("memory_store", || Box::new(MemoryStore::new())),
        ("memory_store_idle_ttl", || {
            let config = MemoryStoreConfig {
                capacity: None,
                idle_ttl: Some(Duration::from_secs(3600)),
            };
            Box::new(MemoryStore::with_clock(
                config,
                Arc::new(MonotonicClock::new()),
            ))
        }),
    ]
}

/// Realistic sessions: ~80-character ids as OpenTok issues them.
fn pool() -> Vec<Session> {
    let key = ApiKey::parse("47665971").expect("valid key");
    (0..POOL as u64)
        .map(|n| {
            let random = format!("{:030}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            Session {
                id: SessionId::encode(&key, None, 1_739_538_894_959 + n, &random)
                    .expect("valid id"),
                options: SessionOptions::default(),
                created_at: 1_739_538_894 + n,
            }
        })
        .collect()
}

fn bench_insert(c: &mut Criterion) {
    let sessions = pool();
    let mut group = c.benchmark_group("insert");
    for (name, make) in contenders() {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(POOL);
                    // Fresh store and cloned ids outside the timed part; map growth is inside.
                    let store = make();
                    let batch = sessions[..n].to_vec();
                    let start = Instant::now();
                    for session in batch {
                        ready(store.insert(black_box(session))).expect("insert");
                    }
                    elapsed += start.elapsed();
                    left -= n;
                }
                elapsed
            });
        });
    }
    group.finish();
}

fn bench_get(c: &mut Criterion) {
    let sessions = pool();
    let mut group = c.benchmark_group("get");
    for (name, make) in contenders() {
        let store = make();
        for session in &sessions {
            ready(store.insert(session.clone())).expect("insert");
        }
        let mut next = 0;
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let id = &sessions[next].id;
                next = (next + 1) % POOL;
                ready(store.get(black_box(id))).expect("get")
            });
        });
    }
    group.finish();
}

/// Threads that read at once in `get_parallel`: the machine's cores, at least two.
fn reader_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// Gets from several threads at once: the time reported is wall time per get, all threads
/// together, so lower means more throughput. This is where a global lock hurts.
fn bench_get_parallel(c: &mut Criterion) {
    let sessions = pool();
    let threads = reader_threads();
    let mut group = c.benchmark_group(format!("get_parallel_{threads}_threads"));
    for (name, make) in contenders() {
        let store: Arc<dyn SessionStore> = make().into();
        for session in &sessions {
            ready(store.insert(session.clone())).expect("insert");
        }
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let per_thread = (iters as usize).div_ceil(threads);
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for t in 0..threads {
                        let (store, sessions) = (&store, &sessions);
                        scope.spawn(move || {
                            for i in 0..per_thread {
                                let id = &sessions[(t * POOL / threads + i) % POOL].id;
                                black_box(ready(store.get(black_box(id))).expect("get"));
                            }
                        });
                    }
                });
                // Thread start-up is inside the timing; it is the same for every contender.
                start.elapsed()
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_insert, bench_get, bench_get_parallel
}
criterion_main!(benches);
