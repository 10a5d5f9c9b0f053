import { describe, expect, it } from 'vitest';
import { initials } from './initials';

describe('initials', () => {
  it('takes the first letters of the first two words of the name', () => {
    expect(initials({ name: 'Ada Lovelace', email: 'ada@example.test' })).toBe('AL');
    expect(initials({ name: 'grace  brewster hopper', email: 'grace@example.test' })).toBe('GB');
    expect(initials({ name: 'E2e-u-abc123', email: 'e2e-u-abc123@example.test' })).toBe('EU');
    expect(initials({ name: 'Plato', email: 'plato@example.test' })).toBe('P');
  });

  it('falls back to the email, and to a question mark', () => {
    expect(initials({ name: null, email: 'max.mustermann@example.test' })).toBe('MM');
    expect(initials({ name: '  ', email: 'solo@example.test' })).toBe('SE');
    expect(initials({ name: null, email: '' })).toBe('?');
  });
});
