// Theme and language: switched in the header and on the profile page, kept in localStorage
// across reloads and new tabs, and the system's or browser's choice until one is made.

import type { Page } from '@playwright/test';
import { env, expect, signIn, t, test } from './fixtures';

const storage = (page: Page, key: string) => page.evaluate((name) => window.localStorage.getItem(name), key);
const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);

test('the theme follows the system until switched, then stays switched', async ({ signedIn: page, context }) => {
  const html = page.locator('html');
  const toggle = page.getByTestId('theme-toggle');

  // Nothing chosen: the system's (light) theme.
  await expect(html).toHaveAttribute('data-theme', 'light');
  await expect(toggle).toHaveAttribute('data-theme-current', 'light');
  await expect(toggle).toHaveAttribute('aria-label', t('theme.toDark'));
  expect(await storage(page, 'flowsvault.theme')).toBeNull();
  const light = await background(page);

  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(toggle).toHaveAttribute('data-theme-current', 'dark');
  await expect(toggle).toHaveAttribute('aria-label', t('theme.toLight'));
  expect(await storage(page, 'flowsvault.theme')).toBe('dark');
  // Polled: even with reduced motion the colour change is a (0.01 ms) transition, so the
  // computed background may still be the old one for a frame after the switch.
  await expect
    .poll(() => background(page), { message: 'the dark theme has another background' })
    .not.toBe(light);
  const dark = await background(page);

  // Kept across a reload (applied before the first paint) and in a new tab.
  await page.reload();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByTestId('user-menu')).toBeVisible();
  await expect.poll(() => background(page)).toBe(dark);
  const tab = await context.newPage();
  await tab.goto('/keys');
  await expect(tab.locator('html')).toHaveAttribute('data-theme', 'dark');
  await tab.close();

  // The profile page's choice: system, light, dark.
  await page.getByTestId('nav-profile').click();
  const select = page.getByTestId('theme-select');
  await expect(select).toHaveValue('dark');
  await select.selectOption('system');
  expect(await storage(page, 'flowsvault.theme')).toBeNull();
  await expect(html).toHaveAttribute('data-theme', 'light');
  // "System" follows the system as it changes.
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(html).toHaveAttribute('data-theme', 'light');
  await select.selectOption('light');
  expect(await storage(page, 'flowsvault.theme')).toBe('light');
  // A chosen theme no longer follows the system.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.reload();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await expect(page.getByTestId('theme-select')).toHaveValue('light');
});

test('the language switches everything at once and is kept', async ({ signedIn: page, context }) => {
  const html = page.locator('html');
  await expect(html).toHaveAttribute('lang', 'en');
  await expect(page.getByTestId('nav-files')).toHaveText(t('nav.files'));

  await page.getByTestId('language-switch').selectOption('de');
  await expect(html).toHaveAttribute('lang', 'de');
  await expect(page.getByTestId('nav-files')).toHaveText(t('nav.files', {}, 'de'));
  await expect(page.getByTestId('nav-keys')).toHaveText(t('nav.keys', {}, 'de'));
  await expect(page.getByRole('heading', { name: t('files.heading', {}, 'de') })).toBeVisible();
  await expect(page.getByTestId('drop-zone')).toContainText(t('upload.drop.title', {}, 'de'));
  await expect(page).toHaveTitle(t('app.titleWith', { page: t('files.title', {}, 'de') }, 'de'));
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('aria-label', t('theme.toDark', {}, 'de'));
  expect(await storage(page, 'flowsvault.language')).toBe('de');

  // Kept across a reload and in a new tab.
  await page.reload();
  await expect(html).toHaveAttribute('lang', 'de');
  await expect(page.getByTestId('nav-files')).toHaveText(t('nav.files', {}, 'de'));
  const tab = await context.newPage();
  await tab.goto('/keys');
  await expect(tab.getByRole('heading', { level: 1 })).toHaveText(t('keys.title', {}, 'de'));
  await tab.close();

  // The profile page has the same switch.
  await page.getByTestId('nav-profile').click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(t('profile.title', {}, 'de'));
  await expect(page.getByTestId('profile-language')).toHaveValue('de');

  // Signed out, the sign-in page speaks German too; and back to English there.
  await page.getByTestId('profile-sign-out').click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(t('signin.title', {}, 'de'));
  await expect(page.getByTestId('signin-provider-local')).toHaveText(t('signin.with', { name: env.providerName }, 'de'));
  await page.getByTestId('language-switch').selectOption('en');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(t('signin.title'));
  await expect(html).toHaveAttribute('lang', 'en');
  expect(await storage(page, 'flowsvault.language')).toBe('en');
});

test('without a stored choice the browser language decides', async ({ browser, user }) => {
  const context = await browser.newContext({ baseURL: env.baseURL, locale: 'de-DE' });
  try {
    const page = await context.newPage();
    await page.goto('/');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(t('signin.title', {}, 'de'));
    await expect(page.locator('html')).toHaveAttribute('lang', 'de');
    await signIn(page, user);
    await expect(page.getByTestId('nav-files')).toHaveText(t('nav.files', {}, 'de'));
    await expect(page.getByTestId('language-switch')).toHaveValue('de');
    // Nothing was stored: it is still the browser's choice.
    expect(await page.evaluate(() => window.localStorage.getItem('flowsvault.language'))).toBeNull();
  } finally {
    await context.close();
  }
});
