//! The one way a recorded job reaches the GPU: a command encoder, the recorder's ops (timed
//! into the context's attached GPU timer when there is one, each stage a pass), whatever copies
//! the caller adds after them, one submission. Render, backward, loss, Adam and density control
//! all go through here, so profiling covers every pass without any of them owning a timer.

use super::recorder::{Recorder, Uniforms};
use crate::GpuContext;

/// Encodes `rec` as one frame named `label`, lets `after` add commands (readback copies,
/// resolves), and submits. Returns the submission's index.
pub fn submit(
    gpu: &GpuContext,
    label: &'static str,
    rec: Recorder,
    uniforms: &mut Uniforms,
    after: impl FnOnce(&mut wgpu::CommandEncoder),
) -> wgpu::SubmissionIndex {
    let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    let timer = gpu.timer();
    {
        let mut guard = timer.as_ref().map(|t| t.lock().unwrap_or_else(|e| e.into_inner()));
        let passes = rec.stage_count() as u32;
        let timed = guard.as_deref_mut().and_then(|t| t.begin_frame(gpu, passes, label).then_some(t));
        rec.encode(&gpu.device, &gpu.queue, &mut encoder, uniforms, timed);
        if let Some(t) = guard.as_deref_mut() {
            t.end_frame(&mut encoder);
        }
    }
    after(&mut encoder);
    let index = gpu.queue.submit([encoder.finish()]);
    if let Some(timer) = &timer {
        timer.lock().unwrap_or_else(|e| e.into_inner()).submitted();
    }
    index
}
