// Accessibility (axe-core) of the main pages and dialogs in both themes: no serious or
// critical violations. The same states are saved as screenshots in data/e2e/screenshots for
// a reviewer, and each page's full axe result in data/e2e/axe.

import type { Page } from '@playwright/test';
import { checkAccessibility, createKeyWithSession, expect, makePng, screenshot, setTheme, t, test, type Theme } from './fixtures';

const THEMES: Theme[] = ['light', 'dark'];

interface State {
  /** Waits until the page shows what is to be checked. */
  ready?: () => Promise<void>;
  /** Opens a dialog (after the theme is set: a modal dialog makes the rest inert). */
  open?: () => Promise<void>;
  /** Closes it again. */
  close?: () => Promise<void>;
}

/** Checks and photographs the page (or one of its dialogs), once per theme. */
async function inBothThemes(page: Page, name: string, state: State = {}): Promise<void> {
  for (const theme of THEMES) {
    await setTheme(page, theme);
    await state.open?.();
    await state.ready?.();
    await checkAccessibility(page, `${name}-${theme}`);
    await screenshot(page, `${name}-${theme}`);
    await state.close?.();
  }
}

const listLoaded = (page: Page) => expect(page.locator('section.files')).toHaveAttribute('aria-busy', 'false');

test('sign-in page', async ({ page }) => {
  await page.goto('/signin');
  await expect(page.getByTestId('signin-provider-local')).toBeVisible();
  await inBothThemes(page, 'signin');
});

test('sign-in page with an error', async ({ page }) => {
  await page.goto('/signin?error=access_denied');
  await expect(page.getByTestId('signin-error')).toBeVisible();
  await inBothThemes(page, 'signin-error');
});

test('files page, empty', async ({ signedIn: page }) => {
  await expect(page.getByTestId('files-empty')).toBeVisible();
  await inBothThemes(page, 'files-empty');
});

test('files page with files, the preview and the delete dialog', async ({ signedIn: page, api }) => {
  await api.upload('holiday.png', makePng(640, 400), { type: 'image/png', duration: '7d' });
  await api.upload('quarterly report.txt', 'Quarterly numbers\n'.repeat(400), { type: 'text/plain', duration: '30d' });
  await api.upload('notes.md', '# Notes\n\n- one\n- two\n', { type: 'text/markdown' });
  await api.upload('data.json', '{"answer": 42}\n', { type: 'application/json', duration: '1d' });
  await page.reload();
  await expect(page.getByTestId('file-row')).toHaveCount(4);
  await listLoaded(page);
  await inBothThemes(page, 'files', { ready: () => listLoaded(page) });

  // The uploader's checks, as a person meets them.
  await page.getByTestId('file-input').setInputFiles({ name: 'setup.exe', mimeType: 'application/octet-stream', buffer: Buffer.from('MZ\n') });
  await expect(page.locator('[data-testid="queue-item"][data-status="rejected"]')).toBeVisible();
  await inBothThemes(page, 'files-rejected-upload');
  await page.getByTestId('queue-clear').click();

  const preview = page.getByTestId('preview-dialog');
  const closePreview = async () => {
    await page.keyboard.press('Escape');
    await expect(preview).toHaveCount(0);
  };
  await inBothThemes(page, 'preview-image', {
    open: () => page.getByTestId('file-name').filter({ hasText: 'holiday.png' }).click(),
    ready: () =>
      expect
        .poll(() => preview.getByTestId('preview-image').evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : -1)))
        .toBe(640),
    close: closePreview,
  });
  await inBothThemes(page, 'preview-text', {
    open: () => page.getByTestId('file-name').filter({ hasText: 'quarterly report.txt' }).click(),
    ready: () => expect(preview.getByTestId('preview-text')).toContainText('Quarterly numbers'),
    close: closePreview,
  });
  await inBothThemes(page, 'delete-dialog', {
    open: () => page.getByTestId('file-delete').first().click(),
    ready: () => expect(page.getByTestId('delete-dialog')).toBeVisible(),
    close: async () => {
      await page.getByTestId('confirm-cancel').click();
      await expect(page.getByTestId('delete-dialog')).toHaveCount(0);
    },
  });

  await page.getByTestId('select-all').check();
  await expect(page.getByTestId('bulk-delete')).toBeVisible();
  await inBothThemes(page, 'files-selected');
});

test('API keys page', async ({ signedIn: page }) => {
  await createKeyWithSession(page, 'Nightly backup');
  await page.getByTestId('nav-keys').click();
  await expect(page.getByTestId('key-row')).toHaveCount(1);
  await page.getByTestId('key-name').fill('Laptop');
  await page.getByTestId('key-expiry').selectOption('90d');
  await page.getByTestId('key-create-submit').click();
  await expect(page.getByTestId('key-reveal')).toBeVisible();
  await expect(page.getByTestId('key-row')).toHaveCount(2);
  await inBothThemes(page, 'keys');

  await page.getByTestId('key-reveal-done').click();
  const revokeDialog = page.getByTestId('key-revoke-dialog');
  await inBothThemes(page, 'key-revoke-dialog', {
    open: () => page.getByTestId('key-revoke').first().click(),
    ready: () => expect(revokeDialog).toBeVisible(),
    close: async () => {
      await revokeDialog.getByTestId('confirm-cancel').click();
      await expect(revokeDialog).toHaveCount(0);
    },
  });
  await page.getByTestId('key-revoke').first().click();
  await page.getByTestId('confirm-ok').click();
  await expect(page.locator('[data-testid="key-row"][data-status="revoked"]')).toHaveCount(1);
  await inBothThemes(page, 'keys-revoked');
});

test('profile page and the account deletion dialog', async ({ signedIn: page }) => {
  await page.getByTestId('nav-profile').click();
  await expect(page.getByTestId('profile-email')).toBeVisible();
  await inBothThemes(page, 'profile');
  const dialog = page.getByTestId('profile-delete-dialog');
  await inBothThemes(page, 'profile-delete-dialog', {
    open: () => page.getByTestId('profile-delete').click(),
    ready: () => expect(dialog).toBeVisible(),
    close: async () => {
      await page.keyboard.press('Escape');
      await expect(dialog).toHaveCount(0);
    },
  });
});

test('not-found page', async ({ signedIn: page }) => {
  await page.goto('/missing');
  await expect(page.getByTestId('not-found')).toBeVisible();
  await inBothThemes(page, 'not-found');
});

test('files page in German', async ({ signedIn: page, api }) => {
  await api.upload('Übersicht.txt', 'Inhalt\n', { type: 'text/plain' });
  await page.getByTestId('language-switch').selectOption('de');
  await page.reload();
  await expect(page.getByTestId('nav-files')).toHaveText(t('nav.files', {}, 'de'));
  await expect(page.getByTestId('file-row')).toHaveCount(1);
  await listLoaded(page);
  await inBothThemes(page, 'files-de', { ready: () => listLoaded(page) });
});
