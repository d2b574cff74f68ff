//! Where guest output goes. The vCPU thread appends to a [`Sink`]'s buffer
//! and, once per VM exit, hands it to a writer thread; the vCPU never waits
//! for the host's stdout or disk. A stalled destination lets at most
//! [`QUEUE_LIMIT`] bytes queue (plus the chunk the writer is stuck on, itself
//! at most that size); beyond that output is dropped and counted, so the
//! VMM's memory stays flat whatever the guest writes.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cli::Output;

/// Most bytes waiting for a slow destination before output is dropped.
pub const QUEUE_LIMIT: usize = 1 << 20;

#[derive(Default)]
struct State {
    queue: Vec<u8>,
    /// The writer thread holds bytes it took from the queue.
    writing: bool,
    /// Of those, the bytes the destination has not taken yet.
    unwritten: u64,
    /// Bytes dropped: queue full or destination failed.
    dropped: u64,
    /// Bytes handed over in all, dropped ones included.
    total: u64,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// A buffered output destination with its own writer thread.
pub struct Sink {
    buf: Vec<u8>,
    /// `None`: output is discarded.
    shared: Option<Arc<Shared>>,
}

/// Waits for a [`Sink`]'s writer to catch up; held by the thread that ends
/// the VMM, so no output is lost at exit.
#[derive(Clone)]
pub struct Drain(Option<Arc<Shared>>);

impl Sink {
    /// Opens the destination an [`Output`] names.
    pub fn open(output: &Output) -> io::Result<Self> {
        let out: Option<Box<dyn Write + Send>> = match output {
            Output::None => None,
            // Straight to the descriptors: std's stdout keeps a partial
            // line in a buffer of its own, which a stalled pipe would keep
            // for ever and the count of lost bytes would miss.
            Output::Stdout => Some(Box::new(File::from(
                io::stdout().as_fd().try_clone_to_owned()?,
            ))),
            Output::Stderr => Some(Box::new(File::from(
                io::stderr().as_fd().try_clone_to_owned()?,
            ))),
            Output::File(path) => Some(Box::new(File::create(path)?)),
        };
        Ok(Self::new(out))
    }

    /// A sink over any writer (or none, to discard).
    pub fn new(out: Option<Box<dyn Write + Send>>) -> Self {
        let shared = out.map(|out| {
            let shared = Arc::new(Shared::default());
            let s = shared.clone();
            std::thread::Builder::new()
                .name("output".into())
                .spawn(move || write_loop(&s, out))
                .expect("spawn an output thread");
            shared
        });
        Sink {
            buf: Vec::new(),
            shared,
        }
    }

    /// Whether output goes anywhere (not discarded).
    pub fn is_attached(&self) -> bool {
        self.shared.is_some()
    }

    /// A handle to wait for this sink's output to be written.
    pub fn drain(&self) -> Drain {
        Drain(self.shared.clone())
    }

