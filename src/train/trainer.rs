//! The training loop, native and in the browser: B views a step, rendered in one batched pass,
//! the loss and its gradient, the backward pass and Adam, all submitted without waiting on the
//! GPU. Loss metrics are read back a few steps late; density control (every few hundred views)
//! is the one sync point.
//!
//! The methods that wait for the GPU are `async`: in the browser they yield to the page while
//! the GPU works (a blocking wait is impossible there), natively the caller wraps them in
//! `pollster::block_on` (the readbacks poll the device themselves).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::adam::{Adam, Group, GroupRates};
use super::checkpoint::{Checkpoint, CheckpointError, CheckpointMeta};
pub use super::config::TrainConfig;
use super::config::check_config;
use super::densify::{RefineReport, RefineState};
use super::densify_gpu::{DensifyError, DensifyTargets, GpuDensify, Round, RoundKind};
use super::images::{GpuImages, ImageFormat};
use super::loss::{LossPass, LossView, ViewMetrics, layout_eval_views, layout_share_views, partials_bytes};
use super::replicas::{ExchangeReport, Peer, Replicas, shares};
use super::schedule::{LearningRates, RefineSchedule};
use crate::kernel::buffers;
use crate::profile::MemoryCategory;
use crate::render::backward::GpuSplatGrads;
use crate::render::{GpuSplats, RenderError, Renderer, STATUS_BYTES, View};
use crate::rng::SplitMix;
use crate::{Camera, GpuContext, Splats};

/// Loss metrics of one step (means over its views).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepMetrics {
    pub step: u32,
    pub loss: f64,
    pub l1: f64,
    pub ssim: f64,
    pub psnr: f64,
}

/// PSNR and SSIM over a set of views, predictions clamped to [0, 1].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalResult {
    pub step: u32,
    pub views: usize,
    pub psnr: f64,
    pub ssim: f64,
    pub l1: f64,
    pub splats: u32,
    pub per_view: Vec<(String, f64, f64)>,
}

/// A submitted step: natively waited on by its submission index, in the browser by the
/// `on_submitted_work_done` callback.
struct InFlight {
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    index: wgpu::SubmissionIndex,
    done: futures_channel::oneshot::Receiver<()>,
}

struct PendingMetrics {
    step: u32,
    /// One part per device: the views it rendered and their per-tile sums.
    parts: Vec<MetricsPart>,
}

struct MetricsPart {
    views: Vec<LossView>,
    staging: wgpu::Buffer,
    ready: Arc<AtomicBool>,
}

/// A view to train on or evaluate: its camera and its image's slot.
#[derive(Debug, Clone)]
pub struct TrainView {
    pub name: String,
    pub camera: Camera,
    pub slot: usize,
}

impl TrainView {
    /// One view a frame, slot i for frame i.
    pub fn of_frames(frames: &[crate::dataset::FrameInfo]) -> Vec<TrainView> {
        frames.iter().enumerate().map(|(slot, f)| TrainView { name: f.name.clone(), camera: f.camera, slot }).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("no training image could be loaded")]
    NoImages,
    #[error(transparent)]
    Images(#[from] super::images::ImagesTooLarge),
    #[error("the loss became {loss} at step {step}: training diverged (lower the learning rates)")]
    Diverged { step: u32, loss: f64 },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Settings(#[from] super::config::SettingsError),
    #[error("steps: {steps} is below the checkpoint's step {step}")]
    StepsBelowCheckpoint { steps: u32, step: u32 },
    #[error(transparent)]
    Densify(#[from] DensifyError),
    #[error(
        "the splat budget of {budget} is below the {initial} splats training starts from (raise the budget, --max-splats natively, or start from fewer points)"
    )]
    BudgetBelowStart { budget: u32, initial: usize },
    #[error(
        "the training images were composited over the background {images:?}, but this run trains on {wanted} (load them again for this background)"
    )]
    ImagesComposited { images: [f32; 3], wanted: String },
    #[error("the GPU device was lost at step {step} ({reason})")]
    DeviceLost { step: u32, reason: String },
    #[error("{devices} devices need at least {devices} views a step (the batch is {batch})")]
    BatchBelowDevices { batch: u32, devices: usize },
    #[error("the replicas on the devices differ at step {step}: {detail} (a bug: please report it)")]
    ReplicasDiverged { step: u32, detail: String },
    #[error("{removed} splats held infinite or NaN values since step {first_step} and were removed, more than {percent}% of the {splats} splats: training is unstable (lower the learning rates)", percent = NONFINITE_LIMIT * 100.0)]
    TooManyNonFinite { removed: u64, first_step: u32, splats: u32 },
    #[error("WGSPLAT_PROBE_NONFINITE found {0}")]
    ProbeFoundNonFinite(String),
}

/// The share of the splats that may be removed for non-finite values over a run before it is an
/// error: a rare splat whose update overflows is dropped and training goes on; more than this
/// means the run itself is unstable, and saying so beats quietly shrinking the model.
pub const NONFINITE_LIMIT: f64 = 0.01;

