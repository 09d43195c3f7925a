//! The count of splats removed because they held infinite or NaN values (density control's
//! guard, and before each checkpoint and export), and the limit past which that stops a run.

use super::error::{NONFINITE_LIMIT, TrainError};

/// Steps between the guard's checks for non-finite splats after the density-control window
/// (inside it, every round checks).
pub const NONFINITE_GUARD_EVERY: u32 = 1000;

/// Splats removed because they held infinite or NaN values: how many, and the steps of the
/// first and last removal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NonFiniteLog {
    pub removed: u64,
    pub first_step: Option<u32>,
    pub last_step: Option<u32>,
}

impl NonFiniteLog {
    /// Counts `removed` splats at `step`, of a scene now of `splats`; an error once they pass
    /// `NONFINITE_LIMIT` of it.
    pub fn record(&mut self, step: u32, removed: usize, splats: u32) -> Result<(), TrainError> {
        if removed > 0 {
            self.removed += removed as u64;
            self.first_step.get_or_insert(step);
            self.last_step = Some(step);
        }
        if self.removed as f64 > NONFINITE_LIMIT * (splats as f64).max(1.0) {
            let first_step = self.first_step.unwrap_or(step);
            return Err(TrainError::TooManyNonFinite { removed: self.removed, first_step, splats });
        }
        Ok(())
    }
}
