//! Where log lines go: a buffer per thread, written to stderr in large chunks. Handing each line
//! to a writer thread (tracing-appender) cost about 2 µs of system time per request here, a sixth
//! of the token route's CPU. A buffer goes out in one `write` when it is full, when a WARN or ERROR
//! line arrives, when the flusher's tick finds it non-empty, and when the [`FlushGuard`] drops.
//! Lines of one thread keep their order; other threads' may come up to one tick apart.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

type Buffer = Arc<Mutex<Vec<u8>>>;

struct Shared {
    /// Tells the thread-local buffers of different writers apart.
    id: usize,
    /// A thread's buffer is written once it holds this many bytes.
    flush_bytes: usize,
    /// The longest a quiet line waits in a buffer.
    flush_every: Duration,
    sink: Mutex<Box<dyn Write + Send>>,
    /// Every thread's buffer, for the flusher.
    buffers: Mutex<Vec<Buffer>>,
}

/// A [`MakeWriter`] for tracing-subscriber that batches lines per thread (see the module docs).
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Flushes every buffer and stops the flusher thread when dropped. Keep it alive as long as
/// anything may log.
pub struct FlushGuard {
    shared: Arc<Shared>,
    stop: Option<mpsc::Sender<()>>,
    flusher: Option<JoinHandle<()>>,
}

impl BatchWriter {
    /// A writer to stderr: buffers of up to 64 KiB, quiet lines out within 100 ms.
    pub fn stderr() -> (Self, FlushGuard) {
        Self::new(io::stderr(), 64 * 1024, Duration::from_millis(100))
    }

