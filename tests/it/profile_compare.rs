//! `wgsplat compare`: the per-metric table of two profiles (synthetic ones with known numbers, and
//! two recorded on the GPU), of two benchmark reports, and the command line.
//!
//! Run on lavapipe: `XDG_RUNTIME_DIR=/tmp WGPU_BACKEND=vulkan cargo test --test profile_compare`.

use serde_json::{Value, json};
use wgsplat::GpuContext;
use wgsplat::kernel::timer::{GpuFrame, GpuPassTime};
use wgsplat::profile::bench::{BenchMetric, BenchReport, Better};
use wgsplat::profile::compare::{Verdict, compare, metrics_from_json};
use wgsplat::profile::env::Environment;
use wgsplat::profile::{MemoryCategory, Profiler, ProfilerOptions};
use wgsplat::render::{Renderer, View};
use wgsplat::scene::demo;

struct Run<'a> {
    step_ms: &'a [f64],
    project_ms: &'a [f64],
    rasterize_ms: &'a [f64],
    upload_ms: &'a [f64],
    extra_ms: Option<f64>,
    memory_mib: u64,
}

/// A profile with exactly these per-step times (no GPU needed).
fn synthetic(run: &Run) -> Value {
    let mut profiler = Profiler::with_gpu(None, ProfilerOptions { label: "synthetic".into(), ..Default::default() });
    let mut t_us = 0.0;
    for (step, &ms) in run.step_ms.iter().enumerate() {
        let step = step as u64;
        profiler.record_step(step, t_us, t_us + ms * 1e3);
        profiler.record_span("upload", t_us, t_us + run.upload_ms[step as usize] * 1e3, 1, Some(step));
        if let Some(extra) = run.extra_ms {
            profiler.record_span("extra", t_us + 3000.0, t_us + 3000.0 + extra * 1e3, 1, Some(step));
        }
        let gpu_begin = 1e9 + step as f64 * 1e8;
        let project_end = gpu_begin + run.project_ms[step as usize] * 1e6;
        let passes = vec![
            GpuPassTime { name: "project", begin_ns: gpu_begin, end_ns: project_end },
            GpuPassTime { name: "rasterize", begin_ns: project_end, end_ns: project_end + run.rasterize_ms[step as usize] * 1e6 },
        ];
        profiler.record_gpu_frame(GpuFrame { step: Some(step), label: "train", submitted_us: t_us + 100.0, passes });
        t_us += ms * 1e3;
    }
    profiler.memory_alloc(MemoryCategory::Splats, run.memory_mib << 20);
    profiler.finish(None).to_json()
}

fn table(markdown: &str) -> Vec<&str> {
    markdown.lines().filter(|l| l.starts_with('|')).collect()
}

fn before_after() -> (Value, Value) {
    let a = synthetic(&Run {
        step_ms: &[10.0, 10.5, 9.5, 10.0],
        project_ms: &[1.0, 1.1, 0.9, 1.0],
        rasterize_ms: &[4.0, 4.2, 3.8, 4.0],
        upload_ms: &[2.0, 2.0, 2.0, 2.0],
        extra_ms: None,
        memory_mib: 100,
    });
    let b = synthetic(&Run {
        step_ms: &[8.0, 8.4, 7.6, 8.0],
        project_ms: &[1.05, 0.95, 1.0, 1.0],
        rasterize_ms: &[2.0, 2.1, 1.9, 2.0],
        upload_ms: &[2.0, 2.0, 2.0, 2.4],
        extra_ms: Some(0.5),
        memory_mib: 80,
    });
    (a, b)
}

