// Copy to the clipboard with a toast either way.

import { useCallback } from 'preact/hooks';
import { useI18n } from '../i18n/context';
import { useToasts } from '../components/Toasts';

async function writeText(text: string): Promise<void> {
  if (navigator.clipboard?.writeText) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Older browsers and plain-http origins without the async clipboard.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'visually-hidden';
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('copy refused');
}

export function useClipboard() {
  const { t } = useI18n();
  const toasts = useToasts();
  return useCallback(
    async (text: string, successMessage?: string) => {
      try {
        await writeText(text);
        toasts.push('success', successMessage ?? t('clipboard.copied'));
        return true;
      } catch {
        toasts.push('error', t('clipboard.failed'));
        return false;
      }
    },
    [t, toasts],
  );
}

export function absoluteUrl(path: string): string {
  return new URL(path, window.location.origin).href;
}