/// Steps between the guard's checks for non-finite splats after the density-control window
/// (inside it, every round checks).
const NONFINITE_GUARD_EVERY: u32 = 1000;

/// Splats removed because they held infinite or NaN values (the guard in density control, and
/// before each checkpoint and export): how many, and the steps of the first and last removal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NonFiniteLog {
    pub removed: u64,
    pub first_step: Option<u32>,
    pub last_step: Option<u32>,
}

impl NonFiniteLog {
    fn record(&mut self, step: u32, removed: usize) {
        if removed == 0 {
            return;
        }
        self.removed += removed as u64;
        self.first_step.get_or_insert(step);
        self.last_step = Some(step);
    }
}

pub struct Trainer {
    pub config: TrainConfig,
    pub renderer: Renderer,
    pub splats: GpuSplats,
    pub adam: Adam,
    loss: LossPass,
    pub images: GpuImages,
    pub views: Vec<TrainView>,
    /// Density statistics: 4 floats per splat (see densify_stats.wgsl).
    pub(super) stats: wgpu::Buffer,
    pub step: u32,
    rng: SplitMix,
    order: Vec<usize>,
    order_pos: usize,
    pub extent: f32,
    /// Density control on the GPU.
    density: GpuDensify,
    rates: LearningRates,
    pending: VecDeque<PendingMetrics>,
    in_flight: VecDeque<InFlight>,
    /// Whether an opacity reset happened (large splats are pruned from then on).
    pub opacity_was_reset: bool,
    pub last_refine: Option<RefineReport>,
    /// Whether the renderer's buffers were sized for this scene (the first step does it, also
    /// after a resume).
    renderer_sized: bool,
    /// At most this many splats (the configured budget within what this device holds).
    pub splat_budget: u32,
    /// Replicas on other devices (`add_replica`): each step's views are shared among them.
    replicas: Option<Replicas>,
    /// Splats removed for non-finite values so far.
    nonfinite: NonFiniteLog,
    /// The debugging probe (`nonfinite_probe`), when the environment asks for it, and whether a
    /// density-control round ran since its last check.
    probe: Option<super::nonfinite_probe::Probe>,
    refined_since_probe: bool,
}

