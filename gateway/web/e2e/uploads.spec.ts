// The uploader: the file picker, drag and drop, progress, pause and resume, resumption after
// a reload, and the checks made before anything is sent. Uploads go through tus
// (tus-js-client against /api/uploads).

import { randomBytes } from 'node:crypto';
import type { CDPSession, Page } from '@playwright/test';
import { checkAccessibility, dropFiles, expect, makePng, screenshot, setTheme, sha256, t, test, testFile } from './fixtures';
import type { Api } from './fixtures';

const MiB = 1024 * 1024;
/** The UI's tus chunk size (src/upload/manager.ts). */
const CHUNK = 8 * MiB;

/** Plain text of exactly `size` bytes that does not compress: what a large upload looks like. */
function largeText(size: number): Buffer {
  const text = Buffer.from(`flowsvault e2e upload\n${randomBytes(Math.ceil(size * 0.75) + 8).toString('base64')}`);
  return text.subarray(0, size);
}

/** Limits the page's upload bandwidth (Chromium's network emulation; it outlives reloads). */
async function throttleUploads(page: Page, bytesPerSecond: number | null): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond ?? -1,
  });
  return cdp;
}

const queueItem = (page: Page, name: string) => page.locator(`[data-testid="queue-item"][data-name="${name}"]`);

async function progressOf(page: Page, name: string): Promise<number> {
  return Number(await queueItem(page, name).getByTestId('queue-item-progress').getAttribute('value'));
}

/** The stored file of that name (the newest one), from the API. */
async function storedFile(api: Api, name: string) {
  const page = await api.files({ q: name, sort: 'uploadedAt', order: 'desc' });
  const file = page.items.find((item) => item.originalName === name);
  expect(file, `${name} is in GET /api/files`).toBeTruthy();
  return file!;
}

