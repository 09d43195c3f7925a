//! What can stop a training run.

use super::checkpoint::CheckpointError;
use super::strategy::densify_gpu::DensifyError;
use crate::render::RenderError;

/// The share of the splats that may be removed for non-finite values over a run before it is an
/// error: a rare splat whose update overflows is dropped and training goes on; more than this
/// means the run itself is unstable, and saying so beats quietly shrinking the model.
pub const NONFINITE_LIMIT: f64 = 0.01;

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
    #[error("steps: {steps} is below the current step {step}")]
    StepsBelowCurrent { steps: u32, step: u32 },
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
