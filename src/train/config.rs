//! A run's settings as a person gives them (CLI flags, the page's form) and the one place they
//! are checked and turned into the trainer's `TrainConfig`: both front ends call
//! `TrainSettings::config`, so the CLI and the page cannot disagree about limits or defaults.

use super::rates::LearningRates;
use super::strategy::densify::DensifyConfig;
use crate::dataset::{DatasetIdentity, DatasetIndex};

/// Views per step, at most: the loss pass takes at most 256 views, and 64 keeps a step's
/// buffers within what browsers bind (the renderer splits larger batches into chunks).
pub const MAX_BATCH: u32 = 64;
/// Random initial points at most (each is a splat on the GPU).
pub const MAX_INIT_POINTS: usize = 10_000_000;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Optimizer steps, each of `batch` views.
    pub steps: u32,
    pub batch: u32,
    pub seed: u64,
    pub max_sh_degree: u32,
    /// Unscaled (batch 1) rates; scaled by sqrt(batch) when training.
    pub lr: LearningRates,
    pub densify: DensifyConfig,
    /// A random background per training view (for RGBA data), else `background`.
    pub random_background: bool,
    /// The background of training views (without `random_background`) and of evaluation.
    pub background: [f32; 3],
    /// Loss metrics are read back every this many steps.
    pub log_every: u32,
    /// The dataset the run trains on (`TrainSettings::config` records it), kept in every
    /// checkpoint so that a resume on another dataset is refused. None in checkpoints written
    /// before it was recorded, and for configurations made without a dataset (tests, tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetIdentity>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 30_000,
            batch: 1,
            seed: 0,
            max_sh_degree: 3,
            lr: LearningRates::default(),
            densify: DensifyConfig::default(),
            random_background: false,
            background: [0.0; 3],
            log_every: 10,
            dataset: None,
        }
    }
}

/// What a person chooses for a run; missing fields take the defaults (3DGS's schedule).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TrainSettings {
    pub steps: u32,
    /// Views per step (1 to `MAX_BATCH`).
    pub batch: u32,
    pub seed: u64,
    pub max_sh_degree: u32,
    /// "white", "black", "random", or none (or "") for the dataset's default.
    pub background: Option<String>,
    /// Random initial points for datasets without a point cloud.
    pub init_points: usize,
    pub log_every: u32,
    /// Density control from this view on, every `refine_every` views (3DGS: 500, 100).
    pub refine_start: u32,
    pub refine_every: u32,
    /// Evaluate every this many steps (0: never but at `eval_at` and the end).
    pub eval_every: u32,
    /// Also evaluate at these steps.
    pub eval_at: Vec<u32>,
    /// Save a checkpoint every this many steps and at the end of the run (0: never natively;
    /// the page always saves at the end).
    pub checkpoint_every: u32,
    /// Growth stops at this many splats (0: no budget); see `DensifyConfig::max_splats`.
    pub max_splats: u32,
}

