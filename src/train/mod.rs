//! Training: schedule, initialization, loss, optimizer, density control, the loop (native and
//! browser), checkpoints and the demo training set.

pub mod adam;
pub mod checkpoint;
pub mod demo_views;
pub mod densify;
pub mod images;
pub mod init;
pub mod loss;
pub mod metrics;
pub mod schedule;
pub mod trainer;
