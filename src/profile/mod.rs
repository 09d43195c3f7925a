//! Observing the pipeline without steering it: CPU spans, GPU time per pass, memory by category,
//! counters; written as Chrome Trace Event Format JSON with a `summary` (docs/profile-format.md),
//! and compared before/after (`compare`).
//!
//! - `Profiler::span` / `scope`: scoped CPU spans (a guard or a closure); `begin_step` groups
//!   spans and GPU frames by step.
//! - `kernel::timer::GpuTimer`: timestamps around every compute pass, resolved into a ring of
//!   readback buffers read a few frames late, so profiling never stalls the pipeline. It hangs
//!   off the GPU context (`GpuContext::attach_timer(profiler.gpu_timer())`): every job submitted
//!   through `kernel::submit` is timed, whichever module records it.
//! - `memory::MemoryLedger`: GPU bytes per category, current and peak, allocations.
//! - A disabled profiler (`Profiler::disabled`, `ProfilerOptions { enabled: false, .. }`) returns
//!   empty guards: no clock reads, no locks, no allocations.

pub mod bench;
pub use crate::kernel::clock;
pub mod compare;
pub mod cpu;
pub mod env;
pub mod memory;
mod profiler;
pub mod trace;

pub use crate::kernel::timer::{GpuTimer, SharedGpuTimer};
pub use cpu::Span;
pub use memory::{MemoryCategory, MemoryLedger};
pub use profiler::{Profiler, ProfilerOptions};
pub use trace::{Profile, Summary};
