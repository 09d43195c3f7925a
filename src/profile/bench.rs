//! The JSON every `wgsplat bench` writes: named metrics with their samples, which `compare`
//! reads alongside profiles.

use serde::{Deserialize, Serialize};

use super::env::Environment;

/// `format` of every benchmark JSON.
pub const FORMAT: &str = "wgsplat-bench";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// One measured quantity: every repetition's value, their median and spread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchMetric {
    /// Unique within a report, stable across runs (compare matches on it).
    pub name: String,
    pub unit: String,
    pub better: Better,
    pub samples: Vec<f64>,
    pub median: f64,
    /// Sample standard deviation of the samples (0 for one): the run-to-run spread.
    pub spread: f64,
}

impl BenchMetric {
    pub fn new(name: impl Into<String>, unit: impl Into<String>, better: Better, samples: Vec<f64>) -> Self {
        let stats = super::trace::Stats::from_ms(&samples);
        Self {
            name: name.into(),
            unit: unit.into(),
            better,
            median: stats.as_ref().map_or(f64::NAN, |s| s.median_ms),
            spread: stats.as_ref().map_or(0.0, |s| s.stddev_ms),
            samples,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub format: String,
    pub version: u32,
    /// `render`, `readback`, `decode`, `sort`, `raster`.
    pub benchmark: String,
    pub environment: Environment,
    /// The settings of the run (sizes, repetitions).
    pub parameters: serde_json::Value,
    pub metrics: Vec<BenchMetric>,
    /// Benchmark-specific detail.
    pub results: serde_json::Value,
}

impl BenchReport {
    pub fn new(benchmark: &str, environment: Environment, parameters: serde_json::Value) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            benchmark: benchmark.into(),
            environment,
            parameters,
            metrics: Vec::new(),
            results: serde_json::Value::Null,
        }
    }

    pub fn metric(&mut self, metric: BenchMetric) {
        self.metrics.push(metric);
    }
}