/// Steps the CPU may record ahead of the GPU. Steps in flight share every buffer (the GPU runs
/// them in order). 16 in the browser instead of 3 did not help: the page's steps are not held
/// up by the latency of the "done" notice but by how fast the browser's GPU process gets
/// through a step's commands (BENCHMARKS.md, "Training in the browser on the H200").
const MAX_STEPS_IN_FLIGHT: usize = 3;

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
        if !views.iter().any(|v| images.loaded.get(v.slot).copied().unwrap_or(false)) {
            return Err((TrainError::NoImages, images));
        }
        if let ImageFormat::Rgb8Over(composited) = images.format()
            && (config.random_background || composited != config.background)
        {
            let wanted = if config.random_background { "random backgrounds".to_string() } else { format!("{:?}", config.background) };
            return Err((TrainError::ImagesComposited { images: composited, wanted }, images));
        }
        // The budget in force: the one asked for (kept in the config, and so in checkpoints), at
        // most what this device holds; without one, what the device holds, so that a scene never
        // grows until the device is lost.
        let device = super::config::device_splat_budget(gpu.max_binding_bytes(), config.batch, splats.coeffs_per_splat() as u32);
        let budget = match config.densify.max_splats {
            0 => device,
            asked => asked.min(device),
        };
        if splats.len() > budget as usize {
            return Err((TrainError::BudgetBelowStart { budget, initial: splats.len() }, images));
        }
        let renderer = match Renderer::new(gpu) {
            Ok(r) => r,
            Err(e) => return Err((e.into(), images)),
        };
        let mut gpu_splats = match renderer.upload(gpu, splats) {
            Ok(s) => s,
            Err(e) => return Err((e.into(), images)),
        };
        gpu_splats.active_sh_degree = 0;
        let adam = Adam::new(gpu, &gpu_splats);
        let stats = buffers::storage(&gpu.device, "densify stats", splats.len() as u64 * 16);
        let rates = config.lr.scaled_for_batch(config.batch);
        let rng = SplitMix(config.seed ^ 0x5eed);
        Ok(Self {
            renderer,
            splats: gpu_splats,
            adam,
            loss: LossPass::new(gpu),
            images,
            views,
            stats,
            step: 0,
            rng,
            order: Vec::new(),
            order_pos: 0,
            extent,
            density: GpuDensify::new(gpu),
            rates,
            pending: VecDeque::new(),
            in_flight: VecDeque::new(),
            opacity_was_reset: false,
            last_refine: None,
            renderer_sized: false,
            splat_budget: budget,
            config,
            replicas: None,
            nonfinite: NonFiniteLog::default(),
            probe: super::nonfinite_probe::interval_from_env().map(super::nonfinite_probe::Probe::new),
            refined_since_probe: false,
        })
    }

    pub fn num_splats(&self) -> u32 {
        self.splats.num_splats
    }

    /// Devices training together: 1, or 1 + the replicas added.
    pub fn devices(&self) -> usize {
        self.replicas.as_ref().map_or(1, Replicas::devices)
    }

    /// What the gradient exchange between devices has cost, with replicas.
    pub fn exchange_report(&self) -> Option<ExchangeReport> {
        self.replicas.as_ref().map(|r| r.report.clone())
    }

    /// Adds a replica of this trainer on another device (`peer_gpu`, with the training images
    /// loaded there as in this trainer's): from now on each step's views are shared among the
    /// devices and their gradients summed. The replica starts from this trainer's state, read
    /// back and uploaded bit for bit (a fresh run or a resumed one alike).
    pub async fn add_replica(&mut self, gpu: &GpuContext, peer_gpu: GpuContext, images: GpuImages) -> Result<(), (TrainError, GpuImages)> {
        let devices = self.devices() + 1;
        if (self.config.batch as usize) < devices {
            return Err((TrainError::BatchBelowDevices { batch: self.config.batch, devices }, images));
        }
        self.finish(gpu).await;
        let state = match self.checkpoint(gpu).await {
            Ok(state) => state,
            Err(e) => return Err((e, images)),
        };
        // Every device must hold the scene, and each receives every other's gradients.
        let grad_bytes_per_splat = GpuSplatGrads::floats(1, self.splats.coeffs_per_splat()) * 4;
        let exchange_limit = gpu.max_binding_bytes().min(peer_gpu.max_binding_bytes()) / (grad_bytes_per_splat * (devices as u64 - 1));
        let exchange_limit = exchange_limit.min(u32::MAX as u64) as u32;
        if (self.splats.num_splats) > exchange_limit {
            return Err((TrainError::BudgetBelowStart { budget: exchange_limit, initial: self.splats.num_splats as usize }, images));
        }
        // Refuses a scene beyond the peer device's budget (`BudgetBelowStart`), as for the lead.
        let peer = Trainer::from_checkpoint_or_return(&peer_gpu, state, self.views.clone(), images, None)?;
        // The statistics gathered so far stay the lead's (and are in the checkpoint): the
        // replica gathers its own from here, and the round adds them up.
        let mut encoder = peer_gpu.device.create_command_encoder(&Default::default());
        encoder.clear_buffer(&peer.stats, 0, None);
        peer_gpu.queue.submit([encoder.finish()]);
        self.splat_budget = self.splat_budget.min(peer.splat_budget).min(exchange_limit);
        let mut peers = self.replicas.take().map(|r| r.peers).unwrap_or_default();
        peers.push(Peer { gpu: peer_gpu, trainer: peer });
        self.replicas = Some(Replicas::new(gpu, peers));
        self.renderer_sized = false;
        Ok(())
    }

    /// The replicas on other devices, in device order after this trainer's (none without
    /// `add_replica`). Their trainers hold each device's state (splats, moments, statistics);
    /// the run's loop state (random numbers, the views' order) is the lead's alone.
    pub fn peers(&self) -> &[Peer] {
        self.replicas.as_ref().map_or(&[], |r| &r.peers)
    }

    fn peers_mut(&mut self) -> &mut [Peer] {
        self.replicas.as_mut().map_or(&mut [], |r| &mut r.peers)
    }

    /// Bytes of GPU memory by category.
    pub fn memory_bytes(&self) -> TrainMemory {
        TrainMemory {
            splats: self.splats.memory_bytes(),
            optimizer_state: self.adam.memory_bytes(),
            intermediates: self.renderer.memory_bytes()
                + self.loss.memory_bytes()
                + self.stats.size()
                + self.density.memory_bytes()
                + self.replicas.as_ref().map_or(0, Replicas::lead_memory_bytes),
            images: self.images.memory_bytes(),
        }
    }

    /// Hands the profiler what it samples besides timings: memory by category and the splat
    /// count (the profiler observes; nothing here changes training).
    pub fn observe(&self, profiler: &crate::profile::Profiler) {
        let memory = self.memory_bytes();
        profiler.memory_set(MemoryCategory::Splats, memory.splats);
        profiler.memory_set(MemoryCategory::OptimizerState, memory.optimizer_state);
        profiler.memory_set(MemoryCategory::Intermediates, memory.intermediates);
        profiler.memory_set(MemoryCategory::Images, memory.images);
        profiler.counter("splats", self.num_splats() as f64);
        profiler.counter("non-finite splats removed", self.nonfinite.removed as f64);
    }

    /// Splats removed so far because they held infinite or NaN values.
    pub fn nonfinite(&self) -> NonFiniteLog {
        self.nonfinite
    }

    /// Counts `removed` non-finite splats at this step; an error once they pass
    /// `NONFINITE_LIMIT` of the scene.
    fn record_nonfinite(&mut self, removed: usize) -> Result<(), TrainError> {
        self.nonfinite.record(self.step, removed);
        let splats = self.splats.num_splats;
        if self.nonfinite.removed as f64 > NONFINITE_LIMIT * (splats as f64).max(1.0) {
            let first_step = self.nonfinite.first_step.unwrap_or(self.step);
            return Err(TrainError::TooManyNonFinite { removed: self.nonfinite.removed, first_step, splats });
        }
        Ok(())
    }

    /// Removes the splats that hold an infinite or NaN parameter, moment or statistic, on every
    /// device, and changes nothing else (before a checkpoint or an export: a broken splat must
    /// not cost the run). Returns how many went; one small readback when none did.
    pub async fn remove_nonfinite(&mut self, gpu: &GpuContext) -> Result<usize, TrainError> {
        let removed = self.remove_nonfinite_here(gpu).await?;
        if let Some(replicas) = self.replicas.as_mut() {
            replicas.forget_bind_groups();
            for (rank, peer) in replicas.peers.iter_mut().enumerate() {
                let theirs = peer.trainer.remove_nonfinite_here(&peer.gpu).await?;
                if theirs != removed {
                    return Err(TrainError::ReplicasDiverged {
                        step: self.step,
                        detail: format!("device {} held {theirs} non-finite splats, device 0 {removed}", rank + 1),
                    });
                }
            }
        }
        self.record_nonfinite(removed)?;
        Ok(removed)
    }

    /// This device's part of `remove_nonfinite` (it only shrinks the scene: the renderer's
    /// buffers stay large enough).
    async fn remove_nonfinite_here(&mut self, gpu: &GpuContext) -> Result<usize, TrainError> {
        Ok(self.round(gpu, Round::remove_nonfinite()).await?.nonfinite)
    }

    /// The next view of a shuffled pass over the loaded training views.
    fn next_view(&mut self) -> usize {
        if self.order_pos >= self.order.len() {
            self.order = (0..self.views.len()).filter(|&i| self.images.loaded[self.views[i].slot]).collect();
            for i in (1..self.order.len()).rev() {
                let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
                self.order.swap(i, j);
            }
            self.order_pos = 0;
        }
        self.order_pos += 1;
        self.order[self.order_pos - 1]
    }

    fn rates_at(&self, step: u32) -> GroupRates {
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

    /// Grows the renderer's buffers for `views` views like the next ones (after the scene
    /// changed), so that no training step renders with too little room.
    async fn size_renderer(&mut self, gpu: &GpuContext, views: usize) -> Result<(), TrainError> {
        let count = views.min(self.views.len());
        let views: Vec<View> = self.views[..count].iter().map(|v| View { camera: v.camera, background: self.config.background }).collect();
        // The RGBA8 readback: a fifth of the bytes; only the growth matters here.
        self.renderer.render_images_rgba8(gpu, &self.splats, &views).await?;
        Ok(())
    }

    /// The most views one device renders a step.
    fn views_per_device(&self) -> usize {
        (self.config.batch.max(1) as usize).div_ceil(self.devices())
    }

    /// Sizes every device's renderer for its share of a step.
    async fn size_renderers(&mut self, gpu: &GpuContext) -> Result<(), TrainError> {
        let share = self.views_per_device();
        self.size_renderer(gpu, share).await?;
        if let Some(replicas) = self.replicas.as_mut() {
            for peer in &mut replicas.peers {
                peer.trainer.size_renderer(&peer.gpu, share).await?;
            }
        }
        Ok(())
    }

    /// Renders `views` (the trainer's views `picked`, some or all of a step of `batch_views`
    /// views), their loss and its backward pass, adding to the density statistics in the
    /// refinement window: the gradients, and the metrics' readback when `log`.
    fn gradients(
        &mut self,
        gpu: &GpuContext,
        picked: &[usize],
        views: &[View],
        batch_views: usize,
        log: bool,
        gather_stats: bool,
    ) -> Result<(GpuSplatGrads, Option<MetricsPart>), TrainError> {
        let forward = self.renderer.render_share(gpu, &self.splats, views, batch_views)?;
        let image_slots: Vec<usize> = picked.iter().map(|&i| self.views[i].slot).collect();
        let truth = self.images.gather(gpu, &image_slots)?;
        let loss_views = layout_share_views(&self.images.loss_views(&image_slots, &truth, views.iter().map(|v| v.background)), batch_views);
        let staging = log.then(|| buffers::readback(&gpu.device, "loss metrics", partials_bytes(&loss_views)));
        self.loss.submit(gpu, &loss_views, &forward.target.rgba, &truth, staging.as_ref(), |_| {});
        let grads = self.renderer.backward(
            gpu,
            &self.splats,
            forward,
            &self.loss.v_pred,
            &self.loss.v_depth,
            gather_stats.then_some(&self.stats),
        )?;
        let part = staging.map(|staging| {
            let ready = Arc::new(AtomicBool::new(false));
            let flag = ready.clone();
            staging.slice(..).map_async(wgpu::MapMode::Read, move |r| flag.store(r.is_ok(), Ordering::Release));
            MetricsPart { views: loss_views, staging, ready }
        });
        Ok((grads, part))
    }

    /// One optimizer step over `batch` views (shared among the devices with replicas). Does
    /// not wait for the GPU (except to stay at most a few steps ahead, at density control, and
    /// with replicas for the gradient exchange).
    pub async fn step(&mut self, gpu: &GpuContext) -> Result<(), TrainError> {
        if !self.renderer_sized {
            self.size_renderers(gpu).await?;
            self.renderer_sized = true;
        }
        self.throttle(gpu).await;
        let step = self.step;
        let schedule = self.schedule();
        let sh_degree = schedule.sh_degree_at(step, self.config.max_sh_degree.min(self.splats.sh_degree));
        self.splats.active_sh_degree = sh_degree;
        let picked: Vec<usize> = (0..self.config.batch.max(1)).map(|_| self.next_view()).collect();
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
        let log = self.config.log_every > 0 && step % self.config.log_every == 0;
        let in_refine_window = step < schedule.stop;
        let rates = self.rates_at(step);
        let batch = views.len();
        let shares = shares(batch, self.devices());
        let (grads, part) = self.gradients(gpu, &picked[shares[0].clone()], &views[shares[0].clone()], batch, log, in_refine_window)?;
        let mut parts: Vec<MetricsPart> = part.into_iter().collect();
        if let Some(replicas) = self.replicas.as_mut() {
            let mut peer_grads = Vec::with_capacity(replicas.peers.len());
            for (peer, share) in replicas.peers.iter_mut().zip(&shares[1..]) {
                peer.trainer.splats.active_sh_degree = sh_degree;
                let (grads, part) =
                    peer.trainer.gradients(&peer.gpu, &picked[share.clone()], &views[share.clone()], batch, log, in_refine_window)?;
                peer_grads.push(grads);
                parts.extend(part);
            }
            replicas.exchange(gpu, &self.splats, &grads, &peer_grads, step).await?;
            for (peer, grads) in replicas.peers.iter_mut().zip(&peer_grads) {
                peer.trainer.adam.submit(&peer.gpu, &peer.trainer.splats, grads, &rates);
            }
        }
        let index = self.adam.submit(gpu, &self.splats, &grads, &rates);
        let (sender, done) = futures_channel::oneshot::channel();
        gpu.queue.on_submitted_work_done(move || {
            let _ = sender.send(());
        });
        self.in_flight.push_back(InFlight { index, done });
        if log {
            self.pending.push_back(PendingMetrics { step, parts });
        }
        self.step += 1;
        let next = self.step;
        for peer in self.peers_mut() {
            peer.trainer.step = next;
        }
        if self.probe.as_ref().is_some_and(|p| self.step % p.every == 0) {
            self.run_probe(gpu).await?;
        }
        if schedule.refines_at(self.step) {
            self.densify(gpu).await?;
            self.refined_since_probe = true;
        } else if self.step >= schedule.stop && self.step % NONFINITE_GUARD_EVERY == 0 {
            // Past the density-control window the guard runs on its own, now and then, so that
            // a splat that breaks late is gone before it can spread (one small readback).
            self.remove_nonfinite(gpu).await?;
        }
        if schedule.resets_opacity_at(self.step) {
            self.density.reset_opacity(gpu, &self.splats, &self.adam.moments[3], 0.01);
            for peer in self.peers_mut() {
                peer.trainer.density.reset_opacity(&peer.gpu, &peer.trainer.splats, &peer.trainer.adam.moments[3], 0.01);
                peer.trainer.opacity_was_reset = true;
            }
            self.opacity_was_reset = true;
        }
        Ok(())
    }

    /// The debugging probe's check (`nonfinite_probe`): the whole state read back.
    async fn run_probe(&mut self, gpu: &GpuContext) -> Result<(), TrainError> {
        self.finish(gpu).await;
        let state = self.download_state(gpu).await?;
        let grads = match self.renderer.last_gradients() {
            Some(g) => Some(g.read(gpu).await?),
            None => None,
        };
        let renumbered = std::mem::take(&mut self.refined_since_probe);
        let step = self.step;
        let found = self.probe.as_mut().and_then(|p| p.check(step, state, grads.as_ref(), renumbered));
        match found {
            Some(report) => {
                // Where the non-finite values entered: the loss's gradient of the last step, or
                // the backward pass's per-projection sums.
                let v_pred = buffers::read_u32s(gpu, &self.loss.v_pred, self.loss.v_pred.size()).await.map_err(RenderError::from)?;
                let mut extra = super::nonfinite_probe::census("v_pred (dL/d r, g, b, a per pixel)", &v_pred, 4);
                if let Some(g2d) = self.renderer.last_grads2d() {
                    let words = buffers::read_u32s(gpu, &g2d, g2d.size()).await.map_err(RenderError::from)?;
                    extra += &super::nonfinite_probe::census("grads2d (mean2d xy, conic xyz, opacity, rgb, depth, -, -)", &words, 12);
                }
                Err(TrainError::ProbeFoundNonFinite(report + &extra))
            }
            None => Ok(()),
        }
    }

    /// Keeps the CPU at most MAX_STEPS_IN_FLIGHT steps ahead of the GPU (`step` does this
    /// first; the session calls it before, to time the wait on its own).
    pub async fn throttle(&mut self, gpu: &GpuContext) {
        while self.in_flight.len() >= MAX_STEPS_IN_FLIGHT {
            let step = self.in_flight.pop_front().expect("non-empty");
            wait_for(gpu, step).await;
        }
    }

    /// Metrics of earlier steps whose readback has landed, oldest first. A non-finite loss is
    /// an error.
    pub fn poll_metrics(&mut self, gpu: &GpuContext) -> Result<Vec<StepMetrics>, TrainError> {
        let _ = gpu.device.poll(wgpu::PollType::Poll);
        for peer in self.peers() {
            let _ = peer.gpu.device.poll(wgpu::PollType::Poll);
        }
        let mut out = Vec::new();
        while self.pending.front().is_some_and(|p| p.parts.iter().all(|part| part.ready.load(Ordering::Acquire))) {
            let p = self.pending.pop_front().expect("non-empty");
            let mut per_view = Vec::new();
            for part in &p.parts {
                let partials: Vec<[f32; 4]> = {
                    let view = part
                        .staging
                        .slice(..)
                        .get_mapped_range()
                        .map_err(|e| RenderError::Gpu(crate::kernel::GpuError::Readback(e.to_string())))?;
                    bytemuck::cast_slice::<u8, [f32; 4]>(&view).to_vec()
                };
                part.staging.unmap();
                per_view.extend(LossPass::metrics_from_partials(&part.views, &partials));
            }
            let m = mean_metrics(&per_view);
            let metrics = StepMetrics { step: p.step, loss: m.loss(), l1: m.l1, ssim: m.ssim, psnr: m.psnr() };
            if !metrics.loss.is_finite() {
                return Err(TrainError::Diverged { step: p.step, loss: metrics.loss });
            }
            out.push(metrics);
        }
        Ok(out)
    }

    /// When density control and opacity resets run in this run (its length as configured now:
    /// the page may raise `steps` while training).
    pub fn schedule(&self) -> RefineSchedule {
        RefineSchedule::new(&self.config.densify, self.config.batch, self.config.steps)
    }

    /// One round of clone, split and prune on the GPU (`densify_gpu`): only the round's counts
    /// come back. With replicas, the devices' statistics are summed first and every device
    /// runs the same round.
    async fn densify(&mut self, gpu: &GpuContext) -> Result<(), TrainError> {
        let round = Round {
            extent: self.extent,
            prune_large: self.opacity_was_reset,
            seed: self.rng.next_u64() as u32,
            max_splats: self.splat_budget,
            kind: RoundKind::Refine,
        };
        if self.replicas.is_some() {
            let summed = self.summed_stats(gpu).await?;
            let replicas = self.replicas.as_mut().expect("checked above");
            replicas.write_stats(gpu, &self.stats, &summed);
            // The round may replace the buffers the exchange's kept bind groups hold.
            replicas.forget_bind_groups();
        }
        let share = self.views_per_device();
        let report = self.refine(gpu, round, share).await?;
        if let Some(replicas) = self.replicas.as_mut() {
            for (rank, peer) in replicas.peers.iter_mut().enumerate() {
                let theirs = peer.trainer.refine(&peer.gpu, round, share).await?;
                if theirs != report {
                    return Err(TrainError::ReplicasDiverged {
                        step: self.step,
                        detail: format!("density control on device {} gave {theirs:?}, on device 0 {report:?}", rank + 1),
                    });
                }
            }
        }
        self.last_refine = Some(report);
        self.record_nonfinite(report.nonfinite)
    }

    /// This device's part of a density-control round; then its renderer is sized for the new
    /// scene (`views` views a step).
    async fn refine(&mut self, gpu: &GpuContext, round: Round, views: usize) -> Result<RefineReport, TrainError> {
        let report = self.round(gpu, round).await?;
        self.size_renderer(gpu, views).await?;
        Ok(report)
    }

    /// Runs `round` of density control on this device's splats, moments and statistics.
    async fn round(&mut self, gpu: &GpuContext, round: Round) -> Result<RefineReport, TrainError> {
        // A round may replace the splat and moment buffers: the old ones must not outlive it in
        // the jobs' kept bind groups.
        self.renderer.forget_bind_groups();
        self.adam.forget_bind_groups();
        let targets = DensifyTargets { splats: &mut self.splats, moments: &mut self.adam.moments, stats: &mut self.stats };
        Ok(self.density.refine(gpu, targets, &self.config.densify, round).await?)
    }

    async fn download_state(&mut self, gpu: &GpuContext) -> Result<RefineState, TrainError> {
        let splats = self.splats.download(gpu).await?;
        let n = self.splats.num_splats as u64;
        let coeffs = self.splats.coeffs_per_splat();
        let mut moments: [Vec<[f32; 2]>; 5] = Default::default();
        for (i, group) in Group::ALL.iter().enumerate() {
            let floats = n * group.row_len(coeffs) as u64 * 2;
            let words = buffers::read_u32s(gpu, &self.adam.moments[i], floats * 4).await.map_err(RenderError::from)?;
            moments[i] = words.chunks(2).map(|c| [f32::from_bits(c[0]), f32::from_bits(c[1])]).collect();
        }
        // With replicas, the statistics of every device since the last round (the devices hold
        // the same splats, moments and rates).
        let stats = self.summed_stats(gpu).await?.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
        Ok(RefineState { splats, moments, stats })
    }

    /// The density statistics since the last round, read back (4 floats a splat), with
    /// replicas every device's added up (`replicas::combine_stats`).
    async fn summed_stats(&self, gpu: &GpuContext) -> Result<Vec<f32>, TrainError> {
        let bytes = self.splats.num_splats as u64 * 16;
        let words = buffers::read_u32s(gpu, &self.stats, bytes).await.map_err(RenderError::from)?;
        let mut stats: Vec<f32> = words.into_iter().map(f32::from_bits).collect();
        for peer in self.peers() {
            let theirs = buffers::read_u32s(&peer.gpu, &peer.trainer.stats, bytes).await.map_err(RenderError::from)?;
            super::replicas::combine_stats(&mut stats, theirs.into_iter().map(f32::from_bits));
        }
        Ok(stats)
    }

    /// Renders `views` (images in `images`) and measures PSNR and SSIM against them: each
    /// batch is rendered once, its loss sums and the render's status read back together (a
    /// batch whose intersections did not fit is rendered again with grown buffers).
    pub async fn evaluate(&mut self, gpu: &GpuContext, views: &[TrainView], images: &mut GpuImages) -> Result<EvalResult, TrainError> {
        self.evaluate_with(gpu, None, views, images).await
    }

    /// As [`evaluate`](Self::evaluate), for other splats than the trained ones (the trained
    /// model after a round trip through a lossy file format, say), with this run's background.
    pub async fn evaluate_scene(
        &mut self,
        gpu: &GpuContext,
        scene: &GpuSplats,
        views: &[TrainView],
        images: &mut GpuImages,
    ) -> Result<EvalResult, TrainError> {
        self.evaluate_with(gpu, Some(scene), views, images).await
    }

    async fn evaluate_with(
        &mut self,
        gpu: &GpuContext,
        scene: Option<&GpuSplats>,
        views: &[TrainView],
        images: &mut GpuImages,
    ) -> Result<EvalResult, TrainError> {
        let splats = scene.unwrap_or(&self.splats);
        let mut per_view = Vec::new();
        let batch = (self.config.batch as usize).max(1);
        for chunk in views.chunks(batch) {
            let render_views: Vec<View> = chunk.iter().map(|v| View { camera: v.camera, background: self.config.background }).collect();
            let image_slots: Vec<usize> = chunk.iter().map(|v| v.slot).collect();
            let truth = images.gather(gpu, &image_slots)?;
            let loss_views = layout_eval_views(&images.loss_views(&image_slots, &truth, std::iter::repeat(self.config.background)));
            let partial_bytes = partials_bytes(&loss_views);
            let staging = buffers::readback(&gpu.device, "evaluation", partial_bytes + STATUS_BYTES);
            let partials = loop {
                let forward = self.renderer.render(gpu, splats, &render_views)?;
                let status = forward.status_buffer().clone();
                self.loss.submit(gpu, &loss_views, &forward.target.rgba, &truth, Some(&staging), |encoder| {
                    encoder.copy_buffer_to_buffer(&status, 0, &staging, partial_bytes, STATUS_BYTES);
                });
                drop(forward);
                let (needed, partials) = crate::kernel::with_mapped(gpu, &staging, |bytes| {
                    let words: &[u32] = bytemuck::cast_slice(&bytes[partial_bytes as usize..]);
                    let partials: Vec<[f32; 4]> = bytemuck::cast_slice::<u8, [f32; 4]>(&bytes[..partial_bytes as usize]).to_vec();
                    (words[crate::render::jobs::STATUS_MAX_ISECTS as usize], partials)
                })
                .await
                .map_err(RenderError::from)?;
                if !self.renderer.grow_if_overflowed(gpu, needed)? {
                    break partials;
                }
            };
            for (v, m) in chunk.iter().zip(LossPass::metrics_from_partials(&loss_views, &partials)) {
                per_view.push((v.name.clone(), m.psnr(), m.ssim, m.l1));
            }
        }
        let n = per_view.len().max(1) as f64;
        Ok(EvalResult {
            step: self.step,
            views: per_view.len(),
            psnr: per_view.iter().map(|v| v.1).sum::<f64>() / n,
            ssim: per_view.iter().map(|v| v.2).sum::<f64>() / n,
            l1: per_view.iter().map(|v| v.3).sum::<f64>() / n,
            splats: splats.num_splats,
            per_view: per_view.into_iter().map(|(name, psnr, ssim, _)| (name, psnr, ssim)).collect(),
        })
    }

    /// The current splats (SH up to the trained degree), without any that hold a non-finite
    /// value (`remove_nonfinite`: `nonfinite()` counts them).
    pub async fn export(&mut self, gpu: &GpuContext) -> Result<Splats, TrainError> {
        self.remove_nonfinite(gpu).await?;
        Ok(self.splats.download(gpu).await?)
    }

    /// The state a checkpoint keeps: splats, optimizer moments, density statistics and the loop
    /// state. Refuses a broken state (non-finite values), so that a bad save never replaces a
    /// good one.
    pub async fn checkpoint(&mut self, gpu: &GpuContext) -> Result<Checkpoint, TrainError> {
        // A splat that went non-finite is dropped (and counted) rather than costing the save.
        self.remove_nonfinite(gpu).await?;
        let state = self.download_state(gpu).await?;
        state.splats.validate().map_err(|e| CheckpointError::new("splats", format!("not saving a broken state: {e}")))?;
        let meta = CheckpointMeta {
            step: self.step,
            adam_step: self.adam.step,
            opacity_was_reset: self.opacity_was_reset,
            rng: self.rng.0,
            active_sh_degree: self.splats.active_sh_degree,
            config: self.config.clone(),
            extent: self.extent,
        };
        Ok(Checkpoint { state, meta })
    }

    /// Writes a checkpoint into `dir` (see [`super::checkpoint`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn save_checkpoint(&mut self, gpu: &GpuContext, dir: &std::path::Path) -> Result<(), TrainError> {
        let checkpoint = self.checkpoint(gpu).await?;
        Ok(super::checkpoint::write(dir, &checkpoint)?)
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
        trainer.adam.set_moments(gpu, state.moments);
        // The density statistics gathered since the last round, as they were saved.
        gpu.queue.write_buffer(&trainer.stats, 0, bytemuck::cast_slice(&state.stats));
        trainer.adam.step = meta.adam_step;
        trainer.step = meta.step;
        trainer.opacity_was_reset = meta.opacity_was_reset;
        trainer.rng = SplitMix(meta.rng);
        trainer.splats.active_sh_degree = meta.active_sh_degree;
        Ok(trainer)
    }

    /// The position learning rate at `step` (what the resume tests check).
    pub fn means_rate_at(&self, step: u32) -> f32 {
        self.rates_at(step).means
    }

    /// Waits for every submitted step.
    pub async fn finish(&mut self, gpu: &GpuContext) {
        while let Some(step) = self.in_flight.pop_front() {
            wait_for(gpu, step).await;
        }
        // Natively, also run the callbacks of readbacks submitted after the last step.
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
            for peer in self.peers() {
                let _ = peer.gpu.device.poll(wgpu::PollType::wait_indefinitely());
            }
        }
    }
}

