import { describe, expect, it } from 'vitest';
import { callbackFromSearch, providerSignInHref, safeCallbackUrl, signInPath } from './callbackUrl';

describe('safeCallbackUrl', () => {
  it('keeps relative app paths with their query and fragment', () => {
    expect(safeCallbackUrl('/')).toBe('/');
    expect(safeCallbackUrl('/keys')).toBe('/keys');
    expect(safeCallbackUrl('/profile?tab=1#danger')).toBe('/profile?tab=1#danger');
  });

  it('refuses anything that could leave the origin', () => {
    for (const hostile of [
      'https://evil.example/',
      '//evil.example/path',
      '/\\evil.example',
      '\\\\evil.example',
      'javascript:alert(1)',
      ' /keys',
      '/\t/evil.example',
      'keys',
      '',
    ]) {
      expect(safeCallbackUrl(hostile)).toBe('/');
    }
    expect(safeCallbackUrl(null)).toBe('/');
    expect(safeCallbackUrl(undefined)).toBe('/');
  });

  it('never sends the user back to the sign-in page or an API path', () => {
    expect(safeCallbackUrl('/signin')).toBe('/');
    expect(safeCallbackUrl('/signin?callbackUrl=/keys')).toBe('/');
    expect(safeCallbackUrl('/api/auth/signout')).toBe('/');
  });

  it('normalises dot segments without escaping the origin', () => {
    expect(safeCallbackUrl('/a/../keys')).toBe('/keys');
    expect(safeCallbackUrl('/../../signin')).toBe('/');
  });

  it('uses the given fallback', () => {
    expect(safeCallbackUrl('//x', '/profile')).toBe('/profile');
  });
});

describe('sign-in links', () => {
  it('send a wanted page along, and the home page as plain /signin', () => {
    expect(signInPath('/')).toBe('/signin');
    expect(signInPath('/keys')).toBe('/signin?callbackUrl=%2Fkeys');
    expect(signInPath('//evil.example')).toBe('/signin');
  });

  it('read the callbackUrl back from the sign-in page query', () => {
    expect(callbackFromSearch('?callbackUrl=%2Fkeys')).toBe('/keys');
    expect(callbackFromSearch('?callbackUrl=https%3A%2F%2Fevil.example')).toBe('/');
    expect(callbackFromSearch('')).toBe('/');
  });

  it('build the provider link with the callback encoded', () => {
    expect(providerSignInHref('github', '/keys')).toBe('/api/auth/signin/github?callbackUrl=%2Fkeys');
    expect(providerSignInHref('local oidc', '/profile?x=1&y=2')).toBe('/api/auth/signin/local%20oidc?callbackUrl=%2Fprofile%3Fx%3D1%26y%3D2');
    expect(providerSignInHref('github', '//evil.example')).toBe('/api/auth/signin/github?callbackUrl=%2F');
  });
});
