//! The loss metrics of training steps, read back a few steps late without waiting: each logged
//! step's per-tile sums are copied to a staging buffer on every device and mapped
//! asynchronously; `poll` turns the steps whose parts have all landed into metrics.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::error::TrainError;
use super::loss::{LossPass, LossView, ViewMetrics};
use crate::render::RenderError;

/// Loss metrics of one step (means over its views).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepMetrics {
    pub step: u32,
    pub loss: f64,
    pub l1: f64,
    pub ssim: f64,
    pub psnr: f64,
}

/// One device's part of a logged step: the views it rendered and their per-tile sums.
pub struct MetricsPart {
    views: Vec<LossView>,
    staging: wgpu::Buffer,
    ready: Arc<AtomicBool>,
}

impl MetricsPart {
    /// Maps `staging` (submitted with the step) for reading; it is taken once it lands.
    pub fn map(views: Vec<LossView>, staging: wgpu::Buffer) -> Self {
        let ready = Arc::new(AtomicBool::new(false));
        let flag = ready.clone();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| flag.store(r.is_ok(), Ordering::Release));
        Self { views, staging, ready }
    }
}

struct PendingMetrics {
    step: u32,
    parts: Vec<MetricsPart>,
}

/// Logged steps whose metrics have not landed yet, oldest first.
#[derive(Default)]
pub struct PendingSteps {
    steps: VecDeque<PendingMetrics>,
}

impl PendingSteps {
    pub fn push(&mut self, step: u32, parts: Vec<MetricsPart>) {
        self.steps.push_back(PendingMetrics { step, parts });
    }

    /// Metrics of the steps whose readbacks have landed (on every device), oldest first. A
    /// non-finite loss is an error.
    pub fn take_landed(&mut self) -> Result<Vec<StepMetrics>, TrainError> {
        let mut out = Vec::new();
        while self.steps.front().is_some_and(|p| p.parts.iter().all(|part| part.ready.load(Ordering::Acquire))) {
            let p = self.steps.pop_front().expect("non-empty");
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
}

fn mean_metrics(views: &[ViewMetrics]) -> ViewMetrics {
    let n = views.len().max(1) as f64;
    ViewMetrics {
        l1: views.iter().map(|v| v.l1).sum::<f64>() / n,
        ssim: views.iter().map(|v| v.ssim).sum::<f64>() / n,
        mse: views.iter().map(|v| v.mse).sum::<f64>() / n,
    }
}
