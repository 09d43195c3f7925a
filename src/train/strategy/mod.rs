//! How the scene's splats change between steps: a `Strategy` takes per-splat statistics from
//! each step's backward pass (`render::backward::GradientHook`) and, between steps, refines,
//! resets or relocates splats on every device alike. `default` is 3DGS's adaptive density
//! control (with its CPU twin `densify`, the GPU rounds `densify_gpu` and its `schedule`); a
//! second strategy is one more file here implementing the trait.

pub mod cpu;
pub mod default;
pub mod densify;
pub mod densify_gpu;
pub mod gradient_stats;
pub mod schedule;

use std::future::Future;
use std::pin::Pin;

use super::config::TrainConfig;
use super::device::Device;
use super::error::TrainError;
use super::nonfinite::NonFiniteLog;
use super::replicas::Exchange;
use super::step_trace::StepTrace;
use super::views::TrainView;
use crate::GpuContext;
use crate::render::backward::GradientHook;
use crate::rng::SplitMix;
use densify::RefineReport;

/// What a strategy's work between steps returns (boxed: strategies are trait objects, and the
/// work waits for the GPU).
pub type StrategyFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TrainError>> + 'a>>;

/// The run as a strategy sees it between steps: every device (holding the same splats), the
/// exchange between them, and the run's state it may use.
pub struct RunState<'a> {
    pub devices: &'a mut [Device],
    pub exchange: &'a mut Exchange,
    pub views: &'a [TrainView],
    pub config: &'a TrainConfig,
    pub extent: f32,
    /// The run's random numbers (drawn in one order, so that a run repeats).
    pub rng: &'a mut SplitMix,
    /// Where removed non-finite splats are counted (an error past the limit).
    pub nonfinite: &'a mut NonFiniteLog,
    /// Steps done.
    pub step: u32,
    /// The most splats the run may hold (within every device's).
    pub splat_budget: u32,
    /// Where the phases it runs on each device are recorded.
    pub trace: &'a mut StepTrace,
}

impl RunState<'_> {
    /// The most views one device renders a step.
    pub fn views_per_device(&self) -> usize {
        super::replicas::most_views_per_device(self.config.batch, self.devices.len())
    }
}

/// What happened between two steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Between {
    /// The splats were refined (renumbered): per-splat debugging state is stale.
    pub refined: bool,
}

/// What a strategy keeps in a checkpoint besides the splats, moments and statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StrategyState {
    pub opacity_was_reset: bool,
}

pub trait Strategy {
    /// Sets up its part on one more device (devices join in order, the lead first).
    fn add_device(&mut self, gpu: &GpuContext);

    /// GPU memory of its own buffers on device `rank`.
    fn memory_bytes(&self, rank: usize) -> u64;

    /// What it takes from step `step`'s backward pass on device `rank`, into that device's
    /// `stats` (None: nothing this step).
    fn gradient_hook<'a>(
        &'a self,
        rank: usize,
        stats: &'a wgpu::Buffer,
        step: u32,
        config: &TrainConfig,
    ) -> Option<Box<dyn GradientHook + 'a>>;

    /// Its work after a step (`run.step` steps done): refine, reset, relocate.
    fn between_steps<'a>(&'a mut self, run: RunState<'a>) -> StrategyFuture<'a, Between>;

    /// Removes every splat holding an infinite or NaN value on every device, changing nothing
    /// else (before a checkpoint or an export); how many went.
    fn remove_nonfinite<'a>(&'a mut self, run: RunState<'a>) -> StrategyFuture<'a, usize>;

    /// What a checkpoint keeps of it, and taking that up again on resume.
    fn state(&self) -> StrategyState;
    fn resume(&mut self, state: StrategyState);

    /// Its last round's report, if one ran.
    fn last_report(&self) -> Option<RefineReport>;
}
