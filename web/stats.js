// Frame statistics: CPU time of the last frame and the rate of frames rendered in the last second.

export class FrameStats {
  constructor() {
    this.times = [];
    this.cpuMs = 0;
    this.count = 0;
  }

  record(cpuMs) {
    const now = performance.now();
    this.cpuMs = cpuMs;
    this.count += 1;
    this.times.push(now);
    while (this.times.length > 0 && now - this.times[0] > 1000) this.times.shift();
  }

  text() {
    const cpu = `CPU ${this.cpuMs.toFixed(2)} ms`;
    if (this.times.length < 2) return `${cpu} (frame #${this.count})`;
    const span = this.times[this.times.length - 1] - this.times[0];
    const interval = span / (this.times.length - 1);
    return `${interval.toFixed(1)} ms/frame (${(1000 / interval).toFixed(1)} fps), ${cpu}`;
  }
}
