//! GPU time per pass from timestamp queries written at the start and end of each compute pass.
//! Only where the adapter has timestamp queries; `GpuTimer::new` says None otherwise.
//!
//! A ring of frames (`begin_frame`, `end_frame`, `submitted`, `collect`): every frame (one
//! command buffer) resolves its timestamps into its own readback buffer, mapped after the
//! submission and picked up a few frames later by `collect`, which never waits. When every slot
//! of the ring is still in flight the new frame is not timed (`dropped_frames` counts it) rather
//! than stalling the pipeline. `kernel::submit` drives it for every job; nothing else needs to.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use crate::GpuContext;
#[cfg(not(target_arch = "wasm32"))]
use crate::GpuError;

/// Frames a ring holds by default: enough that `collect` once per step never drops a frame when
/// the GPU runs two or three steps behind the CPU.
pub const DEFAULT_RING_FRAMES: usize = 4;

/// The most frames a ring grows to when a frame finds every slot in flight.
pub const MAX_RING_FRAMES: usize = 16;

/// A `GpuTimer` that the renderer (or a training step) and the profiler share.
pub type SharedGpuTimer = Arc<Mutex<GpuTimer>>;

const FREE: u8 = 0;
/// Being recorded; reusable by the next `begin_frame`.
const RECORDING: u8 = 1;
/// Resolved into its readback buffer, waiting for the submission.
const RESOLVED: u8 = 2;
const MAPPING: u8 = 3;
const READY: u8 = 4;
const FAILED: u8 = 5;

/// One timed pass of a frame: GPU clock, nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuPassTime {
    pub name: &'static str,
    pub begin_ns: f64,
    pub end_ns: f64,
}

impl GpuPassTime {
    pub fn millis(&self) -> f64 {
        (self.end_ns - self.begin_ns).max(0.0) / 1e6
    }
}

/// The timed passes of one frame (one command buffer), as read back from the ring.
#[derive(Debug, Clone)]
pub struct GpuFrame {
    /// The step the frame belongs to (`set_step`), if any.
    pub step: Option<u64>,
    pub label: &'static str,
    /// When `submitted` saw the frame (`clock::now_us`): the GPU cannot have started it earlier.
    pub submitted_us: f64,
    pub passes: Vec<GpuPassTime>,
}

struct Slot {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Timestamps (two per pass) the query set holds.
    capacity: u32,
    passes: Vec<&'static str>,
    step: Option<u64>,
    label: &'static str,
    submitted_us: Option<f64>,
    /// Order of the frame among all begun: frames are collected in this order.
    seq: u64,
    state: Arc<AtomicU8>,
}

impl Slot {
    fn new(device: &wgpu::Device, max_passes: u32) -> Self {
        let capacity = max_passes.clamp(1, 2048) * 2;
        Self {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pass timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: capacity,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp resolve"),
                size: capacity as u64 * 8,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamp readback"),
                size: capacity as u64 * 8,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            capacity,
            passes: Vec::new(),
            step: None,
            label: "",
            submitted_us: None,
            seq: 0,
            state: Arc::new(AtomicU8::new(FREE)),
        }
    }

    fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    fn bytes(&self) -> u64 {
        self.capacity as u64 * 8 * 2
    }
}

pub struct GpuTimer {
    slots: Vec<Slot>,
    /// The slot being recorded, if any.
    current: Option<usize>,
    /// Where the ring looks for a free slot next.
    next: usize,
    period_ns: f64,
    step: Option<u64>,
    next_seq: u64,
    frames: Vec<GpuFrame>,
    dropped_frames: u64,
    dropped_passes: u64,
}

impl GpuTimer {
    /// A timer for up to `max_passes` passes per frame and a ring of `DEFAULT_RING_FRAMES`, or
    /// None without timestamp support.
    pub fn new(gpu: &GpuContext, max_passes: u32) -> Option<Self> {
        Self::with_ring(gpu, max_passes, DEFAULT_RING_FRAMES)
    }

    /// A timer whose ring holds `frames` frames in flight (at least 1).
    pub fn with_ring(gpu: &GpuContext, max_passes: u32, frames: usize) -> Option<Self> {
        if !gpu.features.timestamp_queries {
            return None;
        }
        Some(Self {
            slots: (0..frames.max(1)).map(|_| Slot::new(&gpu.device, max_passes)).collect(),
            current: None,
            next: 0,
            period_ns: gpu.queue.get_timestamp_period() as f64,
            step: None,
            next_seq: 0,
            frames: Vec::new(),
            dropped_frames: 0,
            dropped_passes: 0,
        })
    }

