//! The one training driver: `wgsplat train` blocks on it step by step, the page drives it in
//! slices that yield; it is the whole of what they use of training. It owns the trainer (on one
//! device or several), the run's profiler (attached to its own GPU context,
//! so only the run's jobs are timed), the metrics not yet taken, the evaluations, the training
//! clock (evaluation and checkpoints do not count) and the peak GPU memory, and says after each
//! step what is due: an evaluation (`eval_every`, `eval_at`, the last step) or a checkpoint
//! (`checkpoint_every`, the last step). Settings are validated once, in `TrainSettings::config`.

use super::checkpoint::Checkpoint;
use super::config::TrainSettings;
use super::images::{GpuImages, ImageFormat, ImagesTooLarge};
use super::init::initial_splats;
use super::trainer::{EvalResult, StepMetrics, TrainConfig, TrainError, TrainMemory, TrainView, Trainer};
use crate::GpuContext;
use crate::dataset::{DatasetIndex, FrameInfo};
use crate::kernel::clock::now_us;
use crate::profile::{Profile, Profiler, ProfilerOptions};
use crate::render::GpuSplats;

/// When a run evaluates and saves, in steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSchedule {
    pub eval_every: u32,
    pub eval_at: Vec<u32>,
    pub checkpoint_every: u32,
}

impl RunSchedule {
    pub fn of(settings: &TrainSettings) -> Self {
        Self { eval_every: settings.eval_every, eval_at: settings.eval_at.clone(), checkpoint_every: settings.checkpoint_every }
    }
}

/// What is due after a step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Due {
    pub evaluate: bool,
    pub checkpoint: bool,
    /// The run has done its steps.
    pub finished: bool,
}

/// How a session profiles.
#[derive(Debug, Clone)]
pub struct ProfileChoice {
    pub enabled: bool,
    pub label: String,
}

/// A snapshot of a run for the dashboards (the page's status, the CLI's report).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionStatus {
    pub step: u32,
    pub steps: u32,
    pub batch: u32,
    pub splats: u32,
    /// The splat budget in force: the configured one within what every device holds.
    pub splat_budget: u32,
    pub devices: usize,
    /// GPU memory on the lead device.
    pub memory: TrainMemory,
    pub last_refine: Option<super::strategy::densify::RefineReport>,
    /// Splats removed because they held infinite or NaN values.
    pub nonfinite: super::nonfinite::NonFiniteLog,
    /// Training images loaded, and those held in host memory and streamed to the GPU.
    pub images_loaded: usize,
    pub images_streamed: usize,
    /// How the training images are kept, and the GPU memory they take.
    pub image_format: String,
    pub image_gpu_bytes: u64,
    /// With several devices, what summing their gradients has cost.
    pub exchange: Option<super::replicas::ExchangeReport>,
}

pub struct TrainSession {
    trainer: Trainer,
    pub profiler: Profiler,
    /// The device with the run's own timer slot.
    gpu: GpuContext,
    pub schedule: RunSchedule,
    metrics: Vec<StepMetrics>,
    last_metrics: Option<StepMetrics>,
    pub evaluations: Vec<EvalResult>,
    /// Microseconds of training so far, and when the running stretch began.
    train_us: f64,
    running_since: Option<f64>,
    peak_gpu_bytes: u64,
    /// The step the session started at (a resumed run's checkpoint step).
    first_step: u32,
}

impl TrainSession {
    /// A new run on `index`'s training views: settings checked, splats from the dataset's
    /// points or random ones. Gives the images back when it fails (the page keeps them).
    pub fn start(
        gpu: &GpuContext,
        settings: &TrainSettings,
        index: &DatasetIndex,
        views: Vec<TrainView>,
        images: GpuImages,
        profile: ProfileChoice,
    ) -> Result<Self, (TrainError, GpuImages)> {
        if let Err(e) = settings.check() {
            return Err((e.into(), images));
        }
        let splats = initial_splats(index, settings.init_points, settings.seed);
        Self::start_from(gpu, settings, index, &splats, views, images, profile)
    }

