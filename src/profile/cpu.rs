//! CPU spans (scoped guards) and counters, recorded per thread into one shared log.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::clock::now_us;
use super::memory::MemoryLedger;

/// What a span is: a step of the run, or work inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Step,
    Cpu,
}

/// A finished CPU span; times in `clock::now_us` microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    pub name: Cow<'static, str>,
    pub kind: SpanKind,
    /// Small integer per thread, 1 for the first thread that recorded a span.
    pub tid: u32,
    pub start_us: f64,
    pub end_us: f64,
    /// Spans open on this thread when this one began.
    pub depth: u32,
    /// The step current when the span began.
    pub step: Option<u64>,
}

/// Values of one counter track at one time (memory by category, splat count, loss).
#[derive(Debug, Clone, PartialEq)]
pub struct CounterRecord {
    pub name: Cow<'static, str>,
    pub ts_us: f64,
    pub values: Vec<(Cow<'static, str>, f64)>,
}

const NO_STEP: u64 = u64::MAX;

static NEXT_TID: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static TID: u32 = NEXT_TID.fetch_add(1, Ordering::Relaxed);
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

pub(crate) fn thread_id() -> u32 {
    TID.with(|t| *t)
}

#[derive(Default)]
pub(crate) struct Log {
    pub spans: Vec<SpanRecord>,
    pub counters: Vec<CounterRecord>,
    pub threads: Vec<(u32, String)>,
    pub memory: MemoryLedger,
}

/// Shared by the profiler and every live span guard.
pub(crate) struct CpuState {
    pub log: Mutex<Log>,
    step: AtomicU64,
    /// Told the step too, so that GPU frames are grouped like CPU spans.
    pub gpu_timer: Option<crate::kernel::timer::SharedGpuTimer>,
}

impl CpuState {
    pub fn new(gpu_timer: Option<crate::kernel::timer::SharedGpuTimer>) -> Self {
        Self { log: Mutex::new(Log::default()), step: AtomicU64::new(NO_STEP), gpu_timer }
    }

    pub fn step(&self) -> Option<u64> {
        match self.step.load(Ordering::Relaxed) {
            NO_STEP => None,
            s => Some(s),
        }
    }

    pub fn set_step(&self, step: Option<u64>) {
        self.step.store(step.unwrap_or(NO_STEP), Ordering::Relaxed);
        if let Some(timer) = &self.gpu_timer {
            timer.lock().unwrap_or_else(|e| e.into_inner()).set_step(step);
        }
    }

    /// Step `step` ended: work from now on belongs to no step, unless another step began.
    fn end_step(&self, step: Option<u64>) {
        let ended = step.unwrap_or(NO_STEP);
        if self.step.compare_exchange(ended, NO_STEP, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            && let Some(timer) = &self.gpu_timer
        {
            timer.lock().unwrap_or_else(|e| e.into_inner()).set_step(None);
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push_span(&self, span: SpanRecord) {
        let mut log = self.lock();
        if !log.threads.iter().any(|(t, _)| *t == span.tid) {
            let name = std::thread::current().name().map_or_else(|| format!("thread {}", span.tid), str::to_string);
            log.threads.push((span.tid, name));
        }
        log.spans.push(span);
    }

    pub fn push_counter(&self, counter: CounterRecord) {
        self.lock().counters.push(counter);
    }
}

/// A CPU span, open until dropped (or `end`ed). A span of a disabled profiler is empty: it
/// neither reads the clock nor allocates.
#[must_use = "a span ends when dropped: bind it, `let _span = ...`"]
pub struct Span {
    active: Option<Active>,
}

struct Active {
    state: std::sync::Arc<CpuState>,
    name: Cow<'static, str>,
    kind: SpanKind,
    start_us: f64,
    depth: u32,
    step: Option<u64>,
}

impl Span {
    pub(crate) fn disabled() -> Self {
        Self { active: None }
    }

    pub(crate) fn begin(state: std::sync::Arc<CpuState>, name: Cow<'static, str>, kind: SpanKind, step: Option<u64>) -> Self {
        let depth = DEPTH.with(|d| {
            let depth = d.get();
            d.set(depth + 1);
            depth
        });
        Self { active: Some(Active { state, name, kind, start_us: now_us(), depth, step }) }
    }

    /// Whether the span records anything.
    pub fn is_recording(&self) -> bool {
        self.active.is_some()
    }

    /// Ends the span now.
    pub fn end(self) {}
}

impl Drop for Span {
    fn drop(&mut self) {
        if let Some(a) = self.active.take() {
            let end_us = now_us();
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
            if a.kind == SpanKind::Step {
                a.state.end_step(a.step);
            }
            a.state.push_span(SpanRecord {
                name: a.name,
                kind: a.kind,
                tid: thread_id(),
                start_us: a.start_us,
                end_us,
                depth: a.depth,
                step: a.step,
            });
        }
    }
}
