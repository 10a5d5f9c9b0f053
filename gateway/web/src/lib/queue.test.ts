import { describe, expect, it } from 'vitest';
import { MAX_CONCURRENT_UPLOADS, pickNext, uploadIdFromUrl, type UploadStatus } from './queue';

const items = (...statuses: UploadStatus[]) => statuses.map((status, index) => ({ id: `u${index}`, status }));

describe('pickNext', () => {
  it('starts three at a time, oldest first', () => {
    expect(MAX_CONCURRENT_UPLOADS).toBe(3);
    expect(pickNext(items('queued', 'queued', 'queued', 'queued', 'queued'))).toEqual(['u0', 'u1', 'u2']);
  });

  it('counts uploads that are running or waiting to retry', () => {
    expect(pickNext(items('uploading', 'retrying', 'queued', 'queued'))).toEqual(['u2']);
    expect(pickNext(items('uploading', 'uploading', 'uploading', 'queued'))).toEqual([]);
  });

  it('does not count paused, finished or failed ones', () => {
    expect(pickNext(items('paused', 'done', 'error', 'rejected', 'finishing', 'queued', 'queued'))).toEqual(['u5', 'u6']);
  });
});

describe('uploadIdFromUrl', () => {
  it('takes the last path segment of the Location URL', () => {
    expect(uploadIdFromUrl('http://127.0.0.1:8080/api/uploads/0b8c7c1e-3f7a-4a53-9d3b-2f0f3a1c9e11')).toBe('0b8c7c1e-3f7a-4a53-9d3b-2f0f3a1c9e11');
    expect(uploadIdFromUrl('/api/uploads/abc/')).toBe('abc');
    expect(uploadIdFromUrl('/api/uploads/abc?x=1')).toBe('abc');
  });

  it('is null without a URL', () => {
    expect(uploadIdFromUrl(null)).toBeNull();
    expect(uploadIdFromUrl('')).toBeNull();
  });
});