#[test]
fn compare_of_two_profiles_gives_the_expected_table() {
    let (a, b) = before_after();
    let c = compare("a.json", metrics_from_json(&a).unwrap(), "b.json", metrics_from_json(&b).unwrap());
    let markdown = c.markdown();
    // Worked by hand: medians over the four steps, ± the sample standard deviation; noise where
    // the difference is below the larger spread (project: 0 < 0.08; upload: 0 < 0.2).
    let expected = [
        "| metric | unit | A | B | speed-up | verdict |",
        "|:--|:--|--:|--:|--:|:--|",
        "| step | ms/step | 10.00 ± 0.4082 | 8.000 ± 0.3266 | 1.25x | faster |",
        "| steps/s | 1/s | 100.0 ± 4.082 | 125.0 ± 5.103 | 1.25x | faster |",
        "| GPU: all passes | ms/step | 5.000 ± 0.2449 | 3.025 ± 0.0707 | 1.65x | faster |",
        "| GPU: project | ms/step | 1.000 ± 0.0816 | 1.000 ± 0.0408 | 1.00x | *noise* |",
        "| GPU: rasterize | ms/step | 4.000 ± 0.1633 | 2.000 ± 0.0816 | 2.00x | faster |",
        "| CPU: upload | ms/step | 2.000 | 2.000 ± 0.2000 | 1.00x | *noise* |",
        "| peak GPU memory | MiB | 100.0 | 80.00 | 1.25x | less |",
        "| CPU: extra | ms/step | – | 0.5000 | – | only in B |",
    ];
    assert_eq!(table(&markdown), expected, "\n{markdown}");
    assert!(markdown.contains("- A: `a.json` (profile): \"synthetic\", 4 steps"));
    assert!(markdown.contains("*noise*: |B − A| is smaller than the larger of the two spreads"));

    // Reversed: the same rows, speed-ups inverted.
    let r = compare("b.json", metrics_from_json(&b).unwrap(), "a.json", metrics_from_json(&a).unwrap());
    let rasterize = r.rows.iter().find(|row| row.name == "GPU: rasterize").unwrap();
    assert_eq!((rasterize.verdict, format!("{:.2}", rasterize.speedup.unwrap())), (Verdict::Slower, "0.50".into()));
    assert_eq!(r.rows.iter().find(|row| row.name == "CPU: extra").unwrap().verdict, Verdict::OnlyA);

    // HTML: the same rows and a chart with a bar per row that has a speed-up.
    let html = c.html();
    assert!(html.starts_with("<!doctype html>") && html.contains("<table>") && html.contains("</html>"));
    assert_eq!(html.matches("<tr class=").count(), expected.len() - 2);
    assert_eq!(html.matches("<rect ").count(), c.rows.iter().filter(|row| row.speedup.is_some()).count());
    assert!(html.contains("<title>GPU: rasterize: 2.000x (faster)</title>"));
}

#[test]
fn compare_of_two_bench_reports_gives_the_expected_table() {
    let report = |sort: Vec<f64>, decode: Vec<f64>| {
        let mut r = BenchReport::new("mixed", Environment::detect(None), json!({"repeats": 3}));
        r.metric(BenchMetric::new("sort 1M keys/s", "keys/s", Better::Higher, sort));
        r.metric(BenchMetric::new("decode png x1 images/s", "images/s", Better::Higher, decode));
        serde_json::to_value(&r).unwrap()
    };
    let a = report(vec![100e6, 102e6, 98e6], vec![50.0, 60.0, 55.0]);
    let b = report(vec![150e6, 151e6, 149e6], vec![56.0, 54.0, 57.0]);
    let c = compare("before", metrics_from_json(&a).unwrap(), "after", metrics_from_json(&b).unwrap());
    assert_eq!(
        table(&c.markdown())[2..],
        [
            "| sort 1M keys/s | keys/s | 100000000 ± 2000000 | 150000000 ± 1000000 | 1.50x | faster |",
            "| decode png x1 images/s | images/s | 55.00 ± 5.000 | 56.00 ± 1.528 | 1.02x | *noise* |",
        ]
    );
    // A profile against a bench report: no common rows, and a warning.
    let (p, _) = before_after();
    let mixed = compare("p", metrics_from_json(&p).unwrap(), "a", metrics_from_json(&a).unwrap()).markdown();
    assert!(mixed.contains("warning: comparing a profile with a bench mixed"));
    // Not ours, or too new.
    assert!(metrics_from_json(&json!({"traceEvents": []})).is_err());
    assert!(metrics_from_json(&json!({"format": "wgsplat-profile", "version": 99, "summary": {}})).unwrap_err().contains("newer"));
    // Negative or NaN measurements (an edited or broken file) are refused, naming the row.
    let mut broken = a.clone();
    broken["metrics"][0]["median"] = json!(-3.0);
    let err = metrics_from_json(&broken).unwrap_err();
    assert!(err.contains("sort 1M keys/s") && err.contains("not a valid measurement"), "{err}");
}

#[test]
fn compare_of_two_recorded_profiles() {
    let gpu = pollster::block_on(GpuContext::new()).expect("a GPU adapter (lavapipe in CI)");
    let splats = demo::demo_scene();
    let record = |width: u32| {
        let mut renderer = Renderer::new(&gpu).unwrap();
        let gpu_splats = renderer.upload(&gpu, &splats).unwrap();
        let views = [View { camera: demo::demo_camera(width, width * 3 / 4), background: [0.0; 3] }];
        let profiler = Profiler::new(&gpu, ProfilerOptions::default());
        gpu.attach_timer(profiler.gpu_timer());
        for step in 0..4 {
            let _step = profiler.begin_step(step);
            profiler.scope("render_images", || pollster::block_on(renderer.render_images(&gpu, &gpu_splats, &views)).unwrap());
            profiler.observe_renderer(
                renderer.memory_bytes(),
                gpu_splats.memory_bytes(),
                gpu_splats.num_splats,
                (width * width * 3 / 4 * 20) as u64,
            );
            profiler.collect(&gpu);
        }
        profiler.finish(Some(&gpu)).to_json()
    };
    let small = record(64);
    let large = record(256);
    let c = compare("small.json", metrics_from_json(&small).unwrap(), "large.json", metrics_from_json(&large).unwrap());
    let names: Vec<&str> = c.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(&names[..2], ["step", "steps/s"]);
    assert!(names.contains(&"CPU: render_images") && names.contains(&"peak GPU memory"));
    assert!(c.rows.iter().all(|r| r.a.is_some() && r.b.is_some()), "both runs have every metric: {names:?}");
    // 16 times the pixels: more memory for outputs.
    let memory = c.rows.iter().find(|r| r.name == "peak GPU memory").unwrap();
    assert_eq!(memory.verdict, Verdict::Slower);
    if gpu.features.timestamp_queries {
        for stage in ["GPU: all passes", "GPU: project", "GPU: rasterize"] {
            assert!(names.contains(&stage), "{stage} missing from {names:?}");
        }
    }
    let markdown = c.markdown();
    assert_eq!(table(&markdown).len(), c.rows.len() + 2);

    // A profile against itself: every row is noise at 1.00x.
    let same = compare("a", metrics_from_json(&small).unwrap(), "a", metrics_from_json(&small).unwrap());
    for row in &same.rows {
        assert_eq!(row.verdict, Verdict::Noise, "{row:?}");
        assert!((row.speedup.unwrap_or(1.0) - 1.0).abs() < 1e-12);
    }
}

