//! The training loop, native and in the browser: a coordinator over one or more `Device`s that
//! run the same code. B views a step, shared among the devices, each rendering its share in one
//! batched pass with the loss and its gradient and the backward pass; the gradients summed over
//! the devices (`replicas`: nothing to do with one) and Adam's step on each, all submitted
//! without waiting on the GPU. Loss metrics are read back a few steps late; the `Strategy`
//! (density control) between steps is the one sync point.
//!
//! The methods that wait for the GPU are `async`: in the browser they yield to the page while
//! the GPU works (a blocking wait is impossible there), natively the caller wraps them in
//! `pollster::block_on` (the readbacks poll the device themselves).

mod outputs;
mod setup;
mod status;

use super::in_flight::InFlight;
use super::nonfinite_probe::Probe;
use super::rates::{LearningRates, sh_degree_at};
use super::replicas::{Exchange, shares};
use super::state::download_state;
use super::step_metrics::PendingSteps;
use super::step_trace::{Phase, StepTrace};
use super::strategy::{RunState, Strategy};
use super::views::ViewOrder;
use crate::render::View;
use crate::render::backward::GradientHook;
use crate::rng::SplitMix;

pub use super::config::TrainConfig;
pub use super::device::{Device, TrainMemory};
pub use super::error::{NONFINITE_LIMIT, TrainError};
pub use super::evaluate::EvalResult;
pub use super::nonfinite::NonFiniteLog;
pub use super::step_metrics::StepMetrics;
pub use super::views::TrainView;

pub struct Trainer {
    config: TrainConfig,
    /// The devices, the lead (whose loop state and images the run's views come from) first.
    devices: Vec<Device>,
    exchange: Exchange,
    strategy: Box<dyn Strategy>,
    views: Vec<TrainView>,
    step: u32,
    rng: SplitMix,
    order: ViewOrder,
    extent: f32,
    rates: LearningRates,
    pending: PendingSteps,
    in_flight: InFlight,
    /// Whether the renderers' buffers were sized for this scene (the first step does it, also
    /// after a resume or a device joining).
    renderers_sized: bool,
    /// At most this many splats (the configured budget within what every device holds).
    splat_budget: u32,
    nonfinite: NonFiniteLog,
    /// The debugging probe (`nonfinite_probe`), when the environment asks for it, and whether a
    /// density-control round ran since its last check.
    probe: Option<Probe>,
    refined_since_probe: bool,
    trace: StepTrace,
}

impl Trainer {
    /// The strategy and the run as it sees it (fields borrowed apart).
    fn strategy_and_run(&mut self) -> (&mut (dyn Strategy + 'static), RunState<'_>) {
        let run = RunState {
            devices: &mut self.devices,
            exchange: &mut self.exchange,
            views: &self.views,
            config: &self.config,
            extent: self.extent,
            rng: &mut self.rng,
            nonfinite: &mut self.nonfinite,
            step: self.step,
            splat_budget: self.splat_budget,
            trace: &mut self.trace,
        };
        (self.strategy.as_mut(), run)
    }

    /// One optimizer step over `batch` views shared among the devices. Does not wait for the
    /// GPU (except to stay at most a few steps ahead, for the strategy's work between steps,
    /// and with several devices for the gradient exchange).
    pub async fn step(&mut self) -> Result<(), TrainError> {
        self.trace.clear();
        if !self.renderers_sized {
            let share = self.views_per_device();
            for (rank, device) in self.devices.iter_mut().enumerate() {
                device.size_renderer(&self.views, share, self.config.background).await?;
                self.trace.record(Some(rank), Phase::SizeRenderer);
            }
            self.renderers_sized = true;
        }
        self.throttle().await;
        let step = self.step;
        let sh_degree = sh_degree_at(step, self.config.batch, self.config.max_sh_degree.min(self.devices[0].splats.sh_degree));
        let loaded = &self.devices[0].images.loaded;
        let picked: Vec<usize> = (0..self.config.batch.max(1)).map(|_| self.order.next(&self.views, loaded, &mut self.rng)).collect();
        let views: Vec<View> = picked
            .iter()
            .map(|&i| {
                let background = if self.config.random_background {
                    [self.rng.next_f32(), self.rng.next_f32(), self.rng.next_f32()]
                } else {
                    self.config.background
                };
                View { camera: self.views[i].camera, background }
            })
            .collect();
        let log = self.config.log_every > 0 && step.is_multiple_of(self.config.log_every);
        let rates = self.rates_at(step);
        let batch = views.len();
        let mut grads = Vec::with_capacity(self.devices.len());
        let mut parts = Vec::new();
        let shares = shares(batch, self.devices.len());
        for (rank, (device, share)) in self.devices.iter_mut().zip(shares).enumerate() {
            device.splats.active_sh_degree = sh_degree;
            let stats = device.stats.clone();
            let mut hook = self.strategy.gradient_hook(rank, &stats, step, &self.config);
            let hook = hook.as_mut().map(|h| &mut **h as &mut dyn GradientHook);
            let statistics = hook.is_some();
            let (g, part) = device.gradients(&self.views, &picked[share.clone()], &views[share], batch, log, hook)?;
            self.trace.record(Some(rank), Phase::Gradients { statistics });
            grads.push(g);
            parts.extend(part);
        }
        self.exchange.sum_gradients(&self.devices, &grads, step).await?;
        self.trace.record(None, Phase::Exchange);
        let mut lead_index = None;
        for (rank, (device, grads)) in self.devices.iter_mut().zip(&grads).enumerate() {
            let index = device.apply(grads, &rates);
            lead_index.get_or_insert(index);
            self.trace.record(Some(rank), Phase::Apply);
        }
        self.in_flight.push(&self.devices[0].gpu, lead_index.expect("a run has a device"));
        if log {
            self.pending.push(step, parts);
        }
        self.step += 1;
        if self.probe.as_ref().is_some_and(|p| self.step.is_multiple_of(p.every)) {
            self.run_probe().await?;
        }
        let (strategy, run) = self.strategy_and_run();
        if strategy.between_steps(run).await?.refined {
            self.refined_since_probe = true;
        }
        Ok(())
    }

    /// The debugging probe's check (`nonfinite_probe`): the whole state read back.
    async fn run_probe(&mut self) -> Result<(), TrainError> {
        self.finish().await;
        let state = download_state(&self.devices, &self.exchange).await?;
        let renumbered = std::mem::take(&mut self.refined_since_probe);
        match self.probe.as_mut() {
            Some(probe) => probe.run(&self.devices[0], state, self.step, renumbered).await,
            None => Ok(()),
        }
    }

    /// Keeps the CPU at most a few steps ahead of the GPU (`step` does this first; the session
    /// calls it before, to time the wait on its own).
    pub async fn throttle(&mut self) {
        self.in_flight.throttle(&self.devices[0].gpu).await;
    }

    /// Waits for every submitted step.
    pub async fn finish(&mut self) {
        self.in_flight.finish(&self.devices[0].gpu).await;
        // Natively, also run the callbacks of readbacks submitted after the last step.
        #[cfg(not(target_arch = "wasm32"))]
        for device in &self.devices {
            let _ = device.gpu.device.poll(wgpu::PollType::wait_indefinitely());
        }
    }

    /// Metrics of earlier steps whose readback has landed, oldest first. A non-finite loss is
    /// an error.
    pub fn poll_metrics(&mut self) -> Result<Vec<StepMetrics>, TrainError> {
        for device in &self.devices {
            let _ = device.gpu.device.poll(wgpu::PollType::Poll);
        }
        self.pending.take_landed()
    }
}
