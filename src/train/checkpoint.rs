//! Checkpoints as three files: `splats.ply` (the standard layout), `optimizer.bin` (Adam moments
//! and density statistics, raw little-endian f32 after a small header) and `state.json` (the
//! loop state). The encoding is shared by both homes of a checkpoint: a folder on disk (native;
//! each file written to a temporary name and renamed, so an interrupted save keeps the previous
//! one) and the browser's storage (the page stores the three byte arrays). `state.json` records
//! the dataset (in its `config`), so that a checkpoint continues only on that dataset
//! ([`Checkpoint::prepare_resume`]).

use super::config::{ResumeError, ResumeSettings, TrainConfig};
use super::strategy::densify::RefineState;
use crate::dataset::{DatasetIdentity, DatasetIndex};
use crate::scene::ply;

const MAGIC: &[u8; 8] = b"WGSPOPT1";

/// Splats with optimizer state and the loop state: all a trainer needs to continue.
pub struct Checkpoint {
    pub state: RefineState,
    pub meta: CheckpointMeta,
}

/// The loop state a checkpoint keeps beside splats and moments (`state.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckpointMeta {
    pub step: u32,
    pub adam_step: u32,
    pub opacity_was_reset: bool,
    pub rng: u64,
    pub active_sh_degree: u32,
    /// The run's configuration, with the dataset it trains on (`TrainConfig::dataset`: the
    /// trainer copies its configuration here, so the dataset travels with it).
    pub config: TrainConfig,
    pub extent: f32,
}

/// What is wrong with a checkpoint: the file (`state.json`, `splats.ply`, `optimizer.bin`, or a
/// path on disk) and the problem.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint {file}: {problem}")]
pub struct CheckpointError {
    pub file: String,
    pub problem: String,
}

impl CheckpointError {
    pub fn new(file: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { file: file.into(), problem: problem.into() }
    }
}

/// A checkpoint's three files, as bytes.
pub struct CheckpointFiles {
    pub splats_ply: Vec<u8>,
    pub optimizer_bin: Vec<u8>,
    pub state_json: Vec<u8>,
}

pub fn encode(checkpoint: &Checkpoint) -> Result<CheckpointFiles, CheckpointError> {
    let state = &checkpoint.state;
    let mut opt = MAGIC.to_vec();
    let groups: Vec<&[u8]> = state
        .moments
        .iter()
        .map(|m| bytemuck::cast_slice::<[f32; 2], u8>(m))
        .chain(std::iter::once(bytemuck::cast_slice::<[f32; 4], u8>(&state.stats)))
        .collect();
    for g in &groups {
        opt.extend_from_slice(&(g.len() as u64).to_le_bytes());
    }
    for g in &groups {
        opt.extend_from_slice(g);
    }
    let state_json = serde_json::to_vec_pretty(&checkpoint.meta).map_err(|e| CheckpointError::new("state.json", e.to_string()))?;
    Ok(CheckpointFiles { splats_ply: ply::write_ply(&state.splats), optimizer_bin: opt, state_json })
}