test.describe('uploads through tus', () => {
  test('two files with the picker and one by drag and drop, with progress and completion', async ({ signedIn: page, api }) => {
    const text = Buffer.from('first file, from the picker\n');
    const image = makePng(200, 120, 40);
    const dropped = Buffer.from('third file, dropped on the zone\n');
    await expect(page.getByTestId('upload-limits')).toBeVisible();

    await page.getByTestId('file-input').setInputFiles([
      { name: 'picked.txt', mimeType: 'text/plain', buffer: text },
      { name: 'picked.png', mimeType: 'image/png', buffer: image },
    ]);
    // The image is previewed in the queue before it is sent.
    await expect(queueItem(page, 'picked.png').getByTestId('queue-item-preview')).toBeVisible();

    await dropFiles(page, '[data-testid="drop-zone"]', [{ name: 'dropped.txt', type: 'text/plain', content: dropped }], async () => {
      await expect(page.getByTestId('drop-zone')).toHaveAttribute('data-dragging', 'true');
      await expect(page.getByTestId('drop-zone')).toContainText(t('upload.drop.release'));
    });
    await expect(page.getByTestId('drop-zone')).toHaveAttribute('data-dragging', 'false');

    await expect(page.getByTestId('queue-item')).toHaveCount(3);
    for (const name of ['picked.txt', 'picked.png', 'dropped.txt']) {
      const item = queueItem(page, name);
      await expect(item).toHaveAttribute('data-status', 'done', { timeout: 30_000 });
      await expect(item.getByTestId('queue-item-progress')).toHaveAttribute('value', '100');
      await expect(item.getByTestId('queue-item-detail')).toContainText(t('upload.status.done', { size: '' }).trim());
      await expect(page.getByTestId('toasts')).toContainText(t('upload.doneToast', { name }));
    }
    await expect(page.locator('.queue__summary')).toHaveText(t('upload.queue.done_other', { count: 3 }));
    for (const theme of ['light', 'dark'] as const) {
      await setTheme(page, theme);
      await checkAccessibility(page, `upload-queue-done-${theme}`);
      await screenshot(page, `upload-queue-done-${theme}`);
    }

    // In the list, and byte for byte on the server.
    for (const [name, content] of [['picked.txt', text], ['picked.png', image], ['dropped.txt', dropped]] as const) {
      await expect(page.getByTestId('file-name').filter({ hasText: name })).toHaveCount(1);
      const file = await storedFile(api, name);
      expect(file.size).toBe(content.length);
      expect(file.sha256).toBe(sha256(content));
    }

    await page.getByTestId('queue-clear').click();
    await expect(page.getByTestId('upload-queue')).toHaveCount(0);
  });

  test('pause and resume a large upload', async ({ signedIn: page, api }, testInfo) => {
    const content = largeText(20 * MiB);
    const path = testFile(testInfo, 'large-pause.txt', content);
    await throttleUploads(page, 4 * MiB);
    await page.getByTestId('file-input').setInputFiles(path);

    const item = queueItem(page, 'large-pause.txt');
    await expect(item).toHaveAttribute('data-status', 'uploading');
    await expect.poll(() => progressOf(page, 'large-pause.txt'), { timeout: 20_000 }).toBeGreaterThan(5);
    // Progress shows percent, bytes and speed while it runs.
    await expect(item.getByTestId('queue-item-detail')).toContainText('%');

    await item.getByTestId('upload-pause').click();
    await expect(item).toHaveAttribute('data-status', 'paused');
    const paused = await progressOf(page, 'large-pause.txt');
    await expect(item.getByTestId('queue-item-detail')).toHaveText(t('upload.status.paused', { percent: paused }));
    await expect(item.getByTestId('upload-resume')).toBeVisible();
    // Nothing moves while paused (the screenshots take their time too).
    for (const theme of ['light', 'dark'] as const) {
      await setTheme(page, theme);
      await checkAccessibility(page, `upload-queue-paused-${theme}`);
      await screenshot(page, `upload-queue-paused-${theme}`);
    }
    await page.waitForTimeout(1000);
    expect(await progressOf(page, 'large-pause.txt')).toBe(paused);
    await expect(item).toHaveAttribute('data-status', 'paused');

    await item.getByTestId('upload-resume').click();
    await expect(item).not.toHaveAttribute('data-status', 'paused');
    await expect(item).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
    const file = await storedFile(api, 'large-pause.txt');
    expect(file.size).toBe(content.length);
    expect(file.sha256).toBe(sha256(content));
  });

  test('resume an upload after reloading the page', async ({ signedIn: page, api }, testInfo) => {
    const content = largeText(24 * MiB);
    // A file on disk: the same name, size and modification time make the same tus fingerprint.
    const path = testFile(testInfo, 'large-reload.txt', content);
    await throttleUploads(page, 4 * MiB);
    await page.getByTestId('file-input').setInputFiles(path);
    // Past the first chunk: the server has acknowledged at least CHUNK bytes.
    await expect.poll(() => progressOf(page, 'large-reload.txt'), { timeout: 30_000 }).toBeGreaterThan(40);

    // Leaving asks first (uploads in flight); the test says yes.
    page.on('dialog', (dialog) => void (dialog.type() === 'beforeunload' ? dialog.accept() : dialog.dismiss()));
    await page.reload();
    await expect(page.getByTestId('user-menu')).toBeVisible();
    await expect(page.getByTestId('upload-queue')).toHaveCount(0);
    const interrupted = page.getByTestId('interrupted-uploads');
    await expect(interrupted).toBeVisible();
    await expect(interrupted.getByTestId('interrupted-item')).toContainText('large-reload.txt');

    const offsets: number[] = [];
    page.on('request', (request) => {
      if (request.method() === 'PATCH' && request.url().includes('/api/uploads/')) offsets.push(Number(request.headers()['upload-offset']));
    });
    await page.getByTestId('file-input').setInputFiles(path);
    const item = queueItem(page, 'large-reload.txt');
    await expect(item).toContainText(t('upload.resumedBadge'));
    await expect(item).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
    // It went on from where the server was, not from the start.
    expect(offsets.length).toBeGreaterThan(0);
    expect(offsets[0]).toBeGreaterThanOrEqual(CHUNK);
    await expect(interrupted).toHaveCount(0);

    const file = await storedFile(api, 'large-reload.txt');
    expect(file.size).toBe(content.length);
    expect(file.sha256).toBe(sha256(content));
  });

  test('cancel an upload', async ({ signedIn: page, api }, testInfo) => {
    const path = testFile(testInfo, 'cancelled.txt', largeText(12 * MiB));
    await throttleUploads(page, 2 * MiB);
    await page.getByTestId('file-input').setInputFiles(path);
    const item = queueItem(page, 'cancelled.txt');
    await expect.poll(() => progressOf(page, 'cancelled.txt'), { timeout: 20_000 }).toBeGreaterThan(0);
    const terminated = page.waitForResponse((response) => response.request().method() === 'DELETE' && response.url().includes('/api/uploads/'));
    await item.getByTestId('upload-cancel').click();
    await expect(item).toHaveCount(0);
    // The server's copy is terminated, and the browser forgets the upload.
    expect((await terminated).status()).toBe(204);
    await expect.poll(() => page.evaluate(() => Object.keys(window.localStorage).filter((key) => key.startsWith('tus::')))).toEqual([]);
    expect((await api.files({ q: 'cancelled', status: 'all' })).total).toBe(0);
    await page.reload();
    await expect(page.getByTestId('user-menu')).toBeVisible();
    await expect(page.getByTestId('interrupted-uploads')).toHaveCount(0);
  });

  test('a cancelled upload is not offered as interrupted', async ({ signedIn: page }, testInfo) => {
    const path = testFile(testInfo, 'cancelled-again.txt', largeText(12 * MiB));
    await throttleUploads(page, 2 * MiB);
    await page.getByTestId('file-input').setInputFiles(path);
    await expect.poll(() => progressOf(page, 'cancelled-again.txt'), { timeout: 20_000 }).toBeGreaterThan(0);
    const terminated = page.waitForResponse((response) => response.request().method() === 'DELETE' && response.url().includes('/api/uploads/'));
    await queueItem(page, 'cancelled-again.txt').getByTestId('upload-cancel').click();
    await terminated;
    await expect(page.getByTestId('interrupted-uploads')).toHaveCount(0, { timeout: 5_000 });
  });
});

