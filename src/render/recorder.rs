//! Records the dispatches of a render, then encodes them: every dispatch gets its own
//! `DispatchParams` slot in one uniform buffer, written once before the submission, so that a
//! whole batched render is one command buffer with no CPU round trip.

use bytemuck::{Pod, Zeroable};

/// Mirrors `DispatchParams` in shaders/shared/params.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, Default)]
pub struct DispatchParams {
    pub counters_base: u32,
    pub shift: u32,
    pub identity_values: u32,
    pub level: u32,
    pub num_splats: u32,
    pub num_cameras: u32,
    pub sh_degree: u32,
    pub num_coeffs: u32,
    pub near: f32,
    pub far: f32,
    pub eps2d: f32,
    pub isect_capacity: u32,
}

/// Uniform offsets must be multiples of 256 bytes on every backend.
pub const PARAMS_SLOT: u64 = 256;
/// Size of one chunk's camera array (`array<CameraGpu, 256>`).
pub const CAMERAS_BYTES: u64 = 256 * 128;

pub enum Binding {
    /// This dispatch's `DispatchParams`.
    Params,
    /// The camera array of a chunk.
    Cameras(usize),
    Buffer(wgpu::Buffer),
}

pub enum Workgroups {
    Direct([u32; 3]),
    /// Arguments at this byte offset of the counters buffer.
    Indirect(u64),
}

enum Op {
    Dispatch { label: &'static str, stage: &'static str, pipeline: wgpu::ComputePipeline, params: DispatchParams, bindings: Vec<(u32, Binding)>, workgroups: Workgroups },
    Clear(wgpu::Buffer),
}

#[derive(Default)]
pub struct Recorder {
    ops: Vec<Op>,
    dispatches: usize,
    stage: &'static str,
}

impl Recorder {
    /// Names the stage the following dispatches belong to (what the GPU timer reports).
    pub fn stage(&mut self, stage: &'static str) {
        self.stage = stage;
    }

    pub fn dispatch(&mut self, label: &'static str, pipeline: &wgpu::ComputePipeline, params: DispatchParams, bindings: Vec<(u32, Binding)>, workgroups: Workgroups) {
        self.dispatches += 1;
        self.ops.push(Op::Dispatch { label, stage: self.stage, pipeline: pipeline.clone(), params, bindings, workgroups });
    }

    pub fn clear(&mut self, buffer: &wgpu::Buffer) {
        self.ops.push(Op::Clear(buffer.clone()));
    }

    pub fn uniform_bytes(&self) -> u64 {
        (self.dispatches as u64).max(1) * PARAMS_SLOT
    }

    /// Number of stage changes: the passes a timed encode opens.
    pub fn stage_count(&self) -> usize {
        let mut last = None;
        let mut count = 0;
        for op in &self.ops {
            if let Op::Dispatch { stage, .. } = op
                && last != Some(*stage)
            {
                count += 1;
                last = Some(*stage);
            }
        }
        count
    }

    /// Writes the parameters into `uniforms` (at least `uniform_bytes()` long) and encodes every
    /// op. `cameras` holds one `CAMERAS_BYTES` camera array per chunk; `counters` the indirect
    /// arguments. With a timer, every stage gets its own pass with timestamps at its ends.
    #[allow(clippy::too_many_arguments)]
    pub fn encode(
        self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        uniforms: &wgpu::Buffer,
        cameras: &wgpu::Buffer,
        counters: &wgpu::Buffer,
        mut timer: Option<&mut crate::profile::gpu_timer::GpuTimer>,
    ) {
        let mut bytes = vec![0u8; self.uniform_bytes() as usize];
        let mut slot = 0usize;
        for op in &self.ops {
            if let Op::Dispatch { params, .. } = op {
                let at = slot * PARAMS_SLOT as usize;
                bytes[at..at + size_of::<DispatchParams>()].copy_from_slice(bytemuck::bytes_of(params));
                slot += 1;
            }
        }
        queue.write_buffer(uniforms, 0, &bytes);

        let mut slot = 0u64;
        let mut pass: Option<wgpu::ComputePass<'static>> = None;
        let mut pass_stage: Option<&'static str> = None;
        for op in self.ops {
            match op {
                Op::Clear(buffer) => {
                    drop(pass.take());
                    pass_stage = None;
                    encoder.clear_buffer(&buffer, 0, None);
                }
                Op::Dispatch { label, stage, pipeline, bindings, workgroups, .. } => {
                    if let Some(timer) = timer.as_deref_mut()
                        && pass_stage != Some(stage)
                    {
                        drop(pass.take());
                        let writes = timer.next_pass(stage);
                        pass = Some(encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(stage), timestamp_writes: writes }).forget_lifetime());
                        pass_stage = Some(stage);
                    }
                    let entries: Vec<wgpu::BindGroupEntry<'_>> = bindings
                        .iter()
                        .map(|(binding, b)| wgpu::BindGroupEntry {
                            binding: *binding,
                            resource: match b {
                                Binding::Params => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                    buffer: uniforms,
                                    offset: slot * PARAMS_SLOT,
                                    size: wgpu::BufferSize::new(size_of::<DispatchParams>() as u64),
                                }),
                                Binding::Cameras(chunk) => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                    buffer: cameras,
                                    offset: *chunk as u64 * CAMERAS_BYTES,
                                    size: wgpu::BufferSize::new(CAMERAS_BYTES),
                                }),
                                Binding::Buffer(buffer) => buffer.as_entire_binding(),
                            },
                        })
                        .collect();
                    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(label),
                        layout: &pipeline.get_bind_group_layout(0),
                        entries: &entries,
                    });
                    let pass = pass.get_or_insert_with(|| {
                        encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("wgsplat render"), timestamp_writes: None }).forget_lifetime()
                    });
                    pass.set_pipeline(&pipeline);
                    pass.set_bind_group(0, &bind_group, &[]);
                    match workgroups {
                        Workgroups::Direct([x, y, z]) => pass.dispatch_workgroups(x, y, z),
                        Workgroups::Indirect(offset) => pass.dispatch_workgroups_indirect(counters, offset),
                    }
                    slot += 1;
                }
            }
        }
    }
}
