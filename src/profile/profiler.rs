//! `Profiler`: CPU spans, GPU pass times, counters and memory of one run, turned into a
//! `Profile` at the end.

use std::borrow::Cow;
use std::sync::Arc;

use super::clock::now_us;
use super::cpu::{CounterRecord, CpuState, Span, SpanKind, SpanRecord, thread_id};
use super::env::Environment;
use super::memory::{MemoryCategory, MemoryLedger};
use super::trace::{Profile, TimestampInfo};
use crate::GpuContext;
use crate::kernel::timer::{GpuFrame, GpuTimer, SharedGpuTimer};

#[derive(Debug, Clone)]
pub struct ProfilerOptions {
    /// Off: every call returns at once and the profile is empty.
    pub enabled: bool,
    /// Time GPU passes with timestamp queries where the adapter has them. Off: the profile says
    /// so and keeps its CPU spans.
    pub gpu_timestamps: bool,
    /// Frames (command buffers) whose timestamps may be in flight at once.
    pub ring_frames: usize,
    /// Passes one frame may time; a frame with more grows its slot when it begins.
    pub max_passes_per_frame: u32,
    /// Names the run in the profile (e.g. `render lego`, `train lego 30k`).
    pub label: String,
    /// The timeline keeps the spans and passes of every k-th step only (1: all), to keep the
    /// trace of a long run small; the summary covers every step.
    pub trace_step_stride: u64,
}

impl Default for ProfilerOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            gpu_timestamps: true,
            ring_frames: crate::kernel::timer::DEFAULT_RING_FRAMES,
            max_passes_per_frame: 64,
            label: String::new(),
            trace_step_stride: 1,
        }
    }
}

/// Records one run. Spans borrow nothing: guards may live across `&mut` uses of the profiler.
///
/// ```no_run
/// # fn demo(gpu: &wgsplat::GpuContext) {
/// use wgsplat::profile::{Profiler, ProfilerOptions};
/// let profiler = Profiler::new(gpu, ProfilerOptions::default());
/// gpu.attach_timer(profiler.gpu_timer());
/// for step in 0..100 {
///     let _step = profiler.begin_step(step);
///     let _span = profiler.span("record");
///     // ... render, loss, backward, optimizer: every pass timed on the GPU ...
///     profiler.collect(gpu);
/// }
/// let profile = profiler.finish(Some(gpu));
/// # }
/// ```
pub struct Profiler {
    cpu: Option<Arc<CpuState>>,
    gpu: Option<SharedGpuTimer>,
    timestamps_reason: Option<String>,
    period_ns: Option<f64>,
    environment: Environment,
    settings: serde_json::Map<String, serde_json::Value>,
    label: String,
    trace_step_stride: u64,
    started_us: f64,
    injected_frames: Vec<GpuFrame>,
}

impl Profiler {
    /// A profiler that records nothing and costs nothing.
    pub fn disabled() -> Self {
        Self {
            cpu: None,
            gpu: None,
            timestamps_reason: Some("profiling disabled".into()),
            period_ns: None,
            environment: Environment::detect(None),
            settings: Default::default(),
            label: String::new(),
            trace_step_stride: 1,
            started_us: 0.0,
            injected_frames: Vec::new(),
        }
    }

    pub fn new(gpu: &GpuContext, options: ProfilerOptions) -> Self {
        Self::with_gpu(Some(gpu), options)
    }

