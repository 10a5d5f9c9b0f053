// The profile: the account as the provider described it, the picture, and deleting the
// account with everything in it.

import { Api, createKeyWithSession, expect, makePng, signIn, t, test } from './fixtures';

test('the profile shows the account from the provider and takes a new picture', async ({ signedIn: page, user }) => {
  await page.getByTestId('user-menu').click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(t('profile.title'));
  await expect(page.getByTestId('profile-name')).toHaveText(user.name);
  await expect(page.getByTestId('profile-email')).toHaveText(user.email);

  // Not an image: refused in the page.
  await page.getByTestId('profile-picture-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('no\n') });
  await expect(page.getByTestId('toast-error')).toHaveText(t('profile.picture.badType'));

  const picture = makePng(96, 96, 220);
  await page.getByTestId('profile-picture-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: picture });
  await expect(page.getByTestId('toast-success')).toHaveText(t('profile.picture.updated'));
  const avatar = page.locator('.profile__avatar img');
  await expect(avatar).toBeVisible();
  await expect.poll(() => avatar.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : -1))).toBe(96);
  // The header's avatar shows it too, and it is kept.
  await expect(page.getByTestId('user-menu').locator('img')).toBeVisible();
  const profile = (await (await page.request.get('/api/profile')).json()) as { image: string | null };
  expect(profile.image).toBeTruthy();
  const served = await page.request.get(profile.image!);
  expect(served.status()).toBe(200);
  expect(served.headers()['content-type']).toBe('image/png');
  await page.reload();
  await expect.poll(() => page.locator('.profile__avatar img').evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : -1))).toBe(96);
});

test('deleting the account removes its files and keys and signs out', async ({ signedIn: page, api, user, context }) => {
  const file = await api.upload('doomed.txt', 'gone soon\n', { type: 'text/plain' });
  const second = new Api((await createKeyWithSession(page, 'second')).key);
  expect((await second.request('GET', `/api/files/${file.id}`)).status).toBe(200);

  await page.getByTestId('nav-profile').click();
  await page.getByTestId('profile-delete').click();
  const dialog = page.getByTestId('profile-delete-dialog');
  await expect(dialog).toContainText(t('profile.delete.prompt', { email: user.email }));
  const confirm = dialog.getByTestId('profile-delete-confirm');
  await expect(confirm).toBeDisabled();
  await dialog.getByTestId('profile-delete-input').fill('someone-else@example.test');
  await expect(confirm).toBeDisabled();
  await dialog.getByTestId('profile-delete-input').fill(user.email);
  await expect(confirm).toBeEnabled();
  await confirm.click();

  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByTestId('toast-success')).toHaveText(t('profile.delete.done'));
  expect((await page.request.get('/api/auth/session')).status()).toBe(401);
  // The keys went with the account.
  await expect.poll(async () => (await api.request('GET', '/api/files')).status, { timeout: 15_000 }).toBe(401);
  await expect.poll(async () => (await second.request('GET', '/api/files')).status, { timeout: 15_000 }).toBe(401);

  // Signing in again as the same person starts afresh.
  await context.clearCookies();
  await signIn(page, user);
  await expect(page.getByTestId('files-empty')).toBeVisible();
  expect((await page.request.get(`/api/files/${file.id}`)).status()).toBe(404);
  await page.getByTestId('nav-keys').click();
  await expect(page.getByTestId('keys-empty')).toBeVisible();
});
