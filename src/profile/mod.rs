//! Observing the pipeline without steering it: CPU spans, GPU time per pass, memory by category,
//! counters; written as Chrome Trace Event Format JSON with a `summary` (docs/profile-format.md),
//! and compared before/after (`compare`).
//!
//! - `Profiler::span` / `scope`: scoped CPU spans (a guard or a closure); `begin_step` groups
//!   spans and GPU frames by step.
//! - `gpu_timer::GpuTimer`: timestamps around every compute pass, resolved into a ring of readback
//!   buffers read a few frames late, so profiling never stalls the pipeline. Attach it to the
//!   renderer with `Renderer::attach_gpu_timer(profiler.gpu_timer())`; passes of training record
//!   through the same `Recorder::encode` timer argument.
//! - `memory::MemoryLedger`: GPU bytes per category, current and peak, allocations.
//! - A disabled profiler (`Profiler::disabled`, `ProfilerOptions { enabled: false, .. }`) returns
//!   empty guards: no clock reads, no locks, no allocations.

pub mod bench;
pub mod clock;
pub mod compare;
pub mod cpu;
pub mod env;
pub mod gpu_timer;
pub mod memory;
mod profiler;
pub mod trace;

pub use cpu::Span;
pub use gpu_timer::{GpuTimer, SharedGpuTimer};
pub use memory::{MemoryCategory, MemoryLedger};
pub use profiler::{Profiler, ProfilerOptions};
pub use trace::{Profile, Summary};
