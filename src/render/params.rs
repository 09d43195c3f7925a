//! What every dispatch of a render chunk reads: its parameters (`RenderParams`) and its camera
//! array (`CameraGpu`, one uniform array per chunk). Mirrors src/render/shaders/shared/params.wgsl.

use bytemuck::{Pod, Zeroable};

/// Cameras in one chunk: the size of the camera array in the shaders.
pub const MAX_CAMERAS_PER_CHUNK: usize = 256;
/// Size of one chunk's camera array (`array<CameraGpu, 256>`).
pub const CAMERAS_BYTES: u64 = MAX_CAMERAS_PER_CHUNK as u64 * size_of::<CameraGpu>() as u64;

/// Mirrors `RenderParams` in src/render/shaders/shared/params.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct RenderParams {
    pub counters_base: u32,
    pub num_splats: u32,
    pub num_cameras: u32,
    pub sh_degree: u32,
    pub num_coeffs: u32,
    pub near: f32,
    pub far: f32,
    pub eps2d: f32,
    pub isect_capacity: u32,
    /// Cameras of the whole batch (density statistics undo the loss's 1 / B per view).
    pub batch_cameras: u32,
    pub _pad: [u32; 2],
}

/// Mirrors `CameraGpu` in src/render/shaders/shared/params.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
pub struct CameraGpu {
    pub rows: [[f32; 4]; 3],
    pub center: [f32; 4],
    pub intrinsics: [f32; 4],
    pub background: [f32; 4],
    pub width: u32,
    pub height: u32,
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub tile_offset: u32,
    pub pixel_offset: u32,
    pub _pad: [u32; 2],
}

const _: () = assert!(size_of::<CameraGpu>() == 128 && size_of::<RenderParams>() == 48);
