// The upload queue: tus uploads, at most three at a time, with pause, resume, retry, cancel,
// automatic retries with backoff, progress throttled to 100 ms, and resumption across reloads.

import type { DetailedError, PreviousUpload, Upload } from 'tus-js-client';
import type { Duration, Problem } from '../api/types';
import { nextRetryDelay, parseRetryAfter } from '../lib/backoff';
import { canPreviewLocally, checkFile, type Rejection, type UploadLimits } from '../lib/fileTypes';
import { SpeedMeter, etaSeconds, percentOf, throttle } from '../lib/progress';
import { pickNext, uploadIdFromUrl, type UploadStatus } from '../lib/queue';

export const CHUNK_SIZE = 8 * 1024 * 1024;
export const PROGRESS_INTERVAL_MS = 100;

export type UploadError =
  | { kind: 'rejected'; rejection: Rejection }
  | { kind: 'http'; status: number; code: string | null; detail: string | null }
  | { kind: 'client'; detail: string };

export interface UploadItem {
  id: string;
  name: string;
  size: number;
  type: string;
  previewUrl: string | null;
  duration: Duration;
  status: UploadStatus;
  bytesSent: number;
  percent: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** Automatic retries used in the current failure streak. */
  retries: number;
  retryAt: number | null;
  /** True when an earlier, interrupted upload of the same file was found and continued. */
  resumed: boolean;
  error: UploadError | null;
  fileId: string | null;
}

interface Runtime {
  file: File;
  upload: Upload | null;
  meter: SpeedMeter;
  timer: ReturnType<typeof setTimeout> | null;
  offsetAtLastFailure: number;
  /** Bytes the server has acknowledged (sent bytes may still be lost with a failing request). */
  accepted: number;
}

export interface ManagerHooks {
  /** Checks that the finished upload is a file now; throws a problem otherwise. */
  confirm: (fileId: string) => Promise<void>;
  /** A file finished uploading. */
  uploaded: (fileId: string, name: string) => void;
  /** An upload answered 401: the session is gone. */
  unauthenticated: () => void;
}

// tus-js-client is the largest dependency: load it with the first upload, not with the sign-in page.
let tusModule: Promise<typeof import('tus-js-client')> | null = null;
function loadTus() {
  tusModule ??= import('tus-js-client');
  return tusModule;
}

let counter = 0;
const nextId = () => `u${Date.now().toString(36)}${(counter++).toString(36)}`;

export class UploadManager {
  private items: UploadItem[] = [];
  private readonly runtime = new Map<string, Runtime>();
  /** Upload URLs being terminated after a cancel. */
  private readonly cancelling = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private readonly emitThrottled = throttle(() => this.emit(), PROGRESS_INTERVAL_MS);

  constructor(
    private readonly endpoint: string,
    private readonly hooks: ManagerHooks,
  ) {}