#[test]
fn the_compare_command_writes_markdown_and_html() {
    let (a, b) = before_after();
    let dir = std::env::temp_dir().join(format!("wgsplat-compare-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pa, pb, md, html) = (dir.join("a.json"), dir.join("b.json"), dir.join("c.md"), dir.join("c.html"));
    std::fs::write(&pa, a.to_string()).unwrap();
    std::fs::write(&pb, b.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wgsplat"))
        .args(["compare", pa.to_str().unwrap(), pb.to_str().unwrap(), "--markdown", md.to_str().unwrap(), "--html", html.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = std::fs::read_to_string(&md).unwrap();
    let expected =
        compare(&pa.display().to_string(), metrics_from_json(&a).unwrap(), &pb.display().to_string(), metrics_from_json(&b).unwrap());
    assert_eq!(written, expected.markdown());
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
    // Stdout when no --markdown; a clear error for a file that is not a profile.
    std::fs::write(dir.join("bad.json"), "{\"traceEvents\": []}").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wgsplat"))
        .args(["compare", pa.to_str().unwrap(), dir.join("bad.json").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no `format` field"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Every `wgsplat bench` (at toy sizes) writes a report that `compare` reads.
#[test]
fn every_bench_report_is_readable_by_compare() {
    let dir = std::env::temp_dir().join(format!("wgsplat-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let runs: [(&str, &[&str], &str); 6] = [
        ("dispatch", &["--items", "20", "--repeats", "2"], "indirect dispatch us"),
        ("decode", &["--images", "4", "--width", "64", "--height", "64", "--threads", "1,2", "--repeats", "2"], "decode png x2 images/s"),
        ("sort", &["--sizes", "5000,20k", "--iterations", "2", "--repeats", "2"], "sort 20k pairs 32-bit keys/s (wall)"),
        (
            "readback",
            &["--splats", "2000", "--width", "48", "--height", "32", "--cameras", "2", "--calls", "4", "--repeats", "2"],
            "readback async views/s",
        ),
        (
            "render",
            &["--random-splats", "2000", "--width", "48", "--height", "32", "--batches", "1,2", "--views", "2", "--repeats", "2"],
            "render random-2k C=2 views/s",
        ),
        (
            "raster",
            &["--splats", "2000", "--width", "48", "--height", "32", "--views", "3", "--repeats", "2"],
            "raster backward 2k ms/view",
        ),
    ];
    for (bench, args, metric) in runs {
        let json = dir.join(format!("{bench}.json"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wgsplat"))
            .args(["bench", bench])
            .args(args)
            .arg("--json")
            .arg(&json)
            // No sample scene for `bench render`: only the random one.
            .arg_if(bench == "render", "--scene=/nonexistent.ply")
            .output()
            .unwrap();
        assert!(out.status.success(), "bench {bench}: {}", String::from_utf8_lossy(&out.stderr));
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!((value["format"].as_str(), value["benchmark"].as_str()), (Some("wgsplat-bench"), Some(bench)));
        let set = metrics_from_json(&value).unwrap();
        assert!(
            set.metrics.iter().any(|m| m.name == metric),
            "bench {bench}: no {metric:?} in {:?}",
            set.metrics.iter().map(|m| &m.name).collect::<Vec<_>>()
        );
        assert!(set.metrics.iter().all(|m| m.value.is_finite() && m.value > 0.0), "bench {bench}: {:?}", set.metrics);
        let c = compare("a", set.clone(), "b", set);
        assert!(c.rows.iter().all(|r| r.verdict == Verdict::Noise), "bench {bench}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

trait ArgIf {
    fn arg_if(&mut self, cond: bool, arg: &str) -> &mut Self;
}

impl ArgIf for std::process::Command {
    fn arg_if(&mut self, cond: bool, arg: &str) -> &mut Self {
        if cond { self.arg(arg) } else { self }
    }
}
