//! The integration tests, one binary (each file a module): linking wgpu once instead of once per
//! file is most of what a test build costs on a 2-core machine. `common` holds shared helpers.

mod common;

mod adam_gpu;
mod backward_cpu;
mod backward_gpu;
mod cli_limits;
mod cli_resume;
mod convert_cli;
mod densify_gpu;
mod frame_images;
mod gsplat_gradients;
mod gsplat_ref_loads;
mod gsplat_reference;
mod images_gpu;
mod loss_gpu;
mod profile;
mod profile_compare;
mod profile_train;
mod render_cli;
mod render_cpu;
mod rvs;
mod sort_scan;
mod train_demo;
mod train_replicas;
