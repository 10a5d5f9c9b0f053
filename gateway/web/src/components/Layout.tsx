// The frame around every signed-in page: header with navigation, theme and language, user menu;
// a footer with the link to the API reference.

import type { ComponentChildren } from 'preact';
import { useI18n } from '../i18n/context';
import { LOCALES, type Locale } from '../i18n/core';
import { Link, useLocation } from '../hooks/router';
import { initials } from '../lib/initials';
import { useApp } from '../state';
import { Avatar } from './Avatar';
import { Icon, type IconName } from './Icon';
import { ThemeToggle } from './ThemeToggle';
import type { MessageKey } from '../i18n/core';

const NAV: Array<{ href: string; label: MessageKey; icon: IconName; testId: string }> = [
  { href: '/', label: 'nav.files', icon: 'files', testId: 'nav-files' },
  { href: '/keys', label: 'nav.keys', icon: 'key', testId: 'nav-keys' },
  { href: '/profile', label: 'nav.profile', icon: 'user', testId: 'nav-profile' },
];

/** The language choice; compact in toolbars, full size (like the other selects) in a form. */
export function LanguageSwitch({ testId = 'language-switch', compact = true }: { testId?: string; compact?: boolean }) {
  const { t, locale, setLocale } = useI18n();
  return (
    <label class="language-switch">
      <span class="visually-hidden">{t('language.label')}</span>
      <select
        class={compact ? 'select select--compact' : 'select'}
        value={locale}
        onChange={(event) => setLocale(event.currentTarget.value as Locale)}
        data-testid={testId}
      >
        {LOCALES.map((code) => (
          <option key={code} value={code}>
            {t(`language.${code}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Brand() {
  const { t } = useI18n();
  return (
    <span class="brand">
      <span class="brand__mark" aria-hidden="true">
        <Icon name="upload" size={18} />
      </span>
      <span class="brand__name">{t('app.name')}</span>
    </span>
  );
}

export function Layout({ children }: { children: ComponentChildren }) {
  const { t } = useI18n();
  const { user, signOut } = useApp();
  const { path } = useLocation();
  const name = user.name || user.email;
  // Without a picture the avatar shows initials: they start the link's name too, so that
  // what is seen is what can be said to a speech input (WCAG 2.5.3, label in name).
  const accountLabel = user.image ? t('nav.account', { name }) : t('nav.accountInitials', { initials: initials(user), name });
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <header class="topbar">
        <div class="topbar__inner">
          <Link href="/" class="brand-link" aria-label={t('nav.home')}>
            <Brand />
          </Link>
          <nav class="nav" aria-label={t('nav.label')}>
            {NAV.map((item) => (
              <Link
                key={item.href}
                href={item.href}
                class="nav__link"
                aria-current={path === item.href ? 'page' : undefined}
                data-testid={item.testId}
              >
                <Icon name={item.icon} size={18} />
                <span>{t(item.label)}</span>
              </Link>
            ))}
          </nav>
          <div class="topbar__tools">
            <LanguageSwitch />
            <ThemeToggle />
            <Link href="/profile" class="topbar__user" aria-label={accountLabel} data-testid="user-menu">
              <Avatar user={user} size={32} />
            </Link>
            <button type="button" class="icon-button" onClick={() => void signOut()} aria-label={t('auth.signOut')} title={t('auth.signOut')} data-testid="sign-out">
              <Icon name="signOut" />
            </button>
          </div>
        </div>
      </header>
      <main id="main" class="main" tabIndex={-1}>
        {children}
      </main>
      <footer class="footer">
        <div class="footer__inner">
          <Link href="/docs" class="footer__link" aria-current={path === '/docs' ? 'page' : undefined} data-testid="footer-docs">
            <Icon name="code" size={16} />
            {t('nav.docs')}
          </Link>
        </div>
      </footer>
    </div>
  );
}
