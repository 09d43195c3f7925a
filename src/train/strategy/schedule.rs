//! The refinement schedule: 3DGS's, in views, expressed in steps of B views as gsplat does
//! (step-based schedules divided by B).

use super::densify::DensifyConfig;
use crate::train::rates::sh_degree_every;

/// When density control runs, in steps of B views each, for a run of `total` steps.
///
/// 3DGS refines from view 500 every 100 until view 15,000 of its 30,000 and resets opacities
/// every 3,000 views within that window. A shorter run refines until half of its views (never
/// past `stop_views`), and an opacity reset happens only with a whole reset interval of the run
/// still ahead of it: the model a run ends on has always recovered from its last reset (a run of
/// 3,000 steps used to end right after one). For 30,000 steps this is 3DGS's schedule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RefineSchedule {
    pub start: u32,
    pub stop: u32,
    pub every: u32,
    pub opacity_reset_every: u32,
    pub sh_degree_every: u32,
    /// Steps of the run.
    pub total: u32,
}

impl RefineSchedule {
    /// The 3DGS schedule (in views) expressed in steps of `batch` views, for `total` steps.
    pub fn for_batch(batch: u32, total: u32) -> Self {
        Self::new(&DensifyConfig::default(), batch, total)
    }

    /// The schedule of `densify` (in views) expressed in steps of `batch` views, fitted to a
    /// run of `total` steps.
    pub fn new(densify: &DensifyConfig, batch: u32, total: u32) -> Self {
        let b = batch.max(1);
        let run_views = total as u64 * b as u64;
        let stop_views = (densify.stop_views as u64).min(run_views / 2) as u32;
        Self {
            start: densify.start_views / b,
            stop: stop_views / b,
            every: (densify.every_views / b).max(1),
            opacity_reset_every: (densify.opacity_reset_every_views / b).max(1),
            sh_degree_every: sh_degree_every(b),
            total,
        }
    }

    pub fn refines_at(&self, step: u32) -> bool {
        step >= self.start && step < self.stop && step.is_multiple_of(self.every)
    }

    pub fn resets_opacity_at(&self, step: u32) -> bool {
        step > 0
            && step < self.stop
            && step.is_multiple_of(self.opacity_reset_every)
            && step as u64 + self.opacity_reset_every as u64 <= self.total as u64
    }

    pub fn sh_degree_at(&self, step: u32, max_degree: u32) -> u32 {
        (step / self.sh_degree_every).min(max_degree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_thousand_steps_keep_the_3dgs_schedule() {
        let s = RefineSchedule::for_batch(1, 30_000);
        assert_eq!((s.start, s.stop, s.every, s.opacity_reset_every), (500, 15_000, 100, 3_000));
        let resets: Vec<u32> = (0..=30_000).filter(|&t| s.resets_opacity_at(t)).collect();
        assert_eq!(resets, [3_000, 6_000, 9_000, 12_000]);
        assert_eq!((0..=30_000).filter(|&t| s.refines_at(t)).count(), 145);
    }

    /// Whatever the length of a run, its last stretch is free of resets and refinement: the
    /// last reset has a whole interval after it, refinement stops at half the run.
    #[test]
    fn short_runs_never_end_right_after_a_reset() {
        for total in [1u32, 50, 600, 2_999, 3_000, 3_001, 6_000, 7_000, 9_000, 12_000, 14_999, 15_000] {
            let s = RefineSchedule::for_batch(1, total);
            let resets: Vec<u32> = (0..=total).filter(|&t| s.resets_opacity_at(t)).collect();
            if let Some(&last) = resets.last() {
                assert!(last + s.opacity_reset_every <= total, "{total} steps: a reset at {last}");
            }
            assert!(s.stop <= total / 2 + 1, "{total} steps: refinement until {}", s.stop);
            assert!((0..=total).filter(|&t| s.refines_at(t)).all(|t| t < total / 2 + 1));
        }
        assert!((0..=3_000).all(|t| !RefineSchedule::for_batch(1, 3_000).resets_opacity_at(t)), "3000 steps: no reset");
        let resets: Vec<u32> = (0..=7_000).filter(|&t| RefineSchedule::for_batch(1, 7_000).resets_opacity_at(t)).collect();
        assert_eq!(resets, [3_000]);
    }

    #[test]
    fn batch_scaling_follows_gsplat() {
        let s = RefineSchedule::for_batch(4, 7_500);
        assert_eq!((s.start, s.stop, s.every, s.opacity_reset_every), (125, 3750, 25, 750));
        assert!(s.refines_at(125) && !s.refines_at(126) && !s.refines_at(3750));
        assert_eq!(s.sh_degree_at(750, 3), 3);
    }
}
