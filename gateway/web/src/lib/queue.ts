// Which queued uploads may start now, given the concurrency limit.

export const MAX_CONCURRENT_UPLOADS = 3;

export type UploadStatus =
  | 'queued'
  | 'uploading'
  | 'retrying'
  | 'paused'
  | 'finishing'
  | 'done'
  | 'error'
  | 'rejected';

/** Statuses that hold one of the concurrent slots. */
export function holdsSlot(status: UploadStatus): boolean {
  return status === 'uploading' || status === 'retrying';
}

/** Ids of queued items to start, oldest first, without passing `limit` active uploads. */
export function pickNext(items: ReadonlyArray<{ id: string; status: UploadStatus }>, limit = MAX_CONCURRENT_UPLOADS): string[] {
  const active = items.filter((item) => holdsSlot(item.status)).length;
  const free = Math.max(0, limit - active);
  return items
    .filter((item) => item.status === 'queued')
    .slice(0, free)
    .map((item) => item.id);
}

/** The upload id is the last path segment of the tus Location URL; it is also the file's id. */
export function uploadIdFromUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  const path = url.split(/[?#]/)[0].replace(/\/+$/, '');
  const id = path.slice(path.lastIndexOf('/') + 1);
  return id === '' ? null : decodeURIComponent(id);
}
