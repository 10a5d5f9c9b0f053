// Every call the UI makes, typed. The only module that knows the API's paths.

import { ApiError, NETWORK_ERROR, problemFromResponse, request } from './client';
import type {
  ApiKey,
  CreatedApiKey,
  FilePage,
  FileQuery,
  Limits,
  NewShare,
  Provider,
  Session,
  Share,
  StoredFile,
  User,
} from './types';

export { ApiError, isAbort, onUnauthenticated, NETWORK_ERROR } from './client';
export type * from './types';

const id = (value: string) => encodeURIComponent(value);

export const paths = {
  uploads: '/api/uploads',
  download: (fileId: string) => `/api/download/${id(fileId)}`,
  preview: (fileId: string) => `/api/preview/${id(fileId)}`,
  devSignIn: '/api/auth/signin/dev',
  openApi: '/api/openapi.json',
};

/** The session, or null when signed out (401). */
export async function getSession(): Promise<Session | null> {
  try {
    return await request<Session>('GET', '/api/auth/session', { expectUnauthenticated: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export const signOut = () => request<void>('POST', '/api/auth/signout', { expectUnauthenticated: true });
export const getProviders = () => request<Provider[]>('GET', '/api/auth/providers', { expectUnauthenticated: true });
export const getLimits = () => request<Limits>('GET', '/api/limits', { expectUnauthenticated: true });
/** The gateway's OpenAPI document, unchecked: src/lib/openapi.ts reads it. Public. */
export const getOpenApiDocument = () => request<unknown>('GET', paths.openApi, { expectUnauthenticated: true });

export const listFiles = (query: FileQuery, signal?: AbortSignal) =>
  request<FilePage>('GET', '/api/files', {
    query: { page: query.page, perPage: query.perPage, q: query.q.trim(), status: query.status, sort: query.sort, order: query.order },
    signal,
  });
export const getFile = (fileId: string) => request<StoredFile>('GET', `/api/files/${id(fileId)}`);
export const deleteFile = (fileId: string) => request<void>('DELETE', `/api/files/${id(fileId)}`);
export const bulkDeleteFiles = (ids: string[]) =>
  request<{ deleted: number }>('POST', '/api/files/bulk-delete', { json: { ids } });

export const listShares = (fileId: string) => request<Share[]>('GET', `/api/files/${id(fileId)}/shares`);
export const createShare = (fileId: string, share: NewShare) =>
  request<Share>('POST', `/api/files/${id(fileId)}/shares`, { json: share });
export const revokeShare = (shareId: string) => request<void>('DELETE', `/api/shares/${id(shareId)}`);

export const listKeys = () => request<ApiKey[]>('GET', '/api/keys');
export const createKey = (name: string, expiresIn?: string) =>
  request<CreatedApiKey>('POST', '/api/keys', { json: expiresIn ? { name, expiresIn } : { name } });
export const revokeKey = (keyId: string) => request<void>('DELETE', `/api/keys/${id(keyId)}`);

export const getProfile = () => request<User>('GET', '/api/profile');
export function uploadProfilePicture(file: File): Promise<User> {
  const form = new FormData();
  form.append('file', file);
  return request<User>('POST', '/api/profile/picture', { form });
}
export const deleteAccount = () => request<void>('DELETE', '/api/profile/delete');

/** At most `maxBytes` of a text file for the preview, and whether more exists. */
export async function fetchPreviewText(fileId: string, maxBytes: number, signal?: AbortSignal): Promise<{ text: string; truncated: boolean }> {
  let response: Response;
  try {
    response = await fetch(paths.preview(fileId), {
      headers: { Range: `bytes=0-${maxBytes - 1}` },
      credentials: 'same-origin',
      signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, NETWORK_ERROR, null);
  }
  if (!response.ok) {
    throw await problemFromResponse(response);
  }
  const buffer = await response.arrayBuffer();
  const total = Number(response.headers.get('Content-Range')?.split('/')[1]);
  const truncated = buffer.byteLength > maxBytes || (Number.isFinite(total) && total > buffer.byteLength);
  const text = new TextDecoder('utf-8').decode(buffer.byteLength > maxBytes ? buffer.slice(0, maxBytes) : buffer);
  return { text, truncated };
}
