//! Before/after comparison of two profiles or two benchmark reports: per metric (pass, span,
//! step, benchmark figure) the values, the speed-up and whether the difference is within the
//! run-to-run spread. As Markdown and as HTML with an inline SVG chart.

use serde_json::Value;

use super::bench::{BenchReport, Better};
use super::trace::Summary;

/// One comparable quantity of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub unit: String,
    pub better: Better,
    /// The median over steps (profiles) or repetitions (benchmarks).
    pub value: f64,
    /// Run-to-run spread: standard deviation over steps or repetitions.
    pub spread: f64,
    /// Samples behind `value`; 0 for exact quantities (memory), which have no spread.
    pub count: u64,
}

/// The metrics of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    /// `profile` or `bench <name>`.
    pub kind: String,
    /// One line: label, adapter, OS, build.
    pub description: String,
    /// What the reader must know (no GPU timestamps, quantized timestamps, dropped frames).
    pub notes: Vec<String>,
    pub metrics: Vec<Metric>,
}

/// Reads the metrics of a profile (`format: wgsplat-profile`) or a benchmark report
/// (`format: wgsplat-bench`).
pub fn metrics_from_json(value: &Value) -> Result<MetricSet, String> {
    let set = read_metrics(value)?;
    // Times, rates and sizes are never negative, and never NaN: such a file was edited or broken.
    if let Some(bad) = set.metrics.iter().find(|m| !(m.value >= 0.0 && m.value.is_finite() && m.spread >= 0.0 && m.spread.is_finite())) {
        return Err(format!("{}: {} {} (spread {}) is not a valid measurement", bad.name, bad.value, bad.unit, bad.spread));
    }
    Ok(set)
}

fn read_metrics(value: &Value) -> Result<MetricSet, String> {
    match value.get("format").and_then(Value::as_str) {
        Some(super::trace::FORMAT) => {
            check_version(value, super::trace::VERSION)?;
            let summary: Summary = serde_json::from_value(value.get("summary").cloned().ok_or("the profile has no summary")?)
                .map_err(|e| format!("summary: {e}"))?;
            Ok(profile_metrics(&summary))
        }
        Some(super::bench::FORMAT) => {
            check_version(value, super::bench::VERSION)?;
            let report: BenchReport = serde_json::from_value(value.clone()).map_err(|e| format!("benchmark report: {e}"))?;
            Ok(MetricSet {
                kind: format!("bench {}", report.benchmark),
                description: report.environment.describe(),
                notes: Vec::new(),
                metrics: report
                    .metrics
                    .into_iter()
                    .map(|m| Metric {
                        name: m.name,
                        unit: m.unit,
                        better: m.better,
                        value: m.median,
                        spread: m.spread,
                        count: m.samples.len() as u64,
                    })
                    .collect(),
            })
        }
        Some(other) => Err(format!("unknown format {other:?} (expected {:?} or {:?})", super::trace::FORMAT, super::bench::FORMAT)),
        None => Err("not a wgsplat profile or benchmark report (no `format` field)".into()),
    }
}

fn check_version(value: &Value, supported: u32) -> Result<(), String> {
    match value.get("version").and_then(Value::as_u64) {
        Some(v) if v <= supported as u64 => Ok(()),
        Some(v) => Err(format!("version {v} is newer than this wgsplat reads ({supported})")),
        None => Err("no `version` field".into()),
    }
}

fn profile_metrics(s: &Summary) -> MetricSet {
    let mut metrics = Vec::new();
    let ms = |name: String, st: &super::trace::Stats| Metric {
        name,
        unit: "ms/step".into(),
        better: Better::Lower,
        value: st.median_ms,
        spread: st.stddev_ms,
        count: st.count,
    };
    if let Some(step) = &s.step {
        metrics.push(ms("step".into(), step));
    }
    if let (Some(sps), Some(step)) = (s.steps_per_s, &s.step) {
        let rel = if step.mean_ms > 0.0 { step.stddev_ms / step.mean_ms } else { 0.0 };
        metrics.push(Metric {
            name: "steps/s".into(),
            unit: "1/s".into(),
            better: Better::Higher,
            value: sps,
            spread: sps * rel,
            count: step.count,
        });
    }
    if let Some(gpu) = &s.gpu_step {
        metrics.push(ms("GPU: all passes".into(), gpu));
    }
    metrics.extend(s.gpu_passes.iter().map(|p| ms(format!("GPU: {}", p.name), &p.stats)));
    metrics.extend(s.cpu_spans.iter().map(|p| ms(format!("CPU: {}", p.name), &p.stats)));
    if s.memory.peak_bytes > 0 {
        metrics.push(Metric {
            name: "peak GPU memory".into(),
            unit: "MiB".into(),
            better: Better::Lower,
            value: s.memory.peak_bytes as f64 / 1048576.0,
            spread: 0.0,
            count: 0,
        });
    }
    let mut notes = Vec::new();
    if !s.timestamps.supported {
        notes.push(format!("no GPU pass times: {}", s.timestamps.reason.as_deref().unwrap_or("timestamps unsupported")));
    }
    if let Some(note) = &s.timestamps.note {
        notes.push(note.clone());
    }
    if s.timestamps.dropped_frames > 0 {
        notes.push(format!("{} GPU frames were not timed (readback ring full)", s.timestamps.dropped_frames));
    }
    let label = if s.label.is_empty() { String::new() } else { format!("\"{}\", ", s.label) };
    MetricSet { kind: "profile".into(), description: format!("{label}{} steps, {}", s.steps, s.environment.describe()), notes, metrics }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Faster,
    Slower,
    /// The difference is smaller than the run-to-run spread.
    Noise,
    OnlyA,
    OnlyB,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Self::Faster => "faster",
            Self::Slower => "slower",
            Self::Noise => "noise",
            Self::OnlyA => "only in A",
            Self::OnlyB => "only in B",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub unit: String,
    pub better: Better,
    pub a: Option<Metric>,
    pub b: Option<Metric>,
    /// Above 1: B is better (A/B for times and memory, B/A for throughputs).
    pub speedup: Option<f64>,
    pub verdict: Verdict,
    /// One side has a single sample: no spread is known, the verdict is tentative.
    pub single_sample: bool,
}

