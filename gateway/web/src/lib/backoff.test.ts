import { describe, expect, it } from 'vitest';
import { MAX_AUTOMATIC_RETRIES, backoffDelay, backoffSchedule, isRetryableStatus, nextRetryDelay, parseRetryAfter } from './backoff';

describe('backoff schedule', () => {
  it('doubles from one second for three attempts', () => {
    expect(MAX_AUTOMATIC_RETRIES).toBe(3);
    expect(backoffSchedule()).toEqual([1000, 2000, 4000]);
  });

  it('is capped', () => {
    expect(backoffDelay(10, { baseMs: 1000, maxMs: 30_000 })).toBe(30_000);
  });

  it('spreads retries with jitter inside the given fraction', () => {
    expect(backoffDelay(2, { jitter: 0.2, random: () => 0 })).toBe(1600);
    expect(backoffDelay(2, { jitter: 0.2, random: () => 1 })).toBe(2400);
    expect(backoffDelay(2, { jitter: 0.2, random: () => 0.5 })).toBe(2000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date', () => {
    expect(parseRetryAfter('Sat, 10 Jan 2026 12:00:45 GMT', now)).toBe(45_000);
    expect(parseRetryAfter('Sat, 10 Jan 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent or malformed values', () => {
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('', now)).toBeNull();
    expect(parseRetryAfter('soon', now)).toBeNull();
  });
});

describe('which failures are retried', () => {
  it('retries network errors, tus conflicts and locks, rate limits and server errors', () => {
    for (const status of [0, 408, 409, 423, 429, 500, 502, 503, 504]) expect(isRetryableStatus(status)).toBe(true);
  });

  it('does not retry what waiting cannot fix', () => {
    for (const status of [400, 401, 403, 404, 410, 413, 415, 501]) expect(isRetryableStatus(status)).toBe(false);
  });

  it('gives up after three automatic retries', () => {
    expect(nextRetryDelay(0, 503, null)).toBe(1000);
    expect(nextRetryDelay(1, 503, null)).toBe(2000);
    expect(nextRetryDelay(2, 503, null)).toBe(4000);
    expect(nextRetryDelay(3, 503, null)).toBeNull();
    expect(nextRetryDelay(0, 413, null)).toBeNull();
  });

  it('waits at least as long as Retry-After says', () => {
    expect(nextRetryDelay(0, 429, 10_000)).toBe(10_000);
    expect(nextRetryDelay(2, 429, 500)).toBe(4000);
  });
});
