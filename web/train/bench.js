// The page's side of `cargo xtask bench-web`: with `?bench=demo` or `?bench=dataset` in the URL
// the page trains by itself, through the same controller and buttons a person uses, then POSTs
// what it measured to the server that served it (`/bench/result`). `?steps=N&seed=S` set the
// run (`&timeout=SECONDS` bounds each wait); the dataset is the folder the server lists at
// `/bench/dataset.json`. Every other setting is the form's default, which is the CLI's.
// `?bench=probe` trains nothing: it measures what this browser's WebGPU charges per submission,
// pass and dispatch (probe.js).

import { runProbe } from './probe.js';
import { splat_file_summary } from '../pkg/wgsplat.js';

const POLL_MS = 200;

function until(condition, what, timeoutMs) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) resolve();
      else if (performance.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, POLL_MS);
    };
    check();
  });
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

// The dataset the server lists, as the [{path, file}] a folder pick gives.
async function fetchDataset() {
  const list = await (await fetchOk('/bench/dataset.json')).json();
  return Promise.all(
    list.files.map(async (path) => {
      const blob = await (await fetchOk(`/bench/dataset/${path.split('/').map(encodeURIComponent).join('/')}`)).blob();
      return { path: `${list.name}/${path}`, file: new File([blob], path.split('/').pop()) };
    }),
  );
}

function setField(name, value) {
  const field = document.getElementById('settings').elements[name];
  if (!field) throw new Error(`the settings form has no field ${name}`);
  field.value = String(value);
}

// Sends the report; a failure to send is only logged (the server then times out).
async function post(report) {
  try {
    await fetch('/bench/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(report) });
  } catch (error) {
    console.error('bench: could not send the result', error);
  }
}

// For the page's start-up failures (no WebGPU, no wasm): the benchmark ends at once with the
// reason instead of waiting out its timeout.
export function reportBenchFailure(params, error) {
  return post({ kind: params.get('bench'), ok: false, error });
}

export async function runBench(controller, params) {
  const kind = params.get('bench');
  const steps = Number(params.get('steps') ?? 3000);
  const timeoutMs = Number(params.get('timeout') ?? 3600) * 1000;
  const report = { kind, steps, ok: false };
  if (kind === 'probe') {
    try {
      report.probe = await runProbe();
      report.ok = true;
    } catch (error) {
      report.error = error instanceof Error ? error.message : String(error);
    }
    return post(report);
  }
  try {
    setField('steps', steps);
    setField('seed', Number(params.get('seed') ?? 0));
    setField('checkpoint_every', 0);
    if (kind === 'demo') {
      await controller.openDemo();
    } else if (kind === 'dataset') {
      await controller.openPicked(await fetchDataset());
      await until(() => controller.decodeReport, 'the images to decode', timeoutMs);
      report.decode = controller.decodeReport;
    } else {
      throw new Error(`unknown bench ${kind}: demo or dataset`);
    }
    if (!controller.dataset) throw new Error(document.getElementById('error')?.textContent || 'the dataset did not open');
    await controller.startOrContinue();
    // The loop runs until finished (then evaluated and saved) or until an error stops it.
    await until(() => controller.finished || (!controller.running && !controller.finishing), 'training to end', timeoutMs);
    if (!controller.finished) throw new Error(document.getElementById('error')?.textContent || 'training stopped');
    const status = controller.lastStatus;
    report.status = status;
    report.train_seconds = status.train_seconds;
    report.steps_per_second = status.step / status.train_seconds;
    report.longest_task_ms = controller.longestTaskMs;
    report.evaluations = controller.evaluations;
    report.adapter = document.getElementById('adapter')?.textContent ?? '';
    report.profile = JSON.parse(await controller.gate.run(() => controller.trainer.profile_json()));
    // The model as "Download splats" gives it, read back as a viewer reads it: a run whose
    // model cannot be saved or loaded is a failed run.
    const ply = await controller.gate.run(() => controller.trainer.export_ply());
    report.export = { bytes: ply.byteLength, ...splat_file_summary(ply, 'bench.ply') };
    report.nonfinite_removed = controller.lastStatus?.nonfinite_removed ?? null;
    report.ok = true;
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error);
  }
  await post(report);
}