pub fn decode(files: &CheckpointFiles) -> Result<Checkpoint, CheckpointError> {
    let meta: CheckpointMeta = serde_json::from_slice(&files.state_json).map_err(|e| CheckpointError::new("state.json", e.to_string()))?;
    let splats = ply::read_ply(&files.splats_ply, "splats.ply").map_err(|e| CheckpointError::new("splats.ply", e.to_string()))?;
    // Training never saves an empty scene (density control refuses to prune every splat), and
    // one would fail later, on the GPU, without a file to name.
    if splats.is_empty() {
        return Err(CheckpointError::new("splats.ply", "holds no splats"));
    }
    let opt = &files.optimizer_bin;
    let corrupt = |problem: &str| CheckpointError::new("optimizer.bin", problem);
    if opt.len() < 8 + 6 * 8 || &opt[..8] != MAGIC {
        return Err(corrupt("not a wgsplat optimizer state"));
    }
    let lens: Vec<usize> =
        opt[8..8 + 6 * 8].chunks_exact(8).map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as usize).collect();
    let mut at: usize = 8 + 6 * 8;
    let mut groups = Vec::new();
    for len in lens {
        let end = at.checked_add(len).filter(|e| *e <= opt.len()).ok_or_else(|| corrupt("truncated"))?;
        if len % 4 != 0 {
            return Err(corrupt("corrupt group length"));
        }
        groups.push(opt[at..end].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect::<Vec<f32>>());
        at = end;
    }
    // The header says where the file ends: anything after is another file's bytes or damage,
    // and the moments read before it could be wrong too.
    if at != opt.len() {
        return Err(corrupt(&format!(
            "{} bytes after the last of its {at} bytes (a damaged file, or not this checkpoint's)",
            opt.len() - at
        )));
    }
    let n = splats.len();
    let coeffs = splats.coeffs_per_splat();
    let expected = [n * 6, n * 8, n * 6, n * 2, n * 6 * coeffs, n * 4];
    if groups.iter().map(Vec::len).ne(expected) {
        return Err(corrupt(&format!("does not match the {n} splats of splats.ply")));
    }
    let pairs = |g: &Vec<f32>| g.chunks(2).map(|c| [c[0], c[1]]).collect::<Vec<[f32; 2]>>();
    let moments = [pairs(&groups[0]), pairs(&groups[1]), pairs(&groups[2]), pairs(&groups[3]), pairs(&groups[4])];
    let stats = groups[5].chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
    Ok(Checkpoint { state: RefineState { splats, moments, stats }, meta })
}

#[cfg(not(target_arch = "wasm32"))]
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| CheckpointError::new(tmp.display().to_string(), format!("writing: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| CheckpointError::new(tmp.display().to_string(), format!("renaming into place: {e}")))
}

#[cfg(not(target_arch = "wasm32"))]
pub fn write(dir: &std::path::Path, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
    std::fs::create_dir_all(dir).map_err(|e| CheckpointError::new(dir.display().to_string(), format!("creating the folder: {e}")))?;
    let files = encode(checkpoint)?;
    write_atomic(&dir.join("splats.ply"), &files.splats_ply)?;
    write_atomic(&dir.join("optimizer.bin"), &files.optimizer_bin)?;
    // state.json last: its presence marks a complete checkpoint.
    write_atomic(&dir.join("state.json"), &files.state_json)
}

#[cfg(not(target_arch = "wasm32"))]
pub fn read(dir: &std::path::Path) -> Result<Checkpoint, CheckpointError> {
    let read = |name: &str| {
        crate::files::read_limited(&dir.join(name), crate::files::MAX_CHECKPOINT_FILE_BYTES)
            .map_err(|e| CheckpointError::new(dir.join(name).display().to_string(), e.to_string()))
    };
    // state.json first: a folder without it holds no complete checkpoint.
    let state_json = read("state.json")?;
    let files = CheckpointFiles { splats_ply: read("splats.ply")?, optimizer_bin: read("optimizer.bin")?, state_json };
    // `decode` names the file within the checkpoint; on disk, the path says which checkpoint.
    decode(&files).map_err(|e| CheckpointError { file: dir.join(&e.file).display().to_string(), problem: e.problem })
}

/// What resuming a checkpoint takes from it and changes ([`Checkpoint::prepare_resume`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeReport {
    /// The dataset the checkpoint records, the same as the one given; None for a checkpoint
    /// written before datasets were recorded (it could not be checked).
    pub dataset: Option<DatasetIdentity>,
    /// See [`super::config::ResumedConfig`].
    pub taken: Vec<String>,
    pub changed: Vec<String>,
}

