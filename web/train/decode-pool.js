// A pool of decode workers (default: one per hardware thread). Jobs queue up and each worker
// takes the next when it is free, so images arrive in about the order they were queued.

export class DecodePool {
  constructor(size = navigator.hardwareConcurrency || 4) {
    this.size = Math.max(1, Math.min(size, 32));
    this.workers = [];
    this.idle = [];
    this.queue = [];
    this.pending = new Map();
  }

  worker() {
    if (this.idle.length > 0) return this.idle.pop();
    if (this.workers.length >= this.size) return null;
    const worker = new Worker(new URL('./decode-worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = ({ data }) => this.finished(worker, data);
    worker.onerror = (event) => {
      // A worker that dies takes its job with it: report the job, replace the worker.
      event.preventDefault();
      const job = worker.job;
      this.workers = this.workers.filter((w) => w !== worker);
      worker.terminate();
      if (job) this.finished(null, { id: job.id, error: `the decode worker failed: ${event.message}` });
      this.pump();
    };
    this.workers.push(worker);
    return worker;
  }

  // Decodes `job` ({id, blob, imageWidth, imageHeight, width, height}); resolves to the
  // worker's answer ({id, width, height, rgba} or {id, error}), never rejects.
  decode(job) {
    return new Promise((resolve) => {
      this.pending.set(job.id, resolve);
      this.queue.push(job);
      this.pump();
    });
  }

  pump() {
    while (this.queue.length > 0) {
      const worker = this.worker();
      if (!worker) return;
      const job = this.queue.shift();
      worker.job = job;
      worker.postMessage(job);
    }
  }

  finished(worker, data) {
    if (worker) {
      worker.job = null;
      this.idle.push(worker);
    }
    const resolve = this.pending.get(data.id);
    this.pending.delete(data.id);
    resolve?.(data);
    this.pump();
  }

  terminate() {
    for (const worker of this.workers) worker.terminate();
    this.workers = [];
    this.idle = [];
  }
}
