// Share links for one file: create (expiry, download limit, password), copy, list, revoke.

import type { TargetedSubmitEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { createShare, listShares, revokeShare } from '../../api';
import type { NewShare, Share, StoredFile } from '../../api/types';
import { absoluteUrl, useClipboard } from '../../hooks/useClipboard';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../i18n/errors';
import { formatDateTime, formatNumber } from '../../lib/format';
import { Icon } from '../Icon';
import { Modal } from '../Modal';
import { Spinner } from '../Spinner';
import { useToasts } from '../Toasts';
import { ExpiryText } from '../ExpiryText';

const EXPIRIES = ['1h', '1d', '7d', '30d', 'never'] as const;
type Expiry = (typeof EXPIRIES)[number];

type ListState = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; shares: Share[] };

export function ShareDialog({ file, onClose }: { file: StoredFile; onClose: () => void }) {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const toasts = useToasts();
  const copy = useClipboard();
  const [list, setList] = useState<ListState>({ kind: 'loading' });
  const [expiry, setExpiry] = useState<Expiry>('7d');
  const [maxDownloads, setMaxDownloads] = useState('');
  const [password, setPassword] = useState('');
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Share | null>(null);
  const [formError, setFormError] = useState<string | null>(null);

  useEffect(() => {
    listShares(file.id)
      .then((shares) => setList({ kind: 'ready', shares }))
      .catch((error: unknown) => setList({ kind: 'failed', message: describeError(error, i18n) }));
  }, [file.id]);

  const submit = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const limit = maxDownloads.trim() === '' ? undefined : Number(maxDownloads);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      setFormError(t('share.maxDownloads.invalid'));
      return;
    }
    setFormError(null);
    const request: NewShare = {};
    if (expiry !== 'never') request.expiresIn = expiry;
    if (limit !== undefined) request.maxDownloads = limit;
    if (password !== '') request.password = password;
    setCreating(true);
    try {
      const share = await createShare(file.id, request);
      setCreated(share);
      setPassword('');
      setList((current) => (current.kind === 'ready' ? { kind: 'ready', shares: [share, ...current.shares] } : current));
    } catch (error) {
      setFormError(describeError(error, i18n));
    } finally {
      setCreating(false);
    }
  };

  const revoke = async (share: Share) => {
    const before = list;
    setList((current) => (current.kind === 'ready' ? { kind: 'ready', shares: current.shares.filter((entry) => entry.id !== share.id) } : current));
    if (created?.id === share.id) setCreated(null);
    try {
      await revokeShare(share.id);
      toasts.push('success', t('share.revoked'));
    } catch (error) {
      setList(before);
      toasts.push('error', t('share.revokeFailed', { reason: describeError(error, i18n) }));
    }
  };

  // Only a link just created has its URL: the server keeps no copy of the token.
  const link = (share: Share) =>
    share.url ? absoluteUrl(share.url) : share.token ? absoluteUrl(`/s/${share.token}`) : null;
  const createdLink = created ? link(created) : null;

  return (
    <Modal title={t('share.title', { name: file.originalName })} onClose={onClose} testId="share-dialog">
      <form class="share-form" onSubmit={submit} data-testid="share-form">
        <div class="form-grid">
          <label class="field">
            <span class="field__label">{t('share.expiry.label')}</span>
            <select class="select" value={expiry} onChange={(event) => setExpiry(event.currentTarget.value as Expiry)} data-testid="share-expiry">
              {EXPIRIES.map((value) => (
                <option key={value} value={value}>
                  {value === 'never' ? t('share.expiry.never') : t(`duration.${value}`)}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span class="field__label">{t('share.maxDownloads.label')}</span>
            <input
              class="input"
              type="number"
              min={1}
              step={1}
              inputMode="numeric"
              value={maxDownloads}
              placeholder={t('share.maxDownloads.placeholder')}
              onInput={(event) => setMaxDownloads(event.currentTarget.value)}
              data-testid="share-max-downloads"
            />
          </label>
          <label class="field field--wide">
            <span class="field__label">{t('share.password.label')}</span>
            <input
              class="input"
              type="password"
              autoComplete="new-password"
              value={password}
              placeholder={t('share.password.placeholder')}
              onInput={(event) => setPassword(event.currentTarget.value)}
              data-testid="share-password"
            />
          </label>
        </div>
        {formError && (
          <p class="field__error" role="alert" data-testid="share-error">
            {formError}
          </p>
        )}
        <button type="submit" class="button button--primary" disabled={creating} data-testid="share-create">
          {creating ? <Spinner size="sm" /> : <Icon name="link" size={18} />}
          {t('share.create')}
        </button>
      </form>

      {createdLink && (
        <div class="reveal" data-testid="share-result">
          <label class="field">
            <span class="field__label">{t('share.newLink')}</span>
            <span class="copy-field">
              <input class="input input--mono" readOnly value={createdLink} onFocus={(event) => event.currentTarget.select()} data-testid="share-link" />
              <button type="button" class="button button--primary" onClick={() => void copy(createdLink, t('share.copied'))} data-testid="share-copy">
                <Icon name="copy" size={18} />
                {t('common.copy')}
              </button>
            </span>
          </label>
          <p class="muted">{t('share.onlyOnce')}</p>
        </div>
      )}

      <h3 class="subsection-title">{t('share.existing')}</h3>
      {list.kind === 'loading' && <Spinner label={t('share.loading')} />}
      {list.kind === 'failed' && <p class="notice notice--error" role="alert">{list.message}</p>}
      {list.kind === 'ready' && list.shares.length === 0 && <p class="muted" data-testid="share-empty">{t('share.none')}</p>}
      {list.kind === 'ready' && list.shares.length > 0 && (
        <ul class="share-list" data-testid="share-list">
          {list.shares.map((share) => (
            <li key={share.id} class="share-item" data-testid="share-item" data-share-id={share.id}>
              <div class="share-item__main">
                {link(share) ? (
                  <code class="share-item__url" title={link(share) ?? undefined}>
                    {link(share)}
                  </code>
                ) : (
                  <span class="share-item__url">{t('share.createdAt', { when: formatDateTime(share.createdAt, locale) })}</span>
                )}
                <div class="share-item__meta">
                  <ExpiryText expiresAt={share.expiresAt} />
                  <span>
                    {share.maxDownloads != null
                      ? t('share.downloadsOf', { count: formatNumber(share.downloads, locale), max: formatNumber(share.maxDownloads, locale) })
                      : t('share.downloads', { count: formatNumber(share.downloads, locale) })}
                  </span>
                  {share.revokedAt && <span class="badge">{t('share.revokedBadge')}</span>}
                  {share.hasPassword && (
                    <span class="badge">
                      <Icon name="lock" size={14} />
                      {t('share.protected')}
                    </span>
                  )}
                </div>
              </div>
              <div class="share-item__actions">
                {link(share) && (
                  <button
                    type="button"
                    class="icon-button"
                    onClick={() => void copy(link(share) ?? '', t('share.copied'))}
                    aria-label={t('share.copyLink')}
                    title={t('share.copyLink')}
                    data-testid="share-item-copy"
                  >
                    <Icon name="copy" size={18} />
                  </button>
                )}
                {!share.revokedAt && (
                  <button type="button" class="button button--ghost button--sm button--danger-text" onClick={() => void revoke(share)} data-testid="share-revoke">
                    {t('share.revoke')}
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </Modal>
  );
}
