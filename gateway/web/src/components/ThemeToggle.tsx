import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { useI18n } from '../i18n/context';
import type { useTheme } from '../hooks/useTheme';
import { Icon } from './Icon';

export const ThemeContext = createContext<ReturnType<typeof useTheme> | null>(null);

export function useThemeContext() {
  const context = useContext(ThemeContext);
  if (!context) throw new Error('useThemeContext outside ThemeContext');
  return context;
}

export function ThemeToggle() {
  const { t } = useI18n();
  const { theme, toggle } = useThemeContext();
  const label = theme === 'dark' ? t('theme.toLight') : t('theme.toDark');
  return (
    <button
      type="button"
      class="icon-button"
      onClick={toggle}
      aria-label={label}
      title={label}
      data-testid="theme-toggle"
      data-theme-current={theme}
    >
      <Icon name={theme === 'dark' ? 'sun' : 'moon'} />
    </button>
  );
}
