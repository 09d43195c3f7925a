//! Making a trainer: a new run, a run resumed from a checkpoint, and devices joining it.

use super::Trainer;
use crate::render::backward::GpuSplatGrads;
use crate::rng::SplitMix;
use crate::train::checkpoint::{Checkpoint, CheckpointError};
use crate::train::config::{TrainConfig, check_config};
use crate::train::device::Device;
use crate::train::error::TrainError;
use crate::train::images::GpuImages;
use crate::train::in_flight::InFlight;
use crate::train::nonfinite::NonFiniteLog;
use crate::train::nonfinite_probe::{Probe, interval_from_env};
use crate::train::replicas::Exchange;
use crate::train::step_metrics::PendingSteps;
use crate::train::step_trace::StepTrace;
use crate::train::strategy::default::DefaultStrategy;
use crate::train::strategy::{Strategy, StrategyState};
use crate::train::views::{TrainView, ViewOrder};
use crate::{GpuContext, Splats};

impl Trainer {
    pub fn new(
        gpu: &GpuContext,
        splats: &Splats,
        views: Vec<TrainView>,
        images: GpuImages,
        extent: f32,
        config: TrainConfig,
    ) -> Result<Self, TrainError> {
        Self::new_or_return(gpu, splats, views, images, extent, config).map_err(|(e, _)| e)
    }

    /// As [`Self::new`], giving the images back when it fails (the page keeps streaming images
    /// into them and may start again).
    pub fn new_or_return(
        gpu: &GpuContext,
        splats: &Splats,
        views: Vec<TrainView>,
        images: GpuImages,
        extent: f32,
        config: TrainConfig,
    ) -> Result<Self, (TrainError, GpuImages)> {
        let lead = Device::new(gpu.clone(), splats, &views, images, &config)?;
        let mut strategy: Box<dyn Strategy> = Box::new(DefaultStrategy::default());
        strategy.add_device(gpu);
        Ok(Self {
            rates: config.lr.scaled_for_batch(config.batch),
            rng: SplitMix(config.seed ^ 0x5eed),
            splat_budget: lead.splat_budget,
            exchange: Exchange::new(&[gpu]),
            devices: vec![lead],
            strategy,
            views,
            step: 0,
            order: ViewOrder::default(),
            extent,
            pending: PendingSteps::default(),
            in_flight: InFlight::default(),
            renderers_sized: false,
            config,
            nonfinite: NonFiniteLog::default(),
            probe: interval_from_env().map(Probe::new),
            refined_since_probe: false,
            trace: StepTrace::default(),
        })
    }

    /// A trainer continuing from `checkpoint`, to `steps` steps when given (else the
    /// checkpoint's own): the position learning rate then decays over those `steps`, the same
    /// total the loop runs to.
    pub fn from_checkpoint(
        gpu: &GpuContext,
        checkpoint: Checkpoint,
        views: Vec<TrainView>,
        images: GpuImages,
        steps: Option<u32>,
    ) -> Result<Self, TrainError> {
        Self::from_checkpoint_or_return(gpu, checkpoint, views, images, steps).map_err(|(e, _)| e)
    }

    /// As [`Self::from_checkpoint`], giving the images back when it fails.
    pub fn from_checkpoint_or_return(
        gpu: &GpuContext,
        checkpoint: Checkpoint,
        views: Vec<TrainView>,
        images: GpuImages,
        steps: Option<u32>,
    ) -> Result<Self, (TrainError, GpuImages)> {
        let Checkpoint { state, mut meta } = checkpoint;
        if let Err(e) = check_config(&meta.config) {
            return Err((CheckpointError::new("state.json", format!("bad settings: {e}")).into(), images));
        }
        if meta.active_sh_degree > 3 {
            return Err((CheckpointError::new("state.json", format!("bad active SH degree {}", meta.active_sh_degree)).into(), images));
        }
        if let Some(steps) = steps {
            if steps < meta.step {
                return Err((TrainError::StepsBelowCheckpoint { steps, step: meta.step }, images));
            }
            meta.config.steps = steps;
        }
        let mut trainer = Self::new_or_return(gpu, &state.splats, views, images, meta.extent, meta.config.clone())?;
        // The statistics gathered since the last round, as they were saved.
        trainer.devices[0].restore(state.moments, &state.stats, meta.adam_step, meta.active_sh_degree);
        trainer.step = meta.step;
        trainer.strategy.resume(StrategyState { opacity_was_reset: meta.opacity_was_reset });
        trainer.rng = SplitMix(meta.rng);
        Ok(trainer)
    }

    /// Adds a device (`gpu`, with the training images loaded there as on the others): from now
    /// on each step's views are shared among the devices and their gradients summed. It starts
    /// from this trainer's state, read back and uploaded bit for bit (a fresh run or a resumed
    /// one alike).
    pub async fn add_replica(&mut self, gpu: GpuContext, images: GpuImages) -> Result<(), (TrainError, GpuImages)> {
        let devices = self.devices.len() + 1;
        if (self.config.batch as usize) < devices {
            return Err((TrainError::BatchBelowDevices { batch: self.config.batch, devices }, images));
        }
        self.finish().await;
        let Checkpoint { state, meta } = match self.checkpoint().await {
            Ok(state) => state,
            Err(e) => return Err((e, images)),
        };
        // Every device must hold the scene, and each receives every other's gradients.
        let splats = self.num_splats();
        let grad_bytes_per_splat = GpuSplatGrads::floats(1, self.devices[0].splats.coeffs_per_splat()) * 4;
        let exchange_limit = self.gpu().max_binding_bytes().min(gpu.max_binding_bytes()) / (grad_bytes_per_splat * (devices as u64 - 1));
        let exchange_limit = exchange_limit.min(u32::MAX as u64) as u32;
        if splats > exchange_limit {
            return Err((TrainError::BudgetBelowStart { budget: exchange_limit, initial: splats as usize }, images));
        }
        // Refuses a scene beyond the new device's budget (`BudgetBelowStart`), as for the lead.
        let mut device = Device::new(gpu, &state.splats, &self.views, images, &meta.config)?;
        device.restore(state.moments, &state.stats, meta.adam_step, meta.active_sh_degree);
        // The statistics gathered so far stay the lead's (and are in the checkpoint): the new
        // device gathers its own from here, and a round adds them up.
        device.clear_stats();
        self.strategy.add_device(&device.gpu);
        self.splat_budget = self.splat_budget.min(device.splat_budget).min(exchange_limit);
        self.devices.push(device);
        self.exchange = Exchange::new(&self.devices.iter().map(|d| &d.gpu).collect::<Vec<_>>());
        self.renderers_sized = false;
        Ok(())
    }
}
