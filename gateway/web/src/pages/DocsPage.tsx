// The API reference at /docs, read from the gateway's OpenAPI document. Public: signed-in
// users see it inside the usual layout, everyone else inside PublicDocsPage's small frame.

import { useEffect, useState } from 'preact/hooks';
import { getOpenApiDocument } from '../api';
import { Icon } from '../components/Icon';
import { Brand, LanguageSwitch } from '../components/Layout';
import { Spinner } from '../components/Spinner';
import { ThemeToggle } from '../components/ThemeToggle';
import { ApiReferenceView } from '../components/docs/ApiReferenceView';
import { Link } from '../hooks/router';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import { useI18n } from '../i18n/context';
import { describeError } from '../i18n/errors';
import { signInPath } from '../lib/callbackUrl';
import { OpenApiError, parseReference, type ApiReference } from '../lib/openapi';

type DocsState = { kind: 'loading' } | { kind: 'failed'; error: unknown } | { kind: 'ready'; reference: ApiReference };

export function DocsPage() {
  const i18n = useI18n();
  const { t } = i18n;
  const [state, setState] = useState<DocsState>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useDocumentTitle(t('docs.title'));

  useEffect(() => {
    let live = true;
    setState({ kind: 'loading' });
    getOpenApiDocument()
      .then((json) => live && setState({ kind: 'ready', reference: parseReference(json) }))
      .catch((error: unknown) => live && setState({ kind: 'failed', error }));
    return () => {
      live = false;
    };
    // Reload only on an explicit retry.
  }, [attempt]);

  if (state.kind === 'ready') return <ApiReferenceView reference={state.reference} />;

  // Kept as the error, not its text, so that it follows a change of language.
  const reason =
    state.kind !== 'failed' ? '' : state.error instanceof OpenApiError || state.error instanceof SyntaxError ? t('docs.invalid') : describeError(state.error, i18n);
  return (
    <div class="page">
      <header class="page__header">
        <h1 class="page__title">{t('docs.title')}</h1>
      </header>
      {state.kind === 'loading' ? (
        <div class="docs-state" data-testid="docs-loading">
          <Spinner size="lg" label={t('docs.loading')} />
        </div>
      ) : (
        <div class="notice notice--error state-message" role="alert" data-testid="docs-error">
          <div>
            <p>
              <strong>{t('docs.failed')}</strong>
            </p>
            <p>{reason}</p>
          </div>
          <button type="button" class="button button--ghost" onClick={() => setAttempt((value) => value + 1)} data-testid="docs-retry">
            <Icon name="retry" size={18} />
            {t('common.retry')}
          </button>
        </div>
      )}
    </div>
  );
}

/** /docs for visitors who are not signed in: brand, language, theme and a way to sign in. */
export function PublicDocsPage() {
  const { t } = useI18n();
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
          <div class="topbar__tools">
            <LanguageSwitch />
            <ThemeToggle />
            <Link href={signInPath('/docs')} class="button button--primary button--sm" data-testid="docs-signin">
              <Icon name="signIn" size={16} />
              {t('docs.signIn')}
            </Link>
          </div>
        </div>
      </header>
      <main id="main" class="main" tabIndex={-1}>
        <DocsPage />
      </main>
    </div>
  );
}
