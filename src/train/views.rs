//! The views a run trains on, and the shuffled order it visits them in.

use crate::Camera;
use crate::rng::SplitMix;

/// A view to train on or evaluate: its camera and its image's slot.
#[derive(Debug, Clone)]
pub struct TrainView {
    pub name: String,
    pub camera: Camera,
    pub slot: usize,
}

impl TrainView {
    /// One view a frame, slot i for frame i.
    pub fn of_frames(frames: &[crate::dataset::FrameInfo]) -> Vec<TrainView> {
        frames.iter().enumerate().map(|(slot, f)| TrainView { name: f.name.clone(), camera: f.camera, slot }).collect()
    }
}

/// Shuffled passes over the views whose images have loaded (the page streams images in while
/// training: each pass takes those loaded when it begins).
#[derive(Debug, Default)]
pub struct ViewOrder {
    order: Vec<usize>,
    pos: usize,
}

impl ViewOrder {
    /// The next view (an index into `views`), drawing a new pass from `rng` when one ends.
    pub fn next(&mut self, views: &[TrainView], loaded: &[bool], rng: &mut SplitMix) -> usize {
        if self.pos >= self.order.len() {
            self.order = (0..views.len()).filter(|&i| loaded[views[i].slot]).collect();
            for i in (1..self.order.len()).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                self.order.swap(i, j);
            }
            self.pos = 0;
        }
        self.pos += 1;
        self.order[self.pos - 1]
    }
}
