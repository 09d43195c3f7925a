// The training side of the page: opening datasets (decoded by the worker pool and streamed to
// the GPU), the training loop in short slices, the dashboard, downloads, profile comparison and
// checkpoints in the browser's storage with resume after a reload.
//
// The loop never holds the main thread for long: each `trainer.run` slice submits steps for
// SLICE_MS and yields whenever it waits for the GPU; between slices the page handles input,
// decoded images and rendering.

import { Trainer, compare_profiles } from '../pkg/wgsplat.js';
import { Gate, yieldToPage } from './gate.js';
import { DecodePool } from './decode-pool.js';
import { Dashboard } from './dashboard.js';
import { datasetName, fileMap, fromFileList, isZip, readForIndex, normalize } from './loading.js';
import { clearCheckpoints, latestCheckpoint, loadCheckpoint, saveCheckpoint } from './storage.js';

const SLICE_MS = 12;
const STATUS_EVERY_MS = 250;
const CHARTS_EVERY_MS = 500;
// The live render shares the GPU with training: it runs about once per ten steps, at least every
// 4 s and at most 4 times a second (so a slow, software GPU spends its time training), and at
// once when the view changes.
const LIVE_RENDER_STEPS = 10;
const LIVE_RENDER_MIN_MS = 250;
const LIVE_RENDER_MAX_MS = 4000;
const DEMO = { views: 24, size: 128, name: 'demo scene' };

const $ = (id) => document.getElementById(id);

function message(error) {
  return error instanceof Error ? error.message : String(error);
}

function download(name, bytes, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

// Re-encodes a .ply in another splat format in a short-lived worker (web/train/encode-worker.js).
function encodeSplats(ply, format) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./encode-worker.js', import.meta.url), { type: 'module' });
    const done = () => worker.terminate();
    worker.onmessage = ({ data }) => {
      done();
      if (data.error) reject(new Error(data.error));
      else resolve(new Uint8Array(data.bytes));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      done();
      reject(new Error(`the encode worker failed: ${event.message}`));
    };
    // A copy goes to the worker: the caller keeps the .ply (for its size).
    const copy = ply.slice().buffer;
    worker.postMessage({ id: 0, ply: copy, format }, [copy]);
  });
}

export class TrainingController {
  // `ui`: {showError, clearError, setStatus, setMode(mode), syncOrbit(), mode()} from the viewer page.
  constructor(viewer, ui) {
    this.viewer = viewer;
    this.ui = ui;
    this.trainer = Trainer.for_viewer(viewer);
    this.gate = new Gate();
    this.pool = new DecodePool();
    this.dashboard = new Dashboard($);
    this.dataset = null; // the summary of the open dataset
    this.files = new Map(); // frame id -> <li>
    this.fileStates = {}; // frame id -> 'queued' | 'decoding' | 'ok' | error text
    this.decodeGeneration = 0;
    this.running = false;
    this.hasRun = false;
    this.finished = false;
    this.loopPromise = null;
    this.metrics = []; // every metric, for the test and the loss-fell check
    this.evaluations = [];
    this.lastStatus = null;
    this.lastStatusAt = 0;
    this.lastChartsAt = 0;
    this.lastRenderAt = 0;
    this.checkpointInfo = null;
    this.savedCheckpoint = null; // the meta of the checkpoint offered for resuming
    this.liveView = -1;
    this.renderWanted = false;
    this.longestTaskMs = 0;
    this.trainingSince = 0;
    this.watchLongTasks();
    this.wire();
    this.offerResume();
  }

  // --- the state the page test reads ------------------------------------------------------------
  snapshot() {
    return {
      dataset: this.dataset && { name: this.dataset.name, format: this.dataset.format, frames: this.dataset.frames.length },
      fileStates: { ...this.fileStates },
      running: this.running,
      finished: this.finished,
      hasRun: this.hasRun,
      status: this.lastStatus,
      metrics: this.metrics.slice(),
      evaluations: this.evaluations.slice(),
      charts: this.dashboard.counts(),
      longestTaskMs: this.longestTaskMs,
      checkpoint: this.checkpointInfo,
      savedCheckpoint: this.savedCheckpoint,
      // Why the last run stopped, when it did not finish (the error box may show later errors).
      trainingError: this.trainingError ?? null,
      // The step a continued saved run started from.
      resumedFrom: this.resumedFrom ?? null,
    };
  }