    /// As `start`, from the given initial splats.
    pub fn start_from(
        gpu: &GpuContext,
        settings: &TrainSettings,
        index: &DatasetIndex,
        splats: &crate::Splats,
        views: Vec<TrainView>,
        images: GpuImages,
        profile: ProfileChoice,
    ) -> Result<Self, (TrainError, GpuImages)> {
        let config = match settings.config(index) {
            Ok(c) => c,
            Err(e) => return Err((e.into(), images)),
        };
        let trainer = Trainer::new_or_return(gpu, splats, views, images, index.scene_extent, config)?;
        Ok(Self::around(trainer, RunSchedule::of(settings), profile))
    }

    /// A run continuing from `checkpoint`, with its configuration (steps, splat budget, ...):
    /// call [`Checkpoint::prepare_resume`] first, which checks the dataset and applies the
    /// run's settings to it.
    pub fn resume(
        gpu: &GpuContext,
        checkpoint: Checkpoint,
        schedule: RunSchedule,
        views: Vec<TrainView>,
        images: GpuImages,
        profile: ProfileChoice,
    ) -> Result<Self, (TrainError, GpuImages)> {
        let trainer = Trainer::from_checkpoint_or_return(gpu, checkpoint, views, images, None)?;
        Ok(Self::around(trainer, schedule, profile))
    }

    /// A session around a trainer made elsewhere (tests, tools).
    pub fn around(mut trainer: Trainer, schedule: RunSchedule, profile: ProfileChoice) -> Self {
        let gpu = trainer.use_own_timer();
        let profiler = if profile.enabled {
            Profiler::new(&gpu, ProfilerOptions { label: profile.label, ..Default::default() })
        } else {
            Profiler::disabled()
        };
        gpu.attach_timer(profiler.gpu_timer());
        let first_step = trainer.steps_done();
        Self {
            trainer,
            profiler,
            gpu,
            schedule,
            metrics: Vec::new(),
            last_metrics: None,
            evaluations: Vec::new(),
            train_us: 0.0,
            running_since: None,
            peak_gpu_bytes: 0,
            first_step,
        }
    }

    /// The run's lead device (its jobs are timed into the run's profile).
    pub fn gpu(&self) -> &GpuContext {
        &self.gpu
    }

    /// Adds devices to the run (`gpu`, with the training images loaded there as on the lead,
    /// each): from now on each step's views are shared among them. Before the first step; gives
    /// the images of the device that failed back.
    pub async fn add_devices(&mut self, devices: Vec<(GpuContext, GpuImages)>) -> Result<(), (TrainError, GpuImages)> {
        for (gpu, images) in devices {
            self.trainer.add_replica(gpu, images).await?;
        }
        Ok(())
    }

    /// An error once a device is lost: the steps since the last checkpoint are gone, and
    /// nothing more can run on it (the caller keeps its last checkpoint and says where it is).
    fn check_device(&self) -> Result<(), TrainError> {
        let lost = (0..self.trainer.devices()).find_map(|rank| self.trainer.device(rank).gpu().lost());
        match lost {
            Some(reason) => Err(TrainError::DeviceLost { step: self.trainer.steps_done(), reason }),
            None => Ok(()),
        }
    }

    pub fn step(&self) -> u32 {
        self.trainer.steps_done()
    }

    pub fn steps(&self) -> u32 {
        self.trainer.config().steps
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        self.trainer.config()
    }

    /// Changes what a running session may change: its length (`steps`, not below the step
    /// reached) and how often it logs metrics.
    pub fn set_run_length(&mut self, steps: u32, log_every: u32) -> Result<(), TrainError> {
        self.trainer.set_run_length(steps, log_every)
    }

    /// Steps this session trained (not those before a resume).
    pub fn steps_trained(&self) -> u32 {
        self.trainer.steps_done() - self.first_step
    }

