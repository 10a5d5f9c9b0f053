// The file list: search, sort, pages, preview, download and delete. The files are seeded
// through POST /api/upload with an API key of the test's own account (the UI's uploader
// has its own spec).

import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { StoredFile } from '../src/api/types';
import { expect, makePng, t, test, tn } from './fixtures';

const rowOf = (page: Page, file: StoredFile) => page.locator(`[data-testid="file-row"][data-file-id="${file.id}"]`);

test('search, sort and page through the files', async ({ signedIn: page, api }) => {
  // 23 files: more than one page of 20. Sizes are a permutation, so that each sort differs.
  const seeded: Array<{ name: string; size: number }> = [];
  for (let i = 0; i < 23; i++) {
    const name = `file-${String(i + 1).padStart(2, '0')}.txt`;
    const size = (((i * 7) % 23) + 1) * 10;
    await api.upload(name, 'x'.repeat(size - 1) + '\n', { type: 'text/plain' });
    seeded.push({ name, size });
  }
  const byName = seeded.map((file) => file.name);
  const bySize = [...seeded].sort((a, b) => a.size - b.size).map((file) => file.name);

  await page.reload();
  const names = page.getByTestId('file-name');
  const range = page.getByTestId('pagination-range');

  // Newest first, 20 on the first page.
  await expect(page.getByTestId('file-row')).toHaveCount(20);
  await expect(names).toHaveText([...byName].reverse().slice(0, 20));
  await expect(range).toHaveText(t('files.pagination.range', { from: 1, to: 20, total: 23 }));
  await expect(page.getByTestId('pagination-page')).toHaveText(t('files.pagination.page', { page: 1, pages: 2 }));
  await expect(page.getByTestId('pagination-prev')).toBeDisabled();
  await expect(page.locator('#files-title .count-pill')).toHaveText('23');

  await page.getByTestId('pagination-next').click();
  await expect(names).toHaveText(['file-03.txt', 'file-02.txt', 'file-01.txt']);
  await expect(range).toHaveText(t('files.pagination.range', { from: 21, to: 23, total: 23 }));
  await expect(page.getByTestId('pagination-page')).toHaveText(t('files.pagination.page', { page: 2, pages: 2 }));
  await expect(page.getByTestId('pagination-next')).toBeDisabled();
  await page.getByTestId('pagination-prev').click();
  await expect(range).toHaveText(t('files.pagination.range', { from: 1, to: 20, total: 23 }));

  // Each sort, from page 1 again.
  const sort = page.getByTestId('sort-select');
  await page.getByTestId('pagination-next').click();
  await sort.selectOption('name:asc');
  await expect(names).toHaveText(byName.slice(0, 20));
  await expect(range).toHaveText(t('files.pagination.range', { from: 1, to: 20, total: 23 }));
  await sort.selectOption('name:desc');
  await expect(names).toHaveText([...byName].reverse().slice(0, 20));
  await sort.selectOption('size:asc');
  await expect(names).toHaveText(bySize.slice(0, 20));
  await sort.selectOption('size:desc');
  await expect(names).toHaveText([...bySize].reverse().slice(0, 20));
  await sort.selectOption('uploadedAt:asc');
  await expect(names).toHaveText(byName.slice(0, 20));
  await page.getByTestId('pagination-next').click();
  await expect(names).toHaveText(byName.slice(20));

  // Search: a case-insensitive substring of the name, back on page 1, in the chosen order.
  const search = page.getByTestId('file-search');
  await search.fill('FILE-1');
  await expect(names).toHaveText(byName.filter((name) => name.startsWith('file-1')));
  await expect(range).toHaveText(t('files.pagination.range', { from: 1, to: 10, total: 10 }));
  await expect(page.getByTestId('pagination-next')).toBeDisabled();
  await search.fill('no-such-file');
  await expect(page.getByTestId('files-empty')).toContainText(t('files.empty.searchTitle', { query: 'no-such-file' }));
  await page.getByRole('button', { name: t('files.empty.clearSearch') }).click();
  await expect(search).toHaveValue('');
  await expect(page.getByTestId('file-row')).toHaveCount(20);

  // The status filter: nothing has expired yet.
  await page.getByTestId('status-filter').selectOption('expired');
  await expect(page.getByTestId('files-empty')).toContainText(t('files.empty.expiredTitle'));
  await page.getByTestId('status-filter').selectOption('all');
  await expect(range).toHaveText(t('files.pagination.range', { from: 1, to: 20, total: 23 }));
});

