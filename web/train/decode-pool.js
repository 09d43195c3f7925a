// A pool of decode workers (default: one per hardware thread). Jobs queue up and each worker
// takes the next when it is free, so images arrive in about the order they were queued.

export class DecodePool {
  constructor(size = navigator.hardwareConcurrency || 4) {
    this.size = Math.max(1, Math.min(size, 32));
    this.workers = [];
    this.idle = [];
    this.queue = [];
    this.pending = new Map();
    // Job ids are the pool's own (frame ids restart with every dataset).
    this.nextId = 0;
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

  // Decodes one image: `load()` gives its Blob (called only when a worker is free, so that a
  // zip's images are not all copied out at once); `size` is {imageWidth, imageHeight, width,
  // height}. Resolves to {width, height, rgba} or {error}, never rejects.
  decode(load, size) {
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, resolve);
      this.queue.push({ id, load, size });
      this.pump();
    });
  }

  // Drops every queued job (their promises resolve with an error); running ones finish.
  cancelQueued(reason) {
    for (const job of this.queue.splice(0)) this.finished(null, { id: job.id, error: reason });
  }

  pump() {
    while (this.queue.length > 0) {
      const worker = this.worker();
      if (!worker) return;
      const job = this.queue.shift();
      worker.job = job;
      Promise.resolve()
        .then(() => job.load())
        .then(
          (blob) => worker.postMessage({ id: job.id, blob, ...job.size }),
          (error) => this.finished(worker, { id: job.id, error: error?.message ?? String(error) }),
        );
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
