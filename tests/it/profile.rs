//! The profiler: profile JSON against docs/profile.schema.json, span nesting, monotonic
//! timestamps, a profile without GPU timestamps, the readback ring never stalling, quantization
//! detection, and a disabled profiler costing nothing.
//!
//! Run on lavapipe: `XDG_RUNTIME_DIR=/tmp WGPU_BACKEND=vulkan cargo test --test profile`.

use serde_json::Value;
use wgsplat::GpuContext;
use wgsplat::kernel::timer::{GpuFrame, GpuPassTime, GpuTimer, MAX_RING_FRAMES};
use wgsplat::profile::{MemoryCategory, Profile, Profiler, ProfilerOptions};
use wgsplat::render::{Renderer, View};
use wgsplat::scene::demo;

const SCHEMA: &str = include_str!("../../docs/profile.schema.json");

fn gpu() -> GpuContext {
    pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)")
}

/// A small JSON Schema validator: type, const, enum, required, properties,
/// additionalProperties, items, minimum, anyOf, allOf and local $ref; what our schema uses.
fn validate(schema: &Value, root: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else { return };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let target = r.strip_prefix("#/").expect("local refs only").split('/').fold(root, |v, key| &v[key]);
        assert!(!target.is_null(), "unresolved $ref {r}");
        validate(target, root, value, path, errors);
    }
    if let Some(t) = obj.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "number" => value.is_number(),
            "integer" => value.is_u64() || value.is_i64() || value.as_f64().is_some_and(|f| f.fract() == 0.0),
            other => panic!("type {other} not supported"),
        });
        if !ok {
            errors.push(format!("{path}: expected {types:?}, got {value}"));
            return;
        }
    }
    if let Some(c) = obj.get("const")
        && c != value
    {
        errors.push(format!("{path}: expected {c}, got {value}"));
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        errors.push(format!("{path}: {value} not in {e:?}"));
    }
    if let (Some(min), Some(v)) = (obj.get("minimum").and_then(Value::as_f64), value.as_f64())
        && v < min
    {
        errors.push(format!("{path}: {v} < minimum {min}"));
    }
    if let Some(map) = value.as_object() {
        for key in obj.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !map.contains_key(key) {
                errors.push(format!("{path}: missing required {key:?}"));
            }
        }
        let props = obj.get("properties").and_then(Value::as_object);
        for (key, v) in map {
            match props.and_then(|p| p.get(key)) {
                Some(s) => validate(s, root, v, &format!("{path}.{key}"), errors),
                None => match obj.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{path}: unexpected property {key:?}")),
                    Some(s @ Value::Object(_)) => validate(s, root, v, &format!("{path}.{key}"), errors),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (obj.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            validate(items, root, v, &format!("{path}[{i}]"), errors);
        }
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(s, root, value, path, errors);
        }
    }
    if let Some(any) = obj.get("anyOf").and_then(Value::as_array) {
        let passing = any.iter().any(|s| {
            let mut e = Vec::new();
            validate(s, root, value, path, &mut e);
            e.is_empty()
        });
        if !passing {
            errors.push(format!("{path}: matches none of anyOf: {value}"));
        }
    }
}

fn assert_valid(json: &Value) {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the schema is JSON");
    let mut errors = Vec::new();
    validate(&schema, &schema, json, "$", &mut errors);
    assert!(errors.is_empty(), "the profile does not validate:\n{}", errors.iter().take(20).cloned().collect::<Vec<_>>().join("\n"));
}

/// Renders the demo scene `steps` times (one step each, two cameras a call) under a profiler,
/// through the non-blocking `render` and the blocking `render_images`.
fn record_render_profile(gpu: &GpuContext, options: ProfilerOptions, steps: u64) -> Profile {
    let splats = demo::demo_scene();
    let mut renderer = Renderer::new(gpu).unwrap();
    let gpu_splats = renderer.upload(gpu, &splats).unwrap();
    let views: Vec<View> = (0..2).map(|_| View { camera: demo::demo_camera(96, 64), background: [0.0; 3] }).collect();
    let profiler = Profiler::new(gpu, options);
    gpu.attach_timer(profiler.gpu_timer());
    for step in 0..steps {
        let _step = profiler.begin_step(step);
        {
            let _outer = profiler.span("render");
            let _inner = profiler.span("record and submit");
            if step % 2 == 0 {
                renderer.render(gpu, &gpu_splats, &views).unwrap();
            } else {
                pollster::block_on(renderer.render_images(gpu, &gpu_splats, &views)).unwrap();
            }
        }
        profiler.scope("bookkeeping", || {
            profiler.observe_renderer(renderer.memory_bytes(), gpu_splats.memory_bytes(), gpu_splats.num_splats, 96 * 64 * 2 * 20)
        });
        profiler.counter("loss", 1.0 / (step + 1) as f64);
        profiler.collect(gpu);
    }
    profiler.finish(Some(gpu))
}