  // --- long main-thread tasks while training (the page must never block) -----------------------
  watchLongTasks() {
    try {
      new PerformanceObserver((list) => {
        if (!this.running) return;
        for (const entry of list.getEntries()) {
          if (entry.startTime >= this.trainingSince) this.longestTaskMs = Math.max(this.longestTaskMs, entry.duration);
        }
      }).observe({ type: 'longtask' });
    } catch {
      // No Long Tasks API: the field stays at 0 and says so.
      this.longestTaskMs = NaN;
    }
  }

  // --- controls ---------------------------------------------------------------------------------
  wire() {
    for (const id of ['dataset-folder', 'dataset-files', 'train-demo', 'compare-file']) $(id).disabled = false;
    $('dataset-folder').addEventListener('change', (event) => {
      const picked = fromFileList(event.target.files ?? []);
      event.target.value = '';
      if (picked.length > 0) this.openPicked(picked);
    });
    $('dataset-files').addEventListener('change', (event) => {
      const picked = fromFileList(event.target.files ?? []);
      event.target.value = '';
      if (picked.length > 0) this.openPicked(picked);
    });
    $('train-demo').addEventListener('click', () => this.openDemo());
    $('train-start').addEventListener('click', () => this.startOrContinue());
    $('train-pause').addEventListener('click', () => this.pause());
    $('train-step').addEventListener('click', () => this.stepOnce());
    $('train-eval').addEventListener('click', () => this.evaluate());
    $('download-ply').addEventListener('click', () => this.downloadSplats());
    $('download-format').addEventListener('change', () => ($('download-size').textContent = ''));
    $('download-profile').addEventListener('click', () => this.downloadProfile());
    $('download-eval').addEventListener('click', () => this.downloadEval());
    $('rvs-make').addEventListener('click', () => this.makeRvsSet());
    $('compare-file').addEventListener('change', (event) => {
      const file = event.target.files?.[0];
      event.target.value = '';
      if (file) this.compareWith(file);
    });
    $('live-view').addEventListener('change', (event) => {
      this.liveView = Number(event.target.value);
      this.requestRender();
    });
    $('resume-continue').addEventListener('click', () => this.continueSaved());
    $('resume-discard').addEventListener('click', async () => {
      await clearCheckpoints();
      this.savedCheckpoint = null;
      $('resume-banner').hidden = true;
    });
  }

  settings() {
    const form = new FormData($('settings'));
    const number = (name) => Number(form.get(name));
    return {
      steps: number('steps'),
      batch: number('batch'),
      max_sh_degree: number('max_sh_degree'),
      background: form.get('background') || null,
      init_points: number('init_points'),
      seed: number('seed'),
      log_every: Math.max(1, number('log_every') || 5),
      refine_start: number('refine_start'),
      refine_every: Math.max(1, number('refine_every') || 100),
      checkpoint_every: this.checkpointEvery(),
    };
  }

  loadOptions() {
    const scale = Number(new FormData($('settings')).get('resolution_scale'));
    // ?image-memory=MiB caps the GPU memory of the training images (beyond it they stream
    // from the page's memory), as `wgsplat train --image-memory` does natively.
    const query = new URLSearchParams(location.search);
    const imageMemory = Number(query.get('image-memory'));
    return {
      resolution_scale: Number.isFinite(scale) && scale > 0 ? scale : 1,
      test_every: 8,
      gpu_image_mib: query.has('image-memory') && Number.isInteger(imageMemory) && imageMemory >= 0 ? imageMemory : null,
    };
  }

  checkpointEvery() {
    return Math.max(0, Number(new FormData($('settings')).get('checkpoint_every')) || 0);
  }

  updateButtons() {
    const loaded = (this.lastStatus?.images_loaded ?? 0) > 0 || this.dataset?.format === 'demo';
    $('train-start').disabled = !this.dataset || this.running || this.finishing || !loaded;
    $('train-start').textContent = this.hasRun ? 'Resume' : 'Start';
    $('train-pause').disabled = !this.running;
    $('train-step').disabled = !this.hasRun || this.running || this.finishing || this.finished;
    for (const id of ['train-eval', 'download-ply', 'download-format', 'download-profile', 'download-eval']) $(id).disabled = !this.hasRun;
    $('rvs-make').disabled = !this.hasRun || this.rvsBusy;
    document.body.dataset.train = this.running ? 'running' : this.finished ? 'finished' : this.hasRun ? 'paused' : this.dataset ? 'loaded' : 'idle';
  }

