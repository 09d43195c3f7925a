//! The state of an RVS set the page is making (see `rvs.rs`, which drives it batch by batch):
//! the views sampled, where the next batch starts, the renderer and the images encoded so far.
//! Its own file so that the trainer's session can hold one without depending on the page's RVS
//! calls.

use crate::render::Renderer;
use crate::rvs::SampledView;
use crate::rvs::export::SetInfo;

/// An RVS set being made.
pub(crate) struct RvsJob {
    pub(super) views: Vec<SampledView>,
    pub(super) info: SetInfo,
    pub(super) batch: usize,
    pub(super) next: usize,
    pub(super) renderer: Renderer,
    pub(super) images: Vec<(String, Vec<u8>)>,
}
