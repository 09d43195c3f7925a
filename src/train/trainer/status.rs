//! What a trainer tells about itself: progress, devices, memory, the strategy's last report,
//! and the few settings a running trainer may change.

use super::Trainer;
use crate::GpuContext;
use crate::profile::{MemoryCategory, Profiler};
use crate::train::adam::GroupRates;
use crate::train::config::TrainConfig;
use crate::train::device::{Device, TrainMemory};
use crate::train::error::TrainError;
use crate::train::images::GpuImages;
use crate::train::nonfinite::NonFiniteLog;
use crate::train::replicas::ExchangeReport;
use crate::train::step_trace::StepTrace;
use crate::train::strategy::densify::RefineReport;
use crate::train::strategy::schedule::RefineSchedule;
use crate::train::views::TrainView;

impl Trainer {
    /// Steps done.
    pub fn steps_done(&self) -> u32 {
        self.step
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Changes the run's length (not below the steps done, nor below 1) and how often metrics
    /// are logged (every `log_every` steps, at least 1).
    pub fn set_run_length(&mut self, steps: u32, log_every: u32) -> Result<(), TrainError> {
        if steps < self.step.max(1) {
            return Err(TrainError::StepsBelowCurrent { steps, step: self.step });
        }
        self.config.steps = steps;
        self.config.log_every = log_every.max(1);
        Ok(())
    }

    /// The scene's extent the run was started with (position learning rates scale with it).
    pub fn extent(&self) -> f32 {
        self.extent
    }

    pub fn num_splats(&self) -> u32 {
        self.devices[0].splats.num_splats
    }

    /// Devices training together.
    pub fn devices(&self) -> usize {
        self.devices.len()
    }

    /// Device `rank` (0: the lead). Each holds the same splats, moments and statistics'
    /// layout; the run's loop state (random numbers, the views' order) is the coordinator's.
    pub fn device(&self, rank: usize) -> &Device {
        &self.devices[rank]
    }

    /// The lead device's context.
    pub fn gpu(&self) -> &GpuContext {
        &self.devices[0].gpu
    }

    /// The lead device on a context of its own for timing (`GpuContext::with_own_timer`): what
    /// is attached to it times only this run's jobs. Returns it.
    pub fn use_own_timer(&mut self) -> GpuContext {
        let gpu = self.devices[0].gpu.with_own_timer();
        self.devices[0].gpu = gpu.clone();
        gpu
    }

    pub fn views(&self) -> &[TrainView] {
        &self.views
    }

    /// The lead device's training images (the page streams images into them while training).
    pub fn images_mut(&mut self) -> &mut GpuImages {
        &mut self.devices[0].images
    }

    /// Takes the lead device's training images, ending the trainer (a new run takes them over).
    pub fn into_images(self) -> GpuImages {
        self.devices.into_iter().next().expect("a run has a device").images
    }

    /// The splat budget in force: the configured one within what every device holds.
    pub fn splat_budget(&self) -> u32 {
        self.splat_budget
    }

    /// What the gradient exchange between devices has cost, with several.
    pub fn exchange_report(&self) -> Option<ExchangeReport> {
        self.exchange.report()
    }

    /// The strategy's last round, if one ran.
    pub fn last_refine(&self) -> Option<RefineReport> {
        self.strategy.last_report()
    }

    /// What the last step ran on each device.
    pub fn last_step_trace(&self) -> &StepTrace {
        &self.trace
    }

    /// Splats removed so far because they held infinite or NaN values.
    pub fn nonfinite(&self) -> NonFiniteLog {
        self.nonfinite
    }

    /// When density control and opacity resets run in this run (its length as configured now:
    /// the page may raise `steps` while training).
    pub fn schedule(&self) -> RefineSchedule {
        RefineSchedule::new(&self.config.densify, self.config.batch, self.config.steps)
    }

    /// The position learning rate at `step` (what the resume tests check).
    pub fn means_rate_at(&self, step: u32) -> f32 {
        self.rates_at(step).means
    }

    pub(super) fn rates_at(&self, step: u32) -> GroupRates {
        let r = &self.rates;
        GroupRates {
            means: r.means_at(step, self.config.steps, self.extent),
            quats: r.quats,
            log_scales: r.scales,
            opacity: r.opacity,
            sh_dc: r.sh_dc,
            sh_rest: r.sh_rest,
        }
    }

    /// The most views one device renders a step.
    pub(super) fn views_per_device(&self) -> usize {
        crate::train::replicas::most_views_per_device(self.config.batch, self.devices.len())
    }

    /// Bytes of GPU memory by category, on the lead device.
    pub fn memory_bytes(&self) -> TrainMemory {
        self.devices[0].memory(self.strategy.memory_bytes(0) + self.exchange.lead_memory_bytes())
    }

    /// Hands the profiler what it samples besides timings: memory by category and the splat
    /// count (the profiler observes; nothing here changes training).
    pub fn observe(&self, profiler: &Profiler) {
        let memory = self.memory_bytes();
        profiler.memory_set(MemoryCategory::Splats, memory.splats);
        profiler.memory_set(MemoryCategory::OptimizerState, memory.optimizer_state);
        profiler.memory_set(MemoryCategory::Intermediates, memory.intermediates);
        profiler.memory_set(MemoryCategory::Images, memory.images);
        profiler.counter("splats", self.num_splats() as f64);
        profiler.counter("non-finite splats removed", self.nonfinite.removed as f64);
    }
}
