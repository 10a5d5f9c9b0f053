// Sign-in: one button per configured provider; the development sign-in is a same-origin form POST.

import { useEffect, useState } from 'preact/hooks';
import { getProviders, paths } from '../api';
import type { Provider } from '../api/types';
import { Icon } from '../components/Icon';
import { Brand, LanguageSwitch } from '../components/Layout';
import { Spinner } from '../components/Spinner';
import { ThemeToggle } from '../components/ThemeToggle';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import { Link, useLocation } from '../hooks/router';
import { useI18n } from '../i18n/context';
import { describeError } from '../i18n/errors';
import { callbackFromSearch, providerSignInHref } from '../lib/callbackUrl';

type ProvidersState = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; providers: Provider[] };

export function SignInPage() {
  const i18n = useI18n();
  const { t, tMaybe } = i18n;
  const { search } = useLocation();
  const callbackUrl = callbackFromSearch(search);
  // The gateway's callback sends failures back as /signin?error=<code>.
  const errorCode = new URLSearchParams(search).get('error');
  const failure = errorCode === null ? null : (tMaybe(`signin.error.${errorCode}`) ?? t('signin.failed'));
  const [state, setState] = useState<ProvidersState>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useDocumentTitle(t('signin.pageTitle'));

  useEffect(() => {
    let live = true;
    setState({ kind: 'loading' });
    getProviders()
      .then((providers) => live && setState({ kind: 'ready', providers }))
      .catch((error: unknown) => live && setState({ kind: 'failed', message: describeError(error, i18n) }));
    return () => {
      live = false;
    };
    // Reload only on an explicit retry.
  }, [attempt]);

  return (
    <div class="signin">
      <div class="signin__tools">
        <LanguageSwitch />
        <ThemeToggle />
      </div>
      <main class="signin__card card" id="main">
        <Brand />
        <h1 class="signin__title">{t('signin.title')}</h1>
        <p class="muted">{t('signin.subtitle')}</p>
        {failure && (
          <p class="notice notice--error" role="alert" data-testid="signin-error">
            {failure}
          </p>
        )}
        {state.kind === 'loading' && (
          <div class="signin__loading">
            <Spinner label={t('signin.loadingProviders')} />
          </div>
        )}
        {state.kind === 'failed' && (
          <div class="notice notice--error" role="alert">
            <p>{state.message}</p>
            <button type="button" class="button button--ghost" onClick={() => setAttempt((value) => value + 1)}>
              {t('common.retry')}
            </button>
          </div>
        )}
        {state.kind === 'ready' && state.providers.length === 0 && <p class="notice">{t('signin.noProviders')}</p>}
        {state.kind === 'ready' && state.providers.length > 0 && (
          <ul class="signin__providers" data-testid="signin-providers">
            {state.providers.map((provider) => (
              <li key={provider.id}>
                {provider.kind === 'dev' ? (
                  <form method="post" action={paths.devSignIn} class="signin__dev" data-testid="signin-dev-form">
                    <input type="hidden" name="callbackUrl" value={callbackUrl} />
                    <button type="submit" class="button button--ghost button--block" data-testid="signin-dev">
                      <Icon name="signIn" />
                      <span class="signin__label">{t('signin.dev')}</span>
                    </button>
                    <p class="hint">{t('signin.devHint')}</p>
                  </form>
                ) : (
                  <a
                    class="button button--primary button--block"
                    href={providerSignInHref(provider.id, callbackUrl)}
                    data-testid={`signin-provider-${provider.id}`}
                  >
                    <Icon name="signIn" />
                    <span class="signin__label">{t('signin.with', { name: provider.name })}</span>
                  </a>
                )}
              </li>
            ))}
          </ul>
        )}
        <p class="hint signin__footnote">{t('signin.footnote')}</p>
        <p class="hint">
          <Link href="/docs" data-testid="signin-docs">
            {t('signin.docs')}
          </Link>
        </p>
      </main>
    </div>
  );
}
