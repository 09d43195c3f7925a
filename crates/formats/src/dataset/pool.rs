//! Native image decoding on a pool of worker threads.
//!
//! A [`DecodePool`] owns N threads that take jobs from one shared queue. A [`DecodeStream`]
//! feeds it frames from an iterator (which may be endless: epoch after epoch), keeping at most
//! `prefetch` of its frames queued or decoded but not yet received, and hands the results back
//! in the order they finish, each with its index. Workers never block on a slow consumer, so
//! several streams (training and evaluation) can share one pool without deadlock. A broken image
//! is an `Err` for that frame only; a panic while decoding becomes an error too.
//!
//! Memory: each worker reads and decodes one file at a time, and all of them together hold at
//! most a budget of bytes (file plus decoded pixels, [`DECODE_MEMORY_BUDGET`]); a worker whose
//! next image does not fit waits for the others, and an image larger than the whole budget is
//! decoded alone. A file larger than any image of its camera's size is refused unread, before
//! it waits for memory ([`super::decode::check_frame_file`]).

use super::{DatasetError, DecodedImage, FileSource, FrameInfo, decode::check_frame_file, decode::decode_frame};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Worker threads a pool starts at most (decoding here, encoding in `rvs`): more only cost
/// memory, and a count from a command line must not exhaust the system's threads.
pub const MAX_WORKER_THREADS: usize = 256;

/// Bytes a pool's workers may hold at once while reading and decoding.
pub const DECODE_MEMORY_BUDGET: u64 = 1 << 30;

/// A count of bytes shared by the workers; `acquire` waits until the bytes fit.
struct MemoryBudget {
    limit: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Bytes taken from a budget, given back on drop.
struct Grant<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl MemoryBudget {
    fn new(limit: u64) -> Self {
        Self { limit, used: Mutex::new(0), freed: Condvar::new() }
    }

    /// Waits until `bytes` fit beside what is in use; more than the whole budget fits once
    /// nothing else is in use (so that one large image is decoded alone rather than never).
    fn acquire(&self, bytes: u64) -> Grant<'_> {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used > 0 && used.saturating_add(bytes) > self.limit {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += bytes;
        Grant { budget: self, bytes }
    }
}

impl Drop for Grant<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

/// What reading and decoding `frame` holds at most: its file (`file_bytes`, when known), the
/// decoded image and its resized copy.
fn decode_cost(file_bytes: Option<u64>, frame: &FrameInfo) -> u64 {
    let pixels = |(w, h): (u32, u32)| w as u64 * h as u64 * 4;
    file_bytes.unwrap_or(0) + pixels(frame.image_size) + pixels((frame.camera.width, frame.camera.height))
}

/// One decoded frame (or why it failed), with the index it was submitted under.
#[derive(Debug)]
pub struct DecodedFrame {
    pub index: usize,
    pub name: String,
    pub result: Result<DecodedImage, DatasetError>,
}

struct Job {
    index: usize,
    frame: FrameInfo,
    source: Arc<dyn FileSource>,
    cancelled: Arc<AtomicBool>,
    reply: Sender<DecodedFrame>,
}

/// Worker threads that read and decode frames. Streams keep the threads alive: they end when
/// the pool and all its streams are dropped.
pub struct DecodePool {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue ends the workers once it is empty (cancelled jobs are skipped).
        self.jobs.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl DecodePool {
    /// Starts `workers` threads (1 to MAX_WORKER_THREADS) sharing [`DECODE_MEMORY_BUDGET`].
    pub fn new(workers: usize) -> Self {
        Self::with_memory_budget(workers, DECODE_MEMORY_BUDGET)
    }

    /// Starts `workers` threads that hold at most `budget` bytes at once while decoding.
    pub fn with_memory_budget(workers: usize, budget: u64) -> Self {
        let workers = workers.clamp(1, MAX_WORKER_THREADS);
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let budget = Arc::new(MemoryBudget::new(budget));
        let workers = (0..workers)
            .map(|i| {
                let rx = Arc::clone(&rx);
                let budget = Arc::clone(&budget);
                std::thread::Builder::new()
                    .name(format!("wgsplat-decode-{i}"))
                    .spawn(move || worker(&rx, &budget))
                    .expect("cannot start a decode thread")
            })
            .collect();
        Self { inner: Arc::new(Inner { jobs: Some(tx), workers }) }
    }

    /// A pool with one worker per available core, less one for the caller (at least 1).
    pub fn with_available_parallelism() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.saturating_sub(1).max(1))
    }

    pub fn workers(&self) -> usize {
        self.inner.workers.len()
    }

    /// Streams the frames of `frames` (index, frame), decoding up to `prefetch` (at least 1)
    /// ahead of the consumer. Images come out at their camera's size (see [`decode_frame`]).
    pub fn stream<I>(&self, source: Arc<dyn FileSource>, frames: I, prefetch: usize) -> DecodeStream
    where
        I: IntoIterator<Item = (usize, FrameInfo)>,
        I::IntoIter: Send + 'static,
    {
        let (reply, results) = channel();
        let mut stream = DecodeStream {
            pool: Arc::clone(&self.inner),
            pending: Box::new(frames.into_iter()),
            source,
            cancelled: Arc::new(AtomicBool::new(false)),
            reply,
            results,
            in_flight: 0,
            prefetch: prefetch.max(1),
            buffered: VecDeque::new(),
        };
        stream.refill();
        stream
    }

    /// Decodes a list of frames, returning (index in `frames`, result) in any order.
    pub fn decode_all(&self, source: Arc<dyn FileSource>, frames: &[FrameInfo]) -> Vec<DecodedFrame> {
        let jobs: Vec<(usize, FrameInfo)> = frames.iter().cloned().enumerate().collect();
        self.stream(source, jobs, self.workers() * 2).collect()
    }
}

