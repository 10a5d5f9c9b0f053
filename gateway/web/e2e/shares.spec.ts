// Share links: made in the share dialog, opened by someone without an account (a fresh
// browser context: no cookies, no storage), used up after their download limit.

import { readFileSync } from 'node:fs';
import { checkAccessibility, env, expect, screenshot, setTheme, t, test } from './fixtures';

test.describe('share links', () => {
  test('a link with max downloads 1 works once, in a fresh browser', async ({ signedIn: page, api, browser }) => {
    const content = 'shared once and only once\n';
    const file = await api.upload('shared.txt', content, { type: 'text/plain' });
    await page.reload();
    const row = page.locator(`[data-testid="file-row"][data-file-id="${file.id}"]`);

    await row.getByTestId('file-share').click();
    const dialog = page.getByTestId('share-dialog');
    await expect(dialog).toBeVisible();
    await expect(dialog.getByTestId('share-empty')).toHaveText(t('share.none'));
    await dialog.getByTestId('share-expiry').selectOption('1d');
    // A limit that is not a whole number of at least 1 is refused in the form (by the
    // browser's own check of the number field): nothing is created.
    const limit = dialog.getByTestId('share-max-downloads');
    await limit.fill('0');
    await dialog.getByTestId('share-create').click();
    expect(await limit.evaluate((input: HTMLInputElement) => input.validity.rangeUnderflow)).toBe(true);
    await expect(dialog.getByTestId('share-result')).toHaveCount(0);
    await expect(dialog.getByTestId('share-empty')).toBeVisible();
    await dialog.getByTestId('share-max-downloads').fill('1');
    await dialog.getByTestId('share-create').click();

    await expect(dialog.getByTestId('share-error')).toHaveCount(0);
    const link = await dialog.getByTestId('share-link').inputValue();
    expect(link.startsWith(`${env.baseURL}/s/`), `${link} is a link of this site`).toBe(true);
    const token = new URL(link).pathname.split('/').pop()!;
    const item = dialog.getByTestId('share-item');
    await expect(item).toHaveCount(1);
    await expect(item).toContainText(t('share.downloadsOf', { count: 0, max: 1 }));

    // Someone without an account opens the link.
    const stranger = await browser.newContext({ baseURL: env.baseURL });
    try {
      const shared = await stranger.newPage();
      await shared.goto(link);
      await expect(shared.getByText('shared.txt')).toBeVisible();
      // The public page has no theme switch: it follows the system's scheme.
      for (const scheme of ['light', 'dark'] as const) {
        await shared.emulateMedia({ colorScheme: scheme });
        await checkAccessibility(shared, `share-page-${scheme}`);
        await screenshot(shared, `share-page-${scheme}`);
      }
      await shared.emulateMedia({ colorScheme: 'light' });
      const [download] = await Promise.all([
        shared.waitForEvent('download'),
        shared.getByRole('link', { name: /download/i }).or(shared.getByRole('button', { name: /download/i })).first().click(),
      ]);
      expect(readFileSync(await download.path(), 'utf8')).toBe(content);

      // The second download is refused: the link is used up.
      const again = await stranger.request.get(`/api/s/${token}/download`);
      expect(again.status()).toBe(410);
      await shared.reload();
      await expect(shared.getByRole('link', { name: /download/i }).or(shared.getByRole('button', { name: /download/i }))).toHaveCount(0);
      await checkAccessibility(shared, 'share-page-used-up');
      await screenshot(shared, 'share-page-used-up');
    } finally {
      await stranger.close();
    }

    // The owner sees the download counted.
    await dialog.getByTestId('modal-close').click();
    await row.getByTestId('file-share').click();
    await expect(page.getByTestId('share-item')).toContainText(t('share.downloadsOf', { count: 1, max: 1 }));

    // Accessibility and screenshots of the dialog with a link in it, in both themes (the
    // header's theme toggle is inert while a modal dialog is open).
    for (const theme of ['light', 'dark'] as const) {
      await page.getByTestId('modal-close').click();
      await setTheme(page, theme);
      await row.getByTestId('file-share').click();
      await expect(page.getByTestId('share-item')).toHaveCount(1);
      await checkAccessibility(page, `share-dialog-${theme}`);
      await screenshot(page, `share-dialog-${theme}`);
    }

    // Revoking: the link is gone for everyone.
    await page.getByTestId('share-revoke').click();
    await expect(page.getByTestId('toast-success')).toContainText(t('share.revoked'));
    await expect(page.getByTestId('share-empty')).toBeVisible();
    expect((await api.request('GET', `/api/s/${token}`)).status).toBe(404);
  });
});
