//! Learning rates, the 3DGS defaults scaled for batches of views as gsplat does (every rate
//! times sqrt(B)), and when each SH degree starts training.

/// Per-group learning rates and the position rate's exponential decay.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LearningRates {
    /// Multiplied by the scene extent; decays exponentially to `means_final` over the run.
    pub means_init: f32,
    pub means_final: f32,
    pub sh_dc: f32,
    pub sh_rest: f32,
    pub opacity: f32,
    pub scales: f32,
    pub quats: f32,
}

impl Default for LearningRates {
    fn default() -> Self {
        Self { means_init: 1.6e-4, means_final: 1.6e-6, sh_dc: 2.5e-3, sh_rest: 2.5e-3 / 20.0, opacity: 2.5e-2, scales: 5e-3, quats: 1e-3 }
    }
}

impl LearningRates {
    /// gsplat's scaling for B views per step: every rate times sqrt(B).
    pub fn scaled_for_batch(&self, batch: u32) -> Self {
        let s = (batch.max(1) as f32).sqrt();
        Self {
            means_init: self.means_init * s,
            means_final: self.means_final * s,
            sh_dc: self.sh_dc * s,
            sh_rest: self.sh_rest * s,
            opacity: self.opacity * s,
            scales: self.scales * s,
            quats: self.quats * s,
        }
    }

    /// The position learning rate at `step` of `total`, for a scene of size `extent`.
    pub fn means_at(&self, step: u32, total: u32, extent: f32) -> f32 {
        let t = (step as f32 / total.max(1) as f32).clamp(0.0, 1.0);
        let (a, b) = (self.means_init.ln(), self.means_final.ln());
        (a + (b - a) * t).exp() * extent
    }
}

/// Steps between SH degrees for a batch of `batch` views: 3DGS adds a degree every 1,000 views.
pub fn sh_degree_every(batch: u32) -> u32 {
    (1_000 / batch.max(1)).max(1)
}

/// The SH degree trained at `step` for a batch of `batch` views, at most `max_degree`.
pub fn sh_degree_at(step: u32, batch: u32, max_degree: u32) -> u32 {
    (step / sh_degree_every(batch)).min(max_degree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_rate_decays_exponentially() {
        let lr = LearningRates::default();
        assert!((lr.means_at(0, 30_000, 2.0) - 3.2e-4).abs() < 1e-9);
        assert!((lr.means_at(30_000, 30_000, 2.0) - 3.2e-6).abs() < 1e-10);
        let mid = lr.means_at(15_000, 30_000, 1.0);
        assert!((mid - (1.6e-4f32 * 1.6e-6).sqrt()).abs() < 1e-9, "geometric mean halfway: {mid}");
    }

    #[test]
    fn batch_scaling_follows_gsplat() {
        let lr = LearningRates::default().scaled_for_batch(4);
        assert!((lr.opacity - 0.05).abs() < 1e-7);
        assert_eq!(sh_degree_at(750, 4, 3), 3);
    }
}
