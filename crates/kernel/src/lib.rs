//! wgsplat-kernel, the bottom layer: the GPU context and the toolkit every GPU pass is built
//! from. It knows nothing of splats.
//!
//! - `context`: adapter, device, queue, optional features, limits, the attached GPU timer;
//!   readbacks (`read_buffer`, `with_mapped`).
//! - `shader`: WGSL libraries, typed stages, `#import` (and variants, and `#enable`) resolved;
//!   `shaders`: this crate's own stages (shaders/); `shader_checks` (feature `validate`): the
//!   validation every crate's tests run over its library.
//! - `buffers`: buffer creation of the sizes every backend accepts.
//! - `recorder`: dispatches with their own per-stage parameters, clears and copies, encoded in
//!   order into one command buffer; `submit`: the one way a recorded job is timed and submitted.
//! - `jobs`: GPU-side sizes and indirect dispatch arguments.
//! - Primitives, each with a CPU twin of the same name in `cpu` and its own tests (tests/it/sort_scan.rs in wgsplat) and benchmarks
//!   (`wgsplat bench sort|scan|compact`): `sort` (radix sort of key/value pairs by the low `bits`
//!   bits), `scan` (exclusive prefix sum), `compact` (stream compaction).
//! - `all_reduce`: the sum of a buffer across devices through the host (data-parallel
//!   training).
//! - `timer`: GPU timestamps per pass in a ring read back a few frames late; `clock`: the one
//!   monotonic clock of profiles.

pub mod all_reduce;
pub mod buffers;
pub mod clock;
pub mod compact;
pub mod context;
pub mod cpu;
pub mod jobs;
pub mod recorder;
pub mod scan;
pub mod shader;
#[cfg(any(test, feature = "validate"))]
pub mod shader_checks;
/// This crate's WGSL (shaders/): [`shaders::LIBRARY`] and a typed constant per stage.
pub mod shaders {
    include!(concat!(env!("OUT_DIR"), "/shaders.rs"));
}
pub mod sort;
pub mod submit;
pub mod timer;

pub use context::{AdapterReport, GpuContext, GpuError, OptionalFeatures, default_instance_descriptor, read_buffer, with_mapped};
pub use recorder::{Binding, Recorder, Uniforms, Workgroups};
pub use submit::submit;
