// The wgsplat page: WebGPU check, wasm start-up, scene loading (file picker, drag and drop,
// demo button), orbit controls, the render loop and the info panel; training lives in
// `train/controller.js` and shares the canvas (mode 'train' shows the model being trained).
// `window.wgsplatPage` exposes the state for the page tests.

import init, { Viewer } from './pkg/wgsplat.js';
import { attachOrbit } from './orbit.js';
import { FrameStats } from './stats.js';
import { TrainingController } from './train/controller.js';
import { fromDrop, isSceneFile } from './train/loading.js';

const $ = (id) => document.getElementById(id);
const canvas = $('canvas');
const stats = new FrameStats();
// The renderer learns that its buffers overflowed one or more frames late (read back without
// stalling), so after every change the page keeps rendering for a moment and for as long as the
// buffers keep growing; after that it renders only when the view changes.
const SETTLE_MS = 1000;
const page = {
  viewer: null,
  frames: 0,
  dirty: true,
  settleUntil: 0,
  continuous: false,
  busy: false,
  lastError: '',
  // 'view': the loaded .ply or demo scene; 'train': the model being trained.
  mode: 'view',
  train: null,
  renderNow,
  readPixels,
};
window.wgsplatPage = page;

function message(error) {
  if (error instanceof Error) return error.message;
  return String(error);
}

function showError(text) {
  page.lastError = text;
  $('error').textContent = text;
  $('error').hidden = false;
}

function clearError() {
  page.lastError = '';
  $('error').hidden = true;
}

function setStatus(text, state) {
  $('status').textContent = text;
  if (state) document.body.dataset.state = state;
}

// `?size=WxH` fixes the canvas resolution (the page test uses it); otherwise the canvas follows
// its on-screen size times the device pixel ratio.
function setupCanvasSize() {
  const match = /^(\d+)x(\d+)$/.exec(new URLSearchParams(location.search).get('size') ?? '');
  if (match) {
    canvas.width = Number(match[1]);
    canvas.height = Number(match[2]);
    canvas.classList.add('fixed');
    canvas.style.width = `${canvas.width}px`;
    canvas.style.height = `${canvas.height}px`;
    return;
  }
  const resize = () => {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.min(4096, Math.round(canvas.clientWidth * ratio)));
    const height = Math.max(1, Math.min(4096, Math.round(canvas.clientHeight * ratio)));
    if (width !== canvas.width || height !== canvas.height) {
      canvas.width = width;
      canvas.height = height;
      viewChanged();
    }
  };
  new ResizeObserver(resize).observe(canvas);
  resize();
}

function viewChanged() {
  page.dirty = true;
  page.settleUntil = performance.now() + SETTLE_MS;
}

function renderNow() {
  if (!page.viewer) return 0;
  const cpuMs = page.viewer.render_frame();
  if (page.viewer.buffers_grew()) page.settleUntil = performance.now() + SETTLE_MS;
  page.frames += 1;
  stats.record(cpuMs);
  $('frame-time').textContent = stats.text();
  return cpuMs;
}

// The renderer's output for the current view, read back (RGBA8); frames pause meanwhile.
async function readPixels() {
  page.busy = true;
  try {
    return await page.viewer.read_pixels();
  } finally {
    page.busy = false;
    page.dirty = true;
  }
}

function frameLoop() {
  if (page.mode === 'train') {
    // The training loop renders between its slices; here only view changes ask for a frame.
    if (page.dirty) {
      page.dirty = false;
      page.train?.requestRender();
    }
  } else if (page.viewer && !page.busy && (page.dirty || page.continuous || performance.now() < page.settleUntil)) {
    page.dirty = false;
    try {
      renderNow();
    } catch (error) {
      showError(`Rendering failed: ${message(error)}`);
      page.continuous = false;
      $('continuous').checked = false;
    }
  }
  requestAnimationFrame(frameLoop);
}

let resetOrbit = () => {};

function setMode(mode) {
  if (page.mode === mode) return;
  page.mode = mode;
  document.body.dataset.mode = mode;
  if (mode === 'train') {
    $('scene').textContent = 'the model being trained';
  }
  viewChanged();
}

// After a load: size the renderer's buffers for the first view (frames pause meanwhile), then
// show the scene.
async function sceneLoaded() {
  const viewer = page.viewer;
  $('scene').textContent = viewer.scene_name();
  $('splats').textContent = viewer.splat_count().toLocaleString('en-US');
  const [yaw, pitch, distance] = viewer.orbit();
  resetOrbit(yaw, pitch, distance);
  setStatus('preparing the first frame…', 'loading');
  page.busy = true;
  try {
    await viewer.prepare();
  } finally {
    page.busy = false;
  }
  viewChanged();
  setStatus('ready', 'ready');
}

