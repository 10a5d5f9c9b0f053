// Checks over the source text: user-visible strings live only in the catalogs, and the
// pre-paint theme script reads the same storage key as the app.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const source = join(root, 'src');

/** The source without comments, which may quote markup. */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|\s)\/\/.*$/gm, '$1');
}

function files(directory: string, extension: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) return files(path, extension);
    return path.endsWith(extension) && !path.endsWith('.test.ts') ? [path] : [];
  });
}

describe('no hard-coded user-visible strings', () => {
  const components = files(source, '.tsx');

  it('finds the components', () => {
    expect(components.length).toBeGreaterThan(10);
  });

  it('has no literal words in JSX text', () => {
    const offenders: string[] = [];
    for (const path of components) {
      const text = code(path);
      // Text between a tag's end and the next tag or expression: `>Save<`, `> Save {`.
      for (const match of text.matchAll(/(?<!=)>([^<>{}]*[A-Za-zÄÖÜäöüß]{2,}[^<>{}]*)[<{]/g)) {
        const candidate = match[1].trim();
        // Generic arguments and arrows (`=> a<b`) are code, not text.
        if (candidate && !/[=;()]/.test(candidate)) offenders.push(`${relative(root, path)}: ${candidate}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('has no literal words in labels, titles, placeholders or alt texts', () => {
    const offenders: string[] = [];
    for (const path of components) {
      const text = code(path);
      for (const match of text.matchAll(/\b(aria-label|title|placeholder|alt|label)="([^"]*)"/g)) {
        if (/[A-Za-z]/.test(match[2])) offenders.push(`${relative(root, path)}: ${match[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('pushes toasts only with translated messages', () => {
    const offenders: string[] = [];
    for (const path of [...components, ...files(source, '.ts')]) {
      const text = readFileSync(path, 'utf8');
      for (const match of text.matchAll(/\.push\(\s*'(success|error|info)',\s*(['"`])/g)) offenders.push(`${relative(root, path)}: ${match[0]}`);
    }
    expect(offenders).toEqual([]);
  });
});

describe('theme before first paint', () => {
  it('reads the storage key the app writes', () => {
    const hook = readFileSync(join(source, 'hooks/useTheme.ts'), 'utf8');
    const key = /THEME_STORAGE_KEY = '([^']+)'/.exec(hook)?.[1];
    expect(key).toBeTruthy();
    expect(readFileSync(join(root, 'public/theme-init.js'), 'utf8')).toContain(`'${key}'`);
  });
});

describe('content security policy', () => {
  it('keeps index.html free of inline scripts and styles', () => {
    const html = readFileSync(join(root, 'index.html'), 'utf8');
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc=/);
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it('sets no style attributes from markup in components', () => {
    for (const path of files(source, '.tsx')) expect(readFileSync(path, 'utf8'), relative(root, path)).not.toMatch(/\sstyle=["{]/);
  });
});
