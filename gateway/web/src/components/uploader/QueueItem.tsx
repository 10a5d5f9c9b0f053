// One upload in the queue: preview, progress with speed and ETA, and its controls.

import { useEffect, useState } from 'preact/hooks';
import { useI18n } from '../../i18n/context';
import { describeUploadError } from '../../i18n/errors';
import { MAX_AUTOMATIC_RETRIES } from '../../lib/backoff';
import { categoryOf, extensionOf } from '../../lib/fileTypes';
import { formatBytes, formatDuration, formatSpeed } from '../../lib/format';
import type { UploadItem, UploadManager } from '../../upload/manager';
import { FileTypeIcon, Icon, type IconName } from '../Icon';

function useSecondsUntil(time: number | null): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (time === null) return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [time]);
  return time === null ? 0 : Math.max(0, Math.ceil((time - now) / 1000));
}

function ActionButton({ icon, label, onClick, testId, tone }: { icon: IconName; label: string; onClick: () => void; testId: string; tone?: 'danger' }) {
  return (
    <button
      type="button"
      class={tone === 'danger' ? 'icon-button icon-button--danger' : 'icon-button'}
      onClick={onClick}
      aria-label={label}
      title={label}
      data-testid={testId}
    >
      <Icon name={icon} size={18} />
    </button>
  );
}

export function QueueItem({ item, manager }: { item: UploadItem; manager: UploadManager }) {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const retryIn = useSecondsUntil(item.status === 'retrying' ? item.retryAt : null);
  const name = item.name;
  const sizes = t('upload.progress.bytes', { sent: formatBytes(item.bytesSent, locale), total: formatBytes(item.size, locale) });

  let detail: string;
  switch (item.status) {
    case 'queued':
      detail = t('upload.status.queued');
      break;
    case 'uploading': {
      const parts = [t('upload.progress.percent', { percent: item.percent }), sizes];
      if (item.bytesPerSecond > 0) parts.push(formatSpeed(item.bytesPerSecond, locale));
      if (item.etaSeconds !== null) parts.push(t('upload.progress.eta', { time: formatDuration(item.etaSeconds, locale) }));
      detail = parts.join(' · ');
      break;
    }
    case 'paused':
      detail = t('upload.status.paused', { percent: item.percent });
      break;
    case 'retrying':
      detail = t('upload.status.retrying', { seconds: retryIn, attempt: item.retries, max: MAX_AUTOMATIC_RETRIES });
      break;
    case 'finishing':
      detail = t('upload.status.finishing');
      break;
    case 'done':
      detail = t('upload.status.done', { size: formatBytes(item.size, locale) });
      break;
    default:
      detail = item.error ? describeUploadError(item.error, i18n) : t('errors.generic');
  }

  const failed = item.status === 'error' || item.status === 'rejected';
  const canPause = item.status === 'queued' || item.status === 'uploading' || item.status === 'retrying';
  const removable = item.status === 'done' || item.status === 'rejected';

  return (
    <li class={`queue-item queue-item--${item.status}`} data-testid="queue-item" data-status={item.status} data-name={name}>
      <div class="queue-item__thumb">
        {item.previewUrl ? (
          <img src={item.previewUrl} alt={t('upload.previewAlt', { name })} data-testid="queue-item-preview" />
        ) : (
          <FileTypeIcon category={categoryOf(item.type, extensionOf(name))} />
        )}
      </div>
      <div class="queue-item__main">
        <div class="queue-item__top">
          <span class="queue-item__name" title={name}>
            {name}
          </span>
          {item.resumed && item.status !== 'done' && <span class="badge">{t('upload.resumedBadge')}</span>}
          {item.status === 'done' && (
            <span class="badge badge--success">
              <Icon name="check" size={14} />
              {t('upload.doneBadge')}
            </span>
          )}
        </div>
        {item.status !== 'rejected' && (
          <progress
            class="progress"
            max={100}
            value={item.percent}
            aria-label={t('upload.progress.label', { name })}
            data-testid="queue-item-progress"
          />
        )}
        <p class={failed ? 'queue-item__detail queue-item__detail--error' : 'queue-item__detail'} data-testid="queue-item-detail" role={failed ? 'alert' : undefined}>
          {detail}
        </p>
      </div>
      <div class="queue-item__actions">
        {canPause && <ActionButton icon="pause" label={t('upload.action.pause', { name })} onClick={() => manager.pause(item.id)} testId="upload-pause" />}
        {item.status === 'paused' && <ActionButton icon="play" label={t('upload.action.resume', { name })} onClick={() => manager.resume(item.id)} testId="upload-resume" />}
        {item.status === 'error' && <ActionButton icon="retry" label={t('upload.action.retry', { name })} onClick={() => manager.retry(item.id)} testId="upload-retry" />}
        {!removable && item.status !== 'finishing' && (
          <ActionButton icon="close" label={t('upload.action.cancel', { name })} onClick={() => manager.cancel(item.id)} testId="upload-cancel" tone="danger" />
        )}
        {removable && <ActionButton icon="close" label={t('upload.action.dismiss', { name })} onClick={() => manager.dismiss(item.id)} testId="upload-dismiss" />}
      </div>
    </li>
  );
}
