//! Training: settings (`config`), initialization, loss, optimizer, density control, schedule,
//! evaluation, checkpoints, the training step (`trainer`) and the one driver both the CLI and
//! the page run (`session`), and the demo training set.

pub mod adam;
pub mod checkpoint;
pub mod config;
pub mod demo_views;
pub mod densify;
pub mod densify_gpu;
pub mod images;
pub mod init;
pub mod loss;
pub mod metrics;
pub mod nonfinite_probe;
pub mod replicas;
pub mod schedule;
pub mod session;
pub mod trainer;
