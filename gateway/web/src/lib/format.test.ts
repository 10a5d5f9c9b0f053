import { describe, expect, it } from 'vitest';
import { durationParts, formatBytes, formatDuration, formatSpeed, scaleBytes } from './format';

describe('formatBytes', () => {
  it('keeps small counts in bytes, spelled out', () => {
    expect(formatBytes(0, 'en')).toBe('0 bytes');
    expect(formatBytes(1, 'en')).toBe('1 byte');
    expect(formatBytes(512, 'en')).toBe('512 bytes');
    expect(formatBytes(512, 'de')).toBe('512 Byte');
  });

  it('uses binary steps with one decimal below ten', () => {
    expect(formatBytes(1536, 'en')).toBe('1.5 kB');
    expect(formatBytes(1536, 'de')).toBe('1,5 kB');
    expect(formatBytes(15 * 1024, 'en')).toBe('15 kB');
    expect(formatBytes(104_857_600, 'en')).toBe('100 MB');
    expect(formatBytes(5 * 1024 ** 3, 'en')).toBe('5 GB');
  });

  it('moves to the next unit instead of showing 1024 of the smaller one', () => {
    expect(scaleBytes(1023)).toEqual({ value: 1023, unit: 'byte', digits: 0 });
    expect(scaleBytes(1024 * 1024 - 1).unit).toBe('megabyte');
    expect(formatBytes(1024 * 1024 - 1, 'en')).toBe('1 MB');
  });

  it('never shows negative or broken values', () => {
    expect(formatBytes(-5, 'en')).toBe('0 bytes');
    expect(formatBytes(Number.NaN, 'en')).toBe('');
  });
});

describe('formatSpeed', () => {
  it('shows a rate per second', () => {
    expect(formatSpeed(2.5 * 1024 * 1024, 'en')).toBe('2.5 MB/s');
    expect(formatSpeed(300 * 1024, 'de')).toBe('300 kB/s');
  });

  it('is empty while the speed is unknown', () => {
    expect(formatSpeed(0, 'en')).toBe('');
  });
});

describe('durationParts', () => {
  it('counts seconds under a minute', () => {
    expect(durationParts(0)).toEqual([{ value: 0, unit: 'second' }]);
    expect(durationParts(42.2)).toEqual([{ value: 43, unit: 'second' }]);
  });

  it('shows minutes and seconds under ten minutes, whole minutes above', () => {
    expect(durationParts(125)).toEqual([
      { value: 2, unit: 'minute' },
      { value: 5, unit: 'second' },
    ]);
    expect(durationParts(120)).toEqual([{ value: 2, unit: 'minute' }]);
    expect(durationParts(1530)).toEqual([{ value: 26, unit: 'minute' }]);
    expect(durationParts(3599)).toEqual([{ value: 59, unit: 'minute' }]);
  });

  it('shows hours and minutes from an hour on', () => {
    expect(durationParts(3600)).toEqual([{ value: 1, unit: 'hour' }]);
    expect(durationParts(3900)).toEqual([
      { value: 1, unit: 'hour' },
      { value: 5, unit: 'minute' },
    ]);
  });

  it('formats through Intl in the given language', () => {
    expect(formatDuration(3900, 'en')).toBe('1 hr 5 min');
    expect(formatDuration(30, 'de')).toBe('30 Sek.');
  });
});
