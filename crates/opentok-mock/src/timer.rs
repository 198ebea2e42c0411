//! Deadlines kept to within about a tenth of a millisecond, for the artificial latency and delays.
//!
//! tokio's timer counts whole milliseconds and rounds a deadline up to the next tick, and its
//! driver wakes on millisecond epoll timeouts: a 50 ms sleep took 51.8 ms on average here, so a
//! mock meant to answer in 50 ms served 64 connections at 1,226 instead of 1,280 requests per
//! second. One thread per process sleeps in the kernel (`park_timeout`, nanosecond resolution)
//! until the earliest deadline, then wakes every waiter whose deadline has passed.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, Thread};
use std::time::Instant;

use tokio::sync::oneshot;

struct Timer {
    queue: Arc<Mutex<Queue>>,
    thread: Thread,
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Waiter>,
    next_seq: u64,
}

struct Waiter {
    deadline: Instant,
    /// Keeps the order total among equal deadlines.
    seq: u64,
    wake: oneshot::Sender<()>,
}

// Reversed, so the max-heap pops the earliest deadline first.
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Waiter {}

/// Resolves at `deadline`, not before and rarely more than 0.1 ms after. Dropping the future
/// before then is fine: the waiter is discarded when its time comes.
pub(crate) async fn sleep_until(deadline: Instant) {
    if deadline <= Instant::now() {
        return;
    }
    let timer = timer();
    let (wake, woken) = oneshot::channel();
    let earliest = {
        let mut queue = timer.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = queue.next_seq;
        queue.next_seq += 1;
        queue.heap.push(Waiter {
            deadline,
            seq,
            wake,
        });
        queue.heap.peek().is_some_and(|w| w.seq == seq)
    };
    if earliest {
        // The timer thread may be sleeping towards a later deadline.
        timer.thread.unpark();
    }
    // The sender is only dropped after sending, so this resolves at the deadline either way.
    let _ = woken.await;
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let queue = Arc::new(Mutex::new(Queue::default()));
        let thread = thread::Builder::new()
            .name("opentok-mock-timer".to_owned())
            .spawn({
                let queue = Arc::clone(&queue);
                move || run(&queue)
            })
            .expect("the OS refused to start the mock's timer thread");
        Timer {
            queue,
            thread: thread.thread().clone(),
        }
    })
}

fn run(queue: &Mutex<Queue>) {
    loop {
        let next = {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            while queue.heap.peek().is_some_and(|w| w.deadline <= now) {
                if let Some(waiter) = queue.heap.pop() {
                    // The waiter may have gone (request cancelled): nothing to do then.
                    let _ = waiter.wake.send(());
                }
            }
            queue.heap.peek().map(|w| w.deadline)
        };
        // A wake-up that comes early (an unpark for a new earliest deadline, or spuriously) just
        // goes round the loop again.
        match next {
            Some(deadline) => {
                thread::park_timeout(deadline.saturating_duration_since(Instant::now()))
            }
            None => thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::time::Duration;

    use super::*;

    /// Far beyond any deadline below: reached only when the timer thread never wakes a sleeper.
    const LIMIT: Duration = Duration::from_secs(5);

    /// Fails the test with `what` instead of hanging when `future` does not finish within LIMIT.
    async fn within<F: Future>(what: &str, future: F) -> F::Output {
        tokio::time::timeout(LIMIT, future)
            .await
            .unwrap_or_else(|_| {
                panic!("{what}: not done within {LIMIT:?}; the timer never woke it")
            })
    }

    #[tokio::test]
    async fn wakes_at_the_deadline_not_before() {
        for ms in [1, 5, 20] {
            let start = Instant::now();
            within(
                "a short sleep",
                sleep_until(start + Duration::from_millis(ms)),
            )
            .await;
            assert!(start.elapsed() >= Duration::from_millis(ms), "{ms} ms");
        }
    }

    #[tokio::test]
    async fn waiters_wake_in_deadline_order_whatever_the_order_they_came_in() {
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = [30u64, 10, 20, 10]
            .into_iter()
            .enumerate()
            .map(|(i, ms)| {
                let order = Arc::clone(&order);
                tokio::spawn(async move {
                    let deadline = start + Duration::from_millis(ms);
                    sleep_until(deadline).await;
                    assert!(Instant::now() >= deadline);
                    order.lock().unwrap().push((ms, i));
                })
            })
            .collect();
        for task in tasks {
            within("a queued sleeper", task).await.unwrap();
        }
        let order = order
            .lock()
            .unwrap()
            .iter()
            .map(|(ms, _)| *ms)
            .collect::<Vec<_>>();
        assert_eq!(order, [10, 10, 20, 30]);
    }

    #[tokio::test]
    async fn a_dropped_sleep_does_not_stop_the_others() {
        let start = Instant::now();
        let dropped = tokio::time::timeout(
            Duration::from_millis(1),
            sleep_until(start + Duration::from_millis(50)),
        )
        .await;
        assert!(dropped.is_err(), "the 50 ms sleep was cut off after 1 ms");
        within(
            "the sleep after a dropped one",
            sleep_until(start + Duration::from_millis(60)),
        )
        .await;
        assert!(start.elapsed() >= Duration::from_millis(60));
    }

    #[tokio::test]
    async fn a_past_deadline_is_ready_at_once() {
        let past = Instant::now();
        let start = Instant::now();
        within("a sleep until a past instant", sleep_until(past)).await;
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }
}
