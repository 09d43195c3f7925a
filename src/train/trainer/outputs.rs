//! What a run gives out: evaluations, the trained splats and checkpoints (each first removes
//! any splat that holds a non-finite value).

use super::Trainer;
use crate::Splats;
use crate::render::GpuSplats;
use crate::train::checkpoint::{Checkpoint, CheckpointError, CheckpointMeta};
use crate::train::error::TrainError;
use crate::train::evaluate::{EvalResult, evaluate};
use crate::train::images::GpuImages;
use crate::train::state::download_state;
use crate::train::views::TrainView;

impl Trainer {
    /// Removes the splats that hold an infinite or NaN parameter, moment or statistic, on every
    /// device, and changes nothing else (before a checkpoint or an export: a broken splat must
    /// not cost the run). Returns how many went; one small readback when none did.
    pub async fn remove_nonfinite(&mut self) -> Result<usize, TrainError> {
        let (strategy, run) = self.strategy_and_run();
        strategy.remove_nonfinite(run).await
    }

    /// Renders `views` (images in `images`) and measures PSNR and SSIM against them.
    pub async fn evaluate(&mut self, views: &[TrainView], images: &mut GpuImages) -> Result<EvalResult, TrainError> {
        self.evaluate_with(None, views, images).await
    }

    /// As [`evaluate`](Self::evaluate), for other splats than the trained ones (the trained
    /// model after a round trip through a lossy file format, say), with this run's background.
    pub async fn evaluate_scene(
        &mut self,
        scene: &GpuSplats,
        views: &[TrainView],
        images: &mut GpuImages,
    ) -> Result<EvalResult, TrainError> {
        self.evaluate_with(Some(scene), views, images).await
    }

    async fn evaluate_with(
        &mut self,
        scene: Option<&GpuSplats>,
        views: &[TrainView],
        images: &mut GpuImages,
    ) -> Result<EvalResult, TrainError> {
        let (batch, background, step) = (self.config.batch as usize, self.config.background, self.step);
        evaluate(&mut self.devices[0], scene, views, images, batch, background, step).await
    }

    /// The current splats (SH up to the trained degree), without any that hold a non-finite
    /// value (`remove_nonfinite`: `nonfinite()` counts them).
    pub async fn export(&mut self) -> Result<Splats, TrainError> {
        self.remove_nonfinite().await?;
        Ok(self.devices[0].splats.download(&self.devices[0].gpu).await?)
    }

    /// The state a checkpoint keeps: splats, optimizer moments, statistics and the loop state.
    /// Refuses a broken state (non-finite values), so that a bad save never replaces a good one.
    pub async fn checkpoint(&mut self) -> Result<Checkpoint, TrainError> {
        // A splat that went non-finite is dropped (and counted) rather than costing the save.
        self.remove_nonfinite().await?;
        let state = download_state(&self.devices, &self.exchange).await?;
        state.splats.validate().map_err(|e| CheckpointError::new("splats", format!("not saving a broken state: {e}")))?;
        let lead = &self.devices[0];
        let meta = CheckpointMeta {
            step: self.step,
            adam_step: lead.adam.step,
            opacity_was_reset: self.strategy.state().opacity_was_reset,
            rng: self.rng.0,
            active_sh_degree: lead.splats.active_sh_degree,
            config: self.config.clone(),
            extent: self.extent,
        };
        Ok(Checkpoint { state, meta })
    }

    /// Writes a checkpoint into `dir` (see [`crate::train::checkpoint`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn save_checkpoint(&mut self, dir: &std::path::Path) -> Result<(), TrainError> {
        let checkpoint = self.checkpoint().await?;
        Ok(crate::train::checkpoint::write(dir, &checkpoint)?)
    }
}
