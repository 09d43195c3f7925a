//! A dataset opened in the page. The page hands over what `load_dataset` needs to read the
//! cameras: every file's path, the full bytes of the small files (JSON, COLMAP models) and the
//! first bytes of each image (enough for the one header `load_dataset` probes); or a whole zip.
//! The images themselves are decoded by the page's web workers, off the main thread, and
//! arrive one by one through [`PageDataset::add_image`], which uploads each to the GPU at once:
//! training can start while the rest still decode, and a broken image is reported by name
//! while the others load.

use crate::GpuContext;
use crate::dataset::{DatasetIndex, FrameInfo, LoadOptions, MemorySource, ZipSource, load_dataset};
use crate::train::images::{GpuImages, ImageFormat};
use crate::train::session::frame_images;
use crate::train::trainer::TrainView;

/// Where the images are: still in the page's files, or in the zip we hold.
pub(crate) enum ImageSource {
    PageFiles,
    Zip(ZipSource),
    /// Rendered on the GPU (the demo training set): nothing left to decode.
    Generated,
}

/// A frame as the page sees it: `id` indexes train then test frames.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct PageFrame {
    pub id: usize,
    pub name: String,
    pub path: String,
    pub split: &'static str,
    /// The size the file must have ...
    pub image_width: u32,
    pub image_height: u32,
    /// ... and the size to decode it to (after the resolution scale).
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct DatasetSummary {
    pub name: String,
    pub format: String,
    pub has_alpha: bool,
    pub init_points: usize,
    pub frames: Vec<PageFrame>,
    /// Identifies the dataset (name, format, frames and sizes): a checkpoint resumes only on the
    /// dataset it was trained on.
    pub fingerprint: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ImageFailure {
    pub id: usize,
    pub file: String,
    pub message: String,
}

pub(crate) struct PageDataset {
    pub name: String,
    pub index: DatasetIndex,
    pub source: ImageSource,
    /// Training images, until a trainer takes them over (images then stream into its copy).
    pub train_images: Option<GpuImages>,
    pub test_images: GpuImages,
    pub failures: Vec<ImageFailure>,
}

impl PageDataset {
    /// Reads the cameras from files the page collected; see the module docs for what `files`
    /// must hold. Training images beyond `gpu_image_bytes` stream from the page's memory.
    pub fn from_page_files(
        gpu: &GpuContext,
        name: &str,
        files: Vec<(String, Vec<u8>)>,
        options: &LoadOptions,
        gpu_image_bytes: u64,
    ) -> Result<Self, String> {
        let source = MemorySource::from_files(name, files);
        let index = load_dataset(&source, name, options).map_err(|e| e.to_string())?;
        Self::new(gpu, name, index, ImageSource::PageFiles, gpu_image_bytes)
    }

    /// Reads a zip (with the zip-bomb limits of [`ZipSource`]).
    pub fn from_zip(gpu: &GpuContext, name: &str, bytes: Vec<u8>, options: &LoadOptions, gpu_image_bytes: u64) -> Result<Self, String> {
        let zip = ZipSource::new(bytes, name).map_err(|e| e.to_string())?;
        let index = load_dataset(&zip, name, options).map_err(|e| e.to_string())?;
        Self::new(gpu, name, index, ImageSource::Zip(zip), gpu_image_bytes)
    }

    /// A dataset whose images are already on the GPU.
    pub fn generated(name: &str, index: DatasetIndex, train_images: GpuImages, test_images: GpuImages) -> Self {
        Self {
            name: name.to_string(),
            index,
            source: ImageSource::Generated,
            train_images: Some(train_images),
            test_images,
            failures: Vec::new(),
        }
    }

    fn new(gpu: &GpuContext, name: &str, index: DatasetIndex, source: ImageSource, gpu_image_bytes: u64) -> Result<Self, String> {
        // An image too large is named by its file (its path in the dataset).
        let describe = |path: &str| format!("{name}/{path}");
        let train_images = frame_images(gpu, &index.train, ImageFormat::Rgba8, gpu_image_bytes, &describe)
            .map_err(|e| format!("{name}: training images: {e}"))?;
        // Test images stay in the page's memory (as natively: evaluations are rare).
        let test_images =
            frame_images(gpu, &index.test, ImageFormat::Rgba8, 0, &describe).map_err(|e| format!("{name}: test images: {e}"))?;
        Ok(Self { name: name.to_string(), index, source, train_images: Some(train_images), test_images, failures: Vec::new() })
    }

    pub fn summary(&self) -> DatasetSummary {
        let frames: Vec<PageFrame> = self
            .index
            .train
            .iter()
            .map(|f| (f, "train"))
            .chain(self.index.test.iter().map(|f| (f, "test")))
            .enumerate()
            .map(|(id, (f, split))| PageFrame {
                id,
                name: f.name.clone(),
                path: f.image_path.clone(),
                split,
                image_width: f.image_size.0,
                image_height: f.image_size.1,
                width: f.camera.width,
                height: f.camera.height,
            })
            .collect();
        let mut fingerprint = format!("{}|{}|{}", self.name, self.index.format, frames.len());
        for f in &frames {
            fingerprint += &format!("|{}:{}x{}", f.path, f.width, f.height);
        }
        DatasetSummary {
            name: self.name.clone(),
            format: self.index.format.clone(),
            has_alpha: self.index.has_alpha,
            init_points: self.index.init_points.as_ref().map_or(0, |p| p.positions.len()),
            frames,
            fingerprint: format!("{:032x}", crate::rvs::hash::hash_bytes(fingerprint.as_bytes())),
        }
    }

    pub fn frame(&self, id: usize) -> Option<&FrameInfo> {
        let train = self.index.train.len();
        if id < train { self.index.train.get(id) } else { self.index.test.get(id - train) }
    }

    /// The encoded bytes of a frame's image, when we hold them (zips).
    pub fn image_bytes(&self, id: usize) -> Result<Vec<u8>, String> {
        let frame = self.frame(id).ok_or_else(|| format!("no frame {id}"))?;
        match &self.source {
            ImageSource::Zip(zip) => crate::dataset::decode::read_frame_file(zip, frame).map_err(|e| e.to_string()),
            ImageSource::PageFiles | ImageSource::Generated => {
                Err(format!("{}: the page holds this image, not the trainer", frame.image_path))
            }
        }
    }

    /// Checks a decoded image (RGBA8) against its frame and uploads it into `images` (the
    /// training images wherever they live now, or the test images).
    pub fn add_image(
        &mut self,
        gpu: &GpuContext,
        train_images: &mut GpuImages,
        id: usize,
        width: u32,
        height: u32,
        rgba: &[u8],
    ) -> Result<(), String> {
        let frame = self.frame(id).ok_or_else(|| format!("no frame {id} in {}", self.name))?;
        let file = frame.image_path.clone();
        if (width, height) != (frame.camera.width, frame.camera.height) {
            return Err(format!(
                "{file}: decoded to {width}x{height}, but its camera is {}x{}{}",
                frame.camera.width,
                frame.camera.height,
                self.index.size_note()
            ));
        }
        if rgba.len() as u64 != width as u64 * height as u64 * 4 {
            return Err(format!("{file}: {} bytes of pixels for {width}x{height} RGBA", rgba.len()));
        }
        let train = self.index.train.len();
        if id < train {
            train_images.upload(gpu, id, rgba).map_err(|e| format!("{file}: {e}"))?;
        } else {
            self.test_images.upload(gpu, id - train, rgba).map_err(|e| format!("{file}: {e}"))?;
        }
        Ok(())
    }

    pub fn record_failure(&mut self, id: usize, message: &str) {
        let file = self.frame(id).map(|f| f.image_path.clone()).unwrap_or_else(|| format!("frame {id}"));
        self.failures.push(ImageFailure { id, file, message: message.to_string() });
    }

    pub fn train_views(&self) -> Vec<TrainView> {
        TrainView::of_frames(&self.index.train)
    }

    /// Test views whose image loaded.
    pub fn test_views(&self) -> Vec<TrainView> {
        TrainView::of_frames(&self.index.test)
            .into_iter()
            .filter(|v| self.test_images.loaded.get(v.slot).copied().unwrap_or(false))
            .collect()
    }
}
