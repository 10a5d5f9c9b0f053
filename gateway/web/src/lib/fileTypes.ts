// File kinds: extensions, icon categories, what can be previewed, and the client-side upload checks.

export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || dot === base.length - 1) return '';
  return base.slice(dot + 1).toLowerCase();
}

export type FileCategory =
  | 'image'
  | 'video'
  | 'audio'
  | 'pdf'
  | 'text'
  | 'code'
  | 'archive'
  | 'document'
  | 'spreadsheet'
  | 'presentation'
  | 'other';

const EXTENSION_CATEGORIES: Record<string, FileCategory> = {
  zip: 'archive', gz: 'archive', tgz: 'archive', tar: 'archive', '7z': 'archive', rar: 'archive', bz2: 'archive', xz: 'archive', zst: 'archive',
  doc: 'document', docx: 'document', odt: 'document', rtf: 'document', pages: 'document',
  xls: 'spreadsheet', xlsx: 'spreadsheet', ods: 'spreadsheet', csv: 'spreadsheet', tsv: 'spreadsheet', numbers: 'spreadsheet',
  ppt: 'presentation', pptx: 'presentation', odp: 'presentation', key: 'presentation',
  txt: 'text', md: 'text', log: 'text', rst: 'text',
  json: 'code', js: 'code', ts: 'code', rs: 'code', py: 'code', go: 'code', java: 'code', c: 'code', h: 'code', cpp: 'code',
  sh: 'code', yaml: 'code', yml: 'code', toml: 'code', xml: 'code', html: 'code', css: 'code', sql: 'code',
  pdf: 'pdf',
  png: 'image', jpg: 'image', jpeg: 'image', gif: 'image', webp: 'image', avif: 'image', bmp: 'image', svg: 'image', heic: 'image', tif: 'image', tiff: 'image',
  mp4: 'video', webm: 'video', mov: 'video', mkv: 'video', avi: 'video', m4v: 'video',
  mp3: 'audio', wav: 'audio', ogg: 'audio', oga: 'audio', flac: 'audio', m4a: 'audio', aac: 'audio', opus: 'audio',
};

export function categoryOf(mimeType: string | null | undefined, extension: string | null | undefined): FileCategory {
  const mime = (mimeType ?? '').toLowerCase();
  const byExtension = EXTENSION_CATEGORIES[(extension ?? '').toLowerCase().replace(/^\./, '')];
  if (mime === 'application/pdf') return 'pdf';
  if (byExtension && byExtension !== 'other') return byExtension;
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('text/')) return 'text';
  return 'other';
}

export type PreviewKind = 'image' | 'video' | 'audio' | 'pdf' | 'text';

// Raster images only: an SVG can carry script, and the gateway never serves one inline.
const RASTER_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);
const NOT_PLAIN_TEXT = new Set(['text/html', 'text/xml', 'text/javascript', 'text/css']);

/** How /api/preview/{id} can be shown for this type, or null when it cannot. */
export function previewKindOf(mimeType: string | null | undefined): PreviewKind | null {
  const mime = (mimeType ?? '').toLowerCase().split(';')[0].trim();
  if (RASTER_IMAGES.has(mime)) return 'image';
  if (mime === 'application/pdf') return 'pdf';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('text/') && !NOT_PLAIN_TEXT.has(mime)) return 'text';
  return null;
}

/** Local previews before upload: raster images the browser can decode, not too large to hold. */
export function canPreviewLocally(type: string, size: number): boolean {
  return RASTER_IMAGES.has(type.toLowerCase()) && size <= 50 * 1024 * 1024;
}

export interface UploadLimits {
  maxUploadBytes: number;
  allowedExtensions: string[];
}

export type Rejection =
  | { reason: 'too_large'; maxBytes: number }
  | { reason: 'type_not_allowed'; extension: string };

/** The client-side checks the server would also make: size first, then the extension allowlist. */
export function checkFile(file: { name: string; size: number }, limits: UploadLimits | null): Rejection | null {
  if (!limits) return null;
  if (limits.maxUploadBytes > 0 && file.size > limits.maxUploadBytes) {
    return { reason: 'too_large', maxBytes: limits.maxUploadBytes };
  }
  const allowed = limits.allowedExtensions.map((extension) => extension.toLowerCase().replace(/^\./, ''));
  if (allowed.length > 0) {
    const extension = extensionOf(file.name);
    if (!allowed.includes(extension)) return { reason: 'type_not_allowed', extension };
  }
  return null;
}

/** The `accept` attribute for a file input from the allowlist. */
export function acceptAttribute(allowedExtensions: string[]): string | undefined {
  if (allowedExtensions.length === 0) return undefined;
  return allowedExtensions.map((extension) => `.${extension.replace(/^\./, '')}`).join(',');
}
