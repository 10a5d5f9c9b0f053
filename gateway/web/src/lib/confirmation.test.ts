import { describe, expect, it } from 'vitest';
import { confirmationMatches } from './confirmation';

describe('account deletion confirmation', () => {
  it('needs the email typed out', () => {
    expect(confirmationMatches('', 'ada@example.com')).toBe(false);
    expect(confirmationMatches('ada@example', 'ada@example.com')).toBe(false);
    expect(confirmationMatches('ada@example.com', 'ada@example.com')).toBe(true);
  });

  it('forgives case and surrounding spaces', () => {
    expect(confirmationMatches('  Ada@Example.com ', 'ada@example.com')).toBe(true);
  });

  it('never matches an empty email', () => {
    expect(confirmationMatches('', '')).toBe(false);
  });
});