fn worker(rx: &Mutex<Receiver<Job>>, budget: &MemoryBudget) {
    loop {
        let job = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        if job.cancelled.load(Ordering::Relaxed) {
            continue;
        }
        let shown = job.source.describe(&job.frame.image_path);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let file_bytes = check_frame_file(&*job.source, &job.frame)?;
            let _grant = budget.acquire(decode_cost(file_bytes, &job.frame));
            let bytes = job.source.read(&job.frame.image_path)?;
            decode_frame(&bytes, &shown, &job.frame)
        }))
        .unwrap_or_else(|panic| {
            let message =
                panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(DatasetError::Image { file: shown.clone(), message: format!("the decoder panicked: {message}") })
        });
        // The stream may be gone; that's fine.
        let _ = job.reply.send(DecodedFrame { index: job.index, name: job.frame.name, result });
    }
}

/// Results of [`DecodePool::stream`], as an iterator that ends when every frame is delivered.
/// Dropping it cancels the frames not yet started.
pub struct DecodeStream {
    pool: Arc<Inner>,
    pending: Box<dyn Iterator<Item = (usize, FrameInfo)> + Send>,
    source: Arc<dyn FileSource>,
    cancelled: Arc<AtomicBool>,
    reply: Sender<DecodedFrame>,
    results: Receiver<DecodedFrame>,
    in_flight: usize,
    prefetch: usize,
    buffered: VecDeque<DecodedFrame>,
}

impl DecodeStream {
    fn refill(&mut self) {
        while self.in_flight < self.prefetch {
            let Some((index, frame)) = self.pending.next() else { return };
            let job =
                Job { index, frame, source: Arc::clone(&self.source), cancelled: Arc::clone(&self.cancelled), reply: self.reply.clone() };
            let Some(jobs) = self.pool.jobs.as_ref() else { return };
            if jobs.send(job).is_err() {
                return;
            }
            self.in_flight += 1;
        }
    }

    fn delivered(&mut self, frame: DecodedFrame) -> DecodedFrame {
        self.in_flight -= 1;
        self.refill();
        frame
    }

    /// The next result, waiting for it; None when every frame has been delivered.
    pub fn recv(&mut self) -> Option<DecodedFrame> {
        if let Some(f) = self.buffered.pop_front() {
            return Some(self.delivered(f));
        }
        if self.in_flight == 0 {
            return None;
        }
        let frame = self.results.recv().ok()?;
        Some(self.delivered(frame))
    }

    /// The next result if one is ready.
    pub fn try_recv(&mut self) -> Option<DecodedFrame> {
        if let Some(f) = self.buffered.pop_front() {
            return Some(self.delivered(f));
        }
        match self.results.try_recv() {
            Ok(frame) => Some(self.delivered(frame)),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }

    /// The next result, waiting at most `timeout`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<DecodedFrame> {
        if let Some(f) = self.buffered.pop_front() {
            return Some(self.delivered(f));
        }
        if self.in_flight == 0 {
            return None;
        }
        match self.results.recv_timeout(timeout) {
            Ok(frame) => Some(self.delivered(frame)),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Frames submitted and not yet received.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Waits until every frame submitted so far is decoded (without taking them).
    pub fn wait_ready(&mut self) {
        while self.buffered.len() < self.in_flight {
            match self.results.recv() {
                Ok(frame) => self.buffered.push_back(frame),
                Err(_) => return,
            }
        }
    }
}

impl Iterator for DecodeStream {
    type Item = DecodedFrame;
    fn next(&mut self) -> Option<DecodedFrame> {
        self.recv()
    }
}

impl Drop for DecodeStream {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryBudget;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[test]
    fn a_grant_that_does_not_fit_waits_and_one_larger_than_the_budget_runs_alone() {
        let budget = Arc::new(MemoryBudget::new(1000));
        let first = budget.acquire(600);
        let got = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (budget, got) = (Arc::clone(&budget), Arc::clone(&got));
            std::thread::spawn(move || {
                let _second = budget.acquire(600);
                got.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(!got.load(Ordering::SeqCst), "600 + 600 bytes fit a budget of 1000");
        drop(first);
        waiter.join().unwrap();
        assert!(got.load(Ordering::SeqCst));
        // Nothing in use: more than the whole budget is granted (alone).
        let huge = budget.acquire(5000);
        assert_eq!(*budget.used.lock().unwrap(), 5000);
        drop(huge);
        assert_eq!(*budget.used.lock().unwrap(), 0);
    }
}
