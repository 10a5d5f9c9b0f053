// One file: select box, type icon, name, size, dates, expiry, and its actions.

import { paths } from '../../api';
import type { StoredFile } from '../../api/types';
import { absoluteUrl, useClipboard } from '../../hooks/useClipboard';
import { useI18n } from '../../i18n/context';
import { categoryOf, previewKindOf } from '../../lib/fileTypes';
import { formatBytes, formatDateTime } from '../../lib/format';
import { ExpiryText } from '../ExpiryText';
import { FileTypeIcon, Icon } from '../Icon';

interface FileRowProps {
  file: StoredFile;
  selected: boolean;
  onToggle: () => void;
  onPreview: () => void;
  onShare: () => void;
  onDelete: () => void;
}

export function FileRow({ file, selected, onToggle, onPreview, onShare, onDelete }: FileRowProps) {
  const { t, locale } = useI18n();
  const copy = useClipboard();
  const name = file.originalName;
  const expired = file.status === 'expired' || (file.expiresAt !== null && Date.parse(file.expiresAt) <= Date.now());
  const previewable = !expired && previewKindOf(file.mimeType) !== null;
  const downloadHref = file.downloadUrl || paths.download(file.id);

  return (
    <li class={selected ? 'file-row file-row--selected' : 'file-row'} data-testid="file-row" data-file-id={file.id} data-status={expired ? 'expired' : 'active'}>
      <input type="checkbox" class="file-row__check" checked={selected} onChange={onToggle} aria-label={t('files.select', { name })} data-testid="file-select" />
      <FileTypeIcon category={categoryOf(file.mimeType, file.extension)} />
      <div class="file-row__main">
        {previewable ? (
          <button type="button" class="file-row__name link-button" onClick={onPreview} title={name} data-testid="file-name">
            {name}
          </button>
        ) : (
          <span class="file-row__name" title={name} data-testid="file-name">
            {name}
          </span>
        )}
        <div class="file-row__meta">
          <span data-testid="file-size">{formatBytes(file.size, locale)}</span>
          <span title={formatDateTime(file.uploadedAt, locale)}>{t('files.uploadedOn', { date: formatDateTime(file.uploadedAt, locale) })}</span>
          <span data-testid="file-expiry">
            <ExpiryText expiresAt={file.expiresAt} expired={expired} />
          </span>
        </div>
      </div>
      <div class="file-row__actions">
        <button
          type="button"
          class="icon-button"
          onClick={onPreview}
          disabled={!previewable}
          aria-label={t('files.action.preview', { name })}
          title={previewable ? t('files.action.previewShort') : t('files.action.noPreview')}
          data-testid="file-preview"
        >
          <Icon name="eye" size={18} />
        </button>
        {expired ? (
          <button type="button" class="icon-button" disabled aria-label={t('files.action.download', { name })} data-testid="file-download">
            <Icon name="download" size={18} />
          </button>
        ) : (
          <a class="icon-button" href={downloadHref} download={name} aria-label={t('files.action.download', { name })} title={t('files.action.downloadShort')} data-testid="file-download">
            <Icon name="download" size={18} />
          </a>
        )}
        <button
          type="button"
          class="icon-button"
          onClick={onShare}
          disabled={expired}
          aria-label={t('files.action.share', { name })}
          title={t('files.action.shareShort')}
          data-testid="file-share"
        >
          <Icon name="share" size={18} />
        </button>
        <button
          type="button"
          class="icon-button"
          onClick={() => void copy(absoluteUrl(downloadHref), t('files.linkCopied'))}
          disabled={expired}
          aria-label={t('files.action.copyLink', { name })}
          title={t('files.action.copyLinkShort')}
          data-testid="file-copy-link"
        >
          <Icon name="link" size={18} />
        </button>
        <button
          type="button"
          class="icon-button icon-button--danger"
          onClick={onDelete}
          aria-label={t('files.action.delete', { name })}
          title={t('files.action.deleteShort')}
          data-testid="file-delete"
        >
          <Icon name="trash" size={18} />
        </button>
      </div>
    </li>
  );
}