    /// A profiler for CPU work only, or with a GPU.
    pub fn with_gpu(gpu: Option<&GpuContext>, options: ProfilerOptions) -> Self {
        if !options.enabled {
            return Self::disabled();
        }
        let (timer, reason) = match gpu {
            None => (None, Some("no GPU".to_string())),
            Some(_) if !options.gpu_timestamps => (None, Some("GPU timestamps turned off by option".to_string())),
            Some(g) if !g.features.timestamp_queries => (None, Some("the adapter has no timestamp queries (TIMESTAMP_QUERY)".to_string())),
            Some(g) => match GpuTimer::with_ring(g, options.max_passes_per_frame, options.ring_frames) {
                Some(t) => (Some(t), None),
                None => (None, Some("the adapter has no timestamp queries (TIMESTAMP_QUERY)".to_string())),
            },
        };
        let gpu_timer = timer.map(GpuTimer::shared);
        Self {
            cpu: Some(Arc::new(CpuState::new(gpu_timer.clone()))),
            period_ns: gpu_timer.as_ref().map(|t| t.lock().unwrap_or_else(|e| e.into_inner()).period_ns()),
            gpu: gpu_timer,
            timestamps_reason: reason,
            environment: Environment::detect(gpu),
            settings: Default::default(),
            label: options.label,
            trace_step_stride: options.trace_step_stride.max(1),
            started_us: now_us(),
            injected_frames: Vec::new(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.cpu.is_some()
    }

    /// Whether GPU passes are timed.
    pub fn has_gpu_timestamps(&self) -> bool {
        self.gpu.is_some()
    }

    /// The GPU timer to attach to the GPU context (`GpuContext::attach_timer`): every job
    /// submitted through it is timed; None without timestamps.
    pub fn gpu_timer(&self) -> Option<SharedGpuTimer> {
        self.gpu.clone()
    }

    /// Opens a CPU span, closed when the guard drops.
    pub fn span(&self, name: impl Into<Cow<'static, str>>) -> Span {
        match &self.cpu {
            Some(state) => Span::begin(state.clone(), name.into(), SpanKind::Cpu, state.step()),
            None => Span::disabled(),
        }
    }

    /// Runs `f` inside a CPU span.
    pub fn scope<R>(&self, name: impl Into<Cow<'static, str>>, f: impl FnOnce() -> R) -> R {
        let _span = self.span(name);
        f()
    }

    /// Begins step `step`: a span named `step` until the guard drops; CPU spans and GPU frames
    /// begun meanwhile belong to this step.
    pub fn begin_step(&self, step: u64) -> Span {
        let Some(state) = &self.cpu else { return Span::disabled() };
        state.set_step(Some(step));
        Span::begin(state.clone(), "step".into(), SpanKind::Step, Some(step))
    }

    /// Picks up GPU timestamps that have landed; never waits. Call once a step.
    pub fn collect(&self, gpu: &GpuContext) {
        if let Some(timer) = &self.gpu {
            timer.lock().unwrap_or_else(|e| e.into_inner()).collect(gpu);
        }
    }

    /// One value of a counter track (splat count, loss, ...).
    pub fn counter(&self, name: impl Into<Cow<'static, str>>, value: f64) {
        if let Some(state) = &self.cpu {
            state.push_counter(CounterRecord { name: name.into(), ts_us: now_us(), values: vec![("value".into(), value)] });
        }
    }

    /// Several values of one counter track at once (drawn stacked).
    pub fn counters(&self, name: impl Into<Cow<'static, str>>, values: &[(&'static str, f64)]) {
        if let Some(state) = &self.cpu {
            state.push_counter(CounterRecord {
                name: name.into(),
                ts_us: now_us(),
                values: values.iter().map(|(k, v)| (Cow::Borrowed(*k), *v)).collect(),
            });
        }
    }

    /// GPU memory: `category` now holds `bytes` (see `MemoryLedger::set`).
    pub fn memory_set(&self, category: MemoryCategory, bytes: u64) {
        self.memory_update(|m| m.set(category, bytes));
    }

    /// GPU memory: a buffer of `bytes` was created.
    pub fn memory_alloc(&self, category: MemoryCategory, bytes: u64) {
        self.memory_update(|m| m.alloc(category, bytes));
    }

    /// GPU memory: a buffer of `bytes` was dropped.
    pub fn memory_free(&self, category: MemoryCategory, bytes: u64) {
        self.memory_update(|m| m.free(category, bytes));
    }

    fn memory_update(&self, f: impl FnOnce(&mut MemoryLedger)) {
        let Some(state) = &self.cpu else { return };
        let ts_us = now_us();
        let mut log = state.lock();
        let before = log.memory.current_by_category();
        f(&mut log.memory);
        let after = log.memory.current_by_category();
        if before != after {
            let values = after.iter().map(|(c, b)| (Cow::Borrowed(c.name()), *b as f64)).collect();
            log.counters.push(CounterRecord { name: "GPU memory (bytes)".into(), ts_us, values });
            if let Some(host) = super::memory::HostMemory::now() {
                log.counters.push(CounterRecord {
                    name: "host memory (bytes)".into(),
                    ts_us,
                    values: vec![("resident".into(), host.resident_bytes as f64)],
                });
            }
        }
    }

    /// GPU memory of a renderer and its splats (see `memory::renderer_memory`), and the splat
    /// count.
    pub fn observe_renderer(&self, renderer_bytes: u64, splats_bytes: u64, num_splats: u32, outputs_bytes: u64) {
        if self.cpu.is_none() {
            return;
        }
        let by_category = super::memory::renderer_memory(renderer_bytes, splats_bytes, outputs_bytes);
        self.memory_update(|m| {
            for (category, bytes) in by_category {
                m.set(category, bytes);
            }
        });
        self.counter("splats", num_splats as f64);
    }

    /// A copy of the memory accounting so far.
    pub fn memory(&self) -> MemoryLedger {
        self.cpu.as_ref().map(|s| s.lock().memory.clone()).unwrap_or_default()
    }

    /// A setting of the run, recorded in the summary's `settings`.
    pub fn set_setting(&mut self, key: &str, value: impl serde::Serialize) {
        if self.cpu.is_some()
            && let Ok(v) = serde_json::to_value(value)
        {
            self.settings.insert(key.to_string(), v);
        }
    }

