// The training dashboard's charts (uPlot): loss, PSNR, GPU time per pass as a stacked chart per
// step, memory by category (stacked) and steps/s. Series are kept short by thinning: past
// MAX_POINTS, every other old point goes.

import uPlot from '../vendor/uplot/uPlot.esm.js';

const MAX_POINTS = 4000;
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#86bcb6', '#d37295'];

function chartWidth(element) {
  return Math.max(280, Math.min(520, element.clientWidth || 360));
}

function thin(columns) {
  if (columns[0].length <= MAX_POINTS) return;
  for (let c = 0; c < columns.length; c++) {
    const kept = columns[c].filter((_, i) => i % 2 === 0 || i >= columns[c].length - MAX_POINTS / 2);
    columns[c].length = 0;
    columns[c].push(...kept);
  }
}

const AXES = [{ stroke: '#aab', grid: { stroke: '#2a2d33' } }, { stroke: '#aab', grid: { stroke: '#2a2d33' } }];

// One line per series over x.
class LineChart {
  constructor(element, names, { xLabel = 'step', logY = false } = {}) {
    this.columns = [[], ...names.map(() => [])];
    const series = [{ label: xLabel }, ...names.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }))];
    this.plot = new uPlot({ width: chartWidth(element), height: 180, series, axes: AXES, scales: { x: { time: false }, y: logY ? { distr: 3 } : {} }, legend: { live: true } }, this.columns, element);
    this.dirty = false;
  }

  push(x, values) {
    this.columns[0].push(x);
    values.forEach((v, i) => this.columns[i + 1].push(Number.isFinite(v) ? v : null));
    thin(this.columns);
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
    this.plot.setData(this.columns);
  }

  get length() {
    return this.columns[0].length;
  }

  destroy() {
    this.plot.destroy();
  }
}

// Stacked areas over x; series appear as they are first seen (the chart is rebuilt then).
class StackedChart {
  constructor(element, unit) {
    this.element = element;
    this.unit = unit;
    this.names = [];
    this.x = [];
    this.raw = [];
    this.plot = null;
    this.dirty = false;
  }

  push(x, valuesByName) {
    let rebuild = false;
    for (const name of Object.keys(valuesByName)) {
      if (!this.names.includes(name)) {
        this.names.push(name);
        this.raw.push(this.x.map(() => 0));
        rebuild = true;
      }
    }
    this.x.push(x);
    this.names.forEach((name, i) => this.raw[i].push(valuesByName[name] ?? 0));
    thin([this.x, ...this.raw]);
    if (rebuild) this.build();
    this.dirty = true;
  }

  // Series k is drawn as the sum of bands 0..k, topmost first so each band shows its own part;
  // the legend shows the band's own value.
  columns() {
    const cumulative = [];
    let running = this.x.map(() => 0);
    for (const band of this.raw) {
      running = running.map((v, i) => v + band[i]);
      cumulative.push(running);
    }
    return [this.x, ...cumulative.reverse()];
  }

  build() {
    this.plot?.destroy();
    const n = this.names.length;
    const series = [{ label: 'step' }];
    for (let k = n - 1; k >= 0; k--) {
      const color = PALETTE[k % PALETTE.length];
      series.push({
        label: this.names[k],
        stroke: color,
        fill: `${color}cc`,
        width: 1,
        value: (u, v, si, idx) => (idx == null ? '—' : `${(this.raw[k][idx] ?? 0).toFixed(2)} ${this.unit}`),
      });
    }
    this.plot = new uPlot({ width: chartWidth(this.element), height: 220, series, axes: AXES, scales: { x: { time: false } }, legend: { live: true } }, this.columns(), this.element);
  }

  draw() {
    if (!this.dirty || !this.plot) return;
    this.dirty = false;
    this.plot.setData(this.columns());
  }

  get length() {
    return this.x.length;
  }

  destroy() {
    this.plot?.destroy();
  }
}

export class Dashboard {
  constructor($) {
    this.loss = new LineChart($('chart-loss'), ['loss'], { logY: true });
    this.psnr = new LineChart($('chart-psnr'), ['PSNR', 'test PSNR']);
    this.passes = new StackedChart($('chart-passes'), 'ms');
    this.memory = new StackedChart($('chart-memory'), 'MiB');
    this.speed = new LineChart($('chart-speed'), ['steps/s']);
  }

  addMetrics(metrics) {
    for (const m of metrics) {
      this.loss.push(m.step, [m.loss]);
      this.psnr.push(m.step, [m.psnr, null]);
    }
  }

  addEvaluation(step, psnr) {
    this.psnr.push(step, [null, psnr]);
  }

  addGpuPasses(steps) {
    for (const [step, passes] of steps) this.passes.push(step, passes);
  }

  addStatus(status) {
    const mib = (b) => b / 1048576;
    const m = status.memory;
    this.memory.push(status.step, { splats: mib(m.splats), 'optimizer state': mib(m.optimizer_state), intermediates: mib(m.intermediates), images: mib(m.images) });
    if (status.steps_per_second > 0) this.speed.push(status.step, [status.steps_per_second]);
  }

  charts() {
    return [this.loss, this.psnr, this.passes, this.memory, this.speed];
  }

  draw() {
    for (const chart of this.charts()) chart.draw();
  }

  // Removes the charts from the page (a new dataset gets a new dashboard).
  destroy() {
    for (const chart of this.charts()) chart.destroy();
  }

  // Points per chart, for the page test.
  counts() {
    return { loss: this.loss.length, psnr: this.psnr.length, passes: this.passes.length, passNames: this.passes.names.slice(), memory: this.memory.length, speed: this.speed.length };
  }
}
