// Relative times ("in 3 days", "2 hours ago") for expiry dates, through Intl.RelativeTimeFormat.

export type RelativeUnit = 'second' | 'minute' | 'hour' | 'day' | 'month' | 'year';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Each step: the unit, its length, and the rounded count from which the next unit takes over.
const STEPS: Array<[RelativeUnit, number, number]> = [
  ['second', SECOND, 60],
  ['minute', MINUTE, 60],
  ['hour', HOUR, 24],
  ['day', DAY, 30],
  ['month', 30 * DAY, 12],
  ['year', 365 * DAY, Number.POSITIVE_INFINITY],
];

/** The signed value and unit that describe `target` as seen from `now` (both in ms). */
export function relativeParts(target: number, now: number): { value: number; unit: RelativeUnit } {
  const difference = target - now;
  const sign = difference < 0 ? -1 : 1;
  const distance = Math.abs(difference);
  for (const [unit, length, limit] of STEPS) {
    const count = Math.round(distance / length);
    if (count < limit) return { value: sign * count, unit };
  }
  return { value: sign * Math.round(distance / (365 * DAY)), unit: 'year' };
}

export function formatRelative(target: Date | string, now: number, locale: string): string {
  const time = typeof target === 'string' ? Date.parse(target) : target.getTime();
  const { value, unit } = relativeParts(time, now);
  return new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(value, unit);
}

export type ExpiryState =
  | { kind: 'never' }
  | { kind: 'expired'; when: string }
  | { kind: 'expires'; when: string; soon: boolean };

/** How an expiry should read: never, already past, or coming (soon = within a day). */
export function expiryState(expiresAt: string | null | undefined, now: number, locale: string, expired = false): ExpiryState {
  if (!expiresAt) return expired ? { kind: 'expired', when: '' } : { kind: 'never' };
  const time = Date.parse(expiresAt);
  if (Number.isNaN(time)) return { kind: 'never' };
  const when = formatRelative(new Date(time), now, locale);
  if (expired || time <= now) return { kind: 'expired', when };
  return { kind: 'expires', when, soon: time - now < DAY };
}
