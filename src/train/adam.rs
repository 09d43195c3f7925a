//! Adam on the GPU (src/train/shaders/adam.wgsl), one dispatch per parameter group with its own learning
//! rate, reading the packed gradients of the backward pass. Moments live beside the splats and
//! are rebuilt by density control.

use bytemuck::{Pod, Zeroable};

use crate::GpuContext;
use crate::kernel::jobs::dispatch_2d;
use crate::kernel::recorder::{Binding, Recorder, Uniforms, Workgroups};
use crate::kernel::shader::compute_pipeline;
use crate::kernel::{buffers, submit};
use crate::render::GpuSplats;
use crate::render::backward::GpuSplatGrads;

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct AdamParams {
    count: u32,
    grad_offset: u32,
    row_len: u32,
    split_col: u32,
    lr_rest: f32,
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
    uniforms: Uniforms,
}

pub const BETA1: f32 = 0.9;
pub const BETA2: f32 = 0.999;
pub const EPS: f32 = 1e-15;

impl Adam {
    /// Lets go of the kept bind groups (they hold the splat and moment buffers): before those
    /// are replaced.
    pub fn forget_bind_groups(&mut self) {
        self.uniforms.forget_bind_groups();
    }

    pub fn new(gpu: &GpuContext, splats: &GpuSplats) -> Self {
        Self {
            pipeline: compute_pipeline(&gpu.device, crate::shaders::train::ADAM, &[], "main"),
            moments: Self::zero_moments(gpu, splats.num_splats, splats.coeffs_per_splat()),
            step: 0,
            uniforms: Uniforms::default(),
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

    /// Records one Adam step of every group (stage "adam").
    pub fn record(&mut self, rec: &mut Recorder, splats: &GpuSplats, grads: &GpuSplatGrads, rates: &GroupRates) {
        self.step += 1;
        let n = splats.num_splats;
        let coeffs = splats.coeffs_per_splat();
        let bias1 = 1.0 - BETA1.powi(self.step as i32);
        let bias2 = 1.0 - BETA2.powi(self.step as i32);
        // (group, lr, lr of the SH bands above 0): one dispatch a group, SH band 0 at its own
        // rate, instead of two dispatches over every SH float that each skipped the other's
        // columns (twice the SH group's invocations; Adam took 1.5x as long).
        let dispatches = [
            (Group::Means, rates.means, rates.means),
            (Group::Quats, rates.quats, rates.quats),
            (Group::LogScales, rates.log_scales, rates.log_scales),
            (Group::Opacity, rates.opacity, rates.opacity),
            (Group::Sh, rates.sh_dc, rates.sh_rest),
        ];
        rec.stage("adam");
        for (group, lr, lr_rest) in dispatches {
            // Band 0 is a row's first 3 floats; every other group steps its whole row at `lr`.
            let split_col = if group == Group::Sh { 3 } else { group.row_len(coeffs) };
            let count = n * group.row_len(coeffs);
            let [x, y, _] = dispatch_2d(count.div_ceil(256));
            let params = AdamParams {
                count,
                grad_offset: group.grad_offset(n),
                row_len: group.row_len(coeffs),
                split_col,
                lr_rest,
                lr,
                beta1: BETA1,
                beta2: BETA2,
                eps: EPS,
                bias1,
                bias2,
                dispatch_x: x,
            };
            let index = Group::ALL.iter().position(|g| *g == group).expect("listed");
            rec.dispatch(
                "adam",
                &self.pipeline,
                &params,
                vec![
                    (0, Binding::Params),
                    (1, Binding::of(group.values(splats))),
                    (2, Binding::of(&grads.buffer)),
                    (3, Binding::of(&self.moments[index])),
                ],
                Workgroups::Direct([x, y, 1]),
            );
        }
    }

    /// Records and submits one Adam step; returns the submission.
    pub fn submit(&mut self, gpu: &GpuContext, splats: &GpuSplats, grads: &GpuSplatGrads, rates: &GroupRates) -> wgpu::SubmissionIndex {
        let mut rec = Recorder::new();
        self.record(&mut rec, splats, grads, rates);
        submit::submit(gpu, "adam", rec, &mut self.uniforms, |_| {})
    }
}
