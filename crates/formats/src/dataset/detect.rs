//! Finding the dataset among a source's files and handing it to its format's reader, then what
//! both formats share after reading: resolution scale and scene bounds.

use super::decode::check_image_size;
use super::listing::{Listing, Loaded};
use super::{DatasetError, DatasetIndex, FileSource, LoadOptions, colmap, scene_bounds, transforms};

/// `a/b/c.json` -> `a/b/`; `c.json` -> ``.
fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..=i])
}

fn depth(dir: &str) -> usize {
    dir.split('/').filter(|c| !c.is_empty()).count()
}

#[derive(Debug, Clone, PartialEq)]
enum Candidate {
    /// A folder with `transforms_train.json` or `transforms.json`.
    Transforms { root: String },
    /// A COLMAP model folder (`.../sparse/0/`, `.../sparse/` or flat) and the dataset root that
    /// holds `images/`.
    Colmap { root: String, model: String, binary: bool },
}

impl Candidate {
    fn root(&self) -> &str {
        match self {
            Self::Transforms { root } | Self::Colmap { root, .. } => root,
        }
    }

    /// Order among candidates: shallowest root first, transforms before COLMAP, `sparse/0`
    /// before `sparse/1`, binary before text.
    fn key(&self) -> (usize, u8, String, bool) {
        match self {
            Self::Transforms { root } => (depth(root), 0, String::new(), false),
            Self::Colmap { root, model, binary } => (depth(root), 1, model.clone(), !binary),
        }
    }
}

/// The root of a COLMAP model folder: `x/sparse/0/` -> `x/`, `x/sparse/` -> `x/`, `x/` -> `x/`.
fn colmap_root(model: &str) -> String {
    let parts: Vec<&str> = model.split('/').filter(|c| !c.is_empty()).collect();
    let keep = match parts.as_slice() {
        [.., "sparse", n] if n.chars().all(|c| c.is_ascii_digit()) => parts.len() - 2,
        [.., "sparse"] => parts.len() - 1,
        _ => parts.len(),
    };
    parts[..keep].iter().map(|p| format!("{p}/")).collect()
}

fn candidates(listing: &Listing) -> Vec<Candidate> {
    let mut found = Vec::new();
    for file in listing.sorted() {
        let dir = parent(file);
        let base = &file[dir.len()..];
        match base {
            "transforms_train.json" | "transforms.json" => {
                let c = Candidate::Transforms { root: dir.to_string() };
                if !found.contains(&c) {
                    found.push(c);
                }
            }
            "cameras.bin" | "cameras.txt" => {
                let binary = base == "cameras.bin";
                let images = format!("{dir}images.{}", if binary { "bin" } else { "txt" });
                if listing.contains(&images) {
                    found.push(Candidate::Colmap { root: colmap_root(dir), model: dir.to_string(), binary });
                }
            }
            _ => {}
        }
    }
    found.sort_by_key(Candidate::key);
    found
}

