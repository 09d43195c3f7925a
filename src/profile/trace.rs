//! A finished `Profile` and its JSON: the Chrome Trace Event Format (opened by Perfetto and
//! chrome://tracing) plus a `summary` object. The format is documented in
//! docs/profile-format.md and described by docs/profile.schema.json.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::cpu::{CounterRecord, SpanKind, SpanRecord};
use super::env::Environment;
use super::memory::MemorySummary;
use crate::kernel::timer::GpuFrame;

/// `format` of every profile JSON.
pub const FORMAT: &str = "wgsplat-profile";
/// `version` of the profile JSON this code writes; bumped on incompatible changes.
pub const VERSION: u32 = 1;
/// Trace process ids: CPU threads, and the GPU queue.
pub const CPU_PID: u32 = 1;
pub const GPU_PID: u32 = 2;
pub const GPU_TID: u32 = 1;

/// Pass times of a frame are quantized when every timestamp is a multiple of this or more.
const QUANTIZED_NS: u64 = 50_000;

#[derive(Debug, Clone)]
pub struct Profile {
    pub label: String,
    /// The timeline keeps every k-th step's spans and passes (`ProfilerOptions::trace_step_stride`).
    pub trace_step_stride: u64,
    /// False for a profile of a disabled profiler (empty).
    pub enabled: bool,
    /// `clock::now_us` at the profiler's creation and at `finish`.
    pub started_us: f64,
    pub ended_us: f64,
    pub spans: Vec<SpanRecord>,
    pub counters: Vec<CounterRecord>,
    pub threads: Vec<(u32, String)>,
    pub gpu_frames: Vec<GpuFrame>,
    pub timestamps: TimestampInfo,
    pub memory: MemorySummary,
    pub environment: Environment,
    pub settings: serde_json::Map<String, Value>,
}

/// Whether GPU passes were timed, and how well.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimestampInfo {
    /// GPU pass times were recorded.
    pub supported: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// Nanoseconds per timestamp tick.
    pub period_ns: Option<f64>,
    /// Frames (command buffers) timed.
    pub frames: u64,
    /// Frames not timed because the readback ring was full, or their readback failed.
    pub dropped_frames: u64,
    /// Passes not timed because their frame's query set was full.
    pub dropped_passes: u64,
    /// The largest step every timestamp is a multiple of (ns), when it is 1 us or more.
    pub quantization_ns: Option<f64>,
    /// Timestamps are coarse (Chrome quantizes WebGPU timestamps to 100 us unless its WebGPU
    /// developer features are on).
    pub quantized: bool,
    pub note: Option<String>,
}

impl TimestampInfo {
    pub fn new(reason: Option<String>, period_ns: Option<f64>, frames: &[GpuFrame], dropped_frames: u64, dropped_passes: u64) -> Self {
        let supported = reason.is_none() && !frames.is_empty();
        let reason = match (reason, frames.is_empty()) {
            (Some(r), _) => Some(r),
            (None, true) => Some("no GPU frame was timed".into()),
            (None, false) => None,
        };
        let quantization_ns = detect_quantization(frames);
        let quantized = quantization_ns.is_some_and(|q| q >= QUANTIZED_NS as f64);
        let note = if quantized {
            Some(format!(
                "GPU timestamps are quantized to {:.0} us: pass times shorter than that read as 0 or one step. Chrome does this to WebGPU timestamps unless chrome://flags/#enable-webgpu-developer-features is on.",
                quantization_ns.unwrap_or(0.0) / 1e3
            ))
        } else {
            None
        };
        Self { supported, reason, period_ns, frames: frames.len() as u64, dropped_frames, dropped_passes, quantization_ns, quantized, note }
    }
}

