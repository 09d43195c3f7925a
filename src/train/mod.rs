//! Training: schedule, initialization (more to come: loss, optimizer, densification, eval).

pub mod adam;
pub mod densify;
pub mod images;
pub mod init;
pub mod loss;
pub mod metrics;
pub mod schedule;