impl Row {
    /// The verdict in words: `less`/`more` for memory, `(1 sample)` where no spread is known.
    pub fn verdict_text(&self) -> String {
        let memory = self.unit == "MiB" || self.unit.contains("bytes");
        let word = match (self.verdict, memory) {
            (Verdict::Faster, true) => "less",
            (Verdict::Slower, true) => "more",
            (v, _) => v.word(),
        };
        if self.single_sample && matches!(self.verdict, Verdict::Faster | Verdict::Slower) {
            format!("{word} (1 sample)")
        } else {
            word.to_string()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub a_name: String,
    pub b_name: String,
    pub a: MetricSet,
    pub b: MetricSet,
    pub rows: Vec<Row>,
}

/// Matches the metrics of `a` and `b` by name, A's order first.
pub fn compare(a_name: &str, a: MetricSet, b_name: &str, b: MetricSet) -> Comparison {
    let mut names: Vec<&str> = a.metrics.iter().map(|m| m.name.as_str()).collect();
    for m in &b.metrics {
        if !names.contains(&m.name.as_str()) {
            names.push(&m.name);
        }
    }
    let rows = names
        .iter()
        .map(|&name| {
            let ma = a.metrics.iter().find(|m| m.name == name).cloned();
            let mb = b.metrics.iter().find(|m| m.name == name).cloned();
            let any = ma.as_ref().or(mb.as_ref()).expect("listed from one of them");
            let (unit, better) = (any.unit.clone(), any.better);
            let (speedup, verdict) = match (&ma, &mb) {
                (Some(x), Some(y)) => judge(x, y),
                (Some(_), None) => (None, Verdict::OnlyA),
                _ => (None, Verdict::OnlyB),
            };
            let single_sample = [&ma, &mb].iter().any(|m| m.as_ref().is_some_and(|m| m.count == 1));
            Row { name: name.to_string(), unit, better, a: ma, b: mb, speedup, verdict, single_sample }
        })
        .collect();
    Comparison { a_name: a_name.into(), b_name: b_name.into(), a, b, rows }
}

fn judge(a: &Metric, b: &Metric) -> (Option<f64>, Verdict) {
    let speedup = match a.better {
        Better::Lower if b.value > 0.0 && a.value > 0.0 => Some(a.value / b.value),
        Better::Higher if a.value > 0.0 && b.value > 0.0 => Some(b.value / a.value),
        _ => None,
    };
    let diff = (b.value - a.value).abs();
    let spread = a.spread.max(b.spread);
    let verdict = if diff == 0.0 || diff < spread {
        Verdict::Noise
    } else {
        let b_better = match a.better {
            Better::Lower => b.value < a.value,
            Better::Higher => b.value > a.value,
        };
        if b_better { Verdict::Faster } else { Verdict::Slower }
    };
    (speedup, verdict)
}

/// A value with about four significant digits.
pub fn format_value(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

fn cell(m: &Option<Metric>) -> String {
    match m {
        None => "–".into(),
        Some(m) if m.spread > 0.0 => format!("{} ± {}", format_value(m.value), format_value(m.spread)),
        Some(m) => format_value(m.value),
    }
}

fn speedup_text(s: Option<f64>) -> String {
    s.map_or_else(|| "–".into(), |s| format!("{s:.2}x"))
}

const EXPLANATION: &str = "Speed-up above 1 means B is better (A/B for times and memory, B/A for throughputs). \
± is the run-to-run spread: the standard deviation over steps (profiles) or repetitions (benchmarks). \
*noise*: |B − A| is smaller than the larger of the two spreads; *(1 sample)*: no spread is known, record more steps or repetitions.";

impl Comparison {
    pub fn markdown(&self) -> String {
        let mut out = String::from("## wgsplat compare\n\n");
        for (tag, name, set) in [("A", &self.a_name, &self.a), ("B", &self.b_name, &self.b)] {
            out += &format!("- {tag}: `{name}` ({}): {}\n", set.kind, set.description);
            for note in &set.notes {
                out += &format!("  - note: {note}\n");
            }
        }
        if self.a.kind != self.b.kind {
            out += &format!("- warning: comparing a {} with a {}\n", self.a.kind, self.b.kind);
        }
        out += "\n| metric | unit | A | B | speed-up | verdict |\n|:--|:--|--:|--:|--:|:--|\n";
        for r in &self.rows {
            let verdict = if r.verdict == Verdict::Noise { "*noise*".to_string() } else { r.verdict_text() };
            out += &format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.name.replace('|', "\\|"),
                r.unit,
                cell(&r.a),
                cell(&r.b),
                speedup_text(r.speedup),
                verdict
            );
        }
        out += &format!("\n{EXPLANATION}\n");
        out
    }

    pub fn html(&self) -> String {
        let mut out = String::from(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>wgsplat compare</title>\n<style>\
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
td,th{border-bottom:1px solid #ddd;padding:3px 10px}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.faster{color:#15803d}.slower{color:#b91c1c}.noise{color:#777;font-style:italic}\
</style></head><body>\n<h1>wgsplat compare</h1>\n<ul>\n",
        );
        for (tag, name, set) in [("A", &self.a_name, &self.a), ("B", &self.b_name, &self.b)] {
            out += &format!("<li><b>{tag}</b>: <code>{}</code> ({}): {}", esc(name), esc(&set.kind), esc(&set.description));
            for note in &set.notes {
                out += &format!("<br><i>note: {}</i>", esc(note));
            }
            out += "</li>\n";
        }
        out += "</ul>\n";
        out += &self.svg_chart();
        out += "\n<table>\n<tr><th>metric</th><th>unit</th><th>A</th><th>B</th><th>speed-up</th><th>verdict</th></tr>\n";
        for r in &self.rows {
            let class = match r.verdict {
                Verdict::Faster => "faster",
                Verdict::Slower => "slower",
                Verdict::Noise => "noise",
                _ => "",
            };
            out += &format!(
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
                esc(&r.name),
                esc(&r.unit),
                esc(&cell(&r.a)),
                esc(&cell(&r.b)),
                speedup_text(r.speedup),
                r.verdict_text()
            );
        }
        out += &format!(
            "</table>\n<p>{}</p>\n</body></html>\n",
            esc(EXPLANATION).replace("*noise*", "<i>noise</i>").replace("*(1 sample)*", "<i>(1 sample)</i>")
        );
        out
    }

    /// Horizontal bars of log2(speed-up) around 1x: green faster, red slower, grey noise.
    pub fn svg_chart(&self) -> String {
        let rows: Vec<&Row> = self.rows.iter().filter(|r| r.speedup.is_some()).collect();
        let (label_w, half, row_h) = (300.0, 220.0, 22.0);
        let width = label_w + 2.0 * half + 70.0;
        let height = row_h * rows.len() as f64 + 40.0;
        let center = label_w + half;
        // 4x faster or slower reaches the edge.
        let scale = half / 2.0;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n"
        );
        for (x, label) in [(-2.0, "0.25x"), (-1.0, "0.5x"), (0.0, "1x"), (1.0, "2x"), (2.0, "4x")] {
            let px = center + x * scale;
            svg += &format!(
                "<line x1=\"{px}\" y1=\"16\" x2=\"{px}\" y2=\"{}\" stroke=\"{}\"/>\n",
                height - 8.0,
                if x == 0.0 { "#333" } else { "#ddd" }
            );
            svg += &format!("<text x=\"{px}\" y=\"12\" text-anchor=\"middle\" fill=\"#555\">{label}</text>\n");
        }
        for (i, r) in rows.iter().enumerate() {
            let s = r.speedup.expect("filtered");
            let y = 22.0 + i as f64 * row_h;
            let len = (s.log2() * scale).clamp(-half, half);
            let (x, w) = if len >= 0.0 { (center, len) } else { (center + len, -len) };
            let color = match r.verdict {
                Verdict::Faster => "#16a34a",
                Verdict::Slower => "#dc2626",
                _ => "#a3a3a3",
            };
            svg += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", label_w - 8.0, y + 13.0, esc(&r.name));
            svg += &format!(
                "<rect x=\"{x:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"><title>{}: {:.3}x ({})</title></rect>\n",
                y + 2.0,
                w.max(1.0),
                row_h - 6.0,
                esc(&r.name),
                s,
                r.verdict.word()
            );
            svg += &format!("<text x=\"{}\" y=\"{}\" fill=\"#333\">{s:.2}x</text>\n", center + half + 8.0, y + 13.0);
        }
        svg += "</svg>";
        svg
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
