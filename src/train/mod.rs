//! Training: schedule, initialization (more to come: loss, optimizer, densification, eval).

pub mod init;
pub mod schedule;