async function loadFile(file) {
  if (!page.viewer) return;
  clearError();
  setMode('view');
  setStatus(`loading ${file.name} (${(file.size / 1048576).toFixed(1)} MiB)…`, 'loading');
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    page.viewer.load_scene(bytes, file.name);
    await sceneLoaded();
  } catch (error) {
    const text = message(error);
    showError(text.includes(file.name) ? text : `Could not load ${file.name}: ${text}`);
    setStatus('ready', 'ready');
  }
}

async function loadDemo() {
  clearError();
  setMode('view');
  try {
    page.viewer.load_demo();
    await sceneLoaded();
  } catch (error) {
    showError(`Could not load the demo scene: ${message(error)}`);
  }
}

function wireControls() {
  $('file').disabled = false;
  $('load-demo').disabled = false;
  $('file').addEventListener('change', (event) => {
    const file = event.target.files?.[0];
    if (file) loadFile(file);
    event.target.value = '';
  });
  $('load-demo').addEventListener('click', loadDemo);
  $('continuous').addEventListener('change', (event) => {
    page.continuous = event.target.checked;
  });
  const stage = $('stage');
  stage.addEventListener('dragover', (event) => {
    event.preventDefault();
    stage.classList.add('dragging');
  });
  stage.addEventListener('dragleave', () => stage.classList.remove('dragging'));
  stage.addEventListener('drop', async (event) => {
    event.preventDefault();
    stage.classList.remove('dragging');
    // A splat file (.ply, .spz, .sog, .splat) is a scene to view; a folder, a zip or several files are a dataset to train on.
    const picked = await fromDrop(event.dataTransfer);
    if (isSceneFile(picked)) loadFile(picked[0].file);
    else if (picked.length > 0) page.train?.openPicked(picked);
  });
  resetOrbit = attachOrbit(canvas, page.viewer.orbit(), (yaw, pitch, distance) => {
    try {
      page.viewer.set_orbit(yaw, pitch, distance);
      viewChanged();
    } catch (error) {
      showError(message(error));
    }
  });
}

// Browsers hide the adapter name from wgpu; GPUAdapter.info still gives vendor and architecture.
async function browserAdapterName() {
  try {
    const info = (await navigator.gpu.requestAdapter())?.info;
    return info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') : '';
  } catch {
    return '';
  }
}

async function main() {
  if (!navigator.gpu) {
    showError(
      'This browser has no WebGPU (navigator.gpu is missing), so wgsplat cannot run here. ' +
        'Use a recent Chrome, Edge or Safari, or Firefox with WebGPU enabled; ' +
        'on Linux, Chromium may need --enable-unsafe-webgpu. The page must be served over https or from localhost.',
    );
    setStatus('no WebGPU', 'no-webgpu');
    await benchFailed('this browser has no WebGPU (navigator.gpu is missing)');
    return;
  }
  setupCanvasSize();
  try {
    await init();
  } catch (error) {
    showError(`Loading the wasm module failed: ${message(error)}. Build it with \`cargo xtask serve\`.`);
    setStatus('failed', 'error');
    await benchFailed(`loading the wasm module failed: ${message(error)}`);
    return;
  }
  try {
    // `?without=timestamps` (or float-atomics): run without an optional feature, to measure it.
    const without = (new URLSearchParams(location.search).get('without') ?? '').split(',').filter(Boolean);
    page.viewer = await Viewer.create(canvas, without);
  } catch (error) {
    showError(`Starting WebGPU failed: ${message(error)}`);
    setStatus('failed', 'error');
    await benchFailed(`starting WebGPU failed: ${message(error)}`);
    return;
  }
  const browserName = await browserAdapterName();
  $('adapter').textContent = [browserName, page.viewer.adapter_info().trim()].filter(Boolean).join(': ');
  wireControls();
  try {
    const syncOrbit = () => {
      const [yaw, pitch, distance] = page.viewer.orbit();
      resetOrbit(yaw, pitch, distance);
    };
    page.train = new TrainingController(page.viewer, { showError, clearError, setStatus, setMode, syncOrbit, mode: () => page.mode });
  } catch (error) {
    showError(`Starting the trainer failed: ${message(error)}`);
  }
  setStatus('ready: open a .ply or load the demo scene, or open a dataset to train', 'ready');
  requestAnimationFrame(frameLoop);
  if (benchParams().has('bench')) {
    const { runBench, reportBenchFailure } = await import('./train/bench.js');
    if (page.train) runBench(page.train, benchParams());
    else reportBenchFailure(benchParams(), 'the trainer did not start');
  }
}

// `?bench=…` (cargo xtask bench-web): the page trains by itself and reports to the server.
function benchParams() {
  return new URLSearchParams(location.search);
}

async function benchFailed(reason) {
  if (!benchParams().has('bench')) return;
  const { reportBenchFailure } = await import('./train/bench.js');
  await reportBenchFailure(benchParams(), reason);
}

window.addEventListener('error', (event) => showError(`Unexpected error: ${message(event.error ?? event.message)}`));
window.addEventListener('unhandledrejection', (event) => showError(`Unexpected error: ${message(event.reason)}`));

main();
