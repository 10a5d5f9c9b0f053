// What every spec shares: the settings from deploy/local/e2e.sh, an account of its own for
// each test, sign-in through the real OpenID provider, an HTTP client with an API key, the
// UI's own message catalogs, the accessibility check (axe-core) and screenshots.

import { test as base, expect, type BrowserContext, type Page, type TestInfo } from '@playwright/test';
import axe from 'axe-core';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import de from '../src/i18n/de';
import en from '../src/i18n/en';
import type { CreatedApiKey, FilePage, StoredFile } from '../src/api/types';

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with deploy/local/e2e.sh`);
  return value;
}

export const env = {
  baseURL: setting('FV_E2E_BASE_URL'),
  issuer: setting('FV_E2E_ISSUER'),
  out: setting('FV_E2E_OUT'),
  providerName: 'Local OpenID provider',
};

// --- messages: the assertions read the same catalogs as the UI ---------------------------

export type Locale = 'en' | 'de';
export type MessageKey = keyof typeof en;
type Params = Record<string, string | number>;
const catalogs: Record<Locale, Record<MessageKey, string>> = { en, de };

export function t(key: MessageKey, params: Params = {}, locale: Locale = 'en'): string {
  return catalogs[locale][key].replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match));
}

/** A plural family (`files.deleted.many` → `_one` / `_other`), as the UI picks it. */
export function tn(base: string, count: number, params: Params = {}, locale: Locale = 'en'): string {
  const category = new Intl.PluralRules(locale).select(count);
  const key = (`${base}_${category}` in en ? `${base}_${category}` : `${base}_other`) as MessageKey;
  return t(key, { count: new Intl.NumberFormat(locale).format(count), ...params }, locale);
}

// --- accounts and sign-in ----------------------------------------------------------------

export interface TestUser {
  /** The provider's account id (its login_hint). */
  login: string;
  email: string;
  name: string;
}

export function newUser(label = 'u'): TestUser {
  const login = `e2e-${label}-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  // What deploy/local/oidc/server.mjs says about every account.
  return { login, email: `${login}@example.test`, name: login.charAt(0).toUpperCase() + login.slice(1) };
}

type Steer = (authorization: URL) => string;
const steering = new WeakMap<BrowserContext, { steer: Steer }>();

/**
 * Changes where the gateway sends this context's browser at the provider: the gateway's
 * answer to GET /api/auth/signin/local (a redirect to the provider's authorization endpoint,
 * with the gateway's sign-in cookie) is fetched as it is and handed to the browser with the
 * Location that `steer` makes of it. Everything else of the flow is untouched. (A route on
 * the provider itself would not do: Playwright does not route the hops of a redirect.)
 */
export async function steerSignIn(context: BrowserContext, steer: Steer): Promise<void> {
  const known = steering.get(context);
  if (known) {
    known.steer = steer;
    return;
  }
  const state = { steer };
  steering.set(context, state);
  const start = new URL('/api/auth/signin/local', env.baseURL);
  await context.route(
    (url) => url.origin === start.origin && url.pathname === start.pathname,
    async (route) => {
      const response = await route.fetch({ maxRedirects: 0 });
      const location = response.headers()['location'];
      if (response.status() < 300 || response.status() > 399 || !location) {
        await route.fulfill({ response });
        return;
      }
      await route.fulfill({ response, headers: { ...response.headers(), location: state.steer(new URL(location, env.baseURL)) } });
    },
  );
}

/** Makes the provider sign this context in as `login` (it signs in whoever login_hint names). */
export async function useAccount(context: BrowserContext, login: string): Promise<void> {
  await steerSignIn(context, (authorization) => {
    authorization.searchParams.set('login_hint', login);
    return authorization.href;
  });
}

/** Signs in through the sign-in page and the provider; ends on `target` (a path of the app). */
export async function signIn(page: Page, user: TestUser, target = '/'): Promise<void> {
  await useAccount(page.context(), user.login);
  await page.goto(target);
  await expect(page).toHaveURL(/\/signin(\?|$)/);
  await page.getByTestId(`signin-provider-local`).click();
  await expect(page.getByTestId('user-menu')).toBeVisible();
}

// --- an HTTP client with an API key (seeding and checking behind the UI's back) --------------

export class Api {
  constructor(
    readonly key: string,
    readonly baseURL = env.baseURL,
  ) {}

