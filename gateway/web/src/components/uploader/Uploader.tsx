// Drop zone, file picker, duration choice, the upload queue and uploads left over from earlier visits.

import type { TargetedDragEvent } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { PreviousUpload } from 'tus-js-client';
import type { Duration } from '../../api/types';
import { useUploads } from '../../hooks/useUploads';
import { useI18n } from '../../i18n/context';
import { acceptAttribute } from '../../lib/fileTypes';
import { formatBytes, formatDateTime } from '../../lib/format';
import { useApp } from '../../state';
import { Icon } from '../Icon';
import { QueueItem } from './QueueItem';

const FALLBACK_DURATIONS: Duration[] = ['1h', '1d', '7d', '30d', 'unlimited'];
const SHOWN_EXTENSIONS = 8;

function hasFiles(dataTransfer: DataTransfer | null): boolean {
  return !!dataTransfer && [...dataTransfer.types].includes('Files');
}

export function Uploader() {
  const { t, tn, locale } = useI18n();
  const { limits, uploads } = useApp();
  const items = useUploads(uploads);
  const [duration, setDuration] = useState<Duration>(limits?.defaultDuration ?? '7d');
  const [dragging, setDragging] = useState(false);
  const [interrupted, setInterrupted] = useState<PreviousUpload[]>([]);
  const dragDepth = useRef(0);
  const inputRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (limits) setDuration(limits.defaultDuration);
  }, [limits]);

  const refreshInterrupted = useCallback(() => {
    void uploads.interrupted().then(setInterrupted);
  }, [uploads]);

  // Recheck whenever the queue grows or an upload finishes (its stored entry goes away).
  const finished = items.filter((item) => item.status === 'done').length;
  useEffect(refreshInterrupted, [refreshInterrupted, items.length, finished]);

  // A file dropped beside the zone must not make the browser open it and leave the app.
  useEffect(() => {
    const swallow = (event: DragEvent) => {
      if (hasFiles(event.dataTransfer)) event.preventDefault();
    };
    window.addEventListener('dragover', swallow);
    window.addEventListener('drop', swallow);
    return () => {
      window.removeEventListener('dragover', swallow);
      window.removeEventListener('drop', swallow);
    };
  }, []);

  const addFiles = (files: FileList | null | undefined) => {
    if (!files || files.length === 0) return;
    uploads.add([...files], duration, limits);
  };

  const onDragEnter = (event: TargetedDragEvent<HTMLDivElement>) => {
    if (!hasFiles(event.dataTransfer)) return;
    event.preventDefault();
    dragDepth.current += 1;
    setDragging(true);
  };
  const onDragOver = (event: TargetedDragEvent<HTMLDivElement>) => {
    if (!hasFiles(event.dataTransfer)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  };
  const onDragLeave = () => {
    dragDepth.current = Math.max(0, dragDepth.current - 1);
    if (dragDepth.current === 0) setDragging(false);
  };
  const onDrop = (event: TargetedDragEvent<HTMLDivElement>) => {
    event.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    addFiles(event.dataTransfer?.files);
  };

  const durations = limits?.durations?.length ? limits.durations : FALLBACK_DURATIONS;
  const extensions = limits?.allowedExtensions ?? [];
  const shownExtensions = extensions.slice(0, SHOWN_EXTENSIONS).join(', ');
  const moreExtensions = extensions.length - SHOWN_EXTENSIONS;
  const counts = {
    active: items.filter((item) => ['queued', 'uploading', 'retrying', 'finishing', 'paused'].includes(item.status)).length,
    done: finished,
    failed: items.filter((item) => item.status === 'error' || item.status === 'rejected').length,
    clearable: items.filter((item) => item.status === 'done' || item.status === 'rejected').length,
  };

  return (
    <section class="card uploader" aria-labelledby="uploader-title">
      <div class="uploader__header">
        <h2 id="uploader-title" class="section-title">
          {t('upload.title')}
        </h2>
        <label class="field field--inline">
          <span class="field__label">{t('upload.duration.label')}</span>
          <select
            class="select"
            value={duration}
            onChange={(event) => setDuration(event.currentTarget.value as Duration)}
            data-testid="duration-select"
          >
            {durations.map((option) => (
              <option key={option} value={option}>
                {t(`duration.${option}`)}
              </option>
            ))}
          </select>
        </label>
      </div>

      <div
        class={dragging ? 'dropzone dropzone--active' : 'dropzone'}
        onDragEnter={onDragEnter}
        onDragOver={onDragOver}
        onDragLeave={onDragLeave}
        onDrop={onDrop}
        onClick={(event) => {
          if (event.target === event.currentTarget) inputRef.current?.click();
        }}
        data-testid="drop-zone"
        data-dragging={dragging ? 'true' : 'false'}
      >
        <span class="dropzone__icon" aria-hidden="true">
          <Icon name="upload" size={28} />
        </span>
        <p class="dropzone__title">{dragging ? t('upload.drop.release') : t('upload.drop.title')}</p>
        <p class="dropzone__or">{t('upload.drop.or')}</p>
        <label class="button button--primary dropzone__choose">
          {t('upload.drop.choose')}
          <input
            ref={inputRef}
            type="file"
            multiple
            class="visually-hidden"
            accept={acceptAttribute(extensions)}
            onChange={(event) => {
              addFiles(event.currentTarget.files);
              event.currentTarget.value = '';
            }}
            data-testid="file-input"
          />
        </label>
        {limits && (
          <p class="dropzone__hint" data-testid="upload-limits">
            {t('upload.drop.maxSize', { size: formatBytes(limits.maxUploadBytes, locale) })}
            {extensions.length > 0 && (
              <>
                {' · '}
                <span title={extensions.join(', ')}>
                  {moreExtensions > 0 ? t('upload.drop.typesMore', { types: shownExtensions, count: moreExtensions }) : shownExtensions}
                </span>
              </>
            )}
          </p>
        )}
      </div>

      {interrupted.length > 0 && (
        <div class="notice interrupted" data-testid="interrupted-uploads">
          <p class="interrupted__title">
            <Icon name="clock" size={18} />
            {tn('upload.interrupted.title', interrupted.length)}
          </p>
          <p class="hint">{t('upload.interrupted.hint')}</p>
          <ul class="interrupted__list">
            {interrupted.map((entry) => (
              <li key={entry.urlStorageKey} class="interrupted__item" data-testid="interrupted-item">
                <span class="interrupted__name">{entry.metadata.filename ?? t('upload.interrupted.unnamed')}</span>
                <span class="muted">
                  {entry.size != null && formatBytes(entry.size, locale)} · {formatDateTime(entry.creationTime, locale)}
                </span>
                <button
                  type="button"
                  class="button button--ghost button--sm"
                  onClick={() => void uploads.discardInterrupted(entry).then(refreshInterrupted)}
                  data-testid="interrupted-discard"
                >
                  {t('upload.interrupted.discard')}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}

      {items.length > 0 && (
        <div class="queue">
          <div class="queue__header">
            <p class="queue__summary" aria-live="polite">
              {counts.active > 0
                ? tn('upload.queue.active', counts.active)
                : counts.failed > 0
                  ? tn('upload.queue.failed', counts.failed)
                  : tn('upload.queue.done', counts.done)}
            </p>
            {counts.clearable > 0 && (
              <button type="button" class="button button--ghost button--sm" onClick={() => uploads.clearFinished()} data-testid="queue-clear">
                {t('upload.queue.clear')}
              </button>
            )}
          </div>
          <ul class="queue__list" data-testid="upload-queue">
            {items.map((item) => (
              <QueueItem key={item.id} item={item} manager={uploads} />
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