  // --- opening datasets -------------------------------------------------------------------------
  // Stops training and decoding for the open dataset; returns the generation that identifies
  // the next one (results of older generations are dropped).
  async stopForNewDataset() {
    this.running = false;
    this.loopToken = null;
    const generation = ++this.decodeGeneration;
    this.pool.cancelQueued('another dataset was opened');
    await this.loopPromise;
    this.hasRun = false;
    this.finished = false;
    this.metrics = [];
    this.evaluations = [];
    this.fileStates = {};
    this.files.clear();
    $('files').replaceChildren();
    this.dashboard.destroy();
    this.dashboard = new Dashboard($);
    return generation;
  }

  async openPicked(picked) {
    this.ui.clearError();
    if (picked.length === 1 && /\.ply$/i.test(picked[0].path)) {
      this.ui.showError(`${picked[0].path} is a trained scene: open it with "Open .ply…" to view it`);
      return;
    }
    const generation = await this.stopForNewDataset();
    const name = datasetName(picked);
    this.ui.setStatus(`reading ${name}…`);
    try {
      let summary;
      let blobFor;
      if (isZip(picked)) {
        const bytes = new Uint8Array(await picked[0].file.arrayBuffer());
        summary = await this.gate.run(() => this.trainer.open_zip(name, bytes, this.loadOptions()));
        blobFor = (frame) => this.gate.run(() => new Blob([this.trainer.frame_bytes(frame.id)]));
        if (generation !== this.decodeGeneration) return;
      } else {
        const { paths, contents } = await readForIndex(picked);
        summary = await this.gate.run(() => this.trainer.open_files(name, paths, contents, this.loadOptions()));
        if (generation !== this.decodeGeneration) return;
        const files = fileMap(picked);
        blobFor = async (frame) => {
          const file = files.get(normalize(frame.path));
          if (!file) throw new Error('the file is missing');
          return file;
        };
      }
      this.datasetOpened(summary);
      this.decodeAll(summary, blobFor, generation);
    } catch (error) {
      this.dataset = null;
      this.ui.showError(message(error));
      this.ui.setStatus('ready', 'ready');
      this.updateButtons();
    }
  }

  async openDemo() {
    this.ui.clearError();
    const generation = await this.stopForNewDataset();
    this.ui.setStatus('rendering the demo training set…');
    try {
      const summary = await this.gate.run(() => this.trainer.open_demo(DEMO.views, DEMO.size));
      if (generation !== this.decodeGeneration) return;
      this.datasetOpened(summary);
      for (const frame of summary.frames) this.setFileState(frame.id, 'ok');
      await this.refreshStatus(true);
      this.ui.setStatus('demo training set ready: press Start', 'ready');
    } catch (error) {
      this.ui.showError(`Could not make the demo training set: ${message(error)}`);
    }
    this.updateButtons();
  }

  datasetOpened(summary) {
    this.dataset = summary;
    this.ui.setMode('train');
    $('t-dataset').textContent = `${summary.name} (${summary.format}, ${summary.frames.filter((f) => f.split === 'train').length} train + ${summary.frames.filter((f) => f.split === 'test').length} test views${summary.init_points ? `, ${summary.init_points.toLocaleString('en-US')} points` : ''})`;
    const list = $('files');
    for (const frame of summary.frames) {
      const li = document.createElement('li');
      li.dataset.id = frame.id;
      li.textContent = `${frame.path} (${frame.split}, ${frame.width}x${frame.height}): queued`;
      list.append(li);
      this.files.set(frame.id, li);
      this.fileStates[frame.id] = 'queued';
    }
    const select = $('live-view');
    select.replaceChildren(new Option('free orbit', '-1'));
    summary.frames.filter((f) => f.split === 'train').forEach((frame, i) => select.append(new Option(`camera ${frame.name}`, String(i))));
    this.liveView = -1;
    this.updateSavedBanner();
    this.updateButtons();
  }