/// The greatest common divisor of every timestamp's distance to the first, in ns, when there are
/// enough distinct timestamps to tell (at least 8) and it is at least 1 us.
pub fn detect_quantization(frames: &[GpuFrame]) -> Option<f64> {
    let stamps: Vec<u64> =
        frames.iter().flat_map(|f| f.passes.iter().flat_map(|p| [p.begin_ns.round() as u64, p.end_ns.round() as u64])).collect();
    let first = *stamps.first()?;
    let mut g = 0u64;
    let mut distinct = 0;
    for &s in &stamps[1..] {
        let d = s.abs_diff(first);
        if d != 0 {
            distinct += 1;
            g = gcd(g, d);
        }
    }
    (distinct >= 8 && g >= 1000).then_some(g as f64)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Per-step statistics of one quantity, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Steps (or frames) the quantity occurred in.
    pub count: u64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Sample standard deviation (0 for one sample): the run-to-run spread `compare` uses.
    pub stddev_ms: f64,
}

impl Stats {
    pub fn from_ms(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let total: f64 = sorted.iter().sum();
        let mean = total / n as f64;
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        let p95 = sorted[((0.95 * n as f64).ceil() as usize).clamp(1, n) - 1];
        let var = if n > 1 { sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
        Some(Self {
            count: n as u64,
            total_ms: total,
            mean_ms: mean,
            median_ms: median,
            p95_ms: p95,
            min_ms: sorted[0],
            max_ms: sorted[n - 1],
            stddev_ms: var.sqrt(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedStats {
    pub name: String,
    #[serde(flatten)]
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub label: String,
    /// Step spans recorded (`Profiler::begin_step`).
    pub steps: u64,
    /// From the profiler's creation to `finish`.
    pub wall_s: f64,
    /// Steps over the time from the first step's start to the last step's end.
    pub steps_per_s: Option<f64>,
    /// Wall time of a step.
    pub step: Option<Stats>,
    /// GPU time of a step: every timed pass summed.
    pub gpu_step: Option<Stats>,
    /// GPU time per pass name per step (passes of a name summed within a step), first-seen order.
    pub gpu_passes: Vec<NamedStats>,
    /// CPU time per span name per step (spans of a name summed within a step), first-seen order.
    pub cpu_spans: Vec<NamedStats>,
    pub timestamps: TimestampInfo,
    pub memory: MemorySummary,
    pub environment: Environment,
    pub settings: serde_json::Map<String, Value>,
}

/// A step key: the step a record belongs to, or an index for records outside steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Step(u64),
    Alone(usize),
}

/// Sums `(group, name, ms)` by group and name; stats per name over the groups, first-seen order.
fn per_group_stats(records: impl Iterator<Item = (Group, String, f64)>) -> Vec<NamedStats> {
    let mut names: Vec<String> = Vec::new();
    let mut sums: Vec<(Group, Vec<f64>)> = Vec::new();
    let mut present: Vec<(Group, Vec<bool>)> = Vec::new();
    for (group, name, ms) in records {
        let n = match names.iter().position(|x| *x == name) {
            Some(i) => i,
            None => {
                names.push(name);
                names.len() - 1
            }
        };
        let g = match sums.iter().position(|(k, _)| *k == group) {
            Some(i) => i,
            None => {
                sums.push((group, Vec::new()));
                present.push((group, Vec::new()));
                sums.len() - 1
            }
        };
        let (row, seen) = (&mut sums[g].1, &mut present[g].1);
        if row.len() <= n {
            row.resize(n + 1, 0.0);
            seen.resize(n + 1, false);
        }
        row[n] += ms;
        seen[n] = true;
    }
    names
        .iter()
        .enumerate()
        .filter_map(|(n, name)| {
            let samples: Vec<f64> = sums
                .iter()
                .zip(&present)
                .filter(|(_, (_, seen))| seen.get(n).copied().unwrap_or(false))
                .map(|((_, row), _)| row[n])
                .collect();
            Stats::from_ms(&samples).map(|stats| NamedStats { name: name.clone(), stats })
        })
        .collect()
}

impl Profile {
    /// Offset (us) from the GPU clock to `clock::now_us`: the smallest that puts no frame's
    /// first pass before its submission.
    pub fn gpu_clock_offset_us(&self) -> Option<f64> {
        self.gpu_frames
            .iter()
            .filter_map(|f| {
                let begin = f.passes.iter().map(|p| p.begin_ns).fold(f64::INFINITY, f64::min);
                begin.is_finite().then(|| f.submitted_us - begin / 1e3)
            })
            .reduce(f64::max)
    }

    fn frame_group(&self, index: usize) -> Group {
        self.gpu_frames[index].step.map_or(Group::Alone(index), Group::Step)
    }

    pub fn summary(&self) -> Summary {
        let steps: Vec<&SpanRecord> = self.spans.iter().filter(|s| s.kind == SpanKind::Step).collect();
        let step_ms: Vec<f64> = steps.iter().map(|s| (s.end_us - s.start_us) / 1e3).collect();
        let steps_per_s = if steps.is_empty() {
            None
        } else {
            let first = steps.iter().map(|s| s.start_us).fold(f64::INFINITY, f64::min);
            let last = steps.iter().map(|s| s.end_us).fold(f64::NEG_INFINITY, f64::max);
            (last > first).then(|| steps.len() as f64 / ((last - first) / 1e6))
        };
        let gpu_records = || {
            self.gpu_frames.iter().enumerate().flat_map(move |(i, f)| {
                let group = self.frame_group(i);
                f.passes.iter().map(move |p| (group, p.name.to_string(), p.millis()))
            })
        };
        let gpu_passes = per_group_stats(gpu_records());
        let gpu_step = per_group_stats(gpu_records().map(|(g, _, ms)| (g, String::new(), ms))).pop().map(|n| n.stats);
        let cpu_spans = per_group_stats(
            self.spans
                .iter()
                .enumerate()
                .filter(|(_, s)| s.kind == SpanKind::Cpu)
                .map(|(i, s)| (s.step.map_or(Group::Alone(i), Group::Step), s.name.to_string(), (s.end_us - s.start_us) / 1e3)),
        );
        Summary {
            label: self.label.clone(),
            steps: steps.len() as u64,
            wall_s: ((self.ended_us - self.started_us) / 1e6).max(0.0),
            steps_per_s,
            step: Stats::from_ms(&step_ms),
            gpu_step,
            gpu_passes,
            cpu_spans,
            timestamps: self.timestamps.clone(),
            memory: self.memory.clone(),
            environment: self.environment.clone(),
            settings: self.settings.clone(),
        }
    }

    /// The trace events: metadata first, then spans, GPU passes and counters by time.
    pub fn trace_events(&self) -> Vec<Value> {
        let t0 = self.started_us;
        let mut meta = vec![
            json!({"ph": "M", "name": "process_name", "pid": CPU_PID, "tid": 0, "args": {"name": if self.label.is_empty() { "wgsplat (CPU)".to_string() } else { format!("wgsplat {} (CPU)", self.label) }}}),
            json!({"ph": "M", "name": "process_sort_index", "pid": CPU_PID, "tid": 0, "args": {"sort_index": 1}}),
        ];
        for (tid, name) in &self.threads {
            meta.push(json!({"ph": "M", "name": "thread_name", "pid": CPU_PID, "tid": tid, "args": {"name": name}}));
        }
        let mut events: Vec<(f64, Value)> = Vec::new();
        let stride = self.trace_step_stride.max(1);
        let kept = |step: Option<u64>| step.is_none_or(|k| k % stride == 0);
        for s in self.spans.iter().filter(|s| kept(s.step)) {
            let (cat, args) = match s.kind {
                SpanKind::Step => ("step", json!({"step": s.step})),
                SpanKind::Cpu => ("cpu", json!({"step": s.step, "depth": s.depth})),
            };
            let ts = s.start_us - t0;
            events.push((
                ts,
                json!({"ph": "X", "cat": cat, "name": s.name, "pid": CPU_PID, "tid": s.tid, "ts": ts, "dur": (s.end_us - s.start_us).max(0.0), "args": args}),
            ));
        }
        if let Some(offset) = self.gpu_clock_offset_us() {
            let adapter = self.environment.adapter.as_ref().and_then(|a| a.get("name")).and_then(Value::as_str).unwrap_or("adapter");
            meta.push(json!({"ph": "M", "name": "process_name", "pid": GPU_PID, "tid": 0, "args": {"name": format!("GPU: {adapter}")}}));
            meta.push(json!({"ph": "M", "name": "process_sort_index", "pid": GPU_PID, "tid": 0, "args": {"sort_index": 2}}));
            meta.push(
                json!({"ph": "M", "name": "thread_name", "pid": GPU_PID, "tid": GPU_TID, "args": {"name": "passes (timestamp queries)"}}),
            );
            for (i, f) in self.gpu_frames.iter().enumerate().filter(|(_, f)| kept(f.step)) {
                for p in &f.passes {
                    let ts = p.begin_ns / 1e3 + offset - t0;
                    events.push((
                        ts,
                        json!({"ph": "X", "cat": "gpu", "name": p.name, "pid": GPU_PID, "tid": GPU_TID, "ts": ts, "dur": (p.end_ns - p.begin_ns).max(0.0) / 1e3, "args": {"step": f.step, "frame": i, "label": f.label}}),
                    ));
                }
            }
        }
        for c in &self.counters {
            let ts = c.ts_us - t0;
            let args: serde_json::Map<String, Value> = c.values.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            events.push((ts, json!({"ph": "C", "name": c.name, "pid": CPU_PID, "tid": 0, "ts": ts, "args": args})));
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        meta.extend(events.into_iter().map(|(_, e)| e));
        meta
    }

    /// The whole profile JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "format": FORMAT,
            "version": VERSION,
            "displayTimeUnit": "ms",
            "otherData": {"format": FORMAT, "version": VERSION, "label": self.label, "trace_step_stride": self.trace_step_stride},
            "traceEvents": self.trace_events(),
            "summary": self.summary(),
        })
    }

    /// Writes the profile JSON to `path`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        serde_json::to_writer(&mut file, &self.to_json()).map_err(std::io::Error::other)?;
        // Dropping a BufWriter would lose the error of its last write (a full disk).
        file.flush()
    }

    /// Which GPU passes dominate a step: (name, median ms per step, share of the median GPU step),
    /// largest first.
    pub fn dominant_passes(&self) -> Vec<(String, f64, f64)> {
        let summary = self.summary();
        let total: f64 = summary.gpu_passes.iter().map(|p| p.stats.median_ms).sum();
        let mut out: Vec<(String, f64, f64)> = summary
            .gpu_passes
            .iter()
            .map(|p| (p.name.clone(), p.stats.median_ms, if total > 0.0 { p.stats.median_ms / total } else { 0.0 }))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}

impl Profile {
    /// A few lines for the terminal: steps/s, which GPU passes dominate a step, peak memory.
    pub fn report_text(&self) -> String {
        let s = self.summary();
        let mut out = format!("{} steps in {:.2} s", s.steps, s.wall_s);
        if let Some(sps) = s.steps_per_s {
            out += &format!(", {sps:.2} steps/s");
        }
        if let Some(step) = &s.step {
            out += &format!(", step median {:.3} ms (p95 {:.3})", step.median_ms, step.p95_ms);
        }
        out += "\n";
        if s.timestamps.supported {
            let passes: Vec<String> =
                self.dominant_passes().iter().take(6).map(|(n, ms, share)| format!("{n} {ms:.3} ms ({:.0}%)", share * 100.0)).collect();
            out += &format!("GPU per step (median): {}\n", passes.join(", "));
        } else {
            out += &format!("no GPU pass times: {}\n", s.timestamps.reason.as_deref().unwrap_or("unsupported"));
        }
        if let Some(note) = &s.timestamps.note {
            out += &format!("{note}\n");
        }
        out += &format!("GPU memory peak {:.1} MiB over {} allocations", s.memory.peak_bytes as f64 / 1048576.0, s.memory.allocations);
        if let Some(host) = s.memory.host {
            out += &format!("; host resident {:.1} MiB", host.resident_bytes as f64 / 1048576.0);
        }
        out
    }
}
