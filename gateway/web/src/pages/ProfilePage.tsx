// Profile: picture, preferences, sign-out, and account deletion behind typing one's email.

import type { TargetedEvent, TargetedSubmitEvent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { deleteAccount, getProfile, uploadProfilePicture } from '../api';
import { Avatar } from '../components/Avatar';
import { Icon } from '../components/Icon';
import { LanguageSwitch } from '../components/Layout';
import { Modal } from '../components/Modal';
import { Spinner } from '../components/Spinner';
import { useThemeContext } from '../components/ThemeToggle';
import { useToasts } from '../components/Toasts';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import type { ThemePreference } from '../hooks/useTheme';
import { useI18n } from '../i18n/context';
import { describeError } from '../i18n/errors';
import { confirmationMatches } from '../lib/confirmation';
import { formatBytes } from '../lib/format';
import { useApp } from '../state';

export const PICTURE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
export const PICTURE_MAX_BYTES = 2 * 1024 * 1024;

export function ProfilePage() {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const toasts = useToasts();
  const { user, setUser, signOut } = useApp();
  const theme = useThemeContext();
  const [uploading, setUploading] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  useDocumentTitle(t('profile.title'));

  useEffect(() => {
    getProfile()
      .then(setUser)
      .catch(() => undefined);
  }, [setUser]);

  const choosePicture = async (event: TargetedEvent<HTMLInputElement>) => {
    const file = event.currentTarget.files?.[0];
    event.currentTarget.value = '';
    if (!file) return;
    if (!PICTURE_TYPES.includes(file.type)) {
      toasts.push('error', t('profile.picture.badType'));
      return;
    }
    if (file.size > PICTURE_MAX_BYTES) {
      toasts.push('error', t('profile.picture.tooLarge', { max: formatBytes(PICTURE_MAX_BYTES, locale) }));
      return;
    }
    setUploading(true);
    try {
      setUser(await uploadProfilePicture(file));
      toasts.push('success', t('profile.picture.updated'));
    } catch (error) {
      toasts.push('error', describeError(error, i18n));
    } finally {
      setUploading(false);
    }
  };

  return (
    <div class="page page--narrow">
      <header class="page__header">
        <h1 class="page__title">{t('profile.title')}</h1>
      </header>

      <section class="card profile" aria-labelledby="profile-account-title">
        <h2 id="profile-account-title" class="visually-hidden">
          {t('profile.account')}
        </h2>
        <div class="profile__identity">
          <span class="profile__avatar">
            <Avatar user={user} size={96} />
            {uploading && (
              <span class="profile__avatar-busy">
                <Spinner label={t('profile.picture.uploading')} />
              </span>
            )}
          </span>
          <div>
            <p class="profile__name" data-testid="profile-name">
              {user.name || user.email}
            </p>
            <p class="muted" data-testid="profile-email">
              {user.email}
            </p>
            <label class="button button--ghost button--sm profile__picture-button">
              <Icon name="image" size={16} />
              {t('profile.picture.change')}
              <input
                ref={inputRef}
                type="file"
                accept={PICTURE_TYPES.join(',')}
                class="visually-hidden"
                onChange={choosePicture}
                disabled={uploading}
                data-testid="profile-picture-input"
              />
            </label>
            <p class="hint">{t('profile.picture.hint', { max: formatBytes(PICTURE_MAX_BYTES, locale) })}</p>
          </div>
        </div>
      </section>

      <section class="card" aria-labelledby="profile-preferences-title">
        <h2 id="profile-preferences-title" class="section-title">
          {t('profile.preferences')}
        </h2>
        <div class="form-grid">
          <label class="field">
            <span class="field__label">{t('profile.theme')}</span>
            <select
              class="select"
              value={theme.preference}
              onChange={(event) => theme.setPreference(event.currentTarget.value as ThemePreference)}
              data-testid="theme-select"
            >
              <option value="system">{t('theme.system')}</option>
              <option value="light">{t('theme.light')}</option>
              <option value="dark">{t('theme.dark')}</option>
            </select>
          </label>
          <div class="field">
            <span class="field__label" aria-hidden="true">
              {t('language.label')}
            </span>
            <LanguageSwitch testId="profile-language" compact={false} />
          </div>
        </div>
      </section>

      <section class="card" aria-labelledby="profile-session-title">
        <h2 id="profile-session-title" class="section-title">
          {t('profile.session')}
        </h2>
        <p class="muted">{t('profile.sessionText')}</p>
        <button type="button" class="button button--ghost" onClick={() => void signOut()} data-testid="profile-sign-out">
          <Icon name="signOut" size={18} />
          {t('auth.signOut')}
        </button>
      </section>

      <section class="card card--danger" aria-labelledby="profile-danger-title">
        <h2 id="profile-danger-title" class="section-title">
          {t('profile.danger.title')}
        </h2>
        <p class="muted">{t('profile.danger.text')}</p>
        <button type="button" class="button button--danger" onClick={() => setDeleting(true)} data-testid="profile-delete">
          <Icon name="trash" size={18} />
          {t('profile.danger.button')}
        </button>
      </section>

      {deleting && <DeleteAccountDialog email={user.email} onClose={() => setDeleting(false)} />}
    </div>
  );
}

function DeleteAccountDialog({ email, onClose }: { email: string; onClose: () => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const toasts = useToasts();
  const { signedOut } = useApp();
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const matches = confirmationMatches(typed, email);

  const submit = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!matches) return;
    setBusy(true);
    setError(null);
    try {
      await deleteAccount();
      toasts.push('success', t('profile.delete.done'));
      signedOut();
    } catch (failure) {
      setError(describeError(failure, i18n));
      setBusy(false);
    }
  };

  return (
    <Modal title={t('profile.delete.title')} size="sm" onClose={() => !busy && onClose()} testId="profile-delete-dialog">
      <form onSubmit={submit} class="stack">
        <p>{t('profile.delete.text')}</p>
        <label class="field">
          <span class="field__label">{t('profile.delete.prompt', { email })}</span>
          <input
            class="input"
            type="email"
            autoComplete="off"
            spellcheck={false}
            value={typed}
            onInput={(event) => setTyped(event.currentTarget.value)}
            data-testid="profile-delete-input"
            data-autofocus
          />
        </label>
        {error && (
          <p class="field__error" role="alert">
            {error}
          </p>
        )}
        <div class="modal__actions">
          <button type="button" class="button button--ghost" onClick={onClose} disabled={busy}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="button button--danger" disabled={!matches || busy} data-testid="profile-delete-confirm">
            {busy && <Spinner size="sm" />}
            {t('profile.delete.confirm')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
