// Human-readable sizes, speeds, durations and dates, localised through Intl.

import { translate, type Locale } from '../i18n/core';

// Binary steps of 1024, so named with the IEC units (KiB, MiB, …): the server's limits are
// binary too, and 104857600 bytes reads as `100 MiB`. Intl knows only the decimal units (kB,
// MB), so the unit symbols come from the catalogs.
const BYTE_UNITS = ['byte', 'kibibyte', 'mebibyte', 'gibibyte', 'tebibyte', 'pebibyte'] as const;
type ByteUnit = (typeof BYTE_UNITS)[number];

/** Scales a byte count to the largest binary unit that keeps the value at or above 1. */
export function scaleBytes(bytes: number): { value: number; unit: ByteUnit; digits: number } {
  let value = Math.max(0, bytes);
  let index = 0;
  while (index < BYTE_UNITS.length - 1) {
    const digits = index === 0 ? 0 : value < 10 ? 1 : 0;
    const rounded = roundTo(value, digits);
    if (rounded < 1024) break;
    value /= 1024;
    index += 1;
  }
  const digits = index === 0 ? 0 : value < 10 ? 1 : 0;
  return { value: roundTo(value, digits), unit: BYTE_UNITS[index], digits };
}

function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A scaled size in its IEC unit: `1.5 MiB`; counts below 1 KiB are the caller's. */
function formatScaled(value: number, unit: Exclude<ByteUnit, 'byte'>, digits: number, locale: Locale): string {
  return translate(locale, `size.${unit}`, { value: new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value) });
}

/** `1.5 MiB`, `100 MiB`, `512 bytes` (German `1,5 MiB`, `512 Byte`). */
export function formatBytes(bytes: number, locale: Locale): string {
  if (!Number.isFinite(bytes)) return '';
  const { value, unit, digits } = scaleBytes(bytes);
  if (unit === 'byte') return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(value);
  return formatScaled(value, unit, digits, locale);
}

/** `2.5 MiB/s`. */
export function formatSpeed(bytesPerSecond: number, locale: Locale): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '';
  const { value, unit, digits } = scaleBytes(bytesPerSecond);
  if (unit === 'byte') return new Intl.NumberFormat(locale, { style: 'unit', unit: 'byte-per-second', unitDisplay: 'short' }).format(value);
  return translate(locale, 'size.perSecond', { size: formatScaled(value, unit, digits, locale) });
}

/** Splits whole seconds into the one or two largest units worth showing: `1 hr 5 min`, `40 sec`. */
export function durationParts(totalSeconds: number): Array<{ value: number; unit: 'hour' | 'minute' | 'second' }> {
  const seconds = Math.max(0, Math.ceil(totalSeconds));
  if (seconds < 60) return [{ value: seconds, unit: 'second' }];
  if (seconds < 3600) {
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    return minutes < 10 && rest > 0
      ? [{ value: minutes, unit: 'minute' }, { value: rest, unit: 'second' }]
      : [{ value: Math.min(59, Math.round(seconds / 60)), unit: 'minute' }];
  }
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return minutes > 0 ? [{ value: hours, unit: 'hour' }, { value: minutes, unit: 'minute' }] : [{ value: hours, unit: 'hour' }];
}

export function formatDuration(totalSeconds: number, locale: string): string {
  return durationParts(totalSeconds)
    .map(({ value, unit }) => new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'short' }).format(value))
    .join(' ');
}

export function formatDateTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

export function formatNumber(value: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(value);
}
