import { defineConfig } from 'vitest/config';

// The gateway of `make run` listens here; `npm run dev` proxies the API to it.
const gateway = process.env.FLOWSVAULT_GATEWAY ?? 'http://127.0.0.1:8080';

export default defineConfig({
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The strict CSP forbids inline scripts and styles: keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': {
        target: gateway,
        // The gateway's CSRF check compares Origin with its own address.
        headers: { origin: gateway },
      },
      '/s/': { target: gateway },
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    environment: 'node',
  },
});
