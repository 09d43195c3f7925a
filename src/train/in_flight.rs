//! Steps submitted and not yet waited for: the CPU records at most a few steps ahead of the GPU.

use std::collections::VecDeque;

use crate::GpuContext;

/// Steps the CPU may record ahead of the GPU. Steps in flight share every buffer (the GPU runs
/// them in order). 16 in the browser instead of 3 did not help: the page's steps are not held
/// up by the latency of the "done" notice but by how fast the browser's GPU process gets
/// through a step's commands (BENCHMARKS.md, "Training in the browser on the H200").
const MAX_STEPS_IN_FLIGHT: usize = 3;

/// A submitted step: natively waited on by its submission index, in the browser by the
/// `on_submitted_work_done` callback.
struct Submitted {
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    index: wgpu::SubmissionIndex,
    done: futures_channel::oneshot::Receiver<()>,
}

/// The lead device's submitted steps, oldest first.
#[derive(Default)]
pub struct InFlight {
    steps: VecDeque<Submitted>,
}

impl InFlight {
    /// Records a step whose last submission on `gpu` was `index`.
    pub fn push(&mut self, gpu: &GpuContext, index: wgpu::SubmissionIndex) {
        let (sender, done) = futures_channel::oneshot::channel();
        gpu.queue.on_submitted_work_done(move || {
            let _ = sender.send(());
        });
        self.steps.push_back(Submitted { index, done });
    }

    /// Waits until at most MAX_STEPS_IN_FLIGHT - 1 steps are in flight.
    pub async fn throttle(&mut self, gpu: &GpuContext) {
        while self.steps.len() >= MAX_STEPS_IN_FLIGHT {
            let step = self.steps.pop_front().expect("non-empty");
            wait_for(gpu, step).await;
        }
    }

    /// Waits for every submitted step.
    pub async fn finish(&mut self, gpu: &GpuContext) {
        while let Some(step) = self.steps.pop_front() {
            wait_for(gpu, step).await;
        }
    }
}

/// Waits until a submitted step has run on the GPU.
async fn wait_for(gpu: &GpuContext, step: Submitted) {
    // A failed poll (device lost) may never run the callback: don't wait for it then; the
    // next submission or readback reports the error.
    #[cfg(not(target_arch = "wasm32"))]
    if let Err(e) = gpu.device.poll(wgpu::PollType::Wait { submission_index: Some(step.index), timeout: None }) {
        log::warn!("waiting for a training step: {e}");
        return;
    }
    #[cfg(target_arch = "wasm32")]
    let _ = gpu;
    // Natively the callback has run by now; in the browser this yields until it does. A dropped
    // sender (device lost) ends the wait too.
    let _ = step.done.await;
}