    /// A writer to `sink`, which receives whole lines only, one chunk per `write_all`: a thread's
    /// buffer goes out once it holds `flush_bytes`, and quiet lines wait at most `flush_every`.
    pub fn new(
        sink: impl Write + Send + 'static,
        flush_bytes: usize,
        flush_every: Duration,
    ) -> (Self, FlushGuard) {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(0);
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            flush_bytes,
            flush_every,
            sink: Mutex::new(Box::new(sink)),
            buffers: Mutex::new(Vec::new()),
        });
        let (stop, stopped) = mpsc::channel::<()>();
        let flusher = std::thread::Builder::new()
            .name("log-flusher".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || loop {
                    match stopped.recv_timeout(shared.flush_every) {
                        Err(RecvTimeoutError::Timeout) => shared.flush_all(),
                        // Stopped (or the guard is gone): the guard flushes last.
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            // Without the thread, lines still go out at the size limit and when the guard drops.
            .ok();
        let guard = FlushGuard {
            shared: Arc::clone(&shared),
            stop: Some(stop),
            flusher,
        };
        (Self { shared }, guard)
    }
}

impl Shared {
    /// Appends to this thread's buffer for this writer (registered with the flusher on first
    /// use), writing the buffer out when it is full or the line is urgent.
    fn append(&self, line: &[u8], urgent: bool) {
        thread_local! {
            static BUFFERS: RefCell<Vec<(usize, Buffer)>> = const { RefCell::new(Vec::new()) };
        }
        let full = BUFFERS.with(|buffers| {
            let mut buffers = buffers.borrow_mut();
            let buffer = match buffers.iter().position(|(id, _)| *id == self.id) {
                Some(at) => &buffers[at].1,
                None => {
                    let buffer = Buffer::default();
                    lock(&self.buffers).push(Arc::clone(&buffer));
                    buffers.push((self.id, buffer));
                    &buffers[buffers.len() - 1].1
                }
            };
            let mut pending = lock(buffer);
            pending.extend_from_slice(line);
            (urgent || pending.len() >= self.flush_bytes).then(|| std::mem::take(&mut *pending))
        });
        if let Some(chunk) = full {
            self.write_out(&chunk);
        }
    }

    fn flush_all(&self) {
        let buffers: Vec<Buffer> = lock(&self.buffers).clone();
        for buffer in buffers {
            let chunk = std::mem::take(&mut *lock(&buffer));
            if !chunk.is_empty() {
                self.write_out(&chunk);
            }
        }
        // Buffers of threads that have ended are only held here; drop them once empty.
        lock(&self.buffers).retain(|b| Arc::strong_count(b) > 1 || !lock(b).is_empty());
    }

    fn write_out(&self, chunk: &[u8]) {
        // One lock for the whole chunk, so chunks from different threads never interleave. Logs
        // that cannot be written have nowhere to report it.
        let mut sink = lock(&self.sink);
        let _ = sink.write_all(chunk).and_then(|()| sink.flush());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these leaves at worst a partly written log chunk.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        self.shared.flush_all();
    }
}

/// What `tracing-subscriber` writes one formatted line through.
pub struct LineWriter<'a> {
    shared: &'a Shared,
    urgent: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.shared.append(line, self.urgent);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> LineWriter<'a> {
        LineWriter {
            shared: &self.shared,
            urgent: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> LineWriter<'a> {
        LineWriter {
            shared: &self.shared,
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[derive(Clone, Default)]
    struct Sink {
        chunks: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.chunks.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.chunks.lock().unwrap().concat()).unwrap()
        }
        fn chunk_count(&self) -> usize {
            self.chunks.lock().unwrap().len()
        }
    }

    /// 1 KiB buffers that the flusher leaves alone.
    fn slow(sink: &Sink) -> (BatchWriter, FlushGuard) {
        BatchWriter::new(sink.clone(), 1024, Duration::from_secs(3600))
    }

    fn info_line(writer: &BatchWriter, text: &str) {
        writer.make_writer().write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn lines_wait_for_the_size_limit_then_go_out_in_one_chunk() {
        let sink = Sink::default();
        let (writer, _guard) = slow(&sink);
        for i in 0..9 {
            info_line(&writer, &format!("{i:099}\n"));
        }
        assert_eq!(sink.chunk_count(), 0, "900 bytes stay buffered");
        info_line(&writer, &format!("{:0199}\n", 9));
        assert_eq!(sink.chunk_count(), 1);
        assert_eq!(sink.text().len(), 1100);
    }

    #[test]
    fn warnings_go_out_at_once_with_the_lines_before_them() {
        let sink = Sink::default();
        let (writer, _guard) = slow(&sink);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .without_time()
            .with_target(false)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("first");
            assert_eq!(sink.chunk_count(), 0);
            tracing::warn!("second");
        });
        assert_eq!(sink.text(), " INFO first\n WARN second\n");
    }

    #[test]
    fn the_flusher_writes_quiet_lines_within_a_tick() {
        let sink = Sink::default();
        let (writer, _guard) = BatchWriter::new(sink.clone(), 1 << 20, Duration::from_millis(20));
        info_line(&writer, "quiet\n");
        let start = Instant::now();
        while sink.text().is_empty() {
            assert!(start.elapsed() < Duration::from_secs(10), "never flushed");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.text(), "quiet\n");
    }

    #[test]
    fn every_line_of_every_thread_comes_out_once_and_whole_when_the_guard_drops() {
        let sink = Sink::default();
        let (writer, guard) = slow(&sink);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        info_line(&writer, &format!("thread {t} line {i:04}\n"));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let text = sink.text();
        let mut lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2000);
        for t in 0..4 {
            let prefix = format!("thread {t} ");
            let own: Vec<String> = lines
                .iter()
                .filter(|l| l.starts_with(&prefix))
                .map(|l| (*l).to_owned())
                .collect();
            let expected: Vec<String> = (0..500)
                .map(|i| format!("thread {t} line {i:04}"))
                .collect();
            assert_eq!(own, expected, "thread {t}'s lines in order");
        }
        lines.sort_unstable();
        lines.dedup();
        assert_eq!(lines.len(), 2000, "no line twice");
    }
}
