// The root: providers, the session gate, the routes, and the upload queue that outlives pages.

import type { ComponentType } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getFile, getLimits, getSession, onUnauthenticated, paths, signOut as apiSignOut } from './api';
import type { Limits, User } from './api/types';
import { Layout } from './components/Layout';
import { Spinner } from './components/Spinner';
import { ThemeContext } from './components/ThemeToggle';
import { ToastProvider, useToasts } from './components/Toasts';
import { absoluteUrl } from './hooks/useClipboard';
import { navigate, useLocation } from './hooks/router';
import { useTheme } from './hooks/useTheme';
import { I18nProvider, useI18n } from './i18n/context';
import { describeError } from './i18n/errors';
import { callbackFromSearch, signInPath } from './lib/callbackUrl';
import { DocsPage, PublicDocsPage } from './pages/DocsPage';
import { FilesPage } from './pages/FilesPage';
import { KeysPage } from './pages/KeysPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ProfilePage } from './pages/ProfilePage';
import { SignInPage } from './pages/SignInPage';
import { AppProvider, type AppState } from './state';
import { UploadManager } from './upload/manager';

export function App() {
  const theme = useTheme();
  return (
    <ThemeContext.Provider value={theme}>
      <I18nProvider>
        <ToastProvider>
          <Root />
        </ToastProvider>
      </I18nProvider>
    </ThemeContext.Provider>
  );
}

type SessionState = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'signedOut' } | { kind: 'signedIn'; user: User };

/** Pages anyone may see. Signed out, they come in a frame of their own instead of the sign-in page. */
const PUBLIC_PAGES = new Map<string, ComponentType>([['/docs', PublicDocsPage]]);

function Root() {
  const i18n = useI18n();
  const { t } = i18n;
  const toasts = useToasts();
  const { path, search } = useLocation();
  const [session, setSession] = useState<SessionState>({ kind: 'loading' });
  const [limits, setLimits] = useState<Limits | null>(null);
  const [filesVersion, setFilesVersion] = useState(0);

  // The upload queue lives as long as the app; callbacks read the latest translations through a ref.
  const latest = useRef({ t, toasts });
  latest.current = { t, toasts };
  const lostSession = useCallback(() => {
    setSession((current) => {
      if (current.kind === 'signedIn') latest.current.toasts.push('info', latest.current.t('auth.expired'));
      return { kind: 'signedOut' };
    });
  }, []);
  const uploads = useMemo(
    () =>
      new UploadManager(absoluteUrl(paths.uploads), {
        confirm: async (fileId) => {
          await getFile(fileId);
        },
        uploaded: (_fileId, name) => {
          setFilesVersion((version) => version + 1);
          latest.current.toasts.push('success', latest.current.t('upload.doneToast', { name }));
        },
        unauthenticated: lostSession,
      }),
    [lostSession],
  );

  const loadSession = useCallback(async () => {
    setSession({ kind: 'loading' });
    try {
      const current = await getSession();
      setSession(current ? { kind: 'signedIn', user: current.user } : { kind: 'signedOut' });
    } catch (error) {
      setSession({ kind: 'failed', message: describeError(error, i18n) });
    }
    // Only on start: later language changes must not reload the session.
  }, []);

  useEffect(() => {
    void loadSession();
  }, [loadSession]);

  useEffect(() => onUnauthenticated(lostSession), [lostSession]);

  const signedIn = session.kind === 'signedIn';
  useEffect(() => {
    if (!signedIn) return;
    getLimits()
      .then(setLimits)
      .catch(() => setLimits(null));
  }, [signedIn]);

  // Leaving with uploads in flight asks first; they resume after a reload when the same files are chosen again.
  useEffect(() => {
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      if (uploads.pendingCount() === 0) return;
      event.preventDefault();
      event.returnValue = '';
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [uploads]);

  // Route guards: signed out → /signin?callbackUrl=… (except on public pages), signed in on
  // /signin → back to the callback.
  useEffect(() => {
    if (session.kind === 'signedOut' && path !== '/signin' && !PUBLIC_PAGES.has(path)) navigate(signInPath(`${path}${search}`), { replace: true });
    if (session.kind === 'signedIn' && path === '/signin') navigate(callbackFromSearch(search), { replace: true });
  }, [session.kind, path, search]);

  const signOut = useCallback(async () => {
    try {
      await apiSignOut();
    } catch (error) {
      toasts.push('error', describeError(error, i18n));
      return;
    }
    setSession({ kind: 'signedOut' });
    navigate('/signin', { replace: true });
  }, [toasts, i18n]);

  const signedOut = useCallback(() => {
    setSession({ kind: 'signedOut' });
    navigate('/signin', { replace: true });
  }, []);

  const setUser = useCallback((user: User) => setSession({ kind: 'signedIn', user }), []);

  if (session.kind === 'loading') {
    return (
      <div class="fullscreen-center" data-testid="app-loading">
        <Spinner size="lg" label={t('common.loading')} />
      </div>
    );
  }
  if (session.kind === 'failed') {
    return (
      <div class="fullscreen-center">
        <div class="card card--narrow state-message" role="alert" data-testid="app-error">
          <h1>{t('app.unavailable')}</h1>
          <p>{session.message}</p>
          <button type="button" class="button button--primary" onClick={() => void loadSession()}>
            {t('common.retry')}
          </button>
        </div>
      </div>
    );
  }
  if (session.kind === 'signedOut') {
    const PublicPage = PUBLIC_PAGES.get(path);
    return PublicPage ? <PublicPage /> : <SignInPage />;
  }

  const state: AppState = { user: session.user, setUser, limits, uploads, filesVersion, signOut, signedOut };
  return (
    <AppProvider value={state}>
      <Layout>
        <Routes path={path} />
      </Layout>
    </AppProvider>
  );
}

function Routes({ path }: { path: string }) {
  switch (path) {
    case '/':
      return <FilesPage />;
    case '/keys':
      return <KeysPage />;
    case '/profile':
      return <ProfilePage />;
    case '/docs':
      return <DocsPage />;
    case '/signin':
      return (
        <div class="fullscreen-center">
          <Spinner size="lg" />
        </div>
      );
    default:
      return <NotFoundPage />;
  }
}