    pub fn is_finished(&self) -> bool {
        self.trainer.steps_done() >= self.trainer.config().steps
    }

    /// The run's state for a dashboard or a report.
    pub fn status(&self) -> SessionStatus {
        let t = &self.trainer;
        let images = t.device(0).images();
        SessionStatus {
            step: t.steps_done(),
            steps: t.config().steps,
            batch: t.config().batch,
            splats: t.num_splats(),
            splat_budget: t.splat_budget(),
            devices: t.devices(),
            memory: t.memory_bytes(),
            last_refine: t.last_refine(),
            nonfinite: t.nonfinite(),
            images_loaded: images.loaded.iter().filter(|l| **l).count(),
            images_streamed: images.streamed_count(),
            image_format: images.format().to_string(),
            image_gpu_bytes: images.memory_bytes(),
            exchange: t.exchange_report(),
        }
    }

    /// The model being trained and the views it trains on (the page's live view).
    pub fn model(&self) -> (&GpuSplats, &[TrainView]) {
        (self.trainer.device(0).splats(), self.trainer.views())
    }

    /// The lead device's training images: the page streams images into them while training.
    pub fn train_images_mut(&mut self) -> &mut GpuImages {
        self.trainer.images_mut()
    }

    /// Ends the session, giving its training images back (a new run takes them over).
    pub fn into_train_images(self) -> GpuImages {
        self.trainer.into_images()
    }

    /// What the last step ran on each device.
    pub fn last_step_trace(&self) -> &super::step_trace::StepTrace {
        self.trainer.last_step_trace()
    }

    /// One training step and its bookkeeping (metrics that landed, memory, profile); says what
    /// is due now. Waits for the GPU only to stay a few steps ahead and at density control.
    pub async fn train_step(&mut self) -> Result<Due, TrainError> {
        if self.is_finished() {
            return Ok(Due { finished: true, ..Due::default() });
        }
        self.running_since.get_or_insert_with(now_us);
        self.check_device()?;
        {
            let _step = self.profiler.begin_step(self.trainer.steps_done() as u64);
            let _span = self.profiler.span("step");
            {
                let _wait = self.profiler.span("wait for the GPU");
                self.trainer.throttle().await;
            }
            self.trainer.step().await?;
        }
        self.check_device()?;
        self.poll_metrics()?;
        self.peak_gpu_bytes = self.peak_gpu_bytes.max(self.trainer.memory_bytes().total());
        if self.profiler.is_enabled() {
            if self.trainer.steps_done().is_multiple_of(10) {
                self.trainer.observe(&self.profiler);
            }
            // Never waits: picks up the timestamps that landed, so the ring keeps room.
            self.profiler.collect(&self.gpu);
        }
        let step = self.trainer.steps_done();
        let finished = self.is_finished();
        let s = &self.schedule;
        Ok(Due {
            evaluate: finished || (s.eval_every > 0 && step.is_multiple_of(s.eval_every)) || s.eval_at.contains(&step),
            checkpoint: finished || (s.checkpoint_every > 0 && step.is_multiple_of(s.checkpoint_every)),
            finished,
        })
    }

    fn poll_metrics(&mut self) -> Result<(), TrainError> {
        for m in self.trainer.poll_metrics()? {
            if self.profiler.is_enabled() {
                self.profiler.counters("training", &[("loss", m.loss), ("psnr", m.psnr)]);
            }
            self.last_metrics = Some(m);
            self.metrics.push(m);
        }
        Ok(())
    }

    /// Waits for every submitted step and stops the training clock (until the next step).
    pub async fn pause(&mut self) -> Result<(), TrainError> {
        self.trainer.finish().await;
        if let Some(since) = self.running_since.take() {
            self.train_us += now_us() - since;
        }
        self.poll_metrics()
    }