/// Reads a dataset: nerfstudio / NeRF-synthetic `transforms*.json`, or a COLMAP sparse model
/// (binary or text, in `sparse/0/`, `sparse/` or a flat folder, images in `images/` beside it).
/// The dataset may sit anywhere in the source (e.g. under one top-level folder of a zip): the
/// shallowest one is taken, and several at the same depth are an error. `name` (e.g. the folder
/// or zip) names the source in messages about the whole.
///
/// Every frame's image must exist; one image's header is read (size when the JSON has none,
/// alpha), the other images are not read. COLMAP images are sorted by name before the
/// every-Nth split, as 3DGS does; transforms frames keep their order.
pub fn load_dataset(source: &dyn FileSource, name: &str, options: &LoadOptions) -> Result<DatasetIndex, DatasetError> {
    if !(options.resolution_scale.is_finite() && options.resolution_scale > 0.0 && options.resolution_scale <= 4.0) {
        return Err(DatasetError::Options(format!("the resolution scale {} is not in (0, 4]", options.resolution_scale)));
    }
    let listing = Listing::new(source.list());
    if listing.sorted().is_empty() {
        return Err(DatasetError::Empty { file: name.to_string(), problem: "no files".into() });
    }
    let found = candidates(&listing);
    let Some(best) = found.first().cloned() else {
        return Err(DatasetError::Format {
            file: name.to_string(),
            problem: format!(
                "no dataset found among {} files: expected transforms.json, transforms_train.json, or a COLMAP model \
                 (cameras.bin + images.bin, or cameras.txt + images.txt, in sparse/0/, sparse/ or the folder itself)",
                listing.sorted().len()
            ),
        });
    };
    let rivals: Vec<&str> = found.iter().filter(|c| c.key().0 == best.key().0 && c.root() != best.root()).map(|c| c.root()).collect();
    if !rivals.is_empty() {
        let mut roots = vec![best.root()];
        roots.extend(rivals);
        roots.dedup();
        return Err(DatasetError::Format {
            file: name.to_string(),
            problem: format!("several datasets found ({}): open one of these folders", roots.join(", ")),
        });
    }
    let loaded = match &best {
        Candidate::Transforms { root } => transforms::load(source, &listing, root, options)?,
        Candidate::Colmap { root, model, binary } => colmap::load(source, &listing, root, model, *binary, options)?,
    };
    finish(loaded, source, name, best.root(), options)
}

fn finish(loaded: Loaded, source: &dyn FileSource, name: &str, root: &str, options: &LoadOptions) -> Result<DatasetIndex, DatasetError> {
    let Loaded { mut train, mut test, points, format, header, header_path, size_from } = loaded;
    if train.is_empty() {
        return Err(DatasetError::Empty {
            file: name.to_string(),
            problem: format!("the {format} dataset in {root:?} has no training frames"),
        });
    }
    if let Some(frame) = train.iter().chain(test.iter()).find(|f| f.image_path == header_path)
        && frame.image_size != (header.width, header.height)
    {
        return Err(DatasetError::SizeMismatch {
            file: source.describe(&header_path),
            expected_width: frame.image_size.0,
            expected_height: frame.image_size.1,
            actual_width: header.width,
            actual_height: header.height,
        });
    }
    // Every image is decoded at its full size (the resolution scale applies after), so the
    // limit is on that size.
    for frame in train.iter().chain(test.iter()) {
        check_image_size(&source.describe(&frame.image_path), frame.image_size)?;
    }
    if options.resolution_scale != 1.0 {
        for frame in train.iter_mut().chain(test.iter_mut()) {
            frame.camera = frame.camera.scaled(options.resolution_scale);
        }
    }
    let cameras: Vec<_> = train.iter().map(|f| f.camera).collect();
    let (scene_center, scene_extent) = scene_bounds(&cameras);
    Ok(DatasetIndex {
        train,
        test,
        init_points: points,
        scene_center,
        scene_extent,
        has_alpha: header.has_alpha,
        format: format.to_string(),
        root: root.to_string(),
        size_from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colmap_roots() {
        assert_eq!(colmap_root("sparse/0/"), "");
        assert_eq!(colmap_root("scene/sparse/0/"), "scene/");
        assert_eq!(colmap_root("dense/0/sparse/"), "dense/0/");
        assert_eq!(colmap_root("model/"), "model/");
        assert_eq!(colmap_root(""), "");
    }

    #[test]
    fn picks_the_shallowest_dataset() {
        let listing = Listing::new(
            ["a/transforms.json", "a/colmap/sparse/0/cameras.bin", "a/colmap/sparse/0/images.bin", "__MACOSX/a/._transforms.json"]
                .map(String::from)
                .to_vec(),
        );
        assert_eq!(candidates(&listing)[0], Candidate::Transforms { root: "a/".into() });
        let listing = Listing::new(
            ["sparse/1/cameras.txt", "sparse/1/images.txt", "sparse/0/cameras.bin", "sparse/0/images.bin"].map(String::from).to_vec(),
        );
        assert_eq!(candidates(&listing)[0], Candidate::Colmap { root: "".into(), model: "sparse/0/".into(), binary: true });
    }
}
