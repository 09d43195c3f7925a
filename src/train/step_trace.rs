//! What a training step ran on each device, in order: one device and N devices run the same
//! code, and the trace is how a test sees that (the coordinator's own phases, such as the
//! gradient exchange, are recorded without a device).

/// A phase of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The renderer sized for the scene (the first step, after a resume or a new device).
    SizeRenderer,
    /// Render, loss and backward pass of the device's share of the views; `statistics`: the
    /// strategy took per-splat statistics from it.
    Gradients { statistics: bool },
    /// The gradients summed over the devices.
    Exchange,
    /// Adam's step.
    Apply,
    /// A round of the strategy (refine, or remove non-finite splats).
    Round,
    /// The opacities reset.
    ResetOpacity,
}

/// The phases of the last step, with the device each ran on (None: the coordinator's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepTrace {
    entries: Vec<(Option<usize>, Phase)>,
}

impl StepTrace {
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn record(&mut self, device: Option<usize>, phase: Phase) {
        self.entries.push((device, phase));
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &[(Option<usize>, Phase)] {
        &self.entries
    }

    /// The phases device `rank` ran, in order.
    pub fn of_device(&self, rank: usize) -> Vec<Phase> {
        self.entries.iter().filter(|(d, _)| *d == Some(rank)).map(|(_, p)| *p).collect()
    }
}
