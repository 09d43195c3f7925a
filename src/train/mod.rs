//! Training: settings (`config`), initialization, loss, optimizer, the strategy that changes the
//! splats between steps (`strategy`: density control), evaluation, checkpoints, the devices a
//! run trains on (`device`, `replicas`), the coordinator of a step (`trainer`) and the one driver
//! both the CLI and the page run (`session`, started natively by `start`), and the demo training
//! set.

pub mod adam;
pub mod checkpoint;
pub mod config;
pub mod cpu;
pub mod demo_views;
pub mod device;
pub mod error;
pub mod evaluate;
pub mod ground_truth;
pub mod images;
mod in_flight;
pub mod init;
pub mod loss;
pub mod metrics;
pub mod nonfinite;
pub mod nonfinite_probe;
pub mod rates;
pub mod replicas;
pub mod session;
#[cfg(not(target_arch = "wasm32"))]
pub mod start;
mod state;
pub mod step_metrics;
pub mod step_trace;
pub mod strategy;
pub mod trainer;
pub mod views;
