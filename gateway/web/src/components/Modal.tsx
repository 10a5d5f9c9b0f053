// A modal dialog: native <dialog> (inert background, top layer), focus kept inside with Tab,
// Escape and the backdrop close it, focus returns to where it was.

import type { ComponentChildren, TargetedKeyboardEvent, TargetedMouseEvent } from 'preact';
import { useEffect, useId, useLayoutEffect, useRef } from 'preact/hooks';
import { useI18n } from '../i18n/context';
import { Icon } from './Icon';
import { popModal, pushModal } from './modalStack';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), iframe, audio[controls], video[controls], [tabindex]:not([tabindex="-1"])';

interface ModalProps {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  footer?: ComponentChildren;
  size?: 'sm' | 'md' | 'lg';
  testId?: string;
  description?: string;
}

export function focusableWithin(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((element) => !element.closest('[inert]') && element.getClientRects().length > 0);
}

export function Modal({ title, onClose, children, footer, size = 'md', testId, description }: ModalProps) {
  const { t } = useI18n();
  const dialogRef = useRef<HTMLDialogElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  const titleId = useId();
  const descriptionId = useId();

  useLayoutEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    pushModal(dialog);
    // First focus: a marked element, else the body's first control, else the close button.
    // Never a frame: keys typed inside a PDF viewer (Escape, Tab) do not come back to us.
    const preferred = dialog.querySelector<HTMLElement>('[data-autofocus]');
    const body = dialog.querySelector<HTMLElement>('.modal__body');
    const inBody = body ? focusableWithin(body).find((element) => element.tagName !== 'IFRAME') : undefined;
    const first = preferred ?? inBody ?? focusableWithin(dialog)[0];
    first?.focus();
    return () => {
      popModal(dialog);
      if (dialog.open) dialog.close();
      if (previous?.isConnected) previous.focus();
    };
  }, []);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    // Escape: keep the dialog open until the owner unmounts it (it may refuse while busy).
    const onCancel = (event: Event) => {
      event.preventDefault();
      closeRef.current();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => dialog.removeEventListener('cancel', onCancel);
  }, []);

  const onKeyDown = (event: TargetedKeyboardEvent<HTMLDialogElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      closeRef.current();
      return;
    }
    if (event.key !== 'Tab') return;
    const focusable = focusableWithin(event.currentTarget);
    if (focusable.length === 0) {
      event.preventDefault();
      return;
    }
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !event.currentTarget.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  };

  // A click whose target is the dialog itself landed on the backdrop (the panel fills the dialog).
  const onClick = (event: TargetedMouseEvent<HTMLDialogElement>) => {
    if (event.target === event.currentTarget) closeRef.current();
  };

  return (
    <dialog
      ref={dialogRef}
      class={`modal modal--${size}`}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      onKeyDown={onKeyDown}
      onClick={onClick}
      data-testid={testId}
    >
      <div class="modal__panel">
        <header class="modal__header">
          <h2 id={titleId} class="modal__title">
            {title}
          </h2>
          <button type="button" class="icon-button" onClick={() => closeRef.current()} aria-label={t('modal.close')} data-testid="modal-close">
            <Icon name="close" />
          </button>
        </header>
        {description && (
          <p id={descriptionId} class="modal__description">
            {description}
          </p>
        )}
        <div class="modal__body">{children}</div>
        {footer && <footer class="modal__footer">{footer}</footer>}
      </div>
    </dialog>
  );
}