/// GPU memory of a trainer by category, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TrainMemory {
    pub splats: u64,
    pub optimizer_state: u64,
    pub intermediates: u64,
    pub images: u64,
}

impl TrainMemory {
    pub fn total(&self) -> u64 {
        self.splats + self.optimizer_state + self.intermediates + self.images
    }
}

/// Waits until a submitted step has run on the GPU.
async fn wait_for(gpu: &GpuContext, step: InFlight) {
    // A failed poll (device lost) may never run the callback: don't wait for it then; the
    // next submission or readback reports the error.
    #[cfg(not(target_arch = "wasm32"))]
    if let Err(e) = gpu.device.poll(wgpu::PollType::Wait { submission_index: Some(step.index), timeout: None }) {
        log::warn!("waiting for a training step: {e}");
        return;
    }
    #[cfg(target_arch = "wasm32")]
    let _ = gpu;
    // Natively the callback has run by now; in the browser this yields until it does. A dropped
    // sender (device lost) ends the wait too.
    let _ = step.done.await;
}

fn mean_metrics(views: &[ViewMetrics]) -> ViewMetrics {
    let n = views.len().max(1) as f64;
    ViewMetrics {
        l1: views.iter().map(|v| v.l1).sum::<f64>() / n,
        ssim: views.iter().map(|v| v.ssim).sum::<f64>() / n,
        mse: views.iter().map(|v| v.mse).sum::<f64>() / n,
    }
}
