//! Encoding (and writing) rendered views on worker threads while the GPU renders the next batch.
//! Native only. The job queue is bounded, so a slow disk or encoder holds the renderer back
//! instead of piling rendered images up in memory.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::RvsError;
use super::encode::{ImageFormat, encode_image};
use crate::render::Rgba8Image;

/// One view to encode: where to write it (None: keep the bytes only) and whether the caller
/// wants the bytes back (e.g. to put them in the cache).
pub struct EncodeJob {
    pub index: usize,
    pub image: Rgba8Image,
    pub path: Option<PathBuf>,
    pub return_bytes: bool,
}

/// A finished job: the encoded size, and the bytes when they were asked for.
#[derive(Debug)]
pub struct Encoded {
    pub index: usize,
    pub len: usize,
    pub bytes: Option<Vec<u8>>,
}

pub struct EncodePool {
    jobs: Option<SyncSender<EncodeJob>>,
    /// Pixel buffers of encoded images, for the next renders to fill (see `take_spare`).
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
    results: Receiver<Result<Encoded, RvsError>>,
    workers: Vec<JoinHandle<()>>,
    pending: usize,
}

/// Worker threads to use by default: one core stays with the thread that drives the GPU.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).saturating_sub(1).max(1)
}

impl EncodePool {
    /// `threads` workers (0: [`default_threads`]); at most `queue` jobs wait at a time.
    pub fn new(threads: usize, format: ImageFormat, queue: usize) -> Self {
        let threads = if threads == 0 { default_threads() } else { threads.min(crate::dataset::pool::MAX_WORKER_THREADS) };
        let (job_tx, job_rx) = mpsc::sync_channel::<EncodeJob>(queue.max(1));
        let (result_tx, results) = mpsc::channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let spare: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        // Enough buffers for the images in flight; more would only hold memory.
        let keep = queue.max(1) + threads;
        let workers = (0..threads)
            .map(|i| {
                let job_rx = job_rx.clone();
                let result_tx = result_tx.clone();
                let spare = spare.clone();
                std::thread::Builder::new()
                    .name(format!("rvs-encode-{i}"))
                    .spawn(move || {
                        loop {
                            // Hold the lock only to take a job, not while encoding it.
                            let job = match job_rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok(mut job) = job else { return };
                            let result = run_job(&job, format);
                            if let Ok(mut spare) = spare.lock()
                                && spare.len() < keep
                            {
                                spare.push(std::mem::take(&mut job.image.rgba));
                            }
                            if result_tx.send(result).is_err() {
                                return;
                            }
                        }
                    })
                    .expect("spawning an encoder thread")
            })
            .collect();
        Self { jobs: Some(job_tx), spare, results, workers, pending: 0 }
    }

    /// Pixel buffers of images already encoded, to render the next batch into.
    pub fn take_spare(&self) -> Vec<Vec<u8>> {
        self.spare.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default()
    }

    /// Queues a job; blocks while the queue is full.
    pub fn submit(&mut self, job: EncodeJob) -> Result<(), RvsError> {
        let jobs = self.jobs.as_ref().ok_or_else(|| RvsError::Pool("already finished".into()))?;
        jobs.send(job).map_err(|_| RvsError::Pool("every worker stopped".into()))?;
        self.pending += 1;
        Ok(())
    }

    /// Jobs queued or running.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The jobs finished so far, without waiting.
    pub fn ready(&mut self) -> Vec<Result<Encoded, RvsError>> {
        let out: Vec<_> = self.results.try_iter().collect();
        self.pending -= out.len();
        out
    }

    /// Waits for every queued job and stops the workers.
    pub fn finish(mut self) -> Vec<Result<Encoded, RvsError>> {
        drop(self.jobs.take());
        let mut out = Vec::with_capacity(self.pending);
        while self.pending > 0 {
            match self.results.recv() {
                Ok(result) => out.push(result),
                Err(_) => {
                    out.push(Err(RvsError::Pool(format!("{} jobs lost: a worker panicked", self.pending))));
                    break;
                }
            }
            self.pending -= 1;
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        out
    }
}

fn run_job(job: &EncodeJob, format: ImageFormat) -> Result<Encoded, RvsError> {
    let name = job.path.as_ref().map_or_else(|| format!("view {}", job.index), |p| p.display().to_string());
    let bytes = encode_image(&job.image, format, &name)?;
    if let Some(path) = &job.path {
        write_file(path, &bytes)?;
    }
    Ok(Encoded { index: job.index, len: bytes.len(), bytes: job.return_bytes.then_some(bytes) })
}

/// Writes a file, creating its folder.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), RvsError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| RvsError::io(parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| RvsError::io(path, e))
}
