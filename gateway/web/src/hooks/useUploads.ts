import { useEffect, useState } from 'preact/hooks';
import type { UploadItem, UploadManager } from '../upload/manager';

/** The manager's items, re-rendered on every (throttled) change. */
export function useUploads(manager: UploadManager): readonly UploadItem[] {
  const [items, setItems] = useState(() => manager.snapshot());
  useEffect(() => {
    setItems(manager.snapshot());
    return manager.subscribe(() => setItems(manager.snapshot()));
  }, [manager]);
  return items;
}
