//! PNG writing for the CLI, on a worker thread so the GPU renders the next batch meanwhile.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::Context;
use wgsplat::render::RenderedImage;

/// Encodes images on a background thread; `finish` waits and reports the first error.
pub struct PngWriter {
    sender: Option<mpsc::Sender<(PathBuf, RenderedImage)>>,
    worker: Option<JoinHandle<anyhow::Result<()>>>,
}

impl PngWriter {
    pub fn new() -> Self {
        let (sender, receiver) = mpsc::channel::<(PathBuf, RenderedImage)>();
        let worker = std::thread::spawn(move || {
            for (path, image) in receiver {
                write_png(&path, &image)?;
            }
            Ok(())
        });
        Self { sender: Some(sender), worker: Some(worker) }
    }

    pub fn write(&self, path: PathBuf, image: RenderedImage) -> anyhow::Result<()> {
        self.sender.as_ref().expect("open until finish").send((path, image)).map_err(|_| anyhow::anyhow!("the PNG writer stopped early"))
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        drop(self.sender.take());
        self.worker.take().expect("joined once").join().map_err(|_| anyhow::anyhow!("the PNG writer panicked"))?
    }
}

pub fn write_png(path: &std::path::Path, image: &RenderedImage) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &image.to_rgba8(),
        image.width,
        image.height,
        image::ExtendedColorType::Rgba8,
    )
    .with_context(|| format!("encoding {}", path.display()))?;
    // fs::write reports every write error (a full disk); a dropped buffered writer would not.
    crate::outputs::write_replacing(path, &png)
}