    /// Hands what is buffered to the writer thread, without waiting.
    pub fn flush_out(&mut self) {
        let Some(shared) = &self.shared else {
            return;
        };
        if self.buf.is_empty() {
            return;
        }
        let mut state = shared.state.lock().unwrap();
        state.total += self.buf.len() as u64;
        if state.queue.len() + self.buf.len() > QUEUE_LIMIT {
            state.dropped += self.buf.len() as u64;
        } else {
            state.queue.extend_from_slice(&self.buf);
            shared.changed.notify_all();
        }
        self.buf.clear();
    }
}

fn write_loop(shared: &Shared, mut out: Box<dyn Write + Send>) {
    let mut broken = false;
    loop {
        let chunk = {
            let mut state = shared.state.lock().unwrap();
            while state.queue.is_empty() {
                state = shared.changed.wait(state).unwrap();
            }
            state.writing = true;
            state.unwritten = state.queue.len() as u64;
            std::mem::take(&mut state.queue)
        };
        // Written piece by piece, so that a destination stalled for good
        // leaves an exact count of what it did not take. One that failed
        // once (closed pipe, full disk) is not retried; its bytes are
        // counted as dropped.
        let mut done = 0;
        while !broken && done < chunk.len() {
            match out.write(&chunk[done..]) {
                Ok(0) => broken = true,
                Ok(n) => {
                    done += n;
                    shared.state.lock().unwrap().unwritten = (chunk.len() - done) as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => broken = true,
            }
        }
        broken = broken || out.flush().is_err();
        let mut state = shared.state.lock().unwrap();
        state.dropped += (chunk.len() - done) as u64;
        state.writing = false;
        state.unwritten = 0;
        shared.changed.notify_all();
    }
}

/// What became of a sink's output, as far as the VMM can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Bytes the guest wrote.
    pub total: u64,
    /// Bytes dropped or still not taken by the destination.
    pub lost: u64,
}

impl Drain {
    /// Waits up to `limit` for everything handed over to be written;
    /// returns the bytes handed over and those dropped or still unwritten.
    pub fn wait(&self, limit: Duration) -> Delivery {
        let Some(shared) = &self.0 else {
            return Delivery::default();
        };
        let deadline = Instant::now() + limit;
        let mut state = shared.state.lock().unwrap();
        while !state.queue.is_empty() || state.writing {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = shared.changed.wait_timeout(state, left).unwrap().0;
        }
        Delivery {
            total: state.total,
            lost: state.dropped + state.queue.len() as u64 + state.unwritten,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.shared.is_some() {
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    /// A no-op: vm-superio flushes after every byte, and a hand-over per
    /// byte is what this sink exists to avoid. [`Sink::flush_out`] hands
    /// over.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A destination that blocks until released, like a stalled terminal.
    struct Stalled {
        release: Arc<AtomicBool>,
        got: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Stalled {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            while !self.release.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.got.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_destination_never_blocks_and_memory_stays_bounded() {
        let release = Arc::new(AtomicBool::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let mut sink = Sink::new(Some(Box::new(Stalled {
            release: release.clone(),
            got: got.clone(),
        })));
        let drain = sink.drain();
        let start = Instant::now();
        // Four times the limit, in 4 KiB hand-overs.
        for _ in 0..(4 * QUEUE_LIMIT / 4096) {
            sink.write_all(&[b'x'; 4096]).unwrap();
            sink.flush_out();
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the writer side blocked"
        );
        let stalled = drain.wait(Duration::from_millis(10));
        assert_eq!(stalled.total, 4 * QUEUE_LIMIT as u64);
        assert_eq!(
            stalled.lost, stalled.total,
            "nothing was written, and all of it is counted: dropped, queued or held"
        );
        release.store(true, Ordering::SeqCst);
        let lost = drain.wait(Duration::from_secs(5)).lost;
        let written = got.lock().unwrap().len() as u64;
        assert_eq!(
            written + lost,
            4 * QUEUE_LIMIT as u64,
            "every byte is written or counted"
        );
        assert!(
            written <= 2 * QUEUE_LIMIT as u64,
            "queue plus the stuck chunk"
        );
    }

    #[test]
    fn everything_is_written_in_order() {
        let release = Arc::new(AtomicBool::new(true));
        let got = Arc::new(Mutex::new(Vec::new()));
        let mut sink = Sink::new(Some(Box::new(Stalled {
            release,
            got: got.clone(),
        })));
        let mut want = Vec::new();
        for i in 0..1000u32 {
            let line = format!("line {i}\n");
            want.extend_from_slice(line.as_bytes());
            sink.write_all(line.as_bytes()).unwrap();
            sink.flush_out();
        }
        assert_eq!(sink.drain().wait(Duration::from_secs(5)).lost, 0);
        assert_eq!(*got.lock().unwrap(), want);
    }

    /// Takes `room` bytes, then blocks for ever: a pipe nobody reads.
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                loop {
                    std::thread::park();
                }
            }
            let n = b.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_destination_stalled_mid_chunk_leaves_an_exact_count() {
        let mut sink = Sink::new(Some(Box::new(Full { room: 1000 })));
        sink.write_all(&[b'x'; 3000]).unwrap();
        sink.flush_out();
        sink.write_all(&[b'y'; 500]).unwrap();
        sink.flush_out();
        let d = sink.drain().wait(Duration::from_millis(200));
        assert_eq!(
            d,
            Delivery {
                total: 3500,
                lost: 2500
            }
        );
    }
}
