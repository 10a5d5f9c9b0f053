import { describe, expect, it } from 'vitest';
import { expiryState, formatRelative, relativeParts } from './relativeTime';

const NOW = Date.parse('2026-01-10T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('relativeParts', () => {
  it('picks the largest unit that reads naturally', () => {
    expect(relativeParts(NOW + 30 * SECOND, NOW)).toEqual({ value: 30, unit: 'second' });
    expect(relativeParts(NOW + 5 * MINUTE, NOW)).toEqual({ value: 5, unit: 'minute' });
    expect(relativeParts(NOW + 3 * HOUR, NOW)).toEqual({ value: 3, unit: 'hour' });
    expect(relativeParts(NOW + 3 * DAY, NOW)).toEqual({ value: 3, unit: 'day' });
    expect(relativeParts(NOW + 60 * DAY, NOW)).toEqual({ value: 2, unit: 'month' });
    expect(relativeParts(NOW + 800 * DAY, NOW)).toEqual({ value: 2, unit: 'year' });
  });

  it('is negative for the past', () => {
    expect(relativeParts(NOW - 2 * HOUR, NOW)).toEqual({ value: -2, unit: 'hour' });
  });

  it('rounds up to the next unit instead of showing 60 minutes or 24 hours', () => {
    expect(relativeParts(NOW + 59.6 * MINUTE, NOW)).toEqual({ value: 1, unit: 'hour' });
    expect(relativeParts(NOW + 23.7 * HOUR, NOW)).toEqual({ value: 1, unit: 'day' });
  });

  it('shows a 7-day file uploaded a moment ago as 7 days', () => {
    expect(relativeParts(NOW + 7 * DAY - 2 * SECOND, NOW)).toEqual({ value: 7, unit: 'day' });
  });
});

describe('formatRelative', () => {
  it('speaks English and German through Intl.RelativeTimeFormat', () => {
    expect(formatRelative(new Date(NOW + 3 * DAY), NOW, 'en')).toBe('in 3 days');
    expect(formatRelative(new Date(NOW + 3 * DAY), NOW, 'de')).toBe('in 3 Tagen');
    expect(formatRelative(new Date(NOW - 2 * HOUR), NOW, 'en')).toBe('2 hours ago');
    expect(formatRelative(new Date(NOW + DAY), NOW, 'en')).toBe('tomorrow');
  });
});

describe('expiryState', () => {
  it('never expires without a date', () => {
    expect(expiryState(null, NOW, 'en')).toEqual({ kind: 'never' });
  });

  it('says when a future expiry comes, and whether it is soon', () => {
    expect(expiryState(new Date(NOW + 3 * DAY).toISOString(), NOW, 'en')).toEqual({ kind: 'expires', when: 'in 3 days', soon: false });
    expect(expiryState(new Date(NOW + 2 * HOUR).toISOString(), NOW, 'en')).toEqual({ kind: 'expires', when: 'in 2 hours', soon: true });
  });

  it('reports a past expiry, or one the server already marked', () => {
    expect(expiryState(new Date(NOW - 2 * DAY).toISOString(), NOW, 'en')).toEqual({ kind: 'expired', when: '2 days ago' });
    expect(expiryState(new Date(NOW + DAY).toISOString(), NOW, 'en', true).kind).toBe('expired');
  });
});
