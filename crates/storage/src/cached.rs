//! What the persistent backends share: a bounded in-process cache in front of them, the call
//! timeout, idle-expiry refreshes that are thresholded rather than one write per read, and the
//! handling of records that cannot be read.
//!
//! Sessions never change once stored, so a cached copy stays right for as long as the backend
//! still holds the session. Without idle expiry that is until it is removed; with it, the backend
//! keeps a session for `idle_ttl` after the last refresh this cache (or another instance) sent.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::sync::Cache;
use tiny_opentok_domain::{Session, SessionId};

use crate::clock::{Clock, MonotonicClock};
use crate::record::{self, Corrupt};
use crate::{SessionStore, StoreError};

/// How long a corrupt id is remembered, so it is logged and counted once rather than per lookup.
const CORRUPT_MEMORY: Duration = Duration::from_secs(600);
const CORRUPT_IDS_KEPT: u64 = 4096;

/// One persistent backend's raw operations. Records are opaque bytes here; [`Cached`] encodes,
/// decodes and times every call out.
#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// Stores a record unless the id is present (and, with idle expiry, unexpired). `Ok(false)`
    /// for a duplicate. Returns only once the write is committed or acknowledged.
    async fn insert(&self, id: &SessionId, record: Vec<u8>) -> Result<bool, StoreError>;
    /// The record, restarting its idle expiry (if any) when that is due.
    async fn get(&self, id: &SessionId) -> Result<Option<Vec<u8>>, StoreError>;
    /// Refreshes the idle expiry; `Ok(false)` when the session is gone.
    async fn touch(&self, id: &SessionId) -> Result<bool, StoreError>;
    /// Removes and returns the record, unless it had expired.
    async fn remove(&self, id: &SessionId) -> Result<Option<Vec<u8>>, StoreError>;
    /// Live sessions.
    async fn count(&self) -> Result<usize, StoreError>;
    /// A round trip that proves the backend answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// For log lines: "sqlite" or "redis".
    fn name(&self) -> &'static str;
}

/// Limits [`Cached`] applies around a backend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheSettings {
    pub timeout: Duration,
    pub cache_capacity: u64,
    pub idle_ttl: Option<Duration>,
}

/// At most one backend refresh of a session's idle expiry per this interval, from each instance:
/// a quarter of the TTL, but no more than a second, so every instance sees the same expiry to
/// within a second.
pub(crate) fn refresh_interval(idle_ttl: Duration) -> Duration {
    (idle_ttl / 4).min(Duration::from_secs(1))
}

struct Entry {
    session: Session,
    /// Clock nanoseconds when the backend last confirmed it holds the session (and so restarted
    /// its idle expiry).
    confirmed: AtomicU64,
    /// A background refresh is on its way; others need not send one.
    refreshing: AtomicBool,
}

struct Shared<B> {
    backend: B,
    timeout: Duration,
    idle_ttl: Option<u64>,
    refresh_every: Option<u64>,
    clock: MonotonicClock,
    sessions: Option<Cache<SessionId, Arc<Entry>>>,
    corrupt_ids: Cache<SessionId, ()>,
    corrupt_count: AtomicU64,
}