impl Default for TrainSettings {
    fn default() -> Self {
        let d = TrainConfig::default();
        Self {
            steps: d.steps,
            batch: d.batch,
            seed: d.seed,
            max_sh_degree: d.max_sh_degree,
            background: None,
            init_points: 100_000,
            log_every: d.log_every,
            refine_start: d.densify.start_views,
            refine_every: d.densify.every_views,
            eval_every: 0,
            eval_at: Vec::new(),
            checkpoint_every: 2000,
            max_splats: 0,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    #[error("steps must be at least 1")]
    NoSteps,
    #[error("views per step (batch) must be 1 to {MAX_BATCH}, not {0}")]
    Batch(u32),
    #[error("the SH degree must be 0 to 3, not {0}")]
    ShDegree(u32),
    #[error("random initial points must be 1 to {MAX_INIT_POINTS}, not {0}")]
    InitPoints(usize),
    #[error("density control every {0} views: must be at least 1")]
    RefineEvery(u32),
    #[error("unknown background {0:?} (white, black or random)")]
    Background(String),
    #[error("the density-control gradient threshold must be above 0, not {0}")]
    GradThreshold(f32),
}

impl TrainSettings {
    /// Checks the settings and makes the trainer's configuration for `index`. With a random
    /// background, training views get random ones and evaluation the dataset's default (white
    /// for NeRF-synthetic, else black), natively and in the page alike.
    pub fn config(&self, index: &DatasetIndex) -> Result<TrainConfig, SettingsError> {
        self.check()?;
        let (background, random_background) = resolve_background(self.background.as_deref(), index)?;
        Ok(TrainConfig { dataset: Some(DatasetIdentity::of(index)), ..self.with_background(background, random_background) })
    }

    /// The configuration these settings make, with the given background, unchecked.
    fn with_background(&self, background: [f32; 3], random_background: bool) -> TrainConfig {
        TrainConfig {
            steps: self.steps,
            batch: self.batch,
            seed: self.seed,
            max_sh_degree: self.max_sh_degree,
            background,
            random_background,
            log_every: self.log_every.max(1),
            densify: DensifyConfig {
                start_views: self.refine_start,
                every_views: self.refine_every,
                max_splats: self.max_splats,
                ..DensifyConfig::default()
            },
            ..TrainConfig::default()
        }
    }

    /// The limits that do not depend on the dataset: the settings' own, then those every
    /// configuration obeys (`check_config`, which checkpoints go through too).
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.steps == 0 {
            return Err(SettingsError::NoSteps);
        }
        if !(1..=MAX_INIT_POINTS).contains(&self.init_points) {
            return Err(SettingsError::InitPoints(self.init_points));
        }
        check_config(&self.with_background([0.0; 3], false))
    }
}

/// A background setting ("white", "black", "random", none or "" for the dataset's default) as
/// the colour training and evaluation use and whether training views get random ones.
fn resolve_background(name: Option<&str>, index: &DatasetIndex) -> Result<([f32; 3], bool), SettingsError> {
    let default = super::init::default_background(index);
    match name {
        Some("white") => Ok(([1.0; 3], false)),
        Some("black") => Ok(([0.0; 3], false)),
        Some("random") => Ok((default, true)),
        None | Some("") => Ok((default, false)),
        Some(other) => Err(SettingsError::Background(other.to_string())),
    }
}

/// "random", "white", "black" or the colour.
fn background_name(background: [f32; 3], random: bool) -> String {
    match (random, background) {
        (true, _) => "random".into(),
        (false, [1.0, 1.0, 1.0]) => "white".into(),
        (false, [0.0, 0.0, 0.0]) => "black".into(),
        (false, colour) => format!("{colour:?}"),
    }
}

/// The settings a resumed run is given, `None` where none was (so "the same command with
/// `--resume`" works): those that may change mid-run replace the checkpoint's, the others must
/// equal it. Nothing given is ignored: each is applied, refused, or (`init_points`) reported as
/// unused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumeSettings {
    /// Applied: the run goes on to this step (not below the checkpoint's), the position rate
    /// decaying over it ...
    pub steps: Option<u32>,
    /// ... with this splat budget (0: the device's), not below the checkpoint's splats ...
    pub max_splats: Option<u32>,
    /// ... and density control from this view every this many (the schedule is a function of
    /// the step: a new one holds from the next step on).
    pub refine_start: Option<u32>,
    pub refine_every: Option<u32>,
    /// Must be the checkpoint's (see `FIXED`).
    pub batch: Option<u32>,
    pub max_sh_degree: Option<u32>,
    pub background: Option<String>,
    pub seed: Option<u64>,
    /// Unused: a resumed run continues from the checkpoint's splats.
    pub init_points: Option<usize>,
}

/// Why a setting cannot change on resume, by setting.
const BATCH_WHY: &str = "its learning rates are scaled for that batch and its schedules divided by it";
const SH_WHY: &str = "its splats' SH and their optimizer moments follow that degree";
const BACKGROUND_WHY: &str = "its splats were fit to images over that background";
const SEED_WHY: &str = "its random state continues from that seed";

/// Why a resumed run cannot go on with the settings or dataset it was given.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResumeError {
    /// A setting that would change the meaning of the saved state.
    #[error(
        "{setting} {given}: the checkpoint trained with {saved} and {why} (resume with {saved} or without it, or start a new run elsewhere)"
    )]
    Fixed { setting: &'static str, given: String, saved: String, why: &'static str },
    #[error("steps {steps}: below the checkpoint's step {step}")]
    StepsBelowCheckpoint { steps: u32, step: u32 },
    #[error("splat budget {budget}: below the {splats} splats of the checkpoint (raise it, or 0 for the device's)")]
    BudgetBelowSplats { budget: u32, splats: usize },
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The dataset given is not the one the checkpoint records.
    #[error("the checkpoint was trained on another dataset ({saved}) than this one ({given}): {differences}")]
    OtherDataset { saved: String, given: String, differences: String },
}