  setFileState(id, state) {
    this.fileStates[id] = state;
    const li = this.files.get(id);
    const frame = this.dataset?.frames[id];
    if (li && frame) {
      li.textContent = `${frame.path} (${frame.split}, ${frame.width}x${frame.height}): ${state}`;
      li.className = state === 'ok' ? 'ok' : state === 'queued' || state === 'decoding' ? '' : 'failed';
    }
    const states = Object.values(this.fileStates);
    const ok = states.filter((s) => s === 'ok').length;
    const failed = states.filter((s) => s !== 'ok' && s !== 'queued' && s !== 'decoding').length;
    $('files-summary').textContent = `(${ok} of ${states.length} loaded${failed ? `, ${failed} failed` : ''})`;
    $('t-images').textContent = `${ok} of ${states.length} decoded${failed ? `, ${failed} failed` : ''}`;
  }

  // Decodes every frame in the worker pool; each image goes to the GPU as it arrives.
  async decodeAll(summary, blobFor, generation) {
    const started = performance.now();
    let failures = 0;
    // Every gated call re-checks the generation: a dataset opened meanwhile must not receive
    // this one's images or failures.
    const current = () => generation === this.decodeGeneration;
    const jobs = summary.frames.map(async (frame) => {
      const size = { imageWidth: frame.image_width, imageHeight: frame.image_height, width: frame.width, height: frame.height };
      const result = await this.pool.decode(() => {
        if (!current()) throw new Error('another dataset was opened');
        this.setFileState(frame.id, 'decoding');
        return blobFor(frame);
      }, size);
      if (!current()) return;
      try {
        if (result.error) throw new Error(result.error);
        await this.gate.run(() => current() && this.trainer.add_image(frame.id, result.width, result.height, new Uint8Array(result.rgba)));
        if (current()) this.setFileState(frame.id, 'ok');
      } catch (error) {
        if (!current()) return;
        failures += 1;
        const text = message(error);
        await this.gate.run(() => current() && this.trainer.image_failed(frame.id, text));
        this.setFileState(frame.id, text);
        this.ui.showError(`${frame.path}: ${text} (left out; training goes on with the other images)`);
      }
      if (!this.running && current()) this.refreshStatus(true);
    });
    await Promise.all(jobs);
    if (generation !== this.decodeGeneration) return;
    const seconds = (performance.now() - started) / 1000;
    this.decodeReport = { images: summary.frames.length, failures, seconds, workers: this.pool.size };
    await this.refreshStatus(true);
    if (!this.running) {
      this.ui.setStatus(`${summary.name}: ${summary.frames.length - failures} images decoded in ${seconds.toFixed(1)} s on ${this.pool.size} workers${failures ? `, ${failures} failed` : ''}: press Start`, 'ready');
    }
  }

  // --- the loop ---------------------------------------------------------------------------------
  async startOrContinue() {
    this.ui.clearError();
    try {
      if (this.finishing) return;
      if (!this.hasRun) {
        await this.gate.run(() => {
          this.trainer.start(this.settings());
          this.viewer.frame_training(this.trainer);
        });
        this.hasRun = true;
        this.finished = false;
        $('resume-banner').hidden = true;
        this.ui.syncOrbit();
      } else if (this.finished) {
        // Train longer: a finished run continues up to the new step count.
        const steps = this.settings().steps;
        const step = this.lastStatus?.step ?? 0;
        if (!(steps > step)) throw new Error(`the run has done its ${step} steps: raise Steps to train longer`);
        await this.gate.run(() => this.trainer.set_steps(steps, this.settings().log_every));
        this.finished = false;
      }
      this.begin();
    } catch (error) {
      this.ui.showError(message(error));
    }
    this.updateButtons();
  }

  // Starts the loop. An earlier loop (paused, but still finishing its slice) sees that its
  // token is gone and ends; the new one starts after it.
  async begin() {
    if (this.running) return;
    this.running = true;
    const token = Symbol('loop');
    this.loopToken = token;
    this.updateButtons();
    await this.loopPromise;
    if (this.loopToken !== token) return;
    this.trainingSince = performance.now();
    this.ui.setStatus('training', 'ready');
    this.loopPromise = this.loop(token);
  }

  pause() {
    this.running = false;
    this.ui.setStatus('paused', 'ready');
    this.updateButtons();
  }

