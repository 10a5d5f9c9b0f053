import { afterEach, describe, expect, it, vi } from 'vitest';
import { SpeedMeter, etaSeconds, percentOf, throttle } from './progress';

describe('percentOf', () => {
  it('floors so that 100 % means finished', () => {
    expect(percentOf(0, 200)).toBe(0);
    expect(percentOf(199, 200)).toBe(99);
    expect(percentOf(200, 200)).toBe(100);
  });

  it('copes with empty files and overshoot', () => {
    expect(percentOf(0, 0)).toBe(0);
    expect(percentOf(10, 5)).toBe(100);
  });
});

describe('SpeedMeter', () => {
  it('is unknown until enough time has passed', () => {
    const meter = new SpeedMeter();
    expect(meter.bytesPerSecond()).toBe(0);
    meter.add(0, 0);
    meter.add(100, 1000);
    expect(meter.bytesPerSecond()).toBe(0);
  });

  it('measures bytes per second over the samples', () => {
    const meter = new SpeedMeter(3000);
    meter.add(0, 0);
    meter.add(500, 500_000);
    meter.add(1000, 1_000_000);
    expect(meter.bytesPerSecond()).toBe(1_000_000);
  });

  it('forgets samples older than its window, so a slowdown shows', () => {
    const meter = new SpeedMeter(1000);
    meter.add(0, 0);
    meter.add(1000, 10_000_000);
    meter.add(2000, 10_500_000);
    meter.add(3000, 11_000_000);
    expect(meter.bytesPerSecond()).toBe(500_000);
  });

  it('starts over when the offset goes back (a resumed upload)', () => {
    const meter = new SpeedMeter();
    meter.add(0, 5000);
    meter.add(1000, 6000);
    meter.add(1100, 100);
    expect(meter.bytesPerSecond()).toBe(0);
  });
});

describe('etaSeconds', () => {
  it('divides what is left by the speed', () => {
    expect(etaSeconds(25, 100, 5)).toBe(15);
    expect(etaSeconds(0, 10 * 1024 * 1024, 1024 * 1024)).toBe(10);
  });

  it('rounds up and stops at zero', () => {
    expect(etaSeconds(0, 10, 3)).toBe(4);
    expect(etaSeconds(100, 100, 5)).toBe(0);
  });

  it('is unknown without a speed', () => {
    expect(etaSeconds(0, 100, 0)).toBeNull();
    expect(etaSeconds(0, 100, Number.NaN)).toBeNull();
  });
});

describe('throttle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at most once per interval, with one trailing call', () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    const run = throttle(() => calls.push(Date.now()), 100, Date.now);
    const start = Date.now();
    run();
    for (let index = 0; index < 50; index += 1) {
      vi.advanceTimersByTime(10);
      run();
    }
    vi.advanceTimersByTime(200);
    expect(calls.length).toBeGreaterThanOrEqual(5);
    expect(calls.length).toBeLessThanOrEqual(7);
    for (let index = 1; index < calls.length; index += 1) {
      expect(calls[index] - calls[index - 1]).toBeGreaterThanOrEqual(100);
    }
    expect(calls[0]).toBe(start);
  });

  it('can be cancelled', () => {
    vi.useFakeTimers();
    let count = 0;
    const run = throttle(() => (count += 1), 100, Date.now);
    run();
    run();
    run.cancel();
    vi.advanceTimersByTime(500);
    expect(count).toBe(1);
  });
});
