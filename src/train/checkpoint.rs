//! Checkpoints as three files: `splats.ply` (the standard layout), `optimizer.bin` (Adam moments
//! and density statistics, raw little-endian f32 after a small header) and `state.json` (the
//! loop state). The encoding is shared by both homes of a checkpoint: a folder on disk (native;
//! each file written to a temporary name and renamed, so an interrupted save keeps the previous
//! one) and the browser's storage (the page stores the three byte arrays).

use super::config::TrainConfig;
use super::densify::RefineState;
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
    let groups: Vec<&[u8]> = state.moments.iter().map(|m| bytemuck::cast_slice::<[f32; 2], u8>(m)).chain(std::iter::once(bytemuck::cast_slice::<[f32; 4], u8>(&state.stats))).collect();
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
    let opt = &files.optimizer_bin;
    let corrupt = |problem: &str| CheckpointError::new("optimizer.bin", problem);
    if opt.len() < 8 + 6 * 8 || &opt[..8] != MAGIC {
        return Err(corrupt("not a wgsplat optimizer state"));
    }
    let lens: Vec<usize> = (0..6).map(|i| u64::from_le_bytes(opt[8 + 8 * i..16 + 8 * i].try_into().expect("8 bytes")) as usize).collect();
    let mut at: usize = 8 + 6 * 8;
    let mut groups = Vec::new();
    for len in lens {
        let end = at.checked_add(len).filter(|e| *e <= opt.len()).ok_or_else(|| corrupt("truncated"))?;
        if len % 4 != 0 {
            return Err(corrupt("corrupt group length"));
        }
        groups.push(opt[at..end].chunks(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect::<Vec<f32>>());
        at = end;
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
    let read = |name: &str| crate::files::read_limited(&dir.join(name), crate::files::MAX_CHECKPOINT_FILE_BYTES).map_err(|e| CheckpointError::new(dir.join(name).display().to_string(), e.to_string()));
    // state.json first: a folder without it holds no complete checkpoint.
    let state_json = read("state.json")?;
    decode(&CheckpointFiles { splats_ply: read("splats.ply")?, optimizer_bin: read("optimizer.bin")?, state_json })
}
