// The JSON shapes of the public HTTP API (shared/design/API.md), as the UI reads them.

export interface User {
  id: string;
  email: string;
  name: string | null;
  image: string | null;
}

export interface Session {
  user: User;
  expiresAt: string;
}

export type ProviderKind = 'oidc' | 'github' | 'dev';

export interface Provider {
  id: string;
  name: string;
  kind: ProviderKind;
}

export type Duration = '1h' | '1d' | '7d' | '30d' | 'unlimited';

export interface Limits {
  maxUploadBytes: number;
  allowedExtensions: string[];
  durations: Duration[];
  defaultDuration: Duration;
}

export type FileStatus = 'active' | 'expired' | string;

export interface StoredFile {
  id: string;
  originalName: string;
  fileName: string;
  size: number;
  mimeType: string;
  extension: string;
  sha256: string;
  uploadedAt: string;
  expiresAt: string | null;
  duration: Duration;
  downloadUrl: string;
  status: FileStatus;
}

export type StatusFilter = 'active' | 'expired' | 'all';
export type SortField = 'uploadedAt' | 'name' | 'size';
export type SortOrder = 'asc' | 'desc';

export interface FileQuery {
  page: number;
  perPage: number;
  q: string;
  status: StatusFilter;
  sort: SortField;
  order: SortOrder;
}

export interface FilePage {
  items: StoredFile[];
  page: number;
  perPage: number;
  total: number;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

export interface CreatedApiKey extends ApiKey {
  key: string;
}

export interface Share {
  id: string;
  /** Only in the answer that created the link: the server keeps just its hash. */
  token?: string;
  url?: string;
  expiresAt: string | null;
  maxDownloads: number | null;
  downloads: number;
  hasPassword: boolean;
  createdAt: string;
  revokedAt: string | null;
}

export interface NewShare {
  expiresIn?: string;
  maxDownloads?: number;
  password?: string;
}

/** RFC 9457 problem document. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
}
