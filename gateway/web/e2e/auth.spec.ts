// Sign-in through the real OpenID provider, the route guards, sign-out, and that accounts
// are kept apart.

import { initials } from '../src/lib/initials';
import { Api, createKeyWithSession, env, expect, newUser, signIn, steerSignIn, t, test, useAccount } from './fixtures';

test('the sign-in page offers the configured provider, and the app asks to sign in first', async ({ page }) => {
  const providers = await page.request.get('/api/auth/providers');
  expect(providers.status()).toBe(200);
  expect(await providers.json()).toEqual([{ id: 'local', name: env.providerName, kind: 'oidc' }]);

  await page.goto('/keys');
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fkeys$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(t('signin.title'));
  await expect(page).toHaveTitle(t('app.titleWith', { page: t('signin.pageTitle') }));
  const list = page.getByTestId('signin-providers');
  await expect(list.getByRole('listitem')).toHaveCount(1);
  const button = page.getByTestId('signin-provider-local');
  await expect(button).toHaveText(t('signin.with', { name: env.providerName }));
  await expect(button).toHaveAttribute('href', '/api/auth/signin/local?callbackUrl=%2Fkeys');
  // The development sign-in is off in this configuration.
  await expect(page.getByTestId('signin-dev-form')).toHaveCount(0);
  await expect(page.getByTestId('user-menu')).toHaveCount(0);
});

test('signing in through the provider returns to the page that was asked for', async ({ page, context, user }) => {
  await useAccount(context, user.login);
  await page.goto('/keys');
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fkeys$/);
  await page.getByTestId('signin-provider-local').click();

  await expect(page).toHaveURL(`${env.baseURL}/keys`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(t('keys.title'));
  await expect(page.getByTestId('nav-keys')).toHaveAttribute('aria-current', 'page');
  // No picture: the initials it shows begin its name (WCAG 2.5.3, label in name).
  await expect(page.getByTestId('user-menu')).toHaveAttribute(
    'aria-label',
    t('nav.accountInitials', { initials: initials(user), name: user.name }),
  );

  const session = await page.request.get('/api/auth/session');
  expect(session.status()).toBe(200);
  const body = (await session.json()) as { user: { email: string; name: string }; expiresAt: string };
  expect(body.user.email).toBe(user.email);
  expect(body.user.name).toBe(user.name);
  expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());

  const cookie = (await context.cookies()).find((entry) => entry.name === 'fv_session');
  expect(cookie, 'the session cookie').toBeTruthy();
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe('Lax');
});

test('signing out ends the session on the server', async ({ signedIn: page }) => {
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByTestId('signin-provider-local')).toBeVisible();
  expect((await page.request.get('/api/auth/session')).status()).toBe(401);

  // Every page of the app now leads to the sign-in page.
  await page.goto('/profile');
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fprofile$/);
  await expect(page.getByTestId('user-menu')).toHaveCount(0);
});

test('signing out from the profile page', async ({ signedIn: page }) => {
  await page.getByTestId('nav-profile').click();
  await page.getByTestId('profile-sign-out').click();
  await expect(page).toHaveURL(/\/signin$/);
  expect((await page.request.get('/api/auth/session')).status()).toBe(401);
});

test('a sign-in refused at the provider comes back with a message', async ({ page, context }) => {
  // The provider answers the authorization request with access_denied, as a real one does
  // when the person clicks "cancel": back to the gateway's callback with the same state.
  await steerSignIn(context, (authorization) => {
    const back = new URL(authorization.searchParams.get('redirect_uri') ?? '');
    back.searchParams.set('error', 'access_denied');
    back.searchParams.set('state', authorization.searchParams.get('state') ?? '');
    return back.href;
  });
  await page.goto('/signin');
  await page.getByTestId('signin-provider-local').click();
  await expect(page).toHaveURL(/\/signin\?error=access_denied$/);
  await expect(page.getByTestId('signin-error')).toHaveText(t('signin.error.access_denied'));
  expect((await page.request.get('/api/auth/session')).status()).toBe(401);

  // Any other code has the generic message.
  await page.goto('/signin?error=sign_in_failed');
  await expect(page.getByTestId('signin-error')).toHaveText(t('signin.failed'));
});

test('a callback without a sign-in in progress is refused', async ({ page }) => {
  await page.goto('/api/auth/callback/local?code=forged&state=forged');
  await expect(page).toHaveURL(/\/signin\?error=/);
  await expect(page.getByTestId('signin-error')).toBeVisible();
  expect((await page.request.get('/api/auth/session')).status()).toBe(401);
});

test('two accounts see only their own files', async ({ signedIn: page, api, browser }) => {
  const mine = await api.upload('only-mine.txt', 'private words\n', { type: 'text/plain' });
  await page.reload();
  await expect(page.getByTestId('file-row')).toHaveCount(1);

  const other = newUser('other');
  const context = await browser.newContext({ baseURL: env.baseURL });
  try {
    const otherPage = await context.newPage();
    await signIn(otherPage, other);
    await expect(otherPage.getByTestId('files-empty')).toBeVisible();
    await expect(otherPage.getByTestId('files-empty')).toContainText(t('files.empty.title'));
    // Someone else's file is "not found", by id too, for the session and for an API key.
    expect((await otherPage.request.get(`/api/files/${mine.id}`)).status()).toBe(404);
    const otherKey = await createKeyWithSession(otherPage, 'other');
    const otherApi = new Api(otherKey.key);
    expect((await otherApi.request('GET', `/api/files/${mine.id}`)).status).toBe(404);
    expect((await otherApi.request('GET', `/api/download/${mine.id}`)).status).toBe(404);
    expect((await otherApi.files()).total).toBe(0);
  } finally {
    await context.close();
  }
});

test('an unknown path shows the not-found page inside the app', async ({ signedIn: page }) => {
  await page.goto('/no/such/page');
  await expect(page.getByTestId('not-found')).toBeVisible();
  await expect(page.getByTestId('not-found')).toContainText(t('notFound.title'));
  await page.getByRole('link', { name: t('notFound.home') }).click();
  await expect(page).toHaveURL(`${env.baseURL}/`);
  await expect(page.getByRole('heading', { name: t('files.heading') })).toBeVisible();
});
