// Where to go after sign-in: only relative same-origin app paths, never an open redirect.

const PROBE_ORIGIN = 'http://flowsvault.invalid';

/** A safe in-app path from an untrusted callbackUrl value, else `fallback`. */
export function safeCallbackUrl(raw: string | null | undefined, fallback = '/'): string {
  if (typeof raw !== 'string' || raw === '') return fallback;
  // Protocol-relative (`//host`), backslash tricks (`/\host`) and control characters are out.
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) return fallback;
  if (/[\u0000-\u001f\u007f]/.test(raw)) return fallback;
  let url: URL;
  try {
    url = new URL(raw, PROBE_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== PROBE_ORIGIN) return fallback;
  if (url.pathname === '/signin' || url.pathname.startsWith('/signin/')) return fallback;
  if (url.pathname.startsWith('/api/')) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The sign-in page for someone who wanted `current` (path + query). */
export function signInPath(current: string): string {
  const target = safeCallbackUrl(current);
  return target === '/' ? '/signin' : `/signin?callbackUrl=${encodeURIComponent(target)}`;
}

/** The callbackUrl carried by the sign-in page's own query string. */
export function callbackFromSearch(search: string): string {
  return safeCallbackUrl(new URLSearchParams(search).get('callbackUrl'));
}

/** The link that starts a provider's sign-in (OIDC or GitHub). */
export function providerSignInHref(providerId: string, callbackUrl: string): string {
  const target = safeCallbackUrl(callbackUrl);
  return `/api/auth/signin/${encodeURIComponent(providerId)}?callbackUrl=${encodeURIComponent(target)}`;
}
