// API keys: create (name, optional expiry), the full key shown once, list, revoke.

import type { TargetedSubmitEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { createKey, listKeys, revokeKey } from '../api';
import type { ApiKey, CreatedApiKey } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ExpiryText } from '../components/ExpiryText';
import { useNow } from '../hooks/useNow';
import { Icon } from '../components/Icon';
import { Spinner } from '../components/Spinner';
import { useToasts } from '../components/Toasts';
import { useClipboard } from '../hooks/useClipboard';
import { Link } from '../hooks/router';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import { useI18n } from '../i18n/context';
import { describeError } from '../i18n/errors';
import { formatDateTime } from '../lib/format';
import { formatRelative } from '../lib/relativeTime';

const KEY_EXPIRIES = ['never', '30d', '90d', '365d'] as const;
type KeyExpiry = (typeof KEY_EXPIRIES)[number];

type ListState = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; keys: ApiKey[] };

function keyStatus(key: ApiKey, now: number): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= now) return 'expired';
  return 'active';
}

export function KeysPage() {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const toasts = useToasts();
  const copy = useClipboard();
  const now = useNow();
  const [list, setList] = useState<ListState>({ kind: 'loading' });
  const [reload, setReload] = useState(0);
  const [name, setName] = useState('');
  const [expiry, setExpiry] = useState<KeyExpiry>('never');
  const [creating, setCreating] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const [revealed, setRevealed] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  useDocumentTitle(t('keys.title'));

  useEffect(() => {
    listKeys()
      .then((keys) => setList({ kind: 'ready', keys }))
      .catch((error: unknown) => setList({ kind: 'failed', message: describeError(error, i18n) }));
  }, [reload]);

  const submit = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setFormError(t('keys.form.nameRequired'));
      return;
    }
    setFormError(null);
    setCreating(true);
    try {
      const created = await createKey(trimmed, expiry === 'never' ? undefined : expiry);
      setRevealed(created);
      setName('');
      const { key: _secret, ...listed } = created;
      setList((current) => (current.kind === 'ready' ? { kind: 'ready', keys: [listed, ...current.keys] } : current));
    } catch (error) {
      setFormError(describeError(error, i18n));
    } finally {
      setCreating(false);
    }
  };

  const revoke = async (key: ApiKey) => {
    setRevoking(null);
    const before = list;
    const revokedAt = new Date().toISOString();
    setList((current) =>
      current.kind === 'ready' ? { kind: 'ready', keys: current.keys.map((entry) => (entry.id === key.id ? { ...entry, revokedAt } : entry)) } : current,
    );
    try {
      await revokeKey(key.id);
      toasts.push('success', t('keys.revoked', { name: key.name }));
    } catch (error) {
      setList(before);
      toasts.push('error', t('keys.revokeFailed', { reason: describeError(error, i18n) }));
    }
  };

  return (
    <div class="page">
      <header class="page__header">
        <h1 class="page__title">{t('keys.title')}</h1>
        <p class="muted">
          {t('keys.intro')} <Link href="/docs">{t('keys.docsLink')}</Link>
        </p>
      </header>

      <section class="card" aria-labelledby="key-create-title">
        <h2 id="key-create-title" class="section-title">
          {t('keys.form.title')}
        </h2>
        <form class="key-form" onSubmit={submit} data-testid="key-create-form">
          <label class="field key-form__name">
            <span class="field__label">{t('keys.form.name')}</span>
            <input
              class="input"
              value={name}
              maxLength={100}
              required
              placeholder={t('keys.form.namePlaceholder')}
              onInput={(event) => setName(event.currentTarget.value)}
              data-testid="key-name"
            />
          </label>
          <label class="field">
            <span class="field__label">{t('keys.form.expiry')}</span>
            <select class="select" value={expiry} onChange={(event) => setExpiry(event.currentTarget.value as KeyExpiry)} data-testid="key-expiry">
              {KEY_EXPIRIES.map((value) => (
                <option key={value} value={value}>
                  {t(`keys.expiry.${value}`)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" class="button button--primary key-form__submit" disabled={creating} data-testid="key-create-submit">
            {creating ? <Spinner size="sm" /> : <Icon name="key" size={18} />}
            {t('keys.form.submit')}
          </button>
        </form>
        {formError && (
          <p class="field__error" role="alert" data-testid="key-error">
            {formError}
          </p>
        )}

        {revealed && (
          <div class="reveal reveal--warning" role="region" aria-label={t('keys.reveal.label')} data-testid="key-reveal">
            <p class="reveal__warning">
              <Icon name="alert" size={18} />
              <strong>{t('keys.reveal.warning')}</strong>
            </p>
            <span class="copy-field">
              <input
                class="input input--mono"
                readOnly
                value={revealed.key}
                aria-label={t('keys.reveal.valueLabel', { name: revealed.name })}
                onFocus={(event) => event.currentTarget.select()}
                data-testid="key-reveal-value"
                data-autofocus
              />
              <button type="button" class="button button--primary" onClick={() => void copy(revealed.key, t('keys.reveal.copied'))} data-testid="key-copy">
                <Icon name="copy" size={18} />
                {t('common.copy')}
              </button>
            </span>
            <p class="hint">
              {t('keys.reveal.usage')} <code>{t('keys.reveal.header', { prefix: revealed.prefix })}</code>
            </p>
            <button type="button" class="button button--ghost button--sm" onClick={() => setRevealed(null)} data-testid="key-reveal-done">
              {t('keys.reveal.done')}
            </button>
          </div>
        )}
      </section>

      <section class="card" aria-labelledby="key-list-title" aria-busy={list.kind === 'loading' ? 'true' : 'false'}>
        <h2 id="key-list-title" class="section-title">
          {t('keys.list.title')}
        </h2>
        {list.kind === 'loading' && <Spinner label={t('keys.list.loading')} />}
        {list.kind === 'failed' && (
          <div class="notice notice--error state-message" role="alert">
            <p>{list.message}</p>
            <button type="button" class="button button--ghost" onClick={() => setReload((value) => value + 1)}>
              {t('common.retry')}
            </button>
          </div>
        )}
        {list.kind === 'ready' && list.keys.length === 0 && (
          <div class="empty-state empty-state--compact" data-testid="keys-empty">
            <Icon name="key" size={32} />
            <p class="muted">{t('keys.list.empty')}</p>
          </div>
        )}
        {list.kind === 'ready' && list.keys.length > 0 && (
          <div class="table-wrap">
            <table class="table" data-testid="key-list">
              <thead>
                <tr>
                  <th scope="col">{t('keys.col.name')}</th>
                  <th scope="col">{t('keys.col.prefix')}</th>
                  <th scope="col">{t('keys.col.created')}</th>
                  <th scope="col">{t('keys.col.lastUsed')}</th>
                  <th scope="col">{t('keys.col.expires')}</th>
                  <th scope="col">{t('keys.col.status')}</th>
                  <th scope="col">
                    <span class="visually-hidden">{t('keys.col.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.keys.map((key) => {
                  const status = keyStatus(key, now);
                  return (
                    <tr key={key.id} data-testid="key-row" data-key-id={key.id} data-status={status}>
                      <td data-label={t('keys.col.name')} class="table__strong">
                        {key.name}
                      </td>
                      <td data-label={t('keys.col.prefix')}>
                        <code>{key.prefix}</code>
                      </td>
                      <td data-label={t('keys.col.created')}>{formatDateTime(key.createdAt, locale)}</td>
                      <td data-label={t('keys.col.lastUsed')} title={key.lastUsedAt ? formatDateTime(key.lastUsedAt, locale) : undefined}>
                        {key.lastUsedAt ? formatRelative(key.lastUsedAt, now, locale) : t('keys.neverUsed')}
                      </td>
                      <td data-label={t('keys.col.expires')}>
                        <ExpiryText expiresAt={key.expiresAt} />
                      </td>
                      <td data-label={t('keys.col.status')}>
                        <span class={`badge badge--${status}`}>{t(`keys.status.${status}`)}</span>
                      </td>
                      <td class="table__actions">
                        {status === 'active' && (
                          <button
                            type="button"
                            class="button button--ghost button--sm button--danger-text"
                            onClick={() => setRevoking(key)}
                            aria-label={t('keys.revokeNamed', { name: key.name })}
                            data-testid="key-revoke"
                          >
                            {t('keys.revoke')}
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {revoking && (
        <ConfirmDialog
          title={t('keys.confirmRevoke.title')}
          message={t('keys.confirmRevoke.text', { name: revoking.name })}
          confirmLabel={t('keys.revoke')}
          danger
          onConfirm={() => revoke(revoking)}
          onClose={() => setRevoking(null)}
          testId="key-revoke-dialog"
        />
      )}
    </div>
  );
}