/// A checkpoint's configuration with a resume's settings applied, and what came from where:
/// the front ends print both.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumedConfig {
    pub config: TrainConfig,
    /// The checkpoint's settings kept, e.g. "batch 2".
    pub taken: Vec<String>,
    /// The settings changed, e.g. "steps 30000 (the checkpoint's: 2000)", and those given but
    /// not used.
    pub changed: Vec<String>,
}

impl ResumeSettings {
    /// Applies these settings to the configuration `saved` of a checkpoint at `step`, on the
    /// dataset `index` (for the default background): every setting given is applied or refused.
    pub fn apply(&self, saved: &TrainConfig, step: u32, index: &DatasetIndex) -> Result<ResumedConfig, ResumeError> {
        let mut out = ResumedConfig { config: saved.clone(), taken: Vec::new(), changed: Vec::new() };
        out.fixed("batch (views per step)", self.batch, saved.batch, BATCH_WHY)?;
        out.fixed("SH degree", self.max_sh_degree, saved.max_sh_degree, SH_WHY)?;
        out.fixed("seed", self.seed, saved.seed, SEED_WHY)?;
        let saved_background = background_name(saved.background, saved.random_background);
        let given_background = match self.background.as_deref().filter(|b| !b.is_empty()) {
            Some(name) => Some(resolve_background(Some(name), index).map(|(colour, random)| background_name(colour, random))?),
            None => None,
        };
        out.fixed("background", given_background, saved_background, BACKGROUND_WHY)?;
        if let Some(steps) = self.steps.filter(|&s| s < step) {
            return Err(ResumeError::StepsBelowCheckpoint { steps, step });
        }
        let budget = |n: u32| if n == 0 { "the device's".to_string() } else { n.to_string() };
        out.config.steps = out.changeable("steps", self.steps, saved.steps, |n| n.to_string());
        out.config.densify.max_splats = out.changeable("splat budget", self.max_splats, saved.densify.max_splats, budget);
        out.config.densify.start_views =
            out.changeable("density control from", self.refine_start, saved.densify.start_views, |n| format!("view {n}"));
        out.config.densify.every_views =
            out.changeable("density control every", self.refine_every, saved.densify.every_views, |n| format!("{n} views"));
        if let Some(points) = self.init_points {
            out.changed.push(format!("random initial points {points}: not used (the run continues from the checkpoint's splats)"));
        }
        check_config(&out.config)?;
        Ok(out)
    }
}

impl ResumedConfig {
    /// A setting the checkpoint fixes: `given` must be `saved`.
    fn fixed<T: PartialEq + std::fmt::Display>(
        &mut self,
        setting: &'static str,
        given: Option<T>,
        saved: T,
        why: &'static str,
    ) -> Result<(), ResumeError> {
        match given {
            Some(given) if given != saved => Err(ResumeError::Fixed { setting, given: given.to_string(), saved: saved.to_string(), why }),
            _ => {
                self.taken.push(format!("{setting} {saved}"));
                Ok(())
            }
        }
    }

    /// A setting a resumed run may change: `given` when there is one, else `saved`.
    fn changeable(&mut self, setting: &str, given: Option<u32>, saved: u32, show: impl Fn(u32) -> String) -> u32 {
        match given {
            Some(given) if given != saved => {
                self.changed.push(format!("{setting} {} (the checkpoint's: {})", show(given), show(saved)));
                given
            }
            _ => {
                self.taken.push(format!("{setting} {}", show(saved)));
                saved
            }
        }
    }
}