  async stepOnce() {
    if (this.running || this.finishing || !this.hasRun) return;
    try {
      const report = await this.gate.run(() => this.trainer.run(1e9, 1));
      await this.afterSlice(true);
      if (report.checkpoint_due) await this.checkpoint();
    } catch (error) {
      this.ui.showError(message(error));
    }
  }

  async loop(token) {
    const mine = () => this.running && this.loopToken === token;
    try {
      while (mine()) {
        const report = await this.gate.run(() => this.trainer.run(SLICE_MS, 1_000_000));
        if (this.loopToken !== token) break;
        await this.afterSlice(false);
        // The trainer stops a slice where a checkpoint or an evaluation is due (its schedule,
        // the same as the CLI's); the end of a run does both below.
        if (!report.finished && report.checkpoint_due) await this.checkpoint();
        if (!report.finished && report.evaluate_due) await this.evaluate();
        if (report.finished) {
          this.running = false;
          this.finishing = true;
          this.updateButtons();
          try {
            await this.onFinished();
          } finally {
            this.finishing = false;
          }
          // Only now: the page reads 'finished' as "evaluated and saved".
          this.finished = true;
          break;
        }
        await yieldToPage();
      }
    } catch (error) {
      if (this.loopToken === token) {
        this.running = false;
        this.trainingError = message(error);
        this.ui.showError(`Training stopped: ${this.trainingError}`);
      }
    }
    this.updateButtons();
  }

  async afterSlice(force) {
    const now = performance.now();
    const metrics = await this.gate.run(() => this.trainer.take_metrics());
    if (metrics.length > 0) {
      this.metrics.push(...metrics);
      this.dashboard.addMetrics(metrics);
      const last = metrics[metrics.length - 1];
      $('t-loss').textContent = `${last.loss.toFixed(4)} / ${last.psnr.toFixed(2)} dB (step ${last.step})`;
    }
    if (force || now - this.lastStatusAt > STATUS_EVERY_MS) await this.refreshStatus(false);
    if (force || now - this.lastChartsAt > CHARTS_EVERY_MS) {
      this.dashboard.addGpuPasses(await this.gate.run(() => this.trainer.take_gpu_passes()));
      this.dashboard.draw();
      this.lastChartsAt = now;
    }
    if (force || this.renderWanted || now - this.lastRenderAt > this.liveRenderInterval()) await this.renderLive();
  }

  async refreshStatus(charts) {
    const status = await this.gate.run(() => this.trainer.status());
    this.lastStatus = status;
    this.lastStatusAt = performance.now();
    if (status.training) {
      this.dashboard.addStatus(status);
      if (charts) this.dashboard.draw();
      $('t-step').textContent = `${status.step.toLocaleString('en-US')} of ${status.steps.toLocaleString('en-US')}`;
      $('t-speed').textContent = `${status.steps_per_second.toFixed(1)} steps/s (${status.views_per_second.toFixed(1)} views/s)`;
      // Splats dropped because they held infinite or NaN values (the run goes on without them).
      const removed = status.nonfinite_removed;
      $('t-splats').textContent = status.splats.toLocaleString('en-US') + (removed.removed > 0
        ? ` (${removed.removed.toLocaleString('en-US')} removed for non-finite values since step ${removed.first_step})`
        : '');
      const m = status.memory;
      $('t-memory').textContent = `${mib(m.splats + m.optimizer_state + m.intermediates + m.images)} (splats ${mib(m.splats)}, optimizer ${mib(m.optimizer_state)}, intermediates ${mib(m.intermediates)}, images ${mib(m.images)}${status.images_streamed ? `, ${status.images_streamed} training images streamed from page memory` : ''})${status.gpu_timestamps ? '' : '; no GPU timestamps on this adapter'}`;
      $('t-longtask').textContent = Number.isNaN(this.longestTaskMs) ? 'not measurable in this browser' : `${this.longestTaskMs.toFixed(0)} ms`;
      $('splats').textContent = status.splats.toLocaleString('en-US');
    }
    this.updateButtons();
    return status;
  }

  liveRenderInterval() {
    const sps = this.lastStatus?.steps_per_second ?? 0;
    const perSteps = sps > 0 ? (LIVE_RENDER_STEPS * 1000) / sps : LIVE_RENDER_MAX_MS;
    return Math.min(LIVE_RENDER_MAX_MS, Math.max(LIVE_RENDER_MIN_MS, perSteps));
  }

