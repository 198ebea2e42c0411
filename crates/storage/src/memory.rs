use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::time::Duration;

use async_trait::async_trait;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use tiny_opentok_domain::{Session, SessionId, SessionOptions};

use crate::clock::{Clock, MonotonicClock};
use crate::{SessionStore, StoreError};

/// Limits for a [`MemoryStore`].
#[derive(Debug, Clone, Default)]
pub struct MemoryStoreConfig {
    /// Most sessions held at once; `None` is unbounded.
    pub capacity: Option<usize>,
    /// Sessions not read or written for this long are dropped; `None` keeps them forever.
    /// `Some(Duration::ZERO)` makes every session expire as soon as it is stored.
    pub idle_ttl: Option<Duration>,
}

/// A concurrent in-memory store: a sharded hash map ([`DashMap`]) keyed by the session id.
///
/// - **Reads** take one shard's read lock and nothing global; no lock is held across an await
///   (no call awaits at all). Only sweeps, below, take a store-wide mutex, among themselves.
/// - **Capacity** is exact: a counter is bumped with a compare-and-swap under the shard lock, so
///   concurrent inserts never take the store past it. A full store refuses with
///   [`StoreError::Full`] and never evicts.
/// - **Idle expiry** (off by default): a session neither inserted nor read for `idle_ttl` is
///   treated as absent. It is removed when it is next looked up, by a sweep of the whole map that
///   an insert runs at most once per `idle_ttl`, by a sweep when the store is full or counted and
///   something may have expired, or by [`MemoryStore::purge_expired`], which
///   [`MemoryStore::sweep_every`] runs from a thread (the server starts one) to keep those sweeps
///   off the request path.
/// - **Memory**: each session costs its id once (the map key) plus a 24-byte slot; the id is not
///   stored a second time inside the value.
pub struct MemoryStore {
    map: DashMap<SessionId, Slot>,
    /// Entries in `map`, expired or not. Raised before an entry goes in and lowered after it comes
    /// out, so it never reads below the true number and the capacity check cannot overshoot.
    len: AtomicUsize,
    capacity: Option<usize>,
    expiry: Option<Expiry>,
}

/// What is kept per session besides its id (the map key).
struct Slot {
    options: SessionOptions,
    created_at: u64,
    /// Clock nanoseconds at the last insert or read; stays 0 when expiry is off. Atomic so a read
    /// can refresh it under the shard's read lock.
    last_access: AtomicU64,
}

struct Expiry {
    ttl: u64,
    clock: Arc<dyn Clock>,
    /// No entry can expire before this instant: the earlier of the latest sweep's time and the
    /// oldest last access it kept, plus the TTL. Later inserts read the clock under their
    /// shard lock and reads only move last accesses forward, so it stays a lower bound.
    horizon: AtomicU64,
    /// When the insert path sweeps next: at most one amortised sweep per TTL.
    next_sweep: AtomicU64,
    /// Serialises sweeps so their `horizon` updates do not interleave.
    sweeping: Mutex<()>,
}

enum Rejected {
    Duplicate(SessionId),
    Full { id: SessionId, capacity: usize },
}

impl Slot {
    fn new(options: SessionOptions, created_at: u64, now: u64) -> Self {
        Self {
            options,
            created_at,
            last_access: AtomicU64::new(now),
        }
    }

    fn last_access(&self) -> u64 {
        self.last_access.load(Ordering::Relaxed)
    }

    fn to_session(&self, id: &SessionId) -> Session {
        Session {
            id: id.clone(),
            options: self.options,
            created_at: self.created_at,
        }
    }

    fn into_session(self, id: SessionId) -> Session {
        Session {
            id,
            options: self.options,
            created_at: self.created_at,
        }
    }
}

impl Expiry {
    fn now(&self) -> u64 {
        nanos(self.clock.now())
    }

