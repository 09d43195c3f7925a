//! Helpers shared by the integration tests (`crate::common`).

pub mod demo_training;
pub mod grads;
pub mod gsplat_ref;
pub mod random_scene;

/// The shared data and the skip rule live with the formats crate, whose tests use them too.
pub use wgsplat::test_data::{data_dir, data_file, skip};