  requestRender() {
    this.renderWanted = true;
    if (!this.running && this.hasRun) this.renderLive();
  }

  async renderLive() {
    this.renderWanted = false;
    this.lastRenderAt = performance.now();
    // The canvas shows a .ply scene while the page is in view mode.
    if (this.ui.mode() !== 'train') return;
    try {
      await this.gate.run(() => this.viewer.render_training(this.trainer, this.liveView));
    } catch (error) {
      this.ui.showError(`Live render: ${message(error)}`);
    }
  }

  async onFinished() {
    await this.refreshStatus(true);
    if (this.dataset.frames.some((f) => f.split === 'test' && this.fileStates[f.id] === 'ok')) await this.evaluate();
    await this.checkpoint();
    this.ui.setStatus(`finished ${this.lastStatus.step} steps`, 'ready');
  }

  async evaluate() {
    try {
      const result = await this.gate.run(() => this.trainer.evaluate());
      this.evaluations.push(result);
      this.dashboard.addEvaluation(result.step, result.psnr);
      this.dashboard.draw();
      $('t-eval').textContent = `${result.psnr.toFixed(2)} dB / ${result.ssim.toFixed(4)} over ${result.views} views (step ${result.step})`;
      return result;
    } catch (error) {
      this.ui.showError(`Evaluation: ${message(error)}`);
      return null;
    }
  }

  // --- downloads and compare --------------------------------------------------------------------
  baseName() {
    return (this.dataset?.name ?? 'wgsplat').replace(/\.zip$/i, '').replace(/[^\w.-]+/g, '_');
  }

  // The splats in the chosen format: the trainer gives a standard .ply (one GPU readback); any
  // other format is encoded in a worker, so a large scene's SOG does not freeze the page.
  async downloadSplats() {
    const format = $('download-format').value;
    const size = $('download-size');
    try {
      const ply = await this.gate.run(() => this.trainer.export_ply());
      size.textContent = format === 'ply' ? '' : `encoding ${format}…`;
      const bytes = format === 'ply' ? ply : await encodeSplats(ply, format);
      const extension = format === 'splat' ? 'splat' : format;
      download(`${this.baseName()}-step${this.lastStatus?.step ?? 0}.${extension}`, bytes, format === 'sog' ? 'application/zip' : 'application/octet-stream');
      const ratio = ply.byteLength / Math.max(1, bytes.byteLength);
      size.textContent = `${mib(bytes.byteLength)}` + (format === 'ply' ? '' : ` (${ratio.toFixed(1)}x smaller than .ply)`);
    } catch (error) {
      size.textContent = '';
      this.ui.showError(`Export: ${message(error)}`);
    }
  }

  async downloadProfile() {
    try {
      const json = await this.gate.run(() => this.trainer.profile_json());
      download(`${this.baseName()}-profile.json`, json, 'application/json');
    } catch (error) {
      this.ui.showError(`Profile: ${message(error)}`);
    }
  }

  async downloadEval() {
    try {
      const json = await this.gate.run(() => this.trainer.evaluations_json());
      download(`${this.baseName()}-eval.json`, json, 'application/json');
    } catch (error) {
      this.ui.showError(`Evaluation results: ${message(error)}`);
    }
  }

  async compareWith(file) {
    try {
      const other = await file.text();
      const current = await this.gate.run(() => this.trainer.profile_json());
      const html = compare_profiles(file.name, other, 'this run', current);
      $('compare-frame').srcdoc = html;
      $('compare').hidden = false;
    } catch (error) {
      this.ui.showError(`Compare: ${message(error)}`);
    }
  }

  // --- random view synthesis -------------------------------------------------------------------
  rvsOptions() {
    const form = new FormData($('rvs-settings'));
    const number = (name) => Number(form.get(name));
    return { rot: number('rot'), trans: number('trans'), dmax: number('dmax'), per_view: number('per_view'), seed: number('seed'), format: form.get('format'), quality: 90, batch: number('batch') };
  }