    fn is_expired(&self, slot: &Slot, now: u64) -> bool {
        now.saturating_sub(slot.last_access()) >= self.ttl
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl MemoryStore {
    /// An unbounded store that keeps sessions until they are removed.
    pub fn new() -> Self {
        Self::with_config(MemoryStoreConfig::default())
    }

    /// A store with the given limits, timing idle expiry on the real monotonic clock.
    pub fn with_config(config: MemoryStoreConfig) -> Self {
        Self::with_clock(config, Arc::new(MonotonicClock::new()))
    }

    /// A store with the given limits that reads time from `clock`, so tests can move it by hand.
    /// The clock is only read when `idle_ttl` is set.
    pub fn with_clock(config: MemoryStoreConfig, clock: Arc<dyn Clock>) -> Self {
        let expiry = config.idle_ttl.map(|ttl| {
            let ttl = nanos(ttl);
            let start = nanos(clock.now());
            Expiry {
                ttl,
                horizon: AtomicU64::new(start.saturating_add(ttl)),
                next_sweep: AtomicU64::new(start.saturating_add(ttl)),
                clock,
                sweeping: Mutex::new(()),
            }
        });
        Self {
            map: DashMap::new(),
            len: AtomicUsize::new(0),
            capacity: config.capacity,
            expiry,
        }
    }

    /// Sessions held right now, expired ones included until a sweep removes them: what the store's
    /// memory holds, where [`SessionStore::count`] counts live sessions only.
    pub fn held(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Runs [`MemoryStore::purge_expired`] every `every` on a background thread, so that expired
    /// sessions leave memory even when no request comes to sweep them. The thread holds the store
    /// only weakly and ends within one interval of the store being dropped. Without `idle_ttl`
    /// there is nothing to sweep and no thread is started.
    ///
    /// # Errors
    /// The OS refused to start the thread; sweeps then still happen on the request path.
    pub fn sweep_every(self: &Arc<Self>, every: Duration) -> std::io::Result<()> {
        if self.expiry.is_none() {
            return Ok(());
        }
        let store = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("session-sweeper".to_owned())
            .spawn(move || loop {
                std::thread::sleep(every);
                match store.upgrade() {
                    Some(store) => {
                        store.purge_expired();
                    }
                    None => return,
                }
            })
            .map(drop)
    }

    /// Removes every expired session now and returns how many went. Always 0 without `idle_ttl`.
    ///
    /// Walks the whole map, one shard lock at a time. Calling it from a timer (say once per TTL)
    /// keeps the store's own amortised sweeps off the request path.
    pub fn purge_expired(&self) -> usize {
        let Some(expiry) = &self.expiry else {
            return 0;
        };
        let _sweeping = expiry
            .sweeping
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.sweep(expiry, expiry.now())
    }

    /// Removes expired entries and moves the horizon; the caller holds `expiry.sweeping`.
    fn sweep(&self, expiry: &Expiry, now: u64) -> usize {
        let mut removed = 0;
        let mut oldest_kept = now;
        self.map.retain(|_, slot| {
            if expiry.is_expired(slot, now) {
                removed += 1;
                false
            } else {
                oldest_kept = oldest_kept.min(slot.last_access());
                true
            }
        });
        // Lowered only once every removal is done, so `len` never reads below the true number.
        self.len.fetch_sub(removed, Ordering::AcqRel);
        expiry
            .horizon
            .store(oldest_kept.saturating_add(expiry.ttl), Ordering::Release);
        expiry
            .next_sweep
            .store(now.saturating_add(expiry.ttl), Ordering::Release);
        removed
    }

    /// Sweeps if something may have expired by `now`, waiting for a sweep already running.
    fn sweep_if_due(&self, expiry: &Expiry, now: u64) {
        if now < expiry.horizon.load(Ordering::Acquire) {
            return;
        }
        let _sweeping = expiry
            .sweeping
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Another caller may have swept while this one waited.
        if now >= expiry.horizon.load(Ordering::Acquire) {
            self.sweep(expiry, now);
        }
    }

    /// The insert path's amortised sweep: at most once per TTL, skipped if one is running.
    fn sweep_if_scheduled(&self, now: u64) {
        let Some(expiry) = &self.expiry else {
            return;
        };
        if now < expiry.next_sweep.load(Ordering::Acquire) {
            return;
        }
        let _sweeping = match expiry.sweeping.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if now >= expiry.next_sweep.load(Ordering::Acquire) {
            self.sweep(expiry, now);
        }
    }

    fn now(&self) -> u64 {
        self.expiry.as_ref().map_or(0, Expiry::now)
    }

    /// Takes a place under the capacity, or returns the capacity that is used up.
    fn reserve(&self) -> Result<(), usize> {
        match self.capacity {
            None => {
                self.len.fetch_add(1, Ordering::AcqRel);
                Ok(())
            }
            Some(capacity) => self
                .len
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < capacity).then_some(n + 1)
                })
                .map(drop)
                .map_err(|_| capacity),
        }
    }

