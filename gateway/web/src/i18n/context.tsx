// The language context: `useI18n()` gives `t`, `tn`, the locale and its switch.

import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { readStorage, writeStorage } from '../lib/storage';
import {
  LANGUAGE_STORAGE_KEY,
  hasMessage,
  initialLocale,
  translate,
  translatePlural,
  type Locale,
  type MessageKey,
  type Params,
  type PluralBase,
} from './core';

export interface I18n {
  locale: Locale;
  setLocale: (locale: Locale) => void;
  t: (key: MessageKey, params?: Params) => string;
  tn: (base: PluralBase, count: number, params?: Params) => string;
  /** A message for a dynamic key (an error code), or null when the catalog has none. */
  tMaybe: (key: string, params?: Params) => string | null;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ComponentChildren }) {
  const [locale, setLocaleState] = useState<Locale>(() =>
    initialLocale(readStorage(LANGUAGE_STORAGE_KEY), typeof navigator === 'undefined' ? [] : navigator.languages ?? [navigator.language]),
  );

  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  const setLocale = useCallback((next: Locale) => {
    writeStorage(LANGUAGE_STORAGE_KEY, next);
    setLocaleState(next);
  }, []);

  const value = useMemo<I18n>(
    () => ({
      locale,
      setLocale,
      t: (key, params) => translate(locale, key, params),
      tn: (base, count, params) => translatePlural(locale, base, count, params),
      tMaybe: (key, params) => (hasMessage(key) ? translate(locale, key, params) : null),
    }),
    [locale, setLocale],
  );

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error('useI18n outside I18nProvider');
  return context;
}