test('preview an image, a text file and a PDF', async ({ signedIn: page, api }) => {
  const png = makePng(120, 80);
  const image = await api.upload('gradient.png', png, { type: 'image/png' });
  const text = await api.upload('notes.txt', 'line one\nline two\n', { type: 'text/plain' });
  const data = await api.upload('data.json', '{"answer": 42}\n', { type: 'application/json' });
  const pdf = await api.upload('report.pdf', '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n', {
    type: 'application/pdf',
  });
  await page.reload();
  await expect(page.getByTestId('file-row')).toHaveCount(4);

  // The image: its name opens the preview, served by /api/preview inline.
  await rowOf(page, image).getByTestId('file-name').click();
  const dialog = page.getByTestId('preview-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('heading', { name: 'gradient.png' })).toBeVisible();
  const img = dialog.getByTestId('preview-image');
  await expect(img).toHaveAttribute('src', `/api/preview/${image.id}`);
  await expect(img).toHaveAttribute('alt', 'gradient.png');
  await expect
    .poll(() => img.evaluate((element: HTMLImageElement) => (element.complete ? element.naturalWidth : -1)))
    .toBe(120);
  expect(await img.evaluate((element: HTMLImageElement) => element.naturalHeight)).toBe(80);
  await expect(dialog.getByTestId('preview-open')).toHaveAttribute('href', `/api/preview/${image.id}`);
  const served = await page.request.get(`/api/preview/${image.id}`);
  expect(served.status()).toBe(200);
  expect(served.headers()['content-type']).toBe('image/png');
  expect(Buffer.compare(await served.body(), png)).toBe(0);
  // Escape closes it and gives the focus back.
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(rowOf(page, image).getByTestId('file-name')).toBeFocused();

  // Text: fetched and shown as text; the close button closes.
  await rowOf(page, text).getByTestId('file-preview').click();
  await expect(dialog.getByTestId('preview-text')).toHaveText('line one\nline two\n');
  await dialog.getByTestId('modal-close').click();
  await expect(dialog).toHaveCount(0);

  // A PDF opens in a tab of its own: no answer of the API may be framed.
  await rowOf(page, pdf).getByTestId('file-preview').click();
  await expect(dialog.getByTestId('preview-pdf')).toBeVisible();
  await expect(dialog.locator('iframe')).toHaveCount(0);
  await expect(dialog.getByTestId('preview-open')).toHaveAttribute('target', '_blank');
  const framed = await page.request.get(`/api/preview/${pdf.id}`);
  expect(framed.headers()['content-type']).toBe('application/pdf');
  expect(framed.headers()['x-frame-options']).toBe('DENY');
  await dialog.getByTestId('modal-close').click();
  await expect(dialog).toHaveCount(0);

  // JSON has no preview.
  await expect(rowOf(page, data).getByTestId('file-preview')).toBeDisabled();
  await expect(rowOf(page, data).getByRole('button', { name: 'data.json', exact: true })).toHaveCount(0);
});

test('download a file from the list', async ({ signedIn: page, api }) => {
  const content = 'the bytes of a report\n';
  const file = await api.upload('report.txt', content, { type: 'text/plain' });
  await page.reload();
  const link = rowOf(page, file).getByTestId('file-download');
  await expect(link).toHaveAttribute('download', 'report.txt');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toBe('report.txt');
  expect(readFileSync(await download.path(), 'utf8')).toBe(content);
});

test('delete one file, then several at once', async ({ signedIn: page, api }) => {
  const keep = await api.upload('keep.txt', 'keep\n', { type: 'text/plain' });
  const one = await api.upload('one.txt', 'one\n', { type: 'text/plain' });
  const two = await api.upload('two.txt', 'two\n', { type: 'text/plain' });
  const three = await api.upload('three.txt', 'three\n', { type: 'text/plain' });
  await page.reload();
  await expect(page.getByTestId('file-row')).toHaveCount(4);

  // One file; the dialog can be cancelled first.
  await rowOf(page, one).getByTestId('file-delete').click();
  const dialog = page.getByTestId('delete-dialog');
  await expect(dialog).toContainText(t('files.confirmDelete.titleOne'));
  await expect(dialog).toContainText(t('files.confirmDelete.textOne', { name: 'one.txt' }));
  await expect(dialog.getByTestId('confirm-cancel')).toBeFocused();
  await dialog.getByTestId('confirm-cancel').click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('file-row')).toHaveCount(4);

  await rowOf(page, one).getByTestId('file-delete').click();
  await dialog.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('toast-success')).toContainText(t('files.deleted.one', { name: 'one.txt' }));
  await expect(rowOf(page, one)).toHaveCount(0);
  await expect(page.getByTestId('file-row')).toHaveCount(3);
  expect((await api.request('GET', `/api/files/${one.id}`)).status).toBe(404);
  expect((await api.request('GET', `/api/download/${one.id}`)).status).toBe(404);

  // Two at once, through the selection.
  await rowOf(page, two).getByTestId('file-select').check();
  await rowOf(page, three).getByTestId('file-select').check();
  await expect(page.locator('.bulkbar')).toContainText(tn('files.selected', 2));
  await page.getByTestId('bulk-delete').click();
  await expect(dialog).toContainText(tn('files.confirmDelete.titleMany', 2));
  await dialog.getByTestId('confirm-ok').click();
  await expect(page.getByTestId('toast-success').last()).toContainText(tn('files.deleted.many', 2));
  await expect(page.getByTestId('file-row')).toHaveCount(1);
  await expect(page.getByTestId('file-name')).toHaveText('keep.txt');
  for (const gone of [two, three]) expect((await api.request('GET', `/api/files/${gone.id}`)).status).toBe(404);
  expect((await api.files()).items.map((file) => file.id)).toEqual([keep.id]);

  await page.reload();
  await expect(page.getByTestId('file-row')).toHaveCount(1);
});
