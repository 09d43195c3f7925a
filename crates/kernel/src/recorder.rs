//! Records the dispatches (and clears and copies) of a GPU job, then encodes them: every
//! dispatch carries its own parameters (any `Pod` struct of its stage: the render's, a sort
//! pass's, a scan level's, Adam's), each in its own 256-byte-aligned slot of one uniform buffer
//! written once before the submission. A whole job is one command buffer with no CPU round trip.
//! Stages name the dispatches for the GPU timer.

use std::collections::HashMap;

use bytemuck::Pod;

/// Uniform offsets must be multiples of 256 bytes on every backend.
pub const UNIFORM_ALIGN: u64 = 256;

pub enum Binding {
    /// This dispatch's own parameters.
    Params,
    Buffer(wgpu::Buffer),
    /// `size` bytes of a buffer from `offset`.
    Range {
        buffer: wgpu::Buffer,
        offset: u64,
        size: u64,
    },
}

impl Binding {
    pub fn of(buffer: &wgpu::Buffer) -> Self {
        Binding::Buffer(buffer.clone())
    }
}

/// How many workgroups a dispatch runs. Only direct dispatches: a pass sized by an earlier pass
/// is dispatched for its buffers' capacity and its kernel returns past the GPU-side count,
/// because browsers charge about 0.2 ms for every indirect dispatch (Chromium 156 on the H200,
/// against 9 us for a direct one: BENCHMARKS.md, "What the browser's WebGPU charges").
pub enum Workgroups {
    Direct([u32; 3]),
}

struct Dispatch {
    label: &'static str,
    stage: &'static str,
    pipeline: wgpu::ComputePipeline,
    /// Byte range of the parameters in the uniform bytes.
    params: std::ops::Range<usize>,
    bindings: Vec<(u32, Binding)>,
    workgroups: Workgroups,
}

enum Op {
    Dispatch(Dispatch),
    Clear(wgpu::Buffer),
    Copy { from: wgpu::Buffer, from_offset: u64, to: wgpu::Buffer, to_offset: u64, bytes: u64 },
}

/// What a job keeps between its submissions: the uniform buffer its parameters go to (grown
/// when a job needs more; writes into it are ordered with the submissions that read it), and
/// the bind groups of its last encode. A training step records the same dispatches over the
/// same buffers every time, so its bind groups are made once instead of every step: in a
/// browser each one is a call into the GPU process, and they were most of a step's CPU time.
#[derive(Default)]
pub struct Uniforms {
    buffer: Option<wgpu::Buffer>,
    bind_groups: HashMap<BindKey, wgpu::BindGroup>,
    created: u64,
}

/// Everything a bind group depends on: the pipeline (its layout) and each binding's buffer
/// range. Holding the buffers keeps them alive only until the job's next encode.
#[derive(Clone, PartialEq, Eq, Hash)]
struct BindKey {
    pipeline: wgpu::ComputePipeline,
    entries: Vec<(u32, wgpu::Buffer, u64, Option<u64>)>,
}

impl Uniforms {
    fn ensure(&mut self, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
        if self.buffer.as_ref().is_none_or(|b| b.size() < bytes) {
            self.buffer = Some(super::buffers::uniform(device, "dispatch params", bytes.next_power_of_two()));
        }
        self.buffer.clone().expect("sized above")
    }

    pub fn memory_bytes(&self) -> u64 {
        self.buffer.as_ref().map_or(0, |b| b.size())
    }

    /// Lets go of the kept bind groups, and with them the buffers they hold: call before
    /// replacing buffers a job binds (a new scene, grown splat buffers), so the old ones are not
    /// kept alive next to the new.
    pub fn forget_bind_groups(&mut self) {
        self.bind_groups.clear();
    }

    /// Bind groups made so far (each encode reuses what it can of the last one's).
    pub fn bind_groups_created(&self) -> u64 {
        self.created
    }

    /// Bind groups kept from the last encode.
    pub fn cached_bind_groups(&self) -> usize {
        self.bind_groups.len()
    }
}

#[derive(Default)]
pub struct Recorder {
    ops: Vec<Op>,
    uniform_bytes: Vec<u8>,
    stage: &'static str,
    /// While set, every stage is reported under this name (`scope`).
    scope: Option<&'static str>,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the stage the following dispatches belong to (what the GPU timer reports).
    pub fn stage(&mut self, stage: &'static str) {
        self.stage = self.scope.unwrap_or(stage);
    }

    /// Reports the following dispatches as one stage named `scope`, whatever stages the shared
    /// building blocks they come from name themselves (density control's sorts and scans are
    /// "density control" to the user, not "sort" and "scan"); `None` ends the scope.
    pub fn scope(&mut self, scope: Option<&'static str>) {
        self.scope = scope;
        if let Some(name) = scope {
            self.stage = name;
        }
    }

