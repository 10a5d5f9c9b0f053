// API keys: created in the UI, used by a plain HTTP client (Node's fetch, outside the
// browser), revoked in the UI, refused from then on.

import { Api, expect, t, test } from './fixtures';

test('create an API key, use it with an HTTP client, revoke it', async ({ signedIn: page }) => {
  await page.getByTestId('nav-keys').click();
  await expect(page).toHaveURL(/\/keys$/);
  await expect(page.getByTestId('keys-empty')).toBeVisible();

  await page.getByTestId('key-name').fill('Backup script');
  await page.getByTestId('key-expiry').selectOption('30d');
  await page.getByTestId('key-create-submit').click();

  const reveal = page.getByTestId('key-reveal');
  await expect(reveal).toBeVisible();
  await expect(reveal).toContainText(t('keys.reveal.warning'));
  const key = await page.getByTestId('key-reveal-value').inputValue();
  expect(key).toMatch(/^fv_[0-9A-Za-z]{8}_[0-9A-Za-z]{32,}$/);
  // The list and the usage hint show the key's prefix (the part after fv_ that identifies it).
  const prefix = key.split('_')[1];

  const row = page.getByTestId('key-row');
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-status', 'active');
  await expect(row).toContainText('Backup script');
  await expect(row).toContainText(prefix);
  await expect(row).toContainText(t('keys.neverUsed'));

  // The key works for a program that is not the browser.
  const api = new Api(key);
  const listed = await api.request('GET', '/api/files');
  expect(listed.status).toBe(200);
  expect(await listed.json()).toMatchObject({ items: [], total: 0 });
  const uploaded = await api.upload('from-a-script.txt', 'uploaded with an API key\n', { type: 'text/plain' });
  expect(uploaded.originalName).toBe('from-a-script.txt');

  // ... and what it did shows in the UI.
  await page.getByTestId('nav-files').click();
  await expect(page.getByTestId('file-row')).toHaveCount(1);
  await expect(page.getByTestId('file-name')).toHaveText('from-a-script.txt');

  // The list never holds the secret; "last used" is filled in.
  await expect
    .poll(async () => {
      const keys = (await (await page.request.get('/api/keys')).json()) as Array<Record<string, unknown>>;
      return keys.length === 1 && !('key' in keys[0]) && keys[0].lastUsedAt !== null;
    }, { message: 'GET /api/keys shows lastUsedAt and never the key', timeout: 15_000 })
    .toBe(true);
  await page.getByTestId('nav-keys').click();
  await expect(page.getByTestId('key-reveal')).toHaveCount(0);
  await expect(page.getByTestId('key-row')).not.toContainText(t('keys.neverUsed'));
  await expect(page.getByTestId('key-row')).not.toContainText(key);

  // Revoke: the dialog can be cancelled, then confirmed.
  await page.getByTestId('key-revoke').click();
  const dialog = page.getByTestId('key-revoke-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(t('keys.confirmRevoke.text', { name: 'Backup script' }));
  await dialog.getByTestId('confirm-cancel').click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('key-row')).toHaveAttribute('data-status', 'active');

  await page.getByTestId('key-revoke').click();
  await page.getByTestId('key-revoke-dialog').getByTestId('confirm-ok').click();
  await expect(page.getByTestId('toast-success')).toContainText(t('keys.revoked', { name: 'Backup script' }));
  await expect(page.getByTestId('key-row')).toHaveAttribute('data-status', 'revoked');
  await expect(page.getByTestId('key-row')).toContainText(t('keys.status.revoked'));
  await expect(page.getByTestId('key-revoke')).toHaveCount(0);

  // API.md: refused by every gateway replica within 10 s at most.
  await expect
    .poll(async () => (await api.request('GET', '/api/files')).status, { message: 'the revoked key is refused', timeout: 15_000, intervals: [500] })
    .toBe(401);

  // The revocation survives a reload.
  await page.reload();
  await expect(page.getByTestId('key-row')).toHaveAttribute('data-status', 'revoked');
});

test('a key needs a name, and the new key is shown once only', async ({ signedIn: page }) => {
  await page.goto('/keys');
  // The browser's own check stops an empty name; nothing is created.
  await page.getByTestId('key-create-submit').click();
  await expect(page.getByTestId('key-reveal')).toHaveCount(0);
  expect(await page.getByTestId('key-name').evaluate((input: HTMLInputElement) => input.validity.valueMissing)).toBe(true);
  // Only spaces: the page's own check.
  await page.getByTestId('key-name').fill('   ');
  await page.getByTestId('key-create-submit').click();
  await expect(page.getByTestId('key-error')).toHaveText(t('keys.form.nameRequired'));

  await page.getByTestId('key-name').fill('Laptop');
  await page.getByTestId('key-create-submit').click();
  await expect(page.getByTestId('key-reveal-value')).toHaveValue(/^fv_/);
  await expect(page.getByTestId('key-error')).toHaveCount(0);
  await page.getByTestId('key-reveal-done').click();
  await expect(page.getByTestId('key-reveal')).toHaveCount(0);
  await expect(page.getByTestId('key-row')).toHaveCount(1);
  await page.reload();
  await expect(page.getByTestId('key-row')).toHaveCount(1);
  await expect(page.getByTestId('key-reveal')).toHaveCount(0);
});

test('the usage hint shows how the key really starts', async ({ signedIn: page }) => {
  await page.goto('/keys');
  await page.getByTestId('key-name').fill('Hint');
  await page.getByTestId('key-create-submit').click();
  const key = await page.getByTestId('key-reveal-value').inputValue();
  const start = key.slice(0, key.indexOf('_', 3) + 1);
  await expect(page.getByTestId('key-reveal').locator('code')).toHaveText(`Authorization: Bearer ${start}…`, { timeout: 2_000 });
});