    /// Records a span measured elsewhere (times in `clock::now_us` microseconds), on this
    /// thread, at `depth`.
    pub fn record_span(&self, name: impl Into<Cow<'static, str>>, start_us: f64, end_us: f64, depth: u32, step: Option<u64>) {
        if let Some(state) = &self.cpu {
            state.push_span(SpanRecord { name: name.into(), kind: SpanKind::Cpu, tid: thread_id(), start_us, end_us, depth, step });
        }
    }

    /// Records a step span measured elsewhere.
    pub fn record_step(&self, step: u64, start_us: f64, end_us: f64) {
        if let Some(state) = &self.cpu {
            state.push_span(SpanRecord {
                name: "step".into(),
                kind: SpanKind::Step,
                tid: thread_id(),
                start_us,
                end_us,
                depth: 0,
                step: Some(step),
            });
        }
    }

    /// Records GPU pass times measured elsewhere (e.g. by another timer); marks the profile as
    /// having GPU times.
    pub fn record_gpu_frame(&mut self, frame: GpuFrame) {
        if self.cpu.is_some() {
            self.injected_frames.push(frame);
            self.timestamps_reason = None;
            self.period_ns.get_or_insert(1.0);
        }
    }

    /// Ends the run: waits for the GPU timestamps still in flight (natively) and returns the
    /// profile.
    pub fn finish(self, gpu: Option<&GpuContext>) -> Profile {
        if let Some(timer) = &self.gpu {
            let mut t = timer.lock().unwrap_or_else(|e| e.into_inner());
            #[cfg(not(target_arch = "wasm32"))]
            if let Some(gpu) = gpu
                && let Err(e) = t.finish(gpu)
            {
                log::warn!("profile: GPU timestamps lost: {e}");
            }
            #[cfg(target_arch = "wasm32")]
            if let Some(gpu) = gpu {
                t.collect(gpu);
            }
        }
        let _ = gpu;
        self.snapshot()
    }

    /// The profile so far, without ending the run or waiting for anything (the page downloads
    /// it while training goes on): GPU frames still in flight are not in it yet.
    pub fn snapshot(&self) -> Profile {
        let ended_us = now_us();
        let (mut frames, dropped_frames, dropped_passes) = match &self.gpu {
            Some(timer) => {
                let t = timer.lock().unwrap_or_else(|e| e.into_inner());
                (t.frames().to_vec(), t.dropped_frames(), t.dropped_passes())
            }
            None => (Vec::new(), 0, 0),
        };
        frames.extend(self.injected_frames.iter().cloned());
        let (spans, counters, threads, memory) = match &self.cpu {
            Some(state) => {
                let log = state.lock();
                (log.spans.clone(), log.counters.clone(), log.threads.clone(), Some(log.memory.summary()))
            }
            None => (Vec::new(), Vec::new(), Vec::new(), None),
        };
        // Spans are logged as they end; the profile lists them as they began.
        let mut spans = spans;
        spans.sort_by(|a, b| a.start_us.total_cmp(&b.start_us));
        let timestamps = TimestampInfo::new(self.timestamps_reason.clone(), self.period_ns, &frames, dropped_frames, dropped_passes);
        Profile {
            label: self.label.clone(),
            trace_step_stride: self.trace_step_stride,
            enabled: self.cpu.is_some(),
            started_us: self.started_us,
            ended_us,
            spans,
            counters,
            threads,
            gpu_frames: frames,
            timestamps,
            memory: memory.unwrap_or_else(|| MemoryLedger::default().summary()),
            environment: self.environment.clone(),
            settings: self.settings.clone(),
        }
    }

    /// GPU milliseconds per pass name of every step after `after_step` whose timestamps have
    /// landed, oldest first (for a live per-step chart).
    pub fn gpu_steps_after(&self, after_step: Option<u64>) -> Vec<(u64, Vec<(String, f64)>)> {
        let Some(timer) = &self.gpu else { return Vec::new() };
        let t = timer.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(u64, Vec<(String, f64)>)> = Vec::new();
        for frame in t.frames().iter().rev() {
            let Some(step) = frame.step else { continue };
            if after_step.is_some_and(|a| step <= a) {
                break;
            }
            let passes = crate::kernel::timer::sum_by_name(&frame.passes);
            match out.iter_mut().find(|(s, _)| *s == step) {
                Some((_, sums)) => {
                    for (name, ms) in passes {
                        match sums.iter_mut().find(|(n, _)| *n == name) {
                            Some(entry) => entry.1 += ms,
                            None => sums.push((name, ms)),
                        }
                    }
                }
                None => out.push((step, passes)),
            }
        }
        out.reverse();
        out
    }
}
