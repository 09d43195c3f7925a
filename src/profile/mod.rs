//! Observing the pipeline without steering it: GPU time per pass.

pub mod gpu_timer;
