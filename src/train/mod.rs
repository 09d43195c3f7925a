//! Training: schedule, initialization (more to come: loss, optimizer, densification, eval).

pub mod adam;
#[cfg(not(target_arch = "wasm32"))]
pub mod checkpoint;
pub mod densify;
pub mod images;
pub mod init;
pub mod loss;
pub mod metrics;
pub mod schedule;
#[cfg(not(target_arch = "wasm32"))]
pub mod trainer;
