// The initials an avatar shows when there is no picture.

/** The first letters of the first two words of the name (or of the email): `Ada Lovelace` → `AL`. */
export function initials(person: { name: string | null; email: string }): string {
  const source = (person.name ?? '').trim() || person.email;
  const parts = source.split(/[\s@._-]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '') + (parts.length > 1 ? parts[1][0] : '')).toUpperCase() || '?';
}