    /// Shares the timer, for `GpuContext::attach_timer` and the profiler.
    pub fn shared(self) -> SharedGpuTimer {
        Arc::new(Mutex::new(self))
    }

    /// Passes one frame may time (the smallest over the ring's slots).
    pub fn capacity_passes(&self) -> u32 {
        self.slots.iter().map(|s| s.capacity / 2).min().unwrap_or(0)
    }

    /// Frames in the ring.
    pub fn ring_frames(&self) -> usize {
        self.slots.len()
    }

    /// GPU memory the query sets and buffers take.
    pub fn memory_bytes(&self) -> u64 {
        self.slots.iter().map(Slot::bytes).sum()
    }

    /// Nanoseconds per timestamp tick.
    pub fn period_ns(&self) -> f64 {
        self.period_ns
    }

    /// The step the following frames belong to.
    pub fn set_step(&mut self, step: Option<u64>) {
        self.step = step;
    }

    /// Frames not timed because every slot of the ring was still in flight.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// Passes not timed because their frame's query set was full.
    pub fn dropped_passes(&self) -> u64 {
        self.dropped_passes
    }

    /// Starts timing a frame of up to `passes` passes, named `label` (ring path). False when
    /// every slot is in flight: the frame is then not timed.
    pub fn begin_frame(&mut self, gpu: &GpuContext, passes: u32, label: &'static str) -> bool {
        // A frame begun but never ended gives its slot back.
        let index = match self.current.take() {
            Some(i) => Some(i),
            None => (0..self.slots.len()).map(|k| (self.next + k) % self.slots.len()).find(|&i| self.slots[i].state() == FREE),
        };
        // Every slot in flight: a rare frame (a density-control round, an evaluation) comes
        // right after steps whose timestamps are not collected yet. The ring grows for it rather
        // than leave it untimed, up to a bound that keeps a stalled reader from growing it
        // forever.
        let index = index.or_else(|| {
            (self.slots.len() < MAX_RING_FRAMES).then(|| {
                self.slots.push(Slot::new(&gpu.device, passes));
                self.slots.len() - 1
            })
        });
        let Some(index) = index else {
            self.dropped_frames += 1;
            return false;
        };
        if self.slots[index].capacity < passes.min(2048) * 2 {
            self.slots[index] = Slot::new(&gpu.device, passes);
        }
        let slot = &mut self.slots[index];
        slot.state.store(RECORDING, Ordering::Release);
        slot.passes.clear();
        slot.step = self.step;
        slot.label = label;
        slot.submitted_us = None;
        slot.seq = self.next_seq;
        self.next_seq += 1;
        self.current = Some(index);
        self.next = (index + 1) % self.slots.len();
        true
    }