  request(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
    return fetch(new URL(path, this.baseURL), {
      method,
      body: init.body,
      headers: { Authorization: `Bearer ${this.key}`, ...init.headers },
      redirect: 'manual',
    });
  }

  async upload(name: string, content: Buffer | string, options: { type?: string; duration?: string } = {}): Promise<StoredFile> {
    const form = new FormData();
    if (options.duration) form.append('duration', options.duration);
    const part = typeof content === 'string' ? content : new Uint8Array(content);
    form.append('file', new Blob([part], { type: options.type ?? 'application/octet-stream' }), name);
    const response = await this.request('POST', '/api/upload', { body: form });
    if (response.status !== 201) throw new Error(`seeding ${name}: POST /api/upload answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as StoredFile;
  }

  async files(query: Record<string, string | number> = {}): Promise<FilePage> {
    const search = new URLSearchParams(Object.entries(query).map(([name, value]) => [name, String(value)]));
    const response = await this.request('GET', `/api/files?${search}`);
    expect(response.status, 'GET /api/files').toBe(200);
    return (await response.json()) as FilePage;
  }
}

/** A new API key of the signed-in user of `page`, made with its session cookie. */
export async function createKeyWithSession(page: Page, name: string): Promise<CreatedApiKey> {
  const response = await page.request.post('/api/keys', {
    data: { name },
    // The gateway's CSRF check wants the Origin that a browser sends with its own requests.
    headers: { Origin: env.baseURL },
  });
  expect(response.status(), `POST /api/keys: ${await response.text()}`).toBe(201);
  return (await response.json()) as CreatedApiKey;
}

// --- test data ---------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A real PNG (RGB gradient) of the given size. */
export function makePng(width: number, height: number, blue = 160): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0;
    for (let x = 0; x < width; x++) {
      raw[row + 1 + x * 3] = Math.round((x * 255) / Math.max(1, width - 1));
      raw[row + 2 + x * 3] = Math.round((y * 255) / Math.max(1, height - 1));
      raw[row + 3 + x * 3] = blue;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(2, 9); // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Incompressible bytes: what a large upload should look like on the wire. */
export function randomContent(size: number): Buffer {
  return randomBytes(size);
}

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Writes `content` to a file of this test's output directory (for inputs above 50 MB and reloads). */
export function testFile(testInfo: TestInfo, name: string, content: Buffer): string {
  const file = testInfo.outputPath(name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

// --- drag and drop of files from outside the page -------------------------------------------

/** Drags files onto `selector` as the operating system would: dragenter, dragover, drop. */
export async function dropFiles(
  page: Page,
  selector: string,
  files: Array<{ name: string; type: string; content: Buffer | string }>,
  beforeDrop?: () => Promise<void>,
): Promise<void> {
  const payload = files.map((file) => ({ name: file.name, type: file.type, base64: Buffer.from(file.content).toString('base64') }));
  const dataTransfer = await page.evaluateHandle((entries) => {
    const transfer = new DataTransfer();
    for (const entry of entries) {
      const bytes = Uint8Array.from(atob(entry.base64), (char) => char.charCodeAt(0));
      transfer.items.add(new File([bytes], entry.name, { type: entry.type }));
    }
    return transfer;
  }, payload);
  const target = page.locator(selector);
  await target.dispatchEvent('dragenter', { dataTransfer });
  await target.dispatchEvent('dragover', { dataTransfer });
  if (beforeDrop) await beforeDrop();
  await target.dispatchEvent('drop', { dataTransfer });
  await dataTransfer.dispose();
}

// --- themes, screenshots, accessibility -----------------------------------------------------------

export type Theme = 'light' | 'dark';

/** Switches the theme with the header's toggle (present signed in and out). */
export async function setTheme(page: Page, theme: Theme): Promise<void> {
  const toggle = page.getByTestId('theme-toggle').first();
  if ((await toggle.getAttribute('data-theme-current')) !== theme) await toggle.click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
  await expect(toggle).toHaveAttribute('data-theme-current', theme);
  // Colour transitions end before anything looks at the colours: the style is flushed (the
  // transitions start), two frames pass, then whatever still runs finishes.
  await page.evaluate(async () => {
    void getComputedStyle(document.body).color;
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    await Promise.all(document.getAnimations().map((animation) => animation.finished.catch(() => undefined)));
  });
}

/** Saves a full-page screenshot as data/e2e/screenshots/NAME.png for a reviewer. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(env.out, 'screenshots', `${name}.png`);
  mkdirSync(path.dirname(file), { recursive: true });
  // Let fonts and images settle; toasts are part of the page and stay.
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
  return file;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; summary: string }>;
}

/**
 * Serious violations that are known UI bugs, reported to the UI's owners: each is recorded
 * (data/e2e/axe/*.json, the test's annotations, the summary) but does not fail the run.
 * Delete an entry once its bug is fixed; a new violation, or one of these elsewhere, fails.
 */
export const KNOWN_A11Y_BUGS: Array<{ rule: string; target: RegExp; bug: string }> = [];

// axe-core as a function: Playwright sends a function's text with Runtime.callFunctionOn, which
// the page's strict CSP (no eval) does not stop; the script sets window.axe itself.
const injectAxe = new Function(`${axe.source}\n;return typeof window.axe;`) as () => string;

/**
 * Runs axe-core on the page as it is now, saves the result as data/e2e/axe/LABEL.json and
 * fails the test (softly: the other checks still run) on any serious or critical violation
 * that is not a known bug.
 */
export async function checkAccessibility(page: Page, label: string): Promise<AxeViolation[]> {
  if ((await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe)) === 'undefined') {
    expect(await page.evaluate(injectAxe)).toBe('object');
  }
  const violations: AxeViolation[] = await page.evaluate(async () => {
    const runner = (window as unknown as { axe: typeof import('axe-core') }).axe;
    const result = await runner.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? null,
      help: violation.help,
      nodes: violation.nodes.map((node) => ({ target: node.target.map(String), summary: node.failureSummary ?? '' })),
    }));
  });
  const blocking: string[] = [];
  const known: string[] = [];
  const recorded = violations.map((violation) => {
    if (violation.impact !== 'serious' && violation.impact !== 'critical') return violation;
    let allKnown = true;
    for (const node of violation.nodes) {
      const target = node.target.join(' ');
      const bug = KNOWN_A11Y_BUGS.find((entry) => entry.rule === violation.id && entry.target.test(target));
      if (bug) {
        known.push(bug.bug);
      } else {
        allKnown = false;
        blocking.push(`${violation.impact} ${violation.id}: ${violation.help} at ${target} (${node.summary.replace(/\s+/g, ' ').trim()})`);
      }
    }
    return { ...violation, knownBug: allKnown };
  });
  const file = path.join(env.out, 'axe', `${label}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ label, url: page.url(), violations: recorded, knownBugs: [...new Set(known)] }, null, 2)}\n`);
  for (const bug of new Set(known)) base.info().annotations.push({ type: 'known a11y bug', description: `${label}: ${bug}` });
  expect.soft(blocking, `axe on ${label}: serious or critical violations`).toEqual([]);
  return violations;
}

// --- the fixtures ------------------------------------------------------------------------------------

interface Fixtures {
  /** An account of this test's own at the provider (made on first sign-in). */
  user: TestUser;
  /** `page`, signed in as `user` through the provider, on the files page. */
  signedIn: Page;
  /** An HTTP client with a new API key of `user` (signs in first). */
  api: Api;
  /** CSP violations and uncaught errors of any page of the test; the test fails on any. */
  pageProblems: string[];
}

export const test = base.extend<Fixtures>({
  user: async ({}, use) => {
    await use(newUser());
  },

  signedIn: async ({ page, user }, use) => {
    await signIn(page, user);
    await use(page);
  },

  api: async ({ signedIn }, use) => {
    const created = await createKeyWithSession(signedIn, 'e2e seeding');
    await use(new Api(created.key));
  },

  pageProblems: [
    async ({ context }, use) => {
      const problems: string[] = [];
      context.on('console', (message) => {
        const text = message.text();
        if (/Content Security Policy|Refused to (load|execute|apply|connect|frame)/i.test(text)) {
          problems.push(`refused by the browser: ${text} (${message.page()?.url() ?? 'no page'})`);
        }
      });
      context.on('weberror', (error) => problems.push(`uncaught: ${error.error().message} (${error.page()?.url() ?? 'no page'})`));
      await use(problems);
      expect(problems, 'CSP violations or uncaught errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
