//! The wasm-bindgen API of the page: the [`viewer::Viewer`] (canvas, orbit view, `.ply` scenes)
//! and the [`trainer::WebTrainer`] (datasets streamed in from the page's decode workers,
//! training in short slices that never block the page, metrics, profile, export, checkpoints).
//! Both run the same renderer and training code as the native build.
//!
//! Nothing here may panic on user data (a panic kills the page): every failure becomes a JS
//! `Error` whose message names the file or step and the problem.

mod dataset;
mod rvs;
mod rvs_job;
pub mod trainer;
pub mod viewer;

use std::sync::{Arc, Mutex};
use wasm_bindgen::prelude::*;

pub(crate) fn js_error(message: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&message.to_string()).into()
}

pub(crate) fn now_ms() -> f64 {
    crate::profile::clock::now_us() / 1000.0
}

/// Rust values to JS objects (plain objects, not `Map`s, so the page reads fields directly).
pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_error)
}

/// Options from JS: missing (`undefined`/`null`) gives the defaults, as do missing fields;
/// a malformed object is an error that says which options (`what`) were wrong.
pub(crate) fn options_from_js<T: serde::de::DeserializeOwned + Default>(value: JsValue, what: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error(format!("{what}: {e}")))
}

/// Collects uncaptured GPU errors (validation, out of memory) and device loss, which the
/// browser would otherwise only log to the console. A loss is also recorded in `gpu`, so that
/// a training run ends at its next step (`TrainError::DeviceLost`) with its saved checkpoint,
/// which the page offers to continue after a reload.
pub(crate) fn watch_errors(gpu: &crate::GpuContext) -> Arc<Mutex<Vec<String>>> {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    gpu.device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
        if let Ok(mut list) = sink.lock() {
            list.push(format!("GPU error: {error}"));
        }
    }));
    let sink = errors.clone();
    let record_loss = gpu.loss_recorder();
    gpu.device.set_device_lost_callback(move |reason, message| {
        record_loss(format!("{reason:?}: {message}"));
        if let Ok(mut list) = sink.lock() {
            list.push(format!("the GPU device was lost ({reason:?}): {message}; reload the page (a saved run is offered to continue)"));
        }
    });
    errors
}

/// Re-encodes a splat file (any format [`crate::scene::format::read_splats`] reads) in the
/// format named by `format` (`ply`, `compressed.ply`, `spz`, `sog`, `splat`). The page calls it
/// in a worker (web/train/encode-worker.js): SOG's codebooks take seconds on a large scene.
#[wasm_bindgen]
pub fn convert_splats(bytes: &[u8], name: &str, format: &str) -> Result<js_sys::Uint8Array, JsValue> {
    use crate::scene::format::{SplatFormat, read_splats, write_splats};
    let target = SplatFormat::named(format).map_err(js_error)?;
    let splats = read_splats(bytes, name).map_err(js_error)?;
    let encoded = write_splats(&splats, target).map_err(js_error)?;
    Ok(js_sys::Uint8Array::from(encoded.as_slice()))
}

/// Reads a splat file back as a viewer would and checks every value is finite: `{splats,
/// sh_degree}`, or the reader's error naming the file. The page's benchmark checks with it that
/// the model it downloads loads.
#[wasm_bindgen]
pub fn splat_file_summary(bytes: &[u8], name: &str) -> Result<JsValue, JsValue> {
    let splats = crate::scene::format::read_splats(bytes, name).map_err(js_error)?;
    splats.validate().map_err(|e| js_error(format!("{name}: {e}")))?;
    to_js(&serde_json::json!({ "splats": splats.len(), "sh_degree": splats.sh_degree }))
}

/// Compares two profile JSONs (#4's format) in the page: an HTML table of per-pass times with
/// speed-ups, `a` the baseline.
#[wasm_bindgen]
pub fn compare_profiles(a_name: &str, a_json: &str, b_name: &str, b_json: &str) -> Result<String, JsValue> {
    let parse = |name: &str, json: &str| -> Result<crate::profile::compare::MetricSet, JsValue> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| js_error(format!("{name}: not JSON: {e}")))?;
        crate::profile::compare::metrics_from_json(&value).map_err(|e| js_error(format!("{name}: {e}")))
    };
    let comparison = crate::profile::compare::compare(a_name, parse(a_name, a_json)?, b_name, parse(b_name, b_json)?);
    Ok(comparison.html())
}
