// Typed confirmation for account deletion: the button works only once the email is typed
// exactly (case and surrounding spaces aside).

export function confirmationMatches(typed: string, email: string): boolean {
  const expected = email.trim().toLowerCase();
  return expected !== '' && typed.trim().toLowerCase() === expected;
}