    /// Timestamp writes for the next pass, named `stage`; None when no frame is being timed or
    /// its query set is full.
    pub fn next_pass(&mut self, stage: &'static str) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let slot = &mut self.slots[self.current?];
        let index = slot.passes.len() as u32 * 2;
        if index + 2 > slot.capacity {
            self.dropped_passes += 1;
            return None;
        }
        slot.passes.push(stage);
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &slot.queries,
            beginning_of_pass_write_index: Some(index),
            end_of_pass_write_index: Some(index + 1),
        })
    }

    /// Ring path: resolves the current frame into its slot's readback buffer. Call before the
    /// encoder is finished, then `submitted` after the queue submission.
    pub fn end_frame(&mut self, encoder: &mut wgpu::CommandEncoder) {
        let Some(index) = self.current.take() else { return };
        let slot = &mut self.slots[index];
        let count = slot.passes.len() as u32 * 2;
        if count == 0 {
            slot.state.store(FREE, Ordering::Release);
            return;
        }
        encoder.resolve_query_set(&slot.queries, 0..count, &slot.resolve, 0);
        encoder.copy_buffer_to_buffer(&slot.resolve, 0, &slot.readback, 0, count as u64 * 8);
        slot.state.store(RESOLVED, Ordering::Release);
    }

    /// Ring path: maps the readback buffers of the frames resolved since the last call; call
    /// right after `queue.submit`.
    pub fn submitted(&mut self) {
        let now = super::clock::now_us();
        for slot in &mut self.slots {
            if slot.state() != RESOLVED {
                continue;
            }
            slot.submitted_us = Some(now);
            slot.state.store(MAPPING, Ordering::Release);
            let state = slot.state.clone();
            let bytes = slot.passes.len() as u64 * 16;
            slot.readback.slice(..bytes).map_async(wgpu::MapMode::Read, move |result| {
                state.store(if result.is_ok() { READY } else { FAILED }, Ordering::Release);
            });
        }
    }

    /// Frames in flight (resolved, not yet collected).
    pub fn in_flight(&self) -> usize {
        self.slots.iter().filter(|s| matches!(s.state(), RESOLVED | MAPPING | READY)).count()
    }

    /// Picks up the frames whose timestamps have landed, without waiting; returns how many.
    pub fn collect(&mut self, gpu: &GpuContext) -> usize {
        #[cfg(not(target_arch = "wasm32"))]
        if self.slots.iter().any(|s| s.state() == MAPPING) {
            let _ = gpu.device.poll(wgpu::PollType::Poll);
        }
        #[cfg(target_arch = "wasm32")]
        let _ = gpu;
        let mut collected = 0;
        let mut order: Vec<usize> = (0..self.slots.len()).collect();
        order.sort_by_key(|&i| self.slots[i].seq);
        for i in order {
            let slot = &mut self.slots[i];
            match slot.state() {
                READY => {
                    let bytes = slot.passes.len() as u64 * 16;
                    let passes = match slot.readback.slice(..bytes).get_mapped_range() {
                        Ok(view) => passes_from_ticks(&slot.passes, bytemuck::cast_slice(&view), self.period_ns),
                        Err(_) => Vec::new(),
                    };
                    slot.readback.unmap();
                    if passes.is_empty() {
                        self.dropped_frames += 1;
                    } else {
                        self.frames.push(GpuFrame {
                            step: slot.step,
                            label: slot.label,
                            submitted_us: slot.submitted_us.unwrap_or_else(super::clock::now_us),
                            passes,
                        });
                        collected += 1;
                    }
                    slot.state.store(FREE, Ordering::Release);
                }
                FAILED => {
                    self.dropped_frames += 1;
                    slot.state.store(FREE, Ordering::Release);
                }
                _ => {}
            }
        }
        collected
    }

    /// Waits for every frame in flight and collects it (the end of a run; natively only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn finish(&mut self, gpu: &GpuContext) -> Result<usize, GpuError> {
        if self.slots.iter().any(|s| s.state() == RESOLVED) {
            // Resolved but never submitted: nothing will ever land there.
            for slot in &mut self.slots {
                if slot.state() == RESOLVED {
                    slot.state.store(FREE, Ordering::Release);
                    self.dropped_frames += 1;
                }
            }
        }
        if self.slots.iter().any(|s| s.state() == MAPPING) {
            gpu.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| GpuError::Readback(e.to_string()))?;
        }
        Ok(self.collect(gpu))
    }

    /// The frames collected so far, oldest first.
    pub fn frames(&self) -> &[GpuFrame] {
        &self.frames
    }

    /// The frames collected so far, oldest first; the timer forgets them.
    pub fn take_frames(&mut self) -> Vec<GpuFrame> {
        std::mem::take(&mut self.frames)
    }
}

fn passes_from_ticks(names: &[&'static str], ticks: &[u64], period_ns: f64) -> Vec<GpuPassTime> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| 2 * i + 1 < ticks.len())
        .map(|(i, &name)| {
            let begin = ticks[2 * i];
            // Some drivers write the end before the beginning for empty passes: clamp.
            let end = ticks[2 * i + 1].max(begin);
            GpuPassTime { name, begin_ns: begin as f64 * period_ns, end_ns: end as f64 * period_ns }
        })
        .collect()
}

/// Milliseconds per pass name, summed, in first-seen order.
pub fn sum_by_name(passes: &[GpuPassTime]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for pass in passes {
        match out.iter_mut().find(|(s, _)| s == pass.name) {
            Some(entry) => entry.1 += pass.millis(),
            None => out.push((pass.name.to_string(), pass.millis())),
        }
    }
    out
}