test.describe('checks before upload', () => {
  test('a file type the server refuses is rejected in the browser, dropped or picked', async ({ signedIn: page }) => {
    const sent: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/uploads')) sent.push(`${request.method()} ${request.url()}`);
    });
    const limits = page.getByTestId('upload-limits');
    await expect(limits).toBeVisible();
    const accept = await page.getByTestId('file-input').getAttribute('accept');
    expect(accept?.split(',')).toEqual(expect.arrayContaining(['.png', '.txt', '.pdf']));
    expect(accept?.split(',')).not.toContain('.exe');

    await dropFiles(page, '[data-testid="drop-zone"]', [{ name: 'tool.exe', type: 'application/octet-stream', content: 'MZ not really\n' }]);
    const dropped = queueItem(page, 'tool.exe');
    await expect(dropped).toHaveAttribute('data-status', 'rejected');
    await expect(dropped.getByTestId('queue-item-detail')).toHaveText(t('upload.rejected.type', { extension: 'exe' }));
    await expect(dropped.getByTestId('queue-item-progress')).toHaveCount(0);

    // The picker honours no `accept` when a program sets the files: the same check applies.
    await page.getByTestId('file-input').setInputFiles({ name: 'README', mimeType: 'text/plain', buffer: Buffer.from('no extension\n') });
    await expect(queueItem(page, 'README').getByTestId('queue-item-detail')).toHaveText(t('upload.rejected.noExtension'));
    await expect(page.locator('.queue__summary')).toHaveText(t('upload.queue.failed_other', { count: 2 }));

    await dropped.getByTestId('upload-dismiss').click();
    await expect(dropped).toHaveCount(0);
    await page.getByTestId('queue-clear').click();
    await expect(page.getByTestId('upload-queue')).toHaveCount(0);
    expect(sent, 'nothing was sent to the server').toEqual([]);
  });
});
