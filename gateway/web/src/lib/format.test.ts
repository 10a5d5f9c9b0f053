import { describe, expect, it } from 'vitest';
import { durationParts, formatBytes, formatDuration, formatSpeed, scaleBytes } from './format';

describe('formatBytes', () => {
  it('keeps small counts in bytes, spelled out', () => {
    expect(formatBytes(0, 'en')).toBe('0 bytes');
    expect(formatBytes(1, 'en')).toBe('1 byte');
    expect(formatBytes(512, 'en')).toBe('512 bytes');
    expect(formatBytes(512, 'de')).toBe('512 Byte');
  });

  it('uses binary steps with binary unit names and one decimal below ten', () => {
    expect(formatBytes(1536, 'en')).toBe('1.5 KiB');
    expect(formatBytes(1536, 'de')).toBe('1,5 KiB');
    expect(formatBytes(15 * 1024, 'en')).toBe('15 KiB');
    expect(formatBytes(2 * 1024 * 1024, 'de')).toBe('2 MiB');
    expect(formatBytes(104_857_600, 'en')).toBe('100 MiB');
    expect(formatBytes(104_857_600, 'de')).toBe('100 MiB');
    expect(formatBytes(5 * 1024 ** 3, 'en')).toBe('5 GiB');
    expect(formatBytes(1.25 * 1024 ** 4, 'de')).toBe('1,3 TiB');
  });

  it('moves to the next unit instead of showing 1024 of the smaller one', () => {
    expect(scaleBytes(1023)).toEqual({ value: 1023, unit: 'byte', digits: 0 });
    expect(scaleBytes(1024)).toEqual({ value: 1, unit: 'kibibyte', digits: 1 });
    expect(scaleBytes(1024 * 1024 - 1).unit).toBe('mebibyte');
    expect(formatBytes(1024 * 1024 - 1, 'en')).toBe('1 MiB');
  });

  it('never labels a binary step with a decimal unit', () => {
    for (const bytes of [1024, 1536, 1_000_000, 104_857_600, 3 * 1024 ** 3]) {
      for (const locale of ['en', 'de'] as const) {
        expect(formatBytes(bytes, locale)).toMatch(/ [KMGTP]iB$/);
      }
    }
  });

  it('never shows negative or broken values', () => {
    expect(formatBytes(-5, 'en')).toBe('0 bytes');
    expect(formatBytes(Number.NaN, 'en')).toBe('');
  });
});

describe('formatSpeed', () => {
  it('shows a rate per second', () => {
    expect(formatSpeed(2.5 * 1024 * 1024, 'en')).toBe('2.5 MiB/s');
    expect(formatSpeed(300 * 1024, 'de')).toBe('300 KiB/s');
    expect(formatSpeed(512, 'en')).toBe('512 byte/s');
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
