//! wgsplat's file side, with no GPU in it: cameras, the deterministic random numbers both front
//! ends share, bounded file reading, splat scenes and their formats (PLY, compressed PLY, SPZ,
//! SOG, .splat), datasets (COLMAP, transforms.json, folders and zips, image decoding) and
//! content hashes. The fuzz targets of the parsers depend on this crate alone.

pub mod camera;
pub mod dataset;
pub mod files;
pub mod hash;
pub mod rng;
pub mod scene;
pub mod test_data;

pub use camera::Camera;
pub use scene::Splats;
