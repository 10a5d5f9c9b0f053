// Upload progress arithmetic: percentages, a sliding-window speed meter, ETA and a throttle.

export function percentOf(sent: number, total: number): number {
  if (total <= 0) return sent > 0 ? 100 : 0;
  return Math.min(100, Math.max(0, Math.floor((sent / total) * 100)));
}

/** Speed over the last `windowMs` of samples, so that a stall shows quickly as a slowdown. */
export class SpeedMeter {
  private samples: Array<{ time: number; bytes: number }> = [];

  constructor(private readonly windowMs = 3000) {}

  add(time: number, bytes: number): void {
    const last = this.samples[this.samples.length - 1];
    // A lower byte count means the upload restarted (resume from an earlier offset): start over.
    if (last && bytes < last.bytes) this.samples = [];
    this.samples.push({ time, bytes });
    const oldest = time - this.windowMs;
    while (this.samples.length > 2 && this.samples[1].time <= oldest) this.samples.shift();
  }

  reset(): void {
    this.samples = [];
  }

  /** Bytes per second, 0 until two samples at least 200 ms apart exist. */
  bytesPerSecond(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const elapsed = last.time - first.time;
    if (elapsed < 200) return 0;
    return ((last.bytes - first.bytes) * 1000) / elapsed;
  }
}

/** Seconds left at the given speed, or null when unknown. */
export function etaSeconds(sent: number, total: number, bytesPerSecond: number): number | null {
  if (bytesPerSecond <= 0 || !Number.isFinite(bytesPerSecond)) return null;
  const remaining = Math.max(0, total - sent);
  return Math.ceil(remaining / bytesPerSecond);
}

export interface Throttled {
  (): void;
  cancel(): void;
}

/**
 * Calls `fn` at most once per `intervalMs`: the first call runs at once, later calls
 * within the interval are folded into one trailing call at the interval's end.
 */
export function throttle(
  fn: () => void,
  intervalMs: number,
  clock: () => number = Date.now,
): Throttled {
  let last = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = () => {
    timer = null;
    last = clock();
    fn();
  };
  const throttled = (() => {
    if (timer !== null) return;
    const wait = last + intervalMs - clock();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  }) as Throttled;
  throttled.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return throttled;
}