/// A backend behind the cache; implements [`SessionStore`].
pub(crate) struct Cached<B> {
    shared: Arc<Shared<B>>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

enum Lookup {
    /// Confirmed recently enough: serve it, no round trip.
    Fresh(Session),
    /// Still within the TTL of the last confirmation, but due for a refresh.
    Due(Session, Arc<Entry>),
    Miss,
}

impl<B: Backend> Shared<B> {
    async fn bounded<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(elapsed) => Err(StoreError::Unavailable {
                message: format!(
                    "{} {what} took longer than {} ms",
                    self.backend.name(),
                    self.timeout.as_millis()
                ),
                source: Some(Box::new(elapsed)),
            }),
        }
    }

    fn now(&self) -> u64 {
        nanos(self.clock.now())
    }

    fn lookup(&self, id: &str) -> Lookup {
        let Some(sessions) = &self.sessions else {
            return Lookup::Miss;
        };
        let Some(entry) = sessions.get(id) else {
            return Lookup::Miss;
        };
        let (Some(ttl), Some(every)) = (self.idle_ttl, self.refresh_every) else {
            return Lookup::Fresh(entry.session.clone());
        };
        let age = self
            .now()
            .saturating_sub(entry.confirmed.load(Ordering::Acquire));
        if age < every {
            Lookup::Fresh(entry.session.clone())
        } else if age < ttl {
            Lookup::Due(entry.session.clone(), entry)
        } else {
            // The backend may have expired it: ask again.
            sessions.invalidate(id);
            Lookup::Miss
        }
    }

    fn remember(&self, session: &Session) {
        if let Some(sessions) = &self.sessions {
            let entry = Entry {
                session: session.clone(),
                confirmed: AtomicU64::new(self.now()),
                refreshing: AtomicBool::new(false),
            };
            sessions.insert(session.id.clone(), Arc::new(entry));
        }
    }

    /// A record that does not decode is absent; it is logged and counted once per id (within
    /// [`CORRUPT_MEMORY`]).
    fn decode(&self, id: &SessionId, bytes: &[u8]) -> Option<Session> {
        match record::decode(id.clone(), bytes) {
            Ok(session) => Some(session),
            Err(why) => {
                self.report_corrupt(id, why);
                None
            }
        }
    }

    fn report_corrupt(&self, id: &SessionId, why: Corrupt) {
        let mut first = false;
        self.corrupt_ids.entry(id.clone()).or_insert_with(|| {
            first = true;
        });
        if first {
            self.corrupt_count.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                backend = self.backend.name(),
                session_id = %id,
                reason = %why,
                "unreadable session record treated as not found"
            );
        }
    }

    async fn fetch(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        if self.corrupt_ids.contains_key(id) {
            return Ok(None);
        }
        let Some(bytes) = self.bounded("get", self.backend.get(id)).await? else {
            return Ok(None);
        };
        let session = self.decode(id, &bytes);
        if let Some(session) = &session {
            self.remember(session);
        }
        Ok(session)
    }

    async fn refresh(&self, id: &SessionId, entry: &Entry) {
        let started = self.now();
        match self.bounded("refresh", self.backend.touch(id)).await {
            Ok(true) => {
                entry.confirmed.fetch_max(started, Ordering::AcqRel);
            }
            Ok(false) => {
                // Removed or expired elsewhere: the next lookup asks the backend.
                if let Some(sessions) = &self.sessions {
                    sessions.invalidate(id);
                }
            }
            Err(e) => {
                // The entry is still served until a full TTL has passed since its confirmation.
                tracing::debug!(backend = self.backend.name(), error = %e, "idle refresh failed");
            }
        }
        entry.refreshing.store(false, Ordering::Release);
    }

    async fn find(self: &Arc<Self>, text: &str) -> Result<Option<Session>, StoreError> {
        match self.lookup(text) {
            Lookup::Fresh(session) => Ok(Some(session)),
            Lookup::Due(session, entry) => {
                if !entry.refreshing.swap(true, Ordering::AcqRel) {
                    let shared = Arc::clone(self);
                    let id = session.id.clone();
                    // Off the request path: the caller is served from the cache now.
                    tokio::spawn(async move { shared.refresh(&id, &entry).await });
                }
                Ok(Some(session))
            }
            Lookup::Miss => match SessionId::parse(text) {
                Ok(id) => self.fetch(&id).await,
                Err(_) => Ok(None),
            },
        }
    }
}

impl<B: Backend> Cached<B> {
    pub(crate) fn new(backend: B, settings: CacheSettings) -> Self {
        let sessions = (settings.cache_capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(settings.cache_capacity)
                .build()
        });
        let corrupt_ids = Cache::builder()
            .max_capacity(CORRUPT_IDS_KEPT)
            .time_to_live(CORRUPT_MEMORY)
            .build();
        Self {
            shared: Arc::new(Shared {
                backend,
                timeout: settings.timeout,
                idle_ttl: settings.idle_ttl.map(nanos),
                refresh_every: settings.idle_ttl.map(|ttl| nanos(refresh_interval(ttl))),
                clock: MonotonicClock::new(),
                sessions,
                corrupt_ids,
                corrupt_count: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn backend(&self) -> &B {
        &self.shared.backend
    }
}

#[async_trait]
impl<B: Backend> SessionStore for Cached<B> {
    async fn insert(&self, session: Session) -> Result<(), StoreError> {
        let shared = &self.shared;
        let bytes = record::encode(&session);
        if !shared
            .bounded("insert", shared.backend.insert(&session.id, bytes))
            .await?
        {
            return Err(StoreError::AlreadyExists { id: session.id });
        }
        shared.corrupt_ids.invalidate(&session.id);
        shared.remember(&session);
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.shared.find(id.as_str()).await
    }

    async fn find(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.shared.find(id).await
    }

    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let shared = &self.shared;
        if let Some(sessions) = &shared.sessions {
            sessions.invalidate(id);
        }
        let removed = shared.bounded("remove", shared.backend.remove(id)).await?;
        // Again, in case a concurrent read cached it while the remove was on its way.
        if let Some(sessions) = &shared.sessions {
            sessions.invalidate(id);
        }
        let removed = removed.and_then(|bytes| shared.decode(id, &bytes));
        // The record is gone, corrupt or not: a new session may take the id.
        shared.corrupt_ids.invalidate(id);
        Ok(removed)
    }

    async fn count(&self) -> Result<usize, StoreError> {
        let shared = &self.shared;
        shared.bounded("count", shared.backend.count()).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let shared = &self.shared;
        shared.bounded("ping", shared.backend.ping()).await
    }

    fn corrupt_records(&self) -> u64 {
        self.shared.corrupt_count.load(Ordering::Relaxed)
    }
}
