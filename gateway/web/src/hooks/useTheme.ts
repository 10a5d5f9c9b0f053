// Light or dark: the system's choice until the user picks one, which then persists.
// public/theme-init.js applies the same choice before the first paint.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { readStorage, writeStorage } from '../lib/storage';

export const THEME_STORAGE_KEY = 'flowsvault.theme';
export type Theme = 'light' | 'dark';
export type ThemePreference = Theme | 'system';

function systemTheme(): Theme {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function storedPreference(): ThemePreference {
  const stored = readStorage(THEME_STORAGE_KEY);
  return stored === 'light' || stored === 'dark' ? stored : 'system';
}

export function useTheme() {
  const [preference, setPreferenceState] = useState<ThemePreference>(storedPreference);
  const [system, setSystem] = useState<Theme>(systemTheme);

  useEffect(() => {
    const query = window.matchMedia?.('(prefers-color-scheme: dark)');
    if (!query) return;
    const update = () => setSystem(query.matches ? 'dark' : 'light');
    query.addEventListener('change', update);
    return () => query.removeEventListener('change', update);
  }, []);

  const theme: Theme = preference === 'system' ? system : preference;

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const setPreference = useCallback((next: ThemePreference) => {
    writeStorage(THEME_STORAGE_KEY, next === 'system' ? null : next);
    setPreferenceState(next);
  }, []);

  const toggle = useCallback(() => setPreference(theme === 'dark' ? 'light' : 'dark'), [theme, setPreference]);

  return { theme, preference, setPreference, toggle };
}