    /// One insert attempt; returns the clock reading it stored the session with.
    fn try_insert(
        &self,
        id: SessionId,
        options: SessionOptions,
        created_at: u64,
    ) -> Result<u64, Rejected> {
        match self.map.entry(id) {
            Entry::Occupied(mut occupied) => {
                // Read under the shard lock, so a sweep that has passed this shard already
                // counted a time no later than this one in its horizon.
                let now = self.now();
                match &self.expiry {
                    Some(expiry) if expiry.is_expired(occupied.get(), now) => {
                        // The old session is gone as far as callers can tell: reuse its place.
                        occupied.insert(Slot::new(options, created_at, now));
                        Ok(now)
                    }
                    _ => Err(Rejected::Duplicate(occupied.into_key())),
                }
            }
            Entry::Vacant(vacant) => {
                if let Err(capacity) = self.reserve() {
                    let id = vacant.into_key();
                    return Err(Rejected::Full { id, capacity });
                }
                let now = self.now();
                vacant.insert(Slot::new(options, created_at, now));
                Ok(now)
            }
        }
    }

    fn insert_session(&self, session: Session) -> Result<(), StoreError> {
        let Session {
            id,
            options,
            created_at,
        } = session;
        let id = match self.try_insert(id, options, created_at) {
            Ok(now) => {
                self.sweep_if_scheduled(now);
                return Ok(());
            }
            Err(Rejected::Duplicate(id)) => return Err(StoreError::AlreadyExists { id }),
            Err(Rejected::Full { id, capacity }) => match &self.expiry {
                Some(expiry) => {
                    // Expired sessions may be holding the room: free it and try once more.
                    self.sweep_if_due(expiry, expiry.now());
                    id
                }
                None => return Err(StoreError::Full { capacity }),
            },
        };
        match self.try_insert(id, options, created_at) {
            Ok(_) => Ok(()),
            Err(Rejected::Duplicate(id)) => Err(StoreError::AlreadyExists { id }),
            Err(Rejected::Full { capacity, .. }) => Err(StoreError::Full { capacity }),
        }
    }

    fn get_session(&self, id: &str) -> Option<Session> {
        let Some(expiry) = &self.expiry else {
            return self
                .map
                .get(id)
                .map(|entry| entry.value().to_session(entry.key()));
        };
        let now = expiry.now();
        let entry = self.map.get(id)?;
        if !expiry.is_expired(entry.value(), now) {
            entry.value().last_access.fetch_max(now, Ordering::Relaxed);
            return Some(entry.value().to_session(entry.key()));
        }
        // The read guard must go before remove_if takes the same shard's write lock.
        drop(entry);
        // Checked again under the write lock: another task may have refreshed or replaced it.
        if self
            .map
            .remove_if(id, |_, slot| expiry.is_expired(slot, now))
            .is_some()
        {
            self.len.fetch_sub(1, Ordering::AcqRel);
        }
        None
    }

    fn remove_session(&self, id: &SessionId) -> Option<Session> {
        let (id, slot) = self.map.remove(id)?;
        self.len.fetch_sub(1, Ordering::AcqRel);
        match &self.expiry {
            Some(expiry) if expiry.is_expired(&slot, expiry.now()) => None,
            _ => Some(slot.into_session(id)),
        }
    }