/// The splat budget a device can hold: the largest per-splat binding (the Adam moments of the SH
/// coefficients, `coeffs` of them per colour channel, (m, v) each: 96 floats a splat at degree
/// 3; density control's gather buffer is as large) within the adapter's binding limit, and the
/// projections of `batch` cameras (48 bytes a splat each). Used when no budget is given.
pub fn device_splat_budget(max_binding_bytes: u64, batch: u32, coeffs: u32) -> u32 {
    let widest_row = (3 * coeffs as u64).max(4) * 2;
    let by_moments = max_binding_bytes / (widest_row * 4);
    let by_projections = max_binding_bytes / (48 * batch.max(1) as u64);
    by_moments.min(by_projections).min(u32::MAX as u64) as u32
}

/// The limits of every configuration: from `TrainSettings::check`, and for a checkpoint's.
pub fn check_config(config: &TrainConfig) -> Result<(), SettingsError> {
    if !(1..=MAX_BATCH).contains(&config.batch) {
        return Err(SettingsError::Batch(config.batch));
    }
    if config.max_sh_degree > 3 {
        return Err(SettingsError::ShDegree(config.max_sh_degree));
    }
    if config.densify.every_views == 0 {
        return Err(SettingsError::RefineEvery(0));
    }
    if !(config.densify.grad_threshold > 0.0) {
        return Err(SettingsError::GradThreshold(config.densify.grad_threshold));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(format: &str) -> DatasetIndex {
        DatasetIndex {
            train: Vec::new(),
            test: Vec::new(),
            init_points: None,
            scene_center: [0.0; 3],
            scene_extent: 1.0,
            has_alpha: true,
            format: format.into(),
            root: String::new(),
            size_from: None,
        }
    }

    /// A random background trains on random colours and evaluates on the dataset's default,
    /// for the CLI and the page alike (both call `config`): the CLI used to evaluate on black,
    /// the page on white.
    #[test]
    fn random_background_evaluates_on_the_dataset_default() {
        let random = TrainSettings { background: Some("random".into()), ..TrainSettings::default() };
        let blender = random.config(&index("nerf-synthetic")).unwrap();
        assert!(blender.random_background);
        assert_eq!(blender.background, [1.0; 3]);
        let colmap = random.config(&index("colmap-binary")).unwrap();
        assert!(colmap.random_background);
        assert_eq!(colmap.background, [0.0; 3]);
        let plain = TrainSettings::default().config(&index("nerf-synthetic")).unwrap();
        assert!(!plain.random_background);
        assert_eq!(plain.background, [1.0; 3]);
        let black = TrainSettings { background: Some("black".into()), ..TrainSettings::default() };
        assert_eq!(black.config(&index("nerf-synthetic")).unwrap().background, [0.0; 3]);
        let bad = TrainSettings { background: Some("pink".into()), ..TrainSettings::default() };
        assert_eq!(bad.config(&index("nerf-synthetic")), Err(SettingsError::Background("pink".into())));
    }

    /// One limit on views per step for both front ends (the page capped at 64, the CLI not at
    /// all), and for checkpoints.
    #[test]
    fn views_per_step_are_limited_everywhere() {
        for batch in [1, MAX_BATCH] {
            assert!(TrainSettings { batch, ..TrainSettings::default() }.check().is_ok());
        }
        for batch in [0, MAX_BATCH + 1, 1000] {
            assert_eq!(TrainSettings { batch, ..TrainSettings::default() }.check(), Err(SettingsError::Batch(batch)));
            assert_eq!(check_config(&TrainConfig { batch, ..TrainConfig::default() }), Err(SettingsError::Batch(batch)));
        }
        assert_eq!(TrainSettings { refine_every: 0, ..TrainSettings::default() }.check(), Err(SettingsError::RefineEvery(0)));
        assert_eq!(TrainSettings { steps: 0, ..TrainSettings::default() }.check(), Err(SettingsError::NoSteps));
        assert_eq!(TrainSettings { init_points: 0, ..TrainSettings::default() }.check(), Err(SettingsError::InitPoints(0)));
        assert_eq!(TrainSettings { max_sh_degree: 4, ..TrainSettings::default() }.check(), Err(SettingsError::ShDegree(4)));
    }

    /// The page sends its form as JSON: missing fields take the defaults.
    #[test]
    fn settings_from_the_page_form() {
        let s: TrainSettings = serde_json::from_str(r#"{"steps": 50, "batch": 2, "background": null, "checkpoint_every": 0}"#).unwrap();
        assert_eq!((s.steps, s.batch, s.checkpoint_every, s.refine_start), (50, 2, 0, 500));
    }
}
