import { describe, expect, it } from 'vitest';
import de from './de';
import en from './en';
import { catalogs, initialLocale, interpolate, placeholders, pluralKey, translate, translatePlural } from './core';

const enKeys = Object.keys(en).sort();
const deKeys = Object.keys(de).sort();

describe('catalog completeness', () => {
  it('has every English key in German', () => {
    expect(enKeys.filter((key) => !(key in de))).toEqual([]);
  });

  it('has every German key in English', () => {
    expect(deKeys.filter((key) => !(key in en))).toEqual([]);
  });

  it('has no empty messages', () => {
    for (const [locale, catalog] of Object.entries(catalogs)) {
      for (const [key, message] of Object.entries(catalog)) {
        expect(message.trim(), `${locale}:${key}`).not.toBe('');
      }
    }
  });

  it('uses the same placeholders in both languages', () => {
    const mismatched = enKeys.filter((key) => placeholders(en[key as keyof typeof en]).join() !== placeholders(de[key as keyof typeof de]).join());
    expect(mismatched).toEqual([]);
  });

  it('gives every plural family a one and an other form', () => {
    const bases = new Set(enKeys.filter((key) => /_(one|other)$/.test(key)).map((key) => key.replace(/_(one|other)$/, '')));
    for (const base of bases) {
      expect(enKeys).toContain(`${base}_one`);
      expect(enKeys).toContain(`${base}_other`);
    }
  });

  it('translates every error code the gateway defines that a user can meet', () => {
    for (const code of ['file_too_large', 'file_type_not_allowed', 'content_mismatch', 'rate_limited', 'file_expired', 'not_found', 'unauthenticated']) {
      expect(enKeys).toContain(`errors.${code}`);
    }
  });
});

describe('translation', () => {
  it('fills placeholders and leaves unknown ones visible', () => {
    expect(interpolate('Hello {name}', { name: 'Ada' })).toBe('Hello Ada');
    expect(interpolate('{a} and {b}', { a: 1 })).toBe('1 and {b}');
  });

  it('looks up the chosen language', () => {
    expect(translate('en', 'nav.files')).toBe('Files');
    expect(translate('de', 'nav.files')).toBe('Dateien');
    expect(translate('de', 'expiry.in', { when: 'in 3 Tagen' })).toBe('Läuft in 3 Tagen ab');
  });

  it('chooses plural forms by Intl.PluralRules', () => {
    expect(pluralKey('en', 'files.selected', 1)).toBe('files.selected_one');
    expect(pluralKey('en', 'files.selected', 2)).toBe('files.selected_other');
    expect(translatePlural('en', 'files.deleted.many', 1)).toBe('1 file was deleted');
    expect(translatePlural('de', 'files.deleted.many', 1200)).toBe('1.200 Dateien wurden gelöscht');
  });
});

describe('initial language', () => {
  it('prefers the stored choice', () => {
    expect(initialLocale('de', ['en-US'])).toBe('de');
  });

  it('falls back to the browser languages, then English', () => {
    expect(initialLocale(null, ['fr-FR', 'de-AT'])).toBe('de');
    expect(initialLocale('klingon', ['fr'])).toBe('en');
    expect(initialLocale(null, [])).toBe('en');
  });
});