    /// A dispatch of `pipeline` with `params` (bound where `bindings` say `Binding::Params`).
    pub fn dispatch<P: Pod>(
        &mut self,
        label: &'static str,
        pipeline: &wgpu::ComputePipeline,
        params: &P,
        bindings: Vec<(u32, Binding)>,
        workgroups: Workgroups,
    ) {
        let start = self.uniform_bytes.len();
        let bytes = bytemuck::bytes_of(params);
        self.uniform_bytes.extend_from_slice(bytes);
        let end = self.uniform_bytes.len();
        // A stage without parameters (`&()`) takes no slot.
        self.uniform_bytes.resize(start + (bytes.len() as u64).next_multiple_of(UNIFORM_ALIGN) as usize, 0);
        self.ops.push(Op::Dispatch(Dispatch {
            label,
            stage: self.stage,
            pipeline: pipeline.clone(),
            params: start..end,
            bindings,
            workgroups,
        }));
    }

    /// Zeroes `buffer`.
    pub fn clear(&mut self, buffer: &wgpu::Buffer) {
        self.ops.push(Op::Clear(buffer.clone()));
    }

    /// Copies `bytes` from one buffer to another (in order with the dispatches).
    pub fn copy(&mut self, from: &wgpu::Buffer, from_offset: u64, to: &wgpu::Buffer, to_offset: u64, bytes: u64) {
        self.ops.push(Op::Copy { from: from.clone(), from_offset, to: to.clone(), to_offset, bytes });
    }

    /// Number of stage changes: the passes a timed encode opens.
    pub fn stage_count(&self) -> usize {
        let mut last = None;
        let mut count = 0;
        for op in &self.ops {
            if let Op::Dispatch(d) = op
                && last != Some(d.stage)
            {
                count += 1;
                last = Some(d.stage);
            }
        }
        count
    }

    /// Writes the parameters into `uniforms` and encodes every op into `encoder`. With a timer,
    /// every stage gets its own compute pass with timestamps at its ends.
    pub fn encode(
        self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        uniforms: &mut Uniforms,
        mut timer: Option<&mut super::timer::GpuTimer>,
    ) {
        let uniform_buffer = (!self.uniform_bytes.is_empty()).then(|| {
            let buffer = uniforms.ensure(device, self.uniform_bytes.len() as u64);
            queue.write_buffer(&buffer, 0, &self.uniform_bytes);
            buffer
        });
        let mut pass: Option<wgpu::ComputePass<'static>> = None;
        let mut pass_stage: Option<&'static str> = None;
        // This encode's bind groups, reused from the last one where they bind the same. wgpu's
        // handles hash and compare by identity, which their interior state never changes.
        #[allow(clippy::mutable_key_type)]
        let mut used: HashMap<BindKey, wgpu::BindGroup> = HashMap::new();
        for op in self.ops {
            let d = match op {
                Op::Clear(buffer) => {
                    drop(pass.take());
                    pass_stage = None;
                    encoder.clear_buffer(&buffer, 0, None);
                    continue;
                }
                Op::Copy { from, from_offset, to, to_offset, bytes } => {
                    drop(pass.take());
                    pass_stage = None;
                    encoder.copy_buffer_to_buffer(&from, from_offset, &to, to_offset, bytes);
                    continue;
                }
                Op::Dispatch(d) => d,
            };
            if let Some(timer) = timer.as_deref_mut()
                && pass_stage != Some(d.stage)
            {
                drop(pass.take());
                let writes = timer.next_pass(d.stage);
                pass = Some(
                    encoder
                        .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(d.stage), timestamp_writes: writes })
                        .forget_lifetime(),
                );
                pass_stage = Some(d.stage);
            }
            let key = BindKey {
                pipeline: d.pipeline.clone(),
                entries: d
                    .bindings
                    .iter()
                    .map(|(binding, b)| match b {
                        Binding::Params => {
                            let buffer = uniform_buffer.clone().expect("a dispatch with parameters");
                            (*binding, buffer, d.params.start as u64, Some((d.params.end - d.params.start) as u64))
                        }
                        Binding::Range { buffer, offset, size } => (*binding, buffer.clone(), *offset, Some(*size)),
                        Binding::Buffer(buffer) => (*binding, buffer.clone(), 0, None),
                    })
                    .collect(),
            };
            let bind_group = match used.get(&key).or_else(|| uniforms.bind_groups.get(&key)) {
                Some(group) => group.clone(),
                None => {
                    let entries: Vec<wgpu::BindGroupEntry<'_>> = key
                        .entries
                        .iter()
                        .map(|(binding, buffer, offset, size)| wgpu::BindGroupEntry {
                            binding: *binding,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer,
                                offset: *offset,
                                size: size.and_then(wgpu::BufferSize::new),
                            }),
                        })
                        .collect();
                    uniforms.created += 1;
                    device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(d.label),
                        layout: &d.pipeline.get_bind_group_layout(0),
                        entries: &entries,
                    })
                }
            };
            used.insert(key, bind_group.clone());
            let pass = pass.get_or_insert_with(|| {
                encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(d.stage), timestamp_writes: None }).forget_lifetime()
            });
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            match d.workgroups {
                Workgroups::Direct([x, y, z]) => pass.dispatch_workgroups(x, y, z),
            }
        }
        uniforms.bind_groups = used;
    }
}