    fn count_sessions(&self) -> usize {
        if let Some(expiry) = &self.expiry {
            self.sweep_if_due(expiry, expiry.now());
        }
        self.len.load(Ordering::Acquire)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    // The map itself is left out: it may hold a million entries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len_with_expired", &self.len.load(Ordering::Relaxed))
            .field("capacity", &self.capacity)
            .field(
                "idle_ttl",
                &self.expiry.as_ref().map(|e| Duration::from_nanos(e.ttl)),
            )
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert(&self, session: Session) -> Result<(), StoreError> {
        self.insert_session(session)
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.get_session(id.as_str()))
    }

    /// Searches by the text directly: no validation, no copy of the id unless it is found.
    async fn find(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.get_session(id))
    }

    async fn remove(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.remove_session(id))
    }

    /// Exact and O(1), except when idle expiry is on and a session may have expired since the
    /// last sweep: then it sweeps first (O(n)).
    async fn count(&self) -> Result<usize, StoreError> {
        Ok(self.count_sessions())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const TTL: Duration = Duration::from_secs(60);

    fn session(n: u64) -> Session {
        let key = tiny_opentok_domain::ApiKey::parse("123456").unwrap();
        Session {
            id: SessionId::encode(&key, None, 1_700_000_000_000 + n, &format!("r{n}")).unwrap(),
            options: SessionOptions::default(),
            created_at: n,
        }
    }

    fn expiring_store() -> (MemoryStore, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let config = MemoryStoreConfig {
            capacity: None,
            idle_ttl: Some(TTL),
        };
        (MemoryStore::with_clock(config, clock.clone()), clock)
    }

    fn horizon(store: &MemoryStore) -> u64 {
        store
            .expiry
            .as_ref()
            .unwrap()
            .horizon
            .load(Ordering::Relaxed)
    }

    #[test]
    fn a_slot_costs_no_more_than_24_bytes_besides_the_id() {
        assert!(
            std::mem::size_of::<Slot>() <= 24,
            "{}",
            std::mem::size_of::<Slot>()
        );
        assert_eq!(std::mem::size_of::<SessionId>(), 16);
    }

    #[test]
    fn an_insert_after_one_ttl_sweeps_expired_sessions_it_never_looked_up() {
        let (store, clock) = expiring_store();
        for n in 0..3 {
            store.insert_session(session(n)).unwrap();
        }
        clock.advance(TTL);

        store.insert_session(session(3)).unwrap();

        assert_eq!(store.map.len(), 1);
        assert_eq!(store.len.load(Ordering::Relaxed), 1);
        assert_eq!(store.purge_expired(), 0);
    }

    #[test]
    fn inserts_within_one_ttl_of_the_last_sweep_do_not_sweep() {
        let (store, clock) = expiring_store();
        store.insert_session(session(0)).unwrap();
        clock.advance(TTL / 2);
        store.insert_session(session(1)).unwrap();
        clock.advance(TTL / 2);
        // Session 0 has now expired, but the next scheduled sweep is exactly here: it runs.
        store.insert_session(session(2)).unwrap();
        assert_eq!(store.map.len(), 2);
        clock.advance(TTL / 2);
        // Session 1 has expired too, but the last sweep was only half a TTL ago.
        store.insert_session(session(3)).unwrap();
        assert_eq!(store.map.len(), 3);
        assert_eq!(store.purge_expired(), 1);
    }

    #[test]
    fn a_lookup_removes_the_expired_session_it_finds() {
        let (store, clock) = expiring_store();
        store.insert_session(session(0)).unwrap();
        clock.advance(TTL);

        assert_eq!(store.get_session(session(0).id.as_str()), None);

        assert_eq!(store.map.len(), 0);
        assert_eq!(store.len.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn counting_skips_the_sweep_while_nothing_can_have_expired() {
        let (store, clock) = expiring_store();
        store.insert_session(session(0)).unwrap();
        clock.advance(TTL / 2);
        store.insert_session(session(1)).unwrap();
        assert_eq!(store.count_sessions(), 2);
        assert_eq!(
            horizon(&store),
            nanos(TTL),
            "no sweep yet, so the horizon is still the initial one"
        );
        clock.advance(TTL / 2);
        assert_eq!(store.count_sessions(), 1);
        assert_eq!(
            horizon(&store),
            nanos(TTL / 2 + TTL),
            "the sweep kept session 1, last seen at TTL/2"
        );
    }
}