fn x_events(json: &Value, pid: u64) -> Vec<&Value> {
    json["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X" && e["pid"].as_u64() == Some(pid)).collect()
}

#[test]
fn render_profile_validates_against_the_schema() {
    let gpu = gpu();
    let profile = record_render_profile(&gpu, ProfilerOptions { label: "test".into(), ..Default::default() }, 6);
    let json = profile.to_json();
    assert_valid(&json);
    // And through the file, as `compare` and Perfetto read it.
    let path = std::env::temp_dir().join(format!("wgsplat-profile-test-{}.json", std::process::id()));
    profile.write(&path).unwrap();
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).ok();
    assert_valid(&back);
    assert_eq!(back["format"], "wgsplat-profile");
    assert_eq!(back["version"], 1);

    let summary = &back["summary"];
    assert_eq!(summary["steps"], 6);
    assert!(summary["steps_per_s"].as_f64().unwrap() > 0.0);
    let cpu: Vec<&str> = summary["cpu_spans"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(cpu, ["render", "record and submit", "bookkeeping"]);
    assert!(summary["memory"]["peak_bytes"].as_u64().unwrap() > 0);
    assert!(summary["environment"]["adapter"]["name"].is_string());
    if gpu.features.timestamp_queries {
        assert_eq!(summary["timestamps"]["supported"], true, "{}", summary["timestamps"]);
        let passes: Vec<&str> = summary["gpu_passes"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        for stage in ["project", "depth sort", "intersection sort", "rasterize"] {
            assert!(passes.contains(&stage), "{stage} missing from {passes:?}");
        }
        // Every step rendered once: every pass is seen in every step.
        for p in summary["gpu_passes"].as_array().unwrap() {
            assert_eq!(p["count"], 6, "{p}");
        }
        // One frame a step, and one more when `render_images` re-renders after growing its
        // intersection buffers.
        assert!(summary["timestamps"]["frames"].as_u64().unwrap() >= 6);
        assert!(!x_events(&back, 2).is_empty());
    }
    // Counters: memory by category, splat count, loss.
    let counters: Vec<&str> =
        back["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "C").map(|e| e["name"].as_str().unwrap()).collect();
    for name in ["GPU memory (bytes)", "splats", "loss"] {
        assert!(counters.contains(&name), "counter {name} missing");
    }
}

/// On every thread, any two spans either nest or do not overlap, and a span's depth is the
/// number of spans around it.
fn assert_spans_nest(events: &[&Value]) {
    let mut tids: Vec<u64> = events.iter().map(|e| e["tid"].as_u64().unwrap()).collect();
    tids.sort();
    tids.dedup();
    for tid in tids {
        let spans: Vec<(f64, f64, &Value)> = events
            .iter()
            .filter(|e| e["tid"].as_u64() == Some(tid))
            .map(|e| (e["ts"].as_f64().unwrap(), e["ts"].as_f64().unwrap() + e["dur"].as_f64().unwrap(), *e))
            .collect();
        for (i, a) in spans.iter().enumerate() {
            let mut enclosing = 0;
            for (j, b) in spans.iter().enumerate() {
                if i == j {
                    continue;
                }
                let disjoint = a.1 <= b.0 || b.1 <= a.0;
                let a_in_b = b.0 <= a.0 && a.1 <= b.1;
                let b_in_a = a.0 <= b.0 && b.1 <= a.1;
                assert!(disjoint || a_in_b || b_in_a, "spans overlap without nesting: {} and {}", a.2, b.2);
                if a_in_b && !b_in_a {
                    enclosing += 1;
                }
            }
            if a.2["cat"] == "cpu" {
                assert_eq!(a.2["args"]["depth"].as_u64().unwrap(), enclosing, "depth of {}", a.2);
            }
        }
    }
}

#[test]
fn spans_nest_on_every_thread() {
    let mut profiler = Profiler::with_gpu(None, ProfilerOptions::default());
    profiler.set_setting("threads", 2);
    let spin = |us: u128| {
        let t = std::time::Instant::now();
        while t.elapsed().as_micros() < us {}
    };
    for step in 0..3 {
        let _step = profiler.begin_step(step);
        let _a = profiler.span("outer");
        spin(200);
        {
            let _b = profiler.span("middle");
            spin(200);
            profiler.scope("inner", || spin(200));
            profiler.scope("inner", || spin(200));
        }
        std::thread::scope(|s| {
            s.spawn(|| {
                let _w = profiler.span("worker");
                profiler.scope("worker inner", || spin(300));
            });
        });
        let explicit = profiler.span("sibling");
        spin(100);
        explicit.end();
    }
    let json = profiler.finish(None).to_json();
    assert_valid(&json);
    let events = x_events(&json, 1);
    assert_eq!(events.iter().filter(|e| e["cat"] == "step").count(), 3);
    assert_eq!(events.iter().filter(|e| e["name"] == "inner").count(), 6);
    assert_spans_nest(&events);
    // The worker's spans are on their own thread track, with its name.
    let main_tid = events.iter().find(|e| e["name"] == "outer").unwrap()["tid"].clone();
    let worker = events.iter().find(|e| e["name"] == "worker").unwrap();
    assert_ne!(worker["tid"], main_tid);
    let depth = |name: &str| events.iter().find(|e| e["name"] == name).unwrap()["args"]["depth"].as_u64().unwrap();
    assert_eq!((depth("outer"), depth("middle"), depth("inner"), depth("sibling")), (1, 2, 3, 2));
    assert_eq!((depth("worker"), depth("worker inner")), (0, 1));
    // Per step: inner twice a step, summed.
    let summary = &json["summary"];
    let inner = summary["cpu_spans"].as_array().unwrap().iter().find(|s| s["name"] == "inner").unwrap();
    assert_eq!(inner["count"], 3);
    assert!(inner["median_ms"].as_f64().unwrap() >= 0.4);
    assert_eq!(summary["timestamps"]["supported"], false);
    assert_eq!(summary["settings"]["threads"], 2);
}

#[test]
fn timestamps_are_monotonic() {
    let gpu = gpu();
    let profile = record_render_profile(&gpu, ProfilerOptions::default(), 5);
    // GPU clock, per frame: passes in order, each ending after it began; frames in order.
    let mut last_frame_begin = f64::NEG_INFINITY;
    for frame in &profile.gpu_frames {
        let mut last = f64::NEG_INFINITY;
        for p in &frame.passes {
            assert!(p.end_ns >= p.begin_ns, "{p:?}");
            assert!(p.begin_ns >= last, "pass {} begins before the one before it", p.name);
            last = p.begin_ns;
        }
        assert!(frame.passes[0].begin_ns >= last_frame_begin, "frames out of order");
        last_frame_begin = frame.passes[0].begin_ns;
    }
    // The trace: after the metadata, events in time order; durations non-negative; GPU passes
    // on one queue never before their submission.
    let json = profile.to_json();
    let events: Vec<&Value> = json["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] != "M").collect();
    let ts: Vec<f64> = events.iter().map(|e| e["ts"].as_f64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "trace events out of order");
    assert!(events.iter().filter(|e| e["ph"] == "X").all(|e| e["dur"].as_f64().unwrap() >= 0.0));
    assert!(json["traceEvents"].as_array().unwrap().iter().take_while(|e| e["ph"] == "M").count() >= 3);
    let steps: Vec<&&Value> = events.iter().filter(|e| e["cat"] == "step").collect();
    assert!(steps.windows(2).all(|w| w[0]["ts"].as_f64() < w[1]["ts"].as_f64()));
    if gpu.features.timestamp_queries {
        let first_gpu = x_events(&json, 2).first().map(|e| e["ts"].as_f64().unwrap()).unwrap();
        let first_step = steps[0]["ts"].as_f64().unwrap();
        assert!(first_gpu >= first_step, "the GPU track starts before the first step: {first_gpu} < {first_step}");
    }
}

#[test]
fn without_timestamps_the_profile_says_so_and_keeps_cpu_spans() {
    let gpu = gpu();
    let profile = record_render_profile(&gpu, ProfilerOptions { gpu_timestamps: false, ..Default::default() }, 3);
    let json = profile.to_json();
    assert_valid(&json);
    let ts = &json["summary"]["timestamps"];
    assert_eq!(ts["supported"], false);
    assert!(ts["reason"].as_str().unwrap().contains("off"), "{ts}");
    assert_eq!(ts["frames"], 0);
    assert!(json["summary"]["gpu_passes"].as_array().unwrap().is_empty());
    assert!(json["summary"]["gpu_step"].is_null());
    assert!(x_events(&json, 2).is_empty(), "no GPU track without timestamps");
    let cpu = x_events(&json, 1);
    assert_eq!(cpu.iter().filter(|e| e["cat"] == "step").count(), 3);
    assert_eq!(cpu.iter().filter(|e| e["name"] == "record and submit").count(), 3);
    assert_spans_nest(&cpu);
    assert!(json["summary"]["memory"]["peak_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn the_readback_ring_grows_then_drops_frames_instead_of_stalling() {
    let gpu = gpu();
    if !gpu.features.timestamp_queries {
        return crate::common::skip(
            "the_readback_ring_grows_then_drops_frames_instead_of_stalling",
            "this adapter has no timestamp queries",
        );
    }
    let splats = demo::demo_scene();
    let mut renderer = Renderer::new(&gpu).unwrap();
    let gpu_splats = renderer.upload(&gpu, &splats).unwrap();
    let views = [View { camera: demo::demo_camera(64, 48), background: [0.0; 3] }];
    // Room for one pass a frame: slots grow to the render's six stages when a frame begins.
    let timer = GpuTimer::with_ring(&gpu, 1, 2).unwrap().shared();
    gpu.attach_timer(Some(timer.clone()));
    // Never collected while rendering: the third frame on finds both slots in flight, and the
    // ring grows a slot for each until it holds MAX_RING_FRAMES; the frames after that are
    // dropped.
    let renders = MAX_RING_FRAMES as u64 + 4;
    for _ in 0..renders {
        renderer.render(&gpu, &gpu_splats, &views).unwrap();
    }
    let mut t = timer.lock().unwrap();
    assert!(t.in_flight() <= MAX_RING_FRAMES);
    assert_eq!(t.ring_frames(), MAX_RING_FRAMES, "a frame that finds the ring in flight grows it");
    assert!(t.dropped_frames() >= 1, "frames beyond the grown ring are dropped, not waited for");
    t.finish(&gpu).unwrap();
    let frames = t.take_frames();
    assert!(!frames.is_empty() && frames.len() <= MAX_RING_FRAMES);
    let stages = frames[0].passes.len();
    assert!(stages >= 4 && frames.iter().all(|f| f.passes.len() == stages), "{frames:?}");
    assert_eq!(frames.len() as u64 + t.dropped_frames(), renders);
    // The slots are free again: collecting once a frame keeps every frame.
    drop(t);
    for _ in 0..4 {
        renderer.render(&gpu, &gpu_splats, &views).unwrap();
        gpu.device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
        timer.lock().unwrap().collect(&gpu);
    }
    let mut t = timer.lock().unwrap();
    assert_eq!(t.take_frames().len(), 4);
    assert!(t.capacity_passes() as usize >= stages);
    assert_eq!(t.dropped_passes(), 0);
}

#[test]
fn quantized_timestamps_are_detected() {
    let mut profiler = Profiler::with_gpu(None, ProfilerOptions::default());
    // Chrome without WebGPU developer features: every timestamp a multiple of 100 us.
    for step in 0..4u64 {
        let base = 1_000_000_000.0 + step as f64 * 5_000_000.0;
        let passes = (0..4)
            .map(|i| GpuPassTime {
                name: ["project", "sort", "rasterize", "backward"][i],
                begin_ns: base + i as f64 * 300_000.0,
                end_ns: base + i as f64 * 300_000.0 + 200_000.0,
            })
            .collect();
        profiler.record_gpu_frame(GpuFrame { step: Some(step), label: "train", submitted_us: step as f64 * 5000.0, passes });
    }
    let json = profiler.finish(None).to_json();
    assert_valid(&json);
    let ts = &json["summary"]["timestamps"];
    assert_eq!(ts["supported"], true);
    assert_eq!(ts["quantized"], true, "{ts}");
    assert_eq!(ts["quantization_ns"], 100_000.0);
    assert!(ts["note"].as_str().unwrap().contains("chrome://flags"));

    // Nanosecond timestamps are not.
    let mut profiler = Profiler::with_gpu(None, ProfilerOptions::default());
    let passes = (0..6)
        .map(|i| GpuPassTime {
            name: "p",
            begin_ns: 1_000_003.0 + i as f64 * 12_345.0,
            end_ns: 1_000_003.0 + i as f64 * 12_345.0 + 10_007.0,
        })
        .collect();
    profiler.record_gpu_frame(GpuFrame { step: Some(0), label: "render", submitted_us: 0.0, passes });
    let json = profiler.finish(None).to_json();
    assert_eq!(json["summary"]["timestamps"]["quantized"], false);
}

#[test]
fn memory_accounting_tracks_current_peak_and_allocations() {
    let profiler = Profiler::with_gpu(None, ProfilerOptions::default());
    profiler.memory_alloc(MemoryCategory::Splats, 1000);
    profiler.memory_alloc(MemoryCategory::OptimizerState, 2000);
    profiler.memory_set(MemoryCategory::Intermediates, 5000);
    profiler.memory_set(MemoryCategory::Intermediates, 3000);
    profiler.memory_free(MemoryCategory::OptimizerState, 2000);
    let m = profiler.memory();
    assert_eq!(
        (m.current(MemoryCategory::Splats), m.current(MemoryCategory::OptimizerState), m.current(MemoryCategory::Intermediates)),
        (1000, 0, 3000)
    );
    assert_eq!((m.peak(MemoryCategory::Intermediates), m.total(), m.total_peak()), (5000, 4000, 8000));
    assert_eq!((m.allocations(), m.frees()), (3, 2));
    let json = profiler.finish(None).to_json();
    assert_valid(&json);
    assert_eq!(json["summary"]["memory"]["peak_bytes"], 8000);
    let memory_counters = json["traceEvents"].as_array().unwrap().iter().filter(|e| e["name"] == "GPU memory (bytes)").count();
    assert_eq!(memory_counters, 5);
}

#[test]
fn a_disabled_profiler_costs_nothing() {
    let profiler = Profiler::disabled();
    assert!(!profiler.is_enabled() && profiler.gpu_timer().is_none());
    let start = std::time::Instant::now();
    for step in 0..1_000_000u64 {
        let _step = profiler.begin_step(step);
        let span = profiler.span("work");
        assert!(!span.is_recording());
        profiler.counter("loss", 0.0);
    }
    let per_step_ns = start.elapsed().as_nanos() as f64 / 1e6;
    assert!(per_step_ns < 200.0, "{per_step_ns} ns per step with profiling off");
    let profile = profiler.finish(None);
    assert!(profile.spans.is_empty() && profile.counters.is_empty());
}

#[test]
fn trace_step_stride_thins_the_timeline_not_the_summary() {
    let mut profiler = Profiler::with_gpu(None, ProfilerOptions { trace_step_stride: 3, ..Default::default() });
    for step in 0..7u64 {
        let t = step as f64 * 1000.0;
        profiler.record_step(step, t, t + 900.0);
        profiler.record_span("work", t + 100.0, t + 500.0, 1, Some(step));
        let passes = vec![GpuPassTime { name: "rasterize", begin_ns: 1e9 + t * 1e3, end_ns: 1e9 + t * 1e3 + 300_000.0 }];
        profiler.record_gpu_frame(GpuFrame { step: Some(step), label: "train", submitted_us: t, passes });
    }
    profiler.record_span("load", 7000.0, 8000.0, 0, None);
    let json = profiler.finish(None).to_json();
    assert_valid(&json);
    let steps_in = |pid: u64, name: &str| -> Vec<u64> {
        x_events(&json, pid).iter().filter(|e| e["name"] == name).map(|e| e["args"]["step"].as_u64().unwrap_or(u64::MAX)).collect()
    };
    assert_eq!(steps_in(1, "step"), [0, 3, 6]);
    assert_eq!(steps_in(1, "work"), [0, 3, 6]);
    assert_eq!(steps_in(2, "rasterize"), [0, 3, 6]);
    assert_eq!(steps_in(1, "load"), [u64::MAX], "spans outside steps are kept");
    assert_eq!(json["otherData"]["trace_step_stride"], 3);
    let summary = &json["summary"];
    assert_eq!(summary["steps"], 7);
    assert_eq!(summary["gpu_passes"][0]["count"], 7);
    assert_eq!(summary["cpu_spans"][0]["count"], 7);
}

#[test]
fn render_command_writes_a_valid_profile() {
    let dir = std::env::temp_dir().join(format!("wgsplat-render-profile-test-{}", std::process::id()));
    let path = dir.join("render.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wgsplat"))
        .args(["render", "--demo", "--width", "64", "--height", "48", "--out"])
        .arg(&dir)
        .arg("--profile")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote the profile"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_valid(&json);
    let summary = &json["summary"];
    assert_eq!((summary["label"].as_str(), summary["steps"].as_u64()), (Some("render"), Some(1)));
    let spans: Vec<&str> = summary["cpu_spans"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(spans, ["render_images", "queue PNGs", "finish PNG writer"]);
    let categories = summary["memory"]["categories"].as_array().unwrap();
    let bytes = |c: &str| categories.iter().find(|x| x["category"] == c).unwrap()["peak_bytes"].as_u64().unwrap();
    assert!(bytes("splats") > 0 && bytes("intermediates") > 0);
    assert_eq!(bytes("outputs"), 64 * 48 * 20);
}
