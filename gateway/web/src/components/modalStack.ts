// The open modal dialogs, topmost last: toasts render into the topmost so they stay visible
// and reachable above its backdrop.

import { useEffect, useState } from 'preact/hooks';

const stack: HTMLDialogElement[] = [];
const listeners = new Set<() => void>();

export function pushModal(dialog: HTMLDialogElement): void {
  stack.push(dialog);
  listeners.forEach((listener) => listener());
}

export function popModal(dialog: HTMLDialogElement): void {
  const index = stack.lastIndexOf(dialog);
  if (index >= 0) stack.splice(index, 1);
  listeners.forEach((listener) => listener());
}

export function useModalHost(): HTMLDialogElement | null {
  const [host, setHost] = useState<HTMLDialogElement | null>(stack[stack.length - 1] ?? null);
  useEffect(() => {
    const update = () => setHost(stack[stack.length - 1] ?? null);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return host;
}
