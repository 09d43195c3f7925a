//! Adam on the GPU (shaders/adam.wgsl), one dispatch per parameter group with its own learning
//! rate, reading the packed gradients of the backward pass. Moments live beside the splats and
//! are rebuilt by density control.

use bytemuck::{Pod, Zeroable};

use crate::GpuContext;
use crate::render::backward::GpuSplatGrads;
use crate::render::shader::{bind_group, compute_pipeline};
use crate::render::{GpuSplats, buffers, jobs};

const SOURCE: &str = include_str!("../../shaders/adam.wgsl");

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct AdamParams {
    count: u32,
    grad_offset: u32,
    row_len: u32,
    col_start: u32,
    col_end: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bias1: f32,
    bias2: f32,
    dispatch_x: u32,
}

/// The parameter groups, in the order of the packed gradient buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Means,
    Quats,
    LogScales,
    Opacity,
    Sh,
}

impl Group {
    pub const ALL: [Group; 5] = [Group::Means, Group::Quats, Group::LogScales, Group::Opacity, Group::Sh];

    /// Floats per splat.
    pub fn row_len(self, coeffs: u32) -> u32 {
        match self {
            Group::Means | Group::LogScales => 3,
            Group::Quats => 4,
            Group::Opacity => 1,
            Group::Sh => 3 * coeffs,
        }
    }

    /// Where the group starts in the packed gradients, in floats.
    pub fn grad_offset(self, n: u32) -> u32 {
        match self {
            Group::Means => 0,
            Group::Quats => 3 * n,
            Group::LogScales => 7 * n,
            Group::Opacity => 10 * n,
            Group::Sh => 11 * n,
        }
    }

    pub fn values(self, splats: &GpuSplats) -> &wgpu::Buffer {
        match self {
            Group::Means => &splats.means,
            Group::Quats => &splats.quats,
            Group::LogScales => &splats.log_scales,
            Group::Opacity => &splats.opacity_logits,
            Group::Sh => &splats.sh,
        }
    }
}

/// One learning rate per group; SH band 0 and the higher bands differ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupRates {
    pub means: f32,
    pub quats: f32,
    pub log_scales: f32,
    pub opacity: f32,
    pub sh_dc: f32,
    pub sh_rest: f32,
}

pub struct Adam {
    pipeline: wgpu::ComputePipeline,
    /// Per group: (m, v) per float.
    pub moments: [wgpu::Buffer; 5],
    pub step: u32,
    uniforms: wgpu::Buffer,
}

pub const BETA1: f32 = 0.9;
pub const BETA2: f32 = 0.999;
pub const EPS: f32 = 1e-15;
const SLOT: u64 = 256;

impl Adam {
    pub fn new(gpu: &GpuContext, splats: &GpuSplats) -> Self {
        Self {
            pipeline: compute_pipeline(&gpu.device, "adam", SOURCE, "main"),
            moments: Self::zero_moments(gpu, splats.num_splats, splats.coeffs_per_splat()),
            step: 0,
            uniforms: buffers::uniform(&gpu.device, "adam params", 6 * SLOT),
        }
    }

    pub fn zero_moments(gpu: &GpuContext, n: u32, coeffs: u32) -> [wgpu::Buffer; 5] {
        Group::ALL.map(|g| buffers::storage(&gpu.device, "adam moments", n as u64 * g.row_len(coeffs) as u64 * 8))
    }

    /// Moments from CPU values (density control rebuilds them), `(m, v)` per float.
    pub fn set_moments(&mut self, gpu: &GpuContext, moments: [Vec<[f32; 2]>; 5]) {
        self.moments = moments.map(|m| buffers::storage_init(&gpu.device, "adam moments", &m));
    }

    pub fn memory_bytes(&self) -> u64 {
        self.moments.iter().map(|b| b.size()).sum()
    }

    /// Encodes one Adam step of every group.
    /// With `timer`, the pass is timed as "adam" (the caller begins and ends the frame).
    pub fn encode(
        &mut self,
        gpu: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        splats: &GpuSplats,
        grads: &GpuSplatGrads,
        rates: &GroupRates,
        timer: Option<&mut crate::profile::GpuTimer>,
    ) {
        self.step += 1;
        let n = splats.num_splats;
        let coeffs = splats.coeffs_per_splat();
        let bias1 = 1.0 - BETA1.powi(self.step as i32);
        let bias2 = 1.0 - BETA2.powi(self.step as i32);
        // (group, lr, columns)
        let dispatches = [
            (Group::Means, rates.means, 0, 3),
            (Group::Quats, rates.quats, 0, 4),
            (Group::LogScales, rates.log_scales, 0, 3),
            (Group::Opacity, rates.opacity, 0, 1),
            (Group::Sh, rates.sh_dc, 0, 3),
            (Group::Sh, rates.sh_rest, 3, 3 * coeffs),
        ];
        let mut bytes = vec![0u8; (dispatches.len() as u64 * SLOT) as usize];
        let mut plans = Vec::new();
        for (i, (group, lr, col_start, col_end)) in dispatches.into_iter().enumerate() {
            let count = n * group.row_len(coeffs);
            let [x, y, _] = jobs::dispatch_2d(count.div_ceil(256));
            let params = AdamParams {
                count,
                grad_offset: group.grad_offset(n),
                row_len: group.row_len(coeffs),
                col_start,
                col_end,
                lr,
                beta1: BETA1,
                beta2: BETA2,
                eps: EPS,
                bias1,
                bias2,
                dispatch_x: x,
            };
            let at = i * SLOT as usize;
            bytes[at..at + size_of::<AdamParams>()].copy_from_slice(bytemuck::bytes_of(&params));
            if col_end > col_start {
                plans.push((i, group, [x, y]));
            }
        }
        gpu.queue.write_buffer(&self.uniforms, 0, &bytes);
        let writes = timer.and_then(|t| t.next_pass("adam"));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("adam"), timestamp_writes: writes });
        pass.set_pipeline(&self.pipeline);
        for (i, group, [x, y]) in plans {
            let params = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.uniforms,
                offset: i as u64 * SLOT,
                size: wgpu::BufferSize::new(size_of::<AdamParams>() as u64),
            });
            let index = Group::ALL.iter().position(|g| *g == group).expect("listed");
            let bg = bind_group(
                &gpu.device,
                &self.pipeline,
                &[(0, params), (1, group.values(splats).as_entire_binding()), (2, grads.buffer.as_entire_binding()), (3, self.moments[index].as_entire_binding())],
            );
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
    }
}
