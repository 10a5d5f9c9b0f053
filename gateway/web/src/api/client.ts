// fetch wrapper: same-origin cookies, JSON in and out, problem documents turned into ApiError.

import { parseRetryAfter } from '../lib/backoff';
import type { Problem } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    readonly detail: string | null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(detail ?? code ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** Status 0 stands for "no answer" (offline, connection reset). */
export const NETWORK_ERROR = 'network_error';

type Listener = () => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called whenever an authenticated call answers 401: the session is gone. */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export interface RequestOptions {
  json?: unknown;
  form?: FormData;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
  /** A 401 is an expected answer here (the session probe), not a lost session. */
  expectUnauthenticated?: boolean;
}

export function withQuery(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function problemFromResponse(response: Response): Promise<ApiError> {
  let problem: Problem = {};
  try {
    const text = await response.text();
    if (text) problem = JSON.parse(text) as Problem;
  } catch {
    // Not JSON (a proxy's error page, say): the status alone must do.
  }
  return new ApiError(
    response.status,
    typeof problem.code === 'string' ? problem.code : null,
    typeof problem.detail === 'string' ? problem.detail : null,
    parseRetryAfter(response.headers.get('Retry-After'), Date.now()),
  );
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  }
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, NETWORK_ERROR, null);
  }
  if (!response.ok) {
    const error = await problemFromResponse(response);
    if (response.status === 401 && !options.expectUnauthenticated) {
      unauthenticatedListeners.forEach((listener) => listener());
    }
    throw error;
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