    /// PSNR and SSIM on `views` (images in `images`); kept in `evaluations`. Not training time.
    pub async fn evaluate(&mut self, views: &[TrainView], images: &mut GpuImages) -> Result<EvalResult, TrainError> {
        self.pause().await?;
        let result = self.trainer.evaluate(views, images).await?;
        self.evaluations.push(result.clone());
        Ok(result)
    }

    /// As `evaluate`, for other splats than the trained ones (the trained model read back from
    /// an exported file, say), with this run's background; not kept in `evaluations`.
    pub async fn evaluate_scene(
        &mut self,
        scene: &GpuSplats,
        views: &[TrainView],
        images: &mut GpuImages,
    ) -> Result<EvalResult, TrainError> {
        self.pause().await?;
        self.trainer.evaluate_scene(scene, views, images).await
    }

    /// The run's checkpoint (to store on disk or in the browser). Not training time.
    pub async fn checkpoint(&mut self) -> Result<Checkpoint, TrainError> {
        self.pause().await?;
        self.trainer.checkpoint().await
    }

    /// The trained splats, without any that hold a non-finite value (the trainer's
    /// `nonfinite()` counts those). Not training time.
    pub async fn export(&mut self) -> Result<crate::Splats, TrainError> {
        self.pause().await?;
        self.trainer.export().await
    }

    /// Metrics read back since the last call, oldest first.
    pub fn take_metrics(&mut self) -> Vec<StepMetrics> {
        std::mem::take(&mut self.metrics)
    }

    /// The newest metrics read back.
    pub fn last_metrics(&self) -> Option<StepMetrics> {
        self.last_metrics
    }

    /// Seconds of training (without evaluation, checkpoints and pauses).
    pub fn train_seconds(&self) -> f64 {
        (self.train_us + self.running_since.map_or(0.0, |since| now_us() - since)) / 1e6
    }

    pub fn peak_gpu_bytes(&self) -> u64 {
        self.peak_gpu_bytes
    }

    /// The profile so far (the run goes on).
    pub fn profile_snapshot(&self) -> Profile {
        self.profiler.collect(&self.gpu);
        self.profiler.snapshot()
    }

    /// The whole profile, after waiting for the GPU's last timestamps (natively); the session
    /// profiles nothing afterwards.
    pub fn finish_profile(&mut self) -> Profile {
        let profiler = std::mem::replace(&mut self.profiler, Profiler::disabled());
        self.gpu.attach_timer(None);
        profiler.finish(Some(&self.gpu))
    }
}

/// Room for the images of a dataset's frames could not be made (see [`frame_images`]).
#[derive(Debug, thiserror::Error)]
#[error("{}{problem}", file.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct FrameImagesError {
    /// The image at fault, when one is (not for the host memory all of them need).
    pub file: Option<String>,
    pub problem: ImagesTooLarge,
}

/// [`GpuImages::with_gpu_budget`] for `frames` at their cameras' sizes, for both front ends:
/// `GpuImages` knows images by index, so an image too large is named here by its file
/// (`describe` turns a frame's image path into the name shown, e.g. `lego.zip/train/r_0.png`).
pub fn frame_images(
    gpu: &GpuContext,
    frames: &[FrameInfo],
    format: ImageFormat,
    gpu_budget: u64,
    describe: &dyn Fn(&str) -> String,
) -> Result<GpuImages, FrameImagesError> {
    let sizes: Vec<(u32, u32)> = frames.iter().map(|f| (f.camera.width, f.camera.height)).collect();
    GpuImages::with_gpu_budget(gpu, &sizes, format, gpu_budget).map_err(|problem| {
        let index = match &problem {
            ImagesTooLarge::Image { index, .. } | ImagesTooLarge::HostAllocation { index, .. } => Some(*index),
            ImagesTooLarge::Host { .. } | ImagesTooLarge::Step { .. } => None,
        };
        FrameImagesError { file: index.and_then(|i| frames.get(i)).map(|f| describe(&f.image_path)), problem }
    })
}
