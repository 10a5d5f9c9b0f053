// Preview through /api/preview/{id}: images, video and audio in their own elements, text
// fetched (the first 256 KiB) and shown as plain text. A PDF opens in a tab of its own: no
// answer of the API may be framed (X-Frame-Options: DENY), not even by our own pages.

import { useEffect, useState } from 'preact/hooks';
import { fetchPreviewText, isAbort, paths } from '../../api';
import type { StoredFile } from '../../api/types';
import { useI18n } from '../../i18n/context';
import { describeError } from '../../i18n/errors';
import { previewKindOf } from '../../lib/fileTypes';
import { formatBytes } from '../../lib/format';
import { Icon } from '../Icon';
import { Modal } from '../Modal';
import { Spinner } from '../Spinner';

export const TEXT_PREVIEW_BYTES = 256 * 1024;

type TextState = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; text: string; truncated: boolean };

function TextPreview({ file }: { file: StoredFile }) {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const [state, setState] = useState<TextState>({ kind: 'loading' });
  useEffect(() => {
    const controller = new AbortController();
    fetchPreviewText(file.id, TEXT_PREVIEW_BYTES, controller.signal)
      .then((result) => setState({ kind: 'ready', ...result }))
      .catch((error: unknown) => {
        if (!isAbort(error)) setState({ kind: 'failed', message: describeError(error, i18n) });
      });
    return () => controller.abort();
  }, [file.id]);

  if (state.kind === 'loading') return <Spinner label={t('preview.loading')} />;
  if (state.kind === 'failed') return <p class="notice notice--error" role="alert">{state.message}</p>;
  return (
    <>
      <pre class="preview-text" tabIndex={0} aria-label={t('preview.textLabel', { name: file.originalName })} data-testid="preview-text">
        {state.text}
      </pre>
      {state.truncated && <p class="hint">{t('preview.truncated', { size: formatBytes(TEXT_PREVIEW_BYTES, locale) })}</p>}
    </>
  );
}

export function PreviewModal({ file, onClose }: { file: StoredFile; onClose: () => void }) {
  const { t } = useI18n();
  const kind = previewKindOf(file.mimeType);
  const [failed, setFailed] = useState(false);
  const source = paths.preview(file.id);
  const name = file.originalName;

  let body;
  if (!kind || failed) {
    body = (
      <div class="empty-state empty-state--compact">
        <Icon name="eye" size={32} />
        <p>{failed ? t('preview.failed') : t('preview.unsupported')}</p>
      </div>
    );
  } else if (kind === 'image') {
    body = <img class="preview-media" src={source} alt={name} onError={() => setFailed(true)} data-testid="preview-image" />;
  } else if (kind === 'video') {
    body = (
      <video class="preview-media" src={source} controls preload="metadata" onError={() => setFailed(true)} data-testid="preview-video">
        {t('preview.noMediaSupport')}
      </video>
    );
  } else if (kind === 'audio') {
    body = (
      <audio class="preview-audio" src={source} controls preload="metadata" onError={() => setFailed(true)} data-testid="preview-audio">
        {t('preview.noMediaSupport')}
      </audio>
    );
  } else if (kind === 'pdf') {
    body = (
      <div class="empty-state empty-state--compact" data-testid="preview-pdf">
        <Icon name="eye" size={32} />
        <p>{t('preview.pdfInTab')}</p>
      </div>
    );
  } else {
    body = <TextPreview file={file} />;
  }

  return (
    <Modal
      title={name}
      size="lg"
      onClose={onClose}
      testId="preview-dialog"
      footer={
        <>
          <a class="button button--ghost" href={source} target="_blank" rel="noopener" data-testid="preview-open">
            {t('preview.openInTab')}
          </a>
          <a class="button button--primary" href={file.downloadUrl || paths.download(file.id)} download={name} data-testid="preview-download">
            <Icon name="download" size={18} />
            {t('preview.download')}
          </a>
        </>
      }
    >
      <div class="preview">{body}</div>
    </Modal>
  );
}