  // Renders an RVS set from the current model a batch at a time (training, if running, goes on
  // between batches) and downloads it as a zip.
  async makeRvsSet() {
    if (this.rvsBusy) return;
    this.rvsBusy = true;
    this.updateButtons();
    const started = performance.now();
    try {
      let progress = await this.gate.run(() => this.trainer.rvs_begin(this.rvsOptions()));
      while (progress.done < progress.total) {
        $('rvs-progress').textContent = `${progress.done} of ${progress.total} views (${progress.batch} per batch)…`;
        progress = await this.gate.run(() => this.trainer.rvs_next_batch());
        await yieldToPage();
      }
      const zip = await this.gate.run(() => this.trainer.rvs_zip());
      const seconds = (performance.now() - started) / 1000;
      this.rvsReport = { views: progress.total, batch: progress.batch, seconds, bytes: zip.length };
      $('rvs-progress').textContent = `${progress.total} views in ${seconds.toFixed(1)} s (${(progress.total / seconds).toFixed(1)} views/s, ${progress.batch} per batch), ${mib(zip.length)}`;
      download(`${this.baseName()}-rvs.zip`, zip, 'application/zip');
    } catch (error) {
      $('rvs-progress').textContent = '';
      this.ui.showError(message(error));
    } finally {
      this.rvsBusy = false;
      this.updateButtons();
    }
  }

  // --- checkpoints and resume -------------------------------------------------------------------
  async checkpoint() {
    try {
      const checkpoint = await this.gate.run(() => this.trainer.checkpoint());
      const info = { dataset: this.dataset.name, format: this.dataset.format, settings: this.settings(), checkpointEvery: this.checkpointEvery(), demo: this.dataset.format === 'demo' ? DEMO : null };
      const meta = await saveCheckpoint(checkpoint, info);
      this.checkpointInfo = meta;
      this.savedCheckpoint = meta;
      $('t-checkpoint').textContent = `step ${meta.step}, saved ${new Date(meta.savedAt).toLocaleTimeString()} in ${meta.storage}`;
    } catch (error) {
      this.ui.showError(`Saving a checkpoint failed (training goes on): ${message(error)}`);
    }
  }

  async offerResume() {
    try {
      this.savedCheckpoint = await latestCheckpoint();
    } catch {
      this.savedCheckpoint = null;
    }
    this.updateSavedBanner();
  }

  updateSavedBanner() {
    const saved = this.savedCheckpoint;
    if (!saved || this.hasRun) {
      $('resume-banner').hidden = true;
      return;
    }
    const when = new Date(saved.savedAt).toLocaleString();
    const matches = this.dataset && this.dataset.fingerprint === saved.fingerprint;
    const demo = saved.format === 'demo';
    $('resume-text').textContent = matches || demo
      ? `A training run of ${saved.dataset} was saved at step ${saved.step} (${when}).`
      : `A training run of ${saved.dataset} was saved at step ${saved.step} (${when}). Open the same dataset to continue it.`;
    $('resume-continue').disabled = !(matches || demo);
    $('resume-banner').hidden = false;
  }

  async continueSaved() {
    this.ui.clearError();
    try {
      // The newest checkpoint now (this tab may have saved others since the page loaded).
      const saved = (this.savedCheckpoint = await latestCheckpoint());
      if (!saved) throw new Error('no saved run');
      if (saved.format === 'demo' && this.dataset?.fingerprint !== saved.fingerprint) await this.openDemo();
      if (this.dataset?.fingerprint !== saved.fingerprint) throw new Error(`open ${saved.dataset} first`);
      const files = await loadCheckpoint(saved);
      if (!files) throw new Error('the saved checkpoint is incomplete');
      const form = $('settings');
      for (const [key, value] of Object.entries(saved.settings ?? {})) {
        if (form.elements[key] && value != null) form.elements[key].value = value;
      }
      if (form.elements.checkpoint_every && saved.checkpointEvery != null) form.elements.checkpoint_every.value = saved.checkpointEvery;
      const step = await this.gate.run(() => {
        const step = this.trainer.resume(files.splats_ply, files.optimizer_bin, files.state_json, this.checkpointEvery());
        this.viewer.frame_training(this.trainer);
        return step;
      });
      this.hasRun = true;
      this.finished = false;
      this.resumedFrom = step;
      $('resume-banner').hidden = true;
      this.ui.syncOrbit();
      this.begin();
    } catch (error) {
      this.ui.showError(`Could not continue the saved run: ${message(error)}`);
    }
  }
}
