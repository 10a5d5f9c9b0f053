import { describe, expect, it } from 'vitest';
import { acceptAttribute, categoryOf, checkFile, extensionOf, previewKindOf } from './fileTypes';

const limits = { maxUploadBytes: 100 * 1024 * 1024, allowedExtensions: ['png', 'jpg', 'pdf', '.TXT'] };

describe('extensionOf', () => {
  it('takes the last extension, lower-cased', () => {
    expect(extensionOf('Photo.JPG')).toBe('jpg');
    expect(extensionOf('backup.tar.gz')).toBe('gz');
  });

  it('has none for dotfiles, trailing dots and plain names', () => {
    expect(extensionOf('.env')).toBe('');
    expect(extensionOf('name.')).toBe('');
    expect(extensionOf('README')).toBe('');
  });
});

describe('checkFile', () => {
  it('accepts an allowed file within the limit', () => {
    expect(checkFile({ name: 'a.png', size: 10 }, limits)).toBeNull();
    expect(checkFile({ name: 'notes.txt', size: 10 }, limits)).toBeNull();
  });

  it('rejects a file over the size limit first', () => {
    expect(checkFile({ name: 'big.exe', size: limits.maxUploadBytes + 1 }, limits)).toEqual({ reason: 'too_large', maxBytes: limits.maxUploadBytes });
    expect(checkFile({ name: 'edge.png', size: limits.maxUploadBytes }, limits)).toBeNull();
  });

  it('rejects extensions outside the allowlist', () => {
    expect(checkFile({ name: 'run.exe', size: 1 }, limits)).toEqual({ reason: 'type_not_allowed', extension: 'exe' });
    expect(checkFile({ name: 'Makefile', size: 1 }, limits)).toEqual({ reason: 'type_not_allowed', extension: '' });
  });

  it('lets everything through while limits are unknown or the allowlist is empty', () => {
    expect(checkFile({ name: 'x.exe', size: 1 }, null)).toBeNull();
    expect(checkFile({ name: 'x.exe', size: 1 }, { maxUploadBytes: 0, allowedExtensions: [] })).toBeNull();
  });

  it('builds the picker filter from the allowlist', () => {
    expect(acceptAttribute(['png', '.pdf'])).toBe('.png,.pdf');
    expect(acceptAttribute([])).toBeUndefined();
  });
});

describe('categories and previews', () => {
  it('chooses icons by type and extension', () => {
    expect(categoryOf('image/png', 'png')).toBe('image');
    expect(categoryOf('application/pdf', 'pdf')).toBe('pdf');
    expect(categoryOf('application/zip', 'zip')).toBe('archive');
    expect(categoryOf('application/octet-stream', 'xlsx')).toBe('spreadsheet');
    expect(categoryOf('text/plain', 'txt')).toBe('text');
    expect(categoryOf('application/octet-stream', 'bin')).toBe('other');
  });

  it('previews only what the gateway serves inline', () => {
    expect(previewKindOf('image/jpeg')).toBe('image');
    expect(previewKindOf('image/svg+xml')).toBeNull();
    expect(previewKindOf('application/pdf')).toBe('pdf');
    expect(previewKindOf('video/mp4')).toBe('video');
    expect(previewKindOf('audio/mpeg')).toBe('audio');
    expect(previewKindOf('text/plain; charset=utf-8')).toBe('text');
    expect(previewKindOf('text/html')).toBeNull();
    expect(previewKindOf('application/zip')).toBeNull();
  });
});
