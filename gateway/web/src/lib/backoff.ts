// When and whether to retry a failed upload: exponential backoff and Retry-After.

export const MAX_AUTOMATIC_RETRIES = 3;

export interface BackoffOptions {
  baseMs?: number;
  factor?: number;
  maxMs?: number;
  /** Fraction of the delay added or removed at random (0 = none). */
  jitter?: number;
  random?: () => number;
}

/** Delay before automatic retry number `attempt` (1-based): 1 s, 2 s, 4 s, ... capped. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs = 1000, factor = 2, maxMs = 30_000, jitter = 0, random = Math.random } = options;
  const exponent = Math.max(0, attempt - 1);
  const delay = Math.min(maxMs, baseMs * factor ** exponent);
  if (jitter <= 0) return delay;
  const spread = delay * jitter;
  return Math.round(delay - spread + random() * 2 * spread);
}

export function backoffSchedule(attempts = MAX_AUTOMATIC_RETRIES, options: BackoffOptions = {}): number[] {
  return Array.from({ length: attempts }, (_, index) => backoffDelay(index + 1, options));
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date; null when absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (value == null) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/**
 * Whether a failure is worth retrying on its own: network errors (status 0), timeouts,
 * conflicts and locks of the tus protocol, rate limits and server errors. Other client
 * errors (too large, type not allowed, unauthenticated, ...) will not change by waiting.
 */
export function isRetryableStatus(status: number): boolean {
  if (status === 0) return true;
  if ([408, 409, 423, 425, 429].includes(status)) return true;
  return status >= 500 && status !== 501;
}

/**
 * The delay before the next automatic retry, or null to give up. `retriesSoFar` counts the
 * automatic retries already made for this failure streak.
 */
export function nextRetryDelay(
  retriesSoFar: number,
  status: number,
  retryAfterMs: number | null,
  options: BackoffOptions = {},
  maxRetries = MAX_AUTOMATIC_RETRIES,
): number | null {
  if (!isRetryableStatus(status) || retriesSoFar >= maxRetries) return null;
  const backoff = backoffDelay(retriesSoFar + 1, options);
  return retryAfterMs != null ? Math.max(backoff, retryAfterMs) : backoff;
}
