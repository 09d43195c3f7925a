// One trainer call at a time, first come first served. The trainer's asynchronous calls (a
// training slice, an export, a checkpoint) hold it across awaits; anything else that reaches it
// meanwhile would only get "busy", so every call goes through the gate.

export class Gate {
  constructor() {
    this.tail = Promise.resolve();
    this.waiting = 0;
  }

  // Runs `fn` (sync or async) after every call queued before it; resolves to its result.
  run(fn) {
    this.waiting += 1;
    const result = this.tail.then(fn).finally(() => {
      this.waiting -= 1;
    });
    this.tail = result.catch(() => {});
    return result;
  }

  get busy() {
    return this.waiting > 0;
  }
}

// Lets the browser run its other tasks (input, rendering) before continuing.
export function yieldToPage() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}