  snapshot(): readonly UploadItem[] {
    return this.items;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Uploads still in flight or waiting (for the "leave page?" prompt). */
  pendingCount(): number {
    return this.items.filter((item) => ['queued', 'uploading', 'retrying', 'finishing'].includes(item.status)).length;
  }

  add(files: Iterable<File>, duration: Duration, limits: UploadLimits | null): void {
    for (const file of files) {
      const rejection = checkFile(file, limits);
      const id = nextId();
      this.items = [
        ...this.items,
        {
          id,
          name: file.name,
          size: file.size,
          type: file.type,
          previewUrl: !rejection && canPreviewLocally(file.type, file.size) ? URL.createObjectURL(file) : null,
          duration,
          status: rejection ? 'rejected' : 'queued',
          bytesSent: 0,
          percent: 0,
          bytesPerSecond: 0,
          etaSeconds: null,
          retries: 0,
          retryAt: null,
          resumed: false,
          error: rejection ? { kind: 'rejected', rejection } : null,
          fileId: null,
        },
      ];
      if (!rejection) {
        this.runtime.set(id, { file, upload: null, meter: new SpeedMeter(), timer: null, offsetAtLastFailure: 0, accepted: 0 });
      }
    }
    this.emit();
    this.pump();
  }

  pause(id: string): void {
    const item = this.find(id);
    const runtime = this.runtime.get(id);
    if (!item || !runtime || !['queued', 'uploading', 'retrying'].includes(item.status)) return;
    this.clearTimer(runtime);
    if (item.status === 'uploading') void runtime.upload?.abort(false).catch(() => undefined);
    runtime.meter.reset();
    this.update(id, { status: 'paused', bytesPerSecond: 0, etaSeconds: null, retryAt: null });
    this.pump();
  }

  resume(id: string): void {
    if (this.find(id)?.status !== 'paused') return;
    this.update(id, { status: 'queued', retries: 0 });
    this.pump();
  }

  retry(id: string): void {
    const item = this.find(id);
    if (!item || item.status !== 'error' || !this.runtime.has(id)) return;
    this.update(id, { status: 'queued', retries: 0, error: null });
    this.pump();
  }

  /** Stops the upload and removes what the server holds of it. */
  cancel(id: string): void {
    const runtime = this.runtime.get(id);
    if (runtime) {
      this.clearTimer(runtime);
      // Until tus-js-client has terminated it and dropped its stored entry, the upload must
      // not look like one interrupted in an earlier visit.
      const url = runtime.upload?.url ?? null;
      if (url) this.cancelling.add(url);
      void runtime.upload
        ?.abort(true)
        .catch(() => undefined)
        .finally(() => {
          if (url) this.cancelling.delete(url);
        });
    }
    this.remove(id);
    this.pump();
  }

  /** Removes a finished or rejected item from the list. */
  dismiss(id: string): void {
    const item = this.find(id);
    if (!item || !['done', 'rejected'].includes(item.status)) return;
    this.remove(id);
  }

  clearFinished(): void {
    for (const item of this.items.filter((entry) => entry.status === 'done' || entry.status === 'rejected')) {
      this.remove(item.id);
    }
  }

  /** Uploads interrupted in an earlier visit that the server may still hold. */
  async interrupted(): Promise<PreviousUpload[]> {
    const active = new Set([
      ...[...this.runtime.values()].map((runtime) => runtime.upload?.url).filter((url): url is string => !!url),
      ...this.cancelling,
    ]);
    try {
      const { defaultOptions } = await loadTus();
      const stored = await defaultOptions.urlStorage.findAllUploads();
      return stored.filter((entry) => entry.uploadUrl && !active.has(entry.uploadUrl));
    } catch {
      return [];
    }
  }

  async discardInterrupted(entry: PreviousUpload): Promise<void> {
    const { Upload, defaultOptions } = await loadTus();
    if (entry.uploadUrl) await Upload.terminate(entry.uploadUrl, { retryDelays: null }).catch(() => undefined);
    await defaultOptions.urlStorage.removeUpload(entry.urlStorageKey).catch(() => undefined);
  }

  private find(id: string): UploadItem | undefined {
    return this.items.find((item) => item.id === id);
  }

  private update(id: string, patch: Partial<UploadItem>, immediate = true): void {
    this.items = this.items.map((item) => (item.id === id ? { ...item, ...patch } : item));
    if (immediate) this.emit();
    else this.emitThrottled();
  }

  private remove(id: string): void {
    const item = this.find(id);
    if (item?.previewUrl) URL.revokeObjectURL(item.previewUrl);
    this.runtime.delete(id);
    this.items = this.items.filter((entry) => entry.id !== id);
    this.emit();
  }

  private emit(): void {
    this.emitThrottled.cancel();
    this.listeners.forEach((listener) => listener());
  }

  private clearTimer(runtime: Runtime): void {
    if (runtime.timer !== null) clearTimeout(runtime.timer);
    runtime.timer = null;
  }

  private pump(): void {
    for (const id of pickNext(this.items)) void this.start(id);
  }

  private async start(id: string): Promise<void> {
    const item = this.find(id);
    const runtime = this.runtime.get(id);
    if (!item || !runtime) return;
    this.update(id, { status: 'uploading', error: null, retryAt: null });
    runtime.meter.reset();
    if (!runtime.upload) {
      let tus: typeof import('tus-js-client');
      try {
        tus = await loadTus();
      } catch {
        this.update(id, { status: 'error', error: { kind: 'http', status: 0, code: null, detail: null } });
        this.pump();
        return;
      }
      if (this.find(id)?.status !== 'uploading') return;
      const upload = new tus.Upload(runtime.file, {
        endpoint: this.endpoint,
        chunkSize: CHUNK_SIZE,
        // Retries are ours (visible in the UI, Retry-After aware); see `failed`.
        retryDelays: null,
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        metadata: {
          filename: item.name,
          filetype: item.type || 'application/octet-stream',
          duration: item.duration,
        },
        onProgress: (sent, total) => this.progress(id, sent, total),
        onChunkComplete: (_chunk, accepted) => {
          runtime.accepted = accepted;
        },
        onSuccess: () => void this.succeeded(id),
        onError: (error) => this.failed(id, error),
      });
      runtime.upload = upload;
      try {
        const previous = await upload.findPreviousUploads();
        const latest = previous.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime))[0];
        if (latest) {
          upload.resumeFromPreviousUpload(latest);
          this.update(id, { resumed: true });
        }
      } catch {
        // No stored uploads to look at: start afresh.
      }
      // Paused or cancelled while the lookup ran.
      if (this.find(id)?.status !== 'uploading') return;
    }
    runtime.upload.start();
  }

  private progress(id: string, sent: number, total: number): void {
    const runtime = this.runtime.get(id);
    const item = this.find(id);
    if (!runtime || !item || item.status !== 'uploading') return;
    runtime.meter.add(performance.now(), sent);
    const speed = runtime.meter.bytesPerSecond();
    this.update(
      id,
      { bytesSent: sent, percent: percentOf(sent, total), bytesPerSecond: speed, etaSeconds: etaSeconds(sent, total, speed) },
      false,
    );
  }

  private async succeeded(id: string): Promise<void> {
    const runtime = this.runtime.get(id);
    const item = this.find(id);
    if (!runtime || !item) return;
    const fileId = uploadIdFromUrl(runtime.upload?.url);
    this.update(id, { status: 'finishing', bytesSent: item.size, percent: 100, bytesPerSecond: 0, etaSeconds: null, fileId });
    this.pump();
    try {
      if (fileId) await this.hooks.confirm(fileId);
      if (!this.find(id)) return;
      this.update(id, { status: 'done' });
      if (fileId) this.hooks.uploaded(fileId, item.name);
    } catch (error) {
      const problem = error as { status?: number; code?: string | null; detail?: string | null };
      this.update(id, {
        status: 'error',
        error: { kind: 'http', status: problem.status ?? 0, code: problem.code ?? null, detail: problem.detail ?? null },
      });
    }
  }

  private failed(id: string, error: Error | DetailedError): void {
    const runtime = this.runtime.get(id);
    const item = this.find(id);
    if (!runtime || !item || item.status !== 'uploading') return;
    // What was sent but not acknowledged may be lost: show the confirmed part.
    const confirmed = Math.min(item.bytesSent, runtime.accepted);
    const detailed = error as Partial<DetailedError>;
    const response = detailed.originalResponse ?? null;
    const fromHttp = detailed.originalRequest != null;
    const status = response ? response.getStatus() : 0;
    const problem = response ? parseProblem(response.getBody()) : {};

    if (status === 401) this.hooks.unauthenticated();

    // Progress since the last failure starts a new streak of automatic retries.
    const retries = confirmed > runtime.offsetAtLastFailure ? 0 : item.retries;
    runtime.offsetAtLastFailure = confirmed;
    const position = { bytesSent: confirmed, percent: percentOf(confirmed, item.size) };
    const retryAfter = response ? parseRetryAfter(response.getHeader('Retry-After'), Date.now()) : null;
    const delay = fromHttp ? nextRetryDelay(retries, status, retryAfter, { jitter: 0.2 }) : null;

    if (delay !== null) {
      this.update(id, { ...position, status: 'retrying', retries: retries + 1, retryAt: Date.now() + delay, bytesPerSecond: 0, etaSeconds: null });
      runtime.timer = setTimeout(() => {
        runtime.timer = null;
        if (this.find(id)?.status !== 'retrying') return;
        this.update(id, { status: 'uploading', retryAt: null });
        runtime.meter.reset();
        runtime.upload?.start();
      }, delay);
      return;
    }

    this.update(id, {
      ...position,
      status: 'error',
      retries,
      bytesPerSecond: 0,
      etaSeconds: null,
      error: fromHttp
        ? { kind: 'http', status, code: problem.code ?? null, detail: problem.detail ?? null }
        : { kind: 'client', detail: error.message },
    });
    this.pump();
  }
}

function parseProblem(body: string | undefined): Problem {
  if (!body) return {};
  try {
    const parsed = JSON.parse(body) as Problem;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

