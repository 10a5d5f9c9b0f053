// The API reference at /docs: public, rendered from the gateway's own OpenAPI document,
// narrowed by the filter, with in-page links that lead where they say; axe and screenshots in
// both themes, in German and at a phone's width; what happens when the document is missing.

import type { Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { checkAccessibility, env, expect, setTheme, t, tn, test, useAccount, type Theme } from './fixtures';

const THEMES: Theme[] = ['light', 'dark'];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface OpenApiDocument {
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

/** The document as the gateway serves it: what the page must show. */
async function openApiDocument(page: Page): Promise<OpenApiDocument> {
  const response = await page.request.get('/api/openapi.json');
  expect(response.status(), 'GET /api/openapi.json').toBe(200);
  return (await response.json()) as OpenApiDocument;
}

function operationCount(described: OpenApiDocument): number {
  return Object.values(described.paths).flatMap((item) => Object.keys(item).filter((key) => METHODS.includes(key))).length;
}

const operation = (page: Page, method: string, route: string) => page.locator(`[data-testid="docs-operation"][data-method="${method}"][data-path="${route}"]`);
const schema = (page: Page, name: string) => page.locator(`[data-testid="docs-schema"][data-schema="${name}"]`);
const loaded = (page: Page) => expect(page.getByTestId('docs-operation').first()).toBeVisible();

/**
 * Saves the screen as it is as data/e2e/screenshots/NAME.png. Not the fixtures' full-page
 * helper: the whole reference is tens of thousands of pixels tall, more than a browser
 * captures in one image.
 */
async function screenshotView(page: Page, name: string): Promise<void> {
  const file = path.join(env.out, 'screenshots', `${name}.png`);
  mkdirSync(path.dirname(file), { recursive: true });
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
}

test('a visitor who is not signed in reads the API reference', async ({ page }) => {
  const described = await openApiDocument(page);
  await page.goto('/docs');
  await loaded(page);
  // Public: no detour to the sign-in page, and a way there.
  await expect(page).toHaveURL(`${env.baseURL}/docs`);
  await expect(page.getByTestId('user-menu')).toHaveCount(0);
  await expect(page.getByTestId('docs-signin')).toHaveAttribute('href', '/signin?callbackUrl=%2Fdocs');

  await expect(page.getByRole('heading', { level: 1 })).toHaveText(described.info.title);
  await expect(page).toHaveTitle(t('app.titleWith', { page: t('docs.title') }));
  await expect(page.getByTestId('docs-page')).toContainText(t('docs.version', { version: described.info.version }));
  await expect(page.getByTestId('docs-json')).toHaveAttribute('href', '/api/openapi.json');
  await expect(page.getByTestId('docs-operation')).toHaveCount(operationCount(described));

  // Authentication: the API key, the session cookie and the cron secret, and how to send each.
  const auth = page.getByTestId('docs-auth');
  await expect(auth.getByTestId('docs-security-scheme')).toHaveCount(3);
  await expect(auth.locator('[data-scheme="apiKey"]')).toContainText('Authorization: Bearer fv_');
  await expect(auth.locator('[data-scheme="session"]')).toContainText('fv_session');
  await expect(auth.locator('[data-scheme="cronSecret"]')).toContainText('CRON_SECRET');

  // GET /api/files: its parameters, its responses with their schemas, the keys it accepts.
  const list = operation(page, 'get', '/api/files');
  await expect(list).toHaveCount(1);
  await expect(list.getByRole('heading', { level: 3 })).toHaveText('GET /api/files');
  for (const name of ['page', 'perPage', 'q', 'status', 'sort', 'order']) {
    await expect(list.locator(`[data-parameter="${name}"]`)).toBeVisible();
  }
  await expect(list.locator('tr[data-status="200"]').getByRole('link', { name: 'FilePage', exact: true })).toHaveAttribute('href', '#schema-FilePage');
  await expect(list.locator('tr[data-status="401"]')).toContainText('application/problem+json');
  await expect(list.locator('tr[data-status="401"]').getByRole('link', { name: 'Problem', exact: true })).toBeVisible();
  await expect(list.getByRole('link', { name: 'apiKey', exact: true })).toHaveAttribute('href', '#auth-apiKey');
  await expect(list.getByTestId('docs-curl')).toContainText(`curl '${new URL('/api/files', env.baseURL).href}'`);
  await expect(list.getByTestId('docs-curl')).toContainText("-H 'Authorization: Bearer fv_");
  // Public operations say so.
  await expect(operation(page, 'get', '/api/health')).toContainText(t('docs.op.public'));

  // The File schema, with every field of the document.
  const file = schema(page, 'File');
  await expect(file).toHaveCount(1);
  const fields = Object.keys(described.components.schemas.File.properties ?? {});
  expect(fields).toContain('originalName');
  for (const field of fields) await expect(file.locator(`tr[data-field="${field}"]`)).toHaveCount(1);
  await expect(file.locator('tr[data-field="id"]')).toContainText('string (uuid)');
  await expect(file.locator('tr[data-field="expiresAt"]')).toContainText('| null');

  // The filter narrows the operations and the contents to the key operations...
  const filter = page.getByTestId('docs-filter');
  await filter.fill('/api/keys');
  const shown = page.getByTestId('docs-operation');
  await expect(shown).toHaveCount(3);
  expect(await shown.evaluateAll((nodes) => nodes.map((node) => `${node.getAttribute('data-method')} ${node.getAttribute('data-path')}`))).toEqual([
    'get /api/keys',
    'post /api/keys',
    'delete /api/keys/{id}',
  ]);
  await expect(page.getByTestId('docs-filter-count')).toHaveText(tn('docs.filter.matches', 3));
  const contents = page.getByTestId('docs-toc');
  await expect(contents.getByRole('link', { name: 'POST /api/keys', exact: true })).toBeVisible();
  await expect(contents.getByRole('link', { name: 'GET /api/files', exact: true })).toHaveCount(0);

  // ... and a schema link leads to its schema.
  await operation(page, 'get', '/api/keys').locator('tr[data-status="200"]').getByRole('link', { name: 'ApiKey', exact: true }).click();
  await expect(page).toHaveURL(/#schema-ApiKey$/);
  await expect(schema(page, 'ApiKey')).toBeInViewport();
  await expect(schema(page, 'ApiKey').locator('tr[data-field="prefix"]')).toBeVisible();
  // A key just issued includes those fields, and links back to them.
  const issued = schema(page, 'IssuedApiKey');
  await expect(issued.getByRole('link', { name: 'ApiKey', exact: true })).toHaveAttribute('href', '#schema-ApiKey');
  await expect(issued.locator('tr[data-field="key"]')).toBeVisible();
  await expect(issued.locator('tr[data-field="prefix"]')).toBeVisible();

  // Nothing matches: a message and a way back to everything.
  await filter.fill('no such operation');
  await expect(shown).toHaveCount(0);
  const empty = page.getByTestId('docs-filter-empty');
  await expect(empty).toContainText(t('docs.filter.none', { query: 'no such operation' }));
  await empty.getByRole('button', { name: t('docs.filter.clear') }).click();
  await expect(shown).toHaveCount(operationCount(described));
  // Escape empties the filter too.
  await filter.fill('delete');
  await expect(shown).not.toHaveCount(operationCount(described));
  await filter.press('Escape');
  await expect(filter).toHaveValue('');
  await expect(shown).toHaveCount(operationCount(described));
});

test('the reference can be used with the keyboard, and a link to a part of it opens there', async ({ page }) => {
  await page.goto('/docs#schema-File');
  await loaded(page);
  await expect(schema(page, 'File')).toBeInViewport();

  const filter = page.getByTestId('docs-filter');
  await filter.focus();
  await page.keyboard.type('/api/keys');
  await expect(page.getByTestId('docs-operation')).toHaveCount(3);
  // From the filter, Tab goes on into the contents, in the order they are shown.
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('docs-toc').getByRole('link').first()).toBeFocused();
  const revoke = page.getByTestId('docs-toc').getByRole('link', { name: 'DELETE /api/keys/{id}', exact: true });
  await revoke.focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/#op-revokeKey$/);
  await expect(operation(page, 'delete', '/api/keys/{id}')).toBeInViewport();
});

test('the reference in both themes, in German and at a phone’s width', async ({ page }) => {
  const described = await openApiDocument(page);
  await page.goto('/docs');
  await loaded(page);
  for (const theme of THEMES) {
    await setTheme(page, theme);
    await checkAccessibility(page, `docs-${theme}`);
    await screenshotView(page, `docs-${theme}`);
  }
  await setTheme(page, 'light');
  await operation(page, 'post', '/api/keys').scrollIntoViewIfNeeded();
  await screenshotView(page, 'docs-operation-light');

  // German: the page's own words change, the document's stay as the gateway wrote them.
  await page.getByTestId('language-switch').selectOption('de');
  await expect(page.getByTestId('docs-auth').getByRole('heading', { level: 2 })).toHaveText(t('docs.auth.title', {}, 'de'));
  await expect(page.getByTestId('docs-filter')).toHaveAttribute('placeholder', t('docs.filter.placeholder', {}, 'de'));
  await expect(page.getByTestId('docs-signin')).toHaveText(t('docs.signIn', {}, 'de'));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(described.info.title);
  await expect(page).toHaveTitle(t('app.titleWith', { page: t('docs.title', {}, 'de') }, 'de'));
  await checkAccessibility(page, 'docs-de');
  await page.getByTestId('language-switch').selectOption('en');

  // A phone: nothing wider than the screen, the contents above the operations.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
  for (const theme of THEMES) {
    await setTheme(page, theme);
    await checkAccessibility(page, `docs-phone-${theme}`);
    await screenshotView(page, `docs-phone-${theme}`);
  }
  await operation(page, 'get', '/api/files').scrollIntoViewIfNeeded();
  await screenshotView(page, 'docs-phone-operation-dark');
});

test('signed in, the reference sits inside the app and is linked from the footer and the keys page', async ({ signedIn: page }) => {
  await page.getByTestId('footer-docs').click();
  await expect(page).toHaveURL(`${env.baseURL}/docs`);
  await loaded(page);
  await expect(page.getByTestId('user-menu')).toBeVisible();
  await expect(page.getByTestId('docs-signin')).toHaveCount(0);
  await expect(page.getByTestId('footer-docs')).toHaveAttribute('aria-current', 'page');
  await checkAccessibility(page, 'docs-signed-in');

  await page.getByTestId('nav-keys').click();
  await page.getByRole('link', { name: t('keys.docsLink') }).click();
  await expect(page).toHaveURL(`${env.baseURL}/docs`);
  await loaded(page);
});

test('the sign-in page links to the reference, and signing in from there comes back to it', async ({ page, context, user }) => {
  await useAccount(context, user.login);
  await page.goto('/signin');
  await page.getByTestId('signin-docs').click();
  await expect(page).toHaveURL(`${env.baseURL}/docs`);
  await loaded(page);

  await page.getByTestId('docs-signin').click();
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fdocs$/);
  await page.getByTestId('signin-provider-local').click();
  await expect(page).toHaveURL(`${env.baseURL}/docs`);
  await expect(page.getByTestId('user-menu')).toBeVisible();
  await loaded(page);
});

test('when the document cannot be had, the page says so and tries again on request', async ({ page }) => {
  // First the gateway fails, then it answers something that is no OpenAPI document, then the real one.
  const answers = [
    {
      status: 503,
      contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'urn:flowsvault:problem:upstream_unavailable', title: 'Unavailable', status: 503, detail: 'down', code: 'upstream_unavailable' }),
    },
    { status: 200, contentType: 'application/json', body: '{"hello":"world"}' },
  ];
  await page.route('**/api/openapi.json', async (route) => {
    const answer = answers.shift();
    if (answer) await route.fulfill(answer);
    else await route.continue();
  });

  await page.goto('/docs');
  const error = page.getByTestId('docs-error');
  await expect(error).toContainText(t('docs.failed'));
  await expect(error).toContainText(t('errors.upstream_unavailable'));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(t('docs.title'));
  await checkAccessibility(page, 'docs-error');

  await page.getByTestId('docs-retry').click();
  await expect(error).toContainText(t('docs.invalid'));

  await page.getByTestId('docs-retry').click();
  await loaded(page);
  await expect(error).toHaveCount(0);
});
