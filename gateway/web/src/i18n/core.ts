// Message catalogs, interpolation and plurals; no UI here so that tests can load it.

import de from './de';
import en, { type MessageKey } from './en';

export type { MessageKey };
export type Catalog = Record<MessageKey, string>;
export type Params = Record<string, string | number>;

export const LOCALES = ['en', 'de'] as const;
export type Locale = (typeof LOCALES)[number];

export const catalogs: Record<Locale, Catalog> = { en, de };

export const LANGUAGE_STORAGE_KEY = 'flowsvault.language';

/** Keys that end in `_other` name a plural family: `files.count` → `files.count_one`, `files.count_other`. */
export type PluralBase = { [K in MessageKey]: K extends `${infer Base}_other` ? Base : never }[MessageKey];

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** A stored choice wins; otherwise the browser's first language we speak; otherwise English. */
export function initialLocale(stored: string | null, preferred: readonly string[]): Locale {
  if (isLocale(stored)) return stored;
  for (const language of preferred) {
    const base = language.toLowerCase().split('-')[0];
    if (isLocale(base)) return base;
  }
  return 'en';
}

export function interpolate(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match));
}

export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
}

export function hasMessage(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(en, key);
}

export function translate(locale: Locale, key: MessageKey, params?: Params): string {
  const template = catalogs[locale][key] ?? en[key] ?? key;
  return interpolate(template, params);
}

export function pluralKey(locale: Locale, base: PluralBase, count: number): MessageKey {
  const category = new Intl.PluralRules(locale).select(count);
  const candidate = `${base}_${category}`;
  return hasMessage(candidate) ? candidate : (`${base}_other` as MessageKey);
}

export function translatePlural(locale: Locale, base: PluralBase, count: number, params?: Params): string {
  return translate(locale, pluralKey(locale, base, count), { count: new Intl.NumberFormat(locale).format(count), ...params });
}