impl Checkpoint {
    /// Checks that this checkpoint continues on `index` (the dataset it records, when it
    /// records one) with `settings`, and applies those settings to it (see
    /// [`ResumeSettings::apply`]). Both front ends call it before resuming; it needs no GPU, so
    /// a mismatch costs nothing. The checkpoints of the resumed run record `index`.
    pub fn prepare_resume(&mut self, index: &DatasetIndex, settings: &ResumeSettings) -> Result<ResumeReport, ResumeError> {
        let given = DatasetIdentity::of(index);
        let dataset = match &self.meta.config.dataset {
            Some(saved) if *saved == given => Some(given.clone()),
            Some(saved) => {
                return Err(ResumeError::OtherDataset {
                    saved: saved.describe(),
                    given: given.describe(),
                    differences: saved.differences(&given).join("; "),
                });
            }
            None => None,
        };
        let resumed = settings.apply(&self.meta.config, self.meta.step, index)?;
        let splats = self.state.splats.len();
        let budget = resumed.config.densify.max_splats;
        if budget != 0 && (budget as usize) < splats {
            return Err(ResumeError::BudgetBelowSplats { budget, splats });
        }
        self.meta.config = TrainConfig { dataset: Some(given), ..resumed.config };
        Ok(ResumeReport { dataset, taken: resumed.taken, changed: resumed.changed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::FrameInfo;

    /// A checkpoint of `n` splats (SH degree 0) at step 10, for `index`'s dataset.
    fn checkpoint(n: usize, index: &DatasetIndex) -> Checkpoint {
        let splats = crate::train::init::splats_from_points(&vec![[0.0; 3]; n], &[], 0);
        let coeffs = splats.coeffs_per_splat();
        let moments =
            [vec![[0.0; 2]; n * 3], vec![[0.0; 2]; n * 4], vec![[0.0; 2]; n * 3], vec![[0.0; 2]; n], vec![[0.0; 2]; n * 3 * coeffs]];
        let config = crate::train::config::TrainSettings { batch: 2, ..Default::default() }.config(index).unwrap();
        let meta = CheckpointMeta { step: 10, adam_step: 10, opacity_was_reset: false, rng: 1, active_sh_degree: 0, config, extent: 1.0 };
        Checkpoint { state: RefineState { splats, moments, stats: vec![[0.0; 4]; n] }, meta }
    }

    fn index(names: &[&str]) -> DatasetIndex {
        let camera = crate::Camera {
            width: 8,
            height: 6,
            fx: 8.0,
            fy: 8.0,
            cx: 4.0,
            cy: 3.0,
            world_to_camera: [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 4.0], [0.0, 0.0, 0.0, 1.0]],
        };
        DatasetIndex {
            train: names
                .iter()
                .map(|n| FrameInfo { name: n.to_string(), image_path: format!("{n}.png"), camera, image_size: (8, 6) })
                .collect(),
            test: Vec::new(),
            init_points: None,
            scene_center: [0.0; 3],
            scene_extent: 1.0,
            has_alpha: true,
            format: "nerf-synthetic".into(),
            root: String::new(),
            size_from: None,
        }
    }

    fn decode_err(files: &CheckpointFiles) -> String {
        match decode(files) {
            Ok(_) => panic!("decoded"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn round_trip_and_trailing_bytes() {
        let files = encode(&checkpoint(5, &index(&["a", "b"]))).unwrap();
        let back = decode(&files).unwrap();
        assert_eq!(back.state.splats.len(), 5);
        assert_eq!(back.meta.config.dataset, Some(DatasetIdentity::of(&index(&["a", "b"]))));
        let mut longer = CheckpointFiles {
            splats_ply: files.splats_ply.clone(),
            optimizer_bin: files.optimizer_bin.clone(),
            state_json: files.state_json.clone(),
        };
        longer.optimizer_bin.extend_from_slice(&[0; 12]);
        let e = decode_err(&longer);
        assert!(e.contains("optimizer.bin") && e.contains("12 bytes after the last"), "{e}");
        let mut shorter = longer;
        shorter.optimizer_bin.truncate(files.optimizer_bin.len() - 4);
        assert!(decode_err(&shorter).contains("optimizer.bin: truncated"));
    }

    #[test]
    fn an_empty_scene_is_refused_naming_splats_ply() {
        let files = encode(&checkpoint(0, &index(&["a"]))).unwrap();
        let e = decode_err(&files);
        assert!(e.contains("splats.ply") && e.contains("no splats"), "{e}");
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn read_names_the_path() {
        let dir = std::env::temp_dir().join(format!("wgsplat-checkpoint-trailing-{}", std::process::id()));
        write(&dir, &checkpoint(3, &index(&["a"]))).unwrap();
        let path = dir.join("optimizer.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.push(7);
        std::fs::write(&path, bytes).unwrap();
        let e = read(&dir).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains(&path.display().to_string()) && e.contains("1 bytes after"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn resume_checks_the_dataset() {
        let mut saved = checkpoint(3, &index(&["a", "b"]));
        let report = saved.prepare_resume(&index(&["a", "b"]), &ResumeSettings::default()).unwrap();
        assert_eq!(report.dataset, Some(DatasetIdentity::of(&index(&["a", "b"]))));
        let e = saved.prepare_resume(&index(&["a", "c"]), &ResumeSettings::default()).unwrap_err().to_string();
        for part in ["another dataset", "transforms, 2 training images", "(b)", "(c)"] {
            assert!(e.contains(part), "{part:?} is not in {e:?}");
        }
        // A checkpoint from before datasets were recorded resumes, unchecked, and records it.
        saved.meta.config.dataset = None;
        let report = saved.prepare_resume(&index(&["x"]), &ResumeSettings::default()).unwrap();
        assert_eq!(report.dataset, None);
        assert_eq!(saved.meta.config.dataset, Some(DatasetIdentity::of(&index(&["x"]))));
        // An old state.json without the field loads.
        let mut json: serde_json::Value = serde_json::from_slice(&encode(&saved).unwrap().state_json).unwrap();
        json["config"].as_object_mut().unwrap().remove("dataset");
        let meta: CheckpointMeta = serde_json::from_value(json).unwrap();
        assert_eq!(meta.config.dataset, None);
    }

    #[test]
    fn resume_settings_are_applied_or_refused() {
        let ds = index(&["a"]);
        let mut saved = checkpoint(3, &ds);
        let given = ResumeSettings {
            steps: Some(40),
            max_splats: Some(100),
            refine_every: Some(7),
            batch: Some(2),
            init_points: Some(9),
            ..Default::default()
        };
        let report = saved.prepare_resume(&ds, &given).unwrap();
        let config = &saved.meta.config;
        assert_eq!((config.steps, config.densify.max_splats, config.densify.every_views, config.batch), (40, 100, 7, 2));
        let changed = report.changed.join("; ");
        for part in [
            "steps 40 (the checkpoint's: 30000)",
            "splat budget 100 (the checkpoint's: the device's)",
            "density control every 7 views (the checkpoint's: 100 views)",
            "random initial points 9: not used",
        ] {
            assert!(changed.contains(part), "{part:?} is not in {changed:?}");
        }
        assert!(
            report.taken.iter().any(|t| t == "batch (views per step) 2") && report.taken.iter().any(|t| t == "background white"),
            "{:?}",
            report.taken
        );
        let refused = |settings: ResumeSettings| checkpoint(3, &ds).prepare_resume(&ds, &settings).unwrap_err();
        assert!(matches!(
            refused(ResumeSettings { batch: Some(4), ..Default::default() }),
            ResumeError::Fixed { setting: "batch (views per step)", .. }
        ));
        let e = refused(ResumeSettings { max_sh_degree: Some(1), ..Default::default() }).to_string();
        assert!(e.contains("SH degree 1: the checkpoint trained with 3"), "{e}");
        assert!(
            refused(ResumeSettings { background: Some("black".into()), ..Default::default() })
                .to_string()
                .contains("background black: the checkpoint trained with white")
        );
        assert!(checkpoint(3, &ds).prepare_resume(&ds, &ResumeSettings { background: Some("white".into()), ..Default::default() }).is_ok());
        assert!(refused(ResumeSettings { seed: Some(5), ..Default::default() }).to_string().contains("seed 5"));
        assert_eq!(
            refused(ResumeSettings { steps: Some(9), ..Default::default() }),
            ResumeError::StepsBelowCheckpoint { steps: 9, step: 10 }
        );
        assert_eq!(
            refused(ResumeSettings { max_splats: Some(2), ..Default::default() }),
            ResumeError::BudgetBelowSplats { budget: 2, splats: 3 }
        );
        assert!(matches!(refused(ResumeSettings { refine_every: Some(0), ..Default::default() }), ResumeError::Settings(_)));
    }
}
