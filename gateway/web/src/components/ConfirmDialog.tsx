import { useState } from 'preact/hooks';
import { useI18n } from '../i18n/context';
import { Modal } from './Modal';
import { Spinner } from './Spinner';

interface ConfirmDialogProps {
  title: string;
  message: string;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void> | void;
  onClose: () => void;
  testId?: string;
}

/** "Are you sure?" with the destructive choice named on its button. */
export function ConfirmDialog({ title, message, confirmLabel, danger, onConfirm, onClose, testId = 'confirm-dialog' }: ConfirmDialogProps) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title={title}
      size="sm"
      onClose={() => !busy && onClose()}
      testId={testId}
      footer={
        <>
          <button type="button" class="button button--ghost" onClick={onClose} disabled={busy} data-testid="confirm-cancel" data-autofocus>
            {t('common.cancel')}
          </button>
          <button
            type="button"
            class={danger ? 'button button--danger' : 'button button--primary'}
            onClick={confirm}
            disabled={busy}
            data-testid="confirm-ok"
          >
            {busy && <Spinner size="sm" />}
            {confirmLabel}
          </button>
        </>
      }
    >
      <p>{message}</p>
    </Modal>
  );
}
